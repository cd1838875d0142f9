import { rstEvent } from '@rstwatch/detect/testing';
import { describe, expect, it } from 'vitest';
import { parseEvent } from './detect-stage.js';
import { ENTITY_KIND_HEADER, eventMessages } from './event-publisher.js';

describe('events topic messages', () => {
  it('publishes an event once per entity kind it matters to, keyed kind:entity, and reads it back', () => {
    const scan = rstEvent({
      cause: 'syn_scan',
      direction: 'orig',
      src_ip: '198.18.3.2',
      dst_ip: '198.18.2.2',
    });
    const msgs = eventMessages([scan]);
    const kinds = msgs.map((m) => m.headers![ENTITY_KIND_HEADER]);
    expect(kinds).toContain('service');
    expect(kinds).toContain('scanner');
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const m of msgs) {
      expect(String(m.key).startsWith(`${m.headers![ENTITY_KIND_HEADER]}:`)).toBe(true);
      expect(parseEvent(Buffer.from(m.value))).toEqual(scan);
    }
    expect(msgs.find((m) => m.headers![ENTITY_KIND_HEADER] === 'scanner')!.key).toBe('scanner:198.18.3.2');
  });

  it('an app_abort goes out once (service only): the fan-out stays near one message per event', () => {
    const e = rstEvent({ cause: 'app_abort', origin: 'endpoint' });
    expect(eventMessages([e]).map((m) => m.headers![ENTITY_KIND_HEADER])).toEqual(['service']);
  });

  it('rejects what is not an RST event instead of throwing', () => {
    for (const bad of [
      null,
      '',
      'not json',
      '[]',
      '42',
      '{"ts":"yesterday","src_ip":"a","dst_ip":"b","cause":"x","evidence":[]}',
      '{"ts":"2026-01-01T00:00:00.000000Z"}',
    ]) {
      expect(parseEvent(bad === null ? null : Buffer.from(bad))).toBeNull();
    }
  });
});
