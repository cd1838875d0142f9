#!/usr/bin/env node
// Cold engine cost, one thread: a fresh engine over a whole capture in a fresh process (as analyze's
// worker runs it), optionally after a throwaway engine has run the capture's first --warm batches
// (the best warm-up there can be: the same traffic). Prints the warm-up time, the run time, their
// total, and the run time per 250k headers (the first slices show the not-yet-optimised code).
// Run it several times alternating --warm values: one process measures one cold start.
//
//   node bench/warmup.mjs [--file PCAP] [--warm 0] [--batch 8192]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../packages/classify/dist/index.js';
import { HeaderColumns } from '../packages/core/dist/index.js';
import { parseCaptureFile } from '../packages/packet/dist/index.js';
import { parseBenchArgs } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    file: { type: 'string', default: join(root, 'bench/out/analyze-2000000-s1.pcap') },
    warm: { type: 'string', default: '0' },
    batch: { type: 'string', default: '8192' },
  },
});
const warm = Number(values.warm);
const batches = [];
await parseCaptureFile(values.file, {
  batchSize: Number(values.batch),
  onBatch: (b) => {
    const c = HeaderColumns.allocate(b.length);
    for (let i = 0; i < b.length; i++) c.copyFrom(b, i);
    batches.push(c);
  },
});
const t0 = performance.now();
if (warm > 0) {
  const w = Engine.create({});
  for (let k = 0; k < Math.min(warm, batches.length); k++) w.processBatch(batches[k], 'warm');
  w.finish();
}
const t1 = performance.now();
const engine = Engine.create({});
const slices = [];
let headers = 0;
let sliceStart = t1;
for (const b of batches) {
  engine.processBatch(b, 'bench');
  headers += b.length;
  if (headers >= (slices.length + 1) * 250_000) {
    const now = performance.now();
    slices.push(Math.round(now - sliceStart));
    sliceStart = now;
  }
}
engine.finish();
const t2 = performance.now();
console.log(`node=${process.version}`);
console.log(`headers=${headers}`);
console.log(`warm_batches=${warm}`);
console.log(`warm_ms=${Math.round(t1 - t0)}`);
console.log(`run_ms=${Math.round(t2 - t1)}`);
console.log(`total_ms=${Math.round(t2 - t0)}`);
console.log(`run_ms_per_250k=${slices.join(',')}`);
