#!/usr/bin/env node
/**
 * Soak run (issue 7, "long runs: memory stays flat"): trains SimpleConvNet on the first 5000 MNIST
 * images with Adam, as `foldnet train` does, and prints the process's resident set size (RSS),
 * V8 heap and array-buffer memory at steps 500 and 5000 (and every --every steps between). Not a
 * test: it asserts nothing, it prints figures to compare.
 *
 * Needs the build (`pnpm run build`). Usage:
 *   pnpm soak                                   # 5000 steps of batch 100
 *   pnpm soak --steps 2000 --batch-size 20      # shorter
 *   pnpm soak --every 250 --backend reference
 */
import { key, setBackend, split } from '@foldnet/core';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import { adam, batchesOf, initTrainState, loadMnist, sampleWithReplacement, scan, trainStep } from '@foldnet/train';
import { parseFlags } from './flags.mjs';

const values = parseFlags('soak', {
  steps: { type: 'string', default: '5000' },
  'batch-size': { type: 'string', default: '100' },
  every: { type: 'string', default: '500' },
  backend: { type: 'string', default: 'fast' },
  seed: { type: 'string', default: '0' },
});
const positive = (name, text) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`soak: --${name}: expected a positive integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
};
const steps = positive('steps', values.steps);
const batchSize = positive('batch-size', values['batch-size']);
const every = positive('every', values.every);
if (values.backend !== 'fast' && values.backend !== 'reference') {
  console.error(`soak: --backend: expected fast or reference, got ${JSON.stringify(values.backend)}`);
  process.exit(2);
}
setBackend(values.backend);

const mnist = loadMnist({ trainSize: 5000, testSize: 1 });
if (mnist._tag === 'Left') {
  console.error(`soak: ${mnist.left.message}`);
  process.exit(2);
}
const train = { x: mnist.right.train.images, targets: mnist.right.train.labels };
const net = unwrap(simpleConvNet());
const optimizer = adam({ lr: 0.001 });
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0) {
  console.error(`soak: --seed: expected an integer >= 0, got ${JSON.stringify(values.seed)}`);
  process.exit(2);
}
const [modelKey, dataKey] = split(key(seed));
const s0 = initTrainState(net, optimizer, modelKey);
const batches = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 5000, batchSize, steps }));

const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
const report = (step, loss, seconds) => {
  const m = process.memoryUsage();
  console.log(
    `step ${String(step).padStart(6)}  rss ${mb(m.rss).padStart(7)} MB  heapUsed ${mb(m.heapUsed).padStart(6)} MB  arrayBuffers ${mb(m.arrayBuffers).padStart(6)} MB  loss ${loss.toFixed(4)}  ${seconds.toFixed(1)} s`,
  );
};

console.log(`soak: SimpleConvNet, MNIST 5000, batch ${batchSize}, adam 0.001, ${steps} steps, ${values.backend} kernels; node ${process.version}`);
const started = Date.now();
report(0, Number.NaN, 0);
let last = s0;
for (const s of scan(trainStep(net, optimizer), s0, batches, { onFault: 'skip' })) {
  last = s;
  if (s.step === 500 || s.step === steps || s.step % every === 0) report(s.step, s.loss, (Date.now() - started) / 1000);
}
console.log(`soak: done at step ${last.step} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
