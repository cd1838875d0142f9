/**
 * Duplicate HeaderBatch detection by `(sensorId, batchSeq)`, per partition.
 *
 * The agent may send a batch again after the original, into the same partition: when its send watchdog
 * abandons a request, or when it replaces a producer whose idempotent sequence the broker refused. Each
 * partition keeps, per sensor, the highest `batchSeq` seen and the identity of its recent batches; a batch
 * whose seq is not above the highest and whose identity matches the batch seen with that seq is a duplicate.
 * `batchSeq` restarts at 0 when the agent restarts: a seq that is not above the highest but does not match
 * what was seen with it starts the sensor over (a restart), instead of discarding the new run's batches.
 *
 * The decision depends only on the partition's messages in offset order, so a new owner replaying the same
 * messages (warm-up included) skips the same ones.
 */

/** Batches remembered per sensor and partition (a duplicate further back than this is not recognized). */
export const RECENT_BATCHES = 256;

export interface SensorSeq {
  /** Highest batch_seq seen since the sensor's last (detected) restart. */
  max: bigint;
  /** batch_seq -> identity of the batch seen with it, the most recent {@link RECENT_BATCHES} only. */
  recent: Map<bigint, string>;
}

export type BatchVerdict = 'new' | 'duplicate' | 'restart';

/**
 * Identity of a batch: a re-sent batch is byte-identical, a restarted agent's batch with the same seq
 * carries other headers (another first capture time, count or size).
 */
export function batchIdentity(baseTsUs: number, count: number, bytes: number): string {
  return `${baseTsUs}:${count}:${bytes}`;
}

/** Decide on a batch and record it (unless it is a duplicate). */
export function admitBatch(
  seqs: Map<string, SensorSeq>,
  sensorId: string,
  seq: bigint,
  identity: string,
): BatchVerdict {
  const s = seqs.get(sensorId);
  if (!s) {
    seqs.set(sensorId, { max: seq, recent: new Map([[seq, identity]]) });
    return 'new';
  }
  if (seq > s.max) {
    s.max = seq;
    remember(s, seq, identity);
    return 'new';
  }
  if (s.recent.get(seq) === identity) return 'duplicate';
  // Not above the highest seq and not a batch seen before: the agent started over.
  s.max = seq;
  s.recent.clear();
  s.recent.set(seq, identity);
  return 'restart';
}

function remember(s: SensorSeq, seq: bigint, identity: string): void {
  s.recent.set(seq, identity);
  if (s.recent.size > RECENT_BATCHES) {
    const oldest = s.recent.keys().next().value as bigint;
    s.recent.delete(oldest);
  }
}
