/**
 * Alerts in the processes: the sinks a configuration asks for, and `LocalAlerts`, the detectors run in
 * process by `analyze` and `run` (the embedded modes) over the events in capture order.
 *
 * Delivery paths: ClickHouse (`alerts` + `alert_events`) and the Kafka alerts topic are *durable outputs*,
 * written before the offsets (or, embedded, the run) that produced them are done; the webhook, syslog and
 * the `--alerts` file go through `Delivery`, which retries per sink and never blocks the caller.
 */
import { dirname, join, resolve } from 'node:path';
import type { Config } from '@rstwatch/config';
import type { Component, RstEvent } from '@rstwatch/core';
import { type Alert, Detection } from '@rstwatch/detect';
import { type AlertSinksDeps, Delivery, sinksFromConfig } from '@rstwatch/sinks';

export type AlertLink = ReturnType<Detection['takeLinks']>[number];

/** Outputs that must hold an alert before its input counts as done (ClickHouse, the Kafka alerts topic). */
export interface AlertOutput {
  write(token: string, alerts: readonly Alert[], links: readonly AlertLink[]): Promise<void>;
}

export interface AlertLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Where undelivered alerts are kept: `alerts.undeliveredPath`, else beside the embedded data directory. */
export function undeliveredPath(config: Config): string {
  if (config.alerts.undeliveredPath !== '') return resolve(config.alerts.undeliveredPath);
  return join(dirname(resolve(config.clickhouse.embeddedPath)), 'undelivered-alerts.ndjson');
}

/** A Delivery over the configured webhook and syslog sinks plus `deps` (Kafka, file). */
export function deliveryFor(config: Config, deps: AlertSinksDeps, log?: AlertLog): Delivery {
  return new Delivery(
    { undeliveredPath: undeliveredPath(config) },
    { sinks: sinksFromConfig(config.alerts, deps) },
    log ? { log } : {},
  );
}

/** What LocalAlerts is configured with: the whole configuration, and the `--alerts FILE` output. */
export interface LocalAlertsConfig {
  config: Config;
  /** `--alerts FILE`: every alert version, one ECS document per line. */
  alertsOut?: string;
  /** Append to `alertsOut` (`run`) instead of writing it anew (`analyze`). */
  appendAlerts?: boolean;
}

/** Where LocalAlerts' alerts go besides the sinks. */
export interface LocalAlertsDeps {
  /** Durable output (ClickHouse with `--store` / `run`); written by `flush`. */
  output?: AlertOutput;
  /** Each alert version as it is raised (the summary table). */
  onAlert?: (a: Alert) => void;
}

/** The detectors in process (embedded modes): one `Detection` sees every event, in capture order. */
export class LocalAlerts implements Component {
  readonly detection: Detection;
  /** After `stop`: what could not be delivered, in a line for people; null when everything was. */
  undelivered: string | null = null;
  readonly delivery: Delivery;
  private pending: Alert[] = [];
  private unit = 0;

  private readonly o: LocalAlertsConfig & LocalAlertsDeps;

  constructor(config: LocalAlertsConfig, deps: LocalAlertsDeps = {}, telemetry: { log?: AlertLog } = {}) {
    const o = { ...config, ...deps };
    this.o = o;
    this.delivery = deliveryFor(
      o.config,
      o.alertsOut ? { file: o.alertsOut, fileAppend: o.appendAlerts ?? false } : {},
      telemetry.log,
    );
    this.detection = new Detection({
      config: o.config.alerts,
      classifier: o.config.classifier,
      onAlert: (a) => {
        o.onAlert?.(a);
        this.delivery.push(a);
        if (o.output) this.pending.push(a);
      },
    });
  }

  /** Events in capture order, before they are printed or stored (a detector may add evidence). */
  observe(events: readonly RstEvent[]): void {
    for (const e of events) this.detection.observe(e);
  }

  /** Writes the alerts and links raised so far to the durable output, under `prefix` + a unit number. */
  async flush(prefix: string): Promise<void> {
    const links = this.detection.takeLinks();
    if (!this.o.output || (this.pending.length === 0 && links.length === 0)) return;
    const alerts = this.pending;
    this.pending = [];
    await this.o.output.write(`${prefix}alerts-${this.unit++}`, alerts, links);
  }

  /** End of input: closes the open alerts (their closing versions are raised) and writes them. */
  async end(prefix: string): Promise<void> {
    this.detection.finish();
    await this.flush(prefix);
  }

  /** The component shape: delivery to the sinks begins. */
  start(): Promise<void> {
    return this.delivery.start();
  }

  /**
   * Delivers what is queued until `deadline` (epoch ms); what a sink could not take is in the undelivered
   * file, and `undelivered` says so in a line for people (null when everything was delivered).
   */
  async stop(deadline?: number): Promise<void> {
    await this.delivery.stop(deadline);
    const failed = Object.entries(this.delivery.stats).filter(([, s]) => s.failed > 0);
    if (failed.length === 0) return;
    const parts = failed.map(
      ([sink, s]) =>
        `${s.failed} alert version${s.failed === 1 ? '' : 's'} not delivered to ${sink}` +
        (s.lost > 0 ? ` (${s.lost} of them could not be written to the file either: lost)` : ''),
    );
    this.undelivered = `${parts.join(', ')}; kept in ${undeliveredPath(this.o.config)}`;
  }
}
