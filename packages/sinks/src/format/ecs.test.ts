import { describe, expect, it } from 'vitest';
import { sampleAlert, sampleAlerts } from '../testing.js';
import { ECS_FIELDS, entityHost, fromEcs, toEcs } from './ecs.js';

/** Dotted paths of the leaves of a document; arrays and `rstwatch.details` are leaves. */
function leaves(doc: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && path !== 'rstwatch.details') {
      out.push(...leaves(v as Record<string, unknown>, `${path}.`));
    } else {
      out.push(path);
    }
  }
  return out;
}

describe('toEcs', () => {
  it('maps every alert field to its ECS name', () => {
    expect(toEcs(sampleAlert(), { hostname: 'det-1' })).toEqual({
      '@timestamp': '2026-08-01T10:00:59.654321Z',
      ecs: { version: '8.11.0' },
      event: {
        kind: 'alert',
        category: ['network', 'intrusion_detection'],
        type: ['start'],
        module: 'rstwatch',
        dataset: 'rstwatch.alerts',
        id: '0123456789abcdef0123456789abcdef',
        sequence: 1,
        severity: 73,
        start: '2026-08-01T10:00:00.123456Z',
        end: '2026-08-01T10:00:59.654321Z',
      },
      message: '42 forged RSTs aimed at 198.18.0.2:443 from 3 peers within 60 s',
      rule: {
        id: 'reset_attack',
        name: 'reset_attack',
        description: 'Forged TCP resets aimed at one victim (reset injection attack).',
        ruleset: 'rstwatch',
      },
      source: { ip: '203.0.113.7' },
      destination: { ip: '198.18.0.2', port: 443 },
      network: {
        community_id: ['1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V7Y7XQ1ecd0pp4e9Y+qvV0tmxk='],
        transport: 'tcp',
        type: 'ipv4',
      },
      observer: { name: 'tap-a', hostname: 'det-1', type: 'sensor', vendor: 'rstwatch', product: 'rstwatch' },
      related: { ip: ['203.0.113.7', '203.0.113.8', '203.0.113.9', '198.18.0.2'] },
      labels: { rule: 'reset_attack', entity_kind: 'victim' },
      rstwatch: {
        severity: 'high',
        status: 'open',
        count: 42,
        entity: '198.18.0.2',
        entity_kind: 'victim',
        source_ips: ['203.0.113.7', '203.0.113.8', '203.0.113.9'],
        sensors: ['tap-a', 'tap-b'],
        evidence: ['rsts=42', 'window_s=60', 'seq_in_window_not_exact=40'],
        details: { peers: 3, ports: [443], exact: false },
      },
    });
  });

  it('event.type follows the life of the alert; port 0 and no sources leave their fields out', () => {
    const update = toEcs(sampleAlert({ version: 2 })) as { event: { type: string[] } };
    expect(update.event.type).toEqual(['info']);
    const closed = toEcs(sampleAlert({ version: 3, status: 'closed' })) as { event: { type: string[] } };
    expect(closed.event.type).toEqual(['end']);
    const doc = toEcs(
      sampleAlert({
        source_ips: [],
        destination_port: 0,
        destination_ip: '2001:db8::1',
        entity_kind: 'service',
        entity: '[2001:db8::2]:80',
        sensors: [],
      }),
      { name: 'obs', labels: { site: 'par1' } },
    );
    expect(doc.source).toBeUndefined();
    expect(doc.destination).toEqual({ ip: '2001:db8::1' });
    expect((doc.network as { type: string }).type).toBe('ipv6');
    expect(doc.related).toEqual({ ip: ['2001:db8::1', '2001:db8::2'] });
    expect((doc.observer as { name: string }).name).toBe('obs');
    expect(doc.labels).toEqual({ rule: 'reset_attack', entity_kind: 'service', site: 'par1' });
  });

  it('does not share arrays or objects with the alert', () => {
    const a = sampleAlert();
    const doc = toEcs(a) as { rstwatch: { details: Record<string, unknown>; evidence: string[] } };
    doc.rstwatch.details.peers = 99;
    doc.rstwatch.evidence.push('x');
    expect(a.details.peers).toBe(3);
    expect(a.evidence).toHaveLength(3);
  });

  it('ECS_FIELDS lists exactly the leaves toEcs writes', () => {
    const written = leaves(toEcs(sampleAlert(), { hostname: 'h' })).sort();
    const listed = [...new Set(ECS_FIELDS.map((f) => f.ecs))].sort();
    expect(listed).toEqual(written);
    for (const f of ECS_FIELDS) expect(f.meaning.length).toBeGreaterThan(5);
  });

  it('entityHost takes the host out of ip, ip:port and [v6]:port', () => {
    expect(entityHost('198.18.0.2')).toBe('198.18.0.2');
    expect(entityHost('198.18.0.2:443')).toBe('198.18.0.2');
    expect(entityHost('2001:db8::1')).toBe('2001:db8::1');
    expect(entityHost('[2001:db8::1]:443')).toBe('2001:db8::1');
  });
});

describe('fromEcs', () => {
  it('gives back the alert of every document toEcs made (through JSON, as on the alerts topic)', () => {
    const all = [
      ...sampleAlerts(20),
      sampleAlert({ source_ips: [], destination_port: 0, community_ids: [], status: 'closed', version: 7 }),
      sampleAlert({
        rule: 'port_scan',
        entity_kind: 'scanner',
        entity: '2001:db8::5',
        destination_ip: '2001:db8::9',
      }),
    ];
    for (const a of all) expect(fromEcs(JSON.parse(JSON.stringify(toEcs(a, { hostname: 'h' }))))).toEqual(a);
  });

  it('returns null for what is not an rstwatch alert document', () => {
    const good = toEcs(sampleAlert());
    type Doc = Record<string, Record<string, unknown>>;
    const broken = (f: (d: Doc) => void) => {
      const d = structuredClone(good) as Doc;
      f(d);
      return d;
    };
    for (const d of [
      null,
      42,
      'alert',
      {},
      broken((d) => delete d.event),
      broken((d) => (d.event.kind = 'event')),
      broken((d) => (d.rule.id = 'no_such_rule')),
      broken((d) => (d.rstwatch.severity = 'severe')),
      broken((d) => (d.rstwatch.status = 'maybe')),
      broken((d) => delete d['@timestamp']),
    ]) {
      expect(fromEcs(d)).toBeNull();
    }
  });
});
