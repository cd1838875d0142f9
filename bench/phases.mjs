#!/usr/bin/env node
// Where one engine's CPU goes, per phase, on each traffic shape: decoding the wire batches, processing
// them (`processBatch`), and ending the flows still open at the end (`finish`), as a processor worker
// runs them (flow records as binary rows). Each run is a fresh engine over the shape's capture (parsed
// and encoded up front, untimed); one untimed warm-up run, then --runs runs, medians printed:
//
//   <shape>.decode_ms, <shape>.process_ms, <shape>.finish_ms (CPU, user + system), <shape>.system_ms (the
//   kernel's share of the three: page faults on the tables' fresh memory), <shape>.process_ns_per_header,
//   <shape>.finish_ns_per_flow, <shape>.flows_created, <shape>.flows_at_finish
//
// With --profile, V8's sampling profiler runs over each run's `finish` (or, `--profile process`, over
// its `processBatch` calls) and the functions with the most self time are printed, as shares of the
// samples: `<shape>.profile.<rank>=<percent> <function> <file>:<line>`.
//
//   node bench/phases.mjs [--shapes light,c100k,c1m,tap] [--packets 2000000] [--seed 1] [--runs 3]
//                         [--batch 4096] [--profile [finish|process]] [--top 12]
import { Session } from 'node:inspector/promises';
import { Engine } from '../packages/classify/dist/index.js';
import { HeaderColumns } from '../packages/core/dist/index.js';
import { decodeHeaderBatch } from '../packages/wire/dist/index.js';
import { parseBenchArgs } from './args.mjs';
import { encodeCapture } from './encode.mjs';
import { parseShapeList, SHAPES, shapeFile } from './shapes.mjs';

const { values } = parseBenchArgs(import.meta.url, {
  options: {
    shapes: { type: 'string', default: 'light,c100k,c1m,tap' },
    packets: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '4096' },
    profile: { type: 'string' },
    top: { type: 'string', default: '12' },
  },
  args: process.argv.slice(2).flatMap((a, i, all) =>
    // `--profile` with no phase: finish.
    a === '--profile' && (i + 1 >= all.length || all[i + 1].startsWith('--')) ? ['--profile', 'finish'] : [a],
  ),
});
const profile = values.profile ?? null;
if (profile !== null && profile !== 'finish' && profile !== 'process') {
  process.stderr.write(`bench/phases.mjs: --profile takes finish or process, not '${profile}'\n`);
  process.exit(2);
}
const RUNS = Math.max(1, Number(values.runs));
const BATCH = Number(values.batch);
const ROWS = { flows: 'rows' };
const log = (s) => process.stderr.write(`# ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const session = profile !== null ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
}

/** Self samples by function of one profile, added to `into`. */
function addProfile(into, p) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const id of p.samples) {
    const f = byId.get(id).callFrame;
    const where = `${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    into.set(key, (into.get(key) ?? 0) + 1);
  }
}

/** One fresh engine over `msgs`: CPU ms per phase, flows, and (profiling) the samples of the phase. */
async function runOnce(msgs, maxFlows, samples) {
  const engine = Engine.create(maxFlows ? { maxFlows } : {});
  const cols = HeaderColumns.allocate(BATCH + 16);
  let decode = 0;
  let processMs = 0;
  const sys0 = process.cpuUsage().system;
  if (samples && profile === 'process') await session.post('Profiler.start');
  for (const m of msgs) {
    const a = cpuMs();
    const { columns } = decodeHeaderBatch(m, cols);
    const b = cpuMs();
    engine.processBatch(columns, 'bench', ROWS);
    decode += b - a;
    processMs += cpuMs() - b;
  }
  if (samples && profile === 'process') addProfile(samples, (await session.post('Profiler.stop')).profile);
  const atFinish = engine.tracker.active;
  if (samples && profile === 'finish') await session.post('Profiler.start');
  const a = cpuMs();
  engine.finish(ROWS);
  const finish = cpuMs() - a;
  const system = (process.cpuUsage().system - sys0) / 1000;
  if (samples && profile === 'finish') addProfile(samples, (await session.post('Profiler.stop')).profile);
  const s = engine.stats();
  return {
    decode,
    process: processMs,
    finish,
    system,
    headers: s.headers,
    created: s.flows_created,
    atFinish,
  };
}

for (const name of parseShapeList(values.shapes)) {
  const file = await shapeFile(name, Number(values.packets), Number(values.seed), log);
  const msgs = await encodeCapture(file, BATCH);
  const maxFlows = SHAPES[name].maxFlows;
  await runOnce(msgs, maxFlows, null);
  const samples = profile !== null ? new Map() : null;
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await runOnce(msgs, maxFlows, samples));
  const out = (k, v) => console.log(`${name}.${k}=${v}`);
  const last = runs[runs.length - 1];
  const processMs = median(runs.map((x) => x.process));
  const finishMs = median(runs.map((x) => x.finish));
  out('headers', last.headers);
  out('decode_ms', Math.round(median(runs.map((x) => x.decode))));
  out('process_ms', Math.round(processMs));
  out('finish_ms', Math.round(finishMs));
  out('system_ms', Math.round(median(runs.map((x) => x.system))));
  out('process_ns_per_header', Math.round((processMs * 1e6) / last.headers));
  out('flows_created', last.created);
  out('flows_at_finish', last.atFinish);
  if (last.atFinish > 0) out('finish_ns_per_flow', Math.round((finishMs * 1e6) / last.atFinish));
  if (samples) {
    const total = [...samples.values()].reduce((x, y) => x + y, 0);
    const top = [...samples].sort((x, y) => y[1] - x[1]).slice(0, Number(values.top));
    for (const [i, [k, n]] of top.entries())
      out(`profile.${i + 1}`, `${((100 * n) / total).toFixed(1)} ${k}`);
  }
}
