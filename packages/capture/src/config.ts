/**
 * The capture source named by the configuration: a pcap/pcapng file to replay (`agent.pcap`) or a live
 * interface (`agent.iface`), never both.
 */
import type { Config } from '@rstwatch/config';
import { FileSource } from './file.js';
import type { CaptureSource } from './source.js';
import { DEFAULT_BPF, TcpdumpSource } from './tcpdump.js';

/** What a capture source is built from (the capture keys of the `agent` section, plus tcpdump knobs). */
export interface CaptureConfig {
  /** Live interface; exactly one of `iface` and `pcap`. */
  iface?: string | undefined;
  /** Capture file to replay; exactly one of `iface` and `pcap`. */
  pcap?: string | undefined;
  /** BPF filter of a live capture (default `DEFAULT_BPF`). */
  bpf?: string;
  /** Bytes captured per packet (default 256). */
  snaplen?: number;
  /** Kernel capture buffer for live capture, KiB. */
  captureBufferKiB?: number;
  /** Replay pace of `pcap`: `max` or `Nx`. */
  replaySpeed?: string;
  /** tcpdump binary. */
  tcpdump?: string;
  /** Command prefix for tcpdump (e.g. `ip netns exec NS`). */
  tcpdumpWrapper?: string[];
}

/** Where tcpdump's own log lines go. */
export interface CaptureLogger {
  info(obj: object, msg?: string): void;
}

/** The capture keys of the configuration's `agent` section. */
export function captureConfigFrom(agent: Config['agent']): CaptureConfig {
  return {
    iface: agent.iface,
    pcap: agent.pcap,
    bpf: agent.bpf,
    snaplen: agent.snaplen,
    replaySpeed: agent.replaySpeed,
  };
}

/** Builds the capture source named by `cfg`. Throws when not exactly one of `iface` and `pcap` is set. */
export function createSource(cfg: CaptureConfig, logger?: CaptureLogger): CaptureSource {
  if ((cfg.iface === undefined) === (cfg.pcap === undefined)) {
    throw new Error('exactly one of agent.iface (live interface) or agent.pcap (capture file) must be set');
  }
  if (cfg.pcap !== undefined) {
    return new FileSource({ path: cfg.pcap, ...(cfg.replaySpeed ? { replaySpeed: cfg.replaySpeed } : {}) });
  }
  return new TcpdumpSource({
    iface: cfg.iface!,
    bpf: cfg.bpf ?? DEFAULT_BPF,
    snaplen: cfg.snaplen ?? 256,
    ...(cfg.captureBufferKiB !== undefined ? { bufferKiB: cfg.captureBufferKiB } : {}),
    ...(cfg.tcpdump !== undefined ? { command: cfg.tcpdump } : {}),
    ...(cfg.tcpdumpWrapper !== undefined ? { wrapper: cfg.tcpdumpWrapper } : {}),
    ...(logger ? { onLog: (line: string) => logger.info({ tcpdump: line }, 'tcpdump') } : {}),
  });
}
