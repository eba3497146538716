import { describe, expect, it } from 'vitest';
import {
  addBias,
  arange,
  backendNames,
  argmax,
  col2im,
  dot,
  expectSameDType,
  expectShape,
  FoldnetError,
  fromData,
  fromNested,
  im2col,
  item,
  key,
  keyFromState,
  matmul,
  max,
  maxAbsDiff,
  normal,
  permute,
  randomIndices,
  permutation,
  reshape,
  setBackend,
  sliceRows,
  split,
  sum,
  take,
  tensor,
  transpose,
  uniform,
  zeros,
  zip,
  foldIn,
  type ErrorCode,
} from '@foldnet/core';

/*
 * One test per bad input: the error is a FoldnetError with the right code, and its message names
 * the operation and the shapes (or values) involved, exactly.
 */

const thrown = (f: () => unknown): FoldnetError => {
  try {
    f();
  } catch (e) {
    if (e instanceof FoldnetError) return e;
    throw e;
  }
  throw new Error('expected a FoldnetError, nothing was thrown');
};

const expectError = (f: () => unknown, code: ErrorCode, message: string): void => {
  const e = thrown(f);
  expect(e.code).toBe(code);
  expect(e.message).toBe(message);
  expect(e.name).toBe('FoldnetError');
};

describe('FoldnetError', () => {
  it('is an Error with a code and the message', () => {
    const e = new FoldnetError('io', 'readIdx: file is truncated');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('io');
    expect(e.message).toBe('readIdx: file is truncated');
    expect(String(e)).toBe('FoldnetError: readIdx: file is truncated');
  });
});

describe('bad shapes name the operation and the shapes', () => {
  it('matmul [100,4320] x [4321,100]: inner sizes differ', () => {
    expectError(() => matmul(zeros([100, 4320]), zeros([4321, 100])), 'shape', 'matmul: [100,4320] x [4321,100]: inner sizes differ (4320 and 4321)');
  });
  it('matmul with transA [3,4]ᵀ x [4,2]: inner sizes differ', () => {
    expectError(() => matmul(zeros([3, 4]), zeros([4, 2]), { transA: true }), 'shape', 'matmul: [3,4]ᵀ x [4,2]: inner sizes differ (3 and 4)');
  });
  it('matmul with transB [3,4] x [5,2]ᵀ: inner sizes differ', () => {
    expectError(() => matmul(zeros([3, 4]), zeros([5, 2]), { transB: true }), 'shape', 'matmul: [3,4] x [5,2]ᵀ: inner sizes differ (4 and 2)');
  });
  it('matmul [2,3,4] x [4,2]: operands must be 2-D', () => {
    expectError(() => matmul(zeros([2, 3, 4]), zeros([4, 2])), 'shape', 'matmul: [2,3,4] x [4,2]: both operands must be 2-D');
  });
  it('matmul float32 x float64: dtypes differ', () => {
    expectError(() => matmul(zeros([2, 2]), zeros([2, 2], 'float64')), 'dtype', 'matmul: dtypes differ (float32 and float64)');
  });
  it('reshape [2,3] into [4]', () => {
    expectError(() => reshape(zeros([2, 3]), [4]), 'shape', 'reshape: cannot reshape [2,3] (6 elements) into [4]');
  });
  it('reshape [2,3] into [4,-1]: 6 is not a multiple of 4', () => {
    expectError(() => reshape(zeros([2, 3]), [4, -1]), 'shape', 'reshape: cannot reshape [2,3] (6 elements) into [4,-1]');
  });
  it('reshape with two -1', () => {
    expectError(() => reshape(zeros([2, 3]), [-1, -1]), 'shape', 'reshape: [-1,-1]: at most one dimension may be -1');
  });
  it('reshape into a negative dimension other than -1', () => {
    expectError(() => reshape(zeros([2, 3]), [-2, -3]), 'shape', 'reshape: [-2,-3]: dimensions must be non-negative integers');
  });
  it('tensor: shape [2,3] with 5 values', () => {
    expectError(() => tensor([1, 2, 3, 4, 5], [2, 3]), 'shape', 'tensor: shape [2,3] needs 6 elements, got 5');
  });
  it('tensor: non-integer dimension', () => {
    expectError(() => fromData([1.5], new Float32Array(1)), 'shape', 'tensor: [1.5]: dimensions must be non-negative integers');
  });
  // The types already refuse these buffers; the runtime check is for untyped (JavaScript) callers,
  // simulated here with Reflect.apply.
  it('fromData of a Uint8Array (integer pixels) is a dtype error, not a mislabelled float32 tensor', () => {
    expectError(() => Reflect.apply(fromData, undefined, [[2], new Uint8Array(2)]), 'dtype', 'tensor: data must be a Float32Array or Float64Array, got Uint8Array');
  });
  it('fromData of an Int32Array is a dtype error', () => {
    expectError(() => Reflect.apply(fromData, undefined, [[2], new Int32Array(2)]), 'dtype', 'tensor: data must be a Float32Array or Float64Array, got Int32Array');
  });
  it('zeros: negative dimension', () => {
    expectError(() => zeros([2, -1]), 'shape', 'zeros: [2,-1]: dimensions must be non-negative integers');
  });
  it('fromNested: ragged rows', () => {
    expectError(() => fromNested([[1, 2], [3]]), 'shape', 'fromNested: [1]: ragged nesting, expected 2 elements');
  });
  it('fromNested: a number where a row was expected', () => {
    expectError(() => fromNested([[1, 2], 3]), 'shape', 'fromNested: [1]: ragged nesting, expected 2 elements');
  });
  it('item of a [2] tensor', () => {
    expectError(() => item(zeros([2])), 'shape', 'item: [2] has 2 elements, expected 1');
  });
  it('permute [2,3,4] with axes [0,0,1]', () => {
    expectError(() => permute(zeros([2, 3, 4]), [0, 0, 1]), 'shape', 'permute: axes [0,0,1] are not a permutation of the 3 axes of [2,3,4]');
  });
  it('permute [2,3] with too many axes', () => {
    expectError(() => permute(zeros([2, 3]), [0, 1, 2]), 'shape', 'permute: axes [0,1,2] are not a permutation of the 2 axes of [2,3]');
  });
  it('transpose of a 3-D tensor', () => {
    expectError(() => transpose(zeros([2, 3, 4])), 'shape', 'transpose: [2,3,4] is not 2-D');
  });
  it('addBias [4,3] + [4]', () => {
    expectError(() => addBias(zeros([4, 3]), zeros([4])), 'shape', 'addBias: bias [4] does not match axis 1 of [4,3]');
  });
  it('addBias [2,3,5,5] + [2] on axis 1', () => {
    expectError(() => addBias(zeros([2, 3, 5, 5]), zeros([2]), 1), 'shape', 'addBias: bias [2] does not match axis 1 of [2,3,5,5]');
  });
  it('addBias with a 2-D bias', () => {
    expectError(() => addBias(zeros([4, 3]), zeros([1, 3])), 'shape', 'addBias: bias [1,3] does not match axis 1 of [4,3]');
  });
  it('addBias axis 2 of a 2-D tensor', () => {
    expectError(() => addBias(zeros([4, 3]), zeros([3]), 2), 'shape', 'addBias: axis 2 is out of range for [4,3]');
  });
  it('sum over axis 3 of [2,3]', () => {
    expectError(() => sum(zeros([2, 3]), 3), 'shape', 'sum: axis 3 is out of range for [2,3]');
  });
  it('sum over axis -3 of [2,3]', () => {
    expectError(() => sum(zeros([2, 3]), [0, -3]), 'shape', 'sum: axis -3 is out of range for [2,3]');
  });
  it('max over axis 2 of [2,3]', () => {
    expectError(() => max(zeros([2, 3]), 2), 'shape', 'max: axis 2 is out of range for [2,3]');
  });
  it('argmax over an empty axis', () => {
    expectError(() => argmax(zeros([2, 0]), 1), 'shape', 'argmax: axis 1 of [2,0] is empty');
  });
  it('argmax over a non-integer axis', () => {
    expectError(() => argmax(zeros([2, 3]), 0.5), 'shape', 'argmax: axis 0.5 is out of range for [2,3]');
  });
  it('zip [2,3] with [3,2]', () => {
    expectError(() => zip(zeros([2, 3]), zeros([3, 2]), (a, b) => a + b), 'shape', 'zip: shapes differ: [2,3] and [3,2]');
  });
  it('zip float32 with float64', () => {
    expectError(() => zip(zeros([2]), zeros([2], 'float64'), (a, b) => a + b), 'dtype', 'zip: dtypes differ (float32 and float64)');
  });
  it('dot [6] with [2,3]', () => {
    expectError(() => dot(zeros([6]), zeros([2, 3])), 'shape', 'dot: shapes differ: [6] and [2,3]');
  });
  it('maxAbsDiff [2] with [3]', () => {
    expectError(() => maxAbsDiff(zeros([2]), zeros([3])), 'shape', 'maxAbsDiff: shapes differ: [2] and [3]');
  });
  it('take row 5 of [5,2]', () => {
    expectError(() => take(zeros([5, 2]), [0, 5]), 'shape', 'take: index 5 is out of range for [5,2]');
  });
  it('take a negative row', () => {
    expectError(() => take(zeros([5, 2]), [-1]), 'shape', 'take: index -1 is out of range for [5,2]');
  });
  it('take rows of a scalar', () => {
    expectError(() => take(tensor([1], []), [0]), 'shape', 'take: cannot take rows of a scalar');
  });
  it('sliceRows 3..6 of [5,2]', () => {
    expectError(() => sliceRows(zeros([5, 2]), 3, 6), 'shape', 'sliceRows: rows 3..6 are out of range for [5,2]');
  });
  it('sliceRows 4..2 (reversed)', () => {
    expectError(() => sliceRows(zeros([5, 2]), 4, 2), 'shape', 'sliceRows: rows 4..2 are out of range for [5,2]');
  });
  it('sliceRows of a scalar', () => {
    expectError(() => sliceRows(tensor([1], []), 0, 1), 'shape', 'sliceRows: rows 0..1 are out of range for []');
  });
  it('expectShape names the place and both shapes', () => {
    expectError(() => expectShape('conv2d', 'bias', zeros([3]), [4]), 'shape', 'conv2d: bias has shape [3], expected [4]');
  });
  it('expectSameDType names the operation and both dtypes', () => {
    expectError(() => expectSameDType('add', zeros([1], 'float64'), zeros([1])), 'dtype', 'add: dtypes differ (float64 and float32)');
  });
  it('im2col of a 3-D input', () => {
    expectError(() => im2col(zeros([1, 4, 4]), { filterH: 3 }), 'shape', 'im2col: input [1,4,4] must be 4-D [N, C, H, W]');
  });
  it('im2col x=[1,1,3,3] with a 5x5 filter is a geometry error', () => {
    expectError(() => im2col(zeros([1, 1, 3, 3]), { filterH: 5 }), 'geometry', 'im2col: filter 5x5 is larger than the padded input 3x3 (input 3x3, pad 0)');
  });
  it('im2col with stride 0 is a geometry error', () => {
    expectError(() => im2col(zeros([1, 1, 3, 3]), { filterH: 2, stride: 0 }), 'geometry', 'im2col: stride must be a positive integer, got 0');
  });
  it('col2im with a column matrix that does not fit the input', () => {
    expectError(() => col2im(zeros([8, 8]), [2, 1, 4, 4], { filterH: 3 }), 'shape', 'col2im: col [8,8] does not fit input [2,1,4,4]: expected [8,9]');
  });
  it('col2im into a non-integer batch size', () => {
    expectError(() => col2im(zeros([6, 9]), [1.5, 1, 4, 4], { filterH: 3 }), 'shape', 'col2im: [1.5,1,4,4]: dimensions must be non-negative integers');
  });
});

describe('bad values name the operation and the value', () => {
  it('key with a non-integer seed', () => {
    expectError(() => key(1.5), 'value', 'key: seed must be a safe integer, got 1.5');
  });
  it('split into 0 keys', () => {
    expectError(() => split(key(0), 0), 'value', 'split: n must be a positive integer, got 0');
  });
  it('foldIn a non-integer', () => {
    expectError(() => foldIn(key(0), 0.5), 'value', 'foldIn: data must be a 32-bit integer, got 0.5');
  });
  it('uniform into a negative shape', () => {
    expectError(() => uniform(key(0), [-1]), 'shape', 'uniform: [-1]: dimensions must be non-negative integers');
  });
  it('normal into a non-integer shape', () => {
    expectError(() => normal(key(0), [2.5]), 'shape', 'normal: [2.5]: dimensions must be non-negative integers');
  });
  it('randomIndices from 0 items', () => {
    expectError(() => randomIndices(key(0), 0, 3), 'value', 'randomIndices: n must be a positive 32-bit integer, got 0');
  });
  it('randomIndices with a negative count', () => {
    expectError(() => randomIndices(key(0), 10, -1), 'value', 'randomIndices: count must be a non-negative integer, got -1');
  });
  it('permutation of a negative length', () => {
    expectError(() => permutation(key(0), -2), 'value', 'permutation: n must be a non-negative 32-bit integer, got -2');
  });
  it('keyFromState of three words', () => {
    expectError(() => keyFromState([1, 2, 3]), 'value', 'keyFromState: expected four 32-bit integers, got [1,2,3]');
  });
  it('keyFromState of BigInts still reports instead of crashing in JSON.stringify', () => {
    expectError(() => keyFromState([1n, 2n, 3n, 4n]), 'value', 'keyFromState: expected four 32-bit integers, got 1,2,3,4');
  });
  it('unknown backend lists the known ones', () => {
    expectError(() => setBackend('gpu'), 'value', `backend 'gpu' is unknown; known backends: ${backendNames().join(', ')}`);
    expect(backendNames()).toContain('reference');
  });
});

describe('constructors refuse bad shapes', () => {
  it('arange with a non-integer dimension', () => {
    expectError(() => arange([2.5]), 'shape', 'arange: [2.5]: dimensions must be non-negative integers');
  });
});
