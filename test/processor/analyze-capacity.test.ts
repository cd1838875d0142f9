// `rstwatch analyze` says so when its flow table was too small for the capture (flows evicted before they
// ended), naming classifier.maxFlows and how to raise it; a table large enough says nothing. `rstwatch
// run` logs the same as a warning.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTrace } from '@rstwatch/tracegen';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', 'cli', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'rstwatch-capacity-'));
const pcap = join(dir, 'busy.pcap');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}
const analyze = (env: Record<string, string>) =>
  cli(['analyze', pcap, '--no-progress', '--format', 'ndjson'], env);

describe('rstwatch analyze: a flow table too small for the capture', () => {
  beforeAll(async () => {
    await generateTrace({ out: pcap, packets: 6000, seed: 5, concurrentFlows: 400 });
  });

  it('warns with the evictions, the table size and the setting to raise', () => {
    const stderr = analyze({ RSTWATCH_CLASSIFIER__MAX_FLOWS: '16' });
    const m = /: the flow table was full \(classifier\.maxFlows 16\): ([\d,]+) flows were ended early/.exec(
      stderr,
    );
    expect(m, stderr).not.toBeNull();
    expect(Number(m![1]!.replaceAll(',', ''))).toBeGreaterThan(100);
    expect(stderr).toContain('raise classifier.maxFlows (RSTWATCH_CLASSIFIER__MAX_FLOWS');
  });

  it('says nothing of the table when every connection fit', () => {
    expect(analyze({})).not.toMatch(/flow table/);
  });

  it('run logs a warning with the evictions and the table size', () => {
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        clickhouse: { url: 'embedded', embeddedPath: join(dir, 'chdb') },
        agent: { replaySpeed: 'max' },
        metrics: { enabled: false },
        alerts: { enabled: false },
        log: { level: 'warn', format: 'json' },
      }),
    );
    const stderr = cli(['run', '--pcap', pcap, '--config', config], { RSTWATCH_CLASSIFIER__MAX_FLOWS: '16' });
    const line = stderr.split('\n').find((l) => l.includes('the flow table was full'));
    expect(line, stderr).toBeDefined();
    const w = JSON.parse(line!) as { evictions: number; maxFlows: number };
    expect(w.maxFlows).toBe(16);
    expect(w.evictions).toBeGreaterThan(100);
  });
});
