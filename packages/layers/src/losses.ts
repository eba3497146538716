import { alloc, FoldnetError, formatShape, fromData, type Tensor } from '@foldnet/core';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { checkTargets, logSoftmaxRow, softmaxCrossEntropy, type LossResult } from './loss.js';
import type { Targets } from './types.js';

/*
 * Losses as values: each is a named function of the logits [N, K] and the targets (labels [N] or rows
 * [N, K]) that gives the mean loss and dL/dlogits, so `lossAndGrad`, `trainStep` and `evaluate` take one
 * and a run records it as its text (`ce`, `ce:smooth=0.1`, `mse`, `bce`). The reductions are PyTorch's
 * `mean`: cross-entropy averages over the N samples, MSE and BCE over the N*K elements.
 */

/**
 * A loss as a value: its text (what configs and checkpoints record, and `parseLoss` reads back) and the
 * function itself.
 *
 * @example
 * const l = crossEntropy({ smoothing: 0.1 });
 * l.text; // 'ce:smooth=0.1'
 * l.apply(logits, labels).loss;
 */
export interface Loss {
  readonly text: string;
  /** logits [N, K], targets labels [N] or rows [N, K] -> mean loss and dlogits [N, K] in the logits' dtype. */
  readonly apply: (logits: Tensor, targets: Targets) => LossResult;
}

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions {
  /**
   * Label smoothing ε in [0, 1): the target row becomes (1 - ε) t + ε / K (Szegedy et al. 2016, PyTorch's
   * `CrossEntropyLoss(label_smoothing=ε)`); default 0, the lesson's softmax cross-entropy bit for bit.
   */
  readonly smoothing?: number;
}

/** [N, K] of logits checked to be 2-D and to fit the targets; throws naming `op` otherwise. */
const checkedSizes = (op: string, logits: Tensor, targets: Targets): readonly [number, number] => {
  if (logits.shape.length !== 2) throw new FoldnetError('shape', `${op}: logits ${formatShape(logits.shape)} must be 2-D [N, K]`);
  checkTargets(op, logits, targets);
  return [logits.shape[0], logits.shape[1]];
};

/** Row n of the targets as K numbers: a one-hot row for a label, else the row itself. */
const targetRow = (targets: Targets, n: number, K: number, out: Float64Array): Float64Array => {
  if (targets instanceof Int32Array) {
    out.fill(0);
    out[targets[n]] = 1;
  } else {
    for (let k = 0; k < K; k++) out[k] = targets.data[n * K + k];
  }
  return out;
};

// Smoothed softmax cross-entropy: q = (1 - ε) t + ε/K; loss_n = -sum_k q_k log p_k; dL/dz = (p sum_k q - q) / N.
const smoothedCrossEntropy = (eps: number) => (logits: Tensor, targets: Targets): LossResult => {
  const [N, K] = checkedSizes('crossEntropy', logits, targets);
  const z = logits.data;
  const d = alloc(logits.dtype, logits.size);
  const logp = new Float64Array(K);
  const q = new Float64Array(K);
  let total = 0;
  for (let n = 0; n < N; n++) {
    logSoftmaxRow(z, n, K, logp);
    targetRow(targets, n, K, q);
    let mass = 0;
    for (let k = 0; k < K; k++) {
      q[k] = (1 - eps) * q[k] + eps / K;
      mass += q[k];
      total -= q[k] * logp[k];
    }
    for (let k = 0; k < K; k++) d[n * K + k] = (Math.exp(logp[k]) * mass - q[k]) / N;
  }
  return { loss: total / N, dlogits: fromData(logits.shape, d) };
};

/**
 * Softmax cross-entropy, with optional label smoothing. Without smoothing it is `softmaxCrossEntropy`
 * itself (the lesson's loss, the same bits).
 *
 * @example
 * crossEntropy().apply(fromNested([[2, 1, 0.1]]), Int32Array.of(0)).loss; // 0.4170300...
 * crossEntropy({ smoothing: 0.1 }).text; // 'ce:smooth=0.1'
 */
export const crossEntropy = ({ smoothing = 0 }: CrossEntropyOptions = {}): Loss => {
  if (!(Number.isFinite(smoothing) && smoothing >= 0 && smoothing < 1)) {
    throw new FoldnetError('config', `crossEntropy: smoothing must be in [0, 1), got ${String(smoothing)}`);
  }
  return smoothing === 0
    ? Object.freeze({ text: 'ce', apply: softmaxCrossEntropy })
    : Object.freeze({ text: `ce:smooth=${smoothing}`, apply: smoothedCrossEntropy(smoothing) });
};

/** The loss `lossAndGrad`, `trainStep` and `evaluate` use when given none: the lesson's softmax cross-entropy. @example defaultLoss.text // 'ce' */
export const defaultLoss: Loss = crossEntropy();

/**
 * An elementwise loss averaged over the N*K elements: `f(z, t)` gives the element's loss and its derivative
 * in z, both in double precision.
 */
const elementwise = (op: string, f: (z: number, t: number) => readonly [number, number]) => (logits: Tensor, targets: Targets): LossResult => {
  const [N, K] = checkedSizes(op, logits, targets);
  const z = logits.data;
  const d = alloc(logits.dtype, logits.size);
  const t = new Float64Array(K);
  const count = N * K;
  let total = 0;
  for (let n = 0; n < N; n++) {
    targetRow(targets, n, K, t);
    for (let k = 0; k < K; k++) {
      const [l, dl] = f(z[n * K + k], t[k]);
      total += l;
      d[n * K + k] = dl / count;
    }
  }
  return { loss: count === 0 ? Number.NaN : total / count, dlogits: fromData(logits.shape, d) };
};

/**
 * Mean squared error between the logits and the target rows (labels as one-hot rows), PyTorch's
 * `MSELoss()`: mean over the N*K elements of (z - t)^2; dL/dz = 2 (z - t) / (N K). No softmax.
 *
 * @example meanSquaredError().apply(fromNested([[1, 0]]), Int32Array.of(1)).loss; // ((1-0)^2 + (0-1)^2) / 2 = 1
 */
export const meanSquaredError = (): Loss =>
  Object.freeze({ text: 'mse', apply: elementwise('meanSquaredError', (z, t) => [(z - t) * (z - t), 2 * (z - t)]) });

/**
 * Binary cross-entropy with logits, one independent sigmoid per class (labels as one-hot rows), PyTorch's
 * `BCEWithLogitsLoss()`: mean over the N*K elements of max(z, 0) - z t + log(1 + exp(-|z|)), the stable form
 * of -t log σ(z) - (1 - t) log(1 - σ(z)); dL/dz = (σ(z) - t) / (N K).
 *
 * @example binaryCrossEntropyWithLogits().apply(fromNested([[0, 0]]), Int32Array.of(0)).loss; // log 2
 */
export const binaryCrossEntropyWithLogits = (): Loss =>
  Object.freeze({
    text: 'bce',
    apply: elementwise('binaryCrossEntropyWithLogits', (z, t) => {
      const e = Math.exp(-Math.abs(z));
      const sigmoid = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      return [Math.max(z, 0) - z * t + Math.log1p(e), sigmoid - t];
    }),
  });

/** What `parseLoss` reads, for messages: it completes "expected ...". */
export const lossSyntax = 'ce, ce:smooth=<x in [0, 1)>, mse or bce';

/**
 * A loss from its text: `ce` (softmax cross-entropy), `ce:smooth=0.1` (with label smoothing 0.1), `mse`
 * (mean squared error on the logits) or `bce` (binary cross-entropy with logits). Left says what is wrong.
 *
 * @example
 * parseLoss('ce:smooth=0.1'); // right(crossEntropy({ smoothing: 0.1 }))
 * parseLoss('hinge');         // left: expected ce, ce:smooth=<x in [0, 1)>, mse or bce, got "hinge"
 */
export const parseLoss = (text: string): Either<string, Loss> => {
  if (text === 'ce') return right(defaultLoss);
  if (text === 'mse') return right(meanSquaredError());
  if (text === 'bce') return right(binaryCrossEntropyWithLogits());
  const m = /^ce:smooth=(.*)$/.exec(text);
  if (m === null) return left(`expected ${lossSyntax}, got ${JSON.stringify(text)}`);
  const eps = /^\s*(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(m[1]) ? Number(m[1]) : Number.NaN;
  if (!(eps >= 0 && eps < 1)) return left(`label smoothing ${JSON.stringify(m[1])} is not a number in [0, 1) (e.g. ce:smooth=0.1)`);
  return right(crossEntropy({ smoothing: eps }));
};
