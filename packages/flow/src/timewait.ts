/**
 * TIME_WAIT memory: recently closed 4-tuples (both FINs exchanged), remembered for `timeWaitS` (2*MSL),
 * so a new SYN on the same tuple (reuse) or a RST hitting it (RFC 1337 assassination) is recognised after
 * the flow itself left the table. Direct-mapped, full-key compare, newest wins on collision.
 */
import { ADDR_BYTES, bucketOf } from '@rstwatch/core';
import { type ColumnDef, layoutBytes, mapColumns } from './internal/layout.js';

function twColumns(n: number): ColumnDef[] {
  return [
    { name: 'ts', ctor: Float64Array, length: n },
    { name: 'hash', ctor: Uint32Array, length: n },
    { name: 'portA', ctor: Uint16Array, length: n },
    { name: 'portB', ctor: Uint16Array, length: n },
    { name: 'sensor', ctor: Uint8Array, length: n },
    { name: 'addrA', ctor: Uint8Array, length: n * ADDR_BYTES },
    { name: 'addrB', ctor: Uint8Array, length: n * ADDR_BYTES },
  ];
}

export class TimeWaitMemory {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly ts: Float64Array;
  private readonly hash: Uint32Array;
  private readonly portA: Uint16Array;
  private readonly portB: Uint16Array;
  private readonly sensor: Uint8Array;
  private readonly addrA: Uint8Array;
  private readonly addrB: Uint8Array;

  static bytesFor(capacity: number): number {
    return layoutBytes(twColumns(capacity));
  }

  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    this.capacity = capacity;
    const cols = twColumns(capacity);
    this.buffer = buffer ?? new SharedArrayBuffer(layoutBytes(cols));
    const m = mapColumns(this.buffer, cols);
    this.ts = m.ts as Float64Array;
    this.hash = m.hash as Uint32Array;
    this.portA = m.portA as Uint16Array;
    this.portB = m.portB as Uint16Array;
    this.sensor = m.sensor as Uint8Array;
    this.addrA = m.addrA as Uint8Array;
    this.addrB = m.addrB as Uint8Array;
  }

  /**
   * Remember a closed tuple. `a`/`b` must be given in canonical order (the same order every time for
   * one tuple), e.g. lower endpoint first.
   */
  remember(
    h: number,
    sensor: number,
    a: Uint8Array,
    ao: number,
    pa: number,
    b: Uint8Array,
    bo: number,
    pb: number,
    tsUs: number,
  ): void {
    const e = bucketOf(h, this.capacity);
    this.ts[e] = tsUs;
    this.hash[e] = h;
    this.sensor[e] = sensor;
    this.portA[e] = pa;
    this.portB[e] = pb;
    const eo = e * ADDR_BYTES;
    for (let k = 0; k < ADDR_BYTES; k++) {
      this.addrA[eo + k] = a[ao + k]!;
      this.addrB[eo + k] = b[bo + k]!;
    }
  }

  /** Capture time the tuple was closed, or -1 when not remembered within `windowUs` of `nowUs`. */
  closedAt(
    h: number,
    sensor: number,
    a: Uint8Array,
    ao: number,
    pa: number,
    b: Uint8Array,
    bo: number,
    pb: number,
    nowUs: number,
    windowUs: number,
  ): number {
    const e = bucketOf(h, this.capacity);
    const t = this.ts[e]!;
    if (t === 0 || this.hash[e] !== h || this.sensor[e] !== sensor) return -1;
    if (this.portA[e] !== pa || this.portB[e] !== pb) return -1;
    if (nowUs - t > windowUs || nowUs < t) return -1;
    const eo = e * ADDR_BYTES;
    for (let k = 0; k < ADDR_BYTES; k++) {
      if (this.addrA[eo + k] !== a[ao + k] || this.addrB[eo + k] !== b[bo + k]) return -1;
    }
    return t;
  }

  /** Forget the tuple (it was reused). */
  forget(h: number): void {
    this.ts[bucketOf(h, this.capacity)] = 0;
  }
}
