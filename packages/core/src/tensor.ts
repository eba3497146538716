import { alloc, dtypeOfData, type DType, type MutableData, type ReadonlyData } from './dtype.js';
import { FoldnetError, shapeError } from './errors.js';
import { checkShape, formatShape, sameShape, sizeOf, type Shape } from './shape.js';

/**
 * An immutable n-dimensional array: a shape and a row-major buffer that nobody writes after the
 * function that created it returns ("local mutation, global purity"). Because buffers are never
 * written, reshape and row slices share them for free.
 *
 * @example
 * const t = fromNested([[1, 2], [3, 4]]); // shape [2, 2], float32
 * t.data[3]; // 4
 */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  /** Number of elements, `sizeOf(shape)`. */
  readonly size: number;
  readonly data: ReadonlyData;
}

/** Nested arrays of numbers, as `fromNested` takes and `toNested` gives. */
export type Nested = number | readonly Nested[];

/**
 * Wraps a buffer the caller has just filled and hands over: the caller must never write it
 * again. This is how every kernel returns its result. Only Float32Array and Float64Array are
 * accepted (a 'dtype' error otherwise).
 *
 * @example
 * const out = new Float32Array(4); out[0] = 1; const t = fromData([2, 2], out);
 */
export const fromData = (shape: Shape, data: MutableData | ReadonlyData): Tensor => {
  // ReadonlyData is structural, so a Uint8Array (IDX pixels) or Int32Array would type-check and be
  // mislabelled float32 from its element width: refuse it here.
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new FoldnetError('dtype', `tensor: data must be a Float32Array or Float64Array, got ${Object.prototype.toString.call(data).slice(8, -1)}`);
  }
  checkShape('tensor', shape);
  const size = sizeOf(shape);
  if (data.length !== size) {
    throw shapeError('tensor', `shape ${formatShape(shape)} needs ${size} elements, got ${data.length}`);
  }
  return Object.freeze({ dtype: dtypeOfData(data), shape: Object.freeze([...shape]), size, data });
};

/**
 * A tensor holding a copy of `values` (any array-like of numbers) with the given shape
 * (default: 1-D).
 *
 * @example
 * tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * tensor([0.5, 0.25], [2], 'float64');
 */
export const tensor = (values: ArrayLike<number>, shape: Shape = [values.length], dtype: DType = 'float32'): Tensor => {
  const data = alloc(dtype, values.length);
  data.set(values);
  return fromData(shape, data);
};

/** A tensor of zeros. @example zeros([2, 3]) */
export const zeros = (shape: Shape, dtype: DType = 'float32'): Tensor => {
  checkShape('zeros', shape);
  return fromData(shape, alloc(dtype, sizeOf(shape)));
};

/** A tensor with every element equal to `value`. @example full([3], 7) */
export const full = (shape: Shape, value: number, dtype: DType = 'float32'): Tensor => {
  checkShape('full', shape);
  const data = alloc(dtype, sizeOf(shape));
  data.fill(value);
  return fromData(shape, data);
};

/** A tensor of ones. @example ones([2]) */
export const ones = (shape: Shape, dtype: DType = 'float32'): Tensor => full(shape, 1, dtype);

/** 0, 1, 2, ... laid out in `shape`. @example arange([2, 3]) // [[0,1,2],[3,4,5]] */
export const arange = (shape: Shape, dtype: DType = 'float32'): Tensor => {
  checkShape('arange', shape);
  const data = alloc(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = i;
  return fromData(shape, data);
};

/**
 * A tensor from nested arrays; the shape is read from the nesting, and ragged input is an error.
 *
 * @example
 * fromNested([[1, 2, 3], [4, 5, 6]]).shape; // [2, 3]
 */
export const fromNested = (nested: Nested, dtype: DType = 'float32'): Tensor => {
  const shape: number[] = [];
  for (let level: Nested = nested; Array.isArray(level); level = level[0] ?? 0) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const flat: number[] = [];
  const walk = (node: Nested, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw shapeError('fromNested', `${path || 'value'}: expected a number`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw shapeError('fromNested', `${path || 'value'}: ragged nesting, expected ${shape[depth]} elements`);
    }
    node.forEach((child: Nested, i: number) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(nested, 0, '');
  return tensor(flat, shape, dtype);
};

/** The tensor as nested arrays (a number for a scalar). @example toNested(arange([2, 2])) // [[0,1],[2,3]] */
export const toNested = (t: Tensor): Nested => {
  const build = (depth: number, offset: number): Nested => {
    if (depth === t.shape.length) return t.data[offset];
    const inner = sizeOf(t.shape.slice(depth + 1));
    return Array.from({ length: t.shape[depth] }, (_, i) => build(depth + 1, offset + i * inner));
  };
  return build(0, 0);
};

/** A plain copy of the elements. @example toArray(arange([3])) // [0, 1, 2] */
export const toArray = (t: Tensor): number[] => Array.from(t.data);

/** A fresh, writable copy of the buffer, for code that wants to build something new from it. */
export const copyData = (t: Tensor): MutableData => {
  const out = alloc(t.dtype, t.size);
  out.set(t.data);
  return out;
};

/**
 * The same elements in a new shape; free, because the buffer is shared and never written. One
 * dimension may be -1 and is inferred.
 *
 * @example
 * reshape(arange([2, 6]), [3, -1]).shape; // [3, 4]
 */
export const reshape = (t: Tensor, shape: Shape): Tensor => {
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1) throw shapeError('reshape', `${formatShape(shape)}: at most one dimension may be -1`);
  let target = shape;
  if (inferred === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || t.size % known !== 0) {
      throw shapeError('reshape', `cannot reshape ${formatShape(t.shape)} (${t.size} elements) into ${formatShape(shape)}`);
    }
    target = shape.map((d) => (d === -1 ? t.size / known : d));
  }
  checkShape('reshape', target);
  if (sizeOf(target) !== t.size) {
    throw shapeError('reshape', `cannot reshape ${formatShape(t.shape)} (${t.size} elements) into ${formatShape(shape)}`);
  }
  return sameShape(target, t.shape) ? t : fromData(target, t.data);
};

/** The same values in another dtype (a copy; the same tensor when the dtype already matches). */
export const cast = (t: Tensor, dtype: DType): Tensor => {
  if (t.dtype === dtype) return t;
  const out = alloc(dtype, t.size);
  out.set(t.data);
  return fromData(t.shape, out);
};

/** A 0-d tensor. @example scalar(3).shape // [] */
export const scalar = (value: number, dtype: DType = 'float32'): Tensor => tensor([value], [], dtype);

/** The single value of a one-element tensor. */
export const item = (t: Tensor): number => {
  if (t.size !== 1) throw shapeError('item', `${formatShape(t.shape)} has ${t.size} elements, expected 1`);
  return t.data[0];
};

/** Type guard for tensors coming from untyped places (decoders, user code). */
export const isTensor = (u: unknown): u is Tensor =>
  typeof u === 'object' && u !== null && 'shape' in u && 'data' in u && 'dtype' in u;

/** Throws unless `t` has exactly `shape`; `op` and `what` name the place in the message. */
export const expectShape = (op: string, what: string, t: Tensor, shape: Shape): void => {
  if (!sameShape(t.shape, shape)) {
    throw shapeError(op, `${what} has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
  }
};

/** Throws unless both tensors have the same dtype. */
export const expectSameDType = (op: string, a: Tensor, b: Tensor): void => {
  if (a.dtype !== b.dtype) throw new FoldnetError('dtype', `${op}: dtypes differ (${a.dtype} and ${b.dtype})`);
};
