/** Exit codes of `rstwatch` (documented in the `--help` epilogue). */
export const EXIT_OK = 0;
/** Runtime failure: a server unreachable at start-up, a capture that failed, a query error. */
export const EXIT_FAILURE = 1;
/** Usage or configuration error: unknown command/flag, bad value, invalid config file. */
export const EXIT_USAGE = 2;
/** Input unreadable: capture file missing, not a pcap/pcapng, config file missing. */
export const EXIT_INPUT = 3;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  runtime failure (server unreachable, capture failed, query failed)
  2  usage or configuration error (unknown command or flag, invalid value; the key and allowed values are printed)
  3  input unreadable (capture or config file missing, not a pcap/pcapng capture)`;

/** An error the CLI reports as one line with a specific exit code (no stack trace). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
