#!/usr/bin/env node
/** Process entry of `rstwatch` (bundled into dist/bundle/ by scripts/bundle.mjs; main.ts loads it): wires stdio, environment and SIGINT/SIGTERM into the CLI. */
import * as nodeModule from 'node:module';

// Node >= 22.1 keeps the compiled code of every module on disk (os.tmpdir()/node-compile-cache unless
// NODE_COMPILE_CACHE names a directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off): start-up loads ~170
// modules. The worker threads inherit the directory through the environment.
// (Not in Node 20 or its type definitions.)
const { enableCompileCache } = nodeModule as { enableCompileCache?: () => { directory?: string } };
if (typeof enableCompileCache === 'function') {
  const cache = enableCompileCache();
  if (cache.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory;
}

// `rstwatch analyze FILE` on one engine (no --shards): its worker thread boots (Node bootstrap, the
// engine's modules) while the rest of the CLI loads, instead of after. Unused, it is closed below.
const argv = process.argv.slice(2);
const threads =
  argv[0] === 'analyze' && !argv.some((a) => a === '-h' || a === '--help' || a.startsWith('--shards'))
    ? await import('@rstwatch/processor/threads')
    : undefined;
threads?.prestartWorkerThreads(1);

const { main, reportError } = await import('./cli.js');

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
  process.exitCode = await main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: ac.signal,
  });
} catch (err) {
  process.exitCode = reportError(err, process);
} finally {
  await threads?.closePrestartedThreads();
}
