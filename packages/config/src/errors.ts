/** Configuration errors: they name the key (dotted path), where the value came from, and what is allowed. */

/** One problem found in the configuration. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `clickhouse.writer.maxRows` (empty for the file as a whole). */
  path: string;
  /** Where the offending value came from: `file.yaml:12`, `env RSTWATCH_…`, `override`, or `default`. */
  source?: string;
  message: string;
}

/** Thrown by `loadConfig`: `path` is the first offending key; `issues` lists all of them. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly path: string;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options);
    this.path = issues[0]?.path ?? '';
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  const at = i.path === '' ? '' : ` at ${i.path}`;
  const src = i.source === undefined ? '' : ` (${i.source})`;
  return `config error${at}${src}: ${i.message}`;
}
