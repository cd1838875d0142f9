// `rstwatch analyze` on a capture of which nothing could be decoded exits 3 (EXIT_INPUT), naming the link
// type or the drop reason and the count; a capture of which part could be decoded keeps exit 0.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TCP_RST } from '@rstwatch/core';
import { pcapFile, sampleTcpFrame } from '@rstwatch/packet/testing';
import { describe, expect, it } from 'vitest';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', 'cli', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'rstwatch-undecodable-'));

function analyze(name: string, bytes: Uint8Array) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const r = spawnSync(process.execPath, [CLI, 'analyze', '--no-progress', file], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

const frame = sampleTcpFrame({ flags: TCP_RST });
const rec = (f: Uint8Array, i: number) => ({ tsUs: 1_700_000_000_000_000 + i, frame: f });

describe('rstwatch analyze: undecodable captures', () => {
  it('exits 3 naming the link type when no packet has a link type rstwatch reads', () => {
    const r = analyze('user0.pcap', pcapFile(147, [rec(frame, 0), rec(frame, 1), rec(frame, 2)]));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no packet could be decoded \(3 packets: 3 of link type 147/);
  });

  it('exits 3 naming the reason when every packet was cut short', () => {
    const r = analyze(
      'runts.pcap',
      pcapFile(1, [rec(frame.subarray(0, 20), 0), rec(frame.subarray(0, 30), 1)]),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/2 packets: 2 snaplen_short/);
  });

  it('keeps exit 0 when part of the capture could be decoded', () => {
    const r = analyze('partly.pcap', pcapFile(1, [rec(frame.subarray(0, 20), 0), rec(frame, 1)]));
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/no packet could be decoded/);
  });
});
