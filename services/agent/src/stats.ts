/**
 * The agent's own counters: what was captured, sent, and lost and why. One plain object shared by the
 * components; the heartbeat and the Prometheus metrics both read it.
 */

/** Why whole batches were dropped instead of sent. */
export const BATCH_DROP_REASONS = [
  /** The in-memory buffer (`agent.bufferMaxBytes`) was full: Kafka was slow or down. */
  'buffer_full',
  /** Still buffered when the shutdown deadline passed. */
  'shutdown',
  /** The encoded batch alone is larger than the buffer. */
  'too_large',
  /** The wire codec refused the batch (a bug; logged). */
  'encode_error',
] as const;
export type BatchDropReason = (typeof BATCH_DROP_REASONS)[number];

/** Why the agent replaced its Kafka producer. */
export const PRODUCER_REPLACE_REASONS = [
  /** A produce request stayed unanswered for `agent.sendTimeoutMs`. */
  'stuck',
  /** The broker refused the idempotent producer's state (out-of-order sequence, unknown producer id). */
  'producer_state',
] as const;
export type ProducerReplaceReason = (typeof PRODUCER_REPLACE_REASONS)[number];

export interface AgentStats {
  /** Packets the capture source read (live: delivered by the kernel; file: records). */
  packets: number;
  /** TCP headers parsed and handed to the batcher. */
  tcpHeaders: number;
  /** Packets that were not TCP (filtered out after capture). */
  notTcp: number;
  /** Parse drops by reason (from the packet parser). */
  parseDrops: Record<string, number>;
  /** Kernel/libpcap counters from the live capture (0 for files). */
  kernelDrops: number;
  ifDrops: number;
  kernelReceived: number;
  /** Batches and headers acknowledged by Kafka, and their encoded bytes. */
  batchesSent: number;
  headersSent: number;
  bytesSent: number;
  /** Failed produce requests (each is retried until the shutdown deadline). */
  sendFailures: number;
  batchesDropped: Record<BatchDropReason, number>;
  headersDropped: Record<BatchDropReason, number>;
  /** Batches and encoded bytes waiting in the buffer. */
  bufferedBatches: number;
  bufferedBytes: number;
  /** Sequence number of the last batch produced (sent or dropped), -1n before the first. */
  lastBatchSeq: bigint;
  /** Sequence number of the last batch acknowledged by Kafka, -1n before the first. */
  lastAckedSeq: bigint;
  /** Heartbeats published and failed. */
  heartbeatsSent: number;
  heartbeatFailures: number;
  /** Kafka producers replaced by a fresh one, by reason. */
  producerReplacements: Record<ProducerReplaceReason, number>;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>;
  for (const k of keys) o[k] = 0;
  return o;
}

export function createAgentStats(): AgentStats {
  return {
    packets: 0,
    tcpHeaders: 0,
    notTcp: 0,
    parseDrops: {},
    kernelDrops: 0,
    ifDrops: 0,
    kernelReceived: 0,
    batchesSent: 0,
    headersSent: 0,
    bytesSent: 0,
    sendFailures: 0,
    batchesDropped: zeros(BATCH_DROP_REASONS),
    headersDropped: zeros(BATCH_DROP_REASONS),
    bufferedBatches: 0,
    bufferedBytes: 0,
    lastBatchSeq: -1n,
    lastAckedSeq: -1n,
    heartbeatsSent: 0,
    heartbeatFailures: 0,
    producerReplacements: zeros(PRODUCER_REPLACE_REASONS),
  };
}

/** Headers dropped for any reason. */
export function totalHeadersDropped(s: AgentStats): number {
  let n = 0;
  for (const k of BATCH_DROP_REASONS) n += s.headersDropped[k];
  return n;
}

/** Batches dropped for any reason. */
export function totalBatchesDropped(s: AgentStats): number {
  let n = 0;
  for (const k of BATCH_DROP_REASONS) n += s.batchesDropped[k];
  return n;
}
