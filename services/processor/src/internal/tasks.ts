/** Messages between the processor's main thread and its Piscina workers. */
import type { SensorRealities } from '@rstwatch/classify';
import type { FlowRecord, RstEvent } from '@rstwatch/core';
import type { FlowRows } from '@rstwatch/flow';

export interface EngineTask {
  /** `tick`: no input, capture time moves to `nowUs` (a quiet partition); `finish`: end of input. */
  kind: 'batch' | 'tick' | 'finish';
  /** Identifies the engine (one per partition or shard) so workers can cache their attached view. */
  engineId: number;
  /** Structured-clonable engine handle (SharedArrayBuffers + config). */
  engine: unknown;
  /** Batch buffer (a HeaderColumns buffer), transferred to the worker. */
  buffer: ArrayBuffer | SharedArrayBuffer | null;
  capacity: number;
  length: number;
  sensor: string;
  /** False while replaying already-committed input to rebuild state: output is suppressed. */
  emit: boolean;
  /** Capture time the input has reached (µs); the engine releases held RSTs and idle flows up to it. 0 = none. */
  nowUs: number;
  /** False: build no flow records (flows are only counted in `flowsEnded`). */
  records: boolean;
  /**
   * Position of the task among its engine's tasks (0, 1, 2, ...) in a sequential pool, where several may
   * be queued: the worker refuses a task that comes out of this order. -1: not numbered (the caller keeps
   * one task per engine in flight).
   */
  seq: number;
}

export interface BatchResult {
  events: RstEvent[];
  /** Flow records (the pool reads them from `rows` unless its caller takes the rows). */
  flows: FlowRecord[];
  /** Flow records as the worker wrote them: binary rows (see FlowRowReader), absent when none. */
  rows?: FlowRows;
  headers: number;
  /** Flows that ended during the task (with or without a record in `flows`). */
  flowsEnded: number;
  /** `batch` tasks: the duplicate, reordered and late packets of this task, by sensor (absent: none). */
  sensors?: Record<string, SensorRealities>;
  /** `finish` tasks: the engine's checksum counters and the first host found offloading checksums. */
  checksums?: { bad: number; offloaded: number; offload_hosts: number; first_host: string };
  /** Flows the engine ended early during the task to make room in a full flow table (the idlest first). */
  evictions: number;
}

/** BroadcastChannel on which the main thread announces released engine ids. */
export const RELEASE_CHANNEL = 'rstwatch-engine-release';
