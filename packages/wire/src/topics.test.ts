import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, TOPIC_DLQ, TOPIC_HEADERS, TOPIC_SENSORS } from './index.js';

describe('topic names', () => {
  it('are the v1 contract (changing them is a breaking change: new version, new topics)', () => {
    expect([TOPIC_HEADERS, TOPIC_SENSORS, TOPIC_DLQ]).toEqual([
      'rstwatch.headers.v1',
      'rstwatch.sensors.v1',
      'rstwatch.headers.dlq.v1',
    ]);
    expect(new Set(Object.values(DLQ_HEADERS)).size).toBe(5);
  });
});
