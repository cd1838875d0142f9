/**
 * Where Zeek's test traces are (trace + conn.log baseline pairs from Zeek's own test suite, layout in
 * test/zeek/README.md). They are vendored in `test/zeek/traces/`;
 * `RSTWATCH_ZEEK_TRACES=DIR` compares with another set laid out the same way. Undefined only when neither
 * exists (a trimmed copy of the repository): the suites that compare with Zeek then skip, saying why.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const fromEnv = process.env.RSTWATCH_ZEEK_TRACES || undefined;
const inTree = join(import.meta.dirname, '..', 'zeek', 'traces');

export const ZEEK_TRACES: string | undefined = fromEnv ?? (existsSync(inTree) ? inTree : undefined);

/** Title suffix of a skipped Zeek suite. */
export const ZEEK_TRACES_MISSING =
  'SKIPPED: no Zeek traces (set RSTWATCH_ZEEK_TRACES or put them in test/zeek/traces, see test/zeek/README.md)';
