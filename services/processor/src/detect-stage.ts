/**
 * The detection stage (`rstwatch detect`): a Kafka consumer group on the events topic. The processors
 * publish every RST event once per entity kind it matters to, keyed by that entity (event-publisher.ts),
 * so all events of one victim, scanner or service meet in one partition here, whatever processor
 * classified them. Each assigned partition gets its own `Detection` (windowed, bounded state).
 *
 * Exactly-once output: the alerts a batch of events raises are written to the durable outputs (ClickHouse
 * `alerts` + `alert_events`, the Kafka alerts topic) before the batch's offsets are committed; webhook and
 * syslog get them through `Delivery` (retried, never blocking). After a crash or a rebalance the new owner
 * replays `alerts.replayMessages` messages before the committed offset with output suppressed, rebuilding
 * the windows; alert ids and versions are derived from the events, so what it raises again carries the
 * same id and version, and the `alerts` table (latest version per id) and id-keyed consumers see no
 * double. Events published twice by a processor that crashed are dropped by `Detection` (event identity).
 */
import type { Config } from '@rstwatch/config';
import { type Component, deadlineIn, type RstEvent, untilDeadline } from '@rstwatch/core';
import {
  ALERT_RULES,
  type Alert,
  Detection,
  type DetectionStats,
  ENTITY_KINDS,
  type EntityKind,
} from '@rstwatch/detect';
import type { Batch, Consumer, TopicPartition } from '@rstwatch/kafka';
import type { AlertLink, AlertOutput } from './alerting.js';
import { DETECT_STAGE_DEFAULTS } from './config.js';
import { ENTITY_KIND_HEADER } from './event-publisher.js';
import type { ProcessorLogger } from './processor.js';

export interface DetectStageDeps {
  /** Connected, not yet subscribed; disconnected by `stop`. */
  consumer: Consumer;
  /** Durable outputs, written before offsets are committed. */
  output: AlertOutput;
  /** Aborted at shutdown: batches stop and are read again by the next owner. */
  signal: AbortSignal;
}

export interface DetectStageTelemetry {
  log: ProcessorLogger;
}

type DetectStageOptions = { config: Config } & DetectStageDeps & DetectStageTelemetry;

interface PartState {
  readonly tp: TopicPartition;
  readonly detection: Detection;
  /** Offsets below this were handled by an earlier owner: replayed with output suppressed. */
  readonly suppressBelow: bigint;
  next: bigint;
  /** Alerts raised while handling the current messages (collected by the detection's listener). */
  out: Alert[];
  emit: boolean;
  lastTsUs: number;
  lastActivityMs: number;
  committedNext: bigint;
}

/**
 * `new DetectStage(config, deps, telemetry)`, `start()`, `stop(deadline)` (settings: the rstwatch
 * `Config`; fixed ones in `DETECT_STAGE_DEFAULTS`, config.ts).
 */
export class DetectStage implements Component {
  events = 0;
  badMessages = 0;
  private readonly parts = new Map<string, PartState>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly topic: string;
  private readonly replay: bigint;
  private readonly o: DetectStageOptions;
  private stopped: Promise<void> | undefined;

  constructor(config: Config, deps: DetectStageDeps, telemetry: DetectStageTelemetry) {
    this.o = { config, ...deps, ...telemetry };
    this.topic = config.kafka.topics.events;
    this.replay = BigInt(config.alerts.replayMessages);
  }

  /** Events read per entity kind. */
  readonly byKind: Record<string, number> = Object.fromEntries(ENTITY_KINDS.map((k) => [k, 0]));
  /** Counters of the partitions this member no longer holds (metrics stay cumulative). */
  private readonly retired: DetectionStats = emptyStats();

  /** Detection counters of every partition this member has held, summed (for metrics). */
  stats(): DetectionStats {
    const out = emptyStats();
    addStats(out, this.retired);
    for (const p of this.parts.values()) addStats(out, p.detection.stats);
    return out;
  }

  get assignedPartitions(): number {
    return this.parts.size;
  }

  async start(): Promise<void> {
    const { consumer } = this.o;
    consumer.onRebalance((ev) => {
      if (ev.type === 'revoke') for (const tp of ev.partitions) this.drop(tp);
      this.o.log.info({ type: ev.type, partitions: ev.partitions }, 'partition assignment changed');
      if (ev.type === 'assign') {
        this.prime(ev.partitions).catch((err: unknown) =>
          this.o.log.warn(
            { err: (err as Error).message },
            'reading committed offsets of new partitions failed',
          ),
        );
      }
    });
    await consumer.subscribe([this.topic]);
    await consumer.run({
      eachBatch: (batch) =>
        this.serial(() => this.eachBatch(batch)).catch((err: unknown) => {
          this.drop(batch);
          throw err;
        }),
    });
    const idleMs = DETECT_STAGE_DEFAULTS.idleAdvanceMs;
    this.timer = setInterval(
      () => {
        this.serial(() => this.advanceIdle(idleMs)).catch((err: unknown) =>
          this.o.log.warn({ err: (err as Error).message }, 'closing quiet alerts failed; retried later'),
        );
      },
      Math.max(100, Math.floor(idleMs / 5)),
    );
    this.timer.unref();
  }

  /**
   * Shutdown (abort `signal` first): waits for the batch in progress (its alerts are written and
   * committed), then disconnects the consumer. Returns by `deadline` (epoch ms; default
   * `processor.shutdownDeadlineS` from now). Idempotent.
   */
  stop(deadline: number = deadlineIn(this.o.config.processor.shutdownDeadlineS * 1000)): Promise<void> {
    this.stopped ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.chain.catch(() => {});
      await this.o.consumer.disconnect();
    })();
    return untilDeadline(this.stopped, deadline).then(() => {});
  }

  /**
   * A partition taken over with nothing new to read would get no batch, hence no replay: the alerts its
   * previous owner had armed but not raised yet (they wait 5 s of capture time) would never come. Seeking
   * to the replay start brings the batches that rebuild the state; the idle clock then raises them.
   */
  private async prime(tps: TopicPartition[]): Promise<void> {
    const mine = tps.filter((tp) => tp.topic === this.topic && !this.parts.has(key(tp)));
    if (mine.length === 0) return;
    const rows = await this.o.consumer.committedOffsets(this.topic);
    for (const tp of mine) {
      const row = rows.find((r) => r.partition === tp.partition);
      if (!row || row.offset === '-1' || this.parts.has(key(tp)) || this.o.signal.aborted) continue;
      const committed = BigInt(row.offset);
      const start = committed - this.replay > 0n ? committed - this.replay : 0n;
      if (start >= committed) continue;
      try {
        this.o.consumer.seek({ ...tp, offset: String(start) });
      } catch {
        // revoked meanwhile: the next owner primes it
      }
    }
  }

  private drop(tp: TopicPartition): void {
    const st = this.parts.get(key(tp));
    if (!st) return;
    addStats(this.retired, st.detection.stats);
    this.parts.delete(key(tp));
  }

  private serial(f: () => Promise<void>): Promise<void> {
    const p = this.chain.then(f);
    this.chain = p.catch(() => {});
    return p;
  }

  private async state(batch: Batch): Promise<PartState | 'seeked'> {
    const k = key(batch);
    const have = this.parts.get(k);
    if (have) return have;
    const tp = { topic: batch.topic, partition: batch.partition };
    const rows = await this.o.consumer.committedOffsets(batch.topic);
    const row = rows.find((r) => r.partition === batch.partition);
    const first = BigInt(batch.firstOffset() ?? batch.lastOffset());
    const hasCommit = row !== undefined && row.offset !== '-1';
    const committed = hasCommit ? BigInt(row.offset) : first;
    // A partition nobody committed on starts where Kafka put it; otherwise replay before the commit.
    const start = !hasCommit ? first : committed - this.replay > 0n ? committed - this.replay : 0n;
    const st: PartState = {
      tp,
      detection: null as unknown as Detection,
      suppressBelow: committed,
      next: start,
      out: [],
      emit: false,
      lastTsUs: 0,
      lastActivityMs: performance.now(),
      committedNext: committed,
    };
    (st as { detection: Detection }).detection = new Detection({
      config: this.o.config.alerts,
      classifier: this.o.config.classifier,
      onAlert: (a) => {
        if (st.emit) st.out.push(a);
      },
    });
    this.parts.set(k, st);
    if (first > start) {
      // Rebuild the windows from before the committed offset: the next batch starts there.
      this.o.log.info(
        { ...tp, from: String(start), committed: String(committed) },
        'replaying events to rebuild detector state',
      );
      this.o.consumer.seek({ ...tp, offset: String(start) });
      return 'seeked';
    }
    return st;
  }

  private async eachBatch(batch: Batch): Promise<void> {
    if (this.o.signal.aborted) return;
    const st = await this.state(batch);
    if (st === 'seeked') return;
    let last: string | null = null;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (offset < st.next) continue; // already seen (a re-delivery after a failed write)
      if (this.o.signal.aborted || batch.isStale()) break;
      st.emit = offset >= st.suppressBelow;
      const kind = m.headers[ENTITY_KIND_HEADER] as EntityKind | undefined;
      const e = parseEvent(m.value);
      if (e === null || kind === undefined || !ENTITY_KINDS.includes(kind)) {
        this.badMessages++;
        this.o.log.warn(
          { ...st.tp, offset: m.offset, kind },
          'events topic: message is not an RST event; skipped',
        );
      } else {
        this.events++;
        this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
        st.detection.observe(e, kind);
        if (!st.emit) st.detection.takeLinks(); // the earlier owner wrote those
        const us = Date.parse(e.ts) * 1000;
        if (us > st.lastTsUs) st.lastTsUs = us;
      }
      st.next = offset + 1n;
      last = m.offset;
    }
    st.emit = false;
    st.lastActivityMs = performance.now();
    if (last === null) return;
    await this.flush(st, `${batch.topic}:${batch.partition}:${batch.firstOffset()}-${last}`);
    batch.resolveOffset(last);
  }

  /** Writes what `st` raised (and its links), then commits past what it has seen. */
  private async flush(st: PartState, token: string): Promise<void> {
    const alerts = st.out;
    st.out = [];
    const links: AlertLink[] = st.detection.takeLinks();
    if (alerts.length > 0 || links.length > 0) await this.o.output.write(token, alerts, links);
    if (st.next <= st.committedNext || !this.parts.has(key(st.tp))) return;
    await this.o.consumer.commitOffsets([{ ...st.tp, offset: String(st.next) }]);
    st.committedNext = st.next;
  }

  /** Partitions quiet for `idleMs` of wall-clock time: capture time follows the clock, closing quiet alerts. */
  private async advanceIdle(idleMs: number): Promise<void> {
    const now = performance.now();
    for (const st of this.parts.values()) {
      if (st.lastTsUs === 0 || now - st.lastActivityMs < idleMs || st.next < st.suppressBelow) continue;
      st.lastTsUs += (now - st.lastActivityMs) * 1000;
      st.lastActivityMs = now;
      st.emit = true;
      st.detection.advance(st.lastTsUs);
      st.emit = false;
      if (st.out.length > 0)
        await this.flush(st, `${st.tp.topic}:${st.tp.partition}:advance-${Math.floor(st.lastTsUs)}`);
    }
  }
}

const key = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;

function emptyStats(): DetectionStats {
  const rules = Object.fromEntries(
    ALERT_RULES.map((r) => [r, { raised: 0, updated: 0, closed: 0, suppressed: 0, evicted: 0 }]),
  ) as DetectionStats['rules'];
  return { events: 0, badEvents: 0, duplicates: 0, evicted: 0, linksDropped: 0, rules };
}

function addStats(into: DetectionStats, s: DetectionStats): void {
  into.events += s.events;
  into.badEvents += s.badEvents;
  into.duplicates += s.duplicates;
  into.evicted += s.evicted;
  into.linksDropped += s.linksDropped;
  for (const r of ALERT_RULES) {
    const a = into.rules[r];
    const b = s.rules[r];
    a.raised += b.raised;
    a.updated += b.updated;
    a.closed += b.closed;
    a.suppressed += b.suppressed;
    a.evicted += b.evicted;
  }
}

/** An RST event from a message value, or null when it is not one (counted by the caller). */
export function parseEvent(value: Buffer | null): RstEvent | null {
  if (value === null) return null;
  let e: unknown;
  try {
    e = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof e !== 'object' || e === null) return null;
  const r = e as Partial<RstEvent>;
  if (
    typeof r.ts !== 'string' ||
    Number.isNaN(Date.parse(r.ts)) ||
    typeof r.src_ip !== 'string' ||
    typeof r.dst_ip !== 'string' ||
    typeof r.cause !== 'string' ||
    !Array.isArray(r.evidence)
  ) {
    return null;
  }
  return r as RstEvent;
}
