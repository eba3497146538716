import { isLeft } from 'fp-ts/lib/Either.js';
import { key, split } from '@foldnet/core';
import { affine, conv2d, maxPool2d, network, relu, summary, unwrap } from '@foldnet/layers';
import { adam, batchesOf, evaluate, fitObserved, initTrainState, loadMnist, printProgress, sampleWithReplacement, trainStep } from '@foldnet/train';

const net = unwrap(network([1, 28, 28], [conv2d({ filters: 16, size: 5, weightInit: 'he' }), relu(), maxPool2d({ size: 2 }), affine({ units: 10, weightInit: 'he' })]));
console.log(summary(net));
const mnist = loadMnist({ trainSize: 5000, testSize: 1000 });
if (isLeft(mnist)) throw mnist.left;
const { train, test } = mnist.right;
const [modelKey, dataKey] = split(key(0));
const steps = process.env.FOLDNET_EXAMPLE_QUICK === '1' ? 30 : 500;
const batches = batchesOf({ x: train.images, targets: train.labels }, sampleWithReplacement({ key: dataKey, n: 5000, batchSize: 100, steps }));
// printProgress writes a line (step, loss, steps/s, ETA) at each tenth of the run to any object with write(text)
const { state: trained } = fitObserved(trainStep(net, adam()), initTrainState(net, adam(), modelKey), batches, printProgress(process.stdout, { total: steps }));
const { accuracy } = evaluate(net, trained.params, trained.layerState, { x: test.images, targets: test.labels });
console.log(`test accuracy after ${trained.step} steps: ${accuracy.toFixed(3)}`);
