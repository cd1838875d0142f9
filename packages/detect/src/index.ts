// @rstwatch/detect: streaming detectors over RST events, keyed by entity, windowed and bounded.
export * from './alert.js';
export type { AlertsConfig, ClassifierThresholds, DetectionOptions } from './config.js';
export { LEARNED_EVIDENCE } from './detectors/idle-timer.js';
export { type AlertLink, Detection, entityKeys } from './engine.js';
export { alertId, hostPort, parseTsUs, scannerOf, serviceKey } from './keys.js';
export type { DetectionStats, RuleStats } from './stats.js';
