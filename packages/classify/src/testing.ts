/** Test helpers for code that uses the Engine: the header builder of @rstwatch/flow plus a runner. */
import type { FlowRecord, HeaderColumns, RstEvent } from '@rstwatch/core';
import { splitBatches } from '@rstwatch/flow/testing';
import type { EngineConfig } from './config.js';
import { Engine } from './engine.js';

export * from '@rstwatch/flow/testing';

/** Run `cols` through a fresh engine in batches of `batch` and finish: all events and flow records. */
export function runEngine(
  cols: HeaderColumns,
  config: Partial<EngineConfig> = {},
  opts: { batch?: number; sensor?: string } = {},
): { events: RstEvent[]; flows: FlowRecord[]; engine: Engine } {
  const engine = Engine.create(config);
  const events: RstEvent[] = [];
  const flows: FlowRecord[] = [];
  for (const b of splitBatches(cols, opts.batch ?? 4096)) {
    const o = engine.processBatch(b, opts.sensor ?? 'test');
    events.push(...o.events);
    flows.push(...o.flows);
  }
  const o = engine.finish();
  events.push(...o.events);
  flows.push(...o.flows);
  return { events, flows, engine };
}
