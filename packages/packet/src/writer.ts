/** Minimal pcap writer (microsecond or nanosecond timestamps), buffered, for tests, fixtures and benchmarks. */

export interface PcapWriterOptions {
  /** Receives the file's bytes in order. The chunk is only valid during the call (it is reused). */
  write: (chunk: Uint8Array) => void;
  /** Link type of every frame (default 1, Ethernet). */
  linkType?: number;
  /** Snapshot length written in the header (default 262144). */
  snaplen?: number;
  /** Write the nanosecond-resolution magic (timestamps are still given in microseconds). */
  nanosecond?: boolean;
  /** Buffer size before `write` is called (default 1 MiB). */
  bufferSize?: number;
}

/** Writes a classic little-endian pcap file through a sink callback. Call `close()` (or `flush()`) at the end. */
export class PcapWriter {
  private readonly sink: (chunk: Uint8Array) => void;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly nano: boolean;
  private readonly snaplen: number;
  private pos = 0;

  constructor(opts: PcapWriterOptions) {
    this.sink = opts.write;
    this.nano = opts.nanosecond ?? false;
    this.snaplen = opts.snaplen ?? 262144;
    this.buf = new Uint8Array(Math.max(opts.bufferSize ?? 1 << 20, 65536));
    this.view = new DataView(this.buf.buffer);
    const v = this.view;
    v.setUint32(0, this.nano ? 0xa1b23c4d : 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, opts.linkType ?? 1, true);
    this.pos = 24;
  }

  /**
   * Append one record. `frame` is the captured bytes (cut to the snaplen); `origLen` the on-the-wire
   * length (default: the frame's length).
   */
  writePacket(tsUs: number, frame: Uint8Array, origLen?: number): void {
    const cap = Math.min(frame.length, this.snaplen);
    if (this.pos + 16 + cap > this.buf.length) this.flush();
    if (16 + cap > this.buf.length) {
      // Larger than the buffer: write header and data separately.
      const h = new Uint8Array(16);
      this.header(new DataView(h.buffer), 0, tsUs, cap, origLen ?? frame.length);
      this.sink(h);
      this.sink(frame.subarray(0, cap));
      return;
    }
    this.header(this.view, this.pos, tsUs, cap, origLen ?? frame.length);
    this.buf.set(cap === frame.length ? frame : frame.subarray(0, cap), this.pos + 16);
    this.pos += 16 + cap;
  }

  private header(v: DataView, o: number, tsUs: number, cap: number, orig: number): void {
    const sec = Math.floor(tsUs / 1e6);
    const us = tsUs - sec * 1e6;
    v.setUint32(o, sec, true);
    v.setUint32(o + 4, this.nano ? us * 1000 : us, true);
    v.setUint32(o + 8, cap, true);
    v.setUint32(o + 12, orig, true);
  }

  /** Hand buffered bytes to the sink. */
  flush(): void {
    if (this.pos > 0) this.sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** Flush; the writer must not be used afterwards. */
  close(): void {
    this.flush();
  }
}
