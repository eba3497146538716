import type { ReadonlyData } from '../dtype.js';
import type { ConvGeometry } from '../geometry.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { bytesOf, inputAt, type Slot, workspace } from './layout.js';
import { getThreads, PARALLEL_MIN_MACS, runChunkJob } from './threads.js';
import { ensureBytes, f32 } from './wasm.js';
import { clearSlotFlags, SLOT_FLAGS_BYTES } from './winograd.js';

/*
 * A convolution's forward by a GEMM over packed pixel panels (wasm/conv-packed.wat's convPackedImages), for the shapes
 * the GEMM on the implicit im2col took (neither the direct path nor Winograd; no fused pool): resnet's 3x3 stride-2
 * layers. Per group of G images, in a slot of the thread: T = im2col(x)ᵀ [Kc, pixels] copied by runs of OW floats from
 * the image's channel planes split into column phases (no padded copy of x, no offset tables), then M [FN, pixels] =
 * Wᵀ x T by 2-filter x 16-pixel register tiles (winogradMultiply's tile: 26 instructions per k for 32 multiply-adds as
 * V8 compiles it, where gemm.wat's $micro on the offset tables takes ~35), then each image's planes with the bias (and
 * ReLU). Every output is the GEMM path's sum bit for bit (see the .wat file).
 *
 * Per layer (1 thread, batch 100, CPU time): the products ~5.1 ms against $micro's ~5.8 on resnet's 16 -> 32 layer, T
 * ~0.8 ms where the padded copy and rowsToNchw took ~0.6. The 1x1 stride-2 shortcuts stay on conv.wat's direct path
 * over gathered pixels: by this path they ran 0.88-1.05x.
 */

/** The forward's name in traces and `foldnet bench`: the GEMM's sums, over packed pixel panels. */
export const PACKED_GEMM_NAME = 'packed GEMM';

/** Whether the GEMM's forward goes by packed pixel panels (tests turn it off to compare with the GEMM on the implicit im2col). */
let packedForward = true;
/** @example setPackedForward(false); // the forwards the GEMM takes by gemm.wat's gemmRows on the implicit im2col */
export const setPackedForward = (on: boolean): void => {
  packedForward = on;
};

/**
 * At most this many bytes of T for a group of images: T stays in the core's L2 (512 KiB) next to M and U while the
 * products walk it 16 pixels at a time.
 */
const GROUP_T_BYTES = 256 * 1024;
/** At most this many images a group. */
const MAX_GROUP = 8;

/** How the forward of one shape runs by packed pixel panels: the kernel's shape table and the slot a thread takes. */
export interface PackedForwardPlan {
  /** Images a group: the fewest whose pixels fill whole 16-pixel tiles best (7x7: 4 images, 196 pixels in 208 columns). */
  readonly G: number;
  /** convPackedImages' $plan: C, H, W, FH, FW, stride, pad, OH, OW, FN, G, ldT, ldM, offM, offPh, L, rBytes, phBytes, slotBytes. */
  readonly table: Int32Array;
  readonly slotBytes: number;
}

const plans = new Map<string, PackedForwardPlan>();
const PLANS_KEPT = 8;

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * The plan for x [N, C, H, W] convolved with FN filters of geometry g, or undefined when the path is off or cannot take it
 * (FN < 2: a register tile computes 2 filters; OW < 4: T's runs are copied by whole vectors). Cached per shape.
 */
export const packedForwardPlan = (xShape: Shape, FN: number, g: ConvGeometry): PackedForwardPlan | undefined => {
  if (!packedForward || FN < 2 || g.outW < 4) return undefined;
  const [N, C, H, W] = xShape;
  const key = `${xShape.join(',')},${FN},${g.filterH},${g.filterW},${g.stride},${g.pad}`;
  const kept = plans.get(key);
  if (kept !== undefined) return kept;
  const { filterH: FH, filterW: FW, stride: s, pad, outH: OH, outW: OW } = g;
  const [P, Kc] = [OH * OW, C * FH * FW];
  // G: the least share of T's columns past the pixels (whole 16-pixel tiles), T within GROUP_T_BYTES
  let G = 1;
  for (let n = 2; n <= Math.min(N, MAX_GROUP) && Kc * roundUp(n * P, 16) * 4 <= GROUP_T_BYTES; n++)
    if (roundUp(n * P, 16) / (n * P) < roundUp(G * P, 16) / (G * P)) G = n;
  const ld = 4 * roundUp(G * P, 16);
  // a phase row: the padded row's columns φ, φ + s, ... (L floats, whole vectors); R: the padded row, s L floats
  const L = roundUp(Math.ceil((W + 2 * pad) / s), 4);
  // before the phase planes: at stride 2 (pad <= 8) the masks of the split from x (two vectors a step of 8 floats), else R
  const rBytes = s === 1 ? 0 : s === 2 && pad <= 8 ? bytesOf(2 * L) : bytesOf(s * L);
  const phBytes = rBytes + 4 * s * (H + 2 * pad) * L;
  const [offM, offPh] = [Kc * ld, Kc * ld + FN * ld];
  const slotBytes = roundUp(offPh + phBytes, 64);
  const table = Int32Array.from([C, H, W, FH, FW, s, pad, OH, OW, FN, G, ld, ld, offM, offPh, L, rBytes, phBytes, slotBytes]);
  if (plans.size >= PLANS_KEPT) plans.delete(plans.keys().next().value ?? '');
  const plan = { G, table, slotBytes };
  plans.set(key, plan);
  return plan;
};

/**
 * The filters W [FN, Kc] as the products' tiles read them, at byte `pu`: pair j (filters r = 2j, r + 1; the last pair
 * r = FN - 2 when FN is odd) as [Kc, 2], U[j][k] = (W[r, k], W[r + 1, k]), pairs 8 Kc bytes apart. A tile's weights at
 * each k are then 8 adjacent bytes, and its whole sum reads 8 Kc bytes in order.
 */
const packFilterPairs = (w: ReadonlyData, FN: number, Kc: number, pu: number): void => {
  const u = f32();
  let at = pu / 4;
  for (let r0 = 0; r0 < FN; r0 += 2) {
    const r = Math.min(r0, FN - 2);
    for (let k = 0; k < Kc; k++, at += 2) {
      u[at] = w[r * Kc + k];
      u[at + 1] = w[(r + 1) * Kc + k];
    }
  }
};

/**
 * out [N, FN, OH, OW] = conv(x, w) + b (ReLU after it when `relu`) by plan p, on the threads by groups of images, into
 * `out` or else into the workspace it lays out: gives out's byte offset.
 */
export const convolvePacked = (p: PackedForwardPlan, x: Tensor, w: Tensor, b: Tensor, relu: boolean, out: Slot | undefined): number => {
  const N = x.shape[0];
  const FN = w.shape[0];
  const Kc = w.size / FN;
  const P = p.table[7] * p.table[8];
  const [ptable, pu, pb, pstage, pscratch, pwork] = workspace([
    p.table.length, 2 * Math.ceil(FN / 2) * Kc, FN, x.size, (SLOT_FLAGS_BYTES + getThreads() * p.slotBytes) / 4, out === undefined ? N * FN * P : 0,
  ]);
  const mem = f32();
  new Int32Array(mem.buffer, ptable, p.table.length).set(p.table);
  packFilterPairs(w.data, FN, Kc, pu);
  mem.set(b.data, pb / 4);
  clearSlotFlags(pscratch);
  const px = inputAt(x.data, pstage);
  // the split from x reads up to 8 floats past a row (masked out), past the last image too, and up to pad <= 8 floats
  // before the first, where the kept areas (from byte 64) or the workspace lie
  ensureBytes(px + 4 * x.size + 64);
  const pout = out?.offset ?? pwork;
  // groups of G images a unit, the last units' of half as many (a short group's pixels fill fewer tiles: 2 images of
  // 7x7, 7 tiles of 16 pixels for 98, where 4 take 13 for 196): 100 images in groups of 4 are 25 units, and the thread
  // that ended its last one while the other ran the 25th waited a whole group; in halves the two end together
  runChunkJob({
    fn: 'convPackedImages', total: N, align: p.G, tailAlign: Math.ceil(p.G / 2), args: [px, pu, pb, pout, relu ? 1 : 0, pscratch, ptable],
    worthSplitting: N * P * FN * Kc >= PARALLEL_MIN_MACS,
  });
  return pout;
};
