/** Fast RFC 3339 formatting of capture timestamps: the date/time prefix is cached per second. */
import { formatTsUs } from '@rstwatch/core';

let cachedSec = Number.NaN;
/** Character codes of the cached second's prefix (20: date, time and the '.'). */
const PREFIX = new Uint8Array(20);

/** Same output as core's `formatTsUs` (`2026-11-21T18:29:30.123456Z`), without a Date per call. */
export function formatTs(tsUs: number): string {
  const sec = Math.floor(tsUs / 1e6);
  if (sec !== cachedSec) {
    const full = formatTsUs(sec * 1e6);
    for (let k = 0; k < 20; k++) PREFIX[k] = full.charCodeAt(k); // up to and including the '.'
    cachedSec = sec;
  }
  const frac = Math.round(tsUs - sec * 1e6);
  if (frac >= 1e6) return formatTsUs(tsUs);
  // One flat string: prefix, six digits and 'Z' (a concatenation keeps a cons string per flow record).
  const d0 = Math.floor(frac / 100000);
  const r0 = frac - d0 * 100000;
  const d1 = Math.floor(r0 / 10000);
  const r1 = r0 - d1 * 10000;
  const d2 = Math.floor(r1 / 1000);
  const r2 = r1 - d2 * 1000;
  const d3 = Math.floor(r2 / 100);
  const r3 = r2 - d3 * 100;
  const d4 = Math.floor(r3 / 10);
  const d5 = r3 - d4 * 10;
  const p = PREFIX;
  return String.fromCharCode(
    p[0]!,
    p[1]!,
    p[2]!,
    p[3]!,
    p[4]!,
    p[5]!,
    p[6]!,
    p[7]!,
    p[8]!,
    p[9]!,
    p[10]!,
    p[11]!,
    p[12]!,
    p[13]!,
    p[14]!,
    p[15]!,
    p[16]!,
    p[17]!,
    p[18]!,
    p[19]!,
    48 + d0,
    48 + d1,
    48 + d2,
    48 + d3,
    48 + d4,
    48 + d5,
    0x5a,
  );
}
