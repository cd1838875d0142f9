#!/usr/bin/env node
/**
 * `rstwatch`, as installed: loads the bundled CLI (`dist/bundle/`, written by `pnpm build` from
 * `rstwatch.ts` and the engine worker by `scripts/bundle.mjs`). The bundle is a few files per lazily
 * loaded part instead of ~250 modules (95 of them zod's), which takes ~80 ms off every command's start on
 * Node 20 (bench/README.md, "Fixed cost"). `node dist/rstwatch.js` runs the same program unbundled.
 */
import { existsSync } from 'node:fs';

const bundle = new URL('./bundle/rstwatch.js', import.meta.url);
if (existsSync(bundle)) {
  // @ts-expect-error: a build output next to this one (dist/bundle/), not a source tsc can see.
  await import('./bundle/rstwatch.js');
} else {
  process.stderr.write(`rstwatch: ${bundle.pathname} is missing: run \`pnpm build\` first\n`);
  process.exitCode = 1;
}
