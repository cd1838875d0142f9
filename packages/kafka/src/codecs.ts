// Compression codecs for kafkajs: gzip is built in; snappy, lz4 and zstd are registered here from npm
// packages with prebuilt binaries or WASM (no compiler needed). Loaded lazily, on first use.
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import kafkajs from 'kafkajs';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The kafkajs codec shape: compress gets an Encoder (its bytes are in `.buffer`). */
export interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const require = createRequire(import.meta.url);

// --- snappy (npm `snappy`, napi-rs prebuilt). Kafka's Java client writes xerial-framed snappy; read both.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

interface SnappyLib {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, opts: { asBuffer: true }): Buffer;
}

function snappyCodec(): Codec {
  const lib = require('snappy') as SnappyLib;
  return {
    async compress(encoder) {
      return lib.compressSync(encoder.buffer);
    },
    async decompress(buffer) {
      if (buffer.length < 16 || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) {
        return lib.uncompressSync(buffer, { asBuffer: true });
      }
      const parts: Buffer[] = [];
      let pos = 16; // magic(8) + version(4) + compatible version(4)
      while (pos + 4 <= buffer.length) {
        const size = buffer.readUInt32BE(pos);
        pos += 4;
        if (pos + size > buffer.length) throw new Error('truncated xerial snappy block');
        parts.push(lib.uncompressSync(buffer.subarray(pos, pos + size), { asBuffer: true }));
        pos += size;
      }
      return Buffer.concat(parts);
    },
  };
}

// --- lz4 (npm `lz4-napi`, prebuilt): Kafka uses the LZ4 frame format (magic v1 headers, KIP-57).
interface Lz4Lib {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}

function lz4Codec(): Codec {
  const lib = require('lz4-napi') as Lz4Lib;
  return {
    async compress(encoder) {
      return lib.compressFrameSync(encoder.buffer);
    },
    async decompress(buffer) {
      return lib.decompressFrameSync(buffer);
    },
  };
}

// --- zstd: node:zlib where Node has it (22.15+), else WASM compression (`@bokuweb/zstd-wasm`) and
// pure-JS decompression (`fzstd`, handles frames without a content size, as Java's zstd-jni writes).
interface ZlibZstd {
  zstdCompressSync(buf: Uint8Array): Buffer;
  zstdDecompressSync(buf: Uint8Array): Buffer;
}

async function zstdCodec(): Promise<Codec> {
  const z = zlib as unknown as Partial<ZlibZstd>;
  if (typeof z.zstdCompressSync === 'function' && typeof z.zstdDecompressSync === 'function') {
    const { zstdCompressSync, zstdDecompressSync } = z as ZlibZstd;
    return {
      async compress(encoder) {
        return zstdCompressSync(encoder.buffer);
      },
      async decompress(buffer) {
        return zstdDecompressSync(buffer);
      },
    };
  }
  const wasm = require('@bokuweb/zstd-wasm') as {
    init(): Promise<void>;
    compress(buf: Uint8Array, level?: number): Uint8Array;
  };
  const fzstd = require('fzstd') as { decompress(dat: Uint8Array): Uint8Array };
  await wasm.init();
  const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return {
    async compress(encoder) {
      return toBuffer(wasm.compress(encoder.buffer, 3));
    },
    async decompress(buffer) {
      return toBuffer(fzstd.decompress(buffer));
    },
  };
}

const loaders: Record<Exclude<Compression, 'none' | 'gzip'>, { type: number; load: () => Promise<Codec> }> = {
  snappy: { type: kafkajs.CompressionTypes.Snappy, load: async () => snappyCodec() },
  lz4: { type: kafkajs.CompressionTypes.LZ4, load: async () => lz4Codec() },
  zstd: { type: kafkajs.CompressionTypes.ZSTD, load: zstdCodec },
};

const loaded = new Map<Compression, Promise<Codec | Error>>();

/** Loads one codec (cached); an Error value means it cannot be used on this platform. */
export function loadCodec(name: Exclude<Compression, 'none' | 'gzip'>): Promise<Codec | Error> {
  let p = loaded.get(name);
  if (p === undefined) {
    p = loaders[name].load().then(
      (codec) => codec,
      (err: unknown) => new Error(`${name} codec unavailable: ${(err as Error).message}`, { cause: err }),
    );
    loaded.set(name, p);
  }
  return p;
}

let registration: Promise<Compression[]> | undefined;

/**
 * Registers snappy, lz4 and zstd with kafkajs (once per process) and resolves to the codecs that work
 * here. Producers and consumers call it before connecting; a codec that failed to load stays
 * unregistered, so kafkajs reports "not implemented" for messages that use it.
 */
export function registerCodecs(): Promise<Compression[]> {
  registration ??= (async () => {
    const ok: Compression[] = ['none', 'gzip'];
    for (const name of ['snappy', 'lz4', 'zstd'] as const) {
      const codec = await loadCodec(name);
      if (codec instanceof Error) continue;
      const { type } = loaders[name];
      (kafkajs.CompressionCodecs as Record<number, () => Codec>)[type] = () => codec;
      ok.push(name);
    }
    return ok;
  })();
  return registration;
}

/** The compression codecs usable for producing and consuming in this process. */
export function availableCompressions(): Promise<Compression[]> {
  return registerCodecs();
}

export const compressionType: Record<Compression, number> = {
  none: kafkajs.CompressionTypes.None,
  gzip: kafkajs.CompressionTypes.GZIP,
  snappy: kafkajs.CompressionTypes.Snappy,
  lz4: kafkajs.CompressionTypes.LZ4,
  zstd: kafkajs.CompressionTypes.ZSTD,
};
