import type { BatchNormGrads, BatchNormResult, BatchNormStats } from '../kernels/contract.js';
import { composedFusions } from '../kernels/composed.js';
import { referenceKernels } from '../kernels/reference.js';
import { fromData, type Tensor } from '../tensor.js';
import { workspace } from './layout.js';
import { runChunks } from './threads.js';
import { copyF32, f32, memory } from './wasm.js';

/*
 * Batch norm in the fast set (wasm/batchnorm.wat), with the ReLU that follows it fused in when the plan asks: x and
 * dy are copied into the shared memory once, the per-channel passes run there split across the threads by channels,
 * and the result is copied out once. The per-channel scalars (1/std, the backward's coefficients) are computed here in
 * double precision from the kernels' f64 sums and handed to the element passes as float32.
 */

const ref = referenceKernels;
const refFused = composedFusions(referenceKernels);

/** Below this many elements a batch norm runs on the calling thread (its passes take ~0.1 ms there). */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

/** x [N, C, ...] as N*C planes of S floats; undefined where the reference runs it (float64, or nothing to normalise). */
const planes = (x: Tensor): { N: number; C: number; S: number } | undefined => {
  const [N, C] = x.shape;
  if (x.dtype === 'float64' || x.size === 0) return undefined;
  return { N, C, S: x.size / (N * C) };
};

/** The batch's statistics (bnStats) or the running ones, then out = relu?((x - mean) * gamma/std + beta) (bnApply). */
const normalize = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running: BatchNormStats | undefined, relu: boolean): BatchNormResult => {
  const dims = planes(x);
  if (dims === undefined || gamma.dtype === 'float64') {
    return relu ? refFused.batchNormRelu(x, gamma, beta, eps, running) : ref.batchNorm(x, gamma, beta, eps, running);
  }
  const { N, C, S } = dims;
  // stats: two f64 a channel; coef: four f32 a channel
  const [px, pout, pstats, pcoef] = workspace([x.size, x.size, 4 * C, 4 * C]);
  f32().set(x.data, px / 4);
  const split = x.size >= PARALLEL_MIN_ELEMENTS;
  let stats = running;
  if (stats === undefined) {
    runChunks('bnStats', C, 1, [px, N, C, S, pstats], split);
    const s = new Float64Array(memory.buffer, pstats, 2 * C);
    stats = { mean: Float64Array.from({ length: C }, (_, c) => s[2 * c]), variance: Float64Array.from({ length: C }, (_, c) => s[2 * c + 1]) };
  }
  // (x - m) * scale + shift, m the float32 mean: x - m is exact for x near m, and shift takes back (mean - m) * scale
  const coef = new Float32Array(memory.buffer, pcoef, 4 * C);
  for (let c = 0; c < C; c++) {
    const scale = gamma.data[c] / Math.sqrt(stats.variance[c] + eps);
    coef[4 * c] = stats.mean[c];
    coef[4 * c + 1] = scale;
    coef[4 * c + 2] = beta.data[c] - (stats.mean[c] - coef[4 * c]) * scale;
  }
  runChunks('bnApply', C, 1, [px, N, C, S, pcoef, relu ? 1 : 0, pout], split);
  return { out: fromData(x.shape, copyF32(pout, x.size)), stats };
};

/**
 * The pullback, dy masked where `out` <= 0 when a fused ReLU's output is given: per channel G = sum g and
 * P = sum g (x - mean) (bnSums, taken about the float32 mean m and corrected by (m - mean) G), then
 * dgamma = P / std, dbeta = G, and dx = a g + b (x - m) + k (bnDx) with a = gamma/std and, for batch statistics,
 * b = -a P / (std^2 M), k = -a G / M + b (m - mean).
 */
const pullback = (dy: Tensor, out: Tensor | undefined, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads => {
  const dims = planes(x);
  if (dims === undefined || dy.dtype === 'float64' || gamma.dtype === 'float64') {
    return out === undefined
      ? ref.batchNormBackward(dy, x, gamma, stats, eps, batchStats, needDx)
      : refFused.batchNormReluBackward(dy, out, x, gamma, stats, eps, batchStats, needDx);
  }
  const { N, C, S } = dims;
  const M = N * S;
  const n = x.size;
  const [pdy, px, pout, pcoef, psums, pdx] = workspace([n, n, out === undefined ? 0 : n, 4 * C, 4 * C, needDx ? n : 0]);
  const mem = f32();
  mem.set(dy.data, pdy / 4);
  mem.set(x.data, px / 4);
  if (out !== undefined) mem.set(out.data, pout / 4);
  const masked = out === undefined ? 0 : pout;
  const coef = new Float32Array(memory.buffer, pcoef, 4 * C);
  for (let c = 0; c < C; c++) coef[4 * c] = stats.mean[c];
  const split = n >= PARALLEL_MIN_ELEMENTS;
  runChunks('bnSums', C, 1, [pdy, px, masked, N, C, S, pcoef, psums], split);
  const sums = new Float64Array(memory.buffer, psums, 2 * C);
  const dgamma = new Float32Array(C);
  const dbeta = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const shift = coef[4 * c] - stats.mean[c];
    const G = sums[2 * c];
    const P = sums[2 * c + 1] + shift * G;
    const invStd = 1 / Math.sqrt(stats.variance[c] + eps);
    dgamma[c] = P * invStd;
    dbeta[c] = G;
    const a = gamma.data[c] * invStd;
    const b = batchStats ? (-a * invStd * invStd * P) / M : 0;
    coef[4 * c + 1] = a;
    coef[4 * c + 2] = b;
    coef[4 * c + 3] = batchStats ? (-a * G) / M + b * shift : 0;
  }
  let dx: Tensor | undefined;
  if (needDx) {
    runChunks('bnDx', C, 1, [pdy, px, masked, N, C, S, pcoef, pdx], split);
    dx = fromData(x.shape, copyF32(pdx, n));
  }
  return { dx, dgamma: fromData([C], dgamma), dbeta: fromData([C], dbeta) };
};

/** The fast set's batchNorm. @example fastKernels.batchNorm(x, gamma, beta, 1e-5).out */
export const batchNorm = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult =>
  normalize(x, gamma, beta, eps, running, false);

/** The fast set's batchNormBackward. */
export const batchNormBackward = (dy: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads =>
  pullback(dy, undefined, x, gamma, stats, eps, batchStats, needDx);

/** The fast set's fused batchNormRelu: ReLU in bnApply's pass. */
export const batchNormRelu = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult =>
  normalize(x, gamma, beta, eps, running, true);

/** The fast set's fused batchNormReluBackward: the ReLU mask read in bnSums' and bnDx's passes. */
export const batchNormReluBackward = (dy: Tensor, out: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads =>
  pullback(dy, out, x, gamma, stats, eps, batchStats, needDx);
