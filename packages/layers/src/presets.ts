import { FoldnetError, type Shape } from '@foldnet/core';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { affine } from './affine.js';
import { relu } from './activations.js';
import { batchNorm } from './batchnorm.js';
import { residual } from './combinators.js';
import { conv2d } from './conv.js';
import { dropout } from './dropout.js';
import type { WeightInit } from './init.js';
import { network } from './network.js';
import { globalAvgPool2d, maxPool2d } from './pool.js';
import type { Layer, Network, ShapeError } from './types.js';

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

/** ResNet's options; every one has a default. */
export interface ResNetOptions {
  /** Per-sample input shape; default [1, 28, 28]. */
  readonly inputDim?: Shape;
  /** Residual blocks per stage; default [2, 2, 2] (three stages, as ResNet-20's layout with two blocks each). */
  readonly blocks?: readonly number[];
  /** Channels of the stem and the first stage; each later stage doubles them. Default 16 (16/32/64). */
  readonly width?: number;
  /** Default 10. */
  readonly outputSize?: number;
  /** Default 'he' (every convolution and the final affine). */
  readonly weightInit?: WeightInit;
  /**
   * Whether the convolutions add a bias; default false, as PyTorch's ResNets (`Conv2d(..., bias=False)`): each is
   * followed by a batch norm, whose beta does a bias's work. true gives the layout of examples/resnet.json.
   */
  readonly convBias?: boolean;
}

/**
 * A ResNet for small images (He et al. 2015, section 4.2): a stem conv3x3-BN-ReLU, then stages of
 * residual blocks, each block conv3x3-BN-ReLU-conv3x3-BN plus its shortcut, then ReLU. Stage s has
 * width * 2^s channels; every stage after the first starts with a stride-2 block whose shortcut is a
 * projection (conv1x1 stride 2, BN), so 28 -> 14 -> 7. Global average pooling and affine(outputSize)
 * end it. Its convolutions have no bias (batch norm follows each), as in PyTorch's ResNets. Defaults (blocks
 * [2,2,2], width 16) give 174,970 params; with `convBias: true`, 175,530, the layout of examples/resnet.json.
 * Layers: conv1, bn1, relu1, res1, relu2, ..., pool1 (global average), affine1.
 *
 * @example
 * const net = unwrap(resnet());                             // [1,28,28] -> [10], 174,970 params
 * resnet({ blocks: [1, 1], width: 8, inputDim: [3, 32, 32] }); // two stages: 8 and 16 channels
 */
export const resnet = (o: ResNetOptions = {}): Either<ShapeError, Network> => {
  const blocks = o.blocks ?? [2, 2, 2];
  const width = o.width ?? 16;
  const w = o.weightInit ?? 'he';
  if (blocks.length === 0 || !blocks.every((b) => Number.isSafeInteger(b) && b >= 1)) {
    throw new FoldnetError('value', `resnet: blocks must be a non-empty list of positive integers, got [${blocks.join(',')}]`);
  }
  if (!(Number.isSafeInteger(width) && width >= 1)) throw new FoldnetError('value', `resnet: width must be a positive integer, got ${width}`);
  const bias = o.convBias ?? false;
  const conv3x3 = (filters: number, stride = 1) => conv2d({ filters, size: 3, pad: 1, stride, weightInit: w, bias });
  // A block keeps the shape unless it opens a later stage: then it halves H and W and doubles the
  // channels, and the shortcut must do the same to be added (a projection, option B of the paper).
  const block = (filters: number, stride: number): Layer[] => [
    residual(
      [conv3x3(filters, stride), batchNorm(), relu(), conv3x3(filters), batchNorm()],
      stride === 1 ? {} : { shortcut: [conv2d({ filters, size: 1, stride, weightInit: w, bias }), batchNorm()] },
    ),
    relu(),
  ];
  const stages = blocks.flatMap((count, s) => Array.from({ length: count }, (_, i) => block(width * 2 ** s, s > 0 && i === 0 ? 2 : 1)).flat());
  return network(o.inputDim ?? [1, 28, 28], [
    conv3x3(width),
    batchNorm(),
    relu(),
    ...stages,
    globalAvgPool2d(),
    affine({ units: o.outputSize ?? 10, weightInit: w }),
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
