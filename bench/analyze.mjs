#!/usr/bin/env node
// Whole-process `rstwatch analyze` against tshark and tcpdump on one generated capture. Each tool runs
// as its own process on the same file (page cache warmed first), R runs each, interleaved, median
// reported. Prints name=value lines (see docs in bench/README.md):
//   packets, analyze_ms, tshark_ms, tcpdump_ms, headers_per_s, ratio_vs_tshark (tshark / analyze,
//   target >= 10), ratio_vs_tcpdump (analyze / tcpdump, target <= 3), rsts, flows,
//   analyze_shards_ms + shards_speedup (`--shards N` engines in parallel vs the default single engine;
//   N = --shards, default the CPU count; the sharded output can differ, see bench/README.md).
//
//   pnpm bench:analyze [--packets 2000000] [--file PCAP] [--runs 3] [--seed 1] [--no-tshark]
//                      [--shards N] [--no-shards]
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
    shards: { type: 'string', default: String(availableParallelism()) },
    'no-shards': { type: 'boolean', default: false },
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
function timed(cmd0, args0, { env, collect = false, ndjsonCount = false } = {}) {
  let cmd = cmd0;
  let args = args0;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // CPU time (user + sys of the tool and its threads/children) via GNU time: far less sensitive to
    // other load on a shared machine than wall time.
    const rusage = join(tmpdir(), `rstwatch-bench-analyze-${process.pid}.time`);
    if (gnuTime) {
      args = ['-f', '%U %S', '-o', rusage, cmd, ...args];
      cmd = '/usr/bin/time';
    }
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
      let cpuMs = Number.NaN;
      if (gnuTime && existsSync(rusage)) {
        const [u, sy] = readFileSync(rusage, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        cpuMs = (u + sy) * 1000;
        rmSync(rusage, { force: true });
      }
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ ms, cpuMs, out, lines, err });
    });
  });
}

const gnuTime = existsSync('/usr/bin/time');
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

const shards = Number(values.shards);
const compareShards = !values['no-shards'] && shards > 1;
const t = { analyze: [], w1: [], tshark: [], tcpdump: [] };
const cpu = { analyze: [], w1: [], tshark: [], tcpdump: [] };
const paired = { tshark: [], tcpdump: [] };
for (let r = 0; r < runs; r++) {
  const a = await timed('sh', [
    '-c',
    `node "${cli}" analyze "${file}" --format ndjson --no-progress > /dev/null`,
  ]);
  t.analyze.push(a.ms);
  cpu.analyze.push(a.cpuMs);
  if (compareShards) {
    const w = await timed('sh', [
      '-c',
      `node "${cli}" analyze "${file}" --format ndjson --no-progress --shards ${shards} > /dev/null`,
    ]);
    t.w1.push(w.ms);
    cpu.w1.push(w.cpuMs);
  }
  if (tshark) {
    const x = await timed('tshark', ['-r', file, '-q', '-z', 'conv,tcp']);
    t.tshark.push(x.ms);
    cpu.tshark.push(x.cpuMs);
    paired.tshark.push(x.ms / a.ms);
  }
  if (tcpdump) {
    const x = await timed('tcpdump', ['-r', file, '-w', '/dev/null']);
    t.tcpdump.push(x.ms);
    cpu.tcpdump.push(x.cpuMs);
    paired.tcpdump.push(a.ms / x.ms);
  }
  log(
    `run ${r + 1}/${runs}: analyze ${Math.round(a.ms)} ms` +
      (t.w1.length ? `, analyze(--shards ${shards}) ${Math.round(t.w1.at(-1))} ms` : '') +
      (tshark ? `, tshark ${Math.round(t.tshark.at(-1))} ms` : '') +
      (tcpdump ? `, tcpdump ${Math.round(t.tcpdump.at(-1))} ms` : ''),
  );
}

const analyzeMs = median(t.analyze);
console.log(`file=${file}`);
// The Node that runs `analyze` (the first `node` on PATH): figures differ a lot between release lines.
console.log(`node=${spawnSync('node', ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
console.log(`packets=${Number.isFinite(headers) ? headers : values.packets}`);
console.log('analyze_shards_default=1');
console.log(`analyze_ms=${Math.round(analyzeMs)}`);
if (tshark) console.log(`tshark_ms=${Math.round(median(t.tshark))}`);
if (tcpdump) console.log(`tcpdump_ms=${Math.round(median(t.tcpdump))}`);
if (Number.isFinite(headers)) console.log(`headers_per_s=${Math.round(headers / (analyzeMs / 1000))}`);
if (tshark) console.log(`ratio_vs_tshark=${(median(t.tshark) / analyzeMs).toFixed(2)}`);
if (tcpdump) console.log(`ratio_vs_tcpdump=${(analyzeMs / median(t.tcpdump)).toFixed(2)}`);
if (t.w1.length) {
  console.log(`shards=${shards}`);
  console.log(`analyze_shards_ms=${Math.round(median(t.w1))}`);
  console.log(`shards_speedup=${(analyzeMs / median(t.w1)).toFixed(2)}`);
}
// Same figures from CPU time (robust to other load) and as the median of per-run ratios.
if (gnuTime) {
  console.log(`analyze_cpu_ms=${Math.round(median(cpu.analyze))}`);
  if (cpu.w1.length) console.log(`analyze_shards_cpu_ms=${Math.round(median(cpu.w1))}`);
  if (tshark) console.log(`tshark_cpu_ms=${Math.round(median(cpu.tshark))}`);
  if (tcpdump) console.log(`tcpdump_cpu_ms=${Math.round(median(cpu.tcpdump))}`);
  if (tshark) console.log(`cpu_ratio_vs_tshark=${(median(cpu.tshark) / median(cpu.analyze)).toFixed(2)}`);
  if (tcpdump) console.log(`cpu_ratio_vs_tcpdump=${(median(cpu.analyze) / median(cpu.tcpdump)).toFixed(2)}`);
}
if (tshark) console.log(`paired_ratio_vs_tshark=${median(paired.tshark).toFixed(2)}`);
if (tcpdump) console.log(`paired_ratio_vs_tcpdump=${median(paired.tcpdump).toFixed(2)}`);
console.log(`rsts=${counting.lines}`);
console.log(`flows=${flows}`);
console.log(`runs=${runs}`);
