import { decodeSensorStats } from '@rstwatch/wire';
import { describe, expect, it } from 'vitest';
import type { HeartbeatSnapshot } from './agent.js';
import { toSensorStats, wireCodec } from './wire.js';

const snapshot = (over: Partial<HeartbeatSnapshot> = {}): HeartbeatSnapshot => ({
  sensorId: 'tap-1',
  timeMs: 1_763_700_000_000,
  startedMs: 1_763_699_000_000,
  packets: 100,
  tcpHeaders: 90,
  notTcp: 10,
  kernelReceived: 100,
  kernelDrops: 0,
  ifDrops: 0,
  parseDrops: {},
  batchesSent: 5,
  headersSent: 50,
  bytesSent: 5000,
  sendFailures: 2,
  batchesDropped: { buffer_full: 3, shutdown: 0, too_large: 1, encode_error: 0 },
  headersDropped: { buffer_full: 30, shutdown: 0, too_large: 10, encode_error: 0 },
  bufferedBatches: 0,
  bufferedBytes: 0,
  lastBatchSeq: 9n,
  lastAckedSeq: 8n,
  final: false,
  ...over,
});

describe('heartbeat on the wire', () => {
  it('carries the batches the agent dropped, by reason (zero reasons left out)', () => {
    expect(toSensorStats(snapshot()).batchesDropped).toEqual({ buffer_full: 3, too_large: 1 });
    const back = decodeSensorStats(wireCodec.encodeSensorStats(snapshot()));
    expect(back.batchesDropped).toEqual({ buffer_full: 3, too_large: 1 });
    expect(back.headersDropped).toEqual({ buffer_full: 30, too_large: 10 });
    expect(back.lastBatchSeq).toBe(8n);
    expect(back.uptimeMs).toBe(1_000_000);
  });
});
