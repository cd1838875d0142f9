// Live-capture comparison for docs/agent.md: a `tcpdump -w -` pipe into CaptureParser versus the `cap`
// libpcap binding (optional, path given with --cap-module) feeding decodePacket, on one interface for a
// fixed time. Run it inside the network namespace that owns the interface while traffic flows.
// Prints name=value lines: headers, headers_per_s, kernel_drops, iface_packets (rx+tx on the interface during
// the run, all TCP here), captured_ratio, cpu_s (capture process + tcpdump), cpu_per_mheader_s.
//   node bench/agent-capture.mjs --mode tcpdump|cap --iface IF --seconds 5 [--cap-module /path/node_modules/cap]

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TcpdumpSource } from '../packages/capture/dist/index.js';
import { HeaderColumns } from '../packages/core/dist/index.js';
import { createParseStats, decodePacket } from '../packages/packet/dist/index.js';

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : d;
};
const mode = opt('mode', 'tcpdump');
const iface = opt('iface', 'eth0');
const seconds = Number(opt('seconds', '5'));
const bpf = opt('bpf', 'tcp or (vlan and tcp)');

function childCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime+stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

function ifacePackets() {
  try {
    const d = `/sys/class/net/${iface}/statistics`;
    return Number(readFileSync(`${d}/rx_packets`, 'utf8')) + Number(readFileSync(`${d}/tx_packets`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}
const offered0 = ifacePackets();
let headers = 0;
let kernelDrops = 0;
let childCpuS = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
if (mode === 'tcpdump') {
  const src = new TcpdumpSource({ iface, bpf, snaplen: 256, bufferKiB: 32768, statsIntervalMs: 1000 });
  const ac = new AbortController();
  const done = src.run((b) => {
    headers += b.length;
  }, ac.signal);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  childCpuS = childCpu(src.pid);
  ac.abort();
  await done;
  kernelDrops = src.kernelStats().dropped;
} else {
  const require = createRequire(`${opt('cap-module', '/tmp/capbench/node_modules/cap')}/`);
  const { Cap } = require('./lib/Cap.js');
  const c = new Cap();
  const buf = Buffer.alloc(65535);
  const linkType = c.open(iface, bpf, 32 << 20, buf) === 'ETHERNET' ? 1 : 1;
  const out = HeaderColumns.allocate(4096);
  const stats = createParseStats();
  c.on('packet', (nbytes) => {
    // cap gives no capture timestamp: take the delivery time.
    const tsUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
    if (out.length >= out.capacity) out.length = 0;
    if (decodePacket(linkType, buf, 0, Math.min(nbytes, 256), tsUs, out, stats, nbytes)) headers++;
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  c.close();
  kernelDrops = -1; // not exposed by the binding
}
const wall = (performance.now() - t0) / 1000;
const offered = ifacePackets() - offered0;
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6 + childCpuS;
console.log(`mode=${mode}`);
console.log(`headers=${headers}`);
console.log(`headers_per_s=${Math.round(headers / wall)}`);
console.log(`kernel_drops=${kernelDrops}`);
console.log(`iface_packets=${offered}`);
console.log(`captured_ratio=${(headers / offered).toFixed(4)}`);
console.log(`cpu_s=${cpuS.toFixed(2)}`);
console.log(`cpu_per_mheader_s=${headers > 0 ? ((cpuS / headers) * 1e6).toFixed(2) : 'n/a'}`);
