/** dumpConfig: the effective configuration as YAML, secrets redacted (for `rstwatch config dump`). */
import { yaml } from './internal/yaml.js';
import type { Config } from './schema.js';

const SECRET = /^(password|secret|token)$|(Password|Secret|Token)$/;
export const REDACTED = '<redacted>';

function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    out[k] = SECRET.test(k) ? REDACTED : redact(x);
  }
  return out;
}

/** YAML text of `cfg`; with `redact` (the default) passwords and other secrets read `<redacted>`. */
export function dumpConfig(cfg: Config, opts: { redact?: boolean } = {}): string {
  const data = opts.redact === false ? JSON.parse(JSON.stringify(cfg)) : redact(cfg);
  return yaml().stringify(data, { lineWidth: 0 });
}
