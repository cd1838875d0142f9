/**
 * Configuration for every rstwatch service: one YAML file, `RSTWATCH_*` environment overrides by key
 * path, command-line overrides, validated with zod at start; errors name the key and the allowed values.
 */
export { configDocs } from './docs.js';
export { dumpConfig, REDACTED } from './dump.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export { envName, RESERVED_ENV } from './internal/env.js';
export { type LoadOptions, loadConfig } from './load.js';
export {
  COMPRESSIONS,
  type Config,
  configSchema,
  type DeepPartial,
  LOG_LEVELS,
  SASL_MECHANISMS,
} from './schema.js';
