/** The agent's codec over `@rstwatch/wire`: HeaderBatch for the batches, SensorStats for heartbeats. */
import { encodeHeaderBatch, encodeSensorStats, type SensorStats } from '@rstwatch/wire';
import type { AgentCodec, HeartbeatSnapshot } from './agent.js';
import { AGENT_VERSION } from './version.js';

/** Map a heartbeat snapshot onto the wire's SensorStats message. */
export function toSensorStats(s: HeartbeatSnapshot): SensorStats {
  const parseErrors: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.parseDrops)) if (v > 0) parseErrors[k] = v;
  const headersDropped: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.headersDropped)) if (v > 0) headersDropped[k] = v;
  const batchesDropped: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.batchesDropped)) if (v > 0) batchesDropped[k] = v;
  return {
    sensorId: s.sensorId,
    tsUs: s.timeMs * 1000,
    agentVersion: AGENT_VERSION,
    uptimeMs: Math.max(0, s.timeMs - s.startedMs),
    packetsSeen: s.packets,
    tcpHeaders: s.tcpHeaders,
    kernelDrops: s.kernelDrops,
    kernelIfDrops: s.ifDrops,
    parseErrors,
    batchesSent: s.batchesSent,
    bytesSent: s.bytesSent,
    sendFailures: s.sendFailures,
    headersDropped,
    lastBatchSeq: s.lastAckedSeq < 0n ? 0n : s.lastAckedSeq,
    headersSent: s.headersSent,
    batchesDropped,
  };
}

export const wireCodec: AgentCodec = {
  encodeHeaderBatch: (meta, cols) => encodeHeaderBatch(meta, cols),
  encodeSensorStats: (s) => encodeSensorStats(toSensorStats(s)),
};
