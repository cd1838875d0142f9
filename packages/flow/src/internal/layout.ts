/**
 * Struct-of-arrays layout over one SharedArrayBuffer: every column is a typed-array view at a fixed,
 * 8-byte aligned offset computed from the column list alone, so two threads that build the same layout
 * over the same buffer see the same memory.
 */

export type ColumnCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor;

export interface ColumnDef {
  readonly name: string;
  readonly ctor: ColumnCtor;
  /** Number of elements. */
  readonly length: number;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8; // not `(n + 7) & ~7`: tables pass 2 GiB (32-bit bit operations)
}

/** Total bytes for the columns, each aligned to 8. */
export function layoutBytes(cols: readonly ColumnDef[]): number {
  let off = 0;
  for (const c of cols) off = align8(off + c.ctor.BYTES_PER_ELEMENT * c.length);
  return off;
}

/** Typed-array views of every column over `buf`, keyed by name. */
export function mapColumns(
  buf: SharedArrayBuffer | ArrayBuffer,
  cols: readonly ColumnDef[],
): Record<string, ArrayBufferView> {
  const out: Record<string, ArrayBufferView> = {};
  let off = 0;
  for (const c of cols) {
    out[c.name] = new c.ctor(buf as ArrayBuffer, off, c.length);
    off = align8(off + c.ctor.BYTES_PER_ELEMENT * c.length);
  }
  if (off > buf.byteLength)
    throw new RangeError(`buffer of ${buf.byteLength} bytes too small for layout (${off})`);
  return out;
}
