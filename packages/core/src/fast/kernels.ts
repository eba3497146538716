import type { ReadonlyData } from '../dtype.js';
import type { ConvGeometry } from '../geometry.js';
import type { AdamItem, AdamResult, AdamStep, Conv2dGrads, Conv2dResult, ConvReluPoolResult, Kernels, MaxPoolResult } from '../kernels/contract.js';
import { composedFusions } from '../kernels/composed.js';
import { allFinite as allFiniteLoop, referenceKernels } from '../kernels/reference.js';
import { sizeOf, type Shape } from '../shape.js';
import { fromData, type Tensor, zeros } from '../tensor.js';
import { gemm, gemmIndexedJob, gemmPacked, padN } from './gemm.js';
import { bytesOf, inputAt, isMemoryView, recordResident, residentAt, residentSlot, resultOut, resultSlot, scopedOut, scopeFloats, scopeInts, scopeSlot, type Slot, slots, workspace } from './layout.js';
import { padPlanes } from './pad.js';
import { notePath, winogradName } from './paths.js';
import { type ChunkJob, getThreads, PARALLEL_MIN_MACS, runChunkJob, runChunks, runTogether } from './threads.js';
import { copyF32, copyI32, f32, wasm } from './wasm.js';
import {
  type WinogradPlan, winogradConv, winogradConvAt, winogradDwFloats, winogradDwJob, winogradDwPlan, winogradDxFloats, winogradDxJob, winogradDxPlan, winogradPlan,
} from './winograd.js';
import { add, addRelu } from './add.js';
import { globalAvgPool2d, globalAvgPool2dBackward } from './global-avg-pool.js';
import { batchNorm, batchNormAddRelu, batchNormAddReluBackward, batchNormBackward, batchNormRelu, batchNormReluBackward } from './batchnorm.js';
import { STRIDE2_NAME, stride2DxFloats, stride2DxJob, stride2DxPlan } from './stride2.js';
import { convolvePacked, PACKED_GEMM_NAME, packedForwardPlan } from './conv-packed.js';

/*
 * The `fast` kernel set: float32 only (float64 goes to the reference kernels, which stay the oracle).
 * GEMMs run in WebAssembly SIMD on the shared memory (wasm/gemm.wat, see gemm.ts and threads.ts); the
 * layout work around them is written so each element is touched once: the convolution's GEMM reads
 * im2col(x) in place from the image (an implicit im2col: no col is built, forward or backward), its output
 * is read out of the GEMM's result with the bias (and ReLU, and the 2x2 pool, when fused) in the same pass,
 * dy is written straight into the packed layout the filter-gradient GEMM reads, col2im reads the GEMM's
 * result in place, and pooling walks the windows directly (windows wholly inside the image, pad 0, take a
 * path without bounds checks; the lesson's 2x2 max pool is unrolled and branch-free in wasm). 3x3 stride-1 convolutions
 * of enough channels, their input gradients and their filter gradients go by Winograd's minimal filtering instead
 * (winograd.ts), chosen once per shape.
 */

const ref = referenceKernels;
// float64 operands of a fused chain: its composition over the reference set
const refFused = composedFusions(referenceKernels);
const isF64 = (t: Tensor): boolean => t.dtype === 'float64';

/** Below this many floats of col an im2col runs on the calling thread (a copy that size takes ~0.1 ms). */
const PARALLEL_MIN_COL = 1 << 18;

/**
 * Below this many floats ReLU, its pullback and packing dy for the filter gradient run on the calling thread: split
 * across 2 threads with the second core free, ReLU's pullback paid from 2^16 floats (x1.21; x1.00 at 2^15, x0.65 at
 * 2^13) and packing dy from ~2^16.3 (x1.08 at 78,400 floats, x0.84 at 50,176).
 */
const PARALLEL_MIN_FLOATS = 1 << 16;
/**
 * The same for the 2x2 pool and its ReLU pullback (floats of the pool's input), which do more per float: split, they
 * paid from 2^13 floats (x1.27 and x1.14; x1.29 and x1.18 at 2^14).
 */
const PARALLEL_MIN_POOL_FLOATS = 1 << 14;

/** relu.wat's reluBackward over n floats (dy masked where x <= 0) into `pout`, split across the threads by elements. */
const reluBackwardAt = (px: number, pdy: number, n: number, pout: number): void =>
  // shares of whole multiples of 4 elements: each thread's vector loop covers what one call's would
  runChunks('reluBackwardElements', n, 4, [px, pdy, pout], n >= PARALLEL_MIN_FLOATS);

/**
 * pool.wat's maxPool2x2 over `planes` planes of H x W at `px` into out and argmax (OH x OW per plane, indices into the
 * input counted from px), split across the threads by planes: the same outputs and indices as one call.
 */
const maxPool2x2Into = (px: number, planes: number, H: number, W: number, OH: number, OW: number, pout: number, parg: number): void =>
  runChunks('maxPool2x2Planes', planes, 1, [px, H, W, OH, OW, pout, parg, 0], planes * H * W >= PARALLEL_MIN_POOL_FLOATS);

/**
 * im2col in the shared memory: x [N, C, H, W], already at byte offset `px`, -> rows (n, oy, ox) x columns
 * (c, fy, fx) at `pdst`, row length C*FH*FW (im2col.wat's im2col: padding written as 0, window rows copied a
 * vector at a time), its rows split across the threads when large.
 */
const im2colAt = (xShape: Shape, g: ConvGeometry, px: number, pdst: number): void => {
  const [N, C, H, W] = xShape;
  const rows = N * g.outH * g.outW;
  runChunks('im2col', rows, 1, [px, C, H, W, g.filterH, g.filterW, g.stride, g.pad, g.outH, g.outW, pdst], rows * C * g.filterH * g.filterW >= PARALLEL_MIN_COL);
};

/**
 * col2im in the shared memory: rows (n, oy, ox) of the im2col layout at byte offset `psrc`, `ld` >= C*FH*FW floats
 * apart, folded into a fresh image [N, C, H, W] at `pdst` (im2col.wat's col2im, split across the threads by images
 * when large).
 */
const col2imAt = (psrc: number, ld: number, xShape: Shape, g: ConvGeometry, pdst: number): void => {
  const [N, C, H, W] = xShape;
  const work = N * g.outH * g.outW * C * g.filterH * g.filterW;
  runChunks('col2im', N, 1, [psrc, ld, C, H, W, g.filterH, g.filterW, g.stride, g.pad, g.outH, g.outW, pdst], work >= PARALLEL_MIN_COL);
};

const matmul = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor => {
  if (isF64(a) || isF64(b)) return ref.matmul(a, b, transA, transB);
  const M = transA ? a.shape[1] : a.shape[0];
  const K = transA ? a.shape[0] : a.shape[1];
  const N = transB ? b.shape[0] : b.shape[1];
  // into a result slot: in a result scope the product stays in its area (an affine layer's output, its dx)
  const out = resultSlot(M * N, [a.data, b.data]);
  gemm(a.data, b.data, M, N, K, transA, transB, out.offset);
  return fromData([M, N], resultOut(out, M * N));
};

const im2col = (x: Tensor, g: ConvGeometry): Tensor => {
  if (isF64(x)) return ref.im2col(x, g);
  const [N, C] = x.shape;
  const cols = C * g.filterH * g.filterW;
  const rows = N * g.outH * g.outW;
  const [px, pcol] = workspace([x.size, rows * cols]);
  f32().set(x.data, px / 4);
  im2colAt(x.shape, g, px, pcol);
  return fromData([rows, cols], copyF32(pcol, rows * cols));
};

const col2im = (col: Tensor, xShape: Shape, g: ConvGeometry): Tensor => {
  if (isF64(col)) return ref.col2im(col, xShape, g);
  const [psrc, pdst] = workspace([col.size, sizeOf(xShape)]);
  f32().set(col.data, psrc / 4);
  col2imAt(psrc, col.shape[1], xShape, g, pdst);
  return fromData(xShape, copyF32(pdst, sizeOf(xShape)));
};

/**
 * x [N, C, H, W] zero-padded by `pad` on every side ([N, C, H+2pad, W+2pad]) in the shared memory: gives its byte
 * offset, `pxp` (padded there by padPlanes from where x is resident, or from a copy at `pstage`, x.size floats), or,
 * without padding, where x already is (inputAt: its result slot, or a copy at `pxp`).
 */
const paddedInto = (x: Tensor, pad: number, pxp: number, pstage: number): number => {
  const [N, C, H, W] = x.shape;
  if (pad === 0) return inputAt(x.data, pxp);
  padPlanes(N * C, inputAt(x.data, pstage), H, W, pad, pxp);
  return pxp;
};

/**
 * Writes x zero-padded (paddedInto; gives its byte offset, `pxp` or where x already is) and the byte-offset tables
 * through which gemm.wat's gemmRows reads im2col(x) in place from it (an implicit im2col): row (n, oy, ox) of the im2col
 * matrix starts at rowTab[r] = 4*(n*C*Hp*Wp + oy*stride*Wp + ox*stride), and column (c, fy, fx) adds
 * kTab[k] = 4*(c*Hp*Wp + fy*Wp + fx); rowTab has N*OH*OW entries, kTab C*FH*FW. `prow` 0: no rowTab.
 */
const implicitIm2col = (x: Tensor, g: ConvGeometry, pxp: number, prow: number, pk: number, pstage: number): number => {
  const [N, C, H, W] = x.shape;
  const at = paddedInto(x, g.pad, pxp, pstage);
  const { rowTab, kTab } = offsetTables(N, C, H + 2 * g.pad, W + 2 * g.pad, g);
  const mem = f32();
  if (prow !== 0) new Int32Array(mem.buffer, prow, rowTab.length).set(rowTab);
  new Int32Array(mem.buffer, pk, kTab.length).set(kTab);
  return at;
};

/**
 * implicitIm2col's offset tables, which depend on the shapes alone: kept for the last few geometries (a network
 * has one per conv layer, and the same batch size step after step), as building rowTab in JavaScript cost more
 * than the ~0.02 ms its copy takes (57600 entries for the lesson's conv).
 */
const tableCache = new Map<string, { readonly rowTab: Int32Array; readonly kTab: Int32Array }>();
const TABLES_KEPT = 8;

const offsetTables = (N: number, C: number, Hp: number, Wp: number, g: ConvGeometry): { readonly rowTab: Int32Array; readonly kTab: Int32Array } => {
  const { stride, filterH: FH, filterW: FW, outH, outW } = g;
  const key = `${N},${C},${Hp},${Wp},${stride},${FH},${FW},${outH},${outW}`;
  const hit = tableCache.get(key);
  if (hit !== undefined) return hit;
  const rowTab = new Int32Array(N * outH * outW);
  let r = 0;
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) rowTab[r++] = 4 * (n * C * Hp * Wp + oy * stride * Wp + ox * stride);
  const kTab = new Int32Array(C * FH * FW);
  let k = 0;
  for (let c = 0; c < C; c++) for (let fy = 0; fy < FH; fy++) for (let fx = 0; fx < FW; fx++) kTab[k++] = 4 * (c * Hp * Wp + fy * Wp + fx);
  if (tableCache.size >= TABLES_KEPT) tableCache.delete(tableCache.keys().next().value ?? '');
  const tables = { rowTab, kTab };
  tableCache.set(key, tables);
  return tables;
};

/** Whether convolutions that can take conv.wat's direct path do (tests turn it off to compare it with the GEMM path). */
let directConv = true;
/** @example setDirectConv(false); // every convolution through the GEMM on the implicit im2col */
export const setDirectConv = (on: boolean): void => {
  directConv = on;
};

/** Whether conv.wat's direct path takes a convolution of geometry g with Kc = C*FH*FW weights per filter (see convolve). */
const takesDirect = (g: ConvGeometry, Kc: number): boolean => directConv && g.stride === 1 && g.outW >= 8 && Kc <= 256;

/** The name `traceConvPaths` gives the direct path of a 1x1 convolution's pixels as one row. */
export const POINTWISE_NAME = 'direct 1x1';

/** Whether 1x1 convolutions that can take the direct path over their pixels as one row do (tests turn it off to compare). */
let pointwiseConv = true;
/** @example setPointwiseConv(false); // 1x1 convolutions by rows (stride 1, OW >= 8) or by the GEMM */
export const setPointwiseConv = (on: boolean): void => {
  pointwiseConv = on;
};

/**
 * Whether conv.wat's direct path takes a 1x1 convolution (pad 0, any stride) over each image's OH*OW output pixels as
 * one row (see convImages' $pointStride): resnet's stride-2 shortcuts, where the GEMM over 4-row tiles of pixels and
 * the transpose into NCHW cost more than their sums over C = 16 or 32 channels.
 */
const takesPointwise = (g: ConvGeometry, Kc: number): boolean =>
  directConv && pointwiseConv && g.filterH === 1 && g.filterW === 1 && g.pad === 0 && g.outH * g.outW >= 8 && Kc <= 256;

/** How the direct path's 4-pixel tiles take the filters when tests force it: by 5 (true), by 8 (false); undefined: directNarrowBy5 decides. */
let forcedNarrowBy5: boolean | undefined;
/** @example setDirectNarrowBy5(true); // 4-pixel tiles by half panels of 10; setDirectNarrowBy5(undefined) to let FN decide */
export const setDirectNarrowBy5 = (by5: boolean | undefined): void => {
  forcedNarrowBy5 = by5;
};

/**
 * Whether the direct path's 4-pixel tiles (a row's last 4 pixels, when OW mod 8 is 1 to 4) take FN filters 5 at a time
 * (conv.wat's convDirect4x5, panels of 10) rather than 8 (convDirect4): where that computes no more filters, ties
 * included (5 accumulators fit V8's registers, 8 spill): FN = 10 computes 10 filters, not 16; FN = 20, 20, not 24.
 */
export const directNarrowBy5 = (FN: number, OW: number): boolean => {
  const narrow = OW % 8 !== 0 && OW % 8 <= 4;
  return narrow && (forcedNarrowBy5 ?? Math.ceil(FN / 5) * 5 <= Math.ceil(FN / 8) * 8);
};

/** Whether the direct path may take the last 2 filters over row pairs (tests turn it off to compare). */
let rowPairsOn = true;
/** @example setDirectRowPairs(false); // every 8-pixel tile by 4 filters, the last group's extra 2 thrown away */
export const setDirectRowPairs = (on: boolean): void => {
  rowPairsOn = on;
};

/**
 * Whether the direct path's 8-pixel tiles take FN's last 2 filters over two rows at a time (conv.wat's
 * convTile2x2rows): where FN mod 4 is 2 (DoubleConvNet's 10, SimpleConvNet's 30), so that no tile computes 4 filters
 * of which 2 are thrown away, with at least 2 output rows.
 */
export const directRowPairs = (FN: number, OH: number): boolean => rowPairsOn && FN % 4 === 2 && OH >= 2;

/**
 * W [FN, Kc] at byte pw packed in panels of 10 filters at byte pbp10 for the direct path's 4-pixel tiles:
 * Bp[q][k][j] = W[10q + j, k], zero past FN. Floats: panels10Floats.
 */
const packPanels10 = (pw: number, Kc: number, FN: number, pbp10: number): void => {
  const mem = f32();
  const [w, bp] = [pw / 4, pbp10 / 4];
  mem.fill(0, bp, bp + panels10Floats(Kc, FN));
  for (let f = 0; f < FN; f++) {
    const at = bp + Math.floor(f / 10) * 10 * Kc + (f % 10);
    for (let k = 0; k < Kc; k++) mem[at + 10 * k] = mem[w + f * Kc + k];
  }
};

/** Floats of packPanels10's panels: Kc rows of 10 per 10 filters. */
const panels10Floats = (Kc: number, FN: number): number => Kc * 10 * Math.ceil(FN / 10);

// out = im2col(x) . Wᵀ + b, with im2col(x) never built. Each thread takes whole images (conv.wat's convImages) through
// the convolution, the bias and what follows, so all of it runs in parallel. The convolution is direct (convDirect:
// 4 filters x 8 adjacent output pixels per tile, read from the padded image, written in NCHW; a row's last 4 pixels by
// 8 or 5 filters, directNarrowBy5; FN mod 4 = 2's last 2 filters over row pairs, directRowPairs) for stride 1, at least
// 8 output columns and Kc <= 256, and for 1x1 convolutions at any stride over their pixels as one row (takesPointwise:
// at stride 2 or more the pixels gathered first), where it gives the GEMM path's output bit for bit without its layout pass; otherwise
// by a GEMM: without a pool, over packed pixel panels where conv-packed.ts takes the shape (FN >= 2, OW >= 4: resnet's
// stride-2 layers; the same bits), else on im2col(x) read in place from the padded images (implicitIm2col) into rows
// [R, FN] (FN padded to whole panels), which conv-layout.wat's rowsToNchw turns into [N, FN, OH, OW] adding the bias.
// The filters are packed once.
// Gives the byte offset of out; `then: 'relu'` applies ReLU to out in place; `then: { pool }` (the lesson's 2x2
// stride-2 pool) also gives the offset of pooled = relu(maxPool(out)) [N, FN, OH/2, OW/2], and with `then.at` (a kept
// area, for training) both go there with the argmax (indices into out); without it the pooled output goes to the
// workspace and no argmax is made.
const convolve = (
  x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, then?: { pool: ConvGeometry; at?: { readonly ppool: number; readonly parg: number } } | 'relu', out?: Slot,
): { pout: number; ppool: number; parg: number; R: number; FN: number } => {
  const pool = typeof then === 'object' ? then.pool : undefined;
  const at = typeof then === 'object' ? then.at : undefined;
  const [N, C, H, W] = x.shape;
  const FN = w.shape[0];
  const Kc = w.size / FN;
  const R = N * g.outH * g.outW;
  const [Hp, Wp] = [H + 2 * g.pad, W + 2 * g.pad];
  const P = g.outH * g.outW;
  const pointwise = takesPointwise(g, Kc);
  const gathered = pointwise && g.stride > 1;
  const direct = pointwise || takesDirect(g, Kc);
  const packed = direct || pool !== undefined ? undefined : packedForwardPlan(x.shape, FN, g);
  if (packed !== undefined) {
    notePath('forward', x.shape, w.shape, PACKED_GEMM_NAME);
    return { pout: convolvePacked(packed, x, w, b, then === 'relu', out), ppool: 0, parg: 0, R, FN };
  }
  // the direct path's rows: a 1x1 convolution's pixels as one row of P
  const by5 = direct && directNarrowBy5(FN, pointwise ? P : g.outW);
  const nPool = pool === undefined || at !== undefined ? 0 : N * FN * pool.outH * pool.outW;
  // pc: the GEMM's rows, or a strided 1x1 convolution's gathered pixels [C, P] per image (a chunk uses its first image's)
  const [pxp, prow, pk, pw, pbp, pc, pb, pwork, pwpool = 0, pstage, pbp10] = workspace([
    N * C * Hp * Wp, direct ? 0 : R, Kc, FN * Kc, Kc * padN(FN), gathered ? N * C * P : direct ? 0 : R * padN(FN), FN, out === undefined ? R * FN : 0, nPool,
    g.pad > 0 ? x.size : 0, by5 ? panels10Floats(Kc, FN) : 0,
  ]);
  const pout = out?.offset ?? pwork;
  // parg 0: pool.wat pools and applies ReLU in one pass, without the argmax
  const { ppool, parg } = at ?? { ppool: pwpool, parg: 0 };
  const pxAt = implicitIm2col(x, g, pxp, direct ? 0 : prow, pk, pstage);
  const mem = f32();
  // gathered, channel c's pixels are P floats apart: kTab[c] = 4*c*P (at stride 1, 4*c*H*W as implicitIm2col wrote it)
  if (gathered) new Int32Array(mem.buffer, pk, Kc).forEach((_, c, kTab) => (kTab[c] = 4 * c * P));
  mem.set(w.data, pw / 4);
  mem.set(b.data, pb / 4);
  // B[k, f] = W[f, k]: W read transposed in place
  wasm.packB(pw, 1, Kc, Kc, FN, pbp);
  if (by5) packPanels10(pw, Kc, FN, pbp10);
  // with finite weights, the direct path skips the sums of tiles whose inputs are all zero (they would be +0); its
  // check reads the window by rows of FW taps
  const skipFW = direct && wasm.finiteF32(pw, FN * Kc) === 1 ? g.filterW : 0;
  const args = [
    pxAt, 4 * C * Hp * Wp, direct ? 4 * (pointwise ? P : Wp) : 0, prow, pk, Kc, g.outH, g.outW, pbp, by5 ? pbp10 : 0, FN, pc, pb, pout, pool ? ppool : 0, pool ? parg : 0,
    then === 'relu' ? 1 : 0, skipFW, direct && !pointwise && directRowPairs(FN, g.outH) ? 1 : 0, pointwise ? g.stride : 0, 4 * W,
  ];
  runChunks('convImages', N, 1, args, R * FN * Kc >= PARALLEL_MIN_MACS);
  notePath('forward', x.shape, w.shape, pointwise ? POINTWISE_NAME : direct ? 'direct' : 'GEMM');
  return { pout, ppool, parg, R, FN };
};

const conv2d = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Conv2dResult => {
  if (isF64(x) || isF64(w) || isF64(b)) return ref.conv2d(x, w, b, g);
  return { out: conv2dOut(x, w, b, g), col: im2col(x, g) };
};

/** The convolution's output [N, FN, OH, OW] (ReLU applied with `then: 'relu'`), copied out of the shared memory. */
const convolvedOut = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, then?: 'relu'): Tensor => {
  // 3x3 stride-1 convolutions of enough channels by Winograd (winograd.ts), decided once per shape
  const wino = winogradPlan(x.shape, w.shape[0], g);
  if (wino !== undefined) {
    notePath('forward', x.shape, w.shape, winogradName(wino.m));
    return winogradConv(wino, x, w, b, then === 'relu');
  }
  const n = x.shape[0] * w.shape[0] * g.outH * g.outW;
  const out = resultSlot(n, [x.data]);
  convolve(x, w, b, g, then, out);
  return fromData([x.shape[0], w.shape[0], g.outH, g.outW], resultOut(out, n));
};

// The output alone: im2col(x) is never built (it is the largest array of a forward).
const conv2dOut = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor =>
  isF64(x) || isF64(w) || isF64(b) ? ref.conv2dOut(x, w, b, g) : convolvedOut(x, w, b, g);

/**
 * The input gradient of a stride-1 convolution is itself a stride-1 convolution: dx [N, C, H, W] = dy [N, FN, OH, OW]
 * padded by FH - 1 - pad, convolved with the filters turned by 180° and their channels swapped (W'[c, f, i, j] =
 * W[f, c, FH-1-i, FW-1-j], Kc' = FN*FH*FW weights per filter). Where conv.wat's direct path takes that convolution
 * and every weight is finite, its geometry; else undefined. (The padding's zeros times an infinite weight would make
 * NaN where the GEMM path, which sums only the taps that land in the image, gives a number.) For DoubleConvNet's second
 * layer (dx of 10 channels at 12x12 from 20) it replaces the GEMM and col2im (dcol, 100x12x12 rows of 90, scattered
 * back) that Winograd could not beat there (winograd.ts, MIN_CHANNELS): its dx 7.2 -> 2.9 ms (batch 100, 1 thread).
 */
const directDxGeometry = (dyShape: Shape, xShape: Shape, w: Tensor, g: ConvGeometry): ConvGeometry | undefined => {
  const [, FN, OH, OW] = dyShape;
  const [, , H, W] = xShape;
  const [, , FH, FW] = w.shape;
  if (g.stride !== 1 || FH !== FW || g.pad > FH - 1) return undefined;
  const turned: ConvGeometry = { inH: OH, inW: OW, filterH: FH, filterW: FW, stride: 1, pad: FH - 1 - g.pad, outH: H, outW: W };
  return takesDirect(turned, FN * FH * FW) && allFinite(w) ? turned : undefined;
};

/**
 * directDx's scratch, in floats: dy padded, the offsets of one window (i32), the turned filters, packed (and in panels
 * of 10 when the 4-pixel tiles take them: directNarrowBy5), and a zero bias.
 */
const directDxAreas = (gt: ConvGeometry, dyShape: Shape, C: number): number[] => {
  const [N, FN, OH, OW] = dyShape;
  const Kc = FN * gt.filterH * gt.filterW;
  return [N * FN * (OH + 2 * gt.pad) * (OW + 2 * gt.pad), Kc, C * Kc, Kc * padN(C), C, directNarrowBy5(C, gt.outW) ? panels10Floats(Kc, C) : 0];
};

/**
 * dx [N, C, H, W] by conv.wat's direct convolution (geometry `gt` from directDxGeometry), from dy already at byte `pdy`
 * of the shared memory and the forward's filters w [FN, C, FH, FW]; `areas` are the offsets of directDxAreas' regions,
 * dx goes to `pdx`. Threads take whole images, as in the forward.
 */
const directDx = (gt: ConvGeometry, dyShape: Shape, w: Tensor, pdy: number, areas: readonly number[], pdx: number): void => {
  const [N, FN, OH, OW] = dyShape;
  const [, C, FH, FW] = w.shape;
  const [pdyp, pk, pw, pbp, pb, pbp10] = areas;
  const [Hp, Wp] = [OH + 2 * gt.pad, OW + 2 * gt.pad];
  const Kc = FN * FH * FW;
  padPlanes(N * FN, pdy, OH, OW, gt.pad, pdyp);
  const mem = f32();
  new Int32Array(mem.buffer, pk, Kc).set(offsetTables(N, FN, Hp, Wp, gt).kTab);
  const turned = mem.subarray(pw / 4, pw / 4 + C * Kc);
  const W = w.data;
  for (let c = 0, t = 0; c < C; c++)
    for (let f = 0; f < FN; f++)
      for (let i = FH - 1; i >= 0; i--) for (let j = FW - 1; j >= 0; j--) turned[t++] = W[((f * C + c) * FH + i) * FW + j];
  wasm.packB(pw, 1, Kc, Kc, C, pbp);
  const by5 = directNarrowBy5(C, gt.outW);
  if (by5) packPanels10(pw, Kc, C, pbp10);
  mem.fill(0, pb / 4, pb / 4 + C);
  // the weights are finite (directDxGeometry), so tiles of all-zero dy may skip their sums
  const args = [pdyp, 4 * FN * Hp * Wp, 4 * Wp, 0, pk, Kc, gt.outH, gt.outW, pbp, by5 ? pbp10 : 0, C, 0, pb, pdx, 0, 0, 0, FW, directRowPairs(C, gt.outH) ? 1 : 0, 0, 0];
  runChunks('convImages', N, 1, args, N * gt.outH * gt.outW * C * Kc >= PARALLEL_MIN_MACS);
};

/**
 * Floats of an image's slot when the input gradient goes by GEMM + col2im (im2col.wat's gemmCol2imImages): its dcol
 * [OH*OW, C*FH*FW], then the gather's lists (4*FH*FW, and per row and column of dx the windows over it,
 * H*(FH + 1) + W*(FW + 1)).
 */
const gemmDxSlotFloats = (dyShape: Shape, xShape: Shape, g: ConvGeometry): number => {
  const [, , OH, OW] = dyShape;
  const [, C, H, W] = xShape;
  const [FH, FW] = [g.filterH, g.filterW];
  return OH * OW * C * FH * FW + 4 * FH * FW + H * (FH + 1) + W * (FW + 1);
};

/** Whether the input gradient by GEMM + col2im may go by packed panels (tests turn it off to compare with gemmCol2imImages). */
let packedInputGradient = true;
/** @example setPackedInputGradient(false); // dx by GEMM + col2im image by image, gemm.wat's micro-kernel */
export const setPackedInputGradient = (on: boolean): void => {
  packedInputGradient = on;
};

/** The input gradient's name in traces and `foldnet bench` when it goes by packed panels: GEMM + col2im's sums. */
export const PACKED_DX_NAME = 'packed GEMM + col2im';

/** Images a group of the packed input gradient: a pixel's images are the lanes of one vector (packed-dx.wat). */
const PACKED_DX_IMAGES = 4;

/**
 * Whether the input gradient by GEMM + col2im goes by packed panels, four images at once (packed-dx.wat's
 * packedDxImages), which gives the same bits: where the sums over the filters are at most 256 deep (winogradMultiply's
 * one block, where $gemmRows adds blocks of 256), windows overlap (so a filter has at least 2 weights, its tile's 2
 * rows; where they do not, image by image folds each entry by a plain store, $col2imDisjoint, and the panels measured
 * no faster: the 1x1 stride-2 shortcut's dx 1.00x at 1 thread, 0.90x at 2) and the last group's lanes past
 * the batch are at most an eighth of its images (9 images computed as 12 ran 0.89x).
 * resnet's 3x3 stride-2 layer at 14x14, batch 100: its dx 1.13-1.20x at 1 thread (CPU time), dx and dW 1.05-1.18x at 2.
 */
const takesPackedDx = (dyShape: Shape, g: ConvGeometry): boolean => {
  const [N, FN] = dyShape;
  const overlapping = g.stride < g.filterH || g.stride < g.filterW;
  const pastBatch = Math.ceil(N / PACKED_DX_IMAGES) * PACKED_DX_IMAGES - N;
  return packedInputGradient && FN >= 1 && FN <= 256 && overlapping && N >= PACKED_DX_IMAGES && 8 * pastBatch <= N;
};

/**
 * Floats of a group's slot when the input gradient goes by packed panels: dcolᵀ [Kc, ldc] and dy's panels [FN, ldc]
 * (ldc: the group's 4*OH*OW columns rounded up to a pair of panels, 16), each pixel of dx's list of entries (1 + FH*FW),
 * and the windows over each row and column of dx (H*(FH + 1) + W*(FW + 1)); a multiple of 16, so that every slot's
 * rows start on a cache line.
 */
export const packedDxSlotFloats = (dyShape: Shape, xShape: Shape, g: ConvGeometry): number => {
  const [, FN, OH, OW] = dyShape;
  const [, C, H, W] = xShape;
  const [FH, FW] = [g.filterH, g.filterW];
  const ldc = Math.ceil((PACKED_DX_IMAGES * OH * OW) / 16) * 16;
  return Math.ceil(((C * FH * FW + FN) * ldc + H * W * (1 + FH * FW) + H * (FH + 1) + W * (FW + 1)) / 16) * 16;
};

/**
 * The input gradient's regions in floats when it goes by GEMM + col2im: W staged and W packed, a slot per image; or by
 * packed panels: W as it lies, a slot per group of four images.
 */
const gemmDxAreas = (dyShape: Shape, xShape: Shape, g: ConvGeometry): number[] => {
  const [N, FN] = dyShape;
  const Kc = xShape[1] * g.filterH * g.filterW;
  if (takesPackedDx(dyShape, g)) return [FN * Kc, Math.ceil(N / PACKED_DX_IMAGES) * packedDxSlotFloats(dyShape, xShape, g)];
  return [FN * Kc, FN * padN(Kc), N * gemmDxSlotFloats(dyShape, xShape, g)];
};

/**
 * The input gradient by a GEMM and col2im, up to its job, in gemmDxAreas' regions; dy at `pdy`, dx made at `pdx`. By
 * packed panels where takesPackedDx (groups of four images: dcolᵀ = Wᵀ . dy's panels, then a fold), else image by image
 * (im2col.wat's gemmCol2imImages: dcol_n = dRows_n . W and its col2im), W's columns staged in the order (fy, fx, c),
 * where the gather reads a pixel's channels side by side, and packed once.
 */
const gemmDxJob = (dyShape: Shape, xShape: Shape, g: ConvGeometry, w: Tensor, pdy: number, areas: readonly number[], pdx: number): ChunkJob => {
  const [N, FN, OH, OW] = dyShape;
  const [, C, H, W] = xShape;
  const Kc = w.size / FN;
  const geometry = [C, H, W, g.filterH, g.filterW, g.stride, g.pad, OH, OW, pdx];
  const worthSplitting = N * OH * OW * FN * Kc >= PARALLEL_MIN_MACS;
  if (takesPackedDx(dyShape, g)) {
    const [pw, pslots] = areas;
    const args = [N, pdy, FN, inputAt(w.data, pw), pslots, 4 * packedDxSlotFloats(dyShape, xShape, g), ...geometry];
    return { fn: 'packedDxImages', total: Math.ceil(N / PACKED_DX_IMAGES), align: 1, args, worthSplitting };
  }
  const [pw, pbpw, pslots] = areas;
  const taps = g.filterH * g.filterW;
  const staged = f32().subarray(pw / 4, pw / 4 + FN * Kc);
  const wd = w.data;
  for (let f = 0, i = 0; f < FN; f++) for (let c = 0; c < C; c++) for (let t = 0; t < taps; t++, i++) staged[f * Kc + t * C + c] = wd[i];
  wasm.packB(pw, Kc, 1, FN, Kc, pbpw);
  return { fn: 'gemmCol2imImages', total: N, align: 1, args: [pdy, FN, pbpw, pslots, 4 * gemmDxSlotFloats(dyShape, xShape, g), ...geometry], worthSplitting };
};

/** Where the backward reads im2col(x) from: a kept col [R, Kc], or the forward's input x (read in place, see implicitIm2col). */
type ColSource = { readonly col: Tensor } | { readonly x: Tensor };

// db = sums of dy per channel; dW = dRowsᵀ . col; dcol = dRows . W, folded by col2im (dRows [R, FN] is dy with
// rows (n, oy, ox)). The backward with dy [N, FN, OH, OW] (`dyShape`) in the shared memory where `fillDy` says: at
// its first argument (a copy of a given dy, or the pooling and ReLU pullbacks computed there; it may use `scratch`
// floats at its second argument) or where a given dy already was (a result slot); it is only read from there.
// Without dx, `packDy` (when given) may replace fillDy and conv-layout.wat's packDy: it writes dy straight into the packed
// panels at its first argument and sums db into its second, as packDy would.
const backward = (
  dyShape: Shape, w: Tensor, xShape: Shape, g: ConvGeometry, needDx: boolean,
  fillDy: (pdy: number, pscratch: number) => number, src: ColSource, scratch = 0,
  packDy?: (pbp: number, pdb: number, pscratch: number) => void, needDb = true,
): Conv2dGrads => {
  const [N, FN, OH, OW] = dyShape;
  const [, C, H, W] = xShape;
  const P = OH * OW;
  const R = N * P;
  // no outputs (an empty batch): every gradient is zeros, where the GEMM would leave dW's area unwritten
  if (R === 0) return { dx: needDx ? zeros(xShape) : undefined, dw: zeros(w.shape), db: needDb ? zeros([FN]) : undefined };
  const Kc = w.size / FN;
  const fromInput = 'x' in src;
  // dx's slot, claimed before the workspace is laid out and before the operands are looked up (resultSlot)
  const dxSlot = needDx ? resultSlot(sizeOf(xShape), ['x' in src ? src.x.data : src.col.data]) : undefined;
  // in a result scope, db and dW are written to its area and given as views: Adam reads them there
  const dbScoped = needDb ? scopeSlot(bytesOf(FN)) : undefined;
  // dx by Winograd when it takes the shape (winograd.ts): then dx needs none of the GEMM path's regions but its own
  const wino = needDx ? winogradDxPlan(dyShape, xShape, g) : undefined;
  // else by the direct convolution where it takes the shape, else by stride-2 phases (stride2.ts), else by a GEMM and col2im
  const turned = needDx && wino === undefined ? directDxGeometry(dyShape, xShape, w, g) : undefined;
  const s2 = needDx && wino === undefined && turned === undefined ? stride2DxPlan(xShape, w, g) : undefined;
  const packed = needDx ? undefined : packDy;
  // dW by Winograd from x and dy when it takes the shape (winograd.ts), in the region the GEMM's A would have taken
  const dwWino = 'x' in src && packed === undefined ? winogradDwPlan(dyShape, xShape, g) : undefined;
  const viaGemm = dwWino === undefined;
  const dwScoped = scopeSlot(bytesOf(w.size));
  const aFloats = dwWino !== undefined ? winogradDwFloats(dwWino) : fromInput ? N * C * (H + 2 * g.pad) * (W + 2 * g.pad) : R * Kc;
  const indexed = fromInput && viaGemm;
  // the optional dx regions come last, so the others keep their places
  const dxAreas = !needDx ? [] : wino !== undefined ? [winogradDxFloats(wino)] : turned !== undefined ? directDxAreas(turned, dyShape, C)
    : s2 !== undefined ? [stride2DxFloats(s2)] : gemmDxAreas(dyShape, xShape, g);
  // dy packed by images across the threads, each image's db terms kept aside and added in order after (replayDb)
  // a filter gradient by Winograd reads dy itself: the pass over dy is then for db alone, skipped when nobody wants db
  const packs = packed === undefined && (viaGemm || needDb);
  const splitPack = packs && getThreads() > 1 && R * FN >= PARALLEL_MIN_FLOATS;
  const [pdy, pscratch, pbp, pa, prow, pk, pdwt, pdbWork, pstage, pdwWork, pside, ...pdxAreas] = workspace([
    packed === undefined ? R * FN : 0, scratch, viaGemm ? R * padN(FN) : 0, aFloats, indexed ? R : 0, indexed ? Kc : 0, viaGemm ? Kc * FN : 0, dbScoped === undefined ? FN : 0,
    indexed && g.pad > 0 ? sizeOf(xShape) : 0, viaGemm && dwScoped === undefined ? FN * Kc : 0, splitPack ? N * wasm.sideFloats(FN, P) : 0, ...dxAreas,
  ]);
  const pdb = dbScoped?.offset ?? pdbWork;
  const pdw = dwScoped?.offset ?? pdwWork;
  const pdyAt = packed === undefined ? fillDy(pdy, pscratch) : pdy;
  const mem = f32();
  mem.fill(0, pdb / 4, pdb / 4 + FN);
  // dW is computed transposed, dWᵀ [Kc, FN] = colᵀ . dRows, so that dy goes once, straight into the packed-B
  // layout the GEMM reads (conv-layout.wat's packDy: no packing pass over a dRows matrix or over col, db summed on
  // the way), and colᵀ is read in place: from a kept col as a transposed A, or from x through the implicit
  // im2col's tables with their roles swapped (colᵀ[k, r] = col[r, k]).
  // (a filter gradient by Winograd reads dy itself: then packDy sums db alone, with bp 0)
  if (packed !== undefined) packed(pbp, pdb, pscratch);
  else if (packs && !splitPack) wasm.packDy(pdyAt, N, P, FN, viaGemm ? pbp : 0, pdb);
  else if (splitPack) {
    runChunks('packDyImageRange', N, 1, [pdyAt, N, P, FN, viaGemm ? pbp : 0, pdb, pside], true);
    wasm.replayDb(pside, N, FN, P, pdb);
  }
  const pdx = dxSlot?.offset ?? 0;
  // dW's job and dx's, where both are one job each (dW by Winograd or by a GEMM from x; dx by Winograd or by phases), run
  // as one: a thread done with its share of dW's few large units (a 7x7 layer's one share, cut into a range of filters a
  // thread; a GEMM's row chunks) goes on with dx's units instead of waiting for the other thread's last one
  const dxJob = !needDx || turned !== undefined ? undefined
    : wino !== undefined ? winogradDxJob(wino, pdyAt, w.data, pdxAreas[0], pdx)
    : s2 !== undefined ? stride2DxJob(s2, pdyAt, w, pdxAreas[0], pdx)
    : gemmDxJob(dyShape, xShape, g, w, pdyAt, pdxAreas, pdx);
  let dwJob: ChunkJob | undefined;
  let dwFromSums: (() => Float32Array) | undefined;
  if ('x' in src && dwWino !== undefined) {
    ({ tiles: dwJob, finish: dwFromSums } = winogradDwJob(dwWino, src.x, pdyAt, pa, undefined, dwScoped));
  } else if ('x' in src) {
    const pxAt = implicitIm2col(src.x, g, pa, prow, pk, pstage);
    dwJob = gemmIndexedJob(Kc, FN, R, pxAt, pk, prow, pbp, pdwt, FN);
  } else {
    mem.set(src.col.data, pa / 4);
    gemmPacked(Kc, FN, R, { ptr: pa, rs: 1, cs: Kc }, pbp, pdwt, FN, false);
  }
  if (dwJob !== undefined && dxJob !== undefined) runTogether(dwJob, dxJob);
  else {
    if (dwJob !== undefined) runChunkJob(dwJob);
    if (dxJob !== undefined) runChunkJob(dxJob);
  }
  const dwWinograd = dwFromSums?.();
  // the direct convolution, dx's one path that is no single job
  if (turned !== undefined) directDx(turned, dyShape, w, pdyAt, pdxAreas, pdx);
  const dx = dxSlot === undefined ? undefined : fromData(xShape, resultOut(dxSlot, sizeOf(xShape)));
  if (needDx) notePath('input gradient', xShape, w.shape, wino !== undefined ? winogradName(wino.m) : turned !== undefined ? 'direct' : s2 !== undefined ? STRIDE2_NAME
    : takesPackedDx(dyShape, g) ? PACKED_DX_NAME : 'GEMM + col2im');
  notePath('filter gradient', xShape, w.shape, dwWino !== undefined ? winogradName(dwWino.m) : 'GEMM');
  const db = needDb ? fromData([FN], scopedOut(dbScoped, pdb, FN)) : undefined;
  if (dwWinograd !== undefined) return { dx, dw: fromData(w.shape, dwWinograd), db };
  return { dx, dw: filterGradient(w, pdwt, dwScoped, pdw), db };
};

/**
 * dW [FN, ...] from dWᵀ [Kc, FN] at byte offset `pdwt` (turned by gemm.wat's SIMD transpose into `pdw`, FN * Kc floats,
 * where a strided JavaScript loop took ~3 ms of a resnet step): a view of the scope's area where `scoped` is its slot at
 * pdw, else copied out of the shared memory (scopedOut).
 */
const filterGradient = (w: Tensor, pdwt: number, scoped: Slot | undefined, pdw: number): Tensor => {
  const FN = w.shape[0];
  const Kc = w.size / FN;
  wasm.transpose(pdwt, Kc, FN, pdw);
  return fromData(w.shape, scopedOut(scoped, pdw, FN * Kc));
};

/** A `fillDy` for a given dy: where it already is (a result slot), else a copy at its first argument (inputAt). */
const copyInto = (t: Tensor) => (p: number): number => inputAt(t.data, p);

const conv2dBackward = (dy: Tensor, col: Tensor, w: Tensor, xShape: Shape, g: ConvGeometry, needDx: boolean): Conv2dGrads => {
  if (isF64(dy) || isF64(col) || isF64(w)) return ref.conv2dBackward(dy, col, w, xShape, g, needDx);
  return backward(dy.shape, w, xShape, g, needDx, copyInto(dy), { col });
};

// col read in place from x instead of kept since the forward: x is C*H*W floats per image where col is
// OH*OW*C*FH*FW (25x more for the lesson's first conv), and neither pass ever builds col.
const conv2dBackwardFromInput = (dy: Tensor, x: Tensor, w: Tensor, g: ConvGeometry, needDx: boolean, needDb = true): Conv2dGrads => {
  if (isF64(dy) || isF64(x) || isF64(w)) return ref.conv2dBackwardFromInput(dy, x, w, g, needDx, needDb);
  return backward(dy.shape, w, x.shape, g, needDx, copyInto(dy), { x }, 0, undefined, needDb);
};

// max pooling when every window lies inside the image (pad 0): no bounds, and the lesson's 2x2 window unrolled.
// As in the reference, a strictly greater value replaces the best so far, and so does the first NaN
// (`v !== v`) while the best is not NaN: a diverged activation is never hidden by its neighbours.
const maxPoolInterior = (X: ReadonlyData, planes: number, H: number, W: number, g: ConvGeometry, out: Float32Array, argmax: Int32Array): void => {
  const { filterH: FH, filterW: FW, stride, outH, outW } = g;
  let o = 0;
  for (let nc = 0; nc < planes; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < outH; oy++) {
      let base = plane + oy * stride * W;
      for (let ox = 0; ox < outW; ox++, o++, base += stride) {
        let best = X[base];
        let at = base;
        if (FH === 2 && FW === 2) {
          let v = X[base + 1];
          if (v > best || (v !== v && best === best)) {
            best = v;
            at = base + 1;
          }
          v = X[base + W];
          if (v > best || (v !== v && best === best)) {
            best = v;
            at = base + W;
          }
          v = X[base + W + 1];
          if (v > best || (v !== v && best === best)) {
            best = v;
            at = base + W + 1;
          }
        } else {
          for (let fy = 0; fy < FH; fy++) {
            const r = base + fy * W;
            for (let fx = 0; fx < FW; fx++) {
              const v = X[r + fx];
              if (v > best || (v !== v && best === best)) {
                best = v;
                at = r + fx;
              }
            }
          }
        }
        out[o] = best;
        argmax[o] = at;
      }
    }
  }
};

const isLessonPool = (g: ConvGeometry): boolean => g.pad === 0 && g.filterH === 2 && g.filterW === 2 && g.stride === 2;

// The lesson's pool: branch-free SIMD in pool.wat, on x where it is (a result slot) or a copy in the shared memory. The
// pooled output goes to a result slot, so the next kernel reads it in place (and, in a result scope, it is never copied
// out); the argmax goes to the scope's area too when `argmax` is asked for in a scope (a view), else to the workspace,
// and is copied out only when asked for.
const maxPool2x2Out = (x: Tensor, g: ConvGeometry, argmax: boolean): { out: Tensor; argmax: Int32Array } => {
  const [N, C, H, W] = x.shape;
  const n = N * C * g.outH * g.outW;
  // claimed before the workspace and before x is looked up (resultSlot)
  const slot = resultSlot(n, [x.data]);
  const scoped = argmax ? scopeSlot(bytesOf(n)) : undefined;
  const [px, pwarg] = workspace([x.size, scoped === undefined ? n : 0]);
  const parg = scoped?.offset ?? pwarg;
  maxPool2x2Into(inputAt(x.data, px), N * C, H, W, g.outH, g.outW, slot.offset, parg);
  const out = fromData([N, C, g.outH, g.outW], resultOut(slot, n));
  return { out, argmax: !argmax ? new Int32Array(0) : scoped !== undefined ? scopeInts(parg, n) : copyI32(parg, n) };
};

const maxPool2d = (x: Tensor, g: ConvGeometry): MaxPoolResult => {
  if (isF64(x)) return ref.maxPool2d(x, g);
  const [N, C, H, W] = x.shape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  if (isLessonPool(g)) return maxPool2x2Out(x, g, true);
  const X = x.data;
  const out = new Float32Array(N * C * outH * outW);
  const argmax = new Int32Array(out.length);
  if (pad === 0) {
    maxPoolInterior(X, N * C, H, W, g, out, argmax);
    return { out: fromData([N, C, outH, outW], out), argmax };
  }
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * stride - pad;
      const ylo = iy0 < 0 ? 0 : iy0;
      const yhi = iy0 + FH > H ? H : iy0 + FH;
      for (let ox = 0; ox < outW; ox++, o++) {
        const ix0 = ox * stride - pad;
        const xlo = ix0 < 0 ? 0 : ix0;
        const xhi = ix0 + FW > W ? W : ix0 + FW;
        // the first in-image element starts the scan, as the reference's "argmax < 0" does
        let at = plane + ylo * W + xlo;
        let best = X[at];
        for (let iy = ylo; iy < yhi; iy++) {
          const r = plane + iy * W;
          for (let ix = xlo; ix < xhi; ix++) {
            const v = X[r + ix];
            if (v > best || (v !== v && best === best)) {
              best = v;
              at = r + ix;
            }
          }
        }
        // a window wholly in the padding (only possible when pad >= filter size) has no maximum
        if (ylo >= yhi || xlo >= xhi) {
          best = -Infinity;
          at = -1;
        }
        out[o] = best;
        argmax[o] = at;
      }
    }
  }
  return { out: fromData([N, C, outH, outW], out), argmax };
};

// Without the argmax copy (an Int32Array as long as the output) when the lesson's pool runs in wasm.
const maxPool2dOut = (x: Tensor, g: ConvGeometry): Tensor => {
  if (isF64(x) || !isLessonPool(g)) return maxPool2d(x, g).out;
  return maxPool2x2Out(x, g, false).out;
};

const maxPool2dBackward = (dy: Tensor, argmax: Int32Array, xShape: Shape): Tensor => {
  if (isF64(dy)) return ref.maxPool2dBackward(dy, argmax, xShape);
  const dx = new Float32Array(sizeOf(xShape));
  const D = dy.data;
  for (let o = 0; o < D.length; o++) {
    const i = argmax[o];
    if (i >= 0) dx[i] += D[o];
  }
  return fromData(xShape, dx);
};

const avgPool2d = (x: Tensor, g: ConvGeometry): Tensor => {
  if (isF64(x)) return ref.avgPool2d(x, g);
  const [N, C, H, W] = x.shape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const X = x.data;
  const area = FH * FW;
  const out = new Float32Array(N * C * outH * outW);
  let o = 0;
  // Each window clamped to the image (padding counts as 0); with pad 0 the clamps change nothing.
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * stride - pad;
      const ylo = Math.max(0, iy0);
      const yhi = Math.min(H, iy0 + FH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const ix0 = ox * stride - pad;
        const xlo = Math.max(0, ix0);
        const xhi = Math.min(W, ix0 + FW);
        let s = 0;
        for (let iy = ylo; iy < yhi; iy++) for (let ix = xlo; ix < xhi; ix++) s += X[plane + iy * W + ix];
        out[o] = s / area;
      }
    }
  }
  return fromData([N, C, outH, outW], out);
};

const avgPool2dBackward = (dy: Tensor, xShape: Shape, g: ConvGeometry): Tensor => {
  if (isF64(dy)) return ref.avgPool2dBackward(dy, xShape, g);
  const [N, C, H, W] = xShape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const D = dy.data;
  const area = FH * FW;
  const dx = new Float32Array(sizeOf(xShape));
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * stride - pad;
      const ylo = Math.max(0, iy0);
      const yhi = Math.min(H, iy0 + FH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const ix0 = ox * stride - pad;
        const xlo = Math.max(0, ix0);
        const xhi = Math.min(W, ix0 + FW);
        const share = D[o] / area;
        for (let iy = ylo; iy < yhi; iy++) for (let ix = xlo; ix < xhi; ix++) dx[plane + iy * W + ix] += share;
      }
    }
  }
  return fromData(xShape, dx);
};

// ReLU and its pullback branch-free in SIMD (relu.wat's relu/reluBackward): on random activations a branch per
// element mispredicts half the time. The operands are read where they are (a result slot) or copied into the shared
// memory, and the result is copied out of its slot in one block, which costs less than the branches did.
const relu = (x: Tensor): Tensor => {
  if (isF64(x)) return ref.relu(x);
  const n = x.size;
  const out = resultSlot(n, [x.data]);
  const [px] = workspace([n]);
  runChunks('reluElements', n, 4, [inputAt(x.data, px), out.offset], n >= PARALLEL_MIN_FLOATS);
  return fromData(x.shape, resultOut(out, n));
};

const reluBackward = (x: Tensor, dy: Tensor): Tensor => {
  if (isF64(x) || isF64(dy)) return ref.reluBackward(x, dy);
  const n = x.size;
  const out = resultSlot(n, [x.data, dy.data]);
  const [px, pdy] = workspace([n, n]);
  reluBackwardAt(inputAt(x.data, px), inputAt(dy.data, pdy), n, out.offset);
  return fromData(x.shape, resultOut(out, n));
};

// conv2d, the lesson's 2x2 max pool and ReLU without the convolution's output leaving the shared memory: each
// thread's images go through the convolution, maxPool2x2 and ReLU in place there (convolve with a pool), and only
// the pooled output (and argmax) is copied out, or, in a result scope, kept in its area. Other pools compose the
// separate fast kernels.
const conv2dReluMaxPool = (x: Tensor, w: Tensor, b: Tensor, conv: ConvGeometry, pool: ConvGeometry, keepArgmax: boolean): ConvReluPoolResult => {
  if (isF64(x) || isF64(w) || isF64(b) || !isLessonPool(pool)) {
    const pooled = maxPool2d(conv2dOut(x, w, b, conv), pool);
    return { out: relu(pooled.out), argmax: keepArgmax ? pooled.argmax : new Int32Array(0) };
  }
  const [N, FN] = [x.shape[0], w.shape[0]];
  const n = N * FN * pool.outH * pool.outW;
  const shape = [N, FN, pool.outH, pool.outW];
  // in a result scope, out (and the argmax, for training) go to its area, as views that are never copied out; outside
  // one, while training, to a kept slot where the backward (and the next layer's GEMM) reads them in place, and copies
  const scoped = scopeSlot((keepArgmax ? 2 : 1) * bytesOf(n));
  const slot = keepArgmax && scoped === undefined ? poolSlots.claim(2 * bytesOf(n)) : undefined;
  const home = scoped ?? slot;
  // parg 0: no argmax (see convolve)
  const at = home === undefined ? undefined : { ppool: home.offset, parg: keepArgmax ? home.offset + bytesOf(n) : 0 };
  const wino = winogradPlan(x.shape, FN, conv);
  if (wino !== undefined) notePath('forward', x.shape, w.shape, winogradName(wino.m));
  const { ppool, parg } = wino === undefined ? convolve(x, w, b, conv, at === undefined ? { pool } : { pool, at }) : winogradPooled(wino, x, w, b, pool, n, at);
  if (scoped !== undefined) return { out: fromData(shape, scopeFloats(ppool, n)), argmax: keepArgmax ? scopeInts(parg, n) : new Int32Array(0) };
  const out = fromData(shape, copyF32(ppool, n));
  const argmax = keepArgmax ? copyI32(parg, n) : new Int32Array(0);
  if (slot !== undefined) {
    recordResident(slot.name, out.data, ppool);
    recordResident(slot.name, argmax, parg);
  }
  return { out, argmax };
};

/**
 * conv2dReluMaxPool's convolution by Winograd (winograd.ts), ReLU in its output pass, then pool.wat's 2x2 pool on it in
 * the shared memory, into `at` (or the workspace, with an argmax the caller ignores). ReLU before the pool gives the same
 * pooled values as after it (max is monotone; a NaN stays NaN); the argmax differs only in windows with nothing above
 * 0, whose gradient the backward masks anyway.
 */
const winogradPooled = (
  wino: WinogradPlan, x: Tensor, w: Tensor, b: Tensor, pool: ConvGeometry, n: number, at: { readonly ppool: number; readonly parg: number } | undefined,
): { ppool: number; parg: number } => {
  // the workspace holds what `at` does not give: the pooled output, and the argmax (at.parg 0: none asked for)
  const { pout, pextra } = winogradConvAt(wino, x, w, b, true, (at === undefined ? 2 : at.parg === 0 ? 1 : 0) * bytesOf(n) / 4);
  const ppool = at?.ppool ?? pextra;
  const parg = at === undefined ? pextra + bytesOf(n) : at.parg === 0 ? pextra : at.parg;
  maxPool2x2Into(pout, wino.N * wino.K, wino.OH, wino.OW, pool.outH, pool.outW, ppool, parg);
  return { ppool, parg };
};

/** Kept slots for conv2dReluMaxPool's outputs while training, one per fused layer (a few kept). */
const poolSlots = slots('pool', 4);

// The convolution's dy built in the shared memory (pool.wat's unpoolRelu): zeros, then each pooled dy routed to its
// window's maximum where the output is not <= 0 (ReLU's mask on the pooled value; a NaN lets dy through, as
// reluBackward does). The same loop in JavaScript, writing into the shared memory, took ~1 ms of a 22 ms step.
// Without dx (the first layer) only the packed dy of the filter gradient is needed, built image by image.
const conv2dReluMaxPoolBackward = (dy: Tensor, out: Tensor, argmax: Int32Array, x: Tensor, w: Tensor, conv: ConvGeometry, convShape: Shape, needDx: boolean): Conv2dGrads => {
  if (isF64(dy) || isF64(x) || isF64(w)) return refFused.conv2dReluMaxPoolBackward(dy, out, argmax, x, w, conv, convShape, needDx);
  const n = dy.size;
  const [N, FN, OH, OW] = convShape;
  // pooled dy, out and argmax at pscratch (pooledOperands), then (without dx) one image's conv dy
  const operands = (pscratch: number): [number, number, number] => pooledOperands(dy, out, argmax, pscratch, pscratch + 4 * n, pscratch + 8 * n);
  const fillDy = (pdy: number, pscratch: number): number => {
    const [pd, po, pa] = operands(pscratch);
    // by planes: each pooled plane routes only into its own plane of dy
    const planes = N * FN;
    runChunks('unpoolReluPlanes', planes, 1, [pd, po, pa, n / planes, pdy, OH * OW], sizeOf(convShape) >= PARALLEL_MIN_POOL_FLOATS);
    return pdy;
  };
  // The conv's dy built and packed image by image (pool.wat's unpoolPackDy: the same bits, the whole dy never exists),
  // split across the threads by images; then db gets their sums in packDy's order (replayDb).
  const P = OH * OW;
  const sideFloats = wasm.sideFloats(FN, P);
  const packDy = (pbp: number, pdb: number, pscratch: number): void => {
    const [pd, po, pa] = operands(pscratch);
    const [pslots, pside] = [pscratch + 12 * n, pscratch + 12 * n + 4 * N * FN * P];
    const split = getThreads() > 1;
    runChunks('unpoolPackDy', N, 1, [pd, po, pa, N, FN, P, n / (N * FN), pslots, pbp, pdb, split ? pside : 0], split);
    if (split) wasm.replayDb(pside, N, FN, P, pdb);
  };
  return (needDx ? undefined : poolFilterGrads(dy, out, argmax, x, w, conv, convShape)) ??
    backward(convShape, w, x.shape, conv, needDx, fillDy, { x }, needDx ? 3 * n : 3 * n + N * FN * P + N * sideFloats, packDy);
};

/**
 * The fused pool's backward operands in the shared memory, each read in place where it is resident (out and argmax
 * where the forward kept them, conv2dReluMaxPool's slots; dy where a kernel left it), else copied to `pd`, `po` and
 * `pa`. Returns where the three are; the kernels only read them.
 */
const pooledOperands = (dy: Tensor, out: Tensor, argmax: Int32Array, pd: number, po: number, pa: number): [number, number, number] => {
  const ka = residentAt(argmax);
  if (ka === undefined) new Int32Array(f32().buffer, pa, argmax.length).set(argmax);
  return [inputAt(dy.data, pd), inputAt(out.data, po), ka ?? pa];
};

/** Whether conv2dReluMaxPoolBackward without dx may take poolFilterGrads (tests turn it off to compare with the dense path). */
let sparseFilterGrad = true;
/** @example setPoolFilterGrad(false); // the filter gradient through the GEMM over the whole conv dy */
export const setPoolFilterGrad = (on: boolean): void => {
  sparseFilterGrad = on;
};

/**
 * For each 4-bit lane mask m, the i8x16.swizzle bytes that move the lanes set in m to the front, in order (the rest
 * read 0): how pool-filter-grad.wat's poolFilterGrad appends the nonzero ones of four values to a list without a branch.
 */
const COMPACT_SWIZZLES = new Uint8Array(256).map((_, i) => {
  const [m, lane, byte] = [i >> 4, (i >> 2) & 3, i & 3];
  const from = [0, 1, 2, 3].filter((l) => (m >> l) & 1)[lane];
  return from === undefined ? 0x80 : 4 * from + byte;
});

// The first layer's filter and bias gradients from the pooled dy alone (pool-filter-grad.wat's poolFilterGrad, split across the threads
// by filters): after a 2x2 pool, 3 of 4 rows of the conv's dy are zero and ReLU zeroes about half the rest, so each
// nonzero adds its window of x to its filter's gradient instead of a GEMM over every row; the dense dy is never built.
// The same bits as the dense path, which it leaves to every case it does not cover: an x with Inf or NaN (Inf*0 is NaN
// there), OW not a multiple of 4 (packDy's db groups would span rows), FW > 8 (one window row is two vectors), or an
// argmax not in the 2x2 window of its pooled element (another pool; the kernel flags it). Gives undefined then.
const poolFilterGrads = (dy: Tensor, out: Tensor, argmax: Int32Array, x: Tensor, w: Tensor, g: ConvGeometry, convShape: Shape): Conv2dGrads | undefined => {
  const [N, FN, OH, OW] = convShape;
  const [, C, H, W] = x.shape;
  const [FH, FW] = [w.shape[2], w.shape[3]];
  if (!sparseFilterGrad || OW % 4 !== 0 || FW > 8 || dy.shape[2] !== OH >> 1 || dy.shape[3] !== OW >> 1) return undefined;
  const [Hp, Wp] = [H + 2 * g.pad, W + 2 * g.pad];
  const n = dy.size;
  const Kc = C * FH * FW;
  // scratch: the kernel's flag, its swizzle table, then per filter its groups' running sums, and per chunk one plane's
  // lists and row values (see pool-filter-grad.wat)
  const [pxp, pstage, pd, po, pa, pscratch, pdwt, pdb, pdw] = workspace([
    N * C * Hp * Wp, g.pad > 0 ? x.size : 0, n, n, n, 80 + (FN * wasm.pfgSlotBytes(OH, OW, C * FH)) / 4, Kc * FN, FN, FN * Kc,
  ]);
  const pxAt = paddedInto(x, g.pad, pxp, pstage);
  if (wasm.finiteF32(pxAt, N * C * Hp * Wp) === 0) return undefined;
  const operands = pooledOperands(dy, out, argmax, pd, po, pa);
  const mem = f32();
  mem.fill(0, pdb / 4, pdb / 4 + FN);
  const flag = new Int32Array(mem.buffer, pscratch, 1);
  flag[0] = 0;
  new Uint8Array(mem.buffer, pscratch + 64, COMPACT_SWIZZLES.length).set(COMPACT_SWIZZLES);
  runChunks('poolFilterGrad', FN, 1, [...operands, pxAt, N, FN, C, Hp, Wp, FH, FW, g.stride, OH, OW, pscratch, pdwt, pdb], n * Kc >= PARALLEL_MIN_MACS);
  if (flag[0] !== 0) return undefined;
  notePath('filter gradient', x.shape, w.shape, 'from the pooled dy');
  return { dx: undefined, dw: filterGradient(w, pdwt, undefined, pdw), db: fromData([w.shape[0]], copyF32(pdb, w.shape[0])) };
};

// The bias and ReLU in the convolution's own pass over its output (convImages), the output copied out once.
const conv2dRelu = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor =>
  isF64(x) || isF64(w) || isF64(b) ? refFused.conv2dRelu(x, w, b, g) : convolvedOut(x, w, b, g, 'relu');

// dy masked by ReLU in the shared memory (relu.wat's reluBackward, branch-free; dy and out read where they are), then the
// convolution's backward.
const conv2dReluBackward = (dy: Tensor, out: Tensor, x: Tensor, w: Tensor, g: ConvGeometry, needDx: boolean): Conv2dGrads => {
  if (isF64(dy) || isF64(x) || isF64(w)) return refFused.conv2dReluBackward(dy, out, x, w, g, needDx);
  const fillDy = (pdy: number, pout: number): number => {
    reluBackwardAt(inputAt(out.data, pout), inputAt(dy.data, pdy), dy.size, pdy);
    return pdy;
  };
  return backward(dy.shape, w, x.shape, g, needDx, fillDy, { x }, out.size);
};

/**
 * An evaluation's residual block end, relu(conv(x) + b + addend) (its batch norm folded into w and b): by Winograd the
 * output transform adds the addend's element to each biased output, then ReLU, as it stores, so the convolution's output
 * is never stored and read back; the other paths (GEMM, direct) store it and add the addend after (addRelu). The same
 * bits either way: the biased output rounds to float32 before the add in both.
 */
const conv2dAddRelu = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, addend: Tensor): Tensor => {
  if (isF64(x) || isF64(w) || isF64(b) || isF64(addend)) return refFused.conv2dAddRelu(x, w, b, g, addend);
  const wino = winogradPlan(x.shape, w.shape[0], g);
  if (wino === undefined) return addRelu(convolvedOut(x, w, b, g), addend);
  notePath('forward', x.shape, w.shape, `${winogradName(wino.m)} + addend, ReLU`);
  return winogradConv(wino, x, w, b, true, addend);
};

/**
 * Below this many elements a tensor's Adam update runs in JavaScript: the copies in and out would cost more. At 512 every
 * preset's parameters above it fit the kept slots (resnet has 15: its convolutions' filters and the last affine's
 * weights), where JavaScript's loop took ~25 ns an element (resnet's 45k floats under 16384: ~1.2 ms a step).
 */
const WASM_ADAM_MIN = 512;
/**
 * Below this many elements in all an Adam job runs on the calling thread: adam.wat takes ~3 ns an element, so under
 * ~50 µs of work costs about what waking a worker does.
 */
const ADAM_PARALLEL_MIN = 1 << 14;

/**
 * Adam's results stay in kept slots of the shared memory, one per large parameter: a training loop feeds this step's p',
 * m', v' back as the next step's p, m, v, and when all three are resident in one slot, as that slot laid them out, the
 * update runs there in place and only g is copied in. The new p' is then where the next forward's GEMM packs it from.
 * One job updates at most ADAM_SLOTS params (each needs its own slot while the job runs); more go in further jobs.
 */
const ADAM_SLOTS = 16;
const adamSlots = slots('adam', ADAM_SLOTS);

/** adam.wat's adamTensors record of one tensor: 8 i32 (start, end, p, g, m, v, hyper, bad); its hyper: 4 f64. */
const ADAM_RECORD_INTS = 8;
const ADAM_HYPER_DOUBLES = 4;

let adamJobCount = 0;
let adamJobTensors = 0;
/**
 * How many Adam jobs the fast set has run (each one publish when split) and how many params they updated, since the
 * program started (for tests: a step's params in one job). @example adamJobs() // { jobs: 1, tensors: 15 } after a resnet step
 */
export const adamJobs = (): { readonly jobs: number; readonly tensors: number } => ({ jobs: adamJobCount, tensors: adamJobTensors });

/**
 * Adam over the items at `group` (float32, at least WASM_ADAM_MIN elements each, at most ADAM_SLOTS of them) as one job:
 * adam.wat's adamTensors over their elements laid end to end, split across the threads by elements (a unit may end one
 * tensor and begin the next), in place on p, m, v in each one's slot (each element is read before it is written),
 * the results copied out. Each tensor has its own flag word, which the kernel sets when anything it stored is not finite.
 */
const adamJob = (items: readonly AdamItem[], group: readonly number[], results: AdamResult[]): void => {
  const k = group.length;
  // every slot is claimed before the workspace is laid out (a slot that grows moves it) and before any gradient is
  // looked up; none twice in one job. A claim forgets what its slot held, so a param given twice finds itself resident
  // only the first time, and a gradient resident in a claimed slot is copied in.
  const claimed: string[] = [];
  const places = group.map((i) => {
    const { p, m, v } = items[i];
    const stride = bytesOf(p.size);
    // m and v live right after p: kept areas never overlap, so they are then in p's slot, as that slot laid them out
    const held = residentSlot(p.data);
    const at = residentAt(p.data);
    const inPlace = held !== undefined && at !== undefined && residentAt(m.data) === at + stride && residentAt(v.data) === at + 2 * stride;
    const slot = adamSlots.claim(3 * stride, inPlace ? held : undefined, claimed);
    claimed.push(slot.name);
    return { slot, stride, copyIn: !inPlace || slot.moved };
  });
  const regions = workspace([...group.map((i) => items[i].p.size), ADAM_RECORD_INTS * k, 2 * ADAM_HYPER_DOUBLES * k, k]);
  const [ptable, phyper, pbad] = regions.slice(k);
  const mem = f32();
  const table = new Int32Array(mem.buffer, ptable, ADAM_RECORD_INTS * k);
  const hyper = new Float64Array(mem.buffer, phyper, ADAM_HYPER_DOUBLES * k);
  const bad = new Int32Array(mem.buffer, pbad, k);
  let total = 0;
  for (let j = 0; j < k; j++) {
    const { p, g, m, v, step } = items[group[j]];
    const { slot, stride, copyIn } = places[j];
    const pp = slot.offset;
    if (copyIn) {
      mem.set(p.data, pp / 4);
      mem.set(m.data, (pp + stride) / 4);
      mem.set(v.data, (pp + 2 * stride) / 4);
    }
    // g read where it is when a kernel left it in the memory (a gradient made in a result scope)
    const pg = inputAt(g.data, regions[j]);
    const r = ADAM_RECORD_INTS * j;
    table[r] = total;
    table[r + 1] = total + p.size;
    table[r + 2] = pp;
    table[r + 3] = pg;
    table[r + 4] = pp + stride;
    table[r + 5] = pp + 2 * stride;
    table[r + 6] = phyper + 8 * ADAM_HYPER_DOUBLES * j;
    table[r + 7] = pbad + 4 * j;
    const h = ADAM_HYPER_DOUBLES * j;
    hyper[h] = step.lrT;
    hyper[h + 1] = step.c1;
    hyper[h + 2] = step.c2;
    hyper[h + 3] = step.wd;
    bad[j] = 0;
    total += p.size;
  }
  runChunks('adamTensors', total, 4, [ptable, k], total >= ADAM_PARALLEL_MIN);
  adamJobCount++;
  adamJobTensors += k;
  for (let j = 0; j < k; j++) {
    const { p } = items[group[j]];
    const { slot, stride } = places[j];
    const out = (at: number): Tensor => {
      const t = fromData(p.shape, copyF32(at, p.size));
      recordResident(slot.name, t.data, at);
      return t;
    };
    results[group[j]] = { p: out(slot.offset), m: out(slot.offset + stride), v: out(slot.offset + 2 * stride), finite: bad[j] === 0 };
  }
};

// Adam in wasm (adam.wat: f64x2, bit-identical to the reference loop) for the float32 params of WASM_ADAM_MIN elements
// or more, as few jobs as the slots allow (one for every preset); the rest by the reference loop.
const adamUpdates = (items: readonly AdamItem[]): AdamResult[] => {
  const results: AdamResult[] = new Array<AdamResult>(items.length);
  const inWasm = (i: number): boolean => !isF64(items[i].p) && items[i].p.size >= WASM_ADAM_MIN;
  const large = items.map((_, i) => i).filter(inWasm);
  for (let at = 0; at < large.length; at += ADAM_SLOTS) adamJob(items, large.slice(at, at + ADAM_SLOTS), results);
  items.forEach(({ p, g, m, v, step }, i) => {
    if (!inWasm(i)) results[i] = ref.adamUpdate(p, g, m, v, step);
  });
  return results;
};

const adamUpdate = (p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: AdamStep): AdamResult => adamUpdates([{ p, g, m, v, step }])[0];

/**
 * allFinite: a float32 view of the kernels' memory (a gradient left in a result scope's area) is tested where it lies by
 * wasm/finite.wat's finiteF32 (x * 0 summed: ±0 while every x is finite), the same answer ~4x faster than the
 * reference's loop, which takes everything else.
 */
const allFinite = (x: Tensor): boolean =>
  x.data instanceof Float32Array && isMemoryView(x.data) ? wasm.finiteF32(x.data.byteOffset, x.data.length) === 1 : allFiniteLoop(x);

/**
 * The fast kernel set (float32; float64 inputs run on the reference kernels). Registered under the name
 * 'fast' and the default backend once `@foldnet/core` is imported, unless FOLDNET_BACKEND says otherwise.
 *
 * @example
 * import { fastKernels, matmul, fromNested } from '@foldnet/core';
 * matmul(fromNested([[1, 2]]), fromNested([[3], [4]]), { kernels: fastKernels }); // [[11]]
 */
export const fastKernels: Kernels = Object.freeze({
  name: 'fast',
  matmul,
  im2col,
  col2im,
  conv2d,
  conv2dOut,
  conv2dBackward,
  conv2dBackwardFromInput,
  maxPool2d,
  maxPool2dOut,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool2d,
  globalAvgPool2dBackward,
  relu,
  reluBackward,
  adamUpdate,
  adamUpdates,
  allFinite,
  add,
  batchNorm,
  batchNormBackward,
  fused: Object.freeze({
    takesGradientPairs: true,
    conv2dRelu, conv2dReluBackward, conv2dReluMaxPool, conv2dReluMaxPoolBackward, batchNormRelu, batchNormReluBackward, addRelu, batchNormAddRelu, batchNormAddReluBackward, conv2dAddRelu,
  }),
});
