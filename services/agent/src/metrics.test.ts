import type { CaptureSource } from '@rstwatch/capture';
import { createParseStats } from '@rstwatch/packet';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Agent } from './agent.js';
import { registerAgentMetrics } from './metrics.js';
import { FakeProducer } from './testing.js';

const idle: CaptureSource = {
  describe: 'idle',
  live: true,
  run: (_sink, signal) => new Promise<void>((r) => signal.addEventListener('abort', () => r())),
  parseStats: () => ({ ...createParseStats(), packets: 5 }),
  kernelStats: () => ({ received: 9, dropped: 3, ifDropped: 1 }),
};

describe('registerAgentMetrics', () => {
  it('exposes counters read at scrape time, drops by reason', async () => {
    const registry = new Registry();
    const agent = new Agent(
      {
        sensorId: 's',
        topic: 't',
        statsTopic: 'st',
        maxHeaders: 10,
        maxBytes: 1e6,
        lingerMs: 10,
        bufferMaxBytes: 1e6,
        heartbeatIntervalS: 0,
      },
      {
        source: idle,
        producer: new FakeProducer(1),
        codec: { encodeHeaderBatch: () => new Uint8Array(1), encodeSensorStats: () => new Uint8Array(1) },
      },
    );
    let current: Agent | undefined;
    registerAgentMetrics(registry, () => current);
    expect(await registry.metrics()).toContain('rstwatch_agent_packets_total 0');
    current = agent;
    await agent.start();
    agent.stats.headersDropped.buffer_full = 7;
    const text = await registry.metrics();
    expect(text).toContain('rstwatch_agent_packets_total 5');
    expect(text).toContain('rstwatch_agent_kernel_drops_total{kind="kernel"} 3');
    expect(text).toContain('rstwatch_agent_kernel_drops_total{kind="interface"} 1');
    expect(text).toContain('rstwatch_agent_headers_dropped_total{reason="buffer_full"} 7');
    expect(text).toContain('rstwatch_agent_producer_replacements_total{reason="producer_state"} 0');
    // A second scrape does not double-count.
    expect(await registry.metrics()).toContain(
      'rstwatch_agent_headers_dropped_total{reason="buffer_full"} 7',
    );
    await agent.stop();
  });
});
