// The Grafana alert rules of infra/grafana/provisioning/alerting: well-formed provisioning (every rule
// queries the provisioned ClickHouse data source and thresholds its result), and every query, run against
// ClickHouse with hand-checked data, returns exactly the alert instances it should.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { formatTsUs } from '@rstwatch/core';
import type { Alert } from '@rstwatch/detect';
import { alertToRow, migrate, type StoreClient } from '@rstwatch/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseHandle, getClickHouse } from '../support/clickhouse.js';

// The YAML parser of @rstwatch/config (the test package has no YAML dependency of its own).
const require = createRequire(new URL('../../packages/config/package.json', import.meta.url));
const { parse } = require('yaml') as { parse: (s: string) => unknown };

interface Query {
  refId: string;
  datasourceUid: string;
  model: { refId: string; type?: string; expression?: string; rawSql?: string; format?: number };
}
interface Rule {
  uid: string;
  title: string;
  condition: string;
  data: Query[];
  for: string;
  noDataState: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const file = new URL('../../infra/grafana/provisioning/alerting/rstwatch-alerts.yaml', import.meta.url);
const doc = parse(readFileSync(file, 'utf8')) as {
  apiVersion: number;
  groups: { orgId: number; name: string; folder: string; interval: string; rules: Rule[] }[];
};
const rules = doc.groups.flatMap((g) => g.rules);
const sqlOf = (uid: string) => rules.find((r) => r.uid === uid)!.data[0]!.model.rawSql!;

let ch: ClickHouseHandle;
let c: StoreClient;
beforeAll(async () => {
  ch = await getClickHouse();
  c = ch.client;
  await migrate(c);
});
afterAll(async () => {
  await ch?.cleanup();
});

/** A rule's SQL on the test database (the file names the default database `rstwatch`). */
const run = (uid: string) =>
  c.query<Record<string, unknown>>(sqlOf(uid).replaceAll('rstwatch.', `\`${c.database}\`.`));

describe('Grafana alerting provisioning', () => {
  it('is a provisioning file of uniquely named rules: ClickHouse query, reduce, threshold > 0', () => {
    expect(doc.apiVersion).toBe(1);
    expect(doc.groups.map((g) => [g.orgId, g.folder, g.interval])).toEqual([[1, 'rstwatch', '1m']]);
    expect(rules.map((r) => r.uid)).toEqual([
      'rstwatch-attack-open',
      'rstwatch-critical-open',
      'rstwatch-rst-rate-jump',
    ]);
    for (const r of rules) {
      expect(r.uid.length, r.uid).toBeLessThanOrEqual(40); // Grafana's limit
      expect(r.condition).toBe('C');
      const [a, b, cond] = r.data;
      expect(a).toMatchObject({ refId: 'A', datasourceUid: 'rstwatch-clickhouse', model: { format: 1 } });
      expect(b).toMatchObject({ datasourceUid: '__expr__', model: { type: 'reduce', expression: 'A' } });
      expect(cond).toMatchObject({
        datasourceUid: '__expr__',
        model: { type: 'threshold', expression: 'B' },
      });
      expect(r.noDataState).toBe('OK');
      expect(r.annotations.summary, r.uid).toBeTruthy();
    }
    // The data source the rules name is the provisioned one.
    const ds = readFileSync(
      new URL('../../infra/grafana/provisioning/datasources/clickhouse.yaml', import.meta.url),
      'utf8',
    );
    expect(ds).toContain('uid: rstwatch-clickhouse');
  });

  it('the alert rules see each open alert once, at its latest version, and not closed or stale ones', async () => {
    const now = Math.floor(Date.now() / 1000) * 1_000_000;
    const at = (s: number) => formatTsUs(now - s * 1_000_000);
    const base: Alert = {
      id: '',
      version: 1,
      rule: 'reset_attack',
      status: 'open',
      severity: 'high',
      severity_score: 73,
      summary: 's',
      first_seen: at(900),
      last_seen: at(600),
      updated: at(600),
      count: 5,
      entity_kind: 'victim',
      entity: '198.18.0.2',
      source_ips: [],
      destination_ip: '198.18.0.2',
      destination_port: 443,
      sensors: [],
      community_ids: [],
      evidence: [],
      details: {},
    };
    const rows = [
      // Raised open, then escalated: one instance, severity of the latest version.
      { ...base, id: '1'.repeat(32) },
      { ...base, id: '1'.repeat(32), version: 2, severity: 'critical' as const, updated: at(300) },
      // Raised, then closed: no instance.
      { ...base, id: '2'.repeat(32), entity: '198.18.0.3' },
      { ...base, id: '2'.repeat(32), entity: '198.18.0.3', version: 2, status: 'closed' as const },
      // A scan still open.
      {
        ...base,
        id: '3'.repeat(32),
        rule: 'port_scan' as const,
        severity: 'medium' as const,
        entity: '198.51.100.7',
      },
      // Open but not updated for two days (a detection stage that stopped): stale, no instance.
      { ...base, id: '4'.repeat(32), entity: '198.18.0.4', updated: at(2 * 86400) },
      // A critical alert of another rule.
      {
        ...base,
        id: '5'.repeat(32),
        rule: 'middlebox_tampering' as const,
        severity: 'critical' as const,
        entity: '10.0.0.9:443',
      },
    ];
    for (const [i, a] of rows.entries())
      await c.insert('alerts', [alertToRow(a)], { insert_deduplication_token: `g${i}` });
    const sorted = (r: Record<string, unknown>[]) =>
      [...r].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    expect(sorted(await run('rstwatch-attack-open'))).toEqual([
      { rule: 'port_scan', severity: 'medium', entity: '198.51.100.7', open_alerts: 1 },
      { rule: 'reset_attack', severity: 'critical', entity: '198.18.0.2', open_alerts: 1 },
    ]);
    expect(await run('rstwatch-critical-open')).toEqual([
      { rule: 'middlebox_tampering', entity: '10.0.0.9:443', open_alerts: 1 },
    ]);
  });

  it('the rate-jump rule reports a cause at 4x its rate of a day earlier, not a steady one', async () => {
    const min = (secondsAgo: number) =>
      formatTsUs((Math.floor(Date.now() / 60_000) * 60 - secondsAgo) * 1_000_000);
    // The rollup is fed by rst_events inserts; write the rollup rows directly (events per minute).
    const put = (ts: string, cause: string, events: number) => ({
      ts: ts.slice(0, 19).replace('T', ' '),
      cause,
      origin: 'middlebox',
      sensor: 's',
      service_ip: '::ffff:10.0.0.1',
      service_port: 443,
      events,
    });
    const rows = [];
    for (let m = 1; m <= 9; m++) {
      rows.push(put(min(m * 60), 'injected_reset', 1200)); // 20/s now
      rows.push(put(min(86400 + m * 60), 'injected_reset', 120)); // 2/s a day ago
      rows.push(put(min(m * 60), 'closed_port', 1200)); // 20/s now ...
      rows.push(put(min(86400 + m * 60), 'closed_port', 1000)); // ... and about as much a day ago
    }
    await c.insert('rst_rollup_1m', rows);
    expect(await run('rstwatch-rst-rate-jump')).toEqual([{ cause: 'injected_reset', rst_per_s: 18 }]);
  });
});
