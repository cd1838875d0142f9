// AssemblyScript: the host table's lookups (packages/flow/src/hosts.ts), compiled by
// `pnpm --filter @rstwatch/flow wasm` into src/internal/hosts-wasm.ts. Entries are the 56-byte records
// hosts.ts lays out from byte 0 of the imported shared memory, two ways per set; an address is passed as
// the four little-endian u32 words of its 16 bytes. Same results, bit for bit, as the JavaScript it
// replaced: FNV-1a over the address bytes, the set by `bucketOf`'s float arithmetic, the replacement
// rule. No data segment, no allocator (`--runtime stub`): the module never writes outside the entries.

const ENTRY: usize = 56;
let sets: u32 = 0;

/** The table's set count (entries / 2). */
export function setup(n: u32): void {
  sets = n;
}

function fnvWord(h: u32, w: u32): u32 {
  h = (h ^ (w & 0xff)) * 0x01000193;
  h = (h ^ ((w >>> 8) & 0xff)) * 0x01000193;
  h = (h ^ ((w >>> 16) & 0xff)) * 0x01000193;
  return (h ^ (w >>> 24)) * 0x01000193;
}

/** FNV-1a of the 16 address bytes, seeded with the sensor, then folded (hosts.ts's `hashAddr`). */
export function hash(a0: u32, a1: u32, a2: u32, a3: u32, sensor: u32): u32 {
  const h = fnvWord(fnvWord(fnvWord(fnvWord(0x811c9dc5 ^ sensor, a0), a1), a2), a3);
  return h ^ (h >>> 15);
}

function way0(h: u32): u32 {
  // bucketOf (@rstwatch/core): the same float64 operations, so the same set.
  return (<u32>Math.floor(<f64>h * <f64>sets * 2.3283064365386963e-10)) << 1;
}

function matches(p: usize, h: u32, a0: u32, a1: u32, a2: u32, a3: u32, sensor: u32): bool {
  return (
    load<u32>(p) === h &&
    load<u8>(p, 26) !== 0 &&
    <u32>load<u8>(p, 25) === sensor &&
    load<u32>(p, 8) === a0 &&
    load<u32>(p, 12) === a1 &&
    load<u32>(p, 16) === a2 &&
    load<u32>(p, 20) === a3
  );
}

/** Entry of the host, or -1. */
export function find(a0: u32, a1: u32, a2: u32, a3: u32, sensor: u32): i32 {
  const h = hash(a0, a1, a2, a3, sensor);
  const e0 = way0(h);
  const p0 = <usize>e0 * ENTRY;
  if (matches(p0, h, a0, a1, a2, a3, sensor)) return <i32>e0;
  if (matches(p0 + ENTRY, h, a0, a1, a2, a3, sensor)) return <i32>e0 + 1;
  return -1;
}

function seen(p: usize): f64 {
  return Math.max(load<f64>(p, 32), load<f64>(p, 40));
}

/** Entry of the host, created when absent in the set's empty way, else over its older entry. */
export function findOrAdd(a0: u32, a1: u32, a2: u32, a3: u32, sensor: u32, ts: f64): i32 {
  const h = hash(a0, a1, a2, a3, sensor);
  const e0 = way0(h);
  const p0 = <usize>e0 * ENTRY;
  if (matches(p0, h, a0, a1, a2, a3, sensor)) return <i32>e0;
  const p1 = p0 + ENTRY;
  if (matches(p1, h, a0, a1, a2, a3, sensor)) return <i32>e0 + 1;
  const second = load<u8>(p0, 26) !== 0 && (load<u8>(p1, 26) === 0 || !(seen(p0) <= seen(p1)));
  const p = second ? p1 : p0;
  store<u32>(p, h);
  store<u32>(p, 0, 4); // IP ID, burst count
  store<u32>(p, a0, 8);
  store<u32>(p, a1, 12);
  store<u32>(p, a2, 16);
  store<u32>(p, a3, 20);
  store<u32>(p, 0x00010000 | (sensor << 8), 24); // TTL 0, sensor, live, checksum state 0
  store<u32>(p, 0, 28); // peer
  store<f64>(p, ts, 32); // scan window start
  store<f64>(p, ts, 40); // burst window start
  store<u64>(p, 0, 48); // scanned-port bits
  return <i32>e0 + (second ? 1 : 0);
}

/** findOrAdd, then the TTL and IP ID the host sent with. */
export function observe(a0: u32, a1: u32, a2: u32, a3: u32, sensor: u32, ttl: u32, ipId: u32, ts: f64): i32 {
  const e = findOrAdd(a0, a1, a2, a3, sensor, ts);
  const p = <usize>e * ENTRY;
  store<u8>(p, <u8>ttl, 24);
  store<u16>(p, <u16>ipId, 4);
  return e;
}
