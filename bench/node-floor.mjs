#!/usr/bin/env node
// The least a Node.js process can do with a capture: start, read the file into one reused 4 MiB buffer
// (`readSync`, no stream, no per-chunk allocation) and walk its records (pcap: the 16-byte record
// headers; pcapng: the blocks), reading one byte of each packet. No decoding, no flow table, no output.
// `bench:analyze` times it beside `rstwatch analyze` as `node_floor_cpu_ms`: whatever `analyze` does
// costs at least this much CPU, whatever its design, so it bounds what analyze can reach against a peer
// (issue 14: 2x Suricata's packets per CPU-second).
//
// Prints `records=N` and `check=X` (a sum of the bytes read, so the walk cannot be optimized away).
//
//   node bench/node-floor.mjs FILE
import { closeSync, openSync, readSync } from 'node:fs';
import { parseBenchArgs } from './args.mjs';

const { positionals } = parseBenchArgs(import.meta.url, { options: {}, allowPositionals: true });
if (positionals.length !== 1) {
  process.stderr.write('bench/node-floor.mjs: one capture file expected (--help)\n');
  process.exit(2);
}

const fd = openSync(positionals[0], 'r');
const buf = Buffer.allocUnsafe(4 << 20);
let have = readSync(fd, buf, 0, buf.length, null);
const magic = have >= 4 ? buf.readUInt32LE(0) : 0;
const pcapng = magic === 0x0a0d0d0a;
const le = pcapng ? buf.readUInt32LE(8) === 0x1a2b3c4d : magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
if (!pcapng && !le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) {
  process.stderr.write(`bench/node-floor.mjs: ${positionals[0]} is not a pcap or pcapng file\n`);
  process.exit(2);
}
const u32 = le ? (o) => buf.readUInt32LE(o) : (o) => buf.readUInt32BE(o);
// pcap: 24-byte file header, then records of 16 + caplen bytes; pcapng: blocks of their total length.
let o = pcapng ? 0 : 24;
let records = 0;
let check = 0;
for (;;) {
  const need = pcapng ? (o + 8 <= have ? u32(o + 4) : 8) : o + 16 <= have ? 16 + u32(o + 8) : 16;
  if (o + need > have) {
    if (need > buf.length) {
      process.stderr.write(`bench/node-floor.mjs: a record of ${need} bytes at ${o}: not a capture\n`);
      process.exit(2);
    }
    buf.copy(buf, 0, o, have);
    have -= o;
    o = 0;
    const r = readSync(fd, buf, have, buf.length - have, null);
    if (r === 0) break;
    have += r;
    continue;
  }
  if (need < 12) {
    process.stderr.write(`bench/node-floor.mjs: a record of ${need} bytes at ${o}: not a capture\n`);
    process.exit(2);
  }
  check = (check + buf[o + need - 1]) | 0;
  records++;
  o += need;
}
closeSync(fd);
console.log(`records=${records}`);
console.log(`check=${check}`);
