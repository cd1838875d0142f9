// The one asc invocation for the package's AssemblyScript modules (build-wasm.mjs and the staleness test).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Modules under wasm/, each embedded as src/internal/<name>-wasm.ts. */
export const WASM_MODULES = ['hosts', 'prepare'];

/**
 * Shared memory imported from JavaScript (`env.memory`; the tables live in it and any thread may
 * attach), no runtime or allocator, no assertions: the module holds no data of its own.
 */
export async function compileWasm(name) {
  const asc = await import('assemblyscript/asc');
  const src = join(PKG, 'wasm', `${name}.ts`);
  let bytes;
  const { error, stderr } = await asc.main(
    [
      src,
      '-O3',
      '--runtime',
      'stub',
      '--noAssert',
      '--importMemory',
      '--sharedMemory',
      '--enable',
      'threads',
      '--initialMemory',
      '1',
      '--maximumMemory',
      '65536',
      '--use',
      'abort=',
      '--outFile',
      'out.wasm',
    ],
    {
      writeFile(file, contents) {
        if (file.endsWith('.wasm')) bytes = contents;
      },
    },
  );
  if (error) throw new Error(`asc ${name}: ${error.message}\n${stderr.toString()}`);
  if (bytes === undefined) throw new Error(`asc ${name}: no module written`);
  return { bytes, out: join(PKG, 'src', 'internal', `${name}-wasm.ts`) };
}
