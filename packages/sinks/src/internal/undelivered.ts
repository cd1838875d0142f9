/**
 * The undelivered-alerts file: NDJSON, one record per alert a sink could not deliver, appended in the
 * order the failures happened; writes are serialized and batched.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert } from '@rstwatch/detect';

export type UndeliveredReason = 'retries_exhausted' | 'permanent' | 'queue_full' | 'shutdown' | 'closed';

/** One line of the undelivered file. */
export interface UndeliveredRecord {
  /** Wall-clock time the alert was given up on (RFC 3339). */
  time: string;
  sink: string;
  reason: UndeliveredReason;
  /** The last error (with its causes), or why the alert was not attempted. */
  error: string;
  /** Delivery attempts made (0 when never attempted). */
  attempts: number;
  /** The alert as pushed (the Alert contract, not the ECS document): it can be pushed again. */
  alert: Alert;
}

export class UndeliveredFile {
  readonly path: string;
  readonly #onError: (err: unknown, records: readonly UndeliveredRecord[]) => void;
  #pending: UndeliveredRecord[] = [];
  #writing: Promise<void> | undefined;
  #dirMade = false;

  constructor(path: string, onError: (err: unknown, records: readonly UndeliveredRecord[]) => void) {
    this.path = path;
    this.#onError = onError;
  }

  append(record: UndeliveredRecord): void {
    this.#pending.push(record);
    this.#writing ??= this.#drain();
  }

  /** Resolves once every record appended so far is written (or reported as failed). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const records = this.#pending;
      this.#pending = [];
      try {
        if (!this.#dirMade) {
          await mkdir(dirname(this.path), { recursive: true });
          this.#dirMade = true;
        }
        await appendFile(this.path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      } catch (err) {
        this.#onError(err, records);
      }
    }
    this.#writing = undefined;
  }
}
