// @rstwatch/detect: streaming detectors over RST events, keyed by entity, windowed and bounded.
export * from './alert.js';
