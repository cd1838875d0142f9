/**
 * Telemetry for every rstwatch service: structured JSON logs on stderr (pino), Prometheus metrics
 * (prom-client) and the `/metrics`, `/healthz`, `/readyz` HTTP endpoints. Conventions: docs/metrics.md.
 */
export {
  type HttpServer,
  type HttpServerOptions,
  type Probe,
  type ProbeResult,
  parseListen,
  startHttpServer,
} from './http.js';
export {
  createLogger,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type RateLimitedLog,
  REDACT_PATHS,
  REDACTED,
  rateLimitedLog,
  SECRET_KEYS,
} from './logger.js';
export { createMetrics, type HistogramOptions, Metrics } from './metrics.js';
