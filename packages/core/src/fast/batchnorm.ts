import type { ReadonlyData } from '../dtype.js';
import type { BatchNormAddReluGrads, BatchNormGrads, BatchNormResult, BatchNormStats } from '../kernels/contract.js';
import { composedFusions } from '../kernels/composed.js';
import { referenceKernels } from '../kernels/reference.js';
import { fromData, type Tensor } from '../tensor.js';
import { add as fastAdd } from './add.js';
import { bytesOf, inputAt, resultOut, resultSlot, scopedOut, scopeSlot, type Slot, workspace } from './layout.js';
import { getThreads, runChunks } from './threads.js';
import { copyF32, f32, memory } from './wasm.js';

/*
 * Batch norm in the fast set (wasm/batchnorm.wat), with the ReLU that follows it fused in when the plan asks, and a
 * residual block's shortcut added before that ReLU (batchNormAddRelu, and its pullback): x and
 * dy are copied into the shared memory once, one job split across the threads by channels runs a channel's passes
 * one after the other (its statistics or sums, its scalars in f64, then the elements, the channel still in the
 * cache), and the result is copied out once.
 */

const ref = referenceKernels;
const refFused = composedFusions(referenceKernels);

/**
 * From this many floats a plane, a residual end's pullback masks dy in the sums pass, which stores the masked dy
 * (dsum) as it goes; below, reluBackward's contiguous pass writes dsum first and both passes read it. A channel's planes
 * are N short runs far apart: the sums pass's extra scattered stores cost more than the contiguous pass where the runs
 * are a few cache lines (7x7: x0.93 against it, 10x10 even), and pay from 14x14 (x1.04-1.12; 28x28 x1.05-1.11).
 */
let maskInSumsMinPlane = 128;
/** @example setMaskInSumsMinPlane(0); // every residual end's pullback masks in the sums pass (tests: Infinity, never) */
export const setMaskInSumsMinPlane = (floats: number): void => {
  maskInSumsMinPlane = floats;
};
/** Whether a residual end's pullback on planes of S floats masks dy in its sums pass (else reluBackward's pass first). */
const masksInSums = (S: number): boolean => S >= maskInSumsMinPlane;

/** Below this many elements a batch norm runs on the calling thread (its passes take ~0.1 ms there). */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

/**
 * Whether a batch norm's job goes to the threads as one range of channels a thread (else as units of one channel,
 * claimed in turn). x [N, C, H, W] holds each image's channels one after the other, so a channel is N runs of H*W
 * floats, one an image: where the threads take channels in turn, each boundary between two threads' channels falls in
 * every image, N places a boundary where the two cores work on neighbouring lines (what the prefetchers pull in ahead
 * of one thread's stores is the other's: the likely cost, not measured apart). resnet's training step at 2 threads,
 * the two alternated step by step in one process (60 steps each, twice): batch norm's jobs 20.5-20.8 -> 16.8-17.0 ms a
 * step, the threads' time in them 38.8-39.1 -> 30.8-31.3 ms (one thread alone: ~27.6 ms); by scripts/trace-jobs.mjs,
 * bnForward and bnBackward a step in units of one channel 8.7-9.2 and 11.6-12.5 ms, of 8 channels 7.3-7.6 and
 * 9.7-10.2, in a range a thread 6.8-7.6 and 9.5. Each channel's passes are the same either way, so are the bits.
 */
let channelRanges = true;
/** @example setBatchNormChannelRanges(false); // units of one channel, claimed by the threads in turn, as before */
export const setBatchNormChannelRanges = (on: boolean): void => {
  channelRanges = on;
};

let rangeJobs = 0;
/** How many batch norm jobs went to the threads as channel ranges since the program started (for tests). @example batchNormRangeJobs() // 0 at 1 thread */
export const batchNormRangeJobs = (): number => rangeJobs;

/**
 * The coefficients a fused batch norm + ReLU forward normalised with, by the output it made: its pullback works the
 * ReLU's mask out again from x with them (bnBackward's $fcoef), where reading out would be a third stream over memory
 * next to dy and x. Recomputing gives out's own mask only for that output of that x: both are looked up by identity
 * (tensors are immutable), and the coefficients' m must be the one the pullback subtracts (Math.fround(mean)); any
 * other out (a copy, another forward's) is read as before. The fused pullback alone, this against reading out
 * (scripts/compare-bn-backward.mjs, 31 alternated rounds): x1.19-1.20 at 1 thread (CPU time), x1.13-1.19 at 2 (wall) on
 * resnet's three sizes; its 7 such pullbacks ~1.1 ms of a 1-thread step, ~0.55 ms at 2 threads. The same bits.
 */
interface ReluForward {
  /** The forward's x (its data, by identity). */
  readonly x: ReadonlyData;
  /** (m, scale, shift, -) per channel, as bnForward wrote them to its coef. */
  readonly coef: Float32Array;
}
const reluForwards = new WeakMap<ReadonlyData, ReluForward>();

/** Whether fused ReLU pullbacks work their mask out from x (tests turn it off to compare with reading out). */
let maskFromX = true;
/** @example setBatchNormMaskFromX(false); // every fused ReLU pullback reads the forward's output for its mask */
export const setBatchNormMaskFromX = (on: boolean): void => {
  maskFromX = on;
};

let masksFromX = 0;
/** How many batch norm pullbacks took their ReLU mask from x since the program started (for tests). @example batchNormMasksFromX() */
export const batchNormMasksFromX = (): number => masksFromX;

/** The forward's coefficients for the pullback of `out` over `x` with batch mean `mean`, when out is a fused forward's output of that x. */
const forwardCoefficients = (out: Tensor, x: Tensor, mean: ArrayLike<number>): Float32Array | undefined => {
  const r = maskFromX ? reluForwards.get(out.data) : undefined;
  if (r === undefined || r.x !== x.data) return undefined;
  for (let c = 0; c < mean.length; c++) if (r.coef[4 * c] !== Math.fround(mean[c])) return undefined;
  return r.coef;
};

/**
 * runChunks of a batch norm pass over C channels: split by channel ranges, C / threads of them each (rounded down, so
 * that every thread gets one: a last short range, when C is not a multiple, goes to whichever thread is free first).
 */
const runChannels = (fn: 'bnForward' | 'bnBackward', C: number, args: readonly number[], worthSplitting: boolean): void => {
  const threads = getThreads();
  const ranges = channelRanges && worthSplitting && threads > 1 && C >= 2;
  if (ranges) rangeJobs++;
  runChunks(fn, C, ranges ? Math.max(1, Math.floor(C / threads)) : 1, args, worthSplitting);
};

/** x [N, C, ...] as N*C planes of S floats; undefined where the reference runs it (float64, or nothing to normalise). */
const planes = (x: Tensor): { N: number; C: number; S: number } | undefined => {
  const [N, C] = x.shape;
  if (x.dtype === 'float64' || x.size === 0) return undefined;
  return { N, C, S: x.size / (N * C) };
};

/** The batch's statistics bnForward left interleaved in `st` (mean, variance for each of C channels), apart. */
const batchStatsOf = (st: Float64Array, C: number): BatchNormStats => {
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    mean[c] = st[2 * c];
    variance[c] = st[2 * c + 1];
  }
  return { mean, variance };
};

/**
 * out = relu?((x - mean) * gamma/std + beta (+ addend)), one pass per channel (bnForward): the batch's statistics
 * worked out there, or the running ones given; the coefficients in f64, then the elements. An addend comes with ReLU.
 */
const normalize = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running: BatchNormStats | undefined, relu: boolean, addend?: Tensor): BatchNormResult => {
  const dims = planes(x);
  if (dims === undefined || gamma.dtype === 'float64' || addend?.dtype === 'float64') {
    if (addend !== undefined) return refFused.batchNormAddRelu(x, addend, gamma, beta, eps, running);
    return relu ? refFused.batchNormRelu(x, gamma, beta, eps, running) : ref.batchNorm(x, gamma, beta, eps, running);
  }
  const { N, C, S } = dims;
  // stats: two f64 a channel; coef: four f32 a channel; gb: gamma then beta; eps: one f64
  const out = resultSlot(x.size, addend === undefined ? [x.data] : [x.data, addend.data]);
  const [px, pstats, pcoef, pgb, peps, paddend] = workspace([x.size, 4 * C, 4 * C, 2 * C, 2, addend === undefined ? 0 : x.size]);
  const pxAt = inputAt(x.data, px);
  const paddendAt = addend === undefined ? 0 : inputAt(addend.data, paddend);
  const mem = f32();
  mem.set(gamma.data, pgb / 4);
  mem.set(beta.data, pgb / 4 + C);
  new Float64Array(memory.buffer, peps, 1)[0] = eps;
  const st = new Float64Array(memory.buffer, pstats, 2 * C);
  if (running !== undefined) {
    for (let c = 0; c < C; c++) {
      st[2 * c] = running.mean[c];
      st[2 * c + 1] = running.variance[c];
    }
  }
  runChannels('bnForward', C, [pxAt, N, C, S, pgb, peps, running === undefined ? 1 : 0, pstats, pcoef, relu ? 1 : 0, paddendAt, out.offset], x.size >= PARALLEL_MIN_ELEMENTS);
  const stats = running ?? batchStatsOf(st, C);
  const y = fromData(x.shape, resultOut(out, x.size));
  if (relu && addend === undefined) reluForwards.set(y.data, { x: x.data, coef: new Float32Array(memory.buffer, pcoef, 4 * C).slice() });
  return { out: y, stats };
};

/** x's planes where the fast set runs batch norm's pullback; undefined where the reference does (float64 operands). */
const backwardPlanes = (dy: Tensor, x: Tensor, gamma: Tensor): { N: number; C: number; S: number } | undefined =>
  dy.dtype === 'float64' || gamma.dtype === 'float64' ? undefined : planes(x);

/**
 * The pullback on x's planes, dy masked where `out` <= 0 when a fused ReLU's output is given, one pass per channel
 * (bnBackward): G = sum g and P = sum g (x - mean), then dgamma = P / std, dbeta = G, and dx = a g + b (x - m) + k with
 * a = gamma/std and, for batch statistics, b = -a P / (std^2 M), k = -a G / M + b (m - mean) (m the float32 nearest the
 * mean). With `dsum` (a residual end's, claimed by the caller) the sums' pass stores g there and the dx pass reads it back.
 */
const pullback = (
  { N, C, S }: { N: number; C: number; S: number }, dy: Tensor, out: Tensor | undefined, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number,
  batchStats: boolean, needDx: boolean, dsum?: Slot, dyMore?: Tensor,
): BatchNormGrads => {
  const n = x.size;
  // a fused ReLU's mask from x and the forward's coefficients where it has them (not at a residual end: its out is of the sum)
  const fcoef = out === undefined || dsum !== undefined ? undefined : forwardCoefficients(out, x, stats.mean);
  const readsOut = out !== undefined && fcoef === undefined;
  const dxSlot = needDx ? resultSlot(n, [dy.data, x.data, ...(out === undefined ? [] : [out.data]), ...(dyMore === undefined ? [] : [dyMore.data])]) : undefined;
  // two results in the one slot large results share (outside a result scope): dx then goes to the workspace
  const dxApart = dxSlot !== undefined && dxSlot.offset === dsum?.offset;
  // in a result scope, dgamma and dbeta are written to its area and given as views: Adam reads them there
  const dgbScoped = scopeSlot(bytesOf(2 * C));
  // stats: mean and variance, two f64 a channel; scalars: eps and M; coef and sums: scratch; dgb: dgamma then dbeta
  const [pdy, px, pout, pgamma, pstats, pscalars, pcoef, psums, pdgbWork, pdxApart, pfcoef, pdyMore] = workspace([
    n, n, readsOut ? n : 0, C, 4 * C, 4, 4 * C, 4 * C, dgbScoped === undefined ? 2 * C : 0, dxApart ? n : 0, fcoef === undefined ? 0 : 4 * C,
    dyMore === undefined ? 0 : n,
  ]);
  const pdgb = dgbScoped?.offset ?? pdgbWork;
  const mem = f32();
  const [pdyAt, pxAt, poutAt] = [inputAt(dy.data, pdy), inputAt(x.data, px), readsOut ? inputAt(out.data, pout) : 0];
  const pdyMoreAt = dyMore === undefined ? 0 : inputAt(dyMore.data, pdyMore);
  mem.set(gamma.data, pgamma / 4);
  if (fcoef !== undefined) {
    mem.set(fcoef, pfcoef / 4);
    masksFromX++;
  }
  const st = new Float64Array(memory.buffer, pstats, 2 * C);
  for (let c = 0; c < C; c++) {
    st[2 * c] = stats.mean[c];
    st[2 * c + 1] = stats.variance[c];
  }
  new Float64Array(memory.buffer, pscalars, 2).set([eps, N * S]);
  const pdx = dxSlot === undefined ? 0 : dxApart ? pdxApart : dxSlot.offset;
  // reluBackward's pass (relu.wat; shares of whole multiples of 4 elements, as its own kernel's) where the planes are short
  const maskFirst = dsum !== undefined && !masksInSums(S);
  // a second gradient is added in the sums pass alone (batchNormAddReluBackward adds it first where that pass does not mask)
  if (dyMore !== undefined && (dsum === undefined || maskFirst)) throw new Error('batch norm pullback: dyMore where the sums pass does not mask');
  if (maskFirst) runChunks('reluBackwardElements', n, 4, [poutAt, pdyAt, dsum.offset], n >= PARALLEL_MIN_ELEMENTS);
  const args = maskFirst
    ? [dsum.offset, pxAt, 0, N, C, S, pgamma, pstats, pscalars, batchStats ? 1 : 0, pcoef, psums, pdgb, pdx, 0, 0, 0]
    : [pdyAt, pxAt, poutAt, N, C, S, pgamma, pstats, pscalars, batchStats ? 1 : 0, pcoef, psums, pdgb, pdx, dsum?.offset ?? 0, fcoef === undefined ? 0 : pfcoef, pdyMoreAt];
  runChannels('bnBackward', C, args, n >= PARALLEL_MIN_ELEMENTS);
  return {
    dx: dxSlot === undefined ? undefined : fromData(x.shape, dxApart ? copyF32(pdx, n) : resultOut(dxSlot, n)),
    dgamma: fromData([C], scopedOut(dgbScoped, pdgb, C)),
    dbeta: fromData([C], scopedOut(dgbScoped, pdgb + 4 * C, C)),
  };
};

/**
 * Whether a residual end's pullback given two gradients (dyMore) sums them in its sums pass ($gradSums4KeptPair), where
 * add would have made their sum in a pass of its own over three tensors (tests turn it off to compare).
 */
let pairsInSums = true;
/** @example setBatchNormPairsInSums(false); // a residual end's two gradients added first, by add */
export const setBatchNormPairsInSums = (on: boolean): void => {
  pairsInSums = on;
};

let pairsSummed = 0;
/** How many residual end pullbacks summed two gradients in their sums pass since the program started (for tests). @example batchNormPairsSummed() */
export const batchNormPairsSummed = (): number => pairsSummed;

/** The fast set's fused batchNormAddRelu: the addend and ReLU in bnForward's pass. */
export const batchNormAddRelu = (x: Tensor, addend: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult =>
  normalize(x, gamma, beta, eps, running, true, addend);

/** The fast set's batchNorm. @example fastKernels.batchNorm(x, gamma, beta, 1e-5).out */
export const batchNorm = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult =>
  normalize(x, gamma, beta, eps, running, false);

/** The fast set's batchNormBackward. */
export const batchNormBackward = (dy: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads => {
  const dims = backwardPlanes(dy, x, gamma);
  return dims === undefined ? ref.batchNormBackward(dy, x, gamma, stats, eps, batchStats, needDx) : pullback(dims, dy, undefined, x, gamma, stats, eps, batchStats, needDx);
};

/** The fast set's fused batchNormRelu: ReLU in bnForward's pass. */
export const batchNormRelu = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult =>
  normalize(x, gamma, beta, eps, running, true);

/**
 * The fast set's fused batchNormReluBackward: the ReLU mask in bnBackward's passes, worked out from x where `out` is this
 * set's forward output of x (forwardCoefficients), else read from out.
 */
export const batchNormReluBackward = (dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads => {
  const dims = backwardPlanes(dy, x, gamma);
  return dims === undefined ? refFused.batchNormReluBackward(dy, out, x, gamma, stats, eps, batchStats, needDx) : pullback(dims, dy, out, x, gamma, stats, eps, batchStats, needDx);
};

/**
 * The fast set's fused batchNormAddReluBackward: ReLU's mask in bnBackward's sums pass, which also stores the masked dy
 * (dsum, the shortcut's gradient) for its dx pass to read; reluBackward's own pass over dy and out is gone.
 */
export const batchNormAddReluBackward = (
  dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean, dyMore?: Tensor,
): BatchNormAddReluGrads => {
  const dims = backwardPlanes(dy, x, gamma);
  // the two gradients summed in the sums pass where it masks, else first
  const inSums = dims !== undefined && dyMore !== undefined && dyMore.dtype === 'float32' && pairsInSums && masksInSums(dims.S);
  if (dyMore !== undefined && !inSums) return batchNormAddReluBackward(fastAdd(dy, dyMore), out, x, gamma, stats, eps, batchStats, needDx);
  if (dims === undefined) return refFused.batchNormAddReluBackward(dy, out, x, gamma, stats, eps, batchStats, needDx);
  // claimed first: before dx's slot, the workspace and the operands' look-up (resultSlot)
  const dsum = resultSlot(x.size, [dy.data, x.data, out.data, ...(dyMore === undefined ? [] : [dyMore.data])]);
  if (dyMore !== undefined) pairsSummed++;
  const grads = pullback(dims, dy, out, x, gamma, stats, eps, batchStats, needDx, dsum, dyMore);
  return { dx: grads.dx, dgamma: grads.dgamma, dbeta: grads.dbeta, dsum: fromData(x.shape, resultOut(dsum, x.size)) };
};
