/**
 * FileSink: NDJSON, one ECS document per line, appended to a file (created with its directory) or
 * written to a stream the caller owns (`rstwatch analyze --alerts OUT.ndjson`, stdout).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { Alert } from '@rstwatch/detect';
import { type EcsOptions, toEcs } from '../format/ecs.js';
import { type AlertSink, SinkError } from '../sink.js';

export interface FileSinkOptions {
  /** A file path or a writable stream (not closed by `close()`). */
  target: string | Writable;
  /** A path is appended to (default) or, with false, truncated first. */
  append?: boolean;
  /** Default `file`. */
  name?: string;
  /** Passed to `toEcs` (observer name, hostname, labels). */
  ecs?: EcsOptions;
}

export class FileSink implements AlertSink {
  readonly name: string;
  readonly #out: Writable;
  readonly #owned: boolean;
  readonly #ecs: EcsOptions;
  #error: Error | undefined;

  constructor(opts: FileSinkOptions | string | Writable) {
    const o: FileSinkOptions = typeof opts === 'string' || !('target' in opts) ? { target: opts } : opts;
    this.name = o.name ?? 'file';
    this.#ecs = o.ecs ?? {};
    if (typeof o.target === 'string') {
      mkdirSync(dirname(o.target), { recursive: true });
      this.#out = createWriteStream(o.target, { flags: o.append === false ? 'w' : 'a' });
      this.#owned = true;
    } else {
      this.#out = o.target;
      this.#owned = false;
    }
    this.#out.on('error', (err) => {
      this.#error = err;
    });
  }

  send(alerts: readonly Alert[]): Promise<void> {
    if (this.#error) {
      return Promise.reject(new SinkError(`${this.name}: output failed earlier`, { cause: this.#error }));
    }
    let text = '';
    for (const a of alerts) text += `${JSON.stringify(toEcs(a, this.#ecs))}\n`;
    return new Promise((res, rej) => {
      this.#out.write(text, (err) => {
        if (err) rej(new SinkError(`${this.name}: writing ${alerts.length} alert(s) failed`, { cause: err }));
        else res();
      });
    });
  }

  close(): Promise<void> {
    if (!this.#owned) return Promise.resolve();
    return new Promise((res) => this.#out.end(() => res()));
  }
}
