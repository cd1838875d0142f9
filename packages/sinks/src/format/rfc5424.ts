/**
 * The alert as an RFC 5424 syslog message:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [rstwatch@32473 id=".." version=".." rule=".."
 *   severity=".." status=".."] MSG
 *
 * PRI = facility * 8 + SYSLOG_SEVERITY[severity] (critical 2 Critical, high 3 Error, medium 4 Warning,
 * low 5 Notice). TIMESTAMP = alert.updated (capture time, microseconds, UTC); MSGID = the rule;
 * MSG = the ECS JSON document (one line) or the CEF line, without a BOM. SD-PARAM values escape `"`,
 * `\` and `]`; header fields are printable US-ASCII without spaces (others replaced by `_`), `-` when
 * empty. 32473 is the private enterprise number RFC 5612 reserves for documentation.
 */
import type { Alert, Severity } from '@rstwatch/detect';
import { toCef } from './cef.js';
import { toEcs } from './ecs.js';

/** RFC 5424 severity code per alert severity. */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = Object.freeze({
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
});

/** SD-ID of rstwatch's structured data element. */
export const SD_ID = 'rstwatch@32473';

export interface Rfc5424Options {
  appName: string;
  /** 0..23 (4: security/authorization). */
  facility: number;
  hostname: string;
  body: 'json' | 'cef';
  /** PROCID; default `-`. */
  procId?: string;
}

/** Escapes an SD-PARAM value: `"`, `\` and `]`. */
export function sdParam(s: string): string {
  return s.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII without space, at most `max` characters; `-` when empty. */
function headerField(s: string, max: number): string {
  const clean = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** RFC 3339 time as RFC 5424 wants it (at most 6 fractional digits); the NILVALUE when unparseable. */
function timestamp(t: string): string {
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/.test(t)) return t;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '-';
}

/** The syslog message for `alert` (no framing, no trailing newline). Pure. */
export function rfc5424(alert: Alert, opts: Rfc5424Options): string {
  if (!Number.isInteger(opts.facility) || opts.facility < 0 || opts.facility > 23) {
    throw new RangeError(`syslog facility must be an integer in 0..23, got ${opts.facility}`);
  }
  const pri = opts.facility * 8 + (SYSLOG_SEVERITY[alert.severity] ?? 4);
  const sd =
    `[${SD_ID} id="${sdParam(alert.id)}" version="${alert.version}" rule="${sdParam(alert.rule)}"` +
    ` severity="${sdParam(alert.severity)}" status="${sdParam(alert.status)}"]`;
  const msg = opts.body === 'cef' ? toCef(alert) : JSON.stringify(toEcs(alert, { hostname: opts.hostname }));
  return [
    `<${pri}>1`,
    timestamp(alert.updated),
    headerField(opts.hostname, 255),
    headerField(opts.appName, 48),
    headerField(opts.procId ?? '', 128),
    headerField(alert.rule, 32),
    sd,
    msg,
  ].join(' ');
}
