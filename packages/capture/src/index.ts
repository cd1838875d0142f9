// @rstwatch/capture: capture sources (pcap/pcapng replay, live tcpdump) into HeaderColumns batches.
export { type CaptureConfig, type CaptureLogger, captureConfigFrom, createSource } from './config.js';
export { FileSource, type FileSourceOptions, parseReplaySpeed, type ReplaySpeed } from './file.js';
export type { CaptureSource, HeaderSink, KernelStats } from './source.js';
export {
  DEFAULT_BPF,
  parseTcpdumpStats,
  TcpdumpSource,
  type TcpdumpSourceOptions,
} from './tcpdump.js';
