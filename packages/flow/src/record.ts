/** Flow records: a finished flow's state as a Zeek conn.log-compatible object (plus rstwatch's fields). */
import { CAUSES, type FlowRecord, formatAddr, ORIGINS, TUNNEL_NAMES } from '@rstwatch/core';
import { communityId } from './community-id.js';
import { CONN_STATE_NAMES, connStateCode } from './conn-state.js';
import { formatTs } from './time.js';
import { E8, E32, EP8, F8, F16, F32, F64, type FlowTracker, R8, R16, R32, R64 } from './tracker.js';

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(n: number, width: number): string {
  let s = '';
  let v = Math.floor(n);
  for (let k = 0; k < width; k++) {
    s = B62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s;
}

/** Zeek-looking connection uid (`C` + 17 base62 characters), deterministic per flow generation. */
export function flowUid(t: FlowTracker, f: number): string {
  const g = t.f32[f * R32 + F32 + 1]!;
  const h = t.keyHash(f);
  const mix = Math.imul(g ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
  return `C${base62(h, 6)}${base62(mix, 6)}${base62(g, 5)}`;
}

/** Community ID v1 of flow f. */
export function flowCommunityId(t: FlowTracker, f: number): string {
  return communityId(
    t.addr,
    t.origAddrAt(f),
    t.f16[f * R16 + F16]!,
    t.addr,
    t.respAddrAt(f),
    t.f16[f * R16 + F16 + 1]!,
  );
}

/** conn_state code (index in CONN_STATES) of flow f now. */
export function flowConnStateCode(t: FlowTracker, f: number, historyLen?: number): number {
  const h = t.history(f, historyLen);
  return connStateCode(
    t.ep8[f * 2 * E8 + EP8]!,
    t.ep8[(f * 2 + 1) * E8 + EP8]!,
    t.size(f, 0),
    t.size(f, 1),
    h,
  );
}

/** The flow record of flow f (call before the flow is released). */
export function buildFlowRecord(t: FlowTracker, f: number): FlowRecord {
  const history = t.history(f);
  const cs = connStateCode(
    t.ep8[f * 2 * E8 + EP8]!,
    t.ep8[(f * 2 + 1) * E8 + EP8]!,
    t.size(f, 0),
    t.size(f, 1),
    history,
  );
  const cause = t.f8[f * R8 + F8 + 3]!;
  const origin = t.f8[f * R8 + F8 + 4]!;
  const tun = t.f8[f * R8 + F8 + 1]!;
  return {
    ts: formatTs(t.f64[f * R64 + F64]!),
    uid: flowUid(t, f),
    'id.orig_h': formatAddr(t.addr, t.origAddrAt(f)),
    'id.orig_p': t.f16[f * R16 + F16]!,
    'id.resp_h': formatAddr(t.addr, t.respAddrAt(f)),
    'id.resp_p': t.f16[f * R16 + F16 + 1]!,
    proto: 'tcp',
    duration: Math.round(t.f64[f * R64 + F64 + 1]! - t.f64[f * R64 + F64]!) / 1e6,
    orig_bytes: t.size(f, 0),
    resp_bytes: t.size(f, 1),
    conn_state: CONN_STATE_NAMES[cs]!,
    history,
    orig_pkts: t.ep32[f * 2 * E32 + 4]!,
    orig_ip_bytes: t.ep32[f * 2 * E32 + 5]!,
    resp_pkts: t.ep32[(f * 2 + 1) * E32 + 4]!,
    resp_ip_bytes: t.ep32[(f * 2 + 1) * E32 + 5]!,
    community_id: flowCommunityId(t, f),
    sensor: t.sensorName(t.f8[f * R8 + F8]!),
    rst_count: t.f16[f * R16 + F16 + 3]!,
    rst_cause: cause < CAUSES.length ? CAUSES[cause]! : null,
    rst_origin: origin < ORIGINS.length ? ORIGINS[origin]! : null,
    tunnel: tun > 0 && tun < TUNNEL_NAMES.length ? TUNNEL_NAMES[tun]! : null,
  };
}
