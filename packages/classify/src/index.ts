// RST classification: cause, origin, phase, confidence, evidence and tampering signature.
export { classifyFacts, EVIDENCE_NAMES, signatureOf, type Verdict } from './classifier.js';
export { DEFAULT_ENGINE_CONFIG, type EngineConfig, resolveEngineConfig } from './config.js';
export {
  ANOMALIES,
  DROPS,
  Engine,
  type EngineOutput,
  type EngineShared,
  type EngineStats,
  type ProcessOptions,
  type SensorRealities,
} from './engine.js';
