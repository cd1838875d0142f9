import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');
let mod: Yaml | undefined;

/**
 * The yaml library, loaded on first use: importing it costs ~35 ms of start-up, which a command run
 * without a config file (`rstwatch analyze FILE`, `--help`) does not need to pay.
 */
export function yaml(): Yaml {
  mod ??= createRequire(import.meta.url)('yaml') as Yaml;
  return mod;
}
