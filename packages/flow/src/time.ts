/** Fast RFC 3339 formatting of capture timestamps: the date/time prefix is cached per second. */
import { formatTsUs } from '@rstwatch/core';

let cachedSec = Number.NaN;
let cachedPrefix = '';

/** Same output as core's `formatTsUs` (`2026-11-21T18:29:30.123456Z`), without a Date per call. */
export function formatTs(tsUs: number): string {
  const sec = Math.floor(tsUs / 1e6);
  if (sec !== cachedSec) {
    const full = formatTsUs(sec * 1e6);
    cachedPrefix = full.slice(0, 20); // up to and including the '.'
    cachedSec = sec;
  }
  const frac = Math.round(tsUs - sec * 1e6);
  if (frac >= 1e6) return formatTsUs(tsUs);
  // Six digits and the 'Z' as one string (String(frac).padStart made two per call).
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
  return cachedPrefix + String.fromCharCode(48 + d0, 48 + d1, 48 + d2, 48 + d3, 48 + d4, 48 + d5, 0x5a);
}
