/** The one error type of the wire codec: what was wrong with a message, as a stable reason code. */

/**
 * Why a message could not be encoded or decoded. Stable codes: metrics and the dead-letter topic use
 * them as labels.
 * - `truncated`: the protobuf ended inside a field.
 * - `bad_protobuf`: not valid protobuf (bad wire type, bad tag, invalid UTF-8, ...).
 * - `missing_field`: a required field (sensor id) is empty.
 * - `bad_count`: `count` disagrees with the columns, or a sub-range is outside the batch.
 * - `bad_column_length`: a column's byte length does not match `count` (and the other columns).
 * - `too_large`: more headers than {@link MAX_BATCH_HEADERS}.
 * - `bad_ip_version`: an IP version other than 4 or 6.
 * - `bad_rst_payload`: a RST payload longer than 64 bytes.
 * - `bad_timestamp`: a timestamp that is negative, fractional or beyond 2^53 microseconds.
 * - `bad_value`: a number outside its field's range (e.g. a counter that is not a safe integer).
 */
export type WireErrorReason =
  | 'truncated'
  | 'bad_protobuf'
  | 'missing_field'
  | 'bad_count'
  | 'bad_column_length'
  | 'too_large'
  | 'bad_ip_version'
  | 'bad_rst_payload'
  | 'bad_timestamp'
  | 'bad_value';

/** Thrown by every encoder and decoder of this package on bad input; never anything else. */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly reason: WireErrorReason;

  constructor(reason: WireErrorReason, message: string, options?: { cause?: unknown }) {
    super(`${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** Most headers one HeaderBatch may carry; larger counts are rejected before anything is allocated. */
export const MAX_BATCH_HEADERS = 1_000_000;
