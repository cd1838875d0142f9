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
  return `${cachedPrefix}${String(frac).padStart(6, '0')}Z`;
}
