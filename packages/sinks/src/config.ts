/**
 * The sinks the `alerts` config section asks for (`alerts.webhook`, `alerts.syslog`; see
 * packages/config), plus the Kafka and file sinks a service adds, ready for `new Delivery`. The shape is
 * declared here structurally so this package does not depend on the config package.
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { DeliverySinkOptions } from './delivery.js';
import type { EcsOptions } from './format/ecs.js';
import { FileSink } from './sinks/file.js';
import { KafkaAlertSink, type KafkaAlertSinkOptions } from './sinks/kafka.js';
import { SyslogSink } from './sinks/syslog.js';
import { WebhookSink } from './sinks/webhook.js';

/**
 * Defaults of `Delivery`'s settings (`DeliveryConfig`, delivery.ts), declared here only; a sink's own
 * `retries`, `maxQueue`, `maxBatch` default to these.
 */
export const DELIVERY_DEFAULTS = {
  /** Retries of a failed send before its alerts are kept as undelivered. */
  retries: 5,
  /** Retry backoff: 500 ms doubling to 30 s (with jitter). */
  backoff: { initialMs: 500, maxMs: 30_000 },
  /** Alerts waiting per sink; more go to the undelivered file. */
  maxQueue: 10_000,
  /** Alerts per `send`. */
  maxBatch: 100,
  /** Most time `stop()` without a deadline spends delivering what is queued. */
  shutdownTimeoutMs: 5000,
} as const;

/** The delivery keys of the config's `alerts` section. */
export interface AlertSinksConfig {
  webhook: {
    url: string;
    secret?: string | undefined;
    secretFile?: string | undefined;
    timeoutMs: number;
    retries: number;
  };
  syslog: {
    url: string;
    format: 'json' | 'cef';
    appName: string;
    facility: number;
    ca?: string | undefined;
    rejectUnauthorized: boolean;
    timeoutMs: number;
    retries: number;
  };
}

export interface AlertSinksDeps {
  /** Kafka sink (the `kafka.topics.alerts` topic and a producer made as KafkaAlertSink says). */
  kafka?: KafkaAlertSinkOptions & { retries?: number };
  /** File sink target (path or stream). */
  file?: string | Writable;
  /** With a `file` path: append to it (default) or truncate it first. */
  fileAppend?: boolean;
  /** Observer fields of the ECS documents (`observer.hostname` = this host). */
  ecs?: EcsOptions;
  /** RFC 5424 HOSTNAME; default the machine's host name. */
  hostname?: string;
}

/** Builds the configured sinks; throws (with what to fix) on a bad URL or an unreadable file. */
export function sinksFromConfig(cfg: AlertSinksConfig, deps: AlertSinksDeps = {}): DeliverySinkOptions[] {
  const out: DeliverySinkOptions[] = [];
  const ecs = deps.ecs ?? {};
  if (deps.kafka) {
    const { retries, ...opts } = deps.kafka;
    out.push({ sink: new KafkaAlertSink({ ecs, ...opts }), ...(retries !== undefined ? { retries } : {}) });
  }
  const w = cfg.webhook;
  if (w.url !== '') {
    let secret = w.secret;
    if (w.secretFile !== undefined) {
      try {
        secret = readFileSync(w.secretFile, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw new Error(`alerts.webhook.secretFile: reading '${w.secretFile}' failed`, { cause: err });
      }
    }
    out.push({
      sink: new WebhookSink({
        url: w.url,
        timeoutMs: w.timeoutMs,
        ecs,
        ...(secret !== undefined ? { secret } : {}),
      }),
      retries: w.retries,
    });
  }
  const s = cfg.syslog;
  if (s.url !== '') {
    out.push({
      sink: new SyslogSink({
        url: s.url,
        format: s.format,
        appName: s.appName,
        facility: s.facility,
        rejectUnauthorized: s.rejectUnauthorized,
        timeoutMs: s.timeoutMs,
        ...(s.ca !== undefined ? { ca: s.ca } : {}),
        ...(deps.hostname !== undefined ? { hostname: deps.hostname } : {}),
      }),
      retries: s.retries,
    });
  }
  if (deps.file !== undefined) {
    const append = deps.fileAppend ?? true;
    out.push({ sink: new FileSink({ target: deps.file, ecs, append }) });
  }
  return out;
}
