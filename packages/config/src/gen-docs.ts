/** Writes docs/config.md from the schema (`pnpm --filter @rstwatch/config docs`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configDocs } from './docs.js';

const out = fileURLToPath(new URL('../../../docs/config.md', import.meta.url));
writeFileSync(out, configDocs());
console.log(`wrote ${out}`);
