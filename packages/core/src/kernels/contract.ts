import type { ConvGeometry } from '../geometry.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** What a 2-D max pooling forward keeps for its backward: for each output element, the flat
 * index into the input of the maximum that produced it (the first maximum on ties). */
export interface MaxPoolResult {
  readonly out: Tensor;
  readonly argmax: Int32Array;
}

/** What a conv2d forward returns: its output and the im2col matrix its filter gradient needs. */
export interface Conv2dResult {
  /** [N, FN, OH, OW] */
  readonly out: Tensor;
  /** The im2col matrix [N*OH*OW, C*FH*FW], kept for the filter gradient. */
  readonly col: Tensor;
}

/** The gradients a conv2d backward returns: of its input (optional), filters and bias. */
export interface Conv2dGrads {
  /** [N, C, H, W], or undefined when the caller said it does not need it. */
  readonly dx: Tensor | undefined;
  /** [FN, C, FH, FW] */
  readonly dw: Tensor;
  /** [FN], or undefined when the caller said it does not need it (a convolution without a bias). */
  readonly db: Tensor | undefined;
}

/**
 * What the fused convolution, ReLU and max pooling keeps for its backward (see
 * `Kernels.conv2dReluMaxPool`).
 */
export interface ConvReluPoolResult {
  /** relu(maxPool2d(conv2d(x))) [N, FN, PH, PW]: the values of maxPool2d(relu(conv2d(x))). */
  readonly out: Tensor;
  /**
   * For each output element, the flat index into the convolution's output [N, FN, OH, OW] of its
   * window's maximum (first maximum on ties, first NaN wins); empty when `keepArgmax` was false.
   */
  readonly argmax: Int32Array;
}

/** One Adam step's scalars: the bias-corrected rate of this step, 1 - beta1, 1 - beta2, the weight decay. */
export interface AdamStep {
  readonly lrT: number;
  readonly c1: number;
  readonly c2: number;
  readonly wd: number;
}

/** One param's Adam update, as adamUpdate takes it: the param, its gradient, its moments and the step's scalars. */
export interface AdamItem {
  readonly p: Tensor;
  readonly g: Tensor;
  readonly m: Tensor;
  readonly v: Tensor;
  readonly step: AdamStep;
}

/** Adam's new param and moments, and whether all of their elements are finite. */
export interface AdamResult {
  readonly p: Tensor;
  readonly m: Tensor;
  readonly v: Tensor;
  /** false when any element of p, m or v is NaN or ±Infinity. */
  readonly finite: boolean;
}

/**
 * Per-channel statistics of batch normalization, in double precision: a training forward's batch mean and biased
 * variance (sum (x - mean)^2 / count), or the running ones an evaluation uses.
 */
export interface BatchNormStats {
  /** [C] */
  readonly mean: Float64Array;
  /** [C], biased (divided by the count, not count - 1) */
  readonly variance: Float64Array;
}

/** What a batch norm forward gives: its output and the statistics it normalised with. */
export interface BatchNormResult {
  /** Shaped as x. */
  readonly out: Tensor;
  /** The batch's statistics (training), or the running ones it was given (evaluation). */
  readonly stats: BatchNormStats;
}

/** The gradients a batch norm backward returns: of its input (optional), gamma and beta. */
export interface BatchNormGrads {
  /** Shaped as x, or undefined when the caller said it does not need it. */
  readonly dx: Tensor | undefined;
  /** [C] */
  readonly dgamma: Tensor;
  /** [C] */
  readonly dbeta: Tensor;
}

/** The gradients of a residual block's end, relu(batchNorm(x) + addend): the sum's, and batch norm's of its input and params. */
export interface BatchNormAddReluGrads extends BatchNormGrads {
  /** dy masked where the output <= 0: the gradient of the sum, which the shortcut (the addend) receives as it is. */
  readonly dsum: Tensor;
}

/**
 * The kernel contract: the heavy operations every backend implements. Inputs arrive already
 * validated (shapes agree, geometry is possible); a kernel reads its inputs, fills fresh output
 * buffers and never writes an input. `reference` implements it with plain loops for float32
 * and float64 and is the oracle; `fast` implements it for float32 and hands float64 to
 * `reference`.
 */
export interface Kernels {
  readonly name: string;
  /** op(a) x op(b), op = transpose when the flag is set: [M,K] x [K,N] -> [M,N]. */
  matmul(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor;
  /** x: [N, C, H, W] -> col: [N*OH*OW, C*FH*FW] (the lesson's layout). */
  im2col(x: Tensor, g: ConvGeometry): Tensor;
  /** col: [N*OH*OW, C*FH*FW] -> [N, C, H, W], summing overlaps: the adjoint of im2col. */
  col2im(col: Tensor, xShape: Shape, g: ConvGeometry): Tensor;
  /** x: [N, C, H, W], w: [FN, C, FH, FW], b: [FN] -> [N, FN, OH, OW]. */
  conv2d(x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Conv2dResult;
  /**
   * conv2d's output alone, [N, FN, OH, OW], equal to `conv2d(x, w, b, g).out`: for forwards nobody
   * differentiates (evaluation, prediction), which need not keep the im2col matrix.
   */
  conv2dOut(x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor;
  /** dy: [N, FN, OH, OW] -> gradients of conv2d's input, filters and bias. */
  conv2dBackward(dy: Tensor, col: Tensor, w: Tensor, xShape: Shape, g: ConvGeometry, needDx: boolean): Conv2dGrads;
  /**
   * conv2dBackward with col recomputed from the forward's input x [N, C, H, W] (equal to
   * `conv2dBackward(dy, im2col(x, g), w, x.shape, g, needDx)`): a layer then keeps x, not the larger col. With `needDb`
   * false (a convolution without a bias) db may be left undefined, and a backend may skip its sums over dy.
   */
  conv2dBackwardFromInput(dy: Tensor, x: Tensor, w: Tensor, g: ConvGeometry, needDx: boolean, needDb?: boolean): Conv2dGrads;
  /** x: [N, C, H, W] -> [N, C, OH, OW]; padding counts as -Infinity. */
  maxPool2d(x: Tensor, g: ConvGeometry): MaxPoolResult;
  /** maxPool2d's output alone, equal to `maxPool2d(x, g).out`: for forwards nobody differentiates (no argmax kept). */
  maxPool2dOut(x: Tensor, g: ConvGeometry): Tensor;
  /** dy: [N, C, OH, OW] -> dx: [N, C, H, W], each dy routed to its argmax. */
  maxPool2dBackward(dy: Tensor, argmax: Int32Array, xShape: Shape): Tensor;
  /** x: [N, C, H, W] -> [N, C, OH, OW]; the mean over the whole window, padding counted as 0. */
  avgPool2d(x: Tensor, g: ConvGeometry): Tensor;
  /** dy: [N, C, OH, OW] -> dx: [N, C, H, W]. */
  avgPool2dBackward(dy: Tensor, xShape: Shape, g: ConvGeometry): Tensor;
  /**
   * Global average pooling, x: [N, C, H, W] -> [N, C]: each plane's sum in double precision, its H W elements added
   * in order from 0, divided by H W and rounded once to the dtype (the same bits on every set).
   */
  globalAvgPool2d(x: Tensor): Tensor;
  /** globalAvgPool2d's pullback, dy: [N, C] -> dx: xShape [N, C, H, W], dy[n, c] / (H W) in double precision, rounded once, all over its plane. */
  globalAvgPool2dBackward(dy: Tensor, xShape: Shape): Tensor;
  /**
   * ReLU with the lesson's mask (x <= 0), any shape: y = x <= 0 ? 0 : x. A NaN compares false, so it passes
   * through (a diverged activation stays visible); -0 gives +0.
   */
  relu(x: Tensor): Tensor;
  /** ReLU's pullback, x the forward's input and dy shaped like it: dx = x <= 0 ? 0 : dy (NaN in x lets dy through). */
  reluBackward(x: Tensor, dy: Tensor): Tensor;
  /**
   * Adam's update of one param p with gradient g and moments m, v (all one shape and dtype), the book's rule with
   * numpy's order inside each element: g' = g + wd p; m' = m + c1 (g' - m); v' = v + c2 (g'^2 - v);
   * p' = p - lrT m' / (sqrt(v') + 1e-7), in double precision, m' and v' rounded to the dtype when stored and read
   * back so, p' rounded once. Fresh p', m', v', and `finite`: whether every element of all three is finite (a
   * training step refuses an update that is not; the kernel knows it from the values it stores, where a pass over
   * them afterwards would cost a read of all three).
   */
  adamUpdate(p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: AdamStep): AdamResult;
  /**
   * adamUpdate of each item, the results in the items' order, each the very bits adamUpdate gives it: a whole step's
   * params at once, so that a set can update them together (fast: one job over all of them across the threads, where
   * most params alone are too small to be worth waking a worker).
   */
  adamUpdates(items: readonly AdamItem[]): readonly AdamResult[];
  /**
   * True when every element of x is finite (no NaN, no ±Infinity): what a training step checks of its gradients and
   * params. A kernel, so that a backend tests its own memory where a tensor lies in it (fast: a gradient left in a
   * result scope's area).
   */
  allFinite(x: Tensor): boolean;
  /** Element-wise a + b, one shape and dtype (a residual's merge, the sum of a value's gradients): the same bits on every set. */
  add(a: Tensor, b: Tensor): Tensor;
  /**
   * Batch normalization per channel: x [N, C, ...] (C features of [N, C], or channels over N and the positions of
   * [N, C, H, W]); gamma, beta [C]. With `running` undefined (training) the statistics are the batch's: mean and
   * biased variance over N and the positions; else the given ones. y = gamma * (x - mean) / sqrt(variance + eps) + beta.
   */
  batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult;
  /**
   * batchNorm's pullback, dy shaped as x, `stats` those the forward normalised with: dgamma = sum dy * xhat,
   * dbeta = sum dy per channel (xhat = (x - mean) / sqrt(variance + eps)), and dx (when `needDx`):
   * with `batchStats` (the statistics were the batch's, so they depend on x) gamma / std * (dy - mean(dy) - xhat *
   * mean(dy * xhat)), else gamma / std * dy.
   */
  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads;
  /**
   * Chains of operations this set runs faster as one call than as their composition (what a network's plan
   * fuses); absent on a set that runs every op on its own (the reference: it is the oracle of one op at a time).
   */
  readonly fused?: FusedKernels;
}

/**
 * Fused chains: each equal to the composition of the contract's operations it stands for (`composedFusions`
 * gives that composition for any kernel set, the oracle the fast set's fused kernels are tested against).
 */
export interface FusedKernels {
  /**
   * Whether batchNormAddReluBackward takes `dyMore`: a graph hands a value's gradients apart only to a set that says so
   * (a set written before would drop the second one); the reference's composition and the fast set do.
   */
  readonly takesGradientPairs?: boolean;
  /** relu(conv2d(x, w, b, g)) [N, FN, OH, OW] in one operation: the bias and ReLU in the same pass. */
  conv2dRelu(x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor;
  /**
   * The pullback of `conv2dRelu`: dy masked where `out` <= 0 (exactly where the convolution's output was), then
   * through the convolution; equal to reluBackward then conv2dBackwardFromInput.
   */
  conv2dReluBackward(dy: Tensor, out: Tensor, x: Tensor, w: Tensor, g: ConvGeometry, needDx: boolean): Conv2dGrads;
  /**
   * conv2d (geometry `conv`), ReLU and max pooling (geometry `pool`, pad 0) as one operation, x [N, C, H, W] ->
   * [N, FN, PH, PW]. Pooling runs before ReLU: max commutes with the monotone ReLU, so the values are those of
   * relu-then-pool and ReLU touches a quarter of the elements for a 2x2 pool; the convolution's output need
   * never leave the kernel. `keepArgmax` false (a forward nobody differentiates) returns an empty argmax.
   */
  conv2dReluMaxPool(x: Tensor, w: Tensor, b: Tensor, conv: ConvGeometry, pool: ConvGeometry, keepArgmax: boolean): ConvReluPoolResult;
  /**
   * The pullback of `conv2dReluMaxPool`: dy [N, FN, PH, PW] goes through ReLU (masked where `out` <= 0), is routed
   * to each window's maximum (`argmax`) and through the convolution. Equal to the three layers' pullbacks run in
   * turn; `convShape` is the convolution's output shape [N, FN, OH, OW]. `argmax` is a pool's, as
   * `conv2dReluMaxPool` keeps it: each index lies in its own element's (image, channel) plane, which kernels may
   * rely on (the fast set routes dy image by image, images on different threads).
   */
  conv2dReluMaxPoolBackward(dy: Tensor, out: Tensor, argmax: Int32Array, x: Tensor, w: Tensor, conv: ConvGeometry, convShape: Shape, needDx: boolean): Conv2dGrads;
  /** relu(batchNorm(x, ...)) in one pass over x: the normalised value never leaves the kernel. */
  batchNormRelu(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult;
  /**
   * The pullback of `batchNormRelu`: dy masked where `out` <= 0 (exactly where the normalised value was), then through
   * batch norm; equal to reluBackward then batchNormBackward.
   */
  batchNormReluBackward(dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads;
  /** relu(a + b) (a residual block's merge and the ReLU after it) in one pass; its pullback is reluBackward(out, dy) for each input. */
  addRelu(a: Tensor, b: Tensor): Tensor;
  /**
   * relu(batchNorm(x, ...) + addend) (a residual block's end: its last batch norm, the shortcut added, the ReLU) in one
   * pass over x: the normalised value never leaves the kernel. The sum rounds as `add`'s of the normalised value and
   * `addend`, in that order. Its pullback is the composition's: dy masked where `out` <= 0 (reluBackward) goes to the
   * shortcut as it is and through batchNormBackward to x.
   */
  batchNormAddRelu(x: Tensor, addend: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult;
  /**
   * The pullback of `batchNormAddRelu` (`out` its output): dsum = dy masked where `out` <= 0 (reluBackward), the
   * shortcut's gradient, and batch norm's gradients from dsum (batchNormBackward); equal to those two in turn. With
   * `dyMore` (out's second gradient, where two layers read it: a graph's next residual block), the pullback of
   * add(dy, dyMore), the same bits as summing them first.
   */
  batchNormAddReluBackward(
    dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean, dyMore?: Tensor,
  ): BatchNormAddReluGrads;
  /**
   * relu(conv2dOut(x, w, b, g) + addend) [N, FN, OH, OW] in one operation (an evaluation's residual block end, its
   * batch norm folded into w and b): the output rounded with its bias first, then the addend's element added, then
   * ReLU, as the composition stores and reads back its values.
   */
  conv2dAddRelu(x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry, addend: Tensor): Tensor;
}
