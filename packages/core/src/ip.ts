/** Address helpers: 16-byte slots (IPv4-mapped for v4) to and from text. Not for the hot path. */
import { ADDR_BYTES } from './columns.js';

/** True when the 16 bytes at `off` are an IPv4-mapped address (::ffff:a.b.c.d). */
export function isV4Mapped(a: Uint8Array, off: number): boolean {
  for (let k = 0; k < 10; k++) if (a[off + k] !== 0) return false;
  return a[off + 10] === 0xff && a[off + 11] === 0xff;
}

/** Text form of the address slot at `off`: dotted quad for IPv4-mapped, RFC 5952 for IPv6. */
export function formatAddr(a: Uint8Array, off: number): string {
  if (isV4Mapped(a, off)) return `${a[off + 12]}.${a[off + 13]}.${a[off + 14]}.${a[off + 15]}`;
  // Longest run of zero words (length >= 2, the first of equal runs) becomes "::" (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 0;
  for (let k = 0; k < 8; ) {
    if (a[off + 2 * k] !== 0 || a[off + 2 * k + 1] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && a[off + 2 * e] === 0 && a[off + 2 * e + 1] === 0) e++;
    if (e - k > bestLen && e - k >= 2) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  // Words joined by ':' (no array per call: this runs once per IPv6 flow record and event).
  let s = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      s += '::';
      k += bestLen - 1;
      continue;
    }
    if (k !== 0 && k !== bestStart + bestLen) s += ':';
    s += (((a[off + 2 * k]! << 8) | a[off + 2 * k + 1]!) >>> 0).toString(16);
  }
  return s;
}

/** Parse an IPv4 or IPv6 address into a 16-byte slot (IPv4 mapped). Throws on malformed text. */
export function parseAddr(text: string, out: Uint8Array = new Uint8Array(ADDR_BYTES), off = 0): Uint8Array {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    out.fill(0, off, off + 10);
    out[off + 10] = 0xff;
    out[off + 11] = 0xff;
    for (let k = 0; k < 4; k++) {
      const n = Number(v4[k + 1]);
      if (n > 255) throw new Error(`invalid IPv4 address: ${text}`);
      out[off + 12 + k] = n;
    }
    return out;
  }
  const parts = text.split('::');
  if (parts.length > 2 || !/^[0-9a-fA-F:.]+$/.test(text)) throw new Error(`invalid IP address: ${text}`);
  const toWords = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const w of s.split(':')) {
      if (w.includes('.')) {
        const b = parseAddr(w);
        out.push((b[12]! << 8) | b[13]!, (b[14]! << 8) | b[15]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw new Error(`invalid IPv6 address: ${text}`);
        out.push(Number.parseInt(w, 16));
      }
    }
    return out;
  };
  const head = toWords(parts[0]!);
  const tail = parts.length === 2 ? toWords(parts[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (parts.length === 1 && fill !== 0)) throw new Error(`invalid IPv6 address: ${text}`);
  const words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  for (let k = 0; k < 8; k++) {
    out[off + 2 * k] = words[k]! >> 8;
    out[off + 2 * k + 1] = words[k]! & 0xff;
  }
  return out;
}
