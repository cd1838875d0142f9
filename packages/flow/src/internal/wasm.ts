/**
 * The package's WebAssembly modules (compiled from `../../wasm/*.ts` by scripts/build-wasm.mjs and
 * embedded as base64) and the shared memories their tables live in. Only the few members of the
 * WebAssembly API used here are typed (Node 20's type definitions do not declare the namespace).
 */

/** A shared WebAssembly.Memory: structured-clonable to worker threads, its buffer a SharedArrayBuffer. */
export interface SharedMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}

const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Bytes per WebAssembly memory page. */
export const WASM_PAGE = 65536;

/** A new shared memory of `pages` pages, fixed size. */
export function sharedMemory(pages: number): SharedMemory {
  return new Wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

/** Compiled modules of this thread, by their embedded bytes. */
const compiled = new Map<string, object>();

/** An instance of the embedded module `base64` over `memory` (its only import, `env.memory`). */
export function instantiate<T>(base64: string, memory: SharedMemory): T {
  let module = compiled.get(base64);
  if (module === undefined) {
    module = new Wasm.Module(Buffer.from(base64, 'base64'));
    compiled.set(base64, module);
  }
  return new Wasm.Instance(module, { env: { memory } }).exports as T;
}
