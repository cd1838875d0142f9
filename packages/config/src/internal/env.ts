/**
 * Environment overrides by path: `RSTWATCH_CLICKHOUSE__WRITER__MAX_ROWS=1000` sets
 * `clickhouse.writer.maxRows`. `__` separates levels; each level matches a schema key ignoring case
 * and underscores (so SNAKE_CASE finds camelCase). Values are coerced to the type the schema expects:
 * numbers, booleans, comma-separated lists.
 */
import * as z from 'zod';
import { child, keysOf, unwrap } from './types.js';

export const ENV_PREFIX = 'RSTWATCH_';
/** Variables with the prefix that are not config paths. */
export const RESERVED_ENV = new Set(['RSTWATCH_CONFIG']);

const norm = (s: string) => s.replace(/_/g, '').toLowerCase();
const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** `maxRows` -> `MAX_ROWS`, `rst_events` -> `RST_EVENTS`. */
export function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The variable that overrides a dotted path. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map(envSegment).join('__');
}

function coerce(schema: z.ZodType | undefined, raw: string): unknown {
  if (schema === undefined) return raw;
  const base = unwrap(schema);
  if (base instanceof z.ZodNumber) {
    const t = raw.trim();
    return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? Number(t) : raw;
  }
  if (base instanceof z.ZodBoolean) {
    const t = raw.trim().toLowerCase();
    if (t === 'true' || t === '1' || t === 'yes' || t === 'on') return true;
    if (t === 'false' || t === '0' || t === 'no' || t === 'off') return false;
    return raw;
  }
  if (base instanceof z.ZodArray) {
    const el = base.element as z.ZodType;
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => coerce(el, s));
  }
  return raw;
}

export interface EnvOverrides {
  values: Record<string, unknown>;
  /** Dotted path -> variable name, to say where a bad value came from. */
  origins: Map<string, string>;
}

/** Collect `RSTWATCH_*` variables into a nested object shaped like the schema. */
export function envOverrides(root: z.ZodType, env: Record<string, string | undefined>): EnvOverrides {
  const values: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.has(name) || raw === undefined) continue;
    // Every config key sits in a section, so its variable has at least one `__`; other RSTWATCH_*
    // variables (tooling, tests) are not config and are left alone.
    if (!name.includes('__')) continue;
    const segs = name.slice(ENV_PREFIX.length).split('__');
    let schema: z.ZodType | undefined = root;
    const path: string[] = [];
    for (const seg of segs) {
      const key: string = keysOf(schema ?? z.never()).find((k) => norm(k) === norm(seg)) ?? camel(seg);
      path.push(key);
      schema = schema === undefined ? undefined : child(schema, key);
    }
    let obj = values;
    for (const k of path.slice(0, -1)) {
      const next = obj[k];
      if (typeof next === 'object' && next !== null && !Array.isArray(next))
        obj = next as Record<string, unknown>;
      else {
        const fresh: Record<string, unknown> = {};
        obj[k] = fresh;
        obj = fresh;
      }
    }
    obj[path[path.length - 1]!] = coerce(schema, raw);
    origins.set(path.join('.'), name);
  }
  return { values, origins };
}
