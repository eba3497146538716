import { FoldnetError, normal, type DType, type Key, type Shape, type Tensor } from '@foldnet/core';

/**
 * How a layer's weights are drawn (biases always start at zero):
 * - a number `s`: normal with std `s` (the lesson's `weight_init_std`, default 0.01);
 * - `'he'`: normal with std sqrt(2 / fanIn) (He et al. 2015; the book's choice after ReLU);
 * - `'xavier'`: normal with std sqrt(1 / fanIn) (the book's "Xavier");
 * - `'glorot'`: normal with std sqrt(2 / (fanIn + fanOut)) (Glorot & Bengio 2010).
 * fanIn is C*FH*FW for a convolution and the input size for a dense layer; fanOut is FN*FH*FW
 * and the output size.
 *
 * @example
 * conv2d({ filters: 16, size: 3, pad: 1, weightInit: 'he' });
 * affine({ units: 100, weightInit: 0.01 });
 */
export type WeightInit = number | 'he' | 'xavier' | 'glorot';

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
