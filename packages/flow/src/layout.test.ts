import { describe, expect, it } from 'vitest';
import { COLD_BYTES, describeFlowLayout, type FieldInfo, FLOW_FIELDS, HOT_BYTES, HOT_EP8 } from './layout.js';
import { FlowTracker } from './tracker.js';

const SIZE = { u8: 1, u16: 2, u32: 4, f64: 8 } as const;

/** Byte ranges a field occupies in its record. */
function spans(f: FieldInfo): Array<[number, number]> {
  const n = SIZE[f.type] * f.count;
  if (f.scope === 'connection') return [[f.byte, f.byte + n]];
  if (f.block === 'hot')
    return [
      [f.byte, f.byte + n],
      [HOT_EP8 + f.byte, HOT_EP8 + f.byte + n],
    ];
  return [[f.byte, f.byte + 2 * n]];
}

describe('flow record layout', () => {
  it('places every field inside its block, aligned, without overlap', () => {
    for (const [block, bytes] of [
      ['hot', HOT_BYTES],
      ['cold', COLD_BYTES],
    ] as const) {
      const owner: string[] = new Array(bytes).fill('');
      for (const f of FLOW_FIELDS.filter((x) => x.block === block)) {
        expect(f.byte % SIZE[f.type], `${f.name} aligned`).toBe(0);
        for (const [a, b] of spans(f)) {
          expect(b, `${f.name} inside ${block}`).toBeLessThanOrEqual(bytes);
          for (let k = a; k < b; k++) {
            expect(owner[k], `${f.name} overlaps ${owner[k]} at byte ${k}`).toBe('');
            owner[k] = f.name;
          }
        }
      }
    }
  });

  it('keeps endpoint fields inside a half, so endpoint e starts at e * HOT_EP8', () => {
    for (const f of FLOW_FIELDS.filter((x) => x.block === 'hot' && x.scope === 'endpoint'))
      expect(f.byte + SIZE[f.type] * f.count).toBeLessThanOrEqual(HOT_EP8);
  });

  it('documents every field once', () => {
    const names = FLOW_FIELDS.map((f) => `${f.block}.${f.scope}.${f.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const f of FLOW_FIELDS) expect(f.doc.length, f.name).toBeGreaterThan(5);
    expect(describeFlowLayout().split('\n')).toHaveLength(FLOW_FIELDS.length);
  });

  it('stays within the memory budget of 256 bytes per tracked flow (table part)', () => {
    expect(HOT_BYTES + COLD_BYTES).toBeLessThanOrEqual(224);
    const bpf = FlowTracker.bytesPerFlow({
      maxFlows: 262144,
      flowIdleExpiryS: 300,
      timeWaitS: 60,
      maxHosts: 65536,
    });
    expect(bpf).toBeLessThanOrEqual(256);
  });
});
