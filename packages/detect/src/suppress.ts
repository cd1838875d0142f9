/** `alerts.suppress` rules compiled once: rule, entity (exact or CIDR) and source (all in a CIDR). */
import { parseAddr } from '@rstwatch/core';
import type { AlertRule } from './alert.js';
import type { AlertsConfig } from './config.js';

interface Cidr {
  net: Uint8Array;
  bits: number;
}

interface Matcher {
  exact: string;
  cidr: Cidr | undefined;
}

interface Rule {
  rule: AlertRule | undefined;
  entity: Matcher | undefined;
  source: Matcher | undefined;
}

function cidrOf(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  try {
    const net = parseAddr(addr);
    const v4 = !addr.includes(':');
    const max = v4 ? 32 : 128;
    const len = slash < 0 ? max : Number(text.slice(slash + 1));
    if (!Number.isInteger(len) || len < 0 || len > max) return undefined;
    return { net, bits: v4 ? len + 96 : len };
  } catch {
    return undefined;
  }
}

function inCidr(c: Cidr, ip: string): boolean {
  let a: Uint8Array;
  try {
    a = parseAddr(ip);
  } catch {
    return false;
  }
  const full = c.bits >>> 3;
  for (let k = 0; k < full; k++) if (a[k] !== c.net[k]) return false;
  const rest = c.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (c.net[full]! & mask);
}

/** The host part of an entity: `ip`, `ip:port` or `[v6]:port`. */
export function entityHost(entity: string): string {
  if (entity.startsWith('[')) return entity.slice(1, entity.indexOf(']'));
  const colon = entity.indexOf(':');
  return colon >= 0 && colon === entity.lastIndexOf(':') ? entity.slice(0, colon) : entity;
}

function matcher(text: string | undefined): Matcher | undefined {
  return text === undefined ? undefined : { exact: text, cidr: cidrOf(text) };
}

function matchHost(m: Matcher, value: string, host: string): boolean {
  return value === m.exact || (m.cidr !== undefined && inCidr(m.cidr, host));
}

export class Suppressor {
  private readonly rules: Rule[];

  constructor(cfg: AlertsConfig['suppress']) {
    this.rules = cfg.map((r) => ({
      rule: r.rule as AlertRule | undefined,
      entity: matcher(r.entity),
      source: matcher(r.source),
    }));
  }

  /** True when one rule matches every field it gives (a source rule needs every source inside it). */
  suppressed(rule: AlertRule, entity: string, sources: readonly string[]): boolean {
    for (const r of this.rules) {
      if (r.rule !== undefined && r.rule !== rule) continue;
      if (r.entity !== undefined && !matchHost(r.entity, entity, entityHost(entity))) continue;
      const src = r.source;
      if (src !== undefined && (sources.length === 0 || !sources.every((s) => matchHost(src, s, s))))
        continue;
      return true;
    }
    return false;
  }
}
