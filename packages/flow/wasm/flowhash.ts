// AssemblyScript: `flowHash` of @rstwatch/core (packages/core/src/flowkey.ts), bit for bit: each
// endpoint's address words and port mixed, the two combined direction-free with the sensor as seed. Not a
// module of its own: `prepare.ts` imports it, and so does the flow-table bench (bench/wasm/flowtable.ts).

/** The hash of one endpoint: its address (four u32 words at `a`) and port. */
export function endpointHash(a: usize, port: u32): u32 {
  let h: u32 =
    load<u32>(a) * 0x9e3779b1 +
    load<u32>(a, 4) * 0x85ebca77 +
    load<u32>(a, 8) * 0xc2b2ae3d +
    load<u32>(a, 12) * 0x27d4eb2f +
    (port + 1) * 0x165667b1;
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  h ^= h >>> 12;
  return h;
}

/** Two endpoints' hashes, in either order, and the sensor `seed`: the flow's hash. */
export function combineEndpoints(hs: u32, hd: u32, seed: u32): u32 {
  let h: u32 = (hs + hd) ^ ((hs ^ hd) * 0x9e3779b1) ^ ((seed + 1) * 0x85ebca6b);
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}
