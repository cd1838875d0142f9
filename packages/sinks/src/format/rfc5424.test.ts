import { describe, expect, it } from 'vitest';
import { sampleAlert } from '../testing.js';
import { toCef } from './cef.js';
import { toEcs } from './ecs.js';
import { rfc5424, sdParam } from './rfc5424.js';

const opts = { appName: 'rstwatch', facility: 4, hostname: 'det-1', body: 'cef' as const };

describe('rfc5424', () => {
  it('writes PRI, header, structured data and a CEF body', () => {
    const a = sampleAlert();
    expect(rfc5424(a, opts)).toBe(
      '<35>1 2026-08-01T10:00:59.654321Z det-1 rstwatch - reset_attack ' +
        '[rstwatch@32473 id="0123456789abcdef0123456789abcdef" version="1" rule="reset_attack" severity="high" status="open"] ' +
        toCef(a),
    );
  });

  it('a JSON body is the ECS document on one line', () => {
    const a = sampleAlert({ severity: 'critical', version: 7, status: 'closed' });
    const msg = rfc5424(a, { ...opts, facility: 16, body: 'json', procId: '1234' });
    const head =
      '<130>1 2026-08-01T10:00:59.654321Z det-1 rstwatch 1234 reset_attack ' +
      '[rstwatch@32473 id="0123456789abcdef0123456789abcdef" version="7" rule="reset_attack" severity="critical" status="closed"] ';
    expect(msg.startsWith(head)).toBe(true);
    expect(msg).not.toContain('\n');
    expect(JSON.parse(msg.slice(head.length))).toEqual(toEcs(a, { hostname: 'det-1' }));
  });

  it('PRI: critical 2, high 3, medium 4, low 5 plus facility * 8', () => {
    const pri = (severity: 'low' | 'medium' | 'high' | 'critical') =>
      rfc5424(sampleAlert({ severity }), { ...opts, facility: 1 }).slice(0, 5);
    expect([pri('critical'), pri('high'), pri('medium'), pri('low')]).toEqual([
      '<10>1',
      '<11>1',
      '<12>1',
      '<13>1',
    ]);
  });

  it('escapes SD-PARAM values and cleans header fields', () => {
    expect(sdParam('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    const msg = rfc5424(sampleAlert({ id: 'x"]\\' }), { ...opts, hostname: 'my host', appName: '' });
    expect(msg).toContain(' my_host - - reset_attack [rstwatch@32473 id="x\\"\\]\\\\" version="1"');
  });

  it('rejects a facility outside 0..23', () => {
    expect(() => rfc5424(sampleAlert(), { ...opts, facility: 24 })).toThrow(/0\.\.23/);
  });
});
