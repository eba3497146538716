import { existsSync, readFileSync } from 'node:fs';
import { FoldnetError } from '../errors.js';

/*
 * Loading the fast kernels' WebAssembly (the part files of wasm/, the source in git, assembled into one module) and
 * the one shared memory every thread's instance works in.
 *
 * Where the bytes come from: the build (`node packages/core/scripts/build-wasm.mjs`, run by the root
 * `pnpm run build` before `tsc -b`) assembles the parts into dist/fast/kernels.wasm, which sits next to
 * dist/fast/wasm.js. When tests import the sources without a build there is no kernels.wasm next to
 * src/fast/wasm.ts, so the same text is assembled here at module load with wabt (a dev dependency). Both read the
 * parts' order from wasm/manifest.txt, put their text between "(module" and ")" and use the same feature flags, so
 * they produce the same bytes (test/wasm-parts.test.ts checks it). Either way nothing binary is committed, and the
 * module is ready before the first kernel runs (top-level await), so the kernel contract stays synchronous.
 */

// TypeScript's ES2022 lib has no WebAssembly types (they live in lib.dom), so this module declares the
// few members it uses and reads the global through Reflect: the one untyped boundary of the fast set.
/** A compiled WebAssembly module (opaque: it is only instantiated and posted to workers). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
/** A growable WebAssembly memory; `buffer` is a SharedArrayBuffer because the memory is shared. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
/** The functions the kernels module exports (pointers are byte offsets into the shared memory), by part file; see each file. */
export interface KernelExports {
  // gemm.wat
  packB(b: number, rsB: number, csB: number, K: number, N: number, bp: number): void;
  transpose(src: number, R: number, C: number, dst: number): void;
  gemmRows(m0: number, m1: number, N: number, K: number, a: number, rsA: number, csA: number, bp: number, c: number, ldc: number, acc: number, rowTab: number, kTab: number): void;
  // conv-layout.wat
  rowsToNchw(c: number, N: number, P: number, FN: number, ldc: number, bias: number, out: number): void;
  packDy(dy: number, N: number, P: number, FN: number, bp: number, db: number): void;
  sideFloats(FN: number, P: number): number;
  replayDb(side: number, N: number, FN: number, P: number, db: number): void;
  // pool.wat
  maxPool2x2(x: number, planes: number, H: number, W: number, OH: number, OW: number, out: number, arg: number, base: number): void;
  unpoolRelu(dy: number, out: number, arg: number, n: number, dst: number, len: number): void;
  unpoolPackDy(
    n0: number, n1: number, dy: number, out: number, arg: number, N: number, FN: number, P: number, PQ: number,
    scratch: number, bp: number, db: number, side: number,
  ): void;
  // pad.wat
  padImages(src: number, planes: number, H: number, W: number, pad: number, dst: number): void;
  // relu.wat
  relu(x: number, n: number, out: number): void;
  reluBackward(x: number, dy: number, n: number, out: number): void;
  // im2col.wat
  im2col(r0: number, r1: number, x: number, C: number, H: number, W: number, FH: number, FW: number, stride: number, pad: number, OH: number, OW: number, dst: number): void;
  col2im(n0: number, n1: number, src: number, ld: number, C: number, H: number, W: number, FH: number, FW: number, stride: number, pad: number, OH: number, OW: number, dst: number): void;
  // conv.wat
  convImages(
    n0: number, n1: number, x: number, imgBytes: number, wp4: number, rowTab: number, kTab: number, Kc: number, OH: number, OW: number,
    bp: number, FN: number, c: number, bias: number, out: number, pooled: number, arg: number, reluOut: number, skipZero: number,
  ): void;
  // adam.wat
  adam(i0: number, i1: number, p: number, g: number, m: number, v: number, outP: number, outM: number, outV: number, hyper: number, bad: number): void;
  // finite.wat
  finiteF32(p: number, n: number): number;
  // pool-filter-grad.wat
  poolFilterGrad(
    f0: number, f1: number, dy: number, out: number, arg: number, x: number, N: number, FN: number, C: number, Hp: number, Wp: number,
    FH: number, FW: number, stride: number, OH: number, OW: number, scratch: number, dwt: number, db: number,
  ): void;
  pfgSlotBytes(OH: number, OW: number, rows: number): number;
}
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (m: WasmModule, imports: { env: { memory: WasmMemory } }) => { readonly exports: KernelExports };
  readonly Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasmApi: WasmApi = Reflect.get(globalThis, 'WebAssembly');

/**
 * Wasm pages are 64 KiB. The memory may grow to MAX_PAGES, one page short of the 2 GiB prelude.wat declares,
 * so that every byte offset fits the signed 32-bit slots the threads exchange job arguments in.
 */
export const PAGE_BYTES = 65536;
const MAX_PAGES = 32767;
const features = { simd: true, threads: true };

/**
 * The part files of the kernels module in `dir`, in the order its manifest.txt lists them (one name a line, "#"
 * starts a comment), which is the order of their text in the module.
 *
 * @example kernelParts(new URL('./wasm/', import.meta.url)) // ['prelude.wat', 'gemm.wat', ...]
 */
export const kernelParts = (dir: URL): string[] =>
  readFileSync(new URL('manifest.txt', dir), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');

/**
 * The kernels module assembled from the part files in `dir` (see kernelParts): their text between "(module" and ")",
 * as scripts/build-wasm.mjs assembles it for the build.
 *
 * @example await assembleKernels(new URL('./wasm/', import.meta.url)) // the bytes of dist/fast/kernels.wasm
 */
export const assembleKernels = async (dir: URL): Promise<Uint8Array> => {
  const names = kernelParts(dir);
  const parts = names.map((name) => readFileSync(new URL(name, dir), 'utf8'));
  // wabt counts lines in the whole text: errors name the part file and its own line instead (part i starts at
  // line 2 + the lines of the parts before it; the last start is the closing ")")
  const starts = parts.reduce((s, part, i) => [...s, s[i] + part.split('\n').length], [2]);
  const where = (message: string): string =>
    message.replace(/kernels\.wat:(\d+):/g, (at: string, line: string) => {
      const i = starts.filter((s) => s <= Number(line)).length - 1;
      return i >= 0 && i < names.length ? `${names[i]}:${Number(line) - starts[i] + 1}:` : at;
    });
  let wabtInit;
  try {
    wabtInit = (await import('wabt')).default;
  } catch (e) {
    throw new FoldnetError('io', `fast kernels: assembling ${dir.pathname} needs the wabt package (run the build instead): ${String(e)}`);
  }
  const wabt = await wabtInit();
  try {
    const m = wabt.parseWat('kernels.wat', ['(module', ...parts, ')'].join('\n'), features);
    try {
      // wabt's typings omit validate's feature argument, but without it shared memory is refused
      Reflect.apply(m.validate, m, [features]);
      return m.toBinary({}).buffer;
    } finally {
      m.destroy();
    }
  } catch (e) {
    throw new FoldnetError('format', `fast kernels: ${where(e instanceof Error ? e.message : String(e))}`);
  }
};

const loadBytes = async (): Promise<Uint8Array> => {
  const built = new URL('./kernels.wasm', import.meta.url);
  if (existsSync(built)) return readFileSync(built);
  // sources (vitest, tsx) keep the parts in wasm/ beside this file; an unbuilt dist finds them in ../../src/fast/wasm
  for (const dir of [new URL('./wasm/', import.meta.url), new URL('../../src/fast/wasm/', import.meta.url)]) {
    if (existsSync(new URL('manifest.txt', dir))) return assembleKernels(dir);
  }
  throw new FoldnetError('io', `fast kernels: neither ${built.pathname} nor the parts' wasm/manifest.txt was found; run \`pnpm run build\``);
};

/** The compiled kernels module, shared with the worker threads. @example new Worker(src, { eval: true, workerData: { module: kernelModule, memory } }) */
export const kernelModule: WasmModule = new wasmApi.Module(await loadBytes());

/** The memory every instance (this thread's and each worker's) works in. @example new Float32Array(memory.buffer) */
export const memory: WasmMemory = new wasmApi.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });

/** Instantiates the kernels module on the shared memory. @example instantiate().gemmRows(0, M, N, K, pa, K, 1, pbp, pc, N, 0) */
export const instantiate = (): KernelExports => new wasmApi.Instance(kernelModule, { env: { memory } }).exports;

/** This thread's instance. @example wasm.packB(pb, N, 1, K, N, pbp) */
export const wasm: KernelExports = instantiate();

/**
 * Makes the memory at least `bytes` long. Growing a shared memory never detaches views already taken,
 * but they keep their old length, so callers take fresh views (`f32()`) after calling this.
 *
 * @example ensureBytes(64 + 4 * M * K); f32().set(a, 16);
 */
export const ensureBytes = (bytes: number): void => {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / PAGE_BYTES);
  if (have / PAGE_BYTES + pages > MAX_PAGES) {
    throw new FoldnetError('value', `fast kernels: ${bytes} bytes of working memory exceed the ${MAX_PAGES * PAGE_BYTES} bytes WebAssembly allows; use smaller batches`);
  }
  memory.grow(pages);
};

/** A float32 view of the whole memory as it is now. @example f32().set(a, pa / 4) */
export const f32 = (): Float32Array => new Float32Array(memory.buffer);

// A buffer of its own that is not zero-filled first (Node's Buffer.allocUnsafeSlow; a plain ArrayBuffer elsewhere):
// a copy out writes every byte of it, so the fill would only be a second pass over the memory (a 1.7 MB copy out:
// 0.19 against 0.29 ms, and a training step copies about ten of them).
const unfilled: (bytes: number) => ArrayBuffer =
  typeof Buffer === 'function' ? (bytes) => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer : (bytes) => new ArrayBuffer(bytes);

/** A fresh copy of the `n` floats at byte offset `at` of the memory. @example copyF32(pc, M * N) */
export const copyF32 = (at: number, n: number): Float32Array => {
  const out = new Float32Array(unfilled(4 * n));
  out.set(new Float32Array(memory.buffer, at, n));
  return out;
};

/** A fresh copy of the `n` int32s at byte offset `at` of the memory. @example copyI32(parg, n) */
export const copyI32 = (at: number, n: number): Int32Array => {
  const out = new Int32Array(unfilled(4 * n));
  out.set(new Int32Array(memory.buffer, at, n));
  return out;
};
