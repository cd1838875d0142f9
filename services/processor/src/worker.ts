/**
 * Piscina worker: runs the flow tracker and RST classifier over one batch of one partition (or shard).
 * Engine state lives in shared memory (SharedArrayBuffers; the host table in a shared WebAssembly
 * memory), so whichever worker takes a partition's next batch attaches to the same memory; the caller
 * keeps at most one batch per partition in flight, so no locks are needed.
 */

import { BroadcastChannel } from 'node:worker_threads';
import { Engine, type EngineShared, type SensorRealities } from '@rstwatch/classify';
import { HeaderColumns } from '@rstwatch/core';
import { concatFlowRows, type FlowRows } from '@rstwatch/flow';
import { type BatchResult, type EngineTask, RELEASE_CHANNEL } from './internal/tasks.js';

const attached = new Map<number, Engine>();

/** Per engine of a sequential pool: the `seq` of the task it must run next. */
const nextSeq = new Map<number, number>();

// The main thread broadcasts the ids of engines it released (revoked partitions, finished shards) so
// every worker drops its view and the shared memory can be collected.
const released = new BroadcastChannel(RELEASE_CHANNEL);
released.onmessage = (msg) => {
  const id = (msg as { data: number }).data;
  attached.delete(id);
  nextSeq.delete(id);
};
released.unref();

function engineFor(task: EngineTask): Engine {
  let e = attached.get(task.engineId);
  if (e === undefined) {
    e = Engine.attach(task.engine as EngineShared);
    attached.set(task.engineId, e);
  }
  return e;
}

/**
 * Process one task; returns the events and flow records it produced, in capture order. A numbered task
 * (sequential pool) must be its engine's next one: running it out of order would corrupt the engine's
 * state, so that is an error instead.
 */
export default function run(task: EngineTask): BatchResult {
  if (task.seq >= 0) {
    const want = nextSeq.get(task.engineId) ?? 0;
    if (task.seq !== want) {
      throw new Error(`engine ${task.engineId}: task ${task.seq} arrived before task ${want} (out of order)`);
    }
    nextSeq.set(task.engineId, want + 1);
  }
  return runTask(task);
}

function runTask(task: EngineTask): BatchResult {
  const engine = engineFor(task);
  const ended0 = engine.flowsEnded;
  const evicted0 = engine.evictions;
  // Records leave as binary rows: the main thread makes their text (and clones bytes, not objects).
  const opts = { emit: task.emit, flows: task.records ? ('rows' as const) : false };
  if (task.kind === 'finish') {
    const out = engine.finish(opts);
    return withRows(out.rows, {
      events: out.events,
      flows: out.flows,
      headers: 0,
      flowsEnded: engine.flowsEnded - ended0,
      evictions: engine.evictions - evicted0,
      checksums: { ...engine.stats().checksums, first_host: engine.offloadHost },
    });
  }
  if (task.kind === 'tick') {
    const out = engine.advanceTime(task.nowUs, opts);
    return withRows(out.rows, {
      events: out.events,
      flows: out.flows,
      headers: 0,
      flowsEnded: engine.flowsEnded - ended0,
      evictions: engine.evictions - evicted0,
    });
  }
  const cols = HeaderColumns.fromBuffer(task.buffer!, task.capacity, task.length);
  const before = engine.sensorRealities();
  const out = engine.processBatch(cols, task.sensor, opts);
  if (task.nowUs > 0) {
    const later = engine.advanceTime(task.nowUs, opts);
    for (const e of later.events) out.events.push(e);
    for (const f of later.flows) out.flows.push(f);
    if (later.rows) out.rows = out.rows ? concatFlowRows(out.rows, later.rows) : later.rows;
  }
  const result = withRows(out.rows, {
    events: out.events,
    flows: out.flows,
    headers: task.length,
    flowsEnded: engine.flowsEnded - ended0,
    evictions: engine.evictions - evicted0,
  });
  const sensors = realitiesSince(before, engine.sensorRealities());
  if (sensors !== null) result.sensors = sensors;
  return result;
}

/** What the counts of `now` added to those of `before`, by sensor; null when nothing changed. */
function realitiesSince(
  before: Record<string, SensorRealities>,
  now: Record<string, SensorRealities>,
): Record<string, SensorRealities> | null {
  let out: Record<string, SensorRealities> | null = null;
  for (const [sensor, n] of Object.entries(now)) {
    const b = before[sensor];
    const d = {
      duplicates: n.duplicates - (b?.duplicates ?? 0),
      reordered: n.reordered - (b?.reordered ?? 0),
      late: n.late - (b?.late ?? 0),
    };
    if (d.duplicates + d.reordered + d.late === 0) continue;
    out ??= {};
    out[sensor] = d;
  }
  return out;
}

function withRows(rows: FlowRows | undefined, r: BatchResult): BatchResult {
  if (rows) r.rows = rows;
  return r;
}
