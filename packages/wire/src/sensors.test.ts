import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { rstwatch } from '#generated';
import { decodeSensorStats, encodeSensorStats, type SensorStats, WireError } from './index.js';

const PROTO = fileURLToPath(new URL('../../../proto/rstwatch/v1/sensors.proto', import.meta.url));

function stats(over: Partial<SensorStats> = {}): SensorStats {
  return {
    sensorId: 'tap-fra1-03',
    tsUs: 1_763_700_000_123_456,
    agentVersion: '0.1.0',
    uptimeMs: 86_400_000,
    packetsSeen: 9_000_000_000,
    tcpHeaders: 8_500_000_000,
    kernelDrops: 17,
    kernelIfDrops: 3,
    parseErrors: { truncated_ip: 5, bad_tcp_offset: 2 },
    batchesSent: 2_000_000,
    bytesSent: Number.MAX_SAFE_INTEGER,
    sendFailures: 1,
    headersDropped: { buffer_full: 100 },
    lastBatchSeq: 1_999_999n,
    headersSent: 8_499_999_900,
    batchesDropped: { buffer_full: 4, too_large: 1 },
    ...over,
  };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return (e as WireError).reason;
  }
  throw new Error('expected a WireError');
}

describe('SensorStats', () => {
  it('round-trips every field, including uint64 extremes and hostile map keys', () => {
    const s = stats();
    expect(decodeSensorStats(encodeSensorStats(s))).toEqual(s);
    const odd = stats({
      lastBatchSeq: 2n ** 64n - 1n,
      parseErrors: JSON.parse('{"__proto__": 4, "constructor": 5, "ünïcode": 6}'),
      headersDropped: {},
      agentVersion: '',
      tsUs: 0,
    });
    const back = decodeSensorStats(encodeSensorStats(odd));
    expect(back.lastBatchSeq).toBe(2n ** 64n - 1n);
    expect(Object.keys(back.parseErrors).sort()).toEqual(['__proto__', 'constructor', 'ünïcode']);
    expect(Object.getOwnPropertyDescriptor(back.parseErrors, '__proto__')?.value).toBe(4);
    expect(Object.getPrototypeOf(back.parseErrors)).toBe(Object.prototype);
    expect(back.headersDropped).toEqual({});
  });

  it('batchesDropped: round-trips, and reads as empty from a heartbeat without it (older agents)', () => {
    const back = decodeSensorStats(encodeSensorStats(stats({ batchesDropped: { buffer_full: 2 ** 40 } })));
    expect(back.batchesDropped).toEqual({ buffer_full: 2 ** 40 });
    const { batchesDropped: _, ...old } = stats();
    expect(decodeSensorStats(encodeSensorStats(old)).batchesDropped).toEqual({});
    expect(reason(() => encodeSensorStats(stats({ batchesDropped: { x: -1 } })))).toBe('bad_value');
    // Field 16 is all a pre-v1.1 reader would skip: the rest of the message decodes the same.
    const withField = encodeSensorStats(stats());
    const without = encodeSensorStats(old);
    expect(withField.subarray(0, without.length)).toEqual(without);
  });

  it('rejects invalid values on encode', () => {
    expect(reason(() => encodeSensorStats(stats({ sensorId: '' })))).toBe('missing_field');
    expect(reason(() => encodeSensorStats(stats({ kernelDrops: -1 })))).toBe('bad_value');
    expect(reason(() => encodeSensorStats(stats({ bytesSent: 2 ** 53 })))).toBe('bad_value');
    expect(reason(() => encodeSensorStats(stats({ uptimeMs: 1.5 })))).toBe('bad_value');
    expect(reason(() => encodeSensorStats(stats({ parseErrors: { x: Number.NaN } })))).toBe('bad_value');
    expect(reason(() => encodeSensorStats(stats({ lastBatchSeq: -1n })))).toBe('bad_value');
    expect(reason(() => encodeSensorStats(stats({ lastBatchSeq: 2n ** 64n })))).toBe('bad_value');
  });

  it('rejects counters beyond 2^53 and a missing sensor id on decode', () => {
    const big = { low: 0, high: 0x200000, unsigned: true };
    const enc = (p: rstwatch.v1.SensorStats.$Properties) => rstwatch.v1.SensorStats.encode(p).finish();
    expect(reason(() => decodeSensorStats(enc({ sensorId: 's', packetsSeen: big })))).toBe('bad_value');
    expect(reason(() => decodeSensorStats(enc({ sensorId: 's', headersDropped: { x: big } })))).toBe(
      'bad_value',
    );
    expect(reason(() => decodeSensorStats(enc({ packetsSeen: 1 })))).toBe('missing_field');
    const bytes = encodeSensorStats(stats());
    expect(reason(() => decodeSensorStats(bytes.subarray(0, bytes.length - 1)))).toBe('truncated');
  });

  it('never throws anything but WireError on random or mutated bytes', () => {
    const base = encodeSensorStats(stats());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(base.length))
            .map(([pos, v, cut]) => {
              const b = Uint8Array.from(base);
              b[pos] = v;
              return b.subarray(0, cut);
            }),
        ),
        (bytes) => {
          try {
            const s = decodeSensorStats(bytes);
            expect(s.sensorId).not.toBe('');
            expect(Number.isSafeInteger(s.packetsSeen)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(WireError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('is plain protobuf: protobufjs reflection from the .proto reads the same values', () => {
    const T = protobuf.loadSync(PROTO).lookupType('rstwatch.v1.SensorStats');
    const o = T.toObject(T.decode(encodeSensorStats(stats())), { longs: String }) as Record<string, unknown>;
    expect(o).toEqual({
      sensorId: 'tap-fra1-03',
      tsUs: '1763700000123456',
      agentVersion: '0.1.0',
      uptimeMs: '86400000',
      packetsSeen: '9000000000',
      tcpHeaders: '8500000000',
      kernelDrops: '17',
      kernelIfDrops: '3',
      parseErrors: { truncated_ip: '5', bad_tcp_offset: '2' },
      batchesSent: '2000000',
      bytesSent: String(Number.MAX_SAFE_INTEGER),
      sendFailures: '1',
      headersDropped: { buffer_full: '100' },
      lastBatchSeq: '1999999',
      headersSent: '8499999900',
      batchesDropped: { buffer_full: '4', too_large: '1' },
    });
  });
});
