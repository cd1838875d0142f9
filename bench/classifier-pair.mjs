#!/usr/bin/env node
// Classifier engines of several built trees, side by side in one process: for an A/B of an engine change
// on a machine too noisy for separate invocations. Each DIR is a copy of the repository with its packages
// built (`cp -a` of a worktree, then the dist of the variant); the first is the reference. Per shape, the
// capture is parsed and encoded once (as in classifier.mjs), every engine runs once untimed, then --runs
// rounds run each engine once (a fresh engine over every batch, then finish), the order reversed every
// other round. Prints per shape and DIR the median and best headers per CPU-second and the median of the
// per-round ratios to the reference, which cancels most of the load that comes and goes between rounds.
//
// Give a second copy of the reference among the DIRs as a control: its ratio is the noise floor. On the
// 2-core machine shared with other work, an identical copy measured 0.95-1.01 over 12 rounds per shape
// (0.98-1.14 over 8); the prefetch and record-interning variants tried for issue 14 all stayed inside it.
//
// The flows and events of every engine are checked against the reference's (exit 1 when they differ).
//
//   node bench/classifier-pair.mjs [--shapes c1m,c100k] [--runs 12] [--packets 2000000] [--seed 1] DIR...
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeaderColumns } from '../packages/core/dist/index.js';
import { decodeHeaderBatch } from '../packages/wire/dist/index.js';
import { parseBenchArgs } from './args.mjs';
import { encodeCapture } from './encode.mjs';
import { parseShapeList, SHAPES, shapeFile } from './shapes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseBenchArgs(import.meta.url, {
  allowPositionals: true,
  options: {
    shapes: { type: 'string', default: 'c1m,c100k' },
    runs: { type: 'string', default: '12' },
    packets: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '4096' },
  },
});
if (positionals.length < 2) {
  process.stderr.write('usage: node bench/classifier-pair.mjs [options] REFERENCE_DIR DIR...\n');
  process.exit(2);
}
const RUNS = Number(values.runs);
const BATCH = Number(values.batch);
const log = (m) => process.stderr.write(`# ${m}\n`);
const dirs = positionals.map((d) => resolve(root, d));
const engines = [];
for (const d of dirs) engines.push((await import(join(d, 'packages/classify/dist/index.js'))).Engine);

/**
 * Flow records as the processor's workers ask for them (binary rows; a copy built before rows existed
 * takes this as `true`, objects).
 */
const ROWS = { flows: 'rows' };

/** One run of `Engine` over `msgs`: headers per CPU-second, flows and events. */
function runOnce(Engine, msgs, config) {
  const engine = Engine.create(config);
  const cols = HeaderColumns.allocate(BATCH + 16);
  let flows = 0;
  let events = 0;
  const c0 = process.cpuUsage();
  for (const m of msgs) {
    const out = engine.processBatch(decodeHeaderBatch(m, cols).columns, 'bench', ROWS);
    flows += out.flows.length + (out.rows?.count ?? 0);
    events += out.events.length;
  }
  const fin = engine.finish(ROWS);
  const c1 = process.cpuUsage(c0);
  const s = engine.stats();
  return {
    hpcs: (s.headers / (c1.user + c1.system)) * 1e6,
    flows: flows + fin.flows.length + (fin.rows?.count ?? 0),
    events: events + fin.events.length,
  };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
let differ = false;
console.log(`node=${process.version}`);
console.log(`runs=${RUNS}`);
for (const name of parseShapeList(values.shapes)) {
  const file = await shapeFile(name, Number(values.packets), Number(values.seed), log);
  const msgs = await encodeCapture(file, BATCH);
  const config = SHAPES[name].maxFlows ? { maxFlows: SHAPES[name].maxFlows } : {};
  const ref = runOnce(engines[0], msgs, config);
  for (let k = 1; k < engines.length; k++) {
    const r = runOnce(engines[k], msgs, config);
    if (r.flows !== ref.flows || r.events !== ref.events) {
      log(
        `${name}: ${dirs[k]} gives ${r.flows} flows ${r.events} events, reference ${ref.flows} ${ref.events}`,
      );
      differ = true;
    }
  }
  const rates = engines.map(() => []);
  for (let round = 0; round < RUNS; round++) {
    for (let j = 0; j < engines.length; j++) {
      const k = round % 2 === 0 ? j : engines.length - 1 - j;
      rates[k].push(runOnce(engines[k], msgs, config).hpcs);
    }
  }
  console.log(`${name}.flows=${ref.flows}`);
  console.log(`${name}.events=${ref.events}`);
  for (let k = 0; k < engines.length; k++) {
    const p = `${name}.${k}.`;
    console.log(`${p}dir=${dirs[k]}`);
    console.log(`${p}headers_per_cpu_s=${Math.round(median(rates[k]))}`);
    console.log(`${p}headers_per_cpu_s_best=${Math.round(Math.max(...rates[k]))}`);
    console.log(`${p}paired_ratio=${median(rates[k].map((r, i) => r / rates[0][i])).toFixed(3)}`);
  }
}
process.exit(differ ? 1 : 0);
