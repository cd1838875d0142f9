/**
 * The classification contract (the RST taxonomy: causes, origins, phases, ...) as constants and types.
 * The CLI, ClickHouse columns, alerts and tests use exactly these strings.
 */

export const CAUSES = [
  'closed_port',
  'firewall_reject',
  'backlog_overflow',
  'malformed_syn',
  'time_wait_reuse',
  'syn_scan',
  'connect_scan',
  'retransmission_timeout',
  'idle_timeout',
  'app_abort',
  'stale_connection',
  'teardown_reset',
  'time_wait_assassination',
  'injected_reset',
  'reset_attack',
  'unsolicited',
  'other',
] as const;
export type Cause = (typeof CAUSES)[number];

export const ORIGINS = ['endpoint', 'middlebox', 'spoofed', 'unknown'] as const;
export type Origin = (typeof ORIGINS)[number];

export const PHASES = ['handshake', 'established', 'closing', 'closed', 'none'] as const;
export type Phase = (typeof PHASES)[number];

export const DIRECTIONS = ['orig', 'resp', 'unknown'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Zeek conn_state values. */
export const CONN_STATES = [
  'S0',
  'S1',
  'SF',
  'REJ',
  'S2',
  'S3',
  'RSTO',
  'RSTR',
  'RSTOS0',
  'RSTRH',
  'SH',
  'SHR',
  'OTH',
] as const;
export type ConnState = (typeof CONN_STATES)[number];

/** Connection-tampering signatures (Sundara Raman et al., SIGCOMM 2023), or `other`. */
export const SIGNATURES = [
  'SYN→RST',
  'SYN→RST+ACK',
  'SYN→RST;RST+ACK',
  'SYN;ACK→RST',
  'SYN;ACK→RST;RST',
  'SYN;ACK→RST+ACK',
  'SYN;ACK→RST+ACK;RST+ACK',
  'PSH+ACK→RST',
  'PSH+ACK→RST+ACK',
  'PSH+ACK→RST;RST+ACK',
  'PSH+ACK→RST+ACK;RST+ACK',
  'PSH+ACK→RST=RST',
  'PSH+ACK→RST≠RST',
  'PSH+ACK→RST;RST₀',
  'PSH+ACK;Data→RST',
  'PSH+ACK;Data→RST+ACK',
  'other',
] as const;
export type Signature = (typeof SIGNATURES)[number];

/** One RST event: the NDJSON object of `rstwatch analyze --format ndjson` and a `rst_events` row. */
export interface RstEvent {
  /** Capture time, RFC 3339 with microseconds, UTC. */
  ts: string;
  sensor: string;
  community_id: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  direction: Direction;
  cause: Cause;
  origin: Origin;
  phase: Phase;
  confidence: number;
  flags: string;
  seq: number;
  ack: number;
  ttl: number;
  ttl_expected: number | null;
  ip_id: number | null;
  in_window: boolean | null;
  seq_exact: boolean | null;
  payload_len: number;
  payload_preview: string;
  signature: Signature;
  conn_state: ConnState;
  history: string;
  evidence: string[];
}

/** Field order of {@link RstEvent}, as the contract lists them. */
export const RST_EVENT_FIELDS = [
  'ts',
  'sensor',
  'community_id',
  'src_ip',
  'src_port',
  'dst_ip',
  'dst_port',
  'direction',
  'cause',
  'origin',
  'phase',
  'confidence',
  'flags',
  'seq',
  'ack',
  'ttl',
  'ttl_expected',
  'ip_id',
  'in_window',
  'seq_exact',
  'payload_len',
  'payload_preview',
  'signature',
  'conn_state',
  'history',
  'evidence',
] as const satisfies readonly (keyof RstEvent)[];

/** One flow record: Zeek conn.log field names (JSON form) plus rstwatch's own. */
export interface FlowRecord {
  ts: string;
  uid: string;
  'id.orig_h': string;
  'id.orig_p': number;
  'id.resp_h': string;
  'id.resp_p': number;
  proto: 'tcp';
  duration: number;
  orig_bytes: number;
  resp_bytes: number;
  conn_state: ConnState;
  history: string;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  community_id: string;
  sensor: string;
  rst_count: number;
  rst_cause: Cause | null;
  rst_origin: Origin | null;
  tunnel: string | null;
  /** Duplicate packets suppressed (SPAN copies; saturating at 255). */
  duplicates: number;
  /** Packets processed in causal order after a later-stamped packet (two taps; saturating at 255). */
  reordered: number;
  /** Packets stamped earlier than the reorder window allows, processed as they came (saturating at 15). */
  late: number;
  /** Only one direction of the connection was seen (asymmetric routing, one tap). */
  one_sided: boolean;
}

/** Microseconds since the epoch to RFC 3339 with microseconds, UTC (`2026-11-21T18:29:30.123456Z`). */
export function formatTsUs(tsUs: number): string {
  const ms = Math.floor(tsUs / 1000);
  const us = Math.round(tsUs - ms * 1000);
  const iso = new Date(ms).toISOString(); // ...sss Z
  return `${iso.slice(0, 23)}${String(us).padStart(3, '0')}Z`;
}

/** TCP flags in tcpdump letters (`S`, `F`, `R`, `P`, `U`, `E`, `W`, `N`, then `.` for ACK), e.g. `R.`. */
export function formatFlags(flags: number): string {
  let s = '';
  if (flags & 0x002) s += 'S';
  if (flags & 0x001) s += 'F';
  if (flags & 0x008) s += 'P';
  if (flags & 0x004) s += 'R';
  if (flags & 0x020) s += 'U';
  if (flags & 0x040) s += 'E';
  if (flags & 0x080) s += 'W';
  if (flags & 0x100) s += 'N';
  if (flags & 0x010) s += '.';
  return s === '' ? 'none' : s;
}
