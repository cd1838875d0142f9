/** The human-readable `analyze --format table` report: counts by cause and origin, top talkers, services. */
import type { SensorRealities } from '@rstwatch/classify';
import { CAUSES, type Cause, ORIGINS, type RstEvent } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';

/** One line per cause, for readers who don't have the taxonomy at hand. */
export const CAUSE_EXPLANATIONS: Record<Cause, string> = {
  closed_port: 'SYN to a port where nothing listens; the host answered RST+ACK',
  firewall_reject: 'a policy device refused the connection during the handshake',
  backlog_overflow: 'the server accept queue was full; handshake done, then RST with no data',
  malformed_syn: 'a SYN with illegal extra flags was refused',
  time_wait_reuse: 'a new SYN reused a 4-tuple still in TIME_WAIT and was refused',
  syn_scan: 'half-open scan: the scanner reset right after the SYN-ACK',
  connect_scan: 'full-connect scan: handshake completed, then an immediate reset with no data',
  retransmission_timeout: 'the sender gave up after repeated unacknowledged retransmissions',
  idle_timeout: 'the connection was reset after an idle gap longer than the idle threshold',
  app_abort: 'an endpoint application aborted an established connection (SO_LINGER 0, crash, kill)',
  stale_connection: 'the peer no longer knew the connection (restart, lost state) and reset it',
  teardown_reset: 'reset during or after the FIN exchange instead of a graceful close',
  time_wait_assassination: 'a RST hit a connection in TIME_WAIT (RFC 1337)',
  injected_reset: "an on-path device injected the RST in the host's name (IPS, censor, blocker)",
  reset_attack: 'an off-path attacker forged the RST (sequence out of window or guessed)',
  unsolicited: 'a RST with no connection the sensor could see behind it (backscatter, pre-capture flow)',
  other: 'none of the known causes fit with enough confidence',
};

/** `ip:port`, with IPv6 addresses in brackets. */
function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/**
 * "sensor realities: N duplicate packets suppressed, M reordered, K late" over every sensor, or null when
 * all three are zero.
 */
export function realitiesLine(sensors: ReadonlyMap<string, SensorRealities>): string | null {
  let dup = 0;
  let reordered = 0;
  let late = 0;
  for (const n of sensors.values()) {
    dup += n.duplicates;
    reordered += n.reordered;
    late += n.late;
  }
  if (dup + reordered + late === 0) return null;
  const f = (x: number) => x.toLocaleString('en-US');
  return `sensor realities: ${f(dup)} duplicate packets suppressed, ${f(reordered)} reordered, ${f(late)} late`;
}

function top(m: Map<string, number>, n: number): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

/** Aggregates events as they stream by; renders the table at the end. */
export class Summary {
  events = 0;
  private readonly byCause = new Map<string, number>();
  private readonly byCauseOrigin = new Map<string, number>();
  private readonly senders = new Map<string, number>();
  private readonly receivers = new Map<string, number>();
  private readonly services = new Map<string, number>();
  /** Latest version of each alert, by id (versions arrive in order). */
  private readonly alertsById = new Map<string, Alert>();

  /** An alert version raised by the detectors; the table shows the latest of each. */
  alert(a: Alert): void {
    const had = this.alertsById.get(a.id);
    if (had === undefined || had.version < a.version) this.alertsById.set(a.id, a);
  }

  get alerts(): number {
    return this.alertsById.size;
  }

  add(e: RstEvent): void {
    this.events++;
    bump(this.byCause, e.cause);
    bump(this.byCauseOrigin, `${e.cause}\u0000${e.origin}`);
    bump(this.senders, e.src_ip);
    bump(this.receivers, e.dst_ip);
    // The service is the responder's side of the connection.
    const svc = e.direction === 'resp' ? endpoint(e.src_ip, e.src_port) : endpoint(e.dst_ip, e.dst_port);
    bump(this.services, svc);
  }

  render(info: {
    file: string;
    headers: number;
    flows: number;
    seconds: number;
    topN?: number;
    /** Duplicate, reordered and late packets by sensor: one line under the first when any is non-zero. */
    sensors?: ReadonlyMap<string, SensorRealities>;
  }): string {
    const n = info.topN ?? 10;
    const lines: string[] = [];
    const pct = (x: number) => (this.events === 0 ? '0.0' : ((100 * x) / this.events).toFixed(1));
    lines.push(
      `${info.file}: ${info.headers.toLocaleString('en-US')} TCP headers, ${info.flows.toLocaleString('en-US')} flows, ${this.events.toLocaleString('en-US')} RSTs (${info.seconds.toFixed(1)} s)`,
    );
    const realities = info.sensors ? realitiesLine(info.sensors) : null;
    if (realities !== null) lines.push(realities);
    lines.push('');
    if (this.events === 0) {
      lines.push('No RST packets found.');
      return `${lines.join('\n')}\n`;
    }
    const origins = ORIGINS as readonly string[];
    const header = ['cause', 'count', '%', ...origins, 'meaning'];
    const rows: string[][] = [];
    for (const cause of CAUSES) {
      const c = this.byCause.get(cause);
      if (!c) continue;
      rows.push([
        cause,
        String(c),
        pct(c),
        ...origins.map((o) => String(this.byCauseOrigin.get(`${cause}\u0000${o}`) ?? 0)),
        CAUSE_EXPLANATIONS[cause],
      ]);
    }
    lines.push('RSTs by cause and origin (who really sent them):', ...table(header, rows), '');
    lines.push(
      'Top reset senders:',
      ...table(
        ['src_ip', 'rsts'],
        top(this.senders, n).map(([k, v]) => [k, String(v)]),
      ),
      '',
    );
    lines.push(
      'Top reset receivers:',
      ...table(
        ['dst_ip', 'rsts'],
        top(this.receivers, n).map(([k, v]) => [k, String(v)]),
      ),
      '',
    );
    lines.push(
      'Top services (responder ip:port):',
      ...table(
        ['service', 'rsts'],
        top(this.services, n).map(([k, v]) => [k, String(v)]),
      ),
    );
    lines.push('', ...this.renderAlerts(info.topN ?? 20));
    return `${lines.join('\n')}\n`;
  }

  /** The "Alerts" section: most severe first, then the earliest. */
  private renderAlerts(n: number): string[] {
    if (this.alertsById.size === 0) return ['Alerts: none raised.'];
    const all = [...this.alertsById.values()].sort(
      (a, b) =>
        b.severity_score - a.severity_score ||
        (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0),
    );
    const rows = all
      .slice(0, n)
      .map((a) => [
        a.severity,
        a.rule,
        a.entity,
        String(a.count),
        a.first_seen.slice(0, 19).replace('T', ' '),
        a.summary,
      ]);
    const more = all.length > n ? [`  ... and ${all.length - n} more (--alerts FILE writes them all)`] : [];
    return [
      `Alerts (${all.length}):`,
      ...table(['severity', 'rule', 'entity', 'rsts', 'first seen (UTC)', 'summary'], rows),
      ...more,
    ];
  }
}

function table(header: string[], rows: string[][]): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    `  ${r
      .map((c, i) => (i === r.length - 1 ? c : /^\d+(\.\d+)?$/.test(c) ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join('  ')}`.trimEnd();
  return [fmt(header), fmt(w.map((x) => '-'.repeat(x))), ...rows.map(fmt)];
}
