import { platform } from '#platform';
import { FoldnetError } from '../errors.js';

/*
 * The fast kernels' WebAssembly (the part files of wasm/, the source in git, assembled into one module) and the one
 * shared memory every thread's instance works in. Where the module's bytes come from is the platform's business
 * (platform/node.ts reads dist/fast/kernels.wasm or assembles the parts; platform/browser.ts fetches it); either way
 * the module is compiled once and ready before the first kernel runs (top-level await), so the kernel contract stays
 * synchronous.
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
  packDyImageRange(n0: number, n1: number, dy: number, N: number, P: number, FN: number, bp: number, db: number, side: number): void;
  sideFloats(FN: number, P: number): number;
  replayDb(side: number, N: number, FN: number, P: number, db: number): void;
  // pool.wat
  maxPool2x2(x: number, planes: number, H: number, W: number, OH: number, OW: number, out: number, arg: number, base: number): void;
  maxPool2x2Planes(p0: number, p1: number, x: number, H: number, W: number, OH: number, OW: number, out: number, arg: number, base: number): void;
  unpoolRelu(dy: number, out: number, arg: number, n: number, dst: number, len: number): void;
  unpoolReluPlanes(p0: number, p1: number, dy: number, out: number, arg: number, PQ: number, dst: number, P: number): void;
  unpoolPackDy(
    n0: number, n1: number, dy: number, out: number, arg: number, N: number, FN: number, P: number, PQ: number,
    scratch: number, bp: number, db: number, side: number,
  ): void;
  // pad.wat
  // relu.wat
  relu(x: number, n: number, out: number): void;
  reluBackward(x: number, dy: number, n: number, out: number): void;
  reluElements(i0: number, i1: number, x: number, out: number): void;
  reluBackwardElements(i0: number, i1: number, x: number, dy: number, out: number): void;
  // im2col.wat
  im2col(r0: number, r1: number, x: number, C: number, H: number, W: number, FH: number, FW: number, stride: number, pad: number, OH: number, OW: number, dst: number): void;
  col2im(n0: number, n1: number, src: number, ld: number, C: number, H: number, W: number, FH: number, FW: number, stride: number, pad: number, OH: number, OW: number, dst: number): void;
  gemmCol2imImages(
    n0: number, n1: number, dy: number, FN: number, bp: number, scratch: number, slotBytes: number, C: number, H: number, W: number, FH: number, FW: number,
    stride: number, pad: number, OH: number, OW: number, dst: number,
  ): void;
  // conv.wat
  convImages(
    n0: number, n1: number, x: number, imgBytes: number, wp4: number, rowTab: number, kTab: number, Kc: number, OH: number, OW: number,
    bp: number, bp10: number, FN: number, c: number, bias: number, out: number, pooled: number, arg: number, reluOut: number, skipFW: number, rowPairs: number,
    pointStride: number, xRow: number,
  ): void;
  // adam.wat
  adamTensors(i0: number, i1: number, table: number, count: number): void;
  // finite.wat
  finiteF32(p: number, n: number): number;
  // pool-filter-grad.wat
  poolFilterGrad(
    f0: number, f1: number, dy: number, out: number, arg: number, x: number, N: number, FN: number, C: number, Hp: number, Wp: number,
    FH: number, FW: number, stride: number, OH: number, OW: number, scratch: number, dwt: number, db: number,
  ): void;
  pfgSlotBytes(OH: number, OW: number, rows: number): number;
  // winograd.wat
  padPlanes(p0: number, p1: number, src: number, H: number, W: number, pad: number, dst: number, Hq: number, Wq: number): void;
  winogradTiles(
    g0: number, g1: number, xq: number, C: number, Hq: number, Wq: number, tH: number, gW: number, u: number, K: number, bias: number, epilogue: number,
    out: number, OH: number, OW: number, scratch: number, slotBytes: number, blockGroups: number, m: number, groupRows: number, multiply: number,
    stripPad: number, stripGroupRows: number,
  ): void;
  winogradDwTiles(
    i0: number, i1: number, xq: number, C: number, Hq: number, Wq: number, tH: number, gW: number, dyq: number, K: number, groups: number,
    shareGroups: number, partials: number, scratch: number, slotBytes: number, blockGroups: number, m: number, groupRows: number, kParts: number,
  ): void;
  // batchnorm.wat
  bnForward(
    c0: number, c1: number, x: number, N: number, C: number, S: number, gb: number, eps: number, batch: number, stats: number, coef: number, relu: number,
    addend: number, out: number,
  ): void;
  bnBackward(
    c0: number, c1: number, dy: number, x: number, out: number, N: number, C: number, S: number, gamma: number, stats: number, scalars: number,
    batch: number, coef: number, sums: number, dgb: number, dx: number, keep: number, fcoef: number, dy2: number,
  ): void;
  // add.wat
  addElements(i0: number, i1: number, a: number, b: number, out: number, relu: number): void;
  // stride2.wat
  stride2Dx(n0: number, n1: number, dy: number, FN: number, OH: number, OW: number, C: number, H: number, W: number, Hd: number, Ty: number, desc: number, dx: number, scratch: number): void;
  // winograd-filters.wat
  winogradFilterTransform(c0: number, c1: number, w: number, byCi: number, byKo: number, byRow: number, byCol: number, Cin: number, Kout: number, m: number, u: number, scratch: number, slotBytes: number): void;
  winogradDwFilters(kc0: number, kc1: number, sums: number, shares: number, plane: number, a: number, dw: number, scratch: number, slotBytes: number): void;
  // winograd-multiply.wat
  winogradMultiply(u: number, C: number, K: number, v: number, vStride: number, m: number, mStride: number, tiles: number, ldc: number, xis: number): void;
  // global-avg-pool.wat
  globalAvgPoolPlanes(p0: number, p1: number, x: number, S: number, y: number): void;
  globalAvgPoolBackwardPlanes(p0: number, p1: number, dy: number, S: number, dx: number): void;
  // conv-packed.wat
  convPackedImages(n0: number, n1: number, x: number, u: number, bias: number, out: number, reluOut: number, scratch: number, plan: number): void;
  // packed-dx.wat
  packedDxImages(
    g0: number, g1: number, N: number, dy: number, FN: number, w: number, scratch: number, slotBytes: number, C: number, H: number, W: number,
    FH: number, FW: number, stride: number, pad: number, OH: number, OW: number, dst: number,
  ): void;
}
interface WasmApi {
  readonly instantiate: (m: WasmModule, imports: { env: { memory: WasmMemory } }) => Promise<{ readonly exports: KernelExports }>;
  readonly Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasmApi: WasmApi = Reflect.get(globalThis, 'WebAssembly');

/**
 * Wasm pages are 64 KiB. The memory may grow to MAX_PAGES, one page short of the 2 GiB prelude.wat declares,
 * so that every byte offset fits the signed 32-bit slots the threads exchange job arguments in.
 */
export const PAGE_BYTES = 65536;
const MAX_PAGES = 32767;

/** The compiled kernels module, shared with the worker threads. @example platform.startThread(main, { control, module: kernelModule, memory }) */
export const kernelModule: WasmModule = await platform.compileKernels();

/** The memory every instance (this thread's and each worker's) works in. @example new Float32Array(memory.buffer) */
export const memory: WasmMemory = new wasmApi.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });

/**
 * This thread's instance of the kernels module on the shared memory (instantiated asynchronously: a page's main thread
 * may not instantiate a module this large synchronously). @example wasm.packB(pb, N, 1, K, N, pbp)
 */
export const wasm: KernelExports = (await wasmApi.instantiate(kernelModule, { env: { memory } })).exports;

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

// A buffer of its own that is not zero-filled first where the platform has one (Node's Buffer.allocUnsafeSlow): a copy
// out writes every byte of it.
const unfilled = platform.unfilledBuffer;

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
