/**
 * The flow record, declared once. Every field of a tracked flow is one line below: its block (hot or
 * cold), its scope (per-direction **endpoint**, Zeek's TCP_Endpoint, or per-**connection**), its type and
 * what it means. The declaration returns the field's element offset, which code adds to a record or
 * endpoint base in the matching typed-array view; no other module knows a number inside a record.
 *
 * Blocks are fixed-size records in their own shared column, one per flow slot:
 * - `hot` (touched by nearly every packet): split into two halves, half d holding endpoint d's fields
 *   at the same place, so endpoint e = 2f + d starts at byte e * HOT_EP8. Connection fields fill the
 *   gaps of both halves, first fit in declaration order (the order below keeps the key on one line).
 * - `cold` (SYN/FIN/RST and new history letters only): endpoint fields as pairs [orig, resp]
 *   (index + d), then connection fields.
 * A block's size is a budget: a field that does not fit throws at load, naming the field.
 *
 * Adding a field: one `export const` line in the block where it belongs; moving it between hot and cold
 * is changing `hot.` to `cold.` (and the view its users read). `layout.test.ts` checks placement and
 * the bytes-per-flow budget; `describeFlowLayout()` prints the byte map. Hot-path modules copy the
 * offsets they use into module-local constants (`const { EP_STATE } = layout`, see tracker.ts): V8
 * reads an imported binding through its module cell on every use, which cost ~12% of the engine.
 * Outside this package, flows are read through FlowTracker's named accessors.
 */

type FieldType = 'u8' | 'u16' | 'u32' | 'f64';
const SIZE: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, f64: 8 };

/** One placed field (for the byte map and tests). */
export interface FieldInfo {
  readonly block: string;
  readonly scope: 'endpoint' | 'connection';
  readonly name: string;
  readonly type: FieldType;
  readonly count: number;
  /** Byte offset in the record (endpoint fields: in half 0 / of the originator's element). */
  readonly byte: number;
  readonly doc: string;
}

/** A fixed-size record whose fields are placed first-fit in declaration order. */
class RecordBlock {
  readonly fields: FieldInfo[] = [];
  private readonly used: Uint8Array;
  readonly endpoint: {
    u8: (name: string, doc: string, count?: number) => number;
    u16: (name: string, doc: string, count?: number) => number;
    u32: (name: string, doc: string, count?: number) => number;
  };
  readonly connection: {
    u8: (name: string, doc: string, count?: number) => number;
    u16: (name: string, doc: string, count?: number) => number;
    u32: (name: string, doc: string, count?: number) => number;
    f64: (name: string, doc: string, count?: number) => number;
  };

  /** `halves`: endpoint d's fields in half d (HOT); otherwise as [orig, resp] pairs (COLD). */
  constructor(
    readonly name: string,
    readonly bytes: number,
    readonly halves: boolean,
  ) {
    if (bytes % 8 !== 0) throw new Error(`${name}: size must be a multiple of 8`);
    this.used = new Uint8Array(bytes);
    const ep =
      (type: FieldType) =>
      (name: string, doc: string, count = 1) =>
        this.place('endpoint', name, type, count, doc);
    const cn =
      (type: FieldType) =>
      (name: string, doc: string, count = 1) =>
        this.place('connection', name, type, count, doc);
    this.endpoint = { u8: ep('u8'), u16: ep('u16'), u32: ep('u32') };
    this.connection = { u8: cn('u8'), u16: cn('u16'), u32: cn('u32'), f64: cn('f64') };
  }

  private free(at: number, n: number): boolean {
    if (at + n > this.bytes) return false;
    for (let k = at; k < at + n; k++) if (this.used[k] !== 0) return false;
    return true;
  }

  private place(
    scope: FieldInfo['scope'],
    name: string,
    type: FieldType,
    count: number,
    doc: string,
  ): number {
    const size = SIZE[type];
    const half = this.bytes / 2;
    const n = scope === 'endpoint' && !this.halves ? size * count * 2 : size * count;
    const limit = scope === 'endpoint' && this.halves ? half : this.bytes;
    for (let at = 0; at + n <= limit; at += size) {
      const fits =
        scope === 'endpoint' && this.halves ? this.free(at, n) && this.free(half + at, n) : this.free(at, n);
      if (!fits) continue;
      this.used.fill(1, at, at + n);
      if (scope === 'endpoint' && this.halves) this.used.fill(1, half + at, half + at + n);
      this.fields.push({ block: this.name, scope, name, type, count, byte: at, doc });
      return at / size;
    }
    throw new Error(
      `flow layout: ${this.name}.${name} (${type} x${count}) does not fit in ${this.bytes} bytes; ` +
        'grow the block (bytes_per_flow budget: 256) or move a field to the other block',
    );
  }

  /** Bytes not taken by any field. */
  get slack(): number {
    let s = 0;
    for (const u of this.used) s += u === 0 ? 1 : 0;
    return s;
  }
}

// ---- HOT: everything a packet reads or writes --------------------------------------------------------

const hot = new RecordBlock('hot', 184, true);

/** Bytes of a HOT record; element strides of one flow in each view. */
export const HOT_BYTES = hot.bytes;
export const HOT64 = HOT_BYTES / 8;
export const HOT32 = HOT_BYTES / 4;
export const HOT16 = HOT_BYTES / 2;
export const HOT8 = HOT_BYTES;
/** Element stride of one endpoint (half a record): endpoint e's u32 fields at e * HOT_EP32 + field. */
export const HOT_EP32 = HOT32 / 2;
export const HOT_EP16 = HOT16 / 2;
export const HOT_EP8 = HOT8 / 2;
/** u32 elements per 64-byte cache line (to touch every line of a record). */
export const LINE32 = 16;

// Endpoint (per direction), u32 view at e * HOT_EP32.
/** Zeek's start_seq: the ISN (seq - 1 for a partial connection, ack - 1 when seeded by the peer's ACK). */
export const EP_START_SEQ = hot.endpoint.u32('startSeq', 'start sequence number (ISN)');
export const EP_LAST_SEQ = hot.endpoint.u32(
  'lastSeq',
  'highest sequence number sent + segment length (Zeek last_seq)',
);
export const EP_ACK_SEQ = hot.endpoint.u32(
  'ackSeq',
  'highest sequence number the peer acknowledged (Zeek ack_seq)',
);
export const EP_LAST_ACK_SENT = hot.endpoint.u32(
  'lastAckSent',
  'ack field of the last ACK this endpoint sent',
);
export const EP_PKTS = hot.endpoint.u32('pkts', 'packets sent (conn.log orig_pkts / resp_pkts)');
export const EP_IP_BYTES = hot.endpoint.u32('ipBytes', 'IP bytes sent (orig_ip_bytes / resp_ip_bytes)');
export const EP_FIRST = hot.endpoint.u32('first', 'first packets as 2-bit PC_* codes, count in bits 20..23');
export const EP_RX_SEQ = hot.endpoint.u32('rxSeq', 'seq of the segment last retransmitted');
// u16 view at e * HOT_EP16.
export const EP_WINDOW = hot.endpoint.u16('window', 'last advertised window (unscaled)');
export const EP_IP_ID = hot.endpoint.u16('ipId', 'IPv4 ID of the last non-RST packet');
/** Zeek's scaled history counters: + SCALED_T retransmissions, + SCALED_W zero windows, + SCALED_G gaps. */
export const EP_SCALED = hot.endpoint.u16('scaled', 'counters behind the t / w / g history letters', 3);
// u8 view at e * HOT_EP8.
export const EP_STATE = hot.endpoint.u8('state', 'EP_* endpoint state');
export const EP_PREV_STATE = hot.endpoint.u8('prevState', 'state before the last change');
export const EP_WSCALE = hot.endpoint.u8('wscale', 'window scale from the SYN (0 when absent)');
export const EP_TTL = hot.endpoint.u8('ttl', 'TTL / hop limit of the last non-RST packet');
export const EP_FINS = hot.endpoint.u8('fins', 'FIN packets sent (saturating)');
export const EP_RSTS = hot.endpoint.u8('rsts', 'RST packets sent (saturating)');
export const EP_RX_SAME = hot.endpoint.u8('rxSame', 'retransmissions of rxSeq not yet acknowledged');
export const EP_SEQ_WRAPS = hot.endpoint.u8('seqWraps', 'times lastSeq wrapped past 2^32 (Zeek seq_wraps)');
export const EP_FLAGS = hot.endpoint.u8('flags', 'DF_* direction flags');

// Connection. In this order, first fit puts the small fields and the times after the originator's
// endpoint, and the ports, flags and addresses (what the index compare reads) together at the end.
// u8 view at f * HOT8.
export const FL_SENSOR = hot.connection.u8('sensor', 'sensor ordinal (part of the key)');
export const FL_TUNNEL = hot.connection.u8('tunnel', 'tunnel code of the first packet');
export const FL_HIST_LEN = hot.connection.u8('histLen', 'history letters kept (<= HISTORY_MAX)');
export const FL_CAUSE = hot.connection.u8('cause', 'last RST cause (CAUSES index, 255 none)');
export const FL_ORIGIN = hot.connection.u8('origin', 'last RST origin (ORIGINS index, 255 none)');
// f64 view at f * HOT64.
export const FL_FIRST_TS = hot.connection.f64('firstTs', 'capture time of the first packet (µs)');
export const FL_LAST_TS = hot.connection.f64(
  'lastTs',
  'capture time of the last packet before both closed (µs)',
);
export const FL_ACTIVE_TS = hot.connection.f64(
  'activeTs',
  'capture time of the last packet (µs), for expiry',
);
// u32 view at f * HOT32.
export const FL_GEN = hot.connection.u32('gen', 'generation: unique per allocation (uid, held-RST checks)');
export const FL_HIST_SEEN = hot.connection.u32('histSeen', 'Zeek history marks H_*, responder << 16');
export const FL_HELD = hot.connection.u32(
  'held',
  'latest held RST of the flow (ring sequence + 1), 0 if none',
);
// u16 view at f * HOT16.
export const FL_ORIG_PORT = hot.connection.u16('origPort', 'originator port');
export const FL_RESP_PORT = hot.connection.u16('respPort', 'responder port');
export const FL_FLAGS = hot.connection.u16('flags', 'FF_* flow flags');
export const FL_RSTS = hot.connection.u8('rsts', 'RST packets in the flow (saturating at 255)');
/** Sensor realities (issue 13); rare, so they sit in the key's line with the ports and flags. */
export const FL_DUPS = hot.connection.u8('dups', 'duplicate packets suppressed (saturating at 255)');
export const FL_REORDERED = hot.connection.u8(
  'reordered',
  'packets processed after a later-stamped one (causal order, saturating at 255)',
);
// u32 view at f * HOT32; addresses are 16 bytes, IPv4-mapped; byte offset = FL_ORIG_ADDR * 4.
export const FL_ORIG_ADDR = hot.connection.u32('origAddr', 'originator address (16 bytes)', 4);
export const FL_RESP_ADDR = hot.connection.u32('respAddr', 'responder address (16 bytes)', 4);

// ---- COLD: touched by SYN, FIN and RST packets and by new history letters ---------------------------

const cold = new RecordBlock('cold', 40, false);

/** Bytes of a COLD record; element strides of one flow. */
export const COLD_BYTES = cold.bytes;
export const COLD32 = COLD_BYTES / 4;
export const COLD8 = COLD_BYTES;

// Endpoint pairs, u32 view at f * COLD32 + d.
export const EP_SYN_MARK = cold.endpoint.u32('synMark', 'seq of the last SYN (repeated S/H letters)');
export const EP_FIN_MARK = cold.endpoint.u32('finMark', 'end seq of the last FIN (repeated F letters)');
export const EP_RST_MARK = cold.endpoint.u32(
  'rstMark',
  'seq of the last RST (repeated R letters, stepping RSTs)',
);
/** Bytes of history kept per flow (letters beyond are counted as `history_overflow`). */
export const HISTORY_MAX = 16;
// u8 view at f * COLD8.
export const FL_HISTORY = cold.connection.u8('history', 'Zeek history letters, in order', HISTORY_MAX);

/** Index of each scaled counter in EP_SCALED. */
export const SCALED_T = 0;
export const SCALED_W = 1;
export const SCALED_G = 2;

/** Every field of the flow record, by block, with its byte offset (for the docs and tests). */
export const FLOW_FIELDS: readonly FieldInfo[] = [...hot.fields, ...cold.fields];

/** Unused bytes per flow in each block. */
export const FLOW_SLACK: Readonly<Record<string, number>> = { hot: hot.slack, cold: cold.slack };

/** Byte map of the record, one line per field (`block scope name type[count] @byte: doc`). */
export function describeFlowLayout(): string {
  return FLOW_FIELDS.map((f) => {
    const type = `${f.type}${f.count > 1 ? `[${f.count}]` : ''}`;
    const head = `${f.block.padEnd(4)} ${f.scope.padEnd(10)} ${f.name.padEnd(12)} ${type.padEnd(7)}`;
    return `${head} @${String(f.byte).padStart(3)}  ${f.doc}`;
  }).join('\n');
}
