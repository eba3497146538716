import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FoldnetError } from '../errors.js';
import { assembleKernels } from '../fast/assemble.js';
import type { WasmModule } from '../fast/wasm.js';
import type { Platform, ThreadData } from './platform.js';

/*
 * Node's side of the platform seam (platform.ts): the kernels' bytes come from the file system, threads are
 * worker_threads, and a result buffer comes from Buffer.allocUnsafeSlow.
 *
 * Where the bytes come from: the build (`node packages/core/scripts/build-wasm.mjs`, run by the root
 * `pnpm run build` before `tsc -b`) assembles the parts into dist/fast/kernels.wasm. When tests import the sources
 * without a build there is no kernels.wasm beside src/fast/, so the same text is assembled at load with wabt (a dev
 * dependency; fast/assemble.ts). Either way nothing binary is committed.
 */

const WebAssemblyModule: new (bytes: Uint8Array) => WasmModule = Reflect.get(Reflect.get(globalThis, 'WebAssembly'), 'Module');

const kernelBytes = async (): Promise<Uint8Array> => {
  const built = new URL('../fast/kernels.wasm', import.meta.url);
  if (existsSync(built)) return readFileSync(built);
  // sources (vitest, tsx) keep the parts in fast/wasm/; an unbuilt dist finds them in ../../src/fast/wasm
  for (const dir of [new URL('../fast/wasm/', import.meta.url), new URL('../../src/fast/wasm/', import.meta.url)]) {
    if (existsSync(new URL('manifest.txt', dir))) return assembleKernels(dir);
  }
  throw new FoldnetError('io', `fast kernels: neither ${built.pathname} nor the parts' wasm/manifest.txt was found; run \`pnpm run build\``);
};

/** Node's platform. @example platform.cores() // 2 on a 2-core machine */
export const platform: Platform = {
  name: 'node',
  // compiled synchronously: off a page's main thread no engine limits the size of a synchronous compile
  compileKernels: async () => new WebAssemblyModule(await kernelBytes()),
  cores: () => availableParallelism(),
  singleThreadReason: () => undefined,
  workersStartWhileBlocked: true,
  startThread: (main: string, data: ThreadData) => {
    // plain JavaScript passed as a string (`eval: true`): Node 20 cannot start a worker from a .ts file, and the
    // string works the same from sources and from dist. Unref'd: the pool never keeps the process alive.
    const source = `(${main})(require('node:worker_threads').workerData);`;
    new Worker(source, { eval: true, workerData: data }).unref();
  },
  // Buffer.allocUnsafeSlow: a buffer of its own that is not zero-filled first; a copy out writes every byte of it, so
  // the fill would only be a second pass over the memory (a 1.7 MB copy out: 0.19 against 0.29 ms)
  unfilledBuffer: (bytes: number) => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer,
  notice: (message: string) => process.emitWarning(message),
};
