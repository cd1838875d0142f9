#!/usr/bin/env node
// Runs every benchmark in sequence with small sizes (a quick run, not the figures in bench/README.md),
// prefixing each output line with the bench name (`analyze.ratio_vs_tshark=...`). Exits non-zero if a
// bench fails or is missing. `pnpm bench` builds first.
//
//   node bench/run-all.mjs [--only parse,analyze] [--full]   (--full: each bench's own default sizes)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseBenchArgs(import.meta.url, {
  options: { only: { type: 'string' }, full: { type: 'boolean', default: false } },
});

/** name, script, quick-run arguments; `optional` benches are skipped when their script is absent. */
const BENCHES = [
  ['parse', 'parse.mjs', ['--packets', '200000', '--runs', '3']],
  ['wire', 'wire.mjs', ['--runs', '3']],
  ['classifier', 'classifier.mjs', ['--packets', '500000', '--runs', '3']],
  ['analyze', 'analyze.mjs', ['--packets', '300000', '--runs', '3']],
  ['pipeline', 'pipeline.mjs', ['--packets', '300000', '--latency-packets', '300000']],
  ['insert', 'insert.mjs', ['--events', '20000', '--runs', '3'], { optional: true }],
];
const only = values.only ? new Set(values.only.split(',')) : null;

function run(name, script, args) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (stream, out) => {
      let buf = '';
      stream.on('data', (d) => {
        buf += d;
        let i = buf.indexOf('\n');
        while (i >= 0) {
          out.write(`${name}.${buf.slice(0, i)}\n`);
          buf = buf.slice(i + 1);
          i = buf.indexOf('\n');
        }
      });
      stream.on('end', () => {
        if (buf) out.write(`${name}.${buf}\n`);
      });
    };
    prefix(p.stdout, process.stdout);
    prefix(p.stderr, process.stderr);
    p.on('error', (err) => {
      process.stderr.write(`${name}: ${err.message}\n`);
      resolve(1);
    });
    p.on('close', (code, signal) => {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      process.stderr.write(`# ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code ?? signal})`} in ${s} s\n`);
      resolve(code ?? 1);
    });
  });
}

const failed = [];
for (const [name, script, quick, opts = {}] of BENCHES) {
  if (only && !only.has(name)) continue;
  if (!existsSync(join(here, script))) {
    if (opts.optional) {
      process.stderr.write(`# ${name}: skipped (bench/${script} not present)\n`);
      continue;
    }
    process.stderr.write(`# ${name}: FAILED (bench/${script} missing)\n`);
    failed.push(name);
    continue;
  }
  const code = await run(name, script, values.full ? [] : quick);
  if (code !== 0) failed.push(name);
}
if (failed.length > 0) {
  process.stderr.write(`# failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
