/**
 * Flow records as binary rows (`flows: 'rows'`, what the processor's workers send): read back, they are
 * the records the engine builds as objects, and their ndjson text is `JSON.stringify` of those records,
 * byte for byte, on a generated capture of every RST cause (IPv4, IPv6, VLANs, tunnels) and a sensor
 * name JSON must escape.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '@rstwatch/core';
import { concatFlowRows, FlowRowReader, type FlowRows } from '@rstwatch/flow';
import { parseCaptureFile } from '@rstwatch/packet';
import { generateTrace } from '@rstwatch/tracegen';
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';

const SENSOR = 'tap "7" \\ ü\t';

describe('flow records as binary rows', () => {
  it('read back as the same records and the same ndjson text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rstwatch-rows-'));
    try {
      const out = join(dir, 't.pcap');
      await generateTrace({ out, packets: 40_000, seed: 5 });
      // Small tables, so flows also end by eviction mid-capture, not only at the end.
      const cfg = { maxFlows: 512, maxHosts: 1024 };
      const objects = Engine.create(cfg);
      const binary = Engine.create(cfg);
      const want: FlowRecord[] = [];
      const takes: FlowRows[] = [];
      let emptyFlows = true;
      await parseCaptureFile(out, {
        onBatch: (b) => {
          want.push(...objects.processBatch(b, SENSOR).flows);
          const o = binary.processBatch(b, SENSOR, { flows: 'rows' });
          emptyFlows &&= o.flows.length === 0;
          if (o.rows) takes.push(o.rows);
        },
      });
      expect(emptyFlows).toBe(true);
      want.push(...objects.finish().flows);
      const last = binary.finish({ flows: 'rows' }).rows;
      if (last) takes.push(last);
      expect(takes.length).toBeGreaterThan(2);
      const rows = takes.reduce((a, b) => concatFlowRows(a, b));
      const r = new FlowRowReader(rows);
      expect(r.count).toBe(want.length);
      expect(want.length).toBeGreaterThan(1000);
      expect(r.records()).toEqual(want);
      for (let k = 0; k < r.count; k++) expect(r.ndjson(k)).toBe(`${JSON.stringify(want[k])}\n`);
      // What the capture covers, so the comparison is not of one kind of flow only.
      expect(new Set(want.map((f) => f.conn_state)).size).toBeGreaterThan(5);
      expect(want.some((f) => f['id.orig_h'].includes(':'))).toBe(true);
      expect(want.some((f) => f.rst_cause !== null && f.rst_origin !== null)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rows: none when output is suppressed or records are off', () => {
    const e = Engine.create({ maxFlows: 64, maxHosts: 64 });
    expect(e.finish({ flows: 'rows', emit: false }).rows).toBeUndefined();
    expect(e.finish({ flows: false }).rows).toBeUndefined();
  });
});
