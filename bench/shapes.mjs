#!/usr/bin/env node
// Traffic shapes every performance figure is quoted on (performance.md: never one shape only), and a
// driver that runs the classifier and analyze benches over them.
//
// As a module: SHAPES, parseShapeList(), shapeFile() (generates bench/out/<shape file> with
// @rstwatch/tracegen when missing; deterministic, reused by later runs).
// As a script: `node bench/shapes.mjs [--shapes light,c100k,c1m,tap] [--packets N] [--runs R]
//   [--no-classifier] [--no-analyze] [--no-tshark]` runs `classifier.mjs --shapes` then `analyze.mjs
//   --shapes` with the same options, their name=value lines prefixed `classifier.` / `analyze.`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/**
 * name -> tracegen options (besides packets/seed), the engine's maxFlows for that shape (null: the
 * default, 262,144) and a one-line description. Connection counts are for 2M packets, seed 1.
 *
 * tracegen starts its first `concurrentFlows` connections over a ramp (default min(2 s, C x 100 us));
 * each active connection sends ~170 packets per second of capture time, so 2M packets of 100k
 * connections cover ~0.1 s and most of a 2 s ramp would never start. The busy shapes therefore use a
 * short ramp: the concurrency is reached within the file.
 */
export const SHAPES = {
  light: {
    trace: {},
    maxFlows: null,
    about: 'tracegen default: 5,000 concurrent, default mix; ~20k connections of ~100 packets',
  },
  c100k: {
    trace: { concurrentFlows: 100_000, rampUs: 50_000 },
    maxFlows: null,
    about:
      '100,000 concurrent (all started in the first 50 ms), default mix; ~94k connections of ~21 packets',
  },
  c1m: {
    trace: { concurrentFlows: 1_000_000, rampUs: 2_000 },
    maxFlows: 1_048_576,
    about:
      '1,000,000 concurrent (started in the first 2 ms), default mix; ~0.7M connections of ~3 packets: ' +
      'handshake-dominated, every packet a table miss; engine maxFlows 1,048,576',
  },
  tap: {
    trace: { concurrentFlows: 20_000, rampUs: 100_000, mix: 'medium', snaplen: 96 },
    maxFlows: null,
    about:
      'realistic tap (issue 14): snaplen 96, IPv4/IPv6/802.1Q mixed, medium mix, 20,000 concurrent; ' +
      '~109k connections of ~18 packets, 1.6% RSTs',
  },
};

export const DEFAULT_SHAPES = 'light,c100k,c1m,tap';

export function parseShapeList(s) {
  const names = (s === true || s === undefined || s === '' ? DEFAULT_SHAPES : s).split(',').filter(Boolean);
  for (const n of names)
    if (!SHAPES[n]) throw new Error(`unknown shape '${n}' (known: ${Object.keys(SHAPES).join(', ')})`);
  return names;
}

/**
 * The capture of shape `name` with `packets` packets and `seed`, generated when missing. `light` is the
 * file the non-shape benches use (`analyze-<packets>-s<seed>.pcap`).
 */
export async function shapeFile(name, packets, seed, log = () => {}) {
  const outDir = join(root, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  const file =
    name === 'light'
      ? join(outDir, `analyze-${packets}-s${seed}.pcap`)
      : join(outDir, `shape-${name}-${packets}-s${seed}.pcap`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    const { generateTrace } = await import('../packages/tracegen/dist/index.js');
    const tmp = `${file}.tmp`;
    const s = await generateTrace({ out: tmp, packets, seed, ...SHAPES[name].trace });
    renameSync(tmp, file);
    log(
      `generated ${file} in ${Math.round(performance.now() - t0)} ms: ${s.flows} connections, ` +
        `${s.rsts} RSTs (${((100 * s.rsts) / Math.max(1, s.packets)).toFixed(2)}%)`,
    );
  }
  return file;
}

function runBench(name, script, args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(here, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        process.stdout.write(`${name}.${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
    p.on('close', (code) => resolve(code ?? 1));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseBenchArgs(import.meta.url, {
    options: {
      shapes: { type: 'string', default: DEFAULT_SHAPES },
      packets: { type: 'string', default: '2000000' },
      runs: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      'no-classifier': { type: 'boolean', default: false },
      'no-analyze': { type: 'boolean', default: false },
      'no-tshark': { type: 'boolean', default: false },
    },
  });
  const common = [
    '--shapes',
    values.shapes,
    '--packets',
    values.packets,
    '--runs',
    values.runs,
    '--seed',
    values.seed,
  ];
  let failed = 0;
  if (!values['no-classifier'])
    failed += (await runBench('classifier', 'classifier.mjs', [...common, '--random-packets', '0'])) !== 0;
  if (!values['no-analyze'])
    failed +=
      (await runBench('analyze', 'analyze.mjs', [
        ...common,
        ...(values['no-tshark'] ? ['--no-tshark'] : []),
      ])) !== 0;
  process.exit(failed ? 1 : 0);
}
