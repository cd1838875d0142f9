/** What consumers (the agent, `rstwatch run`) need from a capture source: a replayed file or a live interface. */
import type { HeaderColumns } from '@rstwatch/core';
import type { ParseStats } from '@rstwatch/packet';

/** Kernel/libpcap counters of a live capture (pcap_stats). */
export interface KernelStats {
  /** ps_recv: packets received by the filter. */
  received: number;
  /** ps_drop: dropped because the capture buffer was full. */
  dropped: number;
  /** ps_ifdrop: dropped by the interface/driver. */
  ifDropped: number;
}

/**
 * Receives parsed headers in capture order. The batch is only valid during the call unless the
 * returned promise is pending (then until it settles). A promise applies backpressure (files only).
 */
export type HeaderSink = (batch: HeaderColumns) => void | Promise<void>;

export interface CaptureSource {
  /** Human-readable description for logs ("file x.pcap", "interface eth0"). */
  readonly describe: string;
  /** True for live interfaces: the source cannot wait, so a full buffer drops instead of blocking. */
  readonly live: boolean;
  /** Capture until the input ends or `signal` aborts. Rejects on start-up failure (bad file, no permission). */
  run(sink: HeaderSink, signal: AbortSignal): Promise<void>;
  /** Parser counters so far. */
  parseStats(): ParseStats;
  /** Latest kernel counters (undefined for files). */
  kernelStats(): KernelStats | undefined;
}
