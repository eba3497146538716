import type { ReadonlyData } from '../dtype.js';
import type { ConvGeometry } from '../geometry.js';
import type { Shape } from '../shape.js';
import { fromData, type Tensor } from '../tensor.js';
import { bytesOf, derivedAt, inputAt, recordDerived, residentAt, resultOut, resultSlot, scopedOut, type Slot, slots, workspace } from './layout.js';
import { padPlanes } from './pad.js';
import { type ChunkJob, getThreads, PARALLEL_MIN_MACS, runChunkJob, runChunks } from './threads.js';
import { copyF32, f32, memory } from './wasm.js';

/*
 * 3x3 stride-1 convolutions by Winograd's minimal filtering (Lavin & Gray 2016; the kernel is wasm/winograd.wat), in two
 * sizes: F(2x2, 3x3), 16 multiplications per 2x2 output tile and channel pair where the direct sum takes 36 (2.25x fewer),
 * and F(4x4, 3x3), 36 per 4x4 tile where the direct sum takes 144 (4x fewer), paid for with the input and output
 * transforms and a float32 error above the direct sum's. The forward and the input gradient (a convolution of dy with the
 * filters turned by 180° and their channels swapped, padded by 2 - pad) take either, by the products each takes per
 * output of the shape (winogradPlan, F4_MAX_PRODUCT_SHARE). The filter gradient takes F(2x2, 3x3) or F(4x4, 3x3),
 * whichever takes fewer multiplications, where the tiles waste little (winogradDwPlan); F(4x4, 3x3)'s tiles go in groups
 * of 4 side by side or, on narrow outputs (7x7, 8x8), 2x2, in all three passes alike.
 *
 * Float32 error against the float64 reference, relative to the largest element, on He-initialised filters, ReLU'd
 * normal inputs and a normal dy at batch 100 (`node scripts/winograd-error.mjs`: 16 -> 16 at 28x28 to 64 -> 64 at 7x7,
 * the presets' shapes; test/winograd.test.ts bounds it on generated shapes):
 *   forward:         F(2x2, 3x3) 1.8-3.3e-7,  F(4x4, 3x3) 3.5-5.2e-6,  the paths without Winograd 3.3-5.5e-7
 *   input gradient:  F(2x2, 3x3) 2.0-4.1e-7,  F(4x4, 3x3) 4.3-8.7e-6,  the paths without Winograd 1.7-5.1e-7
 *   filter gradient: F(2x2, 3x3) 2.4-5.0e-7,  F(4x4, 3x3) 2.6-5.0e-6,  the paths without Winograd 2.4-4.4e-7
 * F(4x4, 3x3)'s is 9-45x the other paths' (its transforms multiply by up to 8 in Aᵀ and 5 in Bᵀ, its filters' by 1/24..1/4),
 * under 1e-5 everywhere.
 *
 * Whether a layer takes it, and which size, is decided once per shape (winogradPlan, winogradDwPlan) and kept: the plan
 * holds the layout the kernel needs. Shapes it does not take go the way they went before.
 */

/**
 * Tile groups (4 tiles each) per block, by tile size: a block's V [X, C, 4 groups] and M [X, K, 4 groups] (X = 16 or 36
 * elements per tile) stay in the cache between the transforms and the X GEMMs (F(2x2, 3x3), 16 groups = 64 tiles:
 * 256 KiB for C = K = 32; F(4x4, 3x3), 8 groups = 32 tiles: 288 KiB). Multiples of 4, so that V's and M's rows (4
 * blockGroups tiles) are whole pairs of panels of 8 tiles: winogradMultiply computes and stores a block's last pair whole.
 */
const BLOCK_GROUPS: Readonly<Record<2 | 4, number>> = { 2: 16, 4: 8 };
/**
 * The fewest groups a block can take and keep its rows whole pairs of panels: a split job's last units are blocks of
 * this many (threads.ts's tailAlign), so that the threads end within a short block of each other where whole blocks
 * left up to one (resnet's 14x14 and 28x28 layers: 400 and 1400 groups in units of 8 and 24). A short block reads all of
 * U_ξ for its tiles, as a whole one does: resnet's 7x7 forward in blocks of 4 groups throughout cost no more, threads'
 * time (x0.99, noise), and a tail has at most 2 threads' worth of them. (The 7x7 layers' 100 groups are 25 short blocks,
 * an odd count: with two threads that keep pace, one still idles a short block at the end, ~0.17 ms.)
 */
const TAIL_BLOCK_GROUPS = 4;
/** Bytes before the slots in the tiles' scratch: one i32 flag per slot, at most 256 slots (threads). */
export const SLOT_FLAGS_BYTES = 1024;
/** Frees every slot of a scratch before a job: a thread claims the first slot whose flag is 0 (winograd.wat's $winogradClaimSlot). */
export const clearSlotFlags = (at: number): void => {
  new Int32Array(f32().buffer, at, SLOT_FLAGS_BYTES / 4).fill(0);
};

/** How a convolution of one shape runs by Winograd F(m x m, 3x3): sizes of the padded input and of the tile grid. */
export interface WinogradPlan {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  /** Output channels (filters). */
  readonly K: number;
  readonly pad: number;
  readonly OH: number;
  readonly OW: number;
  /** Output tile size: 2 (F(2x2, 3x3), 16 products per tile) or 4 (F(4x4, 3x3), 36 products per tile). */
  readonly m: 2 | 4;
  /**
   * Tile rows a group of 4 tiles spans: 1 (side by side) or 2 (2x2 tiles, F(4x4, 3x3) only: on narrow outputs, 7x7 or
   * 8x8, side by side would leave half of each group's tiles past the edge).
   */
  readonly groupRows: 1 | 2;
  /** Group rows per image: ceil(ceil(OH / m) / groupRows). */
  readonly tH: number;
  /** Groups per group row: ceil(ceil(OW / m) / (4 / groupRows)). */
  readonly gW: number;
  /**
   * The padded input's plane: Hq = m groupRows tH + 2 rows of Wq = m (4 / groupRows) gW + 2 (F(2x2, 3x3)) or + 4
   * (F(4x4, 3x3)) floats: every tile's (m + 2)-square patch inside it, and the floats past it that the input transforms
   * read (F(2x2, 3x3) 10 floats a row of a group, F(4x4, 3x3) 12 at each pair of tiles).
   */
  readonly Hq: number;
  readonly Wq: number;
  /**
   * Group rows of the padded input (Hq x Wq planes) the tiles pad at a time, all channels of one image, into a strip in
   * their scratch (pad.wat's stripRows) as they come to them, reading the unpadded input; 0: a padded copy of the whole
   * input (padPlanes) is made first. See STRIP_MAX_BYTES. The forward and the input gradient only: the filter gradient's
   * tiles transform a block's groups a channel at a time across images, so it pads the block's rows of one channel at a
   * time (winograd.wat's winogradDwTiles).
   */
  readonly stripGroupRows: number;
}

/** Whether convolutions may take Winograd (tests turn it off to compare with the other paths). */
let enabled = true;
/** @example setWinograd(false); // every 3x3 convolution the way it went before */
export const setWinograd = (on: boolean): void => {
  enabled = on;
};

/**
 * The fewest input channels (C, the depth of the 16 GEMMs) and output channels (K, their rows) with which Winograd
 * beats the other path, measured layer by layer (batch 100): a forward of few channels goes by conv.wat's direct
 * convolution, which 8 and 10 input channels (28x28 and 12x12) still run as fast or faster (0.84x-1.0x), 16 and more
 * 1.2x-1.5x slower. An input gradient goes by a GEMM and col2im; Winograd beats it by 1.3x-1.8x where dx has 16 or
 * more channels (a forward of 16 or more) and by 2.7x at 8 -> 8 at 28x28, but only by 0.9x-1.06x for DoubleConvNet's
 * second convolution (dx of 10 channels at 12x12): from 16 dx channels, where it always paid.
 */
const MIN_CHANNELS = { forward: { C: 16, K: 8 }, inputGradient: { C: 8, K: 16 }, filterGradient: { C: 16, K: 16 } } as const;

/**
 * The most bytes of a strip of the padded input (WinogradPlan.stripGroupRows): a whole padded image where it fits (C = 16
 * at 28x28: 69 KiB, 32 at 14x14: 46 KiB, 64 at 7x7: 30 KiB), else as many group rows as fit, so that the strip stays in
 * the cache while its groups read it. Measured per kernel against the padded copy (batch 100, one thread, the three
 * alternated in one process, medians of CPU time over 21 rounds, load ~3.5; forward / dx, above 1 where the strips are
 * faster):
 *   16 -> 16 at 28x28 (deep conv2, resnet stage 1)  strips of a whole image 1.07x / 1.05x, of one group row 1.02x / 0.98x
 *   32 -> 32 at 14x14 (resnet stage 2)              1.09x / 1.15x,  one group row 1.06x / 1.08x
 *   32 -> 32 at 14x14 pad 2 (deep conv4)            1.11x / 1.13x,  one group row 1.06x / 1.04x
 *   64 -> 64 at 7x7 (resnet stage 3), at 8x8 (deep conv6): one group an image, so both alike  1.05x / 1.06x-1.08x
 * (one group row pads each row between two group rows twice: 6 rows per 4 of F(4x4, 3x3)'s outputs). Strips past this
 * size were not measured: where not even one group row fits, the padded copy stays. Smaller strips, of 1, 2 or 3 group
 * rows (14-36 KiB, the L1 cache's size), even with their zeros written once a call (a later strip writing only its rows
 * of zeros), were 0.94x-0.99x as fast as the whole image's at 28x28 and 14x14 (forward and dx, 31 rounds).
 */
const STRIP_MAX_BYTES = 256 * 1024;

/** WinogradPlan.stripGroupRows: the most group rows (at most the image's tH) whose strip fits in STRIP_MAX_BYTES, or 0. */
const stripGroupRowsOf = (C: number, m: 2 | 4, groupRows: 1 | 2, tH: number, Wq: number): number =>
  Math.max(0, Math.min(tH, Math.floor((STRIP_MAX_BYTES / (4 * C * Wq) - 2) / (m * groupRows))));

/** The plan's tile grid for tiles of m x m outputs in groups of 4 tiles spanning groupRows tile rows. */
const tiled = (p: Omit<WinogradPlan, 'm' | 'groupRows' | 'tH' | 'gW' | 'Hq' | 'Wq' | 'stripGroupRows'>, m: 2 | 4, groupRows: 1 | 2 = 1): WinogradPlan => {
  const across = 4 / groupRows;
  const tH = Math.ceil(Math.ceil(p.OH / m) / groupRows);
  const gW = Math.ceil(Math.ceil(p.OW / m) / across);
  const Wq = m * across * gW + (m === 2 ? 2 : 4);
  return { ...p, m, groupRows, tH, gW, Hq: m * groupRows * tH + 2, Wq, stripGroupRows: stripGroupRowsOf(p.C, m, groupRows, tH, Wq) };
};

/** Strips forced on every plan (tests, measurements): group rows (at most each plan's tH), 0 for the padded copy; undefined: each plan's own. */
let stripsForced: number | undefined;
/** @example setWinogradStrips(0); // every Winograd convolution pads its whole input first, as it did before strips */
export const setWinogradStrips = (groupRows: number | undefined): void => {
  stripsForced = groupRows;
};
/** Group rows of a plan's strips (WinogradPlan.stripGroupRows, unless forced); 0: the padded copy. */
const stripGroupRows = (p: WinogradPlan): number => Math.min(p.tH, stripsForced ?? p.stripGroupRows);
/** Whether the tiles read the unpadded input through strips (else a padded copy made first). */
const takesStrips = (p: WinogradPlan): boolean => stripGroupRows(p) > 0;

/** Elements per transformed tile, and so products per tile and channel pair: (m + 2)². */
const elementsOf = (p: WinogradPlan): number => (p.m + 2) ** 2;

/** Multiplications per output pixel and channel pair: (m + 2)² per tile of m² pixels, over the pixels the tiles cover. */
const productsPerPixel = (p: WinogradPlan): number => (elementsOf(p) * 4 * p.tH * p.gW) / (p.OH * p.OW);

/**
 * Which tile size the forward and the input gradient take: F(4x4, 3x3) where it takes at most this share of F(2x2, 3x3)'s
 * multiplications per output pixel (productsPerPixel: whole groups of 4 tiles are computed, so outputs narrower than a
 * group waste some). F(4x4, 3x3) takes 2.57 at 28x28 (F(2x2, 3x3) 4.57: 0.56x), 2.94 at 14x14 (4.57: 0.64x), 2.25 at
 * 16x16 (4: 0.56x), and with its tiles 2x2 in a group 2.25 at 8x8 (4: 0.56x) and 2.94 at 7x7 (5.22: 0.56x); with its
 * tiles side by side there it took 4.5 and 5.88 (1.13x). Measured layer by layer (batch 100, one thread, the two
 * alternated, medians of CPU time; F(2x2)'s time over F(4x4)'s, above 1 where F(4x4, 3x3) is faster), forward / dx:
 *   16 -> 16 at 28x28 (deep conv2, resnet stage 1)  1.34x / 1.34x     16 -> 32 at 14x14 (deep conv3)      1.31x / 1.24x
 *   32 -> 32 at 14x14 pad 2, 16x16 out (deep conv4)  1.58x / 1.27x     32 -> 32 at 14x14 (resnet stage 2)  1.28x / 1.32x
 *   32 -> 64 at 8x8 (deep conv5), 2x2 tiles          1.44x / 1.42x     64 -> 64 at 8x8 (deep conv6)       1.46x / 1.43x
 *   64 -> 64 at 7x7 (resnet stage 3), 2x2 tiles      1.48x / 1.51x
 *   the same at 8x8 and 7x7 with the tiles side by side (1.13x the products): 0.85x-0.88x / 0.78x-0.83x
 * (21 rounds, load ~2.5), so F(4x4, 3x3) at 0.56x-0.64x of the products, F(2x2, 3x3) at 1.13x; no shape between was
 * measured (0.8 lies there).
 */
const F4_MAX_PRODUCT_SHARE = 0.8;

const plans = new Map<string, WinogradPlan | undefined>();

/**
 * The plan for a convolution of x [N, C, H, W] with K filters under geometry g, or undefined when Winograd does not
 * take it (not 3x3 stride 1, too few channels for `use`, or turned off). The tile size is `m` when given, else the one
 * that pays for the forward and the input gradient (F4_MAX_PRODUCT_SHARE). Decided once per shape and use, and kept.
 *
 * @example winogradPlan([100, 16, 28, 28], 16, convGeometry('conv', { inH: 28, inW: 28, filterH: 3, pad: 1 }))?.m // 4
 */
export const winogradPlan = (xShape: Shape, K: number, g: ConvGeometry, use: keyof typeof MIN_CHANNELS = 'forward', m?: 2 | 4): WinogradPlan | undefined => {
  if (!enabled) return undefined;
  const [N, C, H, W] = xShape;
  const key = `${use},${N},${C},${H},${W},${K},${g.filterH},${g.filterW},${g.stride},${g.pad},${m}`;
  if (plans.has(key)) return plans.get(key);
  const least = MIN_CHANNELS[use];
  const takes = g.filterH === 3 && g.filterW === 3 && g.stride === 1 && g.outH > 0 && g.outW > 0 && C >= least.C && K >= least.K;
  const base = { N, C, H, W, K, pad: g.pad, OH: g.outH, OW: g.outW };
  // F(4x4, 3x3)'s tiles side by side or 2x2, whichever takes fewer groups (side by side where they take as many)
  const [two, wide, square] = [tiled(base, 2), tiled(base, 4, 1), tiled(base, 4, 2)];
  const four = square.tH * square.gW < wide.tH * wide.gW ? square : wide;
  const chosen = m === undefined ? (productsPerPixel(four) <= F4_MAX_PRODUCT_SHARE * productsPerPixel(two) ? four : two) : m === 4 ? four : two;
  const plan = takes ? chosen : undefined;
  plans.set(key, plan);
  return plan;
};

/**
 * Bytes of one thread's slot in the tiles' scratch: V and M of a block (each of their X matrices 64 bytes further apart),
 * then 576 for the 6x6 transforms (F(4x4, 3x3)), 64 for the state of the strip and the strip (stripBytes), if any.
 */
const slotBytes = (p: WinogradPlan): number => {
  const X = elementsOf(p);
  return Math.ceil((4 * X * 4 * BLOCK_GROUPS[p.m] * (p.C + p.K) + 2 * X * 64 + 576 + 64 + (takesStrips(p) ? stripBytes(p) : 0)) / 64) * 64;
};
/** Bytes of a plan's strip (pad.wat's stripRows): stripGroupRows group rows of the padded planes and the 2 rows below them, in every channel. */
const stripBytes = (p: WinogradPlan): number => 4 * p.C * (stripGroupRows(p) * p.m * p.groupRows + 2) * p.Wq;

/** Floats of scratch the convolution needs besides its input and output (winogradConvolveAt's `pscratch`). */
export const winogradScratchFloats = (p: WinogradPlan): number =>
  (takesStrips(p) ? 0 : p.N * p.C * p.Hq * p.Wq) + elementsOf(p) * p.C * p.K + p.K + (SLOT_FLAGS_BYTES + getThreads() * slotBytes(p)) / 4 + 16;

/**
 * Where transformFilters reads filter element (ci, ko, fy, fx) of `w`: at base + ci byCi + ko byKo + fy byRow + fx byCol
 * (the forward's filters [K, C, 3, 3] as they are, or the input gradient's turned by 180° with their channels swapped).
 */
export interface FilterLayout {
  readonly base: number;
  readonly byCi: number;
  readonly byKo: number;
  readonly byRow: number;
  readonly byCol: number;
}

/**
 * Below this many filters (Cin Kout, ~60 float64 operations each for F(4x4, 3x3)) transformFilters runs on the
 * calling thread.
 */
const TRANSFORM_PARALLEL_MIN = 2048;

/** Bytes of a thread's slot of transformFilters' scratch: a block's U [X, 16] (winogradFilterTransform), rows of 64 bytes. */
const TRANSFORM_SLOT_BYTES = 36 * 64;

/**
 * Floats transformFilters needs at its `pw`: the filters (`wFloats`), then the slot flags and a slot a thread.
 *
 * @example workspace([36 * C * K, transformInputFloats(w.size)]) // [pu, pw] for transformFilters(4, C, K, w.data, ...)
 */
export const transformInputFloats = (wFloats: number): number => (bytesOf(wFloats) + SLOT_FLAGS_BYTES + getThreads() * TRANSFORM_SLOT_BYTES) / 4;

let filtersReadInPlace = 0;
/**
 * How many filter transforms read their filters where they were resident rather than from a copy, since the program
 * started (for tests). @example filterReadsInPlace() // 20 more after a resnet training step (its forwards' and input gradients')
 */
export const filterReadsInPlace = (): number => filtersReadInPlace;

/**
 * U_ξ = (G g Gᵀ)_ξ of every filter g (3x3, element (ci, ko, fy, fx) for input channel ci and output channel ko read from
 * `w` as `layout` says) for tiles of m x m outputs, written as float32 into the shared memory at byte `pu`: (m + 2)²
 * matrices [Cin, Kout], U_ξ[ci, ko] at float pu/4 + (ξ Cin + ci) Kout + ko. Worked in float64, rounded once. G is
 * F(2x2, 3x3)'s [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1] or F(4x4, 3x3)'s (Lavin & Gray 2016), matching winograd.wat's Bᵀ and Aᵀ,
 * both written out (wasm/winograd-filters.wat's winogradFilterTransform), split across the threads by input channels;
 * w is read where it is resident (inputAt: training's weights stay in Adam's slots between steps), else copied to byte
 * `pw` first, the threads' slots after that region (`pw` holds transformInputFloats(w.length) floats). A
 * 64 -> 64 channel layer's forward and input gradient filters together, F(4x4, 3x3), one thread: 0.22 ms, where storing
 * each pair of filters straight into U's 36 planes, 16 KiB apart, took 0.54 ms (the same loop in JavaScript on the
 * calling thread 0.94 ms reading w through strides, ~2 ms through a function per element, as it first did).
 *
 * @example transformFilters(4, C, K, w.data, { base: 0, byCi: 9, byKo: 9 * C, byRow: 3, byCol: 1 }, pu, pw) // a forward's
 */
export const transformFilters = (m: 2 | 4, Cin: number, Kout: number, w: ReadonlyData, layout: FilterLayout, pu: number, pw: number): void => {
  const { base, byCi, byKo, byRow, byCol } = layout;
  const pwAt = inputAt(w, pw);
  if (pwAt !== pw) filtersReadInPlace++;
  const pslots = pw + bytesOf(w.length);
  clearSlotFlags(pslots);
  runChunks('winogradFilterTransform', Cin, 1, [pwAt + 4 * base, byCi, byKo, byRow, byCol, Cin, Kout, m, pu, pslots, TRANSFORM_SLOT_BYTES], Cin * Kout >= TRANSFORM_PARALLEL_MIN);
};

/** Whether winogradTiles may take its products by winogradMultiply (tests turn it off to compare with $gemmRows). */
let dedicatedMultiply = true;
/** @example setWinogradMultiply(false); // winogradTiles' products by gemmRows, one call a ξ */
export const setWinogradMultiply = (on: boolean): void => {
  dedicatedMultiply = on;
};

/**
 * How winogradTiles takes a block's (m + 2)² products M_ξ [K, tiles] = U_ξ [K, C] x V_ξ [C, tiles]: by
 * wasm/winograd-multiply.wat's winogradMultiply, one call for them all, where the sums are at most 256 channels deep (its
 * one block of channels, where gemm.wat's $gemmRows adds blocks of 256) and there are at least 2 filters (one register
 * tile's rows); else by $gemmRows, one call a ξ. Both give the same bits. At C = K = 16..64 (the presets' layers) the
 * per-tile costs of $gemmRows and its micro-kernel weighed as much as a third of the sums.
 *
 * @example winogradMultiplyOf(winogradPlan([100, 16, 28, 28], 16, g)) // 'winogradMultiply'
 */
export const winogradMultiplyOf = (p: WinogradPlan): 'winogradMultiply' | 'gemmRows' =>
  dedicatedMultiply && p.C <= 256 && p.K >= 2 ? 'winogradMultiply' : 'gemmRows';

/**
 * The convolution by Winograd: input [N, C, H, W] at byte `px` of the shared memory, filters already transformed at
 * `pu` (transformFilters), bias [K] at `pbias`, into out [N, K, OH, OW] at `pout`; the padded input (unless the plan
 * takes strips) and the tiles' scratch at `pscratch` (winogradScratchFloats floats beyond the U and bias regions given).
 * `epilogue` after the bias, as winogradTiles takes it: 0 nothing, 1 ReLU, else the byte offset of an addend
 * [N, K, OH, OW] added before ReLU. Split across the threads by groups of tiles when large.
 */
const convolveAt = (p: WinogradPlan, px: number, pu: number, pbias: number, epilogue: number, pscratch: number, pout: number): void => {
  runChunkJob(convolveJob(p, px, pu, pbias, epilogue, pscratch, pout));
};

/** convolveAt up to its tiles' job: pads x first where the plan takes no strips, and gives the job to run. */
const convolveJob = (p: WinogradPlan, px: number, pu: number, pbias: number, epilogue: number, pscratch: number, pout: number): ChunkJob => {
  const { N, C, H, W, K, pad, OH, OW, tH, gW, Hq, Wq, m } = p;
  // the tiles read x as it is (its planes H x W, padded a strip at a time), or a padded copy (Hq x Wq) made first
  const strips = takesStrips(p);
  const ptiles = strips ? pscratch : pscratch + 4 * N * C * Hq * Wq;
  if (!strips) padPlanes(N * C, px, H, W, pad, pscratch, Hq, Wq);
  clearSlotFlags(ptiles);
  const groups = N * tH * gW;
  // X MACs per tile and channel pair (16 per 4 outputs, 36 per 16, where the direct sum does 9 an output): the same test of size as a GEMM's
  const macs = groups * 4 * elementsOf(p) * C * K;
  const multiply = winogradMultiplyOf(p) === 'winogradMultiply' ? 1 : 0;
  const input = strips ? [px, C, H, W] : [pscratch, C, Hq, Wq];
  const args = [...input, tH, gW, pu, K, pbias, epilogue, pout, OH, OW, ptiles, slotBytes(p), BLOCK_GROUPS[m], m, p.groupRows, multiply, strips ? pad : -1, stripGroupRows(p)];
  // chunks of whole blocks: a chunk's last block runs short, and a short block streams all of U_ξ for a few tiles (400
  // groups in chunks of 26 took 64 blocks where 50 do)
  return { fn: 'winogradTiles', total: groups, align: BLOCK_GROUPS[m], tailAlign: TAIL_BLOCK_GROUPS, args, worthSplitting: macs >= PARALLEL_MIN_MACS };
};

/**
 * The forward's transformed filters stay in kept slots, the last KEPT_FILTER_SETS sets of them up to KEPT_FILTERS_MAX_BYTES
 * each (a 64 -> 64 channel layer's F(4x4, 3x3) U is 576 KiB): an evaluation runs batch after batch with the same weights,
 * and tensors are never written, so the same buffer of weights means the same U, transformed once (~1% of resnet's
 * evaluation). Training's weights change every step: there U is only written to a slot instead of the workspace.
 */
const KEPT_FILTER_SETS = 16;
const KEPT_FILTERS_MAX_BYTES = 1 << 20;
const filterSlots = slots('winogradU', KEPT_FILTER_SETS);

/**
 * Where the forward's U of weights `w` under plan p is kept: `fresh` when a slot was just claimed for it and U must be
 * written there; undefined when U is too large to keep (then it goes in the workspace, transformed every call).
 */
const keptFiltersOf = (p: WinogradPlan, w: ReadonlyData): { readonly offset: number; readonly fresh: boolean } | undefined => {
  const bytes = 4 * elementsOf(p) * p.C * p.K;
  if (bytes > KEPT_FILTERS_MAX_BYTES) return undefined;
  const tag = `winogradU F(${p.m}x${p.m})`;
  const at = derivedAt(w, tag);
  if (at !== undefined) return { offset: at, fresh: false };
  const slot = filterSlots.claim(bytes);
  recordDerived(slot.name, w, tag, slot.offset);
  return { offset: slot.offset, fresh: true };
};

/**
 * Floats winogradTiles may read past an addend's last: it reads the addend by whole vectors, each where its first float
 * is in the row, so up to 3 past a row's last (the next row's, or past the last row of the last plane).
 */
const ADDEND_SLACK_FLOATS = 4;

/**
 * The byte offset of an addend in the shared memory with ADDEND_SLACK_FLOATS of memory after it: where it is resident,
 * unless it ends too near the memory's end, else copied to `p` (a region of its size plus the slack).
 */
const addendAt = (addend: Tensor, p: number): number => {
  const at = residentAt(addend.data);
  if (at !== undefined && at + 4 * (addend.size + ADDEND_SLACK_FLOATS) <= memory.buffer.byteLength) return at;
  f32().set(addend.data, p / 4);
  return p;
};

/**
 * conv2d's output (with ReLU when `relu`) by Winograd into the shared memory: x [N, C, H, W], w [K, C, 3, 3], b [K] ->
 * [N, K, OH, OW] at the byte offset `pout` it gives (`out`'s when given: a result slot), in a workspace it lays out with
 * `extraFloats` more floats at `pextra` for the caller (valid until the next workspace). x (and `addend`) are read
 * where they are resident (inputAt). With an `addend` [N, K, OH, OW] (and `relu`), relu(conv + b + addend): each output
 * rounded with its bias, then the addend's element added, as the output transform stores it.
 *
 * @example
 * const { pout, pextra } = winogradConvAt(plan, x, w, b, true, n); // then pool from pout into pextra
 */
export const winogradConvAt = (
  p: WinogradPlan, x: Tensor, w: Tensor, b: Tensor, relu: boolean, extraFloats = 0, out?: Slot, addend?: Tensor,
): { pout: number; pextra: number } => {
  const { N, C, K, OH, OW } = p;
  // before the workspace: a kept slot that grows moves where the workspace starts
  const kept = keptFiltersOf(p, w.data);
  const [px, puWork, pw, pbias, pscratch, pwork, pextra, paddend] = workspace([
    x.size, kept === undefined ? elementsOf(p) * C * K : 0, transformInputFloats(w.size), K, winogradScratchFloats(p), out === undefined ? N * K * OH * OW : 0, extraFloats,
    addend === undefined ? 0 : addend.size + ADDEND_SLACK_FLOATS,
  ]);
  const pout = out?.offset ?? pwork;
  const pxAt = inputAt(x.data, px);
  const epilogue = addend !== undefined ? addendAt(addend, paddend) : relu ? 1 : 0;
  const mem = f32();
  mem.set(b.data, pbias / 4);
  const pu = kept?.offset ?? puWork;
  // u(c, k) = W[k, c]
  if (kept === undefined || kept.fresh) transformFilters(p.m, C, K, w.data, { base: 0, byCi: 9, byKo: 9 * C, byRow: 3, byCol: 1 }, pu, pw);
  convolveAt(p, pxAt, pu, pbias, epilogue, pscratch, pout);
  return { pout, pextra };
};

/**
 * conv2d's output (with ReLU when `relu`; with an `addend` as well, relu(conv + addend)) by Winograd: x [N, C, H, W],
 * w [K, C, 3, 3], b [K] -> [N, K, OH, OW].
 *
 * @example
 * const plan = winogradPlan(x.shape, w.shape[0], g); if (plan) winogradConv(plan, x, w, b, false)
 */
export const winogradConv = (p: WinogradPlan, x: Tensor, w: Tensor, b: Tensor, relu: boolean, addend?: Tensor): Tensor => {
  const n = p.N * p.K * p.OH * p.OW;
  const out = resultSlot(n, addend === undefined ? [x.data] : [x.data, addend.data]);
  winogradConvAt(p, x, w, b, relu, 0, out, addend);
  return fromData([p.N, p.K, p.OH, p.OW], resultOut(out, n));
};

/**
 * The plan for a convolution's input gradient by Winograd, or undefined: dx [N, C, H, W] is dy [N, FN, OH, OW]
 * convolved (stride 1) with the filters turned by 180° and their channels swapped, padded by 2 - pad.
 *
 * @example winogradDxPlan([100, 16, 28, 28], [100, 16, 28, 28], g) // the plan of a 16 -> 16 channel conv, pad 1
 */
export const winogradDxPlan = (dyShape: Shape, xShape: Shape, g: ConvGeometry, m?: 2 | 4): WinogradPlan | undefined => {
  if (!enabled || g.filterH !== 3 || g.filterW !== 3 || g.stride !== 1 || g.pad > 2) return undefined;
  const [, , OH, OW] = dyShape;
  const [, C, H, W] = xShape;
  const pad = 2 - g.pad;
  return winogradPlan(dyShape, C, { inH: OH, inW: OW, filterH: 3, filterW: 3, stride: 1, pad, outH: H, outW: W }, 'inputGradient', m);
};

/** Floats of the shared memory winogradDx needs at its `pscratch` (for the transformed filters, a zero bias and the rest). */
export const winogradDxFloats = (p: WinogradPlan): number => elementsOf(p) * p.C * p.K + p.K + 16 + transformInputFloats(9 * p.C * p.K) + winogradScratchFloats(p);

/**
 * dx [N, C, H, W] of a 3x3 stride-1 convolution by Winograd (plan from winogradDxPlan), from dy [N, FN, OH, OW] already at
 * byte `pdy` of the shared memory and the forward's filters w [FN, C, 3, 3]; `pscratch` has winogradDxFloats floats, dx
 * goes to `pdx`.
 */
export const winogradDx = (p: WinogradPlan, pdy: number, w: ReadonlyData, pscratch: number, pdx: number): void => {
  runChunkJob(winogradDxJob(p, pdy, w, pscratch, pdx));
};

/**
 * winogradDx up to its tiles' job (the filters transformed, dy padded where the plan takes no strips), for a caller that
 * runs the job together with another (threads.ts's runTogether).
 */
export const winogradDxJob = (p: WinogradPlan, pdy: number, w: ReadonlyData, pscratch: number, pdx: number): ChunkJob => {
  const { C: FN, K: C } = p;
  const pu = pscratch;
  const pbias = pu + 4 * elementsOf(p) * FN * C;
  const pw = Math.ceil((pbias + 4 * C) / 64) * 64;
  const prest = pw + 4 * transformInputFloats(w.length);
  // u(f, c) = W[f, c] turned by 180°: element (fy, fx) of u is (2 - fy, 2 - fx) of W, its first at 8
  transformFilters(p.m, FN, C, w, { base: 8, byCi: 9 * C, byKo: 9, byRow: -3, byCol: -1 }, pu, pw);
  f32().fill(0, pbias / 4, pbias / 4 + C);
  return convolveJob(p, pdy, pu, pbias, 0, prest, pdx);
};

/**
 * dx [N, C, H, W] of a 3x3 stride-1 convolution by Winograd for any plan of winogradDxPlan (a tile size forced or
 * chosen): from dy [N, FN, OH, OW] and the forward's filters w [FN, C, 3, 3].
 *
 * @example
 * const p = winogradDxPlan(dy.shape, x.shape, g, 4); if (p) winogradInputGrad(p, dy, w) // [N, C, H, W]
 */
export const winogradInputGrad = (p: WinogradPlan, dy: Tensor, w: Tensor): Tensor => {
  const [pdy, pscratch, pdx] = workspace([dy.size, winogradDxFloats(p), p.N * p.K * p.OH * p.OW]);
  f32().set(dy.data, pdy / 4);
  winogradDx(p, pdy, w.data, pscratch, pdx);
  return fromData([p.N, p.K, p.OH, p.OW], copyF32(pdx, p.N * p.K * p.OH * p.OW));
};

/**
 * Groups of 4 tiles per block of the filter gradient: a block's V [X, C, tiles] and E [X, K, tiles] (X = 16 or 36 elements
 * per tile) stay in the cache for the X sums over its tiles (64 tiles, F(2x2, 3x3): 128 KiB for C = K = 32). winograd.wat's
 * winogradDwDot reads their rows 256 bytes apart at constant offsets, so this is fixed there too (winogradDwTiles traps on
 * any other count); blocks of 8, 12, 32 and 64 groups were 1.03x-1.08x slower per layer.
 */
const DW_BLOCK_GROUPS = 16;
/** The filter gradient's tiles are cut into at most this many shares, each of at least DW_SHARE_TILES tiles where there are enough. */
const DW_MAX_SHARES = 16;
const DW_SHARE_TILES = 256;

/** How a convolution's filter gradient runs by Winograd F(m x m, 3x3): the forward's plan fields for tiles of m x m outputs. */
export type WinogradDwPlan = WinogradPlan;

/**
 * The filter gradient's plan with tiles of m x m outputs for a shape Winograd takes (3x3, stride 1, at least 16 input and
 * 16 output channels), however much its tiles waste: the forward's tile grid (winogradPlan), groups of 4 tiles side by
 * side or, for F(4x4, 3x3) where that takes fewer groups, 2x2.
 *
 * @example winogradDwPlanOf([100, 16, 28, 28], 16, g, 4)?.gW // 2: 7 tiles of 4 columns a row, in 2 groups side by side
 * @example winogradDwPlanOf([100, 64, 7, 7], 64, g, 4)?.groupRows // 2: the 2x2 tiles of a 7x7 output in one group
 */
export const winogradDwPlanOf = (xShape: Shape, K: number, g: ConvGeometry, m: 2 | 4): WinogradDwPlan | undefined => winogradPlan(xShape, K, g, 'filterGradient', m);

/**
 * The most multiplications per output pixel and filter-channel pair a filter gradient by Winograd may take; the GEMM
 * takes 9. Whole groups of 4 tiles are computed, so narrow outputs waste some: F(2x2, 3x3) takes 4.57 at 28x28 and 14x14
 * (tiles cover 1.14x the output), 5.22 at 7x7 (1.31x), 4 at 8x8 and 16x16; F(4x4, 3x3) 2.57 at 28x28, 2.94 at 14x14,
 * 2.25 at 16x16, and with its tiles 2x2 in a group 2.25 at 8x8 and 2.94 at 7x7 (side by side there: 4.5 and 5.88).
 * Measured per layer against the GEMM path (batch 100, one thread, CPU time, the whole backward without dx): F(2x2, 3x3)
 * at 4.57 0.94x, at 4 0.83x-0.86x, at 5.22 1.04x; F(4x4, 3x3) at 2.57 0.80x, at 2.94 0.75x-0.77x, at 2.25 0.60x, side by
 * side at 4.5 1.07x (F(2x2, 3x3) 0.83x there). With 2x2 groups (dW alone, Winograd's kernel against the backward without dx
 * by the GEMM, the three alternated, medians of CPU time over 21 rounds, load ~2; GEMM / F(2x2, 3x3) / F(4x4, 3x3)):
 *   64 -> 64 at 7x7 (resnet stage 3, 2.94)  10.8 / 11.3 / 7.9 ms: F(4x4, 3x3) 1.37x faster than the GEMM, 1.44x than F(2x2)
 *   32 -> 64 at 8x8 (deep conv5, 2.25)       6.7 /  5.5 / 3.9 ms: 1.75x and 1.42x
 *   64 -> 64 at 8x8 (deep conv6, 2.25)      13.8 / 11.0 / 7.6 ms: 1.82x and 1.45x
 * so the rule stands as it was: the fewest products, where they are at most 4.6 (no shape between 4.6 and 5.22 measured).
 */
const DW_MAX_PRODUCTS = 4.6;

/**
 * The plan for a convolution's filter gradient by Winograd, or undefined: dW [K, C, 3, 3] from x [N, C, H, W] and
 * dy [N, K, OH, OW] of a 3x3 stride-1 convolution of at least 16 input and 16 output channels, with the tile size that
 * takes the fewest multiplications, where those are few enough (DW_MAX_PRODUCTS). Decided once per shape, and kept.
 *
 * @example winogradDwPlan([100, 16, 28, 28], [100, 16, 28, 28], g)?.m // 4
 */
export const winogradDwPlan = (dyShape: Shape, xShape: Shape, g: ConvGeometry): WinogradDwPlan | undefined => {
  if (!enabled) return undefined;
  const key = `${dyShape.join(',')};${xShape.join(',')};${g.filterH},${g.filterW},${g.stride},${g.pad}`;
  if (dwPlans.has(key)) return dwPlans.get(key);
  const options = ([2, 4] as const).map((m) => winogradDwPlanOf(xShape, dyShape[1], g, m)).filter((p) => p !== undefined);
  const best = options.reduce<WinogradDwPlan | undefined>((a, p) => (a === undefined || productsPerPixel(p) < productsPerPixel(a) ? p : a), undefined);
  const plan = best !== undefined && productsPerPixel(best) <= DW_MAX_PRODUCTS ? best : undefined;
  dwPlans.set(key, plan);
  return plan;
};
const dwPlans = new Map<string, WinogradDwPlan | undefined>();

/**
 * How the filter gradient's tile groups are cut into shares: a cut that depends on the shape alone, never on the
 * threads, so that adding the shares' sums in their order gives the same bits at any thread count.
 *
 * @example winogradDwShares(resnetStage1Plan) // { shares: 16, shareGroups: 88, groups: 1400 }
 */
export const winogradDwShares = (p: WinogradDwPlan): { shares: number; shareGroups: number; groups: number } => {
  const groups = p.N * p.tH * p.gW;
  const wanted = Math.min(DW_MAX_SHARES, Math.max(1, Math.floor((4 * groups) / DW_SHARE_TILES)));
  const shareGroups = Math.ceil(groups / wanted);
  return { shares: Math.ceil(groups / shareGroups), shareGroups, groups };
};

/**
 * Ranges of filters each share of the filter gradient is cut into (winograd.wat's winogradDwTiles): one a thread where
 * there are fewer shares than threads and the work is worth a worker's waking (`parallel`), at most one a row of 4
 * filters; else 1. resnet's 64 -> 64 layers at 7x7 and deep's at 8x8 take 100 groups, one share: without the ranges
 * the calling thread ran them alone. Every item transforms its share's x patches again (C channels), so the ranges
 * pay only where a worker would otherwise idle. Any count gives the same bits.
 */
const dwFilterRanges = (p: WinogradDwPlan, shares: number, parallel: boolean): number =>
  parallel && shares < getThreads() ? Math.min(getThreads(), Math.ceil(p.K / 4)) : 1;

/**
 * How winogradDw cuts a plan's tiles at the current thread count: its shares (winogradDwShares), whether their work is worth a
 * worker's waking (X multiply-adds per tile and filter-channel pair, the same test of size as a GEMM's), and the ranges
 * of filters each share is cut into (dwFilterRanges).
 *
 * @example setThreads(2); winogradDwSplit(resnetStage3Plan) // { shares: 1, parallel: true, filterRanges: 2 }
 */
export const winogradDwSplit = (p: WinogradDwPlan): { shares: number; parallel: boolean; filterRanges: number } => {
  const { shares, groups } = winogradDwShares(p);
  const parallel = groups * 4 * elementsOf(p) * p.C * p.K >= PARALLEL_MIN_MACS;
  return { shares, parallel, filterRanges: dwFilterRanges(p, shares, parallel) };
};

/**
 * Bytes of one thread's slot for the filter gradient (winograd.wat's winogradDwTiles): V and E of a block, the lane-wise
 * sums [X, Kp, Cp] of vectors, 576 for the transforms, 16 a group and 32 a part of a block, then a strip of one channel
 * of the padded x and one of one filter of dy, each at most DW_BLOCK_GROUPS (m groupRows + 2) rows (a block's groups
 * take at most as many group rows, its parts, one an image, add 2 rows each to x's): 16 -> 16 at 28x28 14 + 12 KiB,
 * 32 -> 32 at 14x14 8 + 6 KiB, 64 -> 64 at 7x7 8 + 5 KiB.
 */
const dwSlotBytes = (p: WinogradDwPlan): number => {
  const [Kp, Cp, X] = [Math.ceil(p.K / 4) * 4, Math.ceil(p.C / 2) * 2, elementsOf(p)];
  const rowBytes = 16 * DW_BLOCK_GROUPS;
  const stripRows = DW_BLOCK_GROUPS * (p.m * p.groupRows + 2);
  const strips = 4 * stripRows * (p.Wq + p.m * (4 / p.groupRows) * p.gW);
  return Math.ceil((X * (Cp * rowBytes + 64) + X * (Kp * rowBytes + 64) + X * 16 * Kp * Cp + 576 + 48 * DW_BLOCK_GROUPS + strips) / 64) * 64;
};

/**
 * Float counts of winogradDw's regions: x (when not resident), the shares' sums, the tiles' scratch, then
 * filtersFromSumsAt's scratch.
 */
const dwRegions = (p: WinogradDwPlan): number[] => [
  p.N * p.C * p.H * p.W,
  winogradDwShares(p).shares * elementsOf(p) * p.K * p.C,
  (SLOT_FLAGS_BYTES + getThreads() * dwSlotBytes(p)) / 4,
  filtersScratchFloats(p.K, p.C, p.m),
];

/** Floats of the shared memory winogradDw needs at its `pscratch`. */
export const winogradDwFloats = (p: WinogradDwPlan): number => dwRegions(p).reduce((sum, n) => sum + Math.ceil(n / 16) * 16, 0);

/**
 * dW [K, C, 3, 3] of a 3x3 stride-1 convolution by Winograd (plan from winogradDwPlan; see wasm/winograd.wat's
 * winogradDwTiles): from the forward's input x [N, C, H, W] (read where it is resident: inputAt) and dy [N, K, OH, OW]
 * already at byte `pdy` of the shared memory, both padded by the tiles a block's rows at a time, with winogradDwFloats
 * floats of scratch at `pscratch`. M_ξ[k, c] are the shares' sums added in their order, in float64; dW[k, c] = Gᵀ M G
 * (filtersFromSumsAt). `filterRanges` (tests) forces the ranges of filters each share is cut into, else dwFilterRanges.
 */
export const winogradDw = (p: WinogradDwPlan, x: Tensor, pdy: number, pscratch: number, filterRanges?: number): Float32Array => {
  const { tiles, finish } = winogradDwJob(p, x, pdy, pscratch, filterRanges);
  runChunkJob(tiles);
  return finish();
};

/**
 * winogradDw in two steps, for a caller that runs its tiles' job together with another (threads.ts's runTogether): the
 * job (the shares' sums), then `finish` (dW from the sums, once the job has run). With `scoped`, the open result scope's
 * slot of 9 K C floats (layout.ts's scopeSlot, claimed before the workspace at `pscratch` was laid out), dW is written
 * there and given as a view, which Adam reads in place; else it is a fresh copy.
 */
export const winogradDwJob = (
  p: WinogradDwPlan, x: Tensor, pdy: number, pscratch: number, filterRanges?: number, scoped?: Slot,
): { tiles: ChunkJob; finish: () => Float32Array } => {
  const { C, H, W, K, pad, OH, OW, tH, gW, Wq, m } = p;
  const { shares, shareGroups, groups } = winogradDwShares(p);
  const offsets: number[] = [];
  dwRegions(p).reduce((at, n) => (offsets.push(at), at + 4 * Math.ceil(n / 16) * 16), pscratch);
  const [px, psums, ptiles, pfilters] = offsets;
  clearSlotFlags(ptiles);
  const split = winogradDwSplit(p);
  const kParts = filterRanges ?? split.filterRanges;
  // x read where it is resident, else from a copy at px; x and dy padded a block's rows at a time by the tiles
  const args = [inputAt(x.data, px), C, H, W, pad, Wq, tH, gW, pdy, K, OH, OW, groups, shareGroups, psums, ptiles, dwSlotBytes(p), DW_BLOCK_GROUPS, m, p.groupRows, kParts];
  // item i: share i / kParts, its filters' range i mod kParts
  return {
    tiles: { fn: 'winogradDwTiles', total: shares * kParts, align: 1, args, worthSplitting: split.parallel },
    finish: () => filtersFromSumsAt(psums, shares, K, C, m, pfilters, scoped),
  };
};

/** Filter-channel pairs a block of winogradDwFilters takes at once (8 f64x2: one 64-byte line of a row of each share's sums), and so a chunk's multiple. */
const FILTERS_BLOCK = 16;

/** Bytes of one thread's slot in filtersFromSumsAt's scratch: a block's M [(m + 2)², FILTERS_BLOCK] in float64. */
const filtersSlotBytes = (m: 2 | 4): number => (m + 2) ** 2 * 8 * FILTERS_BLOCK;

/** Floats of filtersFromSumsAt's scratch: dW [K, C, 3, 3], the slot flags and the threads' slots. */
const filtersScratchFloats = (K: number, C: number, m: 2 | 4): number => (bytesOf(9 * K * C) + SLOT_FLAGS_BYTES + getThreads() * filtersSlotBytes(m)) / 4;

/**
 * Below this many operations (the X floats each filter-channel pair reads of every share, and ~9 X for its transforms)
 * filtersFromSumsAt runs on the calling thread.
 */
const FILTERS_PARALLEL_MIN = 1 << 16;

/**
 * dW [K, C, 3, 3] = Gᵀ M G for every filter and channel (G F(2x2, 3x3)'s with the sign winograd.wat's transforms leave
 * on M, its last row negated, or F(4x4, 3x3)'s), M_ξ[k, c] the sum of the shares' [X, K, C] at byte `psums` in their
 * order, in float64 (wasm/winograd-filters.wat's winogradDwFilters), split across the threads by filter-channel pairs:
 * the same bits at any thread count. `pscratch` holds filtersScratchFloats floats; dW is written at its start and copied
 * out, or, with `scoped` (a result scope's slot), written there and given as a view (scopedOut). The kernel alone, one
 * thread, F(4x4, 3x3): 64 -> 64 channels with 1 share (resnet's stage 3 at any batch) 0.13 ms, 32 -> 32 with 6 shares
 * 0.07 ms, 16 -> 16 with 16 0.06 ms. The same sums in JavaScript, one (k, c) at a time on the calling thread, took 3.5% of resnet's training
 * step at 1 thread, 5.8% at 2.
 */
const filtersFromSumsAt = (psums: number, shares: number, K: number, C: number, m: 2 | 4, pscratch: number, scoped?: Slot): Float32Array => {
  const plane = K * C;
  const [pdw, pslots] = [scoped?.offset ?? pscratch, pscratch + bytesOf(9 * plane)];
  clearSlotFlags(pslots);
  const X = (m + 2) ** 2;
  runChunks('winogradDwFilters', plane, FILTERS_BLOCK, [psums, shares, plane, m + 2, pdw, pslots, filtersSlotBytes(m)], plane * X * (shares + 9) >= FILTERS_PARALLEL_MIN);
  return scopedOut(scoped, pdw, 9 * plane);
};

/**
 * dW [K, C, 3, 3] from the shares' sums [shares, (m + 2)², K, C] of winograd.wat's winogradDwTiles, as winogradDw
 * finishes it (filtersFromSumsAt): for tests.
 *
 * @example filtersFromSums(new Float32Array(16 * 16 * 16), 1, 16, 16, 2) // 2304 zeros
 */
export const filtersFromSums = (sums: Float32Array, shares: number, K: number, C: number, m: 2 | 4): Float32Array => {
  const [psums, pscratch] = workspace([sums.length, filtersScratchFloats(K, C, m)]);
  f32().set(sums, psums / 4);
  return filtersFromSumsAt(psums, shares, K, C, m, pscratch);
};

/**
 * dW [K, C, 3, 3] of a 3x3 stride-1 convolution by Winograd for any plan of winogradDwPlanOf (also one winogradDwPlan
 * would not take): from its input x [N, C, H, W] and dy [N, K, OH, OW]; `filterRanges` forces the ranges of filters each
 * share is cut into (the same bits at any count).
 *
 * @example
 * const p = winogradDwPlanOf(x.shape, dy.shape[1], g, 4); if (p) winogradFilterGrad(p, x, dy) // [K, C, 3, 3]
 */
export const winogradFilterGrad = (p: WinogradDwPlan, x: Tensor, dy: Tensor, filterRanges?: number): Tensor => {
  const [pdy, pscratch] = workspace([dy.size, winogradDwFloats(p)]);
  f32().set(dy.data, pdy / 4);
  return fromData([p.K, p.C, 3, 3], winogradDw(p, x, pdy, pscratch, filterRanges));
};
