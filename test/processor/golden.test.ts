// Golden output of the flow tracker and classifier, Zeek btest style: a capture in, NDJSON out, compared by
// sha256 with committed digests (golden.digests.json). Covers `rstwatch analyze --format ndjson` (RST
// events) and `--flows` (flow records) on the sample capture, several kernel scenario captures and three
// tracegen shapes (default mix, a busy tap with many concurrent connections, few long connections).
//
// A change of digest means the engine's output changed. The tracegen captures are regenerated here, so
// their own digest is checked first: when it differs, tracegen changed (not the engine) and the golden
// outputs must be re-recorded from a build known to be equivalent:
//   UPDATE_GOLDEN=1 pnpm vitest run --project integration test/processor/golden.test.ts
// RSTWATCH_CLI points the test at another build (e.g. the commit before a refactor).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTrace, type TraceOptions } from '@rstwatch/tracegen';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CLI = process.env.RSTWATCH_CLI ?? join(ROOT, 'services/cli/dist/main.js');
const DIGESTS = join(ROOT, 'test/processor/golden.digests.json');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const FIXTURES = [
  'test/fixtures/sample.pcap',
  'test/fixtures/scenarios/closed_port_v4.pcap',
  'test/fixtures/scenarios/connect_scan_v6.pcap',
  'test/fixtures/scenarios/injected_reset_v4.pcap',
  'test/fixtures/scenarios/reset_attack_v6.pcap',
  'test/fixtures/scenarios/idle_timeout_v4.pcap',
  'test/fixtures/scenarios/app_abort_server_v6.pcap',
  'test/fixtures/scenarios/malformed_syn_v4.pcap',
  'test/fixtures/scenarios/firewall_reject_v6.pcap',
  'test/fixtures/scenarios/backlog_overflow_v4.pcap',
];

const SHAPES: Record<string, Omit<TraceOptions, 'out'>> = {
  'tracegen-default': { packets: 200_000, seed: 1 },
  'tracegen-busy': { packets: 300_000, seed: 7, concurrentFlows: 60_000 },
  'tracegen-few-long': { packets: 150_000, seed: 3, concurrentFlows: 40, ipv6Share: 0.5, vlanShare: 0.3 },
};

interface Digest {
  capture: string;
  events: string;
  flows: string;
  eventLines: number;
  flowLines: number;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const lines = (s: string) => (s === '' ? 0 : s.trimEnd().split('\n').length);

const work = mkdtempSync(join(tmpdir(), 'rstwatch-golden-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const committed: Record<string, Digest> = existsSync(DIGESTS)
  ? (JSON.parse(readFileSync(DIGESTS, 'utf8')) as Record<string, Digest>)
  : {};
const recorded: Record<string, Digest> = {};

function analyze(name: string, pcap: string, extra: string[] = []): Digest {
  const flowsOut = join(work, `${name}.flows.ndjson`);
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'analyze',
      pcap,
      '--format',
      'ndjson',
      '--flows',
      flowsOut,
      '--sensor-id',
      'golden',
      '--no-progress',
      ...extra,
    ],
    { maxBuffer: 1 << 30, encoding: 'utf8' },
  );
  expect(r.status, `${name}: ${r.stderr}`).toBe(0);
  const flows = readFileSync(flowsOut, 'utf8');
  return {
    capture: sha256(readFileSync(pcap)),
    events: sha256(r.stdout),
    flows: sha256(flows),
    eventLines: lines(r.stdout),
    flowLines: lines(flows),
  };
}

function check(name: string, got: Digest): void {
  recorded[name] = got;
  if (UPDATE) return;
  const want = committed[name];
  expect(want, `${name}: no committed digest (record with UPDATE_GOLDEN=1)`).toBeDefined();
  expect(got.capture, `${name}: the capture itself changed (tracegen or fixture), re-record`).toBe(
    want!.capture,
  );
  expect(got, `${name}: engine output differs from the golden output`).toEqual(want);
}

describe('golden NDJSON of rstwatch analyze (events and flow records)', () => {
  for (const rel of FIXTURES) {
    const name = rel
      .split('/')
      .pop()!
      .replace(/\.pcap$/, '');
    it(name, () => check(name, analyze(name, join(ROOT, rel))));
  }

  for (const [name, opts] of Object.entries(SHAPES)) {
    it(name, async () => {
      const out = join(work, `${name}.pcap`);
      await generateTrace({ ...opts, out });
      check(name, analyze(name, out));
    });
  }

  // The busy shape again through a table far too small (evictions, slot reuse) and through two engines
  // in worker threads (state attached from shared memory).
  it('tracegen-busy-evicting', () => {
    const cfg = join(work, 'small-table.yaml');
    writeFileSync(cfg, 'classifier:\n  maxFlows: 1024\n  maxHosts: 512\n');
    check(
      'tracegen-busy-evicting',
      analyze('tracegen-busy-evicting', join(work, 'tracegen-busy.pcap'), ['-c', cfg]),
    );
  });
  it('tracegen-busy-shards', () => {
    check(
      'tracegen-busy-shards',
      analyze('tracegen-busy-shards', join(work, 'tracegen-busy.pcap'), ['--shards', '2']),
    );
  });
});

// Re-recording is not a test: with UPDATE_GOLDEN=1 the digests of this run are written at the end.
afterAll(() => {
  if (UPDATE) writeFileSync(DIGESTS, `${JSON.stringify(recorded, null, 2)}\n`);
});
