/**
 * A custom architecture composed in code: a LeNet-5-style network (tanh, average pooling, as
 * LeCun et al. 1998), its summary, a short training run on MNIST with evaluation, then its
 * checkpoint saved, loaded into a network rebuilt from the checkpoint alone and evaluated again,
 * and training resumed from it.
 *
 *   pnpm exec tsx examples/lenet5.ts [checkpoint-dir]        (FOLDNET_EXAMPLE_QUICK=1: a few steps)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, split } from '@foldnet/core';
import { affine, avgPool2d, conv2d, decodeModelSpec, network, summary, tanh } from '@foldnet/layers';
import {
  adam,
  batchesOf,
  checkpointWeights,
  evaluate,
  fit,
  initTrainState,
  loadMnist,
  loadTrainState,
  resumeTrainState,
  sampleWithReplacement,
  saveTrainState,
  scan,
  trainStep,
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
const extraSteps = 10; // trained after resuming from the checkpoint
const optimizer = adam({ lr: 0.003 });
const [modelKey, dataKey] = split(key(7));
const s0 = initTrainState(net, optimizer, modelKey);
// A stream of steps + extraSteps batches; batch i depends only on (dataKey, i), so a resumed run
// picks it up at its step with `.from(step)`.
const stream = batchesOf(train, sampleWithReplacement({ key: dataKey, n: trainSize, batchSize: 100, steps: steps + extraSteps }));
const batches = stream.until(steps);

// scan yields the state after every step: print now and then, keep the last one.
let final = s0;
for (const s of scan(trainStep(net, optimizer), s0, batches)) {
  if (s.step % (steps / 4) === 0) console.log(`step ${s.step}: batch loss ${s.loss.toFixed(4)}`);
  final = s;
}
const before = evaluate(net, final.params, final.layerState, test);
console.log(`test accuracy ${before.accuracy.toFixed(4)}, loss ${before.loss.toFixed(4)} (${before.count} images)`);

// Save (one safetensors file, written atomically): params `conv1.W`, optimizer state `opt.m.conv1.W`,
// and in the metadata the model spec, optimizer, step and key (packages/train/CHECKPOINTS.md).
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'foldnet-lenet5-'));
const file = join(dir, 'lenet5.safetensors');
const saved = saveTrainState(file, { network: net, optimizer, state: final, config: { trainSize, steps } });
if (isLeft(saved)) throw saved.left;
console.log(`saved ${file}`);

// Load: validate the file, rebuild the network from its own spec, check every tensor's name, shape and dtype.
const ckpt = loadTrainState(file);
if (isLeft(ckpt)) throw ckpt.left;
const rebuilt = decodeModelSpec(ckpt.right.model);
if (isLeft(rebuilt)) throw new Error(rebuilt.left.message);
const weights = checkpointWeights(ckpt.right, rebuilt.right);
if (isLeft(weights)) throw weights.left;
const after = evaluate(rebuilt.right, weights.right.params, weights.right.layerState, test);
console.log(`loaded step ${ckpt.right.step}: test accuracy ${after.accuracy.toFixed(4)}, loss ${after.loss.toFixed(4)}`);
if (after.loss !== before.loss) throw new Error(`the loaded network's loss ${after.loss} differs from the trained one's ${before.loss}`);

// Resume: the optimizer and its state come back too, so training goes on as if it had never stopped.
const resumed = resumeTrainState(ckpt.right, rebuilt.right);
if (isLeft(resumed)) throw resumed.left;
const { optimizer: restored, state } = resumed.right;
const more = fit(trainStep(rebuilt.right, restored), state, stream.from(state.step));
console.log(`resumed at step ${state.step} with ${restored.name}, now at step ${more.step}: test accuracy ${evaluate(rebuilt.right, more.params, more.layerState, test).accuracy.toFixed(4)}`);

// The same steps from the state in memory, never saved: the resumed run matches it bit for bit.
const direct = fit(trainStep(net, optimizer), final, stream.from(final.step));
const sameBits = Object.entries(direct.params).every(([name, t]) => {
  const r = more.params[name];
  for (let i = 0; i < t.size; i++) if (!Object.is(t.data[i], r.data[i])) return false;
  return r.size === t.size;
});
console.log(`resumed params equal uninterrupted training's, bit for bit: ${sameBits}`);
if (!sameBits) throw new Error('resuming from the checkpoint changed the training');
