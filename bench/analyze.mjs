#!/usr/bin/env node
// Whole-process `rstwatch analyze` against tshark and tcpdump on one generated capture. Each tool runs
// as its own process on the same file (page cache warmed first), R runs each, interleaved, median
// reported. Prints name=value lines (see docs in bench/README.md):
//   packets, analyze_ms, tshark_ms, tcpdump_ms, headers_per_s, ratio_vs_tshark (tshark / analyze,
//   target >= 10), ratio_vs_tcpdump (analyze / tcpdump, target <= 3), rsts, flows,
//   analyze_w1_ms + workers_speedup (default worker count vs RSTWATCH_PROCESSOR__WORKERS=1).
//
//   pnpm bench:analyze [--packets 2000000] [--file PCAP] [--runs 3] [--seed 1] [--no-tshark]
//                      [--no-workers1] [--cpu]
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'services/cli/dist/main.js');
const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '2000000' },
    file: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    'no-tshark': { type: 'boolean', default: false },
    'no-workers1': { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(values.runs));
const log = (s) => process.stderr.write(`# ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let file = values.file;
if (!file) {
  const outDir = join(root, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  file = join(outDir, `analyze-${values.packets}-s${values.seed}.pcap`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    const { generateTrace } = await import('../packages/tracegen/dist/index.js');
    const tmp = `${file}.tmp`;
    await generateTrace({ out: tmp, packets: Number(values.packets), seed: Number(values.seed) });
    spawnSync('mv', [tmp, file]);
    log(`generated ${file} in ${Math.round(performance.now() - t0)} ms`);
  }
}
if (!existsSync(file)) {
  console.error(`bench/analyze: no such file ${file}`);
  process.exit(2);
}

/** Runs a command with stdout going to a sink; returns wall ms and the collected stdout (if asked). */
function timed(cmd, args, { env, collect = false, ndjsonCount = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', collect || ndjsonCount ? 'pipe' : 'ignore', 'pipe'],
    });
    let out = '';
    let lines = 0;
    let err = '';
    if (collect) p.stdout.on('data', (d) => (out += d));
    // Counting newlines costs the reader a little CPU; only used on the one counting run.
    if (ndjsonCount)
      p.stdout.on('data', (d) => {
        for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
      });
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ ms, out, lines, err });
    });
  });
}

const hasTool = (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
const tshark = !values['no-tshark'] && hasTool('tshark');
const tcpdump = hasTool('tcpdump');

// Warm the page cache so the first tool does not pay for disk reads the others don't.
await new Promise((res, rej) =>
  createReadStream(file)
    .on('data', () => {})
    .on('end', res)
    .on('error', rej),
);

// Counting run (not timed): events from ndjson, flows from --flows, headers from the table summary.
const flowsFile = join(root, 'bench/out', `analyze-flows-${process.pid}.ndjson`);
mkdirSync(dirname(flowsFile), { recursive: true });
const counting = await timed(
  'node',
  [cli, 'analyze', file, '--format', 'ndjson', '--no-progress', '--flows', flowsFile],
  {
    ndjsonCount: true,
  },
);
let flows = 0;
{
  const buf = readFileSync(flowsFile);
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) flows++;
  rmSync(flowsFile, { force: true });
}
const table = await timed('node', [cli, 'analyze', file, '--format', 'table', '--no-progress'], {
  collect: true,
});
const hm = /([\d,]+)\s+(TCP )?headers/i.exec(table.out);
const headers = hm ? Number(hm[1].replaceAll(',', '')) : Number.NaN;
log(`counting run: ${counting.lines} events, ${flows} flows, ${headers} headers`);

const workersDefault = Number(process.env.RSTWATCH_PROCESSOR__WORKERS ?? availableParallelism());
const t = { analyze: [], w1: [], tshark: [], tcpdump: [] };
for (let r = 0; r < runs; r++) {
  const a = await timed('sh', [
    '-c',
    `node "${cli}" analyze "${file}" --format ndjson --no-progress > /dev/null`,
  ]);
  t.analyze.push(a.ms);
  if (!values['no-workers1'] && workersDefault !== 1) {
    const w = await timed(
      'sh',
      ['-c', `node "${cli}" analyze "${file}" --format ndjson --no-progress > /dev/null`],
      { env: { RSTWATCH_PROCESSOR__WORKERS: '1' } },
    );
    t.w1.push(w.ms);
  }
  if (tshark) t.tshark.push((await timed('tshark', ['-r', file, '-q', '-z', 'conv,tcp'])).ms);
  if (tcpdump) t.tcpdump.push((await timed('tcpdump', ['-r', file, '-w', '/dev/null'])).ms);
  log(
    `run ${r + 1}/${runs}: analyze ${Math.round(a.ms)} ms` +
      (t.w1.length ? `, analyze(1 worker) ${Math.round(t.w1.at(-1))} ms` : '') +
      (tshark ? `, tshark ${Math.round(t.tshark.at(-1))} ms` : '') +
      (tcpdump ? `, tcpdump ${Math.round(t.tcpdump.at(-1))} ms` : ''),
  );
}

const analyzeMs = median(t.analyze);
console.log(`file=${file}`);
console.log(`packets=${Number.isFinite(headers) ? headers : values.packets}`);
console.log(`workers=${workersDefault}`);
console.log(`analyze_ms=${Math.round(analyzeMs)}`);
if (tshark) console.log(`tshark_ms=${Math.round(median(t.tshark))}`);
if (tcpdump) console.log(`tcpdump_ms=${Math.round(median(t.tcpdump))}`);
if (Number.isFinite(headers)) console.log(`headers_per_s=${Math.round(headers / (analyzeMs / 1000))}`);
if (tshark) console.log(`ratio_vs_tshark=${(median(t.tshark) / analyzeMs).toFixed(2)}`);
if (tcpdump) console.log(`ratio_vs_tcpdump=${(analyzeMs / median(t.tcpdump)).toFixed(2)}`);
if (t.w1.length) {
  console.log(`analyze_w1_ms=${Math.round(median(t.w1))}`);
  console.log(`workers_speedup=${(median(t.w1) / analyzeMs).toFixed(2)}`);
}
console.log(`rsts=${counting.lines}`);
console.log(`flows=${flows}`);
console.log(`runs=${runs}`);
