#!/usr/bin/env node
// The detectors alone, per traffic shape: the RST events `rstwatch analyze` writes for the shape's
// capture (made once with the CLI, kept in bench/out/events-<shape>-<packets>-s<seed>.ndjson) go through
// a fresh `Detection` (the default alert rules, as `analyze` and `detect` run them), one untimed warm-up
// then --runs timed runs. Each run gets its own deep copy of the events (the detectors add evidence).
// In `analyze` this runs on the main thread beside the capture parser.
//
// Prints per shape: events, alert_versions, detect_ms (median), events_per_s, us_per_event.
//
//   node bench/detect.mjs [--shapes light,tap] [--packets 2000000] [--seed 1] [--runs 7]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detection } from '../packages/detect/dist/index.js';
import { detectionOptions } from '../packages/detect/dist/testing.js';
import { parseBenchArgs } from './args.mjs';
import { parseShapeList, shapeFile } from './shapes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseBenchArgs(import.meta.url, {
  options: {
    shapes: { type: 'string', default: 'light,tap' },
    packets: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '7' },
  },
});
const runs = Math.max(1, Number(values.runs));
const log = (m) => process.stderr.write(`# ${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The shape's events as `analyze --format ndjson` writes them (cached beside the capture). */
function eventsOf(shape, pcap) {
  const file = join(root, 'bench/out', `events-${shape}-${values.packets}-s${values.seed}.ndjson`);
  if (!existsSync(file)) {
    log(`${shape}: writing ${file} with rstwatch analyze`);
    const cli = join(root, 'services/cli/dist/main.js');
    const r = spawnSync(
      'sh',
      ['-c', `node "${cli}" analyze "${pcap}" --format ndjson --no-progress > "${file}.tmp"`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`rstwatch analyze ${pcap} exited ${r.status}`);
    renameSync(`${file}.tmp`, file);
  }
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** One run over a deep copy: milliseconds and alert versions. */
function once(events) {
  const copy = events.map((e) => ({ ...e, evidence: [...e.evidence] }));
  let versions = 0;
  const d = new Detection(detectionOptions({ onAlert: () => versions++ }));
  const t = performance.now();
  for (const e of copy) d.observe(e);
  d.finish();
  return { ms: performance.now() - t, versions };
}

console.log(`node=${process.version}`);
console.log(`runs=${runs}`);
for (const shape of parseShapeList(values.shapes)) {
  const events = eventsOf(shape, await shapeFile(shape, Number(values.packets), Number(values.seed), log));
  once(events);
  const r = Array.from({ length: runs }, () => once(events));
  const ms = median(r.map((x) => x.ms));
  const out = (k, v) => console.log(`${shape}.${k}=${v}`);
  out('events', events.length);
  out('alert_versions', r[0].versions);
  out('detect_ms', ms.toFixed(1));
  out('events_per_s', Math.round(events.length / (ms / 1000)));
  out('us_per_event', ((ms * 1000) / events.length).toFixed(2));
}
