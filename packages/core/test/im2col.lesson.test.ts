import { describe, expect, it } from 'vitest';
import { fromNested, im2col, toNested } from '@foldnet/core';

// The lesson's printed example: input 2x1x4x4, 3x3 filter, stride 1, pad 0.
const lessonInput = [
  [[[20, 95, 70, 5], [3, 91, 59, 59], [81, 15, 21, 32], [38, 32, 52, 89]]],
  [[[45, 94, 38, 4], [18, 27, 44, 10], [22, 42, 9, 62], [20, 89, 26, 23]]],
];
const lessonCol = [
  [20, 95, 70, 3, 91, 59, 81, 15, 21],
  [95, 70, 5, 91, 59, 59, 15, 21, 32],
  [3, 91, 59, 81, 15, 21, 38, 32, 52],
  [91, 59, 59, 15, 21, 32, 32, 52, 89],
  [45, 94, 38, 18, 27, 44, 22, 42, 9],
  [94, 38, 4, 27, 44, 10, 42, 9, 62],
  [18, 27, 44, 22, 42, 9, 20, 89, 26],
  [27, 44, 10, 42, 9, 62, 89, 26, 23],
];

describe('im2col, the lesson example', () => {
  it('im2col x=[2,1,4,4] filter=3x3 stride=1 pad=0 gives the printed 8x9 matrix', () => {
    const col = im2col(fromNested(lessonInput), { filterH: 3, stride: 1, pad: 0 });
    expect(col.shape).toEqual([8, 9]);
    expect(toNested(col)).toEqual(lessonCol);
  });
});
