#!/usr/bin/env node
/** Process entry of `rstwatch`: wires stdio, environment and SIGINT/SIGTERM into the CLI. */
import { main, reportError } from './cli.js';

// `rstwatch query --list | head`: a closed stdout is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const ac = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`rstwatch: second ${sig}, exiting without cleanup\n`);
      process.exit(130);
    }
    ac.abort(new Error(`received ${sig}`));
  });
}

try {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: ac.signal,
  });
} catch (err) {
  process.exitCode = reportError(err, process);
}
