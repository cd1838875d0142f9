/**
 * Structured logs with pino: JSON lines on stderr (stdout stays free for NDJSON command output),
 * secrets redacted wherever they appear, and a rate limiter for warnings on the hot path.
 */
import { pino } from 'pino';
import { prettyDestination } from './internal/pretty.js';

export type Logger = pino.Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Minimum level written. Default `info`. */
  level?: LogLevel | 'fatal' | 'silent';
  /** `json` (default): one object per line; `pretty`: human-readable lines. */
  format?: 'json' | 'pretty';
  /** Component or service name, the `name` field of every line. */
  name?: string;
  /** Fields on every line, e.g. `{ service: 'agent', sensor: 'tap-1' }`. */
  base?: Record<string, unknown>;
  /** Where lines go. Default: stderr (file descriptor 2), written synchronously. */
  destination?: pino.DestinationStream;
}

/** Keys whose values never reach a log line, at any of the first four nesting levels. */
export const SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'apiKey',
] as const;
export const REDACTED = '<redacted>';

/** pino redact paths for {@link SECRET_KEYS} (covers e.g. `sasl.password`, `req.headers.authorization`). */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
  `*.*.*.${k}`,
]);

/** A pino logger: JSON to stderr by default, level labels (`"level":"warn"`), ISO times, secrets redacted. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'json';
  const destination =
    opts.destination ??
    (format === 'pretty' ? prettyDestination(2) : pino.destination({ fd: 2, sync: true }));
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { ...(opts.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  if (opts.name !== undefined) options.name = opts.name;
  return pino(options, destination);
}

/** Logs at most once per interval per key; the next line carries how many were suppressed. */
export interface RateLimitedLog {
  /** Returns true when the line was written. */
  log(level: LogLevel, key: string, msg: string, fields?: Record<string, unknown>): boolean;
  warn(key: string, msg: string, fields?: Record<string, unknown>): boolean;
  error(key: string, msg: string, fields?: Record<string, unknown>): boolean;
  info(key: string, msg: string, fields?: Record<string, unknown>): boolean;
}

/**
 * Rate-limited logging for hot paths: per `key` (e.g. a drop reason), at most one line per
 * `intervalMs`; suppressed lines are counted and reported as `suppressed` on the next line written.
 * `now` is injectable for tests.
 */
export function rateLimitedLog(
  logger: Logger,
  intervalMs: number,
  now: () => number = Date.now,
): RateLimitedLog {
  const last = new Map<string, number>();
  const suppressed = new Map<string, number>();
  const log = (level: LogLevel, key: string, msg: string, fields?: Record<string, unknown>): boolean => {
    const t = now();
    const prev = last.get(key);
    if (prev !== undefined && t - prev < intervalMs) {
      suppressed.set(key, (suppressed.get(key) ?? 0) + 1);
      return false;
    }
    last.set(key, t);
    const n = suppressed.get(key) ?? 0;
    suppressed.delete(key);
    logger[level]({ ...fields, key, ...(n > 0 ? { suppressed: n } : {}) }, msg);
    return true;
  };
  return {
    log,
    warn: (key, msg, fields) => log('warn', key, msg, fields),
    error: (key, msg, fields) => log('error', key, msg, fields),
    info: (key, msg, fields) => log('info', key, msg, fields),
  };
}
