/**
 * The one shape every sink has. `send` delivers alerts in order and resolves once the receiver took
 * them (as far as the transport can tell); it rejects on failure and `Delivery` retries. A `SinkError`
 * may say that the first `delivered` alerts went through (they are not sent again) and whether the
 * failure is `permanent` (retrying cannot help: the alert is kept as undelivered at once).
 */
import type { Alert } from '@rstwatch/detect';

export interface AlertSink {
  /** Unique within one Delivery: `webhook`, `syslog`, `kafka`, `file`, ... */
  readonly name: string;
  send(alerts: readonly Alert[]): Promise<void>;
  /** Releases connections and files; `send` must not be called afterwards. */
  close(): Promise<void>;
}

export class SinkError extends Error {
  /** Retrying will not help (e.g. HTTP 400): keep the failed alert as undelivered now. */
  readonly permanent: boolean;
  /** Leading alerts of the batch that were delivered before the failure. */
  readonly delivered: number;

  constructor(message: string, opts: { permanent?: boolean; delivered?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SinkError';
    this.permanent = opts.permanent ?? false;
    this.delivered = opts.delivered ?? 0;
  }
}

/** Message of an error and its causes, joined by `: ` (for logs and the undelivered file). */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      const msg = e.message || e.name;
      parts.push(typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(': ');
}
