#!/usr/bin/env node
// Whole-process `rstwatch analyze` against tshark and tcpdump on one generated capture. Each tool runs
// as its own process on the same file (page cache warmed first), R runs each, interleaved, median
// reported. Prints name=value lines (see docs in bench/README.md):
//   packets, analyze_ms, tshark_ms, tcpdump_ms, headers_per_s, ratio_vs_tshark (tshark / analyze,
//   target >= 10), ratio_vs_tcpdump (analyze / tcpdump, target <= 3), rsts, flows,
//   analyze_shards_ms + shards_speedup (`--shards N` engines in parallel vs the default single engine;
//   N = --shards, default the CPU count; the sharded output can differ, see bench/README.md).
//
//   suricata_ms / suricata_cpu_ms / suricata_max_rss_kb and ratio_vs_suricata_cpu (suricata CPU /
//   analyze CPU = analyze's packets per CPU-second / Suricata's, target >= 2) when `suricata` is installed
//   (infra/install-suricata.sh): `suricata -c bench/out/suricata-bench.yaml -r FILE --runmode single
//   -k none`, no rules, outputs off; analyze_max_rss_kb; fixed_cost_ms (analyze of a 1,000-packet
//   tracegen file, target <= 200), timed in every run.
//   node_floor_cpu_ms (bench/node-floor.mjs: this Node starting, reading the file and walking its
//   records, nothing else) and node_start_cpu_ms (`node -e 0`), timed in every run; with Suricata,
//   suricata_budget_cpu_ms (half its CPU: what analyze may spend for the 2x target), floor_share_of_budget
//   and budget_after_floor_ns_per_packet (that budget less the floor and analyze's start-up beyond Node's,
//   per packet: what is left for decoding, the engine and the output).
//   --shapes [light,c100k,c1m,tap]: the same per traffic shape (bench/shapes.mjs), every figure
//   prefixed with the shape (`c100k.ratio_vs_suricata_cpu=...`); shards off unless --shards is given.
//
//   --fixed-only: the fixed cost alone, --runs times (default 12), alternating the CLI as built
//   (dist/main.js, the bundle) with the same program unbundled (dist/rstwatch.js) and a bare
//   `node -e 0`: fixed_cost_ms, unbundled_fixed_cost_ms, node_start_ms and their _cpu_ms.
//
//   pnpm bench:analyze [--packets 2000000] [--file PCAP] [--runs 3] [--seed 1] [--no-tshark]
//                      [--shards N] [--no-shards] [--no-suricata] [--shapes [LIST]] [--fixed-only]
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.mjs';
import { parseShapeList, SHAPES, shapeFile } from './shapes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'services/cli/dist/main.js');
const nodeFloor = join(root, 'bench/node-floor.mjs');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    packets: { type: 'string', default: '2000000' },
    file: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    'no-tshark': { type: 'boolean', default: false },
    shards: { type: 'string' },
    'no-shards': { type: 'boolean', default: false },
    'no-suricata': { type: 'boolean', default: false },
    shapes: { type: 'string' },
    'fixed-only': { type: 'boolean', default: false },
  },
  args: process.argv.slice(2).flatMap((a, i, all) =>
    // `--shapes` with no list: the default shapes.
    a === '--shapes' && (i + 1 >= all.length || all[i + 1].startsWith('--')) ? ['--shapes', ''] : [a],
  ),
});
const runs = Math.max(1, Number(values['fixed-only'] && values.runs === '3' ? 12 : values.runs));
const log = (s) => process.stderr.write(`# ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const outDir = join(root, 'bench/out');
mkdirSync(outDir, { recursive: true });

/** A tracegen capture (default options) of `packets` packets in bench/out, generated when missing. */
async function tracegenFile(packets, seed) {
  const file = join(outDir, `analyze-${packets}-s${seed}.pcap`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    const { generateTrace } = await import('../packages/tracegen/dist/index.js');
    const tmp = `${file}.tmp`;
    await generateTrace({ out: tmp, packets, seed });
    spawnSync('mv', [tmp, file]);
    log(`generated ${file} in ${Math.round(performance.now() - t0)} ms`);
  }
  return file;
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
      args = ['-f', '%U %S %M', '-o', rusage, cmd, ...args];
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
      let rssKb = Number.NaN;
      if (gnuTime && existsSync(rusage)) {
        const [u, sy, m] = readFileSync(rusage, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        cpuMs = (u + sy) * 1000;
        rssKb = m;
        rmSync(rusage, { force: true });
      }
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ ms, cpuMs, rssKb, out, lines, err });
    });
  });
}

const gnuTime = existsSync('/usr/bin/time');
const hasTool = (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
const tshark = !values['no-tshark'] && hasTool('tshark');
const tcpdump = hasTool('tcpdump');
const suricata = !values['no-suricata'] && hasTool('suricata');
const shapes = values.shapes !== undefined ? parseShapeList(values.shapes) : null;
// Shards compared only when asked for in shapes mode (the default is one engine; see bench/README.md).
const shards = Number(values.shards ?? (shapes ? 1 : availableParallelism()));
const compareShards = !values['no-shards'] && shards > 1;

// Suricata as a no-rules peer: decode, flow table and TCP stream tracking; no rule files, no outputs;
// memcaps and hash sized for 1M+ flows so it never enters emergency mode on the busy shapes.
const suricataDir = join(outDir, 'suricata-log');
const suricataYaml = join(outDir, 'suricata-bench.yaml');
if (suricata) {
  mkdirSync(suricataDir, { recursive: true });
  writeFileSync(
    suricataYaml,
    `%YAML 1.1
---
# Written by bench/analyze.mjs: Suricata 7 as a peer with no rules and no outputs.
vars:
  address-groups:
    HOME_NET: "any"
    EXTERNAL_NET: "any"
  port-groups:
    HTTP_PORTS: "80"
default-log-dir: ${suricataDir}
default-rule-path: ${suricataDir}
rule-files: []
outputs:
  - eve-log:
      enabled: no
  - fast:
      enabled: no
  - stats:
      enabled: no
stats:
  enabled: no
logging:
  default-log-level: notice
  outputs:
    - console:
        enabled: yes
    - file:
        enabled: no
unix-command:
  enabled: no
pcap-file:
  checksum-checks: no
flow:
  memcap: 2gb
  hash-size: 262144
  prealloc: 10000
  emergency-recovery: 30
stream:
  memcap: 2gb
  checksum-validation: no
  reassembly:
    memcap: 4gb
    depth: 1mb
defrag:
  memcap: 256mb
host:
  memcap: 256mb
`,
  );
}

// Warm the page cache so the first tool does not pay for disk reads the others don't.
function warm(file) {
  return new Promise((res, rej) =>
    createReadStream(file)
      .on('data', () => {})
      .on('end', res)
      .on('error', rej),
  );
}

/** The Node that runs this bench runs every `analyze` (`node bench/analyze.mjs` with Node 24: Node 24). */
const NODE = process.execPath;
const analyzeCmd = (file, extra = '', bin = cli) =>
  `"${NODE}" "${bin}" analyze "${file}" --format ndjson --no-progress${extra} > /dev/null`;

// Fixed cost: `analyze` of a 1,000-packet capture, timed once in every run of every file.
const fixedFile = await tracegenFile(1000, 1);
const fixedMs = [];
const fixedCpuMs = [];

/** Every figure of one capture, printed with `prefix`; `env` reaches every analyze run. */
async function benchFile(file, prefix, env = {}) {
  await warm(file);
  // Counting run (not timed): events from ndjson, flows from --flows, headers from the table summary.
  const flowsFile = join(outDir, `analyze-flows-${process.pid}.ndjson`);
  const counting = await timed(
    NODE,
    [cli, 'analyze', file, '--format', 'ndjson', '--no-progress', '--flows', flowsFile],
    { ndjsonCount: true, env },
  );
  let flows = 0;
  {
    const buf = readFileSync(flowsFile);
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) flows++;
    rmSync(flowsFile, { force: true });
  }
  const table = await timed(NODE, [cli, 'analyze', file, '--format', 'table', '--no-progress'], {
    collect: true,
    env,
  });
  const hm = /([\d,]+)\s+(TCP )?headers/i.exec(table.out);
  const headers = hm ? Number(hm[1].replaceAll(',', '')) : Number.NaN;
  log(`${prefix}counting run: ${counting.lines} events, ${flows} flows, ${headers} headers`);

  const t = { analyze: [], w1: [], tshark: [], tcpdump: [], suricata: [] };
  const cpu = { analyze: [], w1: [], tshark: [], tcpdump: [], suricata: [], floor: [], start: [] };
  const rss = { analyze: [], suricata: [] };
  const paired = { tshark: [], tcpdump: [], suricataCpu: [] };
  let suricataPackets = Number.NaN;
  for (let r = 0; r < runs; r++) {
    const a = await timed('sh', ['-c', analyzeCmd(file)], { env });
    t.analyze.push(a.ms);
    cpu.analyze.push(a.cpuMs);
    rss.analyze.push(a.rssKb);
    if (compareShards) {
      const w = await timed('sh', ['-c', analyzeCmd(file, ` --shards ${shards}`)], { env });
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
    if (suricata) {
      const x = await timed(
        'suricata',
        [...['-c', suricataYaml, '-l', suricataDir, '-r', file], ...['--runmode', 'single', '-k', 'none']],
        { collect: true },
      );
      t.suricata.push(x.ms);
      cpu.suricata.push(x.cpuMs);
      rss.suricata.push(x.rssKb);
      paired.suricataCpu.push(x.cpuMs / a.cpuMs);
      const m = /read 1 file, (\d+) packets/.exec(x.out + x.err);
      if (m) suricataPackets = Number(m[1]);
    }
    if (gnuTime) {
      cpu.floor.push((await timed(NODE, [nodeFloor, file])).cpuMs);
      cpu.start.push((await timed(NODE, ['-e', '0'])).cpuMs);
    }
    const f = await timed('sh', ['-c', analyzeCmd(fixedFile)]);
    fixedMs.push(f.ms);
    fixedCpuMs.push(f.cpuMs);
    log(
      `${prefix}run ${r + 1}/${runs}: analyze ${Math.round(a.ms)} ms (cpu ${Math.round(a.cpuMs)})` +
        (t.w1.length ? `, analyze(--shards ${shards}) ${Math.round(t.w1.at(-1))} ms` : '') +
        (tshark ? `, tshark ${Math.round(t.tshark.at(-1))} ms` : '') +
        (tcpdump ? `, tcpdump ${Math.round(t.tcpdump.at(-1))} ms` : '') +
        (suricata
          ? `, suricata ${Math.round(t.suricata.at(-1))} ms (cpu ${Math.round(cpu.suricata.at(-1))})`
          : '') +
        `, fixed ${Math.round(f.ms)} ms`,
    );
  }

  const out = (k, v) => console.log(`${prefix}${k}=${v}`);
  const analyzeMs = median(t.analyze);
  out('file', file);
  out('packets', Number.isFinite(headers) ? headers : values.packets);
  if (env.RSTWATCH_CLASSIFIER__MAX_FLOWS) out('max_flows', env.RSTWATCH_CLASSIFIER__MAX_FLOWS);
  out('analyze_ms', Math.round(analyzeMs));
  if (tshark) out('tshark_ms', Math.round(median(t.tshark)));
  if (tcpdump) out('tcpdump_ms', Math.round(median(t.tcpdump)));
  if (suricata) out('suricata_ms', Math.round(median(t.suricata)));
  if (Number.isFinite(headers)) out('headers_per_s', Math.round(headers / (analyzeMs / 1000)));
  if (tshark) out('ratio_vs_tshark', (median(t.tshark) / analyzeMs).toFixed(2));
  if (tcpdump) out('ratio_vs_tcpdump', (analyzeMs / median(t.tcpdump)).toFixed(2));
  if (t.w1.length) {
    out('shards', shards);
    out('analyze_shards_ms', Math.round(median(t.w1)));
    out('shards_speedup', (analyzeMs / median(t.w1)).toFixed(2));
  }
  // Same figures from CPU time (robust to other load) and as the median of per-run ratios.
  if (gnuTime) {
    out('analyze_cpu_ms', Math.round(median(cpu.analyze)));
    if (Number.isFinite(headers))
      out('headers_per_cpu_s', Math.round(headers / (median(cpu.analyze) / 1000)));
    if (cpu.w1.length) out('analyze_shards_cpu_ms', Math.round(median(cpu.w1)));
    if (tshark) out('tshark_cpu_ms', Math.round(median(cpu.tshark)));
    if (tcpdump) out('tcpdump_cpu_ms', Math.round(median(cpu.tcpdump)));
    if (suricata) out('suricata_cpu_ms', Math.round(median(cpu.suricata)));
    if (tshark) out('cpu_ratio_vs_tshark', (median(cpu.tshark) / median(cpu.analyze)).toFixed(2));
    if (tcpdump) out('cpu_ratio_vs_tcpdump', (median(cpu.analyze) / median(cpu.tcpdump)).toFixed(2));
    if (suricata) {
      // analyze's packets per CPU-second / Suricata's (same packets): target >= 2.
      out('ratio_vs_suricata_cpu', (median(cpu.suricata) / median(cpu.analyze)).toFixed(2));
      out('paired_ratio_vs_suricata_cpu', median(paired.suricataCpu).toFixed(2));
    }
    // What any design run by this Node must spend, against what the 2x target leaves (bench/README.md).
    out('node_floor_cpu_ms', Math.round(median(cpu.floor)));
    out('node_start_cpu_ms', Math.round(median(cpu.start)));
    if (suricata) {
      const budget = median(cpu.suricata) / 2;
      out('suricata_budget_cpu_ms', Math.round(budget));
      out('floor_share_of_budget', (median(cpu.floor) / budget).toFixed(2));
      if (Number.isFinite(headers)) {
        // Left per packet once the file is read and analyze has started (its fixed cost beyond Node's).
        const startUp = Math.max(0, median(fixedCpuMs) - median(cpu.start));
        const left = budget - median(cpu.floor) - startUp;
        out('budget_after_floor_ns_per_packet', Math.round((left * 1e6) / headers));
      }
    }
    out('analyze_max_rss_kb', Math.round(median(rss.analyze)));
    if (suricata) {
      out('suricata_max_rss_kb', Math.round(median(rss.suricata)));
      out('rss_ratio_vs_suricata', (median(rss.analyze) / median(rss.suricata)).toFixed(2));
    }
  }
  if (tshark) out('paired_ratio_vs_tshark', median(paired.tshark).toFixed(2));
  if (tcpdump) out('paired_ratio_vs_tcpdump', median(paired.tcpdump).toFixed(2));
  if (suricata) out('suricata_packets', suricataPackets);
  out('rsts', counting.lines);
  out('flows', flows);
}

// The Node that runs `analyze` (the first `node` on PATH): figures differ a lot between release lines.
console.log(`node=${process.version}`);
if (suricata)
  console.log(
    `suricata=${/version (\S+)/.exec(spawnSync('suricata', ['-V'], { encoding: 'utf8' }).stdout)?.[1]}`,
  );
console.log('analyze_shards_default=1');
console.log(`runs=${runs}`);
if (values['fixed-only']) {
  await fixedOnly();
  process.exit(0);
}
if (shapes) {
  for (const name of shapes) {
    const file = await shapeFile(name, Number(values.packets), Number(values.seed), log);
    const mf = SHAPES[name].maxFlows;
    await benchFile(file, `${name}.`, mf ? { RSTWATCH_CLASSIFIER__MAX_FLOWS: String(mf) } : {});
  }
} else {
  const file = values.file ?? (await tracegenFile(Number(values.packets), Number(values.seed)));
  if (!existsSync(file)) {
    console.error(`bench/analyze: no such file ${file}`);
    process.exit(2);
  }
  await benchFile(file, '');
}
console.log(`fixed_cost_ms=${Math.round(median(fixedMs))}`);
if (gnuTime) console.log(`fixed_cost_cpu_ms=${Math.round(median(fixedCpuMs))}`);

/** `--fixed-only`: bundled, unbundled and bare Node start, alternating, medians of `runs`. */
async function fixedOnly() {
  const unbundled = join(root, 'services/cli/dist/rstwatch.js');
  const series = {
    fixed_cost: analyzeCmd(fixedFile),
    unbundled_fixed_cost: analyzeCmd(fixedFile, '', unbundled),
    node_start: `"${NODE}" -e 0`,
  };
  const ms = Object.fromEntries(Object.keys(series).map((k) => [k, []]));
  const cpuMs = Object.fromEntries(Object.keys(series).map((k) => [k, []]));
  await timed('sh', ['-c', analyzeCmd(fixedFile)]);
  for (let r = 0; r < runs; r++) {
    for (const [k, cmd] of Object.entries(series)) {
      const x = await timed('sh', ['-c', cmd]);
      ms[k].push(x.ms);
      cpuMs[k].push(x.cpuMs);
    }
    log(
      `run ${r + 1}/${runs}: ${Object.keys(series)
        .map((k) => `${k} ${Math.round(ms[k].at(-1))} ms`)
        .join(', ')}`,
    );
  }
  for (const k of Object.keys(series)) {
    console.log(`${k}_ms=${Math.round(median(ms[k]))}`);
    if (gnuTime) console.log(`${k}_cpu_ms=${Math.round(median(cpuMs[k]))}`);
  }
}
