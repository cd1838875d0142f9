/**
 * Live capture through a `tcpdump -w -` pipe: tcpdump (libpcap, TPACKET_V3 ring) writes a pcap stream
 * to stdout that the streaming CaptureParser decodes. Kernel counters (ps_recv, ps_drop, ps_ifdrop)
 * are read from tcpdump's stderr: it prints them on SIGUSR1 (sent every `statsIntervalMs`) and on exit.
 * See docs/agent.md for why this was chosen over an in-process libpcap binding.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { HeaderColumns } from '@rstwatch/core';
import { CaptureParser, type ParseStats } from '@rstwatch/packet';
import type { CaptureSource, HeaderSink, KernelStats } from './source.js';

export interface TcpdumpSourceOptions {
  iface: string;
  /** BPF filter (default `tcp or (vlan and tcp)`). */
  bpf?: string;
  /** Bytes captured per packet (default 256: enough for Ethernet + VLANs + IPv6 + TCP options). */
  snaplen?: number;
  /** Kernel capture buffer in KiB (`-B`, default 32768 = 32 MiB). */
  bufferKiB?: number;
  /** Deliver each packet at once instead of in ring blocks (lower latency, more CPU). */
  immediate?: boolean;
  /** How often to ask tcpdump for its counters (default 5000 ms). */
  statsIntervalMs?: number;
  /** tcpdump binary (default `tcpdump` on PATH). */
  command?: string;
  /** Command prefix tcpdump runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` or `['nsenter', '-t', PID, '-n']`. */
  wrapper?: string[];
  /** Extra arguments placed before the filter (e.g. `['-Z', 'root']`). */
  extraArgs?: string[];
  /** Most headers per delivered batch (default 4096); batches are otherwise cut at each pipe read. */
  maxBatch?: number;
  /** Receives tcpdump's stderr lines other than counters. */
  onLog?: (line: string) => void;
}

/** Parse one of tcpdump's statistics lines into `into`. Returns true when the line held counters. */
export function parseTcpdumpStats(line: string, into: KernelStats): boolean {
  let hit = false;
  const recv = /(\d+) packets? received by filter/.exec(line);
  if (recv) {
    into.received = Number(recv[1]);
    hit = true;
  }
  const drop = /(\d+) packets? dropped by kernel/.exec(line);
  if (drop) {
    into.dropped = Number(drop[1]);
    hit = true;
  }
  const ifdrop = /(\d+) packets? dropped by interface/.exec(line);
  if (ifdrop) {
    into.ifDropped = Number(ifdrop[1]);
    hit = true;
  }
  return hit;
}

export class TcpdumpSource implements CaptureSource {
  readonly describe: string;
  readonly live = true;
  private readonly opts: TcpdumpSourceOptions;
  private parser: CaptureParser | undefined;
  private readonly kstats: KernelStats = { received: 0, dropped: 0, ifDropped: 0 };
  private child: ChildProcess | undefined;

  constructor(opts: TcpdumpSourceOptions) {
    this.opts = opts;
    this.describe = `interface ${opts.iface} (tcpdump, filter '${opts.bpf ?? DEFAULT_BPF}')`;
  }

  /** The tcpdump command line this source runs. */
  args(): string[] {
    const o = this.opts;
    return [
      '-i',
      o.iface,
      '-w',
      '-',
      '-U',
      '-n',
      '-s',
      String(o.snaplen ?? 256),
      '-B',
      String(o.bufferKiB ?? 32768),
      ...(o.immediate ? ['--immediate-mode'] : []),
      ...(o.extraArgs ?? []),
      o.bpf ?? DEFAULT_BPF,
    ];
  }

  parseStats(): ParseStats {
    if (this.parser === undefined) throw new Error('TcpdumpSource not started');
    return this.parser.stats;
  }

  kernelStats(): KernelStats {
    return { ...this.kstats };
  }

  /** Process id of the running tcpdump (undefined when not running). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  run(sink: HeaderSink, signal: AbortSignal): Promise<void> {
    // The parser hands over one header at a time (two alternating one-header batches), so nothing waits
    // in a half-full parser batch on a quiet link; headers are gathered into `cur` and delivered after
    // each pipe chunk. A sink that returns a promise pauses the pipe: tcpdump then blocks, the kernel
    // ring fills and drops are counted by the kernel (ps_drop) instead of memory growing here.
    const pair = [HeaderColumns.allocate(1), HeaderColumns.allocate(1)];
    let turn = 0;
    const cap = this.opts.maxBatch ?? 4096;
    const pool: HeaderColumns[] = [];
    const ready: HeaderColumns[] = [];
    let cur = HeaderColumns.allocate(cap);
    const parser = new CaptureParser({
      batchSize: 1,
      newBatch: () => pair[turn++ & 1]!,
      onBatch: (b) => {
        if (b.length === 0) return;
        if (cur.full) {
          ready.push(cur);
          cur = pool.pop() ?? HeaderColumns.allocate(cap);
        }
        cur.copyFrom(b, 0);
      },
    });
    this.parser = parser;
    let delivering: Promise<void> | undefined;
    const deliver = (stream: NodeJS.ReadableStream | undefined): void => {
      if (cur.length > 0) {
        ready.push(cur);
        cur = pool.pop() ?? HeaderColumns.allocate(cap);
      }
      while (ready.length > 0) {
        const b = ready.shift()!;
        const r = sink(b);
        if (r !== undefined) {
          stream?.pause();
          delivering = r.then(
            () => {
              b.length = 0;
              pool.push(b);
              delivering = undefined;
              deliver(stream);
              if (delivering === undefined) stream?.resume();
            },
            () => {
              delivering = undefined;
              stream?.resume();
            },
          );
          return;
        }
        b.length = 0;
        pool.push(b);
      }
    };
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      const cmd = this.opts.command ?? 'tcpdump';
      const wrap = this.opts.wrapper ?? [];
      let child: ChildProcess;
      try {
        child =
          wrap.length > 0
            ? spawn(wrap[0]!, [...wrap.slice(1), cmd, ...this.args()], { stdio: ['ignore', 'pipe', 'pipe'] })
            : spawn(cmd, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        reject(new Error(`cannot start ${cmd}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      this.child = child;
      let listening = false;
      let stopping = false;
      const errLines: string[] = [];
      let statsTimer: NodeJS.Timeout | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        // SIGINT: tcpdump flushes its output and prints the final counters.
        child.kill('SIGINT');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
        killTimer.unref();
      };
      signal.addEventListener('abort', stop, { once: true });

      child.stdout!.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        if (delivering === undefined) deliver(child.stdout!);
      });
      let partial = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => {
        partial += s;
        let nl = partial.indexOf('\n');
        while (nl >= 0) {
          const line = partial.slice(0, nl).trim();
          partial = partial.slice(nl + 1);
          nl = partial.indexOf('\n');
          if (line === '') continue;
          if (parseTcpdumpStats(line, this.kstats)) continue;
          if (!listening && /listening on/.test(line)) {
            listening = true;
            statsTimer = setInterval(() => {
              if (!stopping) child.kill('SIGUSR1');
            }, this.opts.statsIntervalMs ?? 5000);
            statsTimer.unref();
          }
          if (errLines.length < 20) errLines.push(line);
          this.opts.onLog?.(line);
        }
      });
      child.on('error', (err) => {
        signal.removeEventListener('abort', stop);
        reject(new Error(`cannot start ${cmd}: ${err.message}`, { cause: err }));
      });
      child.on('close', (code, sig) => {
        clearInterval(statsTimer);
        clearTimeout(killTimer);
        signal.removeEventListener('abort', stop);
        this.child = undefined;
        if (partial.trim() !== '') parseTcpdumpStats(partial, this.kstats);
        parser.end();
        const finish = async () => {
          if (delivering !== undefined) await delivering;
          deliver(undefined);
          if (delivering !== undefined) await delivering;
        };
        if (stopping || code === 0) return void finish().then(resolve, reject);
        const why = errLines.filter((l) => !/listening on/.test(l)).join('; ') || `exit ${code ?? sig}`;
        reject(
          new Error(
            `capture on ${this.opts.iface} failed: ${why}` +
              (/permitted|permission/i.test(why) ? ' (the agent needs CAP_NET_RAW)' : ''),
          ),
        );
      });
    });
  }
}

/** Default filter: TCP, also inside one 802.1Q tag (plain `tcp` misses VLAN-tagged frames). */
export const DEFAULT_BPF = 'tcp or (vlan and tcp)';
