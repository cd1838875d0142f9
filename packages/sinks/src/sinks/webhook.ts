/**
 * WebhookSink: one HTTP POST per alert, body = the ECS JSON document (one object, never an array, so
 * a receiver handles every alert the same way and a failure affects one alert). Headers:
 *
 *   Content-Type: application/json
 *   X-Rstwatch-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed by `secret`> (with a secret)
 *   X-Rstwatch-Alert-Id: <alert id>        X-Rstwatch-Alert-Version: <version>
 *   Idempotency-Key: <alert id>:<version>  (the same on every retry: a receiver de-duplicates on it)
 *
 * 2xx is success. 408, 429, 5xx, timeouts and connection errors are retried; other 4xx and 3xx
 * (redirects are not followed: configure the final URL) fail permanently.
 */
import { createHmac } from 'node:crypto';
import type { Alert } from '@rstwatch/detect';
import { type EcsOptions, toEcs } from '../format/ecs.js';
import { type AlertSink, SinkError } from '../sink.js';

export interface WebhookSinkOptions {
  /** http:// or https:// URL. */
  url: string;
  /** HMAC-SHA256 key for `X-Rstwatch-Signature`; no header without it. */
  secret?: string;
  /** Timeout of one POST (connect, send, response). */
  timeoutMs: number;
  /** Default `webhook`. */
  name?: string;
  ecs?: EcsOptions;
}

export const SIGNATURE_HEADER = 'x-rstwatch-signature';

/** `sha256=<hex>` signature of `body` under `secret`, as sent in `X-Rstwatch-Signature`. */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `signature` (the header value) is the signature of `body` under `secret`; constant time. */
export function verifySignature(
  secret: string,
  body: string | Uint8Array,
  signature: string | undefined,
): boolean {
  if (signature === undefined) return false;
  const want = Buffer.from(signBody(secret, body));
  const got = Buffer.from(signature);
  if (want.length !== got.length) return false;
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff |= want[i]! ^ got[i]!;
  return diff === 0;
}

/** HTTP statuses worth retrying besides 5xx. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

export class WebhookSink implements AlertSink {
  readonly name: string;
  readonly #url: URL;
  readonly #opts: WebhookSinkOptions;

  constructor(opts: WebhookSinkOptions) {
    this.name = opts.name ?? 'webhook';
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (err) {
      throw new Error(`webhook url '${opts.url}' is not a URL`, { cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`webhook url '${opts.url}' must be http:// or https://`);
    }
    this.#url = url;
    this.#opts = opts;
  }

  async send(alerts: readonly Alert[]): Promise<void> {
    for (let i = 0; i < alerts.length; i++) {
      try {
        await this.#post(alerts[i]!);
      } catch (err) {
        const permanent = err instanceof SinkError && err.permanent;
        throw new SinkError(`${this.name}: POST of alert ${alerts[i]!.id} v${alerts[i]!.version} failed`, {
          permanent,
          delivered: i,
          cause: err,
        });
      }
    }
  }

  async #post(alert: Alert): Promise<void> {
    const body = JSON.stringify(toEcs(alert, this.#opts.ecs ?? {}));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'rstwatch',
      'x-rstwatch-alert-id': alert.id,
      'x-rstwatch-alert-version': String(alert.version),
      'idempotency-key': `${alert.id}:${alert.version}`,
    };
    if (this.#opts.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(this.#opts.secret, body);
    let res: Response;
    try {
      res = await fetch(this.#url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
    } catch (err) {
      const what =
        err instanceof Error && err.name === 'TimeoutError'
          ? `no response within ${this.#opts.timeoutMs} ms`
          : 'request failed';
      throw new SinkError(`${this.#url.origin}: ${what}`, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) return;
    const permanent = res.status < 500 && !RETRYABLE_4XX.has(res.status);
    const hint =
      res.status >= 300 && res.status < 400
        ? ` (redirect to ${res.headers.get('location')}; configure the final URL)`
        : '';
    throw new SinkError(`${this.#url.origin} answered HTTP ${res.status}${hint}: ${text.slice(0, 200)}`, {
      permanent,
    });
  }

  async close(): Promise<void> {}
}
