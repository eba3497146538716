/**
 * Two layers of your own, leaky ReLU (examples/leaky-relu.ts, no params) and a 1x1 convolution
 * (examples/conv1x1.ts, params W and b), each checked with checkGradients, then used inside
 * `sequential` (a block that is itself a layer) inside `network`, checked again as a whole, and
 * trained for a few steps.
 *
 *   pnpm exec tsx examples/custom-layer.ts                   (FOLDNET_EXAMPLE_QUICK=1: fewer steps)
 */
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, split } from '@foldnet/core';
import { affine, checkGradients, conv2d, formatGradCheckReport, maxPool2d, network, sequential, summary } from '@foldnet/layers';
import { adam, batchesOf, evaluate, fit, initTrainState, loadMnist, sampleWithReplacement, trainStep } from '@foldnet/train';
import { conv1x1 } from './conv1x1.js';
import { leakyRelu } from './leaky-relu.js';

const quick = process.env.FOLDNET_EXAMPLE_QUICK === '1';

// 1. The layer alone: its pullback against central differences, in float64, on a batch of 2 [3, 5, 5] inputs.
const alone = checkGradients(leakyRelu({ alpha: 0.1 }), [3, 5, 5], { key: key(1) });
console.log(`leakyRelu alone:\n${formatGradCheckReport(alone)}`);
if (!alone.ok) throw new Error('leakyRelu: the pullback disagrees with finite differences');
const pointwise = checkGradients(conv1x1({ filters: 4 }), [3, 5, 5], { key: key(1) });
console.log(`conv1x1 alone:\n${formatGradCheckReport(pointwise)}`);
if (!pointwise.ok) throw new Error('conv1x1: the pullback disagrees with finite differences');

// 2. Inside blocks: conv 3x3 pad 1 + leaky ReLU as one layer (names seq1.conv1.W, seq1.leakyRelu1, ...),
// then a 1x1 convolution that mixes the 16 channels down to 8 (mix1.W [8,16]).
const block = (filters: number) => sequential(conv2d({ filters, size: 3, pad: 1, weightInit: 'he' }), leakyRelu({ alpha: 0.1 }));
const build = (inputShape: readonly number[]) =>
  network(inputShape, [block(8), maxPool2d({ size: 2 }), block(16), conv1x1({ filters: 8, name: 'mix1' }), leakyRelu({ alpha: 0.1 }), maxPool2d({ size: 2 }), affine({ units: 10, weightInit: 'he' })]);

// The whole network's gradients on a small input (same layers, 8x8 images): every param and the input.
const small = build([1, 8, 8]);
if (isLeft(small)) throw new Error(small.left.message);
const whole = checkGradients(small.right, [1, 8, 8], { key: key(2), maxElements: 16 });
console.log(`network with leakyRelu blocks and a conv1x1:\n${formatGradCheckReport(whole)}`);
if (!whole.ok) throw new Error('network: the pullback disagrees with finite differences');

// 3. The same architecture on MNIST.
const built = build([1, 28, 28]);
if (isLeft(built)) throw new Error(built.left.message);
const net = built.right;
console.log(summary(net));
const mnist = loadMnist({ trainSize: 2000, testSize: 500 });
if (isLeft(mnist)) throw mnist.left;
const { train, test } = mnist.right;
const steps = quick ? 20 : 300;
const [modelKey, dataKey] = split(key(3));
const batches = batchesOf({ x: train.images, targets: train.labels }, sampleWithReplacement({ key: dataKey, n: 2000, batchSize: 50, steps }));
const s = fit(trainStep(net, adam()), initTrainState(net, adam(), modelKey), batches);
const m = evaluate(net, s.params, s.layerState, { x: test.images, targets: test.labels });
console.log(`after ${s.step} steps: test accuracy ${m.accuracy.toFixed(4)} (${m.count} images)`);
