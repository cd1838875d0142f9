/** Flow records: a finished flow's state as a Zeek conn.log-compatible object (plus rstwatch's fields). */
import { CAUSES, type FlowRecord, formatAddr, ORIGINS, TUNNEL_NAMES } from '@rstwatch/core';
import { communityId } from './community-id.js';
import { CONN_STATE_NAMES, connStateCode } from './conn-state.js';
import { formatTs } from './time.js';
import { endpointOf, type FlowTracker } from './tracker.js';

const B62 = new Uint8Array(62);
for (let k = 0; k < 62; k++)
  B62[k] = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.charCodeAt(k);
/** The uid's 18 character codes: 'C', then three base62 numbers, each written right to left. */
const UID = new Uint16Array(18);

/** `width` base62 digits of the non-negative integer n into UID, ending before `end` (most significant first). */
function base62(n: number, width: number, end: number): void {
  let v = Math.floor(n);
  for (let k = 1; k <= width; k++) {
    const q = Math.floor(v / 62);
    UID[end - k] = B62[v - q * 62]!;
    v = q;
  }
}

/** Zeek-looking connection uid (`C` + 17 base62 characters), deterministic per flow generation. */
export function flowUid(t: FlowTracker, f: number): string {
  const g = t.generation(f);
  const h = t.keyHash(f);
  const mix = Math.imul(g ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
  UID[0] = 0x43; // C
  base62(h, 6, 7);
  base62(mix, 6, 13);
  base62(g, 5, 18);
  const u = UID;
  return String.fromCharCode(
    u[0]!,
    u[1]!,
    u[2]!,
    u[3]!,
    u[4]!,
    u[5]!,
    u[6]!,
    u[7]!,
    u[8]!,
    u[9]!,
    u[10]!,
    u[11]!,
    u[12]!,
    u[13]!,
    u[14]!,
    u[15]!,
    u[16]!,
    u[17]!,
  );
}

/** Community ID v1 of flow f. */
export function flowCommunityId(t: FlowTracker, f: number): string {
  return communityId(t.addr, t.origAddrAt(f), t.origPort(f), t.addr, t.respAddrAt(f), t.respPort(f));
}

/** conn_state code (index in CONN_STATES) of flow f now. */
export function flowConnStateCode(t: FlowTracker, f: number, historyLen?: number): number {
  const h = t.history(f, historyLen);
  return connStateCode(
    t.epState(endpointOf(f, 0)),
    t.epState(endpointOf(f, 1)),
    t.size(f, 0),
    t.size(f, 1),
    h,
  );
}

/** The flow record of flow f (call before the flow is released). */
export function buildFlowRecord(t: FlowTracker, f: number): FlowRecord {
  const history = t.history(f);
  const origBytes = t.size(f, 0);
  const respBytes = t.size(f, 1);
  const cs = connStateCode(
    t.epState(endpointOf(f, 0)),
    t.epState(endpointOf(f, 1)),
    origBytes,
    respBytes,
    history,
  );
  const cause = t.rstCause(f);
  const origin = t.rstOrigin(f);
  const tun = t.tunnelOf(f);
  return {
    ts: formatTs(t.firstTs(f)),
    uid: flowUid(t, f),
    'id.orig_h': formatAddr(t.addr, t.origAddrAt(f)),
    'id.orig_p': t.origPort(f),
    'id.resp_h': formatAddr(t.addr, t.respAddrAt(f)),
    'id.resp_p': t.respPort(f),
    proto: 'tcp',
    duration: Math.round(t.lastTs(f) - t.firstTs(f)) / 1e6,
    orig_bytes: origBytes,
    resp_bytes: respBytes,
    conn_state: CONN_STATE_NAMES[cs]!,
    history,
    orig_pkts: t.epPackets(endpointOf(f, 0)),
    orig_ip_bytes: t.epIpBytes(endpointOf(f, 0)),
    resp_pkts: t.epPackets(endpointOf(f, 1)),
    resp_ip_bytes: t.epIpBytes(endpointOf(f, 1)),
    community_id: flowCommunityId(t, f),
    sensor: t.sensorName(t.sensorOf(f)),
    rst_count: t.rstCount(f),
    rst_cause: cause < CAUSES.length ? CAUSES[cause]! : null,
    rst_origin: origin < ORIGINS.length ? ORIGINS[origin]! : null,
    tunnel: tun > 0 && tun < TUNNEL_NAMES.length ? TUNNEL_NAMES[tun]! : null,
    duplicates: t.dupCount(f),
    reordered: t.reorderedCount(f),
    late: t.lateCount(f),
    one_sided: t.oneSided(f),
  };
}
