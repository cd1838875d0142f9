/**
 * Prometheus metrics of the agent, read from its counters at scrape time (nothing on the hot path).
 * Names: rstwatch_agent_*; every drop has a reason label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Agent } from './agent.js';
import { type AgentStats, BATCH_DROP_REASONS, PRODUCER_REPLACE_REASONS } from './stats.js';

/** What the metric groups share: the running agent's counters and counters that follow them. */
interface Followers {
  /** The agent's counters, synced from the source (undefined before it started). */
  stats: () => AgentStats | undefined;
  /** Increments `c` by the growth of a cumulative value read at scrape time. */
  follow: (c: Counter<string>, key: string, value: number, labels?: Record<string, string>) => void;
  /** A counter whose value is read (with `follow`) at each scrape. */
  counter: (name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void) => void;
}

/**
 * Register the agent's metrics on `registry`. `get` returns the running agent (undefined before it
 * started: the metrics then read 0).
 */
export function registerAgentMetrics(registry: Registry, get: () => Agent | undefined): void {
  const last = new Map<string, number>();
  const f: Followers = {
    follow: (c, key, value, labels = {}) => {
      const prev = last.get(key);
      if (prev === undefined)
        c.inc(labels, value); // also creates zero-valued series
      else if (value > prev) c.inc(labels, value - prev);
      last.set(key, Math.max(prev ?? 0, value));
    },
    stats: () => {
      const a = get();
      if (a === undefined) return undefined;
      a.syncSourceStats();
      return a.stats;
    },
    counter: (name, help, labelNames, read) =>
      void new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          read(this);
        },
      }),
  };
  registerCaptureCounters(f);
  registerSendCounters(f);
  registerDropCounters(f);
  registerProducerCounters(f);
  registerBufferGauges(registry, get);
}

/** Packets, headers and what the parser or the kernel lost. */
function registerCaptureCounters({ stats, follow, counter }: Followers): void {
  counter('rstwatch_agent_packets_total', 'Packets read from the capture (all protocols).', [], (c) => {
    const s = stats();
    if (s) follow(c, 'packets', s.packets);
  });
  counter('rstwatch_agent_tcp_headers_total', 'TCP headers parsed and batched.', [], (c) => {
    const s = stats();
    if (s) follow(c, 'tcp', s.tcpHeaders);
  });
  counter(
    'rstwatch_agent_parse_drops_total',
    'Packets the parser could not use, by reason.',
    ['reason'],
    (c) => {
      const s = stats();
      if (s) for (const [r, v] of Object.entries(s.parseDrops)) follow(c, `parse:${r}`, v, { reason: r });
    },
  );
  counter(
    'rstwatch_agent_kernel_drops_total',
    'Packets lost before the agent saw them: kind=kernel (ps_drop, capture buffer full), kind=interface (ps_ifdrop).',
    ['kind'],
    (c) => {
      const s = stats();
      if (!s) return;
      follow(c, 'kdrop', s.kernelDrops, { kind: 'kernel' });
      follow(c, 'ifdrop', s.ifDrops, { kind: 'interface' });
    },
  );
}

/** What Kafka acknowledged, failed requests. */
function registerSendCounters({ stats, follow, counter }: Followers): void {
  counter('rstwatch_agent_batches_sent_total', 'Header batches acknowledged by Kafka.', [], (c) => {
    const s = stats();
    if (s) follow(c, 'bsent', s.batchesSent);
  });
  counter('rstwatch_agent_headers_sent_total', 'Headers in batches acknowledged by Kafka.', [], (c) => {
    const s = stats();
    if (s) follow(c, 'hsent', s.headersSent);
  });
  counter('rstwatch_agent_bytes_sent_total', 'Encoded bytes of batches acknowledged by Kafka.', [], (c) => {
    const s = stats();
    if (s) follow(c, 'bytes', s.bytesSent);
  });
  counter('rstwatch_agent_send_failures_total', 'Failed produce requests (retried).', [], (c) => {
    const s = stats();
    if (s) follow(c, 'fail', s.sendFailures);
  });
}

/** Producers replaced, heartbeats. */
function registerProducerCounters({ stats, follow, counter }: Followers): void {
  counter(
    'rstwatch_agent_producer_replacements_total',
    'Kafka producers replaced by a fresh one (new producer id), by reason: stuck (request unanswered for agent.sendTimeoutMs), producer_state (the broker refused the idempotent sequence).',
    ['reason'],
    (c) => {
      const s = stats();
      if (s)
        for (const r of PRODUCER_REPLACE_REASONS)
          follow(c, `pr:${r}`, s.producerReplacements[r], { reason: r });
    },
  );
  counter('rstwatch_agent_heartbeats_total', 'Heartbeats published, by result.', ['result'], (c) => {
    const s = stats();
    if (!s) return;
    follow(c, 'hb:ok', s.heartbeatsSent, { result: 'ok' });
    follow(c, 'hb:failed', s.heartbeatFailures, { result: 'failed' });
  });
}

/** Batches and headers dropped instead of sent, by reason. */
function registerDropCounters({ stats, follow, counter }: Followers): void {
  counter(
    'rstwatch_agent_batches_dropped_total',
    'Batches dropped instead of sent, by reason.',
    ['reason'],
    (c) => {
      const s = stats();
      if (s) for (const r of BATCH_DROP_REASONS) follow(c, `bd:${r}`, s.batchesDropped[r], { reason: r });
    },
  );
  counter(
    'rstwatch_agent_headers_dropped_total',
    'Headers dropped instead of sent, by reason.',
    ['reason'],
    (c) => {
      const s = stats();
      if (s) for (const r of BATCH_DROP_REASONS) follow(c, `hd:${r}`, s.headersDropped[r], { reason: r });
    },
  );
}

/** The send buffer and the last batch number. */
function registerBufferGauges(registry: Registry, get: () => Agent | undefined): void {
  new Gauge({
    name: 'rstwatch_agent_buffer_bytes',
    help: 'Encoded bytes waiting to be sent (bounded by agent.bufferMaxBytes).',
    registers: [registry],
    collect() {
      this.set(get()?.stats.bufferedBytes ?? 0);
    },
  });
  new Gauge({
    name: 'rstwatch_agent_buffer_batches',
    help: 'Batches waiting to be sent.',
    registers: [registry],
    collect() {
      this.set(get()?.stats.bufferedBatches ?? 0);
    },
  });
  new Gauge({
    name: 'rstwatch_agent_last_batch_seq',
    help: 'Sequence number of the last batch produced (-1 before the first).',
    registers: [registry],
    collect() {
      this.set(Number(get()?.stats.lastBatchSeq ?? -1n));
    },
  });
}
