// Issue 12, one component shape: each long-lived part of a service is `new X(config, deps, telemetry)`
// with `start()` and `stop(deadline)` (epoch ms, `@rstwatch/core`'s `Component`). Each one here is built
// over a dependency that hangs (a broker that never answers, a consumer that never disconnects, a sink
// that never closes, ...) and must still return from `stop` by the deadline, plus its documented grace.

import { createServer, type Server } from 'node:net';
import { Agent, BufferedSender, createAgentStats } from '@rstwatch/agent';
import { loadConfig } from '@rstwatch/config';
import { type Component, deadlineIn } from '@rstwatch/core';
import { fakeConsumer } from '@rstwatch/kafka/testing';
import {
  AlertForwarder,
  ConsumerLoop,
  DetectStage,
  EnginePool,
  LocalAlerts,
  LocalPipeline,
  ProcessorMetrics,
  UnitWriter,
} from '@rstwatch/processor';
import { Delivery } from '@rstwatch/sinks';
import { sampleAlerts } from '@rstwatch/sinks/testing';
import { RowWriter, type StoreClient } from '@rstwatch/store';
import { afterAll, describe, expect, it } from 'vitest';

const never = <T = void>(): Promise<T> => new Promise<T>(() => {});
const config = loadConfig({ env: {} });
const log = { debug() {}, info() {}, warn() {}, error() {} };
const aborted = AbortSignal.abort();

/** A consumer that starts at once and never finishes disconnecting. */
const hangingConsumer = () => fakeConsumer({ disconnect: () => never() });

/** A ClickHouse client whose inserts never return. */
const hangingClient = { insert: () => never(), url: 'hanging', database: 'x' } as unknown as StoreClient;

interface Case {
  /** Builds the component over a hanging dependency and gives it work that will not finish. */
  make: () => Promise<Component>;
  /** Time `stop` may take past its deadline on purpose (documented at the component). */
  graceMs?: number;
}

const cases: Record<string, Case> = {
  Agent: {
    // A capture source that ignores the abort, a broker that never answers; the final heartbeat gets 2 s.
    graceMs: 2000,
    make: async () => {
      const producer = { partitionsFor: async () => 1, send: () => never() };
      const agent = new Agent(
        {
          sensorId: 's',
          topic: 'h',
          statsTopic: 'st',
          maxHeaders: 10,
          maxBytes: 1e6,
          lingerMs: 10,
          bufferMaxBytes: 1e6,
          heartbeatIntervalS: 0,
        },
        {
          source: {
            describe: 'stuck',
            live: true,
            run: () => never(),
            parseStats: () => undefined as never,
            kernelStats: () => undefined,
          },
          producer,
          codec: { encodeHeaderBatch: () => new Uint8Array(1), encodeSensorStats: () => new Uint8Array(1) },
        },
        { logger: log },
      );
      await agent.start();
      return agent;
    },
  },
  BufferedSender: {
    make: async () => {
      const s = new BufferedSender(
        { topic: 't', bufferMaxBytes: 1e6 },
        { producer: { send: () => never() } },
        { stats: createAgentStats() },
      );
      await s.start();
      s.offer({ partition: 0, key: Buffer.alloc(4), value: Buffer.alloc(10), headers: 1, seq: 0n });
      return s;
    },
  },
  ConsumerLoop: {
    make: async () => {
      const loop = new ConsumerLoop(
        config,
        {
          kafka: {} as never,
          consumer: hangingConsumer(),
          dlq: {} as never,
          pool: { workers: 1 } as unknown as EnginePool,
          writer: {} as never,
          signal: aborted,
        },
        { metrics: new ProcessorMetrics(), log },
      );
      await loop.start();
      return loop;
    },
  },
  DetectStage: {
    make: async () => {
      const stage = new DetectStage(
        config,
        { consumer: hangingConsumer(), output: { write: () => never() }, signal: aborted },
        { log },
      );
      await stage.start();
      return stage;
    },
  },
  AlertForwarder: {
    make: async () => {
      const delivery = new Delivery({ undeliveredPath: '/nonexistent/u.ndjson' }, { sinks: [] });
      const f = new AlertForwarder(
        { topic: 'alerts' },
        { consumer: hangingConsumer(), delivery, signal: aborted },
        { log },
      );
      await f.start();
      return f;
    },
  },
  RowWriter: {
    make: async () => {
      const w = new RowWriter({ maxDelayMs: 1 }, { client: hangingClient });
      await w.start();
      w.insert({ token: 't', events: [], flows: [], sensorStats: [{} as never] }).catch(() => {});
      await new Promise((r) => setTimeout(r, 20)); // the insert is in flight
      return w;
    },
  },
  UnitWriter: {
    make: async () => {
      const w = new UnitWriter({}, { client: hangingClient });
      await w.start();
      w.write({ token: 't', events: [], flows: [], sensorStats: [{} as never] }).catch(() => {});
      return w;
    },
  },
  Delivery: {
    // The sinks are given what is left of the deadline to close, at least 1 s.
    graceMs: 1000,
    make: async () => {
      const d = new Delivery(
        { undeliveredPath: '/nonexistent/u.ndjson' },
        { sinks: [{ name: 'stuck', send: () => never(), close: () => never() }] },
      );
      await d.start();
      d.push(sampleAlerts(1)[0]!);
      return d;
    },
  },
  LocalPipeline: {
    // The embedded pipeline (`analyze`, `run`) over worker threads that never close.
    make: async () => {
      const threads = { workers: 1, sequential: true, piscina: {}, close: () => never() };
      const p = new LocalPipeline(
        { workers: 1, engine: { holdMs: 0 }, sensor: 's' },
        { onEvents: () => {}, onFlows: () => {}, threads: threads as never },
      );
      await p.start();
      return p;
    },
  },
  LocalAlerts: {
    // The embedded detectors; their webhook receiver accepts connections and never answers. The sinks
    // get at least 1 s to close (Delivery).
    graceMs: 1000,
    make: async () => {
      const port = await silentServer();
      const c = loadConfig({
        env: {},
        overrides: { alerts: { webhook: { url: `http://127.0.0.1:${port}/` } } },
      });
      const a = new LocalAlerts({ config: c }, {}, { log });
      await a.start();
      a.delivery.push(sampleAlerts(1)[0]!);
      return a;
    },
  },
  EnginePool: {
    make: async () => {
      const threads = { workers: 1, sequential: true, piscina: {}, close: () => never() };
      const pool = new EnginePool({ engine: {} }, { threads: threads as never });
      await pool.start();
      return pool;
    },
  },
};

/** A TCP server on 127.0.0.1 that takes connections and never answers; closed after the tests. */
const servers: Server[] = [];
async function silentServer(): Promise<number> {
  const server = createServer(() => {});
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}
afterAll(() => {
  for (const s of servers) {
    s.close();
    (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  }
});

describe('one component shape (issue 12)', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: start() and stop(deadline) return, stop by the deadline although a dependency hangs`, async () => {
      const component = await c.make();
      expect(typeof component.start).toBe('function');
      expect(typeof component.stop).toBe('function');
      const t0 = Date.now();
      const deadline = t0 + 300;
      const stopped = await Promise.race([
        component.stop(deadline).then(() => 'stopped'),
        new Promise((r) => setTimeout(() => r('still stopping'), 300 + (c.graceMs ?? 0) + 1500)),
      ]);
      expect(stopped).toBe('stopped');
      expect(Date.now() - t0).toBeLessThan(300 + (c.graceMs ?? 0) + 500);
      // Idempotent: a second stop returns too.
      await component.stop(deadlineIn(100));
    }, 10_000);
  }

  it('covers every component the issue names', () => {
    expect(Object.keys(cases).sort()).toEqual(
      [
        'Agent',
        'AlertForwarder',
        'BufferedSender',
        'ConsumerLoop',
        'Delivery',
        'DetectStage',
        'EnginePool',
        'LocalAlerts',
        'LocalPipeline',
        'RowWriter',
        'UnitWriter',
      ].sort(),
    );
  });
});
