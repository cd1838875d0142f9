// Errors that leave @rstwatch/kafka: one class, a cause chain, and no kafkajs types.

/** What went wrong, in kafkajs-independent terms. */
export type KafkaErrorKind =
  | 'config' // our configuration was rejected before talking to Kafka
  | 'connection' // brokers unreachable, connection lost, TLS/SASL handshake failed
  | 'timeout' // a request or operation took too long
  | 'broker' // the broker answered with an error code (see `code`)
  | 'rebalance' // the consumer group is rebalancing; the operation may be retried after re-join
  | 'internal'; // anything else

/** An error from the Kafka client, with what we were doing in the message and the original as `cause`. */
export class KafkaError extends Error {
  override readonly name = 'KafkaError';
  /** The broker's error code name (e.g. `UNKNOWN_TOPIC_OR_PARTITION`) when there is one. */
  readonly code: string | undefined;
  /** True when retrying the same operation later may succeed. */
  readonly retriable: boolean;
  readonly kind: KafkaErrorKind;

  constructor(
    message: string,
    opts: { kind: KafkaErrorKind; code?: string | undefined; retriable?: boolean; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = opts.kind;
    this.code = opts.code;
    this.retriable = opts.retriable ?? false;
  }
}

interface KafkaJsLikeError {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

// kafkajs throws a plain Error('Broker not connected') when a broker never answered its handshake.
const connectionMessage =
  /Broker not connected|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;

const rebalanceCodes = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

function innermost(err: KafkaJsLikeError): KafkaJsLikeError {
  let e = err;
  for (let i = 0; i < 8; i++) {
    const next = (e.originalError ?? e.cause) as KafkaJsLikeError | undefined;
    if (next === undefined || next === null || typeof next !== 'object') break;
    e = next;
  }
  return e;
}

/** Wraps anything thrown by kafkajs into a KafkaError that says what `doing` was. */
export function wrapError(doing: string, err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as KafkaJsLikeError;
  const root = innermost(e);
  const names = `${e.name ?? ''} ${root.name ?? ''}`;
  const code = e.type ?? root.type;
  let kind: KafkaErrorKind = 'internal';
  if (code !== undefined && rebalanceCodes.has(code)) kind = 'rebalance';
  else if (/Timeout/i.test(names) || code === 'REQUEST_TIMED_OUT') kind = 'timeout';
  else if (
    /Connection|BrokerNotFound|SASL/.test(names) ||
    connectionMessage.test(`${e.message} ${root.message}`)
  ) {
    kind = 'connection';
  } else if (code !== undefined) kind = 'broker';
  const detail = e.message ?? String(err);
  const rootDetail = root !== e && root.message && root.message !== detail ? ` (${root.message})` : '';
  return new KafkaError(`${doing}: ${detail}${rootDetail}`, {
    kind,
    code,
    retriable: e.retriable ?? root.retriable ?? false,
    cause: err,
  });
}

/**
 * Broker error codes that say the idempotent producer's state (producer id, epoch, per-partition
 * sequence) no longer matches the broker's. kafkajs keeps the same producer id and sequence after them,
 * so every later send fails the same way; only a new producer (a new producer id) gets going again.
 */
const producerStateCodes = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

/** True when `err` (a KafkaError from a send) means the producer must be replaced to send again. */
export function producerStateLost(err: unknown): boolean {
  return err instanceof KafkaError && err.code !== undefined && producerStateCodes.has(err.code);
}
