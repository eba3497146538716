import { FoldnetError, type Shape } from '@foldnet/core';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { affine } from './affine.js';
import { relu } from './activations.js';
import { conv2d } from './conv.js';
import { dropout } from './dropout.js';
import type { WeightInit } from './init.js';
import { network } from './network.js';
import { maxPool2d } from './pool.js';
import type { Network, ShapeError } from './types.js';

/** A convolution's parameters as the lesson writes them (conv_param). */
export interface ConvParam {
  readonly filterNum: number;
  readonly filterSize: number;
  readonly pad: number;
  readonly stride: number;
}

/** SimpleConvNet's options; every one defaults to the lesson's value. */
export interface SimpleConvNetOptions {
  /** Per-sample input shape; default [1, 28, 28]. */
  readonly inputDim?: Shape;
  /** Default { filterNum: 30, filterSize: 5, pad: 0, stride: 1 }; given fields override. */
  readonly conv?: Partial<ConvParam>;
  /** Default 100. */
  readonly hiddenSize?: number;
  /** Default 10. */
  readonly outputSize?: number;
  /** Default 0.01 (std of a normal); also 'he', 'xavier', 'glorot'. */
  readonly weightInit?: WeightInit;
}

const convLayer = (p: ConvParam, weightInit: WeightInit) =>
  conv2d({ filters: p.filterNum, size: p.filterSize, pad: p.pad, stride: p.stride, weightInit });

/**
 * The lesson's SimpleConvNet: conv(30 5x5, pad 0, stride 1) - relu - maxpool(2x2, stride 2) -
 * affine(100) - relu - affine(10), weights N(0, 0.01²), input [1, 28, 28]; the logits feed
 * softmaxCrossEntropy. Layer names conv1, relu1, pool1, affine1, relu2, affine2.
 *
 * @example
 * const net = unwrap(simpleConvNet());                   // output [10], params conv1.W [30,1,5,5] ...
 * simpleConvNet({ conv: { filterNum: 16 }, hiddenSize: 50 });
 */
export const simpleConvNet = (o: SimpleConvNetOptions = {}): Either<ShapeError, Network> => {
  const conv: ConvParam = { filterNum: 30, filterSize: 5, pad: 0, stride: 1, ...o.conv };
  const w = o.weightInit ?? 0.01;
  return network(o.inputDim ?? [1, 28, 28], [
    convLayer(conv, w),
    relu(),
    maxPool2d({ size: 2, stride: 2 }),
    affine({ units: o.hiddenSize ?? 100, weightInit: w }),
    relu(),
    affine({ units: o.outputSize ?? 10, weightInit: w }),
  ]);
};

/** DoubleConvNet's options; every one defaults to the lesson's value. */
export interface DoubleConvNetOptions extends Omit<SimpleConvNetOptions, 'conv'> {
  /** Default { filterNum: 10, filterSize: 7, pad: 1, stride: 1 }. */
  readonly conv1?: Partial<ConvParam>;
  /** Default { filterNum: 20, filterSize: 3, pad: 1, stride: 1 }. */
  readonly conv2?: Partial<ConvParam>;
}

/**
 * The lesson's DoubleConvNet: conv(10 7x7 pad 1) - relu - pool(2) - conv(20 3x3 pad 1) - relu -
 * pool(2) - affine(100) - relu - affine(10), weights N(0, 0.01²), input [1, 28, 28]
 * (28 -> 24 -> 12 -> 12 -> 6: affine1.W is [720, 100]).
 *
 * @example const net = unwrap(doubleConvNet({ hiddenSize: 50 }));
 */
export const doubleConvNet = (o: DoubleConvNetOptions = {}): Either<ShapeError, Network> => {
  const c1: ConvParam = { filterNum: 10, filterSize: 7, pad: 1, stride: 1, ...o.conv1 };
  const c2: ConvParam = { filterNum: 20, filterSize: 3, pad: 1, stride: 1, ...o.conv2 };
  const w = o.weightInit ?? 0.01;
  return network(o.inputDim ?? [1, 28, 28], [
    convLayer(c1, w),
    relu(),
    maxPool2d({ size: 2, stride: 2 }),
    convLayer(c2, w),
    relu(),
    maxPool2d({ size: 2, stride: 2 }),
    affine({ units: o.hiddenSize ?? 100, weightInit: w }),
    relu(),
    affine({ units: o.outputSize ?? 10, weightInit: w }),
  ]);
};

/** DeepConvNet's options. */
export interface DeepConvNetOptions {
  /** Default [1, 28, 28]. */
  readonly inputDim?: Shape;
  /**
   * The six 3x3 convolutions; default filters 16, 16, 32, 32, 64, 64, pad 1 except the fourth
   * (pad 2), as the book's chapter-8 code (it makes the last feature map 4x4: 1024 features).
   */
  readonly convs?: readonly Partial<ConvParam>[];
  /** Default 50. */
  readonly hiddenSize?: number;
  /** Default 10. */
  readonly outputSize?: number;
  /** Default 0.5, both dropout layers. */
  readonly dropoutRate?: number;
  /** Default 'he'. */
  readonly weightInit?: WeightInit;
}

const DEEP_CONVS: readonly ConvParam[] = [
  { filterNum: 16, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 16, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 32, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 32, filterSize: 3, pad: 2, stride: 1 },
  { filterNum: 64, filterSize: 3, pad: 1, stride: 1 },
  { filterNum: 64, filterSize: 3, pad: 1, stride: 1 },
];

/**
 * The book's chapter-8 DeepConvNet: [conv-relu-conv-relu-pool] x 3 with 3x3 filters (16, 16 |
 * 32, 32 | 64, 64), affine(50) - relu - dropout(0.5) - affine(10) - dropout(0.5), He init.
 * Train it with Adam. 28 -> 14 -> 16 (pad 2) -> 8 -> 4: affine1.W is [1024, 50].
 *
 * @example const net = unwrap(deepConvNet()); // 0.22 M params
 */
export const deepConvNet = (o: DeepConvNetOptions = {}): Either<ShapeError, Network> => {
  const w = o.weightInit ?? 'he';
  const cs = DEEP_CONVS.map((d, i) => ({ ...d, ...o.convs?.[i] }));
  const rate = o.dropoutRate ?? 0.5;
  const block = (a: ConvParam, b: ConvParam) => [convLayer(a, w), relu(), convLayer(b, w), relu(), maxPool2d({ size: 2, stride: 2 })];
  return network(o.inputDim ?? [1, 28, 28], [
    ...block(cs[0], cs[1]),
    ...block(cs[2], cs[3]),
    ...block(cs[4], cs[5]),
    affine({ units: o.hiddenSize ?? 50, weightInit: w }),
    relu(),
    dropout({ rate }),
    affine({ units: o.outputSize ?? 10, weightInit: w }),
    dropout({ rate }),
  ]);
};

/**
 * The network inside a right, or a FoldnetError('shape') with the ShapeError's message: for
 * code that builds a known-good network (tests, scripts).
 *
 * @example const net = unwrap(simpleConvNet());
 */
export const unwrap = (e: Either<ShapeError, Network>): Network => {
  if (isLeft(e)) throw new FoldnetError('shape', e.left.message);
  return e.right;
};
