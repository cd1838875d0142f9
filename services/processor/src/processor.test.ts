import { DEFAULT_ENGINE_CONFIG } from '@rstwatch/classify';
import { loadConfig } from '@rstwatch/config';
import type { RstEvent } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';
import { compareEvents } from './local.js';
import { sensorStatsRow } from './processor.js';
import { Summary } from './summary.js';

function event(over: Partial<RstEvent>): RstEvent {
  return {
    ts: '2026-11-21T10:00:00.000001Z',
    sensor: 's',
    community_id: '1:x',
    src_ip: '198.18.0.2',
    src_port: 80,
    dst_ip: '198.18.0.1',
    dst_port: 40000,
    direction: 'resp',
    cause: 'closed_port',
    origin: 'endpoint',
    phase: 'handshake',
    confidence: 0.9,
    flags: 'R.',
    seq: 0,
    ack: 1,
    ttl: 64,
    ttl_expected: 64,
    ip_id: 0,
    in_window: null,
    seq_exact: null,
    payload_len: 0,
    payload_preview: '',
    signature: 'SYN→RST+ACK',
    conn_state: 'REJ',
    history: 'Sr',
    evidence: [],
    ...over,
  };
}

describe('configuration', () => {
  it('the config file defaults of the classifier are the engine defaults (one contract, two places)', () => {
    expect(loadConfig({ env: {} }).classifier).toEqual(DEFAULT_ENGINE_CONFIG);
  });
});

describe('event order', () => {
  it('sorts by capture time, then by sender and sequence so equal times come out the same way', () => {
    const a = event({ ts: '2026-11-21T10:00:00.000002Z' });
    const b = event({ ts: '2026-11-21T10:00:00.000001Z', src_ip: '198.18.0.9' });
    const c = event({ ts: '2026-11-21T10:00:00.000001Z', src_ip: '198.18.0.3', seq: 5 });
    const d = event({ ts: '2026-11-21T10:00:00.000001Z', src_ip: '198.18.0.3', seq: 2 });
    expect([a, b, c, d].sort(compareEvents)).toEqual([d, c, b, a]);
  });
});

describe('summary table', () => {
  it('counts by cause and origin, names the service on the responder side, brackets IPv6', () => {
    const s = new Summary();
    s.add(event({}));
    s.add(
      event({
        cause: 'reset_attack',
        origin: 'spoofed',
        direction: 'orig',
        dst_ip: '2001:db8::1',
        dst_port: 443,
      }),
    );
    const text = s.render({ file: 'x.pcap', headers: 10, flows: 2, seconds: 0.1 });
    expect(text).toMatch(/x\.pcap: 10 TCP headers, 2 flows, 2 RSTs/);
    expect(text).toMatch(/closed_port\s+1\s+50\.0\s+1\s+0\s+0\s+0/);
    expect(text).toMatch(/reset_attack\s+1\s+50\.0\s+0\s+0\s+1\s+0/);
    expect(text).toContain('198.18.0.2:80');
    expect(text).toContain('[2001:db8::1]:443');
  });
  it('says so when there is no RST', () => {
    expect(new Summary().render({ file: 'y', headers: 0, flows: 0, seconds: 0 })).toContain(
      'No RST packets found.',
    );
  });
});

describe('sensor heartbeat rows', () => {
  it('maps every SensorStats field to its sensor_stats column', () => {
    const row = sensorStatsRow({
      sensorId: 'tap-1',
      tsUs: 1_700_000_000_000_001,
      agentVersion: '0.1.0',
      uptimeMs: 5000,
      packetsSeen: 10,
      tcpHeaders: 9,
      kernelDrops: 1,
      kernelIfDrops: 2,
      parseErrors: { truncated_record: 1 },
      batchesSent: 3,
      bytesSent: 300,
      sendFailures: 0,
      headersDropped: { buffer_full: 4 },
      lastBatchSeq: 2n,
      headersSent: 5,
    });
    expect(row).toMatchObject({
      ts: '2023-11-14T22:13:20.000001Z',
      sensor: 'tap-1',
      packets: 10,
      tcp_headers: 9,
      kernel_drops: 1,
      kernel_if_drops: 2,
      parse_errors: { truncated_record: 1 },
      batches: 3,
      bytes: 300,
      headers_sent: 5,
      agent_drops: { buffer_full: 4 },
      last_batch_seq: 2,
    });
  });
});
