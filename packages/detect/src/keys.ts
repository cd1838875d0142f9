/** Entity keys, alert ids and capture-time parsing: the small pure functions every detector shares. */
import { createHash } from 'node:crypto';
import type { RstEvent } from '@rstwatch/core';
import type { AlertRule } from './alert.js';

/** `ip:port`, with the IPv6 address in brackets (`[2001:db8::1]:443`). */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** True when the RST's sender is the server side of its connection. */
export function senderIsServer(e: RstEvent): boolean {
  if (e.direction === 'resp') return true;
  if (e.direction === 'orig') return false;
  return e.src_port < e.dst_port;
}

/** The server side `ip:port`: dst for an originator's RST, src for a responder's, else the lower port. */
export function serviceKey(e: RstEvent): string {
  return senderIsServer(e) ? hostPort(e.src_ip, e.src_port) : hostPort(e.dst_ip, e.dst_port);
}

/** The host and port of an `ip:port` / `[v6]:port` key. */
export function splitHostPort(key: string): [string, number] {
  const colon = key.lastIndexOf(':');
  const host = key.startsWith('[') ? key.slice(1, colon - 1) : key.slice(0, colon);
  return [host, Number(key.slice(colon + 1))];
}

/** The client side of the RST's connection (the other party of the service). */
export function clientOf(e: RstEvent): string {
  return senderIsServer(e) ? e.dst_ip : e.src_ip;
}

/** The probing host of a scan RST (its sender for syn/connect scans, its receiver for closed ports). */
export function scannerOf(e: RstEvent): string | undefined {
  if (e.cause === 'syn_scan' || e.cause === 'connect_scan') return e.src_ip;
  if (e.cause === 'closed_port') return e.dst_ip;
  return undefined;
}

/** Stable alert id: the first 32 hex digits of sha256 over the rule, the entity and the first event. */
export function alertId(rule: AlertRule, entity: string, firstTs: string, firstCommunityId: string): string {
  return createHash('sha256')
    .update(`${rule}\n${entity}\n${firstTs}\n${firstCommunityId}`)
    .digest('hex')
    .slice(0, 32);
}

const Z = 48; // '0'
let cachedPrefix = '';
let cachedMs = 0;

/**
 * RFC 3339 UTC capture time (`2026-01-01T00:00:00.123456Z`, 0 to 9 fraction digits) to µs since the
 * epoch; NaN when malformed. The seconds part of the last call is cached: events come in time order.
 */
export function parseTsUs(ts: unknown): number {
  if (typeof ts !== 'string' || ts.length < 20 || ts.charCodeAt(ts.length - 1) !== 90) return Number.NaN;
  let ms: number;
  if (ts.startsWith(cachedPrefix) && cachedPrefix !== '') ms = cachedMs;
  else {
    const prefix = ts.slice(0, 19);
    ms = Date.parse(`${prefix}Z`);
    if (!Number.isFinite(ms) || prefix.charCodeAt(10) !== 84) return Number.NaN;
    cachedPrefix = prefix;
    cachedMs = ms;
  }
  let frac = 0;
  let scale = 100_000;
  const end = ts.length - 1;
  if (end > 19) {
    if (ts.charCodeAt(19) !== 46 || end - 20 > 9 || end === 20) return Number.NaN;
    for (let k = 20; k < end; k++) {
      const d = ts.charCodeAt(k) - Z;
      if (d < 0 || d > 9) return Number.NaN;
      if (scale >= 1) frac += d * scale;
      scale /= 10;
    }
  }
  return ms * 1000 + Math.floor(frac);
}
