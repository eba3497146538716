import { alloc, FoldnetError, formatShape, fromData, sameShape, type MergeOp, type Tensor } from '@foldnet/core';

/*
 * The merges a graph runs itself: add and concat of batches [N, ...]. Pure: fresh outputs, inputs untouched.
 */

/** A merge's forward: its output and the pullback giving one gradient per input. */
export interface MergeResult {
  readonly y: Tensor;
  readonly pullback: (dy: Tensor) => readonly Tensor[];
}

/** y = x1 + x2 + ... (one shape): dy flows unchanged to every input. */
const add = (label: string, xs: readonly Tensor[]): MergeResult => {
  const [first] = xs;
  const out = alloc(first.dtype, first.size);
  for (const x of xs) {
    if (!sameShape(x.shape, first.shape) || x.dtype !== first.dtype) {
      throw new FoldnetError('shape', `${label}: inputs ${xs.map((t) => `${formatShape(t.shape)} ${t.dtype}`).join(' and ')} must agree in shape and dtype`);
    }
  }
  // summed in input order, element by element: the same bits whatever the backend
  out.set(first.data);
  for (const x of xs.slice(1)) for (let i = 0; i < out.length; i++) out[i] += x.data[i];
  return { y: fromData(first.shape, out), pullback: (dy) => xs.map(() => dy) };
};

/** [N, C1, ...] and [N, C2, ...] -> [N, C1 + C2, ...]; the pullback cuts dy back along axis 1. */
const concat = (label: string, xs: readonly Tensor[]): MergeResult => {
  const [first] = xs;
  const N = first.shape[0];
  const rest = first.shape.slice(2);
  for (const x of xs) {
    if (x.shape.length !== first.shape.length || x.shape[0] !== N || !sameShape(x.shape.slice(2), rest) || x.dtype !== first.dtype) {
      throw new FoldnetError('shape', `${label}: inputs ${xs.map((t) => formatShape(t.shape)).join(' and ')} must differ only in axis 1`);
    }
  }
  // per sample, each input contributes a contiguous block of C_i * (inner size) values
  const blocks = xs.map((x) => x.size / Math.max(N, 1));
  const row = blocks.reduce((a, b) => a + b, 0);
  const channels = xs.reduce((a, x) => a + x.shape[1], 0);
  const out = alloc(first.dtype, N * row);
  let at = 0;
  xs.forEach((x, k) => {
    for (let n = 0; n < N; n++) for (let e = 0; e < blocks[k]; e++) out[n * row + at + e] = x.data[n * blocks[k] + e];
    at += blocks[k];
  });
  const shape = [N, channels, ...rest];
  return {
    y: fromData(shape, out),
    pullback: (dy) => {
      let from = 0;
      return xs.map((x, k) => {
        const dx = alloc(dy.dtype, x.size);
        for (let n = 0; n < N; n++) for (let e = 0; e < blocks[k]; e++) dx[n * blocks[k] + e] = dy.data[n * row + from + e];
        from += blocks[k];
        return fromData(x.shape, dx);
      });
    },
  };
};

/**
 * Runs a merge op on a batch of inputs.
 *
 * @example runMerge({ type: 'add' }, 'res1.add', [a, b]).y // a + b
 */
export const runMerge = (op: MergeOp, label: string, xs: readonly Tensor[]): MergeResult => (op.type === 'add' ? add(label, xs) : concat(label, xs));
