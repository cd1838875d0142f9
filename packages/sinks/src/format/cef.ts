/**
 * The alert as an ArcSight CEF line (Common Event Format, rev. 25):
 *
 *   CEF:0|rstwatch|rstwatch|<version>|<rule>|<summary>|<0-10>|<extension>
 *
 * Header fields escape `\` and `|` with a backslash and have no line breaks (replaced by a space);
 * extension values escape `\` and `=` with a backslash and encode CR / LF as `\r` / `\n`. Extension
 * keys, in this order, each omitted when empty:
 *
 *   rt (updated, epoch ms) start (first_seen) end (last_seen) externalId (id) cat (rule) proto=TCP
 *   src (first source) dst (destination) dpt (port, omitted when 0) cnt (count) dvchost (first sensor)
 *   cn1Label=version cn1 · cs1Label=entity cs1 · cs2Label=entityKind cs2 · cs3Label=status cs3 ·
 *   cs4Label=evidence cs4 (space-separated) · cs5Label=communityIds cs5 (comma-separated) ·
 *   cs6Label=sourceIps cs6 (comma-separated) · flexString1Label=sensors flexString1 (comma-separated) ·
 *   flexString2Label=details flexString2 (JSON)
 */
import type { Alert, Severity } from '@rstwatch/detect';

/** Version written in CEF's Device Version field unless the caller gives one. */
export const PRODUCT_VERSION = '0.1.0';

/** CEF severity (0-10) per severity word: 0-3 low, 4-6 medium, 7-8 high, 9-10 very high. */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = Object.freeze({
  low: 3,
  medium: 5,
  high: 8,
  critical: 10,
});

/** Escapes a CEF header field: `\` and `|`; line breaks become spaces (not allowed in the header). */
export function cefHeader(s: string): string {
  return s.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, ' ');
}

/** Escapes a CEF extension value: `\` and `=`; CR and LF become `\r` and `\n`. */
export function cefValue(s: string): string {
  return s.replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`));
}

/** Milliseconds since the epoch of an RFC 3339 time (sub-millisecond digits dropped); '' if invalid. */
function epochMs(t: string): string {
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? String(ms) : '';
}

/** The CEF line for `alert`. Pure. */
export function toCef(alert: Alert, opts: { version?: string } = {}): string {
  const header = [
    'CEF:0',
    'rstwatch',
    'rstwatch',
    cefHeader(opts.version ?? PRODUCT_VERSION),
    cefHeader(alert.rule),
    cefHeader(alert.summary),
    String(CEF_SEVERITY[alert.severity] ?? 5),
  ].join('|');
  const ext: [string, string][] = [
    ['rt', epochMs(alert.updated)],
    ['start', epochMs(alert.first_seen)],
    ['end', epochMs(alert.last_seen)],
    ['externalId', alert.id],
    ['cat', alert.rule],
    ['proto', 'TCP'],
    ['src', alert.source_ips[0] ?? ''],
    ['dst', alert.destination_ip],
    ['dpt', alert.destination_port > 0 ? String(alert.destination_port) : ''],
    ['cnt', String(alert.count)],
    ['dvchost', alert.sensors[0] ?? ''],
    ['cn1Label', 'version'],
    ['cn1', String(alert.version)],
    ['cs1Label', 'entity'],
    ['cs1', alert.entity],
    ['cs2Label', 'entityKind'],
    ['cs2', alert.entity_kind],
    ['cs3Label', 'status'],
    ['cs3', alert.status],
    ['cs4Label', 'evidence'],
    ['cs4', alert.evidence.join(' ')],
    ['cs5Label', 'communityIds'],
    ['cs5', alert.community_ids.join(',')],
    ['cs6Label', 'sourceIps'],
    ['cs6', alert.source_ips.join(',')],
    ['flexString1Label', 'sensors'],
    ['flexString1', alert.sensors.join(',')],
    ['flexString2Label', 'details'],
    ['flexString2', Object.keys(alert.details).length > 0 ? JSON.stringify(alert.details) : ''],
  ];
  // A label without its value is dropped with it.
  const parts: string[] = [];
  for (let i = 0; i < ext.length; i++) {
    const [k, v] = ext[i]!;
    if (k.endsWith('Label')) {
      const value = ext[i + 1]![1];
      if (value === '') {
        i++;
        continue;
      }
    }
    if (v !== '') parts.push(`${k}=${cefValue(v)}`);
  }
  return `${header}|${parts.join(' ')}`;
}
