import { describe, expect, it } from 'vitest';
import { KafkaError, producerStateLost, wrapError } from './errors.js';

// Shapes of kafkajs errors (name/type/retriable/cause as kafkajs sets them).
function kjs(name: string, message: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, ...extra });
}

describe('wrapError', () => {
  it('says what we were doing and keeps the original as cause', () => {
    const orig = kjs('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:1', {
      retriable: true,
    });
    const e = wrapError('producer: connecting', orig);
    expect(e).toBeInstanceOf(KafkaError);
    expect(e.message).toBe('producer: connecting: Connection error: connect ECONNREFUSED 127.0.0.1:1');
    expect(e.cause).toBe(orig);
    expect(e.kind).toBe('connection');
    expect(e.retriable).toBe(true);
  });

  it('classifies broker codes, rebalances, timeouts and bare connection failures', () => {
    expect(
      wrapError('x', kjs('KafkaJSProtocolError', 'm', { type: 'UNKNOWN_TOPIC_OR_PARTITION' })),
    ).toMatchObject({
      kind: 'broker',
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    expect(wrapError('x', kjs('KafkaJSProtocolError', 'm', { type: 'REBALANCE_IN_PROGRESS' })).kind).toBe(
      'rebalance',
    );
    expect(wrapError('x', kjs('KafkaJSRequestTimeoutError', 'Request Produce timed out')).kind).toBe(
      'timeout',
    );
    expect(wrapError('x', new Error('Broker not connected')).kind).toBe('connection');
    expect(wrapError('x', 'weird').kind).toBe('internal');
  });

  it('reports the innermost cause of retry wrappers', () => {
    const inner = kjs('KafkaJSProtocolError', 'This server does not host this topic-partition', {
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
      retriable: true,
    });
    const outer = kjs('KafkaJSNumberOfRetriesExceeded', 'Number of retries exceeded', { cause: inner });
    const e = wrapError('send', outer);
    expect(e.message).toBe(
      'send: Number of retries exceeded (This server does not host this topic-partition)',
    );
    expect(e.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(e.kind).toBe('broker');
  });

  it('passes KafkaError through unchanged', () => {
    const e = new KafkaError('m', { kind: 'config' });
    expect(wrapError('x', e)).toBe(e);
  });
});

describe('producerStateLost', () => {
  it('is true for the idempotence-state codes kafkajs does not recover from, as kafkajs wraps them', () => {
    // kafkajs's retrier bails on a non-retriable protocol error with KafkaJSNonRetriableError(cause).
    const protocol = kjs('KafkaJSProtocolError', 'The broker received an out of order sequence number', {
      type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
      retriable: false,
    });
    const bailed = kjs('KafkaJSNonRetriableError', protocol.message, { retriable: false, cause: protocol });
    const e = wrapError('producer: sending 31 message(s) to topic t failed', bailed);
    expect(e.code).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(producerStateLost(e)).toBe(true);
    for (const type of ['UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']) {
      expect(producerStateLost(wrapError('x', kjs('KafkaJSProtocolError', 'm', { type })))).toBe(true);
    }
  });

  it('is false for other failures and for anything that is not a KafkaError', () => {
    expect(producerStateLost(wrapError('x', kjs('KafkaJSConnectionError', 'connect ECONNREFUSED')))).toBe(
      false,
    );
    expect(
      producerStateLost(
        wrapError('x', kjs('KafkaJSProtocolError', 'm', { type: 'NOT_LEADER_FOR_PARTITION' })),
      ),
    ).toBe(false);
    expect(producerStateLost(Object.assign(new Error('m'), { code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))).toBe(
      false,
    );
    expect(producerStateLost(undefined)).toBe(false);
  });
});
