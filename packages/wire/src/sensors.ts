/**
 * SensorStats codec: the agent heartbeat on topic `rstwatch.sensors.v1`
 * (proto/rstwatch/v1/sensors.proto), through protobufjs's generated code.
 */

import type { Long } from 'protobufjs';
import { rstwatch } from '#generated';
import { WireError } from './errors.js';
import { bigintToLong, longToBigint, longToSafeNumber } from './internal/long.js';

/**
 * Health and accounting of one sensor (agent). Counters are cumulative since the agent started and are
 * safe integers (< 2^53). See docs/wire.md for each field.
 */
export interface SensorStats {
  sensorId: string;
  /** When the heartbeat was produced, microseconds since the epoch. */
  tsUs: number;
  agentVersion: string;
  /** Milliseconds since the agent started capturing. */
  uptimeMs: number;
  /** Packets the capture handed to the agent (all protocols). */
  packetsSeen: number;
  /** TCP headers parsed. */
  tcpHeaders: number;
  /** libpcap ps_drop: dropped by the kernel, capture buffer full. */
  kernelDrops: number;
  /** libpcap ps_ifdrop: dropped by the interface or driver. */
  kernelIfDrops: number;
  /** Unparseable packets by reason code. */
  parseErrors: Record<string, number>;
  /** HeaderBatch messages acknowledged by Kafka. */
  batchesSent: number;
  /** Bytes of HeaderBatch values acknowledged by Kafka. */
  bytesSent: number;
  /** Failed send attempts. */
  sendFailures: number;
  /** Parsed headers dropped by the agent by reason (e.g. `buffer_full`). */
  headersDropped: Record<string, number>;
  /** batch_seq of the last acknowledged HeaderBatch (meaningful when batchesSent > 0). */
  lastBatchSeq: bigint;
  /** Headers in acknowledged HeaderBatch messages. */
  headersSent: number;
  /**
   * Whole HeaderBatch messages dropped by the agent by reason (each used a batch_seq). Optional when
   * encoding (absent = none); always present (maybe empty) when decoded.
   */
  batchesDropped?: Record<string, number>;
}

const COUNTERS = [
  'tsUs',
  'uptimeMs',
  'packetsSeen',
  'tcpHeaders',
  'kernelDrops',
  'kernelIfDrops',
  'batchesSent',
  'bytesSent',
  'sendFailures',
  'headersSent',
] as const satisfies readonly (keyof SensorStats)[];
const MAPS = [
  'parseErrors',
  'headersDropped',
  'batchesDropped',
] as const satisfies readonly (keyof SensorStats)[];

function counter(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new WireError('bad_value', `${what} must be a non-negative safe integer, got ${String(v)}`);
  }
  return v;
}

/** Encode a heartbeat. Throws {@link WireError} (`missing_field`, `bad_value`) on invalid fields. */
export function encodeSensorStats(s: SensorStats): Uint8Array {
  if (typeof s.sensorId !== 'string' || s.sensorId === '') {
    throw new WireError('missing_field', 'sensor id must be a non-empty string');
  }
  const msg: rstwatch.v1.SensorStats.$Properties = {
    sensorId: s.sensorId,
    agentVersion: String(s.agentVersion ?? ''),
  };
  for (const k of COUNTERS) msg[k] = counter(k, s[k]);
  for (const k of MAPS) {
    const src = s[k] ?? {};
    const dst: Record<string, number> = {};
    for (const [reason, v] of Object.entries(src)) defineOwn(dst, reason, counter(`${k}.${reason}`, v));
    msg[k] = dst;
  }
  const seq = s.lastBatchSeq;
  if (typeof seq !== 'bigint' || seq < 0n || seq > 0xffff_ffff_ffff_ffffn) {
    throw new WireError('bad_value', `lastBatchSeq must be a uint64 bigint, got ${String(seq)}`);
  }
  msg.lastBatchSeq = bigintToLong(seq);
  return rstwatch.v1.SensorStats.encode(msg).finish();
}

/** Decode a heartbeat. Throws {@link WireError} on garbage, an empty sensor id or counters >= 2^53. */
export function decodeSensorStats(bytes: Uint8Array): SensorStats {
  if (!(bytes instanceof Uint8Array)) throw new WireError('bad_protobuf', 'message is not a Uint8Array');
  let m: rstwatch.v1.SensorStats;
  try {
    m = rstwatch.v1.SensorStats.decode(bytes);
  } catch (err) {
    const truncated = err instanceof RangeError;
    throw new WireError(truncated ? 'truncated' : 'bad_protobuf', `SensorStats: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (m.sensorId === '') throw new WireError('missing_field', 'SensorStats without sensor_id');
  const num = (k: string, v: number | Long) => longToSafeNumber(v, k);
  const map = (k: string, src: Record<string, number | Long>) => {
    const dst: Record<string, number> = {};
    for (const [reason, v] of Object.entries(src)) defineOwn(dst, reason, num(`${k}.${reason}`, v));
    return dst;
  };
  return {
    sensorId: m.sensorId,
    tsUs: num('ts_us', m.tsUs),
    agentVersion: m.agentVersion,
    uptimeMs: num('uptime_ms', m.uptimeMs),
    packetsSeen: num('packets_seen', m.packetsSeen),
    tcpHeaders: num('tcp_headers', m.tcpHeaders),
    kernelDrops: num('kernel_drops', m.kernelDrops),
    kernelIfDrops: num('kernel_if_drops', m.kernelIfDrops),
    parseErrors: map('parse_errors', m.parseErrors),
    batchesSent: num('batches_sent', m.batchesSent),
    bytesSent: num('bytes_sent', m.bytesSent),
    sendFailures: num('send_failures', m.sendFailures),
    headersDropped: map('headers_dropped', m.headersDropped),
    lastBatchSeq: longToBigint(m.lastBatchSeq),
    headersSent: num('headers_sent', m.headersSent),
    batchesDropped: map('batches_dropped', m.batchesDropped),
  };
}

/** Set an own enumerable property even for keys like `__proto__` (map keys come from the wire). */
function defineOwn(o: Record<string, number>, k: string, v: number): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}
