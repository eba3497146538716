/**
 * A custom architecture composed in code: a LeNet-5-style network (tanh, average pooling, as
 * LeCun et al. 1998), its summary, a short training run on MNIST with evaluation, then its
 * checkpoint saved, loaded back into a network rebuilt from the checkpoint alone, and checked.
 *
 *   pnpm exec tsx examples/lenet5.ts [checkpoint-dir]        (FOLDNET_EXAMPLE_QUICK=1: a few steps)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, split } from '@foldnet/core';
import { affine, avgPool2d, conv2d, decodeModelSpec, network, summary, tanh, unwrap } from '@foldnet/layers';
import {
  adam,
  batchesOf,
  evaluate,
  initTrainState,
  loadCheckpoint,
  loadMnist,
  matchTensors,
  packTensors,
  sampleWithReplacement,
  saveCheckpoint,
  scan,
  trainStep,
  unpackTensors,
} from '@foldnet/train';

const quick = process.env.FOLDNET_EXAMPLE_QUICK === '1';

// Shapes per sample: [1,28,28] -conv 5x5 pad 2-> [6,28,28] -pool-> [6,14,14] -conv 5x5-> [16,10,10]
// -pool-> [16,5,5] -> 120 -> 84 -> 10 logits. Xavier init (std sqrt(1/fanIn)) suits tanh.
const lenet5 = network([1, 28, 28], [
  conv2d({ filters: 6, size: 5, pad: 2, weightInit: 'xavier' }),
  tanh(),
  avgPool2d({ size: 2 }),
  conv2d({ filters: 16, size: 5, weightInit: 'xavier' }),
  tanh(),
  avgPool2d({ size: 2 }),
  affine({ units: 120, weightInit: 'xavier' }),
  tanh(),
  affine({ units: 84, weightInit: 'xavier' }),
  tanh(),
  affine({ units: 10, weightInit: 'xavier' }),
]);
// A shape mistake is a value, not an exception: it names the layer and both shapes.
if (isLeft(lenet5)) throw new Error(lenet5.left.message);
const net = lenet5.right;
console.log(summary(net));

const trainSize = quick ? 1000 : 5000;
const mnist = loadMnist({ trainSize, testSize: 1000 });
if (isLeft(mnist)) throw mnist.left;
const train = { x: mnist.right.train.images, targets: mnist.right.train.labels };
const test = { x: mnist.right.test.images, targets: mnist.right.test.labels };

const steps = quick ? 40 : 1000;
const optimizer = adam({ lr: 0.003 });
const [modelKey, dataKey] = split(key(7));
const s0 = initTrainState(net, optimizer, modelKey);
const batches = batchesOf(train, sampleWithReplacement({ key: dataKey, n: trainSize, batchSize: 100, steps }));

// scan yields the state after every step: print now and then, keep the last one.
let final = s0;
for (const s of scan(trainStep(net, optimizer), s0, batches)) {
  if (s.step % (steps / 4) === 0) console.log(`step ${s.step}: batch loss ${s.loss.toFixed(4)}`);
  final = s;
}
const before = evaluate(net, final.params, final.layerState, test);
console.log(`test accuracy ${before.accuracy.toFixed(4)}, loss ${before.loss.toFixed(4)} (${before.count} images)`);

// Save: params as `<layer>.<param>` tensors, layer state as `state.<layer>.<name>`; the model spec
// and the step in the metadata, so the file alone rebuilds the network (packages/train/CHECKPOINTS.md).
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'foldnet-lenet5-'));
const file = join(dir, 'lenet5.safetensors');
const saved = saveCheckpoint(file, {
  tensors: packTensors({ params: final.params, optimizer: {}, state: final.layerState }),
  metadata: { format: 'foldnet-checkpoint/1', model: JSON.stringify(net.spec), step: String(final.step) },
});
if (isLeft(saved)) throw saved.left;
console.log(`saved ${file}`);

// Load: decode the file, rebuild the network from its spec, check every tensor's name, shape and dtype.
const loaded = loadCheckpoint(file);
if (isLeft(loaded)) throw loaded.left;
const rebuilt = decodeModelSpec(JSON.parse(loaded.right.metadata['model'] ?? 'null'));
if (isLeft(rebuilt)) throw new Error(rebuilt.left.message);
const expected = rebuilt.right.init(key(0));
const params = matchTensors(expected.params, unpackTensors(loaded.right.tensors).params, { file });
if (isLeft(params)) throw params.left;
const after = evaluate(rebuilt.right, params.right, expected.state, test);
console.log(`loaded step ${loaded.right.metadata['step']}: test accuracy ${after.accuracy.toFixed(4)}, loss ${after.loss.toFixed(4)}`);
if (after.loss !== before.loss) throw new Error(`the loaded network's loss ${after.loss} differs from the trained one's ${before.loss}`);
