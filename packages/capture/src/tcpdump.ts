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
    const delivery = new Delivery(sink, this.opts.maxBatch ?? 4096);
    const parser = new CaptureParser({
      batchSize: 1,
      newBatch: () => delivery.nextSingle(),
      onBatch: (b) => delivery.add(b),
    });
    this.parser = parser;
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      const cmd = this.opts.command ?? 'tcpdump';
      let child: ChildProcess;
      try {
        child = this.spawn(cmd);
      } catch (err) {
        reject(new Error(`cannot start ${cmd}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      this.child = child;
      const watch = new TcpdumpChild(child, this.opts, this.kstats);
      const stop = () => watch.stop();
      signal.addEventListener('abort', stop, { once: true });

      child.stdout!.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        if (delivery.delivering === undefined) delivery.deliver(child.stdout!);
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => watch.stderr(s));
      child.on('error', (err) => {
        signal.removeEventListener('abort', stop);
        reject(new Error(`cannot start ${cmd}: ${err.message}`, { cause: err }));
      });
      child.on('close', (code, sig) => {
        watch.closed();
        signal.removeEventListener('abort', stop);
        this.child = undefined;
        parser.end();
        if (watch.stopping || code === 0) return void delivery.finish().then(resolve, reject);
        reject(this.failure(watch.errLines, code, sig));
      });
    });
  }

  /** Start tcpdump (under the wrapper command, if any). */
  private spawn(cmd: string): ChildProcess {
    const wrap = this.opts.wrapper ?? [];
    return wrap.length > 0
      ? spawn(wrap[0]!, [...wrap.slice(1), cmd, ...this.args()], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(cmd, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The error for an unexpected exit, from what tcpdump printed. */
  private failure(errLines: readonly string[], code: number | null, sig: NodeJS.Signals | null): Error {
    const why = errLines.filter((l) => !/listening on/.test(l)).join('; ') || `exit ${code ?? sig}`;
    return new Error(
      `capture on ${this.opts.iface} failed: ${why}` +
        (/permitted|permission/i.test(why) ? ' (the agent needs CAP_NET_RAW)' : ''),
    );
  }
}

/**
 * Headers from the parser to the sink. The parser hands over one header at a time (two alternating
 * one-header batches), so nothing waits in a half-full parser batch on a quiet link; headers are
 * gathered into `cur` and delivered after each pipe chunk. A sink that returns a promise pauses the
 * pipe: tcpdump then blocks, the kernel ring fills and drops are counted by the kernel (ps_drop)
 * instead of memory growing here.
 */
class Delivery {
  /** The sink's pending promise, while the pipe is paused for it. */
  delivering: Promise<void> | undefined;
  private readonly pair = [HeaderColumns.allocate(1), HeaderColumns.allocate(1)];
  private turn = 0;
  private readonly pool: HeaderColumns[] = [];
  private readonly ready: HeaderColumns[] = [];
  private cur: HeaderColumns;

  constructor(
    private readonly sink: HeaderSink,
    private readonly cap: number,
  ) {
    this.cur = HeaderColumns.allocate(cap);
  }

  /** The parser's next one-header batch. */
  nextSingle(): HeaderColumns {
    return this.pair[this.turn++ & 1]!;
  }

  /** The parser's batch (0 or 1 header) into the current gathering batch. */
  add(b: HeaderColumns): void {
    if (b.length === 0) return;
    if (this.cur.full) this.cutBatch();
    this.cur.copyFrom(b, 0);
  }

  /** Hand every gathered batch to the sink, pausing `stream` while the sink's promise is pending. */
  deliver(stream: NodeJS.ReadableStream | undefined): void {
    if (this.cur.length > 0) this.cutBatch();
    const ready = this.ready;
    while (ready.length > 0) {
      const b = ready.shift()!;
      const r = this.sink(b);
      if (r !== undefined) {
        stream?.pause();
        this.delivering = r.then(
          () => {
            this.recycle(b);
            this.delivering = undefined;
            this.deliver(stream);
            if (this.delivering === undefined) stream?.resume();
          },
          () => {
            this.delivering = undefined;
            stream?.resume();
          },
        );
        return;
      }
      this.recycle(b);
    }
  }

  /** After the parser's end: deliver what is left and wait for the sink. */
  async finish(): Promise<void> {
    if (this.delivering !== undefined) await this.delivering;
    this.deliver(undefined);
    if (this.delivering !== undefined) await this.delivering;
  }

  private cutBatch(): void {
    this.ready.push(this.cur);
    this.cur = this.pool.pop() ?? HeaderColumns.allocate(this.cap);
  }

  private recycle(b: HeaderColumns): void {
    b.length = 0;
    this.pool.push(b);
  }
}

/**
 * The running tcpdump process: stopping it (SIGINT, then SIGKILL after 5 s), its stderr lines (kernel
 * counters; once it is listening, a SIGUSR1 every `statsIntervalMs` for more), the lines kept for an
 * error message.
 */
class TcpdumpChild {
  stopping = false;
  readonly errLines: string[] = [];
  private listening = false;
  private partial = '';
  private statsTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly opts: TcpdumpSourceOptions,
    private readonly kstats: KernelStats,
  ) {}

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    // SIGINT: tcpdump flushes its output and prints the final counters.
    this.child.kill('SIGINT');
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.killTimer.unref();
  }

  /** A chunk of stderr text: handle each complete line. */
  stderr(s: string): void {
    this.partial += s;
    let nl = this.partial.indexOf('\n');
    while (nl >= 0) {
      const line = this.partial.slice(0, nl).trim();
      this.partial = this.partial.slice(nl + 1);
      nl = this.partial.indexOf('\n');
      if (line !== '') this.line(line);
    }
  }

  /** The process exited: stop the timers and read counters from an unterminated last line. */
  closed(): void {
    clearInterval(this.statsTimer);
    clearTimeout(this.killTimer);
    if (this.partial.trim() !== '') parseTcpdumpStats(this.partial, this.kstats);
  }

  private line(line: string): void {
    if (parseTcpdumpStats(line, this.kstats)) return;
    if (!this.listening && /listening on/.test(line)) {
      this.listening = true;
      this.statsTimer = setInterval(() => {
        if (!this.stopping) this.child.kill('SIGUSR1');
      }, this.opts.statsIntervalMs ?? 5000);
      this.statsTimer.unref();
    }
    if (this.errLines.length < 20) this.errLines.push(line);
    this.opts.onLog?.(line);
  }
}

/** Default filter: TCP, also inside one 802.1Q tag (plain `tcp` misses VLAN-tagged frames). */
export const DEFAULT_BPF = 'tcp or (vlan and tcp)';
