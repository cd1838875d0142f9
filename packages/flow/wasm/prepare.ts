// AssemblyScript: the flow table's `prepare` pass (packages/flow/src/tracker.ts), compiled by
// `pnpm --filter @rstwatch/flow wasm` into src/internal/prepare-wasm.ts. Over up to CHUNK headers whose
// key columns the tracker copied into its scratch (in the table's shared memory): hash each one exactly
// as `flowHash` (@rstwatch/core) does, then touch its index slot and, when the slot's tag matches, the
// cache lines of the record it names, so the in-order pass that follows finds them in cache. Reads only,
// apart from the hashes it writes to the scratch.

import { combineEndpoints, endpointHash } from './flowhash';

let keys: usize = 0; // scratch: src words u32[4 CHUNK], dst words u32[4 CHUNK], sport u16[CHUNK], dport u16[CHUNK], hashes u32[CHUNK]
let chunk: usize = 0;
let idx: usize = 0;
let size: u32 = 0;
let slotMask: u32 = 0;
let tagShift: u32 = 0;
let hot: usize = 0;
let hotBytes: usize = 0;

export function setup(
  scratch: usize,
  chunkHeaders: usize,
  idxPtr: usize,
  idxSize: u32,
  mask: u32,
  shift: u32,
  hotPtr: usize,
  recordBytes: usize,
): void {
  keys = scratch;
  chunk = chunkHeaders;
  idx = idxPtr;
  size = idxSize;
  slotMask = mask;
  tagShift = shift;
  hot = hotPtr;
  hotBytes = recordBytes;
}

function home(h: u32): usize {
  // bucketOf (@rstwatch/core): the same float64 operations, so the same slot.
  return <usize>(<u32>Math.floor(<f64>h * <f64>size * 2.3283064365386963e-10));
}

/** Hash headers [0, n) of the scratch (sensor `seed`) into its hashes, and touch their slots and records. */
export function prepare(n: u32, seed: u32): u32 {
  const dst = keys + (chunk << 4);
  const sport = keys + (chunk << 5);
  const dport = sport + (chunk << 1);
  const out = dport + (chunk << 1);
  let acc: u32 = 0;
  for (let k: usize = 0; k < <usize>n; k++) {
    const h = combineEndpoints(
      endpointHash(keys + (k << 4), <u32>load<u16>(sport + (k << 1))),
      endpointHash(dst + (k << 4), <u32>load<u16>(dport + (k << 1))),
      seed,
    );
    store<u32>(out + (k << 2), h);
    acc ^= load<u32>(idx + (home(h) << 2));
  }
  for (let k: usize = 0; k < <usize>n; k++) {
    const h = load<u32>(out + (k << 2));
    const v = load<u32>(idx + (home(h) << 2));
    // Only a record whose tag matches (most often the flow itself; a new flow's bucket rarely does).
    if (v !== 0 && ((v ^ (h << tagShift)) & ~slotMask) === 0) {
      const b = hot + <usize>((v & slotMask) - 1) * hotBytes;
      acc ^= load<u32>(b) ^ load<u32>(b, 64) ^ load<u32>(b, 128) ^ load<u32>(b + hotBytes - 4);
    }
  }
  return acc;
}
