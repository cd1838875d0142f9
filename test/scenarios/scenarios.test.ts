// Kernel-driven RST scenarios: replay every committed pcap of test/fixtures/scenarios through
// `rstwatch analyze --format ndjson` and compare each RST event with the ground-truth labels.
//
// The fixtures are generated (as root, in network namespaces) by `bash test/scenarios/generate.sh`
// and committed; this test never regenerates them. The first block checks, without the CLI, that
// every fixture is present, small, tracked by git and agrees packet-for-packet with its labels
// (a small pcap reader below, no tshark needed). The second block needs the built CLI
// (services/cli/dist/main.js) and fails with a readable expected-vs-got table.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAUSES, ORIGINS } from '@rstwatch/core';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'test/fixtures/scenarios');
const CLI = process.env.RSTWATCH_CLI ?? join(ROOT, 'services/cli/dist/main.js');

interface Label {
  index: number;
  frame: number;
  src: string;
  dst: string;
  seq: number;
  ack: number;
  flags: string;
  ttl: number;
  cause: string;
  origin: string;
  generated_by: string;
  why: string;
  /** Other `cause/origin` verdicts that are right too (origin unknown where the sender has no baseline). */
  acceptable?: string[];
}

interface Expected {
  scenario: string;
  description: string;
  capture_point: string;
  crafted: boolean;
  config: { idleTimeoutS?: number; [k: string]: unknown };
  rsts: Label[];
}

interface RstEvent {
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  seq: number;
  ack: number;
  flags: string;
  cause: string;
  origin: string;
  phase?: string;
  confidence?: number;
  evidence?: string[];
  [k: string]: unknown;
}

const fixtures: string[] = existsSync(FIXTURES)
  ? readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.expected.json'))
      .map((f) => f.slice(0, -'.expected.json'.length))
      .sort()
  : [];

function loadExpected(name: string): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as Expected;
}

/** Canonical text form of an address (IPv6 compressed, lower case) so that both sides compare equal. */
function canonIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (!bare.includes(':')) return bare;
  return new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, '');
}

function splitEndpoint(ep: string): { ip: string; port: number } {
  const i = ep.lastIndexOf(':');
  return { ip: canonIp(ep.slice(0, i)), port: Number(ep.slice(i + 1)) };
}

// ------------------------------------------------------------------------------ tiny pcap reader

const FLAG_LETTERS: Array<[number, string]> = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, '.'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];

interface WireRst {
  frame: number;
  src: string;
  dst: string;
  seq: number;
  ack: number;
  flags: string;
  ttl: number;
}

function ipv6Text(b: Buffer, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) parts.push(b.readUInt16BE(off + 2 * i).toString(16));
  return canonIp(parts.join(':'));
}

/** Every packet with the RST flag in a classic pcap (Ethernet, Linux cooked v1/v2 or raw IP). */
function readRsts(file: string): WireRst[] {
  const b = readFileSync(file);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${file}: not a classic pcap file`);
  }
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linktype = u32(20);
  const out: WireRst[] = [];
  let off = 24;
  let frame = 0;
  while (off + 16 <= b.length) {
    const incl = u32(off + 8);
    const start = off + 16;
    off = start + incl;
    frame++;
    let l3 = start;
    let ethertype: number;
    if (linktype === 1) {
      ethertype = b.readUInt16BE(start + 12);
      l3 = start + 14;
      while (ethertype === 0x8100 || ethertype === 0x88a8) {
        ethertype = b.readUInt16BE(l3 + 2);
        l3 += 4;
      }
    } else if (linktype === 113) {
      ethertype = b.readUInt16BE(start + 14);
      l3 = start + 16;
    } else if (linktype === 276) {
      ethertype = b.readUInt16BE(start);
      l3 = start + 20;
    } else if (linktype === 101 || linktype === 12) {
      ethertype = b[start]! >> 4 === 6 ? 0x86dd : 0x0800;
    } else {
      throw new Error(`${file}: unsupported link type ${linktype}`);
    }
    let src: string;
    let dst: string;
    let ttl: number;
    let l4: number;
    if (ethertype === 0x0800) {
      if (b[l3 + 9] !== 6) continue;
      ttl = b[l3 + 8]!;
      src = [...b.subarray(l3 + 12, l3 + 16)].join('.');
      dst = [...b.subarray(l3 + 16, l3 + 20)].join('.');
      l4 = l3 + (b[l3]! & 0x0f) * 4;
    } else if (ethertype === 0x86dd) {
      if (b[l3 + 6] !== 6) continue;
      ttl = b[l3 + 7]!;
      src = ipv6Text(b, l3 + 8);
      dst = ipv6Text(b, l3 + 24);
      l4 = l3 + 40;
    } else {
      continue;
    }
    if (l4 + 14 > off) continue;
    const fl = b[l4 + 13]!;
    if (!(fl & 0x04)) continue;
    const wrap = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
    out.push({
      frame,
      src: `${wrap(src)}:${b.readUInt16BE(l4)}`,
      dst: `${wrap(dst)}:${b.readUInt16BE(l4 + 2)}`,
      seq: b.readUInt32BE(l4 + 4),
      ack: b.readUInt32BE(l4 + 8),
      flags: FLAG_LETTERS.filter(([bit]) => fl & bit)
        .map(([, c]) => c)
        .join(''),
      ttl,
    });
  }
  return out;
}

// ------------------------------------------------------------------------------ readable tables

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(w[i]!)).join(' | ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('-+-'), ...rows.map(line)].join('\n');
}

function short(s: string, n = 70): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ------------------------------------------------------------------------------ tests

describe('scenario fixtures are committed and consistent (no regeneration needed)', () => {
  it('has fixtures', () => {
    expect(
      fixtures.length,
      `no *.expected.json in ${FIXTURES}; run bash test/scenarios/generate.sh`,
    ).toBeGreaterThan(10);
  });

  it('fixtures are tracked by git', () => {
    const inGit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--is-inside-work-tree'], { encoding: 'utf8' });
    if (inGit.status !== 0) return; // not a git checkout (e.g. a source tarball): nothing to check
    const tracked = new Set(
      execFileSync('git', ['-C', ROOT, 'ls-files', 'test/fixtures/scenarios'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean),
    );
    const missing = fixtures
      .flatMap((n) => [`${n}.pcap`, `${n}.expected.json`])
      .map((f) => `test/fixtures/scenarios/${f}`)
      .filter((f) => !tracked.has(f));
    expect(missing, 'generated but not committed').toEqual([]);
  });

  for (const name of fixtures) {
    it(`${name}: pcap and labels agree`, () => {
      const exp = loadExpected(name);
      const pcap = join(FIXTURES, `${name}.pcap`);
      expect(existsSync(pcap), `${pcap} missing`).toBe(true);
      expect(statSync(pcap).size).toBeLessThan(50_000);
      const wire = readRsts(pcap);
      const rows = wire.map((w, i) => {
        const l = exp.rsts[i];
        const ok =
          l !== undefined &&
          l.index === i &&
          splitEndpoint(l.src).ip === splitEndpoint(w.src).ip &&
          l.src.endsWith(`:${w.src.split(':').pop()}`) &&
          splitEndpoint(l.dst).ip === splitEndpoint(w.dst).ip &&
          l.seq === w.seq &&
          l.ack === w.ack &&
          l.flags === w.flags;
        return {
          ok,
          row: [String(i), `${w.src} > ${w.dst}`, `${w.flags} seq=${w.seq} ack=${w.ack}`, l ? 'yes' : 'NO'],
        };
      });
      const bad = rows.filter((r) => !r.ok);
      const msg = `\n${name}: RST packets in the pcap vs labels\n${table(
        ['#', 'packet', 'flags/seq/ack', 'labelled'],
        rows.map((r) => r.row),
      )}`;
      expect(bad.length, msg).toBe(0);
      expect(wire.length, msg).toBe(exp.rsts.length);
      for (const l of exp.rsts) {
        expect(CAUSES as readonly string[], `${name} #${l.index}`).toContain(l.cause);
        expect(ORIGINS as readonly string[], `${name} #${l.index}`).toContain(l.origin);
        expect(l.why.length).toBeGreaterThan(10);
        for (const alt of l.acceptable ?? []) {
          const [cause, origin] = alt.split('/');
          expect(CAUSES as readonly string[], `${name} #${l.index} ${alt}`).toContain(cause);
          expect(origin, `${name} #${l.index} ${alt}`).toBe('unknown');
        }
      }
      if (name.startsWith('firewall_reject_nobaseline')) {
        // The case of issue 11: a REJECT is the first packet in the server's name. Origin unknown is
        // right too; the server's closed port is not.
        for (const l of exp.rsts) {
          expect(`${l.cause}/${l.origin}`).toBe('firewall_reject/middlebox');
          expect(l.acceptable).toEqual(['firewall_reject/unknown', 'closed_port/unknown']);
        }
      }
    });
  }
});

describe('rstwatch analyze labels every scenario RST like the ground truth', () => {
  for (const name of fixtures) {
    it(name, () => {
      const exp = loadExpected(name);
      expect(
        existsSync(CLI),
        `${CLI} not built (pnpm --filter @rstwatch/cli build); expected to fail until the CLI is wired`,
      ).toBe(true);
      const args = [CLI, 'analyze', join(FIXTURES, `${name}.pcap`), '--format', 'ndjson'];
      if (exp.config.idleTimeoutS !== undefined) args.push('--idle-timeout', String(exp.config.idleTimeoutS));
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
      expect(r.status, `rstwatch ${args.slice(1).join(' ')} exited ${r.status}\n${r.stderr}`).toBe(0);
      const events = r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l, i) => {
          try {
            return JSON.parse(l) as RstEvent;
          } catch {
            throw new Error(`${name}: stdout line ${i + 1} is not JSON: ${short(l, 200)}`);
          }
        });
      const n = Math.max(events.length, exp.rsts.length);
      const rows: string[][] = [];
      let failures = 0;
      for (let i = 0; i < n; i++) {
        const l = exp.rsts[i];
        const e = events[i];
        let verdict = 'ok';
        if (!l) verdict = 'INVENTED (no such RST in the labels)';
        else if (!e) verdict = 'MISSED (no event)';
        else {
          const s = splitEndpoint(l.src);
          const d = splitEndpoint(l.dst);
          const samePacket =
            canonIp(String(e.src_ip)) === s.ip &&
            Number(e.src_port) === s.port &&
            canonIp(String(e.dst_ip)) === d.ip &&
            Number(e.dst_port) === d.port &&
            Number(e.seq) === l.seq;
          if (!samePacket) verdict = 'DIFFERENT PACKET';
          else if (
            (e.cause !== l.cause || e.origin !== l.origin) &&
            !l.acceptable?.includes(`${e.cause}/${e.origin}`)
          )
            verdict = 'WRONG LABEL';
          else if (name.startsWith('firewall_reject') && e.cause === 'closed_port' && e.origin === 'endpoint')
            verdict = 'REJECT TAKEN AS THE SERVER';
        }
        if (verdict !== 'ok') failures++;
        rows.push([
          String(i),
          l ? `${l.src} > ${l.dst} ${l.flags} seq=${l.seq}` : '-',
          l ? `${l.cause}/${l.origin}${l.acceptable ? ` (or ${l.acceptable.join(', ')})` : ''}` : '-',
          e ? `${e.cause}/${e.origin}${e.phase ? ` (${e.phase})` : ''}` : '-',
          e
            ? short(
                `${e.src_ip}:${e.src_port} seq=${e.seq} conf=${e.confidence ?? '?'} ${(e.evidence ?? []).join(',')}`,
                90,
              )
            : '-',
          verdict,
        ]);
      }
      const report = `\n${name}: ${exp.description}\ncapture: ${exp.capture_point}\n${table(
        ['#', 'RST (labelled)', 'expected cause/origin', 'got cause/origin', 'event evidence', 'verdict'],
        rows,
      )}\n${exp.rsts.map((l) => `  #${l.index} why: ${l.why}`).join('\n')}`;
      expect(failures, report).toBe(0);
      expect(events.length, report).toBe(exp.rsts.length);
    });
  }
});
