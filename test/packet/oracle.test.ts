// Oracle test for @rstwatch/packet: every field of every TCP packet must agree with tshark's dissection of
// the same capture. Inputs: kernel-made captures in test/fixtures/packet/ (made by make-captures.sh: IPv4,
// IPv6 nanosecond pcap, VLAN/QinQ, SLL2 from `-i any`, two-interface pcapng from dumpcap, VXLAN), a
// scapy-built encapsulation capture (GRE, ERSPAN II/III, Geneve, MPLS, IPv6 extension headers, fragments),
// one capture per further link type and UDP tunnel (make-link-captures.py: FDDI, 802.11, radiotap, NFLOG,
// NULL, LOOP, PPP, PPP-in-HDLC, raw IP, IPv4, IPv6, GTP-U, Teredo, AYIYA), and Zeek's test traces when this
// clone has them (test/support/zeek-traces.ts; TCP packet counts and fields).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatAddr,
  OPT_MSS,
  OPT_SACK_BLOCKS,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  TUNNEL_NAMES,
} from '@rstwatch/core';
import { type ParseStats, parseCaptureFile } from '@rstwatch/packet';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZEEK_TRACES as ZEEK, ZEEK_TRACES_MISSING } from '../support/zeek-traces.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, '..', 'fixtures', 'packet');

// tshark fields, in output order. ip.* / ipv6.* take their last occurrence (the inner header of a
// tunnel), vlan.id its first (the outer tag).
const FIELDS = [
  'frame.time_epoch',
  'frame.protocols',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'ip.ttl',
  'ipv6.hlim',
  'ip.id',
  'ip.len',
  'ipv6.plen',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.len',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.options.sack_perm',
  'tcp.options.sack_le',
  'vlan.id',
  'ieee8021ad.id',
  'erspan.version',
  'ip.flags.mf',
  'ip.hdr_len',
  'tcp.hdr_len',
  'tcp.reset_cause',
] as const;
type Field = (typeof FIELDS)[number];

/** One TCP packet as both sides describe it, in a comparable shape. */
interface Row {
  tsUs: number;
  src: string;
  dst: string;
  ttl: number;
  ipId: number;
  ipLen: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number | null;
  flags: number;
  window: number;
  payloadLen: number;
  mss: number | null;
  wscale: number | null;
  tsVal: number | null;
  tsEcr: number | null;
  sackPerm: boolean;
  sackBlocks: boolean;
  vlan: number;
  tunnel: string;
  rstText: string | null;
}

/**
 * tshark finds UDP tunnels by port only; rstwatch also by content (as Zeek does). These "decode as" rules
 * tell tshark about the non-standard ports of the fixtures and traces that use them.
 */
const DECODE_AS: Record<string, string[]> = {
  'tunnel-gtpu.pcap': ['udp.port==40001,gtp'],
  'tunnel-teredo.pcap': ['udp.port==3797,teredo'],
  'tunnel-ayiya.pcap': ['udp.port==41000,ayiya'],
  'teredo.pcap': ['udp.port==3797,teredo'],
};

function tshark(file: string, filter = 'tcp'): Row[] {
  const args = ['-r', file, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE'];
  for (const d of DECODE_AS[file.slice(file.lastIndexOf('/') + 1)] ?? []) args.push('-d', d);
  args.push('-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-E', 'separator=/t');
  for (const f of FIELDS) args.push('-e', f);
  const text = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const cols = line.split('\t');
      const get = (f: Field) => cols[FIELDS.indexOf(f)] ?? '';
      const all = (f: Field) => (get(f) === '' ? [] : get(f).split('|'));
      const last = (f: Field) => all(f).at(-1) ?? '';
      const num = (s: string) => (s === '' ? null : Number(s));
      const v6 =
        get('frame.protocols').split(':').lastIndexOf('ipv6') >
        get('frame.protocols').split(':').lastIndexOf('ip');
      const [sec, frac = ''] = get('frame.time_epoch').split('.');
      const protos = get('frame.protocols').split(':');
      let tunnel = '';
      for (const p of protos) {
        if (
          p === 'gre' ||
          p === 'vxlan' ||
          p === 'geneve' ||
          p === 'teredo' ||
          p === 'ayiya' ||
          p === 'gtp'
        ) {
          tunnel = p === 'gtp' ? 'gtpu' : p;
          break;
        }
      }
      if (tunnel === 'gre' && protos.includes('erspan')) {
        tunnel = all('erspan.version')[0] === '2' ? 'erspan3' : 'erspan2';
      }
      const rst = get('tcp.reset_cause');
      return {
        tsUs: Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6)),
        src: v6 ? last('ipv6.src') : last('ip.src'),
        dst: v6 ? last('ipv6.dst') : last('ip.dst'),
        ttl: Number(v6 ? last('ipv6.hlim') : last('ip.ttl')),
        ipId: v6 ? 0 : Number(last('ip.id')),
        ipLen: v6 ? 40 + Number(last('ipv6.plen')) : Number(last('ip.len')),
        sport: Number(get('tcp.srcport')),
        dport: Number(get('tcp.dstport')),
        seq: Number(get('tcp.seq_raw')),
        ack: num(get('tcp.ack_raw')),
        flags: Number(get('tcp.flags')) & 0x1ff,
        window: Number(get('tcp.window_size_value')),
        // tshark cuts tcp.len at the fragment's end; we take it from the first fragment's IP length.
        payloadLen: all('ip.flags.mf').includes('1')
          ? Number(last('ip.len')) - Number(last('ip.hdr_len')) - Number(get('tcp.hdr_len'))
          : protos.includes('ipv6.fraghdr')
            ? -1
            : Number(get('tcp.len')),
        mss: num(get('tcp.options.mss_val')),
        wscale: num(get('tcp.options.wscale.shift')),
        tsVal: num(get('tcp.options.timestamp.tsval')),
        tsEcr: num(get('tcp.options.timestamp.tsecr')),
        sackPerm: get('tcp.options.sack_perm') !== '',
        sackBlocks: get('tcp.options.sack_le') !== '',
        // The outer tag: 802.1ad S-tag if present (tshark names it ieee8021ad.id), else the 802.1Q tag.
        vlan:
          all('ieee8021ad.id').length > 0
            ? Number(all('ieee8021ad.id')[0])
            : all('vlan.id').length > 0
              ? Number(all('vlan.id')[0])
              : 0,
        tunnel,
        rstText: rst === '' ? null : rst,
      };
    });
}

async function ours(file: string): Promise<{ rows: Row[]; stats: ParseStats }> {
  const rows: Row[] = [];
  const stats = await parseCaptureFile(file, {
    batchSize: 64,
    onBatch: (b) => {
      for (let i = 0; i < b.length; i++) {
        const o = b.optFlags[i]!;
        const v6 = b.ipVersion[i] === 6;
        const rl = b.rstPayloadLen[i]!;
        rows.push({
          tsUs: b.tsUs[i]!,
          src: formatAddr(b.srcAddr, i * 16),
          dst: formatAddr(b.dstAddr, i * 16),
          ttl: b.ttl[i]!,
          ipId: v6 ? 0 : b.ipId[i]!,
          ipLen: b.ipLen[i]!,
          sport: b.srcPort[i]!,
          dport: b.dstPort[i]!,
          seq: b.seq[i]!,
          ack: b.ack[i]!,
          flags: b.flags[i]!,
          window: b.window[i]!,
          payloadLen: b.payloadLen[i]!,
          mss: o & OPT_MSS ? b.mss[i]! : null,
          wscale: o & OPT_WSCALE ? b.wscale[i]! : null,
          tsVal: o & OPT_TIMESTAMPS ? b.tsVal[i]! : null,
          tsEcr: o & OPT_TIMESTAMPS ? b.tsEcr[i]! : null,
          sackPerm: (o & OPT_SACK_PERMITTED) !== 0,
          sackBlocks: (o & OPT_SACK_BLOCKS) !== 0,
          vlan: b.vlan[i]!,
          tunnel: TUNNEL_NAMES[b.tunnel[i]!] ?? '?',
          rstText:
            rl === 0 ? null : Buffer.from(b.rstPayload.subarray(i * 64, i * 64 + rl)).toString('latin1'),
        });
      }
    },
  });
  return { rows, stats };
}

/** Field-by-field differences (at most 20 listed), so a failure names packet and field. */
function compare(mine: Row[], theirs: Row[]): string[] {
  const diffs: string[] = [];
  if (mine.length !== theirs.length) diffs.push(`packet count: ours ${mine.length}, tshark ${theirs.length}`);
  const n = Math.min(mine.length, theirs.length);
  for (let i = 0; i < n && diffs.length < 20; i++) {
    const a = mine[i]!;
    const b = theirs[i]!;
    for (const k of Object.keys(b) as (keyof Row)[]) {
      let x = a[k];
      let y = b[k];
      // tshark omits the ack field when the ACK flag is clear (tshark 4.0 shows it anyway; both are fine).
      if (k === 'payloadLen' && y === -1) continue; // IPv6 first fragment: checked by unit tests
      if (k === 'ack' && (y === null || (b.flags & TCP_ACK) === 0)) continue;
      // tshark renders the reset cause as text; compare the printable prefix we keep (64 bytes).
      if (k === 'rstText') {
        if (y !== null && /^[\x20-\x7e]*$/.test(y as string)) y = (y as string).slice(0, 64);
        else continue;
      }
      if (k === 'src' || k === 'dst') {
        x = String(x).toLowerCase();
        y = String(y).toLowerCase();
      }
      if (x !== y) diffs.push(`packet ${i + 1} ${k}: ours ${JSON.stringify(x)}, tshark ${JSON.stringify(y)}`);
    }
  }
  return diffs;
}

beforeAll(() => {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'tshark is required for the packet oracle test: run infra/test-prereqs.sh (apt-get install tshark)',
    );
  }
});

const KERNEL_FIXTURES = [
  'kernel-v4.pcap',
  'kernel-v6-nano.pcap',
  'kernel-vlan.pcap',
  'kernel-any-sll2.pcap',
  'kernel-dumpcap.pcapng',
  'kernel-vxlan.pcap',
  'synthetic-encaps.pcap',
];

/** One small capture per further link type and UDP tunnel, written by make-link-captures.py. */
const LINK_FIXTURES = [
  'link-fddi.pcap',
  'link-ieee802-11.pcap',
  'link-radiotap.pcap',
  'link-nflog.pcap',
  'link-null.pcap',
  'link-loop.pcap',
  'link-ppp.pcap',
  'link-ppp-hdlc.pcap',
  'link-raw.pcap',
  'link-ipv4.pcap',
  'link-ipv6.pcap',
  'tunnel-gtpu.pcap',
  'tunnel-teredo.pcap',
  'tunnel-ayiya.pcap',
];

describe('packet parser agrees with tshark on kernel captures', () => {
  it('has every fixture that make-captures.sh writes', () => {
    const present = readdirSync(FIXTURES);
    for (const f of [...KERNEL_FIXTURES, ...LINK_FIXTURES]) expect(present).toContain(f);
  });

  for (const name of [...KERNEL_FIXTURES, ...LINK_FIXTURES]) {
    it(`${name}: every field of every TCP packet`, async () => {
      const file = join(FIXTURES, name);
      const want = tshark(file);
      const { rows, stats } = await ours(file);
      expect(compare(rows, want)).toEqual([]);
      expect(rows.length).toBeGreaterThan(0);
      expect(stats.packets).toBe(
        stats.tcp + stats.notTcp + Object.values(stats.drops).reduce((a, b) => a + b, 0),
      );
    });
  }

  it('the kernel captures contain what the scenarios promise', async () => {
    for (const name of [
      'kernel-v4.pcap',
      'kernel-v6-nano.pcap',
      'kernel-any-sll2.pcap',
      'kernel-dumpcap.pcapng',
    ]) {
      const { rows } = await ours(join(FIXTURES, name));
      const flags = new Set(rows.map((r) => r.flags));
      expect(flags, name).toContain(TCP_SYN);
      expect(flags, name).toContain(TCP_SYN | TCP_ACK);
      expect(
        [...flags].some((f) => (f & TCP_FIN) !== 0),
        `${name}: FIN close`,
      ).toBe(true);
      // Closed port: RST+ACK with seq 0 acking the SYN; SO_LINGER 0 aborts: RST mid-connection.
      expect(
        rows.some((r) => r.flags === (TCP_RST | TCP_ACK) && r.seq === 0),
        `${name}: closed port`,
      ).toBe(true);
      expect(
        rows.filter((r) => (r.flags & TCP_RST) !== 0 && r.seq !== 0).length,
        `${name}: aborts`,
      ).toBeGreaterThanOrEqual(2);
      expect(rows.some((r) => r.mss !== null && r.wscale !== null && r.tsVal !== null && r.sackPerm)).toBe(
        true,
      );
    }
    const v6 = await ours(join(FIXTURES, 'kernel-v6-nano.pcap'));
    expect(v6.rows.every((r) => r.src.includes(':'))).toBe(true);
    const vlan = await ours(join(FIXTURES, 'kernel-vlan.pcap'));
    expect(new Set(vlan.rows.map((r) => `${r.src.includes(':') ? 6 : 4}/${r.vlan}`))).toEqual(
      new Set(['4/100', '6/200']),
    );
    const vx = await ours(join(FIXTURES, 'kernel-vxlan.pcap'));
    expect(vx.rows.every((r) => r.tunnel === 'vxlan')).toBe(true);
    const sll2 = await ours(join(FIXTURES, 'kernel-any-sll2.pcap'));
    expect(sll2.rows.some((r) => r.sport === 8082 || r.dport === 8082)).toBe(true); // lo traffic
    const syn = await ours(join(FIXTURES, 'synthetic-encaps.pcap'));
    expect(new Set(syn.rows.map((r) => r.tunnel))).toEqual(
      new Set(['', 'gre', 'erspan2', 'erspan3', 'geneve', 'vxlan']),
    );
    expect(syn.stats.drops.ipv4_fragment_nonfirst).toBe(1);
    expect(syn.stats.drops.ipv6_fragment_nonfirst).toBe(1);
    expect(syn.rows.some((r) => r.rstText?.startsWith('blocked by policy'))).toBe(true);
  });

  it('the fixtures use the link types and formats they are meant to cover', () => {
    const info = (f: string, flag: string) =>
      execFileSync('capinfos', [flag, join(FIXTURES, f)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    expect(info('kernel-any-sll2.pcap', '-E')).toMatch(/Linux cooked-mode capture v2/);
    expect(info('kernel-dumpcap.pcapng', '-I')).toMatch(/Number of interfaces in file: 2/);
    expect(info('kernel-v6-nano.pcap', '-t')).toMatch(/nanosecond/i);
  });
});

const describeZeek = ZEEK === undefined ? describe.skip : describe;
describeZeek(`packet parser on Zeek test traces${ZEEK ? '' : ` (${ZEEK_TRACES_MISSING})`}`, () => {
  const traces: string[] = [];
  if (ZEEK !== undefined) {
    for (const d of [ZEEK, join(ZEEK, 'history-only')]) {
      for (const f of readdirSync(d)) if (/\.pcap(ng)?$/.test(f)) traces.push(join(d, f));
    }
  }

  it('finds the Zeek traces', () => {
    expect(traces.length).toBeGreaterThanOrEqual(30);
  });

  for (const file of traces) {
    const name = file.slice(ZEEK!.length + 1);
    it(`${name}: TCP packets and fields match tshark`, async () => {
      const { rows, stats } = await ours(file);
      expect(stats.drops.unsupported_linktype).toBe(0);
      const want = tshark(file);
      expect(compare(rows, want)).toEqual([]);
      expect(rows.length).toBeGreaterThan(0);
      if (name === 'llc.pcap') expect(rows.length).toBe(1333); // FDDI + 802.2 SNAP
      if (name === 'teredo.pcap') expect(rows.filter((r) => r.tunnel === 'teredo').length).toBe(22);
      if (name === 'gtp2-different-udp-port.pcap') expect(rows.every((r) => r.tunnel === 'gtpu')).toBe(true);
    });
  }
});
