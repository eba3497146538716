import { alloc, FoldnetError, formatShape, fromData, type Tensor } from '@foldnet/core';
import type { Targets } from './types.js';

/** The mean loss over the batch and its gradient with respect to the logits. */
export interface LossResult {
  /** mean over the N samples of -sum_k t[n,k] log softmax(z)[n,k] */
  readonly loss: number;
  /** dL/dz: [N, K], (softmax(z) * sum_k t - t) / N (= (p - t) / N for one-hot rows, the lesson's formula) */
  readonly dlogits: Tensor;
}

const isTensorLike = (u: unknown): boolean =>
  typeof u === 'object' && u !== null && Array.isArray(Reflect.get(u, 'shape')) && ArrayBuffer.isView(Reflect.get(u, 'data'));

/** What an unexpected value is, for messages: `a Uint8Array of 5`, `an array of 3`, `null`. */
const describeValue = (u: unknown): string => {
  if (ArrayBuffer.isView(u)) return `a ${u.constructor.name} of ${String(Reflect.get(u, 'length'))}`;
  if (Array.isArray(u)) return `an array of ${u.length}`;
  return u === null ? 'null' : typeof u;
};

/** Throws a 'shape' or 'value' FoldnetError naming the op when `targets` do not fit logits [N, K]. */
export const checkTargets = (op: string, logits: Tensor, targets: Targets): void => {
  const [N, K] = logits.shape;
  if (targets instanceof Int32Array) {
    if (targets.length !== N) throw new FoldnetError('shape', `${op}: ${targets.length} labels for ${N} rows of logits ${formatShape(logits.shape)}`);
    for (let n = 0; n < N; n++) {
      const t = targets[n];
      if (t < 0 || t >= K) throw new FoldnetError('value', `${op}: label ${t} at row ${n} is out of range [0, ${K})`);
    }
  } else if (!isTensorLike(targets)) {
    // untyped callers (plain JavaScript, tsx) can hand over anything: name what came instead of failing inside
    throw new FoldnetError('value', `${op}: targets must be integer labels (an Int32Array) or one-hot rows (a tensor [N, K]), got ${describeValue(targets)}`);
  } else if (targets.shape.length !== 2 || targets.shape[0] !== N || targets.shape[1] !== K) {
    throw new FoldnetError('shape', `${op}: targets ${formatShape(targets.shape)} do not match logits ${formatShape(logits.shape)}`);
  }
};

/**
 * Row n of logits [N, K] (`z`, flat) as log softmax into `out` [K], in double precision and stable:
 * z - m - log sum_k exp(z_k - m) with m = max_k z.
 */
export const logSoftmaxRow = (z: Tensor['data'], n: number, K: number, out: Float64Array): void => {
  let m = -Infinity;
  for (let k = 0; k < K; k++) if (z[n * K + k] > m) m = z[n * K + k];
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(z[n * K + k] - m);
  const logS = Math.log(s);
  for (let k = 0; k < K; k++) out[k] = z[n * K + k] - m - logS;
};

/**
 * Softmax over the last axis of [N, K], computed stably (z - max_k z before exp). Same dtype.
 *
 * @example softmax(fromNested([[0, 0]])) // [[0.5, 0.5]]
 */
export const softmax = (logits: Tensor): Tensor => {
  if (logits.shape.length !== 2) throw new FoldnetError('shape', `softmax: logits ${formatShape(logits.shape)} must be 2-D [N, K]`);
  const [N, K] = logits.shape;
  const out = alloc(logits.dtype, logits.size);
  const z = logits.data;
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (z[n * K + k] > m) m = z[n * K + k];
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(z[n * K + k] - m);
    for (let k = 0; k < K; k++) out[n * K + k] = Math.exp(z[n * K + k] - m) / s;
  }
  return fromData(logits.shape, out);
};

/**
 * Softmax cross-entropy (the lesson's SoftmaxWithLoss), numerically stable: log softmax is
 * z - m - log sum_k exp(z_k - m) with m = max_k z, computed in double precision, so large
 * logits neither overflow nor give log(0) (the lesson adds 1e-7 inside the log instead; we do not).
 *
 * logits: [N, K]; targets: integer labels Int32Array [N] or a [N, K] tensor of one-hot (or soft)
 * rows. Returns the mean loss over N and dlogits [N, K] in the logits' dtype.
 *
 * @example
 * const { loss, dlogits } = softmaxCrossEntropy(fromNested([[2, 1, 0.1]]), Int32Array.of(0));
 * loss; // 0.4170300...
 */
export const softmaxCrossEntropy = (logits: Tensor, targets: Targets): LossResult => {
  if (logits.shape.length !== 2) throw new FoldnetError('shape', `softmaxCrossEntropy: logits ${formatShape(logits.shape)} must be 2-D [N, K]`);
  checkTargets('softmaxCrossEntropy', logits, targets);
  const [N, K] = logits.shape;
  const z = logits.data;
  const d = alloc(logits.dtype, logits.size);
  const logp = new Float64Array(K);
  let total = 0;
  for (let n = 0; n < N; n++) {
    logSoftmaxRow(z, n, K, logp);
    if (targets instanceof Int32Array) {
      const t = targets[n];
      total -= logp[t];
      for (let k = 0; k < K; k++) d[n * K + k] = (Math.exp(logp[k]) - (k === t ? 1 : 0)) / N;
    } else {
      let mass = 0;
      for (let k = 0; k < K; k++) {
        const t = targets.data[n * K + k];
        mass += t;
        if (t !== 0) total -= t * logp[k];
      }
      for (let k = 0; k < K; k++) d[n * K + k] = (Math.exp(logp[k]) * mass - targets.data[n * K + k]) / N;
    }
  }
  return { loss: total / N, dlogits: fromData(logits.shape, d) };
};
