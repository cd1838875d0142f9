// Golden digest of the packet decoder: every capture in test/fixtures/ and in Zeek's traces
// (test/support/zeek-traces.ts; their entries are left out when this clone has none) is parsed, and a SHA-256 of every header column of every TCP packet plus the
// parse counters is compared with decode-digest.json. A change in what any capture decodes to fails here,
// naming the capture. After an intended change, rewrite the file with RSTWATCH_UPDATE_DIGEST=1 and say
// in the commit which captures changed and why.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HeaderColumns } from '@rstwatch/core';
import { parseCaptureFile } from '@rstwatch/packet';
import { describe, expect, it } from 'vitest';
import { ZEEK_TRACES, ZEEK_TRACES_MISSING } from '../support/zeek-traces.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, '..', 'fixtures');
const DIGEST_FILE = join(here, 'decode-digest.json');

function captures(dir: string, label: string): { name: string; path: string }[] {
  if (!existsSync(dir)) return [];
  const out: { name: string; path: string }[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.pcap(ng)?$/.test(f)) out.push({ name: `${label}/${relative(dir, p)}`, path: p });
    }
  };
  walk(dir);
  return out;
}

/** Column views in a fixed order, each cut to the batch's length. */
function columns(b: HeaderColumns): ArrayBufferView[] {
  const n = b.length;
  return [
    b.tsUs.subarray(0, n),
    b.ipVersion.subarray(0, n),
    b.srcAddr.subarray(0, n * 16),
    b.dstAddr.subarray(0, n * 16),
    b.srcPort.subarray(0, n),
    b.dstPort.subarray(0, n),
    b.seq.subarray(0, n),
    b.ack.subarray(0, n),
    b.flags.subarray(0, n),
    b.window.subarray(0, n),
    b.ttl.subarray(0, n),
    b.ipId.subarray(0, n),
    b.ipLen.subarray(0, n),
    b.payloadLen.subarray(0, n),
    b.mss.subarray(0, n),
    b.wscale.subarray(0, n),
    b.tsVal.subarray(0, n),
    b.tsEcr.subarray(0, n),
    b.optFlags.subarray(0, n),
    b.vlan.subarray(0, n),
    b.tunnel.subarray(0, n),
    b.rstPayloadLen.subarray(0, n),
  ];
}

async function digest(path: string): Promise<string> {
  const h = createHash('sha256');
  const stats = await parseCaptureFile(path, {
    batchSize: 256,
    onBatch: (b) => {
      for (const c of columns(b)) h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
      for (let i = 0; i < b.length; i++) {
        h.update(b.rstPayload.subarray(i * 64, i * 64 + b.rstPayloadLen[i]!));
      }
    },
  });
  const { packets, tcp, notTcp, bytes, drops, anomalies } = stats;
  h.update(JSON.stringify({ packets, tcp, notTcp, bytes, drops, anomalies }));
  return `${stats.tcp}/${stats.packets} ${h.digest('hex').slice(0, 32)}`;
}

const ALL = [...captures(FIXTURES, 'fixtures'), ...(ZEEK_TRACES ? captures(ZEEK_TRACES, 'zeek') : [])];

describe('decoder output digest', () => {
  it('finds the fixture captures', () => {
    expect(ALL.filter((c) => c.name.startsWith('fixtures/')).length).toBeGreaterThanOrEqual(40);
  });

  it.skipIf(ZEEK_TRACES === undefined)(
    `finds the Zeek traces${ZEEK_TRACES ? '' : ` (${ZEEK_TRACES_MISSING})`}`,
    () => {
      expect(ALL.filter((c) => c.name.startsWith('zeek/')).length).toBeGreaterThanOrEqual(40);
    },
  );

  it('every capture decodes to the recorded headers and counters', async () => {
    const got: Record<string, string> = {};
    for (const c of ALL) got[c.name] = await digest(c.path);
    if (process.env.RSTWATCH_UPDATE_DIGEST === '1') {
      writeFileSync(DIGEST_FILE, `${JSON.stringify(got, null, 2)}\n`);
    }
    const recorded = JSON.parse(readFileSync(DIGEST_FILE, 'utf8')) as Record<string, string>;
    const want = Object.fromEntries(
      Object.entries(recorded).filter(([name]) => ZEEK_TRACES !== undefined || !name.startsWith('zeek/')),
    );
    expect(got).toEqual(want);
  });
});
