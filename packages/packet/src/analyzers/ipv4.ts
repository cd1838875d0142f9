/**
 * IPv4 (options skipped; fragments: offset 0 decodes on, the rest carry no TCP header). Records the
 * header's addresses, TTL, id and total length for the TCP analyzer; an inner datagram overwrites an
 * outer one's. Total length 0 is TCP segmentation offload on the capturing host: the captured length
 * is used.
 */
import { CK_BAD_IP, CK_OFFLOAD, CK_VERIFIED, type HeaderColumns } from '@rstwatch/core';
import { byIpProtocol } from './dispatch.js';
import { type DecodeState, fold16, LITTLE_ENDIAN, onesSum, STOP, short, u16 } from './state.js';

export function ipv4(buf: Uint8Array, s: DecodeState): number {
  const p = s.p;
  let end = s.end;
  if (p + 20 > end) return short(s);
  const b0 = buf[p]!;
  const ihl = (b0 & 0x0f) << 2;
  if (b0 >> 4 !== 4 || ihl < 20) {
    s.stats.drops.bad_ip_header++;
    return STOP;
  }
  let totLen = u16(buf, p + 2);
  let tso = false;
  if (totLen === 0) {
    totLen = end - p;
    tso = true;
    s.stats.anomalies.ipv4_length_zero++;
  }
  if (totLen < ihl) {
    s.stats.drops.bad_ip_length++;
    return STOP;
  }
  if (p + ihl > end) return short(s);
  const proto = buf[p + 9]!;
  if ((((buf[p + 6]! & 0x1f) << 8) | buf[p + 7]!) !== 0) {
    if (proto === 6) s.stats.drops.ipv4_fragment_nonfirst++;
    else s.stats.notTcp++;
    return STOP;
  }
  const out = s.out;
  const j = s.j;
  out.ipVersion[j] = 4;
  out.ipLen[j] = totLen;
  out.ttl[j] = buf[p + 8]!;
  out.ipId[j] = u16(buf, p + 4);
  writeAddrs4(buf, p, out, s.ao);
  s.l4Len = totLen - ihl;
  s.ckWhole = 0;
  if (s.verify !== 0 && !tso && p + totLen <= end) checksum(buf, p, ihl, s);
  // Tunnelled payloads never extend past the datagram (drops Ethernet padding and trailers).
  if (p + totLen < end) end = p + totLen;
  s.end = end;
  s.p = p + ihl;
  return byIpProtocol(s, proto);
}

/**
 * Verifies the header checksum of the whole datagram at `p` (a zero field is offload-like: some stacks
 * leave the IP checksum to the NIC too) and readies the TCP pseudo-header's address sum.
 */
function checksum(buf: Uint8Array, p: number, ihl: number, s: DecodeState): void {
  let ck = s.ck | CK_VERIFIED;
  if (fold16(onesSum(buf, p, ihl, 0)) !== 0xffff)
    ck |= u16(buf, p + 10) === 0 ? CK_BAD_IP | CK_OFFLOAD : CK_BAD_IP;
  s.ck = ck;
  s.ckAddr = onesSum(buf, p + 12, 8, 0);
  s.ckWhole = 1;
}

/** Source and destination of the IPv4 header at `p` into slot `ao` of the address columns, as ::ffff:a.b.c.d. */
function writeAddrs4(buf: Uint8Array, p: number, out: HeaderColumns, ao: number): void {
  if (!LITTLE_ENDIAN) {
    writeAddrs4Bytes(buf, p, out, ao);
    return;
  }
  const w = ao >> 2;
  const s32 = out.srcAddr32;
  const d32 = out.dstAddr32;
  s32[w] = 0;
  s32[w + 1] = 0;
  s32[w + 2] = 0xffff0000;
  s32[w + 3] = buf[p + 12]! | (buf[p + 13]! << 8) | (buf[p + 14]! << 16) | (buf[p + 15]! << 24);
  d32[w] = 0;
  d32[w + 1] = 0;
  d32[w + 2] = 0xffff0000;
  d32[w + 3] = buf[p + 16]! | (buf[p + 17]! << 8) | (buf[p + 18]! << 16) | (buf[p + 19]! << 24);
}

/** {@link writeAddrs4} on a big-endian host, byte by byte. */
function writeAddrs4Bytes(buf: Uint8Array, p: number, out: HeaderColumns, ao: number): void {
  const src = out.srcAddr;
  const dst = out.dstAddr;
  for (let k = 0; k < 10; k++) {
    src[ao + k] = 0;
    dst[ao + k] = 0;
  }
  src[ao + 10] = 0xff;
  src[ao + 11] = 0xff;
  dst[ao + 10] = 0xff;
  dst[ao + 11] = 0xff;
  for (let k = 0; k < 4; k++) {
    src[ao + 12 + k] = buf[p + 12 + k]!;
    dst[ao + 12 + k] = buf[p + 16 + k]!;
  }
}
