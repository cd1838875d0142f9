import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script (plain JavaScript), not part of the package's typed sources.
import { compileWasm, WASM_MODULES } from '../../scripts/wasm-compile.mjs';
import { WASM_BASE64 as HOSTS } from './hosts-wasm.js';
import { WASM_BASE64 as PREPARE } from './prepare-wasm.js';

/** Every module scripts/wasm-compile.mjs builds, as embedded here. */
const EMBEDDED: Record<string, string> = { hosts: HOSTS, prepare: PREPARE };

/** Section ids of a module's binary (in order); 11 is the data section. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8; // magic + version
  while (p < bytes.length) {
    const id = bytes[p++]!;
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    ids.push(id);
    p += size;
  }
  return ids;
}

describe('embedded WebAssembly modules', () => {
  for (const name of WASM_MODULES as string[]) {
    it(`${name}: the embedded bytes are those wasm/${name}.ts compiles to, and hold no data of their own`, async () => {
      const { bytes } = (await compileWasm(name)) as { bytes: Uint8Array };
      // Stale: run `pnpm --filter @rstwatch/flow wasm` after editing wasm/.
      expect(Buffer.from(bytes).toString('base64')).toBe(EMBEDDED[name]);
      // No data segment (it would be copied into the shared table memory at every instantiation).
      expect(sectionIds(bytes)).not.toContain(11);
      const module = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    }, 60_000);
  }
});
