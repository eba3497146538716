import type { ConvGeometry } from '../geometry.js';
import { allFinite } from '../kernels/reference.js';
import type { Shape } from '../shape.js';
import { fromData, type Tensor } from '../tensor.js';
import { padN } from './gemm.js';
import { bytesOf, workspace } from './layout.js';
import { type ChunkJob, PARALLEL_MIN_MACS, runChunkJob } from './threads.js';
import { copyF32, f32, wasm } from './wasm.js';

/*
 * The input gradient of stride-2 convolutions (a ResNet's downsampling: 3x3 pad 1, and its 1x1 shortcut) by phases; the
 * kernel is wasm/stride2.wat's stride2Dx.
 *
 * Each phase of dx, dx[ey::2, ex::2], is a stride-1 "full" convolution of dy with the filter taps of the matching parity
 * (dx[2i + ey] takes dy[oy] through tap fy where 2 oy + fy = 2i + ey + pad; for 3x3 pad 1 the phases take 1x1, 1x2, 2x1
 * and 2x2 sub-filters, for 1x1 pad 0 one phase takes the filter and three are zero), each tap once: the multiply-adds of
 * the GEMM path's dcol = dRows . W, without dcol [N*OH*OW, C*FH*FW] going to memory and without col2im's scatter-add of it.
 * dy is copied per column shift the taps need, as wide as the phase, so that 8 adjacent outputs of a phase are 8 adjacent
 * floats at every tap (a direct convolution, stride2.wat's flatConv), and the four phases are interleaved into dx. Per
 * image, split across the threads by images. Finite filters only (stride2DxPlan): the phases multiply dy's zero padding
 * by the filters too.
 *
 * Which layers take it (stride2DxPlan): those whose phases fill their 8-wide tiles (at most 1/16 of a phase's tiles past
 * its pixels). Measured inside resnet training steps (each pass timed by the wall clock, phases on and off alternated, 40
 * steps): the 28x28 -> 14x14 layers' (14x14 phases, 196 pixels in 25 tiles) input and filter gradients took 15.4 ms
 * against 21.3 (3x3) and 5.3 against 6.2 (1x1) at 1 thread, 7.7 against 10.0 and 2.7 against 3.4 at 2; the 14x14 -> 7x7
 * layers' (7x7 phases, 49 pixels in 7 tiles: 1/8 thrown away) 15.4 against 15.7 and 4.1 against 4.1 at 1 thread, but 9.4
 * against 7.4 and 2.8 against 2.3 at 2, where the GEMM and col2im split better: they keep the GEMM path.
 *
 * The forward and the filter gradient keep the GEMM on the implicit im2col (kernels.ts): it already runs at the GEMM's
 * speed. The forward was tried by phases too (the input's four phases as channels, one copy per column tap, then one
 * stride-1 direct convolution): per layer 1.0-1.16x the GEMM path's time, so it was left out.
 *
 * Float32: each element of dx is summed over its taps in another order than the GEMM path's (col2im adds the taps' products
 * after the GEMM summed each over the filters), so the two differ in the last bits; both are checked against the reference
 * on generated shapes (test/stride2.test.ts).
 */

/** How the input gradient of a stride-2 convolution of one shape runs by phases: the tap tables and the layouts the kernel reads. */
export interface Stride2Plan {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  /** Output channels (filters). */
  readonly FN: number;
  readonly FH: number;
  readonly FW: number;
  readonly pad: number;
  readonly OH: number;
  readonly OW: number;
  /** The copies of dy: Hd rows each, Ty of them zeros above dy's. */
  readonly Hd: number;
  readonly Ty: number;
  /** The copies of dy the phases' column taps read: each shifted by s columns, cols floats a row, at byte `offset` of a slot. */
  readonly dyCopies: readonly { readonly s: number; readonly cols: number; readonly offset: number }[];
  /** dx's four phases, (ey, ex) = (0, 0), (0, 1), (1, 0), (1, 1). */
  readonly dxPhases: readonly DxPhase[];
  /** Bytes of one image's slot: its copies of dy, then the phases' flat outputs. */
  readonly dxSlotBytes: number;
}

/** One phase of dx, dx[ey::2, ex::2]: the filter taps that reach it and where each reads the copies of dy. */
interface DxPhase {
  /** Filter rows fy and columns fx of this parity: tap (f, t, u) is W[f, c, fys[t], fxs[u]]. */
  readonly fys: readonly number[];
  readonly fxs: readonly number[];
  /** Tap (f, t, u) reads its copy of dy at byte offset kTab[k] from the slot, plus 4 per output pixel. */
  readonly kTab: Int32Array;
  /** The phase's pixels, rows * cols, and its flat output per channel, that rounded up to whole tiles of 8. */
  readonly pixels: number;
  readonly Q: number;
  /** Where the flat output [C, Q] goes in a slot (bytes). */
  readonly flat: number;
}

/** Whether stride-2 input gradients may take the phases (tests turn it off to compare with the GEMM path). */
let enabled = true;
/** @example setStride2(false); // stride-2 input gradients through the GEMM and col2im */
export const setStride2 = (on: boolean): void => {
  enabled = on;
};

/** The name `traceConvPaths` gives this path. */
export const STRIDE2_NAME = 'stride-2 phases';

const plans = new Map<string, Stride2Plan>();
const PLANS_KEPT = 8;

/**
 * The plan for the input gradient of a convolution of x [N, C, H, W] by FN filters of geometry g, or undefined when the
 * shape does not take this path: stride 2, filters up to 3x3 and padding 0 or 1 (what the kernel is tested on; a ResNet's
 * downsampling and shortcuts). Made once per shape and kept.
 *
 * @example stride2Plan([100, 16, 28, 28], 32, convGeometry('conv', { inH: 28, inW: 28, filterH: 3, pad: 1, stride: 2 })) // a plan
 */
export const stride2Plan = (xShape: Shape, FN: number, g: ConvGeometry): Stride2Plan | undefined => {
  const [N, C, H, W] = xShape;
  const { filterH: FH, filterW: FW, pad, stride, outH: OH, outW: OW } = g;
  if (!enabled || stride !== 2 || FH > 3 || FW > 3 || pad > 1) return undefined;
  const key = `${N},${C},${H},${W},${FN},${FH},${FW},${pad}`;
  const hit = plans.get(key);
  if (hit !== undefined) return hit;
  const plan = makePlan(N, C, H, W, FN, FH, FW, pad, OH, OW);
  if (plans.size >= PLANS_KEPT) plans.delete(plans.keys().next().value ?? '');
  plans.set(key, plan);
  return plan;
};

/** At most this share of a phase's 8-wide tiles may lie past its pixels for a layer to take the phases (see above). */
const MAX_TILE_WASTE = 1 / 16;

/**
 * stride2Plan for the input gradient of a convolution by the filters w, where the phases pay: phases that fill their
 * tiles (MAX_TILE_WASTE) and filters that are all finite (a tap that falls on dy's zero padding adds 0 * w, NaN for an
 * infinite or NaN w, where the GEMM path adds nothing for it).
 *
 * @example stride2DxPlan([100, 16, 28, 28], w, g) // a plan; [100, 32, 14, 14] (7x7 phases): undefined
 */
export const stride2DxPlan = (xShape: Shape, w: Tensor, g: ConvGeometry): Stride2Plan | undefined => {
  const plan = stride2Plan(xShape, w.shape[0], g);
  const fills = plan?.dxPhases.every((p) => p.Q - p.pixels <= MAX_TILE_WASTE * p.Q) ?? false;
  return fills && allFinite(w) ? plan : undefined;
};

/** Taps of parity `phase` of a filter `size` long: phase, phase + 2, ... @example parityTaps(3, 0) // [0, 2] */
const parityTaps = (size: number, phase: number): number[] => Array.from({ length: Math.max(0, (size - phase + 1) >> 1) }, (_, t) => phase + 2 * t);

/** Floats after a copy of dy for flatConv's reads past the last pixel (its last tile's tail): stride2Dx zeroes them. */
const READ_PAST = 16;

const makePlan = (N: number, C: number, H: number, W: number, FN: number, FH: number, FW: number, pad: number, OH: number, OW: number): Stride2Plan => {
  // dx row iy = 2i + ey has padded row u = iy + pad = 2A + (u mod 2) and takes dy row A - t through
  // tap fy = (u mod 2) + 2t; its phase's row i is A - A0 (A0 = (pad + ey) >> 1). Columns likewise: column m of phase ex
  // takes dy column m + A0(ex) - t through tap fx = ((ex + pad) mod 2) + 2t, read from the copy of dy shifted by
  // s = A0(ex) - t. The copies have Ty zero rows above dy's, for the phases' first rows, and Hd rows in all, for their last.
  const rows = (e: number): number => (H - e + 1) >> 1;
  const cols = (e: number): number => (W - e + 1) >> 1;
  const A0 = (e: number): number => (pad + e) >> 1;
  const taps = (size: number, e: number): number[] => parityTaps(size, (e + pad) & 1);
  const Ty = Math.max(0, ...[0, 1].map((e) => taps(FH, e).length - 1 - A0(e)));
  const Hd = Ty + Math.max(...[0, 1].map((e) => A0(e) + rows(e)));
  let slotBytes = 0;
  const take = (floats: number): number => {
    const at = slotBytes;
    slotBytes += bytesOf(floats);
    return at;
  };
  // one copy per shift and width (for 3x3 pad 1 and an even W, phases 0 and 1 share the unshifted one)
  const copies = new Map<string, { readonly s: number; readonly cols: number; readonly offset: number }>();
  const copyFor = (s: number, n: number) => {
    const key = `${s},${n}`;
    const have = copies.get(key) ?? { s, cols: n, offset: take(FN * Hd * n + READ_PAST) };
    copies.set(key, have);
    return have;
  };
  const copyOf = [0, 1].map((ex) => taps(FW, ex).map((_, t) => copyFor(A0(ex) - t, cols(ex))));
  const dxPhases = [0, 1, 2, 3].map((p): DxPhase => {
    const [ey, ex] = [p >> 1, p & 1];
    const [fys, fxs] = [taps(FH, ey), taps(FW, ex)];
    const tab = new Int32Array(FN * fys.length * fxs.length);
    let j = 0;
    for (let f = 0; f < FN; f++)
      for (let t = 0; t < fys.length; t++)
        for (let u = 0; u < fxs.length; u++) tab[j++] = copyOf[ex][u].offset + 4 * (f * Hd + A0(ey) - t + Ty) * cols(ex);
    const pixels = rows(ey) * cols(ex);
    const Q = Math.ceil(pixels / 8) * 8;
    return { fys, fxs, kTab: tab, pixels, Q, flat: take(C * Q) };
  });
  return { N, C, H, W, FN, FH, FW, pad, OH, OW, Hd, Ty, dyCopies: [...copies.values()], dxPhases, dxSlotBytes: slotBytes };
};

/** The regions of the input gradient's area (byte offsets from its start): see stride2Dx. */
const dxLayout = (plan: Stride2Plan): { kTabs: number[]; packed: number[]; stage: number; desc: number; scratch: number; bytes: number } => {
  const { N, C, dxPhases, dyCopies, dxSlotBytes } = plan;
  let at = 0;
  const take = (floats: number): number => {
    const p = at;
    at += bytesOf(floats);
    return p;
  };
  const kTabs = dxPhases.map((p) => take(p.kTab.length));
  const packed = dxPhases.map((p) => take(p.kTab.length * padN(C)));
  const stage = take(Math.max(...dxPhases.map((p) => p.kTab.length)) * C);
  const desc = take(22 + 3 * dyCopies.length);
  const scratch = take((N * dxSlotBytes) / 4);
  return { kTabs, packed, stage, desc, scratch, bytes: at };
};

/** Floats of the area stride2Dx needs. @example workspace([..., stride2DxFloats(plan)]) */
export const stride2DxFloats = (plan: Stride2Plan): number => dxLayout(plan).bytes / 4;

/**
 * dx [N, C, H, W] of the convolution from dy [N, FN, OH, OW] already at byte offset `pdy` of the shared memory and the
 * filters w, by phases (stride2.wat's stride2Dx, split across the threads by images), in the area at `parea`
 * (stride2DxFloats floats); dx is made at `pdx`.
 *
 * @example stride2Dx(plan, pdy, w, parea, pdx) // equals the reference's dx within float32 rounding
 */
export const stride2Dx = (plan: Stride2Plan, pdy: number, w: Tensor, parea: number, pdx: number): void => runChunkJob(stride2DxJob(plan, pdy, w, parea, pdx));

/** stride2Dx up to its job (the filters' phases staged and packed), for a caller that runs it together with another (threads.ts's runTogether). */
export const stride2DxJob = (plan: Stride2Plan, pdy: number, w: Tensor, parea: number, pdx: number): ChunkJob => {
  const { N, C, H, W, FN, FH, FW, OH, OW, Hd, Ty, dxPhases, dyCopies, dxSlotBytes } = plan;
  const at = dxLayout(plan);
  const mem = f32();
  // the descriptor stride2.wat reads: per phase K, kTab, packed weights, Q; the flat outputs; the slot; the copies of dy
  const desc = new Int32Array(mem.buffer, parea + at.desc, 22 + 3 * dyCopies.length);
  dxPhases.forEach((p, e) => {
    const K = p.kTab.length;
    new Int32Array(mem.buffer, parea + at.kTabs[e], K).set(p.kTab);
    // B[(f, t, u), c] = W[f, c, fys[t], fxs[u]], staged in the shared memory, then packed for flatConv (by index, the
    // weights' buffer read once: this runs over every weight at every step, ~4x faster so than by for-of)
    const stage = (parea + at.stage) / 4;
    const { fys, fxs } = p;
    const wd = w.data;
    const taps = FH * FW;
    let row = stage;
    for (let f = 0; f < FN; f++)
      for (let t = 0; t < fys.length; t++)
        for (let u = 0; u < fxs.length; u++, row += C) {
          const tap = f * C * taps + fys[t] * FW + fxs[u];
          for (let c = 0; c < C; c++) mem[row + c] = wd[tap + c * taps];
        }
    if (K > 0) wasm.packB(parea + at.stage, C, 1, K, C, parea + at.packed[e]);
    desc.set([K, parea + at.kTabs[e], parea + at.packed[e], p.Q], 4 * e);
    desc[16 + e] = p.flat;
  });
  desc.set([dxSlotBytes, dyCopies.length, ...dyCopies.flatMap((d) => [d.offset, d.s, d.cols])], 20);
  const macs = (N * C * H * W * FN * (FH * FW)) / 4;
  return { fn: 'stride2Dx', total: N, align: 1, args: [pdy, FN, OH, OW, C, H, W, Hd, Ty, parea + at.desc, pdx, parea + at.scratch], worthSplitting: macs >= PARALLEL_MIN_MACS };
};

/**
 * dx of the convolution by phases from dy [N, FN, OH, OW] and the filters w, whichever shape the plan is for (stride2Plan:
 * also those stride2DxPlan leaves to the GEMM): for tests.
 *
 * @example stride2InputGrad(stride2Plan(x.shape, FN, g), dy, w) // equals the reference's dx within float32 rounding
 */
export const stride2InputGrad = (plan: Stride2Plan, dy: Tensor, w: Tensor): Tensor => {
  const { N, C, H, W } = plan;
  const [pdy, parea, pdx] = workspace([dy.size, stride2DxFloats(plan), N * C * H * W]);
  f32().set(dy.data, pdy / 4);
  stride2Dx(plan, pdy, w, parea, pdx);
  return fromData([N, C, H, W], copyF32(pdx, N * C * H * W));
};
