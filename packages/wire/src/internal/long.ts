/** uint64 values as protobufjs hands them out (a number, or a Long when the long library is present). */
import type { Long } from 'protobufjs';
import { WireError, type WireErrorReason } from '../errors.js';

const TWO_32 = 0x1_0000_0000;

/** A protobufjs uint64 as a bigint. */
export function longToBigint(v: number | Long): bigint {
  if (typeof v === 'number') return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/** A protobufjs uint64 as a number; WireError (`reason`) when it exceeds 2^53 - 1. */
export function longToSafeNumber(
  v: number | Long,
  what = 'value',
  reason: WireErrorReason = 'bad_value',
): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new WireError(reason, `${what} ${v} is not a safe integer`);
    return v;
  }
  const hi = v.high >>> 0;
  if (hi >= 0x20_0000) throw new WireError(reason, `${what} ${longToBigint(v)} exceeds 2^53 - 1`);
  return hi * TWO_32 + (v.low >>> 0);
}

/** A non-negative bigint (< 2^64) as the { low, high } pair protobufjs writers accept for uint64. */
export function bigintToLong(v: bigint): Long {
  return { low: Number(v & 0xffff_ffffn) | 0, high: Number((v >> 32n) & 0xffff_ffffn) | 0, unsigned: true };
}
