import { alloc } from './dtype.js';
import { shapeError } from './errors.js';
import type { Kernels } from './kernels/contract.js';
import { kernels } from './kernels/registry.js';
import { formatShape, normalizeAxis, sameShape, sizeOf, stridesOf, type Shape } from './shape.js';
import { expectSameDType, fromData, type Tensor } from './tensor.js';

/*
 * Tensor operations the layers are built from. Each validates shapes (errors name the operation
 * and the shapes), allocates a fresh output and leaves its inputs untouched.
 */

/**
 * Options of `matmul`: which operand to transpose, and the kernel set.
 *
 * @example matmul(x, w, { transB: true }) // x [N, D] times w [K, D] transposed -> [N, K]
 */
export interface MatmulOptions {
  /** Use aᵀ (a is [K, M]) instead of a ([M, K]); default false. */
  readonly transA?: boolean;
  /** Use bᵀ (b is [N, K]) instead of b ([K, N]); default false. */
  readonly transB?: boolean;
  /** A kernel set for this call only; defaults to the current backend. */
  readonly kernels?: Kernels;
}

/**
 * Matrix product op(a) x op(b), where op transposes when its flag is set.
 *
 * @example
 * matmul(zeros([100, 4320]), zeros([4320, 100])).shape;        // [100, 100]
 * matmul(zeros([4320, 100]), zeros([4320, 10]), { transA: true }).shape; // [100, 10]
 */
export const matmul = (a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor => {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const label = `${formatShape(a.shape)}${transA ? 'ᵀ' : ''} x ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (a.shape.length !== 2 || b.shape.length !== 2) throw shapeError('matmul', `${label}: both operands must be 2-D`);
  expectSameDType('matmul', a, b);
  const k1 = transA ? a.shape[0] : a.shape[1];
  const k2 = transB ? b.shape[1] : b.shape[0];
  if (k1 !== k2) throw shapeError('matmul', `${label}: inner sizes differ (${k1} and ${k2})`);
  return (opts.kernels ?? kernels()).matmul(a, b, transA, transB);
};

/**
 * x + b, with the 1-D `b` broadcast along `axis` of x (default the last):
 * `addBias(x [N,M], b [M])` for dense layers, `addBias(x [N,C,H,W], b [C], 1)` for convolutions.
 */
export const addBias = (x: Tensor, b: Tensor, axis = -1): Tensor => {
  const ax = normalizeAxis('addBias', axis, x.shape);
  if (b.shape.length !== 1 || b.shape[0] !== x.shape[ax]) {
    throw shapeError('addBias', `bias ${formatShape(b.shape)} does not match axis ${ax} of ${formatShape(x.shape)}`);
  }
  expectSameDType('addBias', x, b);
  const inner = sizeOf(x.shape.slice(ax + 1));
  const n = x.shape[ax];
  const out = alloc(x.dtype, x.size);
  for (let i = 0; i < x.size; i++) out[i] = x.data[i] + b.data[Math.floor(i / inner) % n];
  return fromData(x.shape, out);
};

/**
 * Reorders axes: output axis i is input axis `axes[i]`.
 *
 * @example permute(zeros([2, 3, 4]), [2, 0, 1]).shape // [4, 2, 3]
 */
export const permute = (x: Tensor, axes: readonly number[]): Tensor => {
  const rank = x.shape.length;
  const seen = new Set(axes);
  if (axes.length !== rank || seen.size !== rank || axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) {
    throw shapeError('permute', `axes [${axes.join(',')}] are not a permutation of the ${rank} axes of ${formatShape(x.shape)}`);
  }
  const outShape = axes.map((a) => x.shape[a]);
  const inStrides = stridesOf(x.shape);
  const stepFor = axes.map((a) => inStrides[a]); // input stride of each output axis
  const out = alloc(x.dtype, x.size);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < x.size; o++) {
    out[o] = x.data[src];
    // odometer increment over the output index, tracking the input offset
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += stepFor[d];
      if (index[d] < outShape[d]) break;
      src -= stepFor[d] * outShape[d];
      index[d] = 0;
    }
  }
  return fromData(outShape, out);
};

/** The transpose of a 2-D tensor. @example transpose(zeros([2, 3])).shape // [3, 2] */
export const transpose = (x: Tensor): Tensor => {
  if (x.shape.length !== 2) throw shapeError('transpose', `${formatShape(x.shape)} is not 2-D`);
  return permute(x, [1, 0]);
};

// Splits a shape around one axis into outer x axis x inner, the loop form of every reduction.
const around = (shape: Shape, ax: number) => ({
  outer: sizeOf(shape.slice(0, ax)),
  n: shape[ax],
  inner: sizeOf(shape.slice(ax + 1)),
});

const reduceAxis = (op: string, x: Tensor, axis: number, keepDims: boolean, init: number, f: (acc: number, v: number) => number): Tensor => {
  const ax = normalizeAxis(op, axis, x.shape);
  const { outer, n, inner } = around(x.shape, ax);
  const out = alloc(x.dtype, outer * inner).fill(init);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < n; k++)
      for (let i = 0; i < inner; i++) out[o * inner + i] = f(out[o * inner + i], x.data[(o * n + k) * inner + i]);
  const shape = keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return fromData(shape, out);
};

/**
 * Sum over the given axes (all axes when omitted), dropping them unless keepDims.
 *
 * @example sum(arange([2, 3]), 0) // [3, 5, 7]
 */
export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
  const normalized = [...new Set(list.map((a) => normalizeAxis('sum', a, x.shape)))].sort((a, b) => b - a);
  let out = x;
  for (const ax of normalized) out = reduceAxis('sum', out, ax, true, 0, (acc, v) => acc + v);
  return keepDims ? out : fromData(x.shape.filter((_, i) => !normalized.includes(i)), out.data);
};

/**
 * Maximum along one axis; NaN wins (as numpy's max), so a diverged value is never hidden.
 *
 * @example max(fromNested([[1, 5], [7, 2]]), 1) // [5, 7]
 */
export const max = (x: Tensor, axis: number, keepDims = false): Tensor =>
  reduceAxis('max', x, axis, keepDims, -Infinity, (acc, v) => (Number.isNaN(acc) || v <= acc ? acc : v)); // v NaN: `v <= acc` is false, so NaN is taken

/** Integer indices with a shape, as argmax returns. */
export interface IndexTensor {
  readonly shape: Shape;
  readonly data: Int32Array;
}

/**
 * Index of the maximum along one axis; ties go to the first maximum and the first NaN wins, as
 * numpy's argmax.
 *
 * @example argmax(fromNested([[1, 5, 5], [7, 2, 7]]), 1).data // Int32Array [1, 0]
 */
export const argmax = (x: Tensor, axis: number): IndexTensor => {
  const ax = normalizeAxis('argmax', axis, x.shape);
  const { outer, n, inner } = around(x.shape, ax);
  if (n === 0) throw shapeError('argmax', `axis ${ax} of ${formatShape(x.shape)} is empty`);
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      let best = x.data[o * n * inner + i];
      let at = 0;
      for (let k = 1; k < n && !Number.isNaN(best); k++) {
        const v = x.data[(o * n + k) * inner + i];
        if (v > best || Number.isNaN(v)) {
          best = v;
          at = k;
        }
      }
      out[o * inner + i] = at;
    }
  return { shape: x.shape.filter((_, i) => i !== ax), data: out };
};

/** f applied to every element. @example map(x, Math.exp) */
export const map = (x: Tensor, f: (v: number, i: number) => number): Tensor => {
  const out = alloc(x.dtype, x.size);
  for (let i = 0; i < x.size; i++) out[i] = f(x.data[i], i);
  return fromData(x.shape, out);
};

/** f applied pairwise to two tensors of the same shape. @example zip(a, b, (p, q) => p * q) */
export const zip = (a: Tensor, b: Tensor, f: (p: number, q: number, i: number) => number): Tensor => {
  if (!sameShape(a.shape, b.shape)) throw shapeError('zip', `shapes differ: ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  expectSameDType('zip', a, b);
  const out = alloc(a.dtype, a.size);
  for (let i = 0; i < a.size; i++) out[i] = f(a.data[i], b.data[i], i);
  return fromData(a.shape, out);
};

/** Element-wise a + b. */
export const add = (a: Tensor, b: Tensor): Tensor => zip(a, b, (p, q) => p + q);
/** Element-wise a - b. */
export const sub = (a: Tensor, b: Tensor): Tensor => zip(a, b, (p, q) => p - q);
/** Element-wise a * b. */
export const mul = (a: Tensor, b: Tensor): Tensor => zip(a, b, (p, q) => p * q);
/** s * x. */
export const scale = (x: Tensor, s: number): Tensor => map(x, (v) => v * s);

/** The inner product of two same-shaped tensors, accumulated in double precision: `<a, b>`. */
export const dot = (a: Tensor, b: Tensor): number => {
  if (!sameShape(a.shape, b.shape)) throw shapeError('dot', `shapes differ: ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.data[i] * b.data[i];
  return s;
};

/** The largest |a - b| over all elements (NaN if any element is NaN). */
export const maxAbsDiff = (a: Tensor, b: Tensor): number => {
  if (!sameShape(a.shape, b.shape)) throw shapeError('maxAbsDiff', `shapes differ: ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  let m = 0;
  for (let i = 0; i < a.size; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (!(d <= m)) m = d;
  }
  return m;
};

/**
 * Rows `indices` of x along its first axis, in that order (batch gathering).
 *
 * @example take(images, [3, 1]).shape // [2, 1, 28, 28] when images is [5000, 1, 28, 28]
 */
export const take = (x: Tensor, indices: ArrayLike<number>): Tensor => {
  if (x.shape.length === 0) throw shapeError('take', 'cannot take rows of a scalar');
  const rows = x.shape[0];
  const inner = sizeOf(x.shape.slice(1));
  const out = alloc(x.dtype, indices.length * inner);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= rows) {
      throw shapeError('take', `index ${i} is out of range for ${formatShape(x.shape)}`);
    }
    for (let k = 0; k < inner; k++) out[r * inner + k] = x.data[i * inner + k];
  }
  return fromData([indices.length, ...x.shape.slice(1)], out);
};

/**
 * Rows start..end-1 along the first axis; free, because it is a view of the shared buffer.
 *
 * @example sliceRows(images, 0, 100).shape // [100, 1, 28, 28]
 */
export const sliceRows = (x: Tensor, start: number, end: number): Tensor => {
  const rows = x.shape[0];
  if (x.shape.length === 0 || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > rows || start > end) {
    throw shapeError('sliceRows', `rows ${start}..${end} are out of range for ${formatShape(x.shape)}`);
  }
  const inner = sizeOf(x.shape.slice(1));
  const data = x.data.BYTES_PER_ELEMENT === 8
    ? new Float64Array(x.data.buffer, x.data.byteOffset + start * inner * 8, (end - start) * inner)
    : new Float32Array(x.data.buffer, x.data.byteOffset + start * inner * 4, (end - start) * inner);
  return fromData([end - start, ...x.shape.slice(1)], data);
};

/**
 * True when every element is finite (no NaN, no ±Infinity), tested by the kernel set (`opts.kernels`, else the
 * current one): the reference loops over the values; fast tests a view of its memory where it lies.
 *
 * @example allFinite(fromData([2], new Float32Array([1, NaN]))) // false
 */
export const allFinite = (x: Tensor, opts: { readonly kernels?: Kernels } = {}): boolean => (opts.kernels ?? kernels()).allFinite(x);
