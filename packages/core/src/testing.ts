/**
 * @foldnet/core/testing: fast-check arbitraries for shapes, tensors, convolution geometries and
 * PRNG keys, and comparison helpers that return values instead of asserting, so they work with
 * any test runner (vitest, node:test, jest) and inside fast-check properties.
 *
 * @example
 * import fc from 'fast-check';
 * import { shapeArb, tensorArb, closeTo } from '@foldnet/core/testing';
 * fc.assert(fc.property(tensorArb(shapeArb()), (t) => closeTo(t, t).ok), { seed: 42 });
 */
import * as fc from 'fast-check';
import type { DType } from './dtype.js';
import { convGeometry, type ConvGeometry } from './geometry.js';
import { keyFromState, type Key } from './prng.js';
import { formatShape, sameShape, sizeOf, type Shape } from './shape.js';
import { tensor, type Tensor } from './tensor.js';
import type { WindowParams } from './conv.js';

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Bounds for `shapeArb`; every bound is inclusive. */
export interface ShapeArbOptions {
  /** Fewest axes (default 1). */
  readonly minRank?: number;
  /** Most axes (default 4). */
  readonly maxRank?: number;
  /** Smallest dimension (default 1; 0 allows empty tensors). */
  readonly minDim?: number;
  /** Largest dimension (default 5). */
  readonly maxDim?: number;
}

/**
 * Shapes with a rank in [minRank, maxRank] and dimensions in [minDim, maxDim].
 *
 * @example
 * fc.sample(shapeArb({ minRank: 2, maxRank: 2, maxDim: 3 }), 2); // e.g. [[1,3],[2,2]]
 */
export const shapeArb = (opts: ShapeArbOptions = {}): fc.Arbitrary<Shape> => {
  const { minRank = 1, maxRank = 4, minDim = 1, maxDim = 5 } = opts;
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
};

/** Element options for `tensorArb`. */
export interface TensorArbOptions {
  /** Default 'float32'. */
  readonly dtype?: DType;
  /** Smallest value (default -1). */
  readonly min?: number;
  /** Largest value (default 1). */
  readonly max?: number;
  /**
   * Integer values only (default false): products and sums of small integers are exact in float32
   * whatever the summation order, so different kernels can be compared with `bitwiseEqual`.
   */
  readonly integer?: boolean;
}

/**
 * Tensors of a fixed shape, or of shapes drawn from a shape arbitrary, holding finite values in
 * [min, max] (no NaN, no Infinity; -0 and subnormals do occur; float32 values are rounded).
 *
 * @example
 * tensorArb([2, 3], { dtype: 'float64', min: -10, max: 10 });
 * tensorArb(shapeArb({ maxRank: 2 }), { integer: true, min: -8, max: 8 });
 */
export const tensorArb = (shape: Shape | fc.Arbitrary<Shape>, opts: TensorArbOptions = {}): fc.Arbitrary<Tensor> => {
  const { dtype = 'float32', min = -1, max = 1, integer = false } = opts;
  const value = integer
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  const build = (s: Shape): fc.Arbitrary<Tensor> =>
    fc.array(value, { minLength: sizeOf(s), maxLength: sizeOf(s) }).map((values) => tensor(values, s, dtype));
  return shape instanceof fc.Arbitrary ? shape.chain(build) : build(shape);
};

/** Bounds for `convGeometryArb`; every bound is inclusive. */
export interface ConvGeometryArbOptions {
  /** Batch size N in 1..maxBatch (default 4). */
  readonly maxBatch?: number;
  /** Channels C in 1..maxChannels (default 4). */
  readonly maxChannels?: number;
  /** Input height and width in 1..maxInput (default 9). */
  readonly maxInput?: number;
  /** Filter height and width in 1..maxFilter (default 5), never larger than the padded input. */
  readonly maxFilter?: number;
  /** Stride in 1..maxStride (default 3). */
  readonly maxStride?: number;
  /** Padding in 0..maxPad (default 2). */
  readonly maxPad?: number;
  /** Square inputs and filters only (default false: heights and widths are drawn independently). */
  readonly square?: boolean;
}

/** A valid window over an NCHW input: what `im2col`, `col2im` and the kernels take. */
export interface ConvCase {
  /** [N, C, H, W] */
  readonly xShape: readonly [number, number, number, number];
  /** The hyper-parameters, as `im2col(x, params)` takes them. */
  readonly params: Required<WindowParams>;
  /** `convGeometry` of the above: output size included. */
  readonly geometry: ConvGeometry;
}

/**
 * Only valid window geometries: the filter is drawn after the input and padding, never larger
 * than the padded input, so no case is filtered away.
 *
 * @example
 * fc.assert(fc.property(convGeometryArb({ maxInput: 6 }), ({ xShape, params, geometry }) =>
 *   im2col(zeros(xShape), params).shape[0] === xShape[0] * geometry.outH * geometry.outW), { seed: 1 });
 */
export const convGeometryArb = (opts: ConvGeometryArbOptions = {}): fc.Arbitrary<ConvCase> => {
  const { maxBatch = 4, maxChannels = 4, maxInput = 9, maxFilter = 5, maxStride = 3, maxPad = 2, square = false } = opts;
  const size = fc.integer({ min: 1, max: maxInput });
  return fc
    .record({
      N: fc.integer({ min: 1, max: maxBatch }),
      C: fc.integer({ min: 1, max: maxChannels }),
      H: size,
      W: size,
      stride: fc.integer({ min: 1, max: maxStride }),
      pad: fc.integer({ min: 0, max: maxPad }),
    })
    .chain(({ N, C, H, W: drawnW, stride, pad }) => {
      const W = square ? H : drawnW;
      const filterFor = (n: number) => fc.integer({ min: 1, max: Math.max(1, Math.min(maxFilter, n + 2 * pad)) });
      return fc.tuple(filterFor(H), filterFor(W)).map(([filterH, drawnFW]): ConvCase => {
        const filterW = square ? filterH : drawnFW;
        const params = { filterH, filterW, stride, pad };
        return { xShape: [N, C, H, W], params, geometry: convGeometry('convGeometryArb', { inH: H, inW: W, ...params }) };
      });
    });
};

/**
 * PRNG keys over the whole state space (every four 32-bit words; the all-zero state, which
 * xoroshiro cannot leave, is nudged as `keyFromState` does).
 *
 * @example fc.assert(fc.property(keyArb, (k) => uniform(k, [3]).size === 3), { seed: 3 });
 */
export const keyArb: fc.Arbitrary<Key> = fc
  .tuple(fc.integer(), fc.integer(), fc.integer(), fc.integer())
  .map((words) => keyFromState(words));

// ---------------------------------------------------------------------------------------------
// Predicates (no assertions: they return what they found)

/** Tolerances for `closeTo`: element i passes when |a_i - b_i| <= atol + rtol * |b_i| (numpy's allclose). */
export interface Tolerance {
  /** Default 1e-5. */
  readonly rtol?: number;
  /** Default 1e-8. */
  readonly atol?: number;
}

/** What `closeTo` found. */
export interface CloseResult {
  /** Shapes agree and every element passes (NaN never does, except NaN against NaN). */
  readonly ok: boolean;
  /** The largest |a_i - b_i| (NaN when a NaN was compared to a number; Infinity on a shape mismatch). */
  readonly maxAbs: number;
  /** The flat index of the first failing element, or of the largest difference when all pass; -1 if none. */
  readonly at: number;
  /** One line for a failing test: where and by how much, or why the shapes cannot be compared. */
  readonly message: string;
}

/**
 * Compares two tensors element-wise with a relative and an absolute tolerance; b is the expected
 * value. Works across dtypes (the values are compared as doubles).
 *
 * @example
 * closeTo(fast.matmul(a, b, false, false), referenceKernels.matmul(a, b, false, false), { rtol: 1e-4 }).ok
 * // in vitest: const r = closeTo(x, y); expect(r.ok, r.message).toBe(true);
 */
export const closeTo = (a: Tensor, b: Tensor, tol: Tolerance = {}): CloseResult => {
  const { rtol = 1e-5, atol = 1e-8 } = tol;
  if (!sameShape(a.shape, b.shape)) {
    return { ok: false, maxAbs: Infinity, at: -1, message: `shapes differ: ${formatShape(a.shape)} and ${formatShape(b.shape)}` };
  }
  let maxAbs = 0;
  let worst = -1;
  let firstBad = -1;
  for (let i = 0; i < a.size; i++) {
    const x = a.data[i];
    const y = b.data[i];
    const bothNaN = Number.isNaN(x) && Number.isNaN(y);
    const d = x === y || bothNaN ? 0 : Math.abs(x - y); // x === y covers equal infinities
    if (!(d <= maxAbs)) {
      maxAbs = d;
      worst = i;
    }
    // infinities pass only when equal: `Infinity <= atol + rtol * Infinity` would let +-Infinity through
    const pass = d === 0 || (Number.isFinite(x) && Number.isFinite(y) && d <= atol + rtol * Math.abs(y));
    if (firstBad < 0 && !pass) firstBad = i;
  }
  const at = firstBad >= 0 ? firstBad : worst;
  const message =
    firstBad >= 0
      ? `element ${firstBad}: ${a.data[firstBad]} vs expected ${b.data[firstBad]} (max |diff| ${maxAbs}, rtol ${rtol}, atol ${atol})`
      : `close (max |diff| ${maxAbs})`;
  return { ok: firstBad < 0, maxAbs, at, message };
};

/**
 * Whether two numbers agree to a relative tolerance: |a - b| <= rtol * max(|a|, |b|) + atol.
 * For scalars such as the two sides of an adjoint identity.
 *
 * @example closeScalar(dot(im2col(x, p), y), dot(x, col2im(y, x.shape, p)), { rtol: 1e-10 })
 */
export const closeScalar = (a: number, b: number, tol: Tolerance = {}): boolean => {
  const { rtol = 1e-5, atol = 1e-8 } = tol;
  return a === b || Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b)) + atol;
};

/**
 * A copy of a tensor's bytes, taken before an operation, to check afterwards with
 * `bitwiseEqual`/`sameBytes` that the operation did not write its input.
 *
 * @example const before = snapshotBytes(x); f(x); sameBytes(before, x) // true for a pure f
 */
export const snapshotBytes = (t: Tensor): Uint8Array =>
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();

/**
 * Whether a tensor's bytes equal a snapshot: bit for bit, so -0 differs from 0 and NaN payloads count.
 *
 * @example sameBytes(snapshotBytes(x), x) // true
 */
export const sameBytes = (snapshot: Uint8Array, t: Tensor): boolean => {
  const now = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return now.length === snapshot.length && now.every((v, i) => v === snapshot[i]);
};

/**
 * Whether two tensors have the same dtype, shape and bytes.
 *
 * @example bitwiseEqual(tensor([0]), tensor([-0])) // false
 */
export const bitwiseEqual = (a: Tensor, b: Tensor): boolean =>
  a.dtype === b.dtype && sameShape(a.shape, b.shape) && sameBytes(snapshotBytes(b), a);

// ---------------------------------------------------------------------------------------------
// Scopes

export { poisonScopes } from './fast/scope.js';
