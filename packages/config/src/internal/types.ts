/**
 * Schema building blocks that remember how to describe themselves: the type text used both in
 * generated docs and in error messages ("expected a positive integer"), and defaults that are only
 * known at run time (hostname, CPU count) with the text the docs show instead.
 */
import * as z from 'zod';

const typeText = new WeakMap<z.ZodType, string>();
const docDefaults = new WeakMap<z.ZodType, string>();

function typed<T extends z.ZodType>(s: T, text: string): T {
  typeText.set(s, text);
  return s;
}

/** Strip default/prefault/optional wrappers. */
export function unwrap(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  for (;;) {
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault || cur instanceof z.ZodOptional) {
      cur = cur.unwrap() as z.ZodType;
    } else return cur;
  }
}

/** Human text for what a schema accepts, e.g. `a positive integer`, `one of a|b`. */
export function describeType(s: z.ZodType): string {
  const base = unwrap(s);
  const t = typeText.get(base);
  if (t !== undefined) return t;
  if (base instanceof z.ZodObject) return 'a mapping';
  if (base instanceof z.ZodArray) return `a list of ${describeType(base.element as z.ZodType)}`;
  if (base instanceof z.ZodEnum) return `one of ${base.options.join('|')}`;
  if (base instanceof z.ZodBoolean) return 'true or false';
  if (base instanceof z.ZodNumber) return 'a number';
  if (base instanceof z.ZodString) return 'a string';
  return 'a value';
}

/** Default as the docs show it (markdown): the text given for run-time defaults, else the value as code. */
export function docDefault(s: z.ZodType): string | undefined {
  let cur: z.ZodType = s;
  for (;;) {
    const d = docDefaults.get(cur);
    if (d !== undefined) return d;
    if (cur instanceof z.ZodDefault) return `\`${JSON.stringify(cur._zod.def.defaultValue)}\``;
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodPrefault) cur = cur.unwrap() as z.ZodType;
    else return undefined;
  }
}

/** The child schema at `key` (object key or array index), through wrappers. */
export function child(s: z.ZodType, key: string | number): z.ZodType | undefined {
  const base = unwrap(s);
  if (base instanceof z.ZodObject && typeof key === 'string')
    return (base.shape as Record<string, z.ZodType>)[key];
  if (base instanceof z.ZodArray) return base.element as z.ZodType;
  return undefined;
}

/** Keys of the object schema (through wrappers), or []. */
export function keysOf(s: z.ZodType): string[] {
  const base = unwrap(s);
  return base instanceof z.ZodObject ? Object.keys(base.shape) : [];
}

export const posInt = () => typed(z.number().int().positive(), 'a positive integer');
export const nonNegInt = () => typed(z.number().int().nonnegative(), 'a non-negative integer');
export const intRange = (lo: number, hi: number) =>
  typed(z.number().int().min(lo).max(hi), `an integer in ${lo}..${hi}`);
export const str = () => typed(z.string().min(1), 'a non-empty string');
export const anyStr = () => typed(z.string(), 'a string');
export const filePath = () => typed(z.string().min(1), 'a file path');
export const bool = () => typed(z.boolean(), 'true or false');
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  typed(z.enum(values), `one of ${values.join('|')}`);

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
export const hostPort = () =>
  typed(
    z.string().refine((v) => {
      const m = HOST_PORT.exec(v);
      return m !== null && Number(m[2]) <= 65535;
    }),
    'host:port',
  );

export const identifier = () => typed(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), 'an SQL identifier');

export const replaySpeed = () =>
  typed(
    z.string().refine((v) => v === 'max' || (/^\d+(\.\d+)?x$/.test(v) && Number.parseFloat(v) > 0)),
    '"max" or a speed factor such as "1x", "10x", "0.5x"',
  );

export const clickhouseUrl = () =>
  typed(
    z.string().refine((v) => {
      if (v === 'embedded') return true;
      if (!/^https?:\/\//.test(v)) return false;
      try {
        new URL(v);
        return true;
      } catch {
        return false;
      }
    }),
    '"embedded" or an http(s):// URL',
  );

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  µs: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A duration given as `2s`, `500ms`, `2m`, `1h`, `1d` (or `250us`), or as a bare number in the key's
 * own unit, converted to that unit. Anything else is returned unchanged so validation reports it.
 */
export function parseDuration(v: unknown, unit: 's' | 'ms'): unknown {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h|d)?\s*$/.exec(v);
  if (m === null) return v;
  const n = Number(m[1]);
  if (m[2] === undefined) return n;
  return (n * UNIT_MS[m[2]]!) / (unit === 's' ? 1000 : 1);
}

/**
 * A time setting in the key's unit (`S` keys seconds, `Ms` keys milliseconds) that also takes units:
 * `2s`, `500ms`, `2m`, `1h`. A bare number keeps the key's unit, so existing configurations keep
 * their meaning. `min` is in the key's unit; `integer` refuses fractions of the unit (`1500ms` for an
 * integer seconds key).
 */
export function duration(unit: 's' | 'ms', min: number, opts: { integer?: boolean } = {}) {
  const base = opts.integer ? z.number().int().min(min) : z.number().min(min);
  const what = unit === 's' ? 'seconds' : 'milliseconds';
  return typed(
    z.preprocess((v) => parseDuration(v, unit), base),
    `a duration such as 2s, 500ms, 2m, 1h (a bare number is ${what}; at least ${min}${opts.integer ? `, whole ${what}` : ''})`,
  );
}

/** Empty (off) or an http(s):// URL. */
export const webhookUrl = () =>
  typed(
    z.string().refine((v) => {
      if (v === '') return true;
      if (!/^https?:\/\//.test(v)) return false;
      try {
        new URL(v);
        return true;
      } catch {
        return false;
      }
    }),
    'empty or an http(s):// URL',
  );

/** Empty (off) or `udp://`, `tcp://` or `tls://` host:port (IPv6 in brackets). */
export const syslogUrl = () =>
  typed(
    z.string().refine((v) => {
      if (v === '') return true;
      const m = /^(udp|tcp|tls):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(v);
      return m !== null && Number(m[3]) >= 1 && Number(m[3]) <= 65535;
    }),
    'empty or udp://host:port, tcp://host:port or tls://host:port',
  );

/** A default computed when the config is loaded; `doc` is what the docs say instead of a value. */
export function runtimeDefault<T extends z.ZodType>(
  s: T,
  fn: () => z.output<T>,
  doc: string,
  description: string,
) {
  const d = (s as unknown as z.ZodType).default(fn as never).describe(description);
  docDefaults.set(d, doc);
  return d as unknown as z.ZodDefault<T>;
}

/** A strict (unknown keys rejected) section whose fields all have defaults. */
export function section<S extends z.ZodRawShape>(shape: S, description: string) {
  return z
    .strictObject(shape)
    .prefault({} as never)
    .describe(description);
}
