/**
 * Command-line flags as configuration overrides. Precedence: defaults < config file < environment <
 * flags; flags become a nested partial config handed to `loadConfig({ overrides })`.
 */

export type Overrides = Record<string, unknown>;

/** Set `path` (dotted) in `into` to `value`, creating objects on the way; undefined values are skipped. */
export function setPath(into: Overrides, path: string, value: unknown): Overrides {
  if (value === undefined) return into;
  const keys = path.split('.');
  let o: Record<string, unknown> = into;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    if (typeof next !== 'object' || next === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
  return into;
}

/** `a,b , c` -> ['a', 'b', 'c']. */
export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Build overrides from `[path, value]` pairs (undefined values are left out). */
export function overridesFrom(pairs: [string, unknown][]): Overrides {
  const o: Overrides = {};
  for (const [p, v] of pairs) setPath(o, p, v);
  return o;
}
