/** Test helpers for code that delivers alerts: a sample alert and an in-memory sink that can fail. */
import type { Alert } from '@rstwatch/detect';
import { type AlertSink, SinkError } from './sink.js';

/** A complete, valid alert (a reset attack on 198.18.0.2:443); `over` replaces fields. */
export function sampleAlert(over: Partial<Alert> = {}): Alert {
  return {
    id: '0123456789abcdef0123456789abcdef',
    version: 1,
    rule: 'reset_attack',
    status: 'open',
    severity: 'high',
    severity_score: 73,
    summary: '42 forged RSTs aimed at 198.18.0.2:443 from 3 peers within 60 s',
    first_seen: '2026-08-01T10:00:00.123456Z',
    last_seen: '2026-08-01T10:00:59.654321Z',
    updated: '2026-08-01T10:00:59.654321Z',
    count: 42,
    entity_kind: 'victim',
    entity: '198.18.0.2',
    source_ips: ['203.0.113.7', '203.0.113.8', '203.0.113.9'],
    destination_ip: '198.18.0.2',
    destination_port: 443,
    sensors: ['tap-a', 'tap-b'],
    community_ids: ['1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V7Y7XQ1ecd0pp4e9Y+qvV0tmxk='],
    evidence: ['rsts=42', 'window_s=60', 'seq_in_window_not_exact=40'],
    details: { peers: 3, ports: [443], exact: false },
    ...over,
  };
}

/** `n` distinct alerts (ids differ in the last 8 hex digits, summaries carry the index). */
export function sampleAlerts(n: number, over: Partial<Alert> = {}): Alert[] {
  return Array.from({ length: n }, (_, i) =>
    sampleAlert({
      id: `0123456789abcdef01234567${i.toString(16).padStart(8, '0')}`,
      summary: `alert ${i}: 42 forged RSTs aimed at 198.18.0.2:443`,
      ...over,
    }),
  );
}

/**
 * An AlertSink that keeps what it receives. `failNext(n, permanent?)` makes the next n sends fail;
 * `down = true` makes every send fail; `delayMs` slows each send.
 */
export class MemorySink implements AlertSink {
  readonly name: string;
  readonly received: Alert[] = [];
  /** Every send call, including failed ones. */
  calls = 0;
  down = false;
  delayMs = 0;
  closed = false;
  #failures = 0;
  #permanent = false;

  constructor(name = 'memory') {
    this.name = name;
  }

  failNext(n: number, permanent = false): void {
    this.#failures = n;
    this.#permanent = permanent;
  }

  async send(alerts: readonly Alert[]): Promise<void> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) throw new SinkError(`${this.name}: down`);
    if (this.#failures > 0) {
      this.#failures--;
      throw new SinkError(`${this.name}: failing on purpose`, { permanent: this.#permanent });
    }
    this.received.push(...alerts);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
