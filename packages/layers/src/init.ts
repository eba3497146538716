import { FoldnetError, normal, type DType, type Key, type Shape, type Tensor, type WeightInit } from '@foldnet/core';

/** How a layer's weights are drawn: a std, 'he', 'xavier' or 'glorot' (see core's WeightInit). */
export type { WeightInit } from '@foldnet/core';

/** The std a WeightInit gives for the fan sizes. @example initStd('he', 9, 144) // sqrt(2/9) */
export const initStd = (init: WeightInit, fanIn: number, fanOut: number): number => {
  if (typeof init === 'number') {
    if (!Number.isFinite(init) || init < 0) throw new FoldnetError('value', `weightInit: std must be a finite non-negative number, got ${init}`);
    return init;
  }
  switch (init) {
    case 'he':
      return Math.sqrt(2 / fanIn);
    case 'xavier':
      return Math.sqrt(1 / fanIn);
    case 'glorot':
      return Math.sqrt(2 / (fanIn + fanOut));
    default:
      throw new FoldnetError('value', `weightInit: expected a number, 'he', 'xavier' or 'glorot', got ${JSON.stringify(init)}`);
  }
};

/** Draws weights of `shape` with the std `init` gives. @example initWeights(key(0), [20, 10], 'he', 20, 10) */
export const initWeights = (k: Key, shape: Shape, init: WeightInit, fanIn: number, fanOut: number, dtype: DType = 'float32'): Tensor =>
  normal(k, shape, { std: initStd(init, fanIn, fanOut), dtype });
