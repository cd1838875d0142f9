#!/usr/bin/env node
// Summary of the CPU profiles one `node --cpu-prof --cpu-prof-dir=DIR ...` run writes (one per thread):
// per thread, when it started (ms after the first thread), its sampled time, its idle time (`(idle)`
// and Piscina's `atomicsWaitLoop`, where a worker waits for its next task) and the functions with the
// most self time. Used in bench/README.md ("Session 5") to see where `analyze`'s worker waits:
//
//   node --cpu-prof --cpu-prof-dir=/tmp/p services/cli/dist/main.js analyze FILE --format ndjson > /dev/null
//   node bench/cpuprofile.mjs /tmp/p [--top 15]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBenchArgs } from './args.mjs';

const { values, positionals } = parseBenchArgs(import.meta.url, {
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' } },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/cpuprofile.mjs DIR [--top N]\n');
  process.exit(2);
}
const dir = positionals[0];
let files = [];
try {
  files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
} catch (err) {
  process.stderr.write(`bench/cpuprofile: ${err.message}\n`);
  process.exit(3);
}
if (files.length === 0) {
  process.stderr.write(`bench/cpuprofile: no .cpuprofile files in ${dir}\n`);
  process.exit(3);
}
const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const t0 = Math.min(...profiles.map((p) => p.startTime));
const IDLE = new Set(['(idle)', 'atomicsWaitLoop']);
profiles.forEach((p, k) => {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    const dt = p.timeDeltas[i];
    const name = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
    if (IDLE.has(n.callFrame.functionName)) idle += dt;
  }
  const ms = (us) => Math.round(us / 1000);
  console.log(
    `thread=${k} file=${files[k]} start_ms=${ms(p.startTime - t0)} sampled_ms=${ms(total)} idle_ms=${ms(idle)}`,
  );
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
    console.log(`  ${String(ms(us)).padStart(6)} ms  ${name}`);
});
