import { fromData } from '@foldnet/core';
import { decodeModelSpec, predict, simpleConvNet, unwrap } from '@foldnet/layers';
import { checkpointWeights, fetchIdx, trainInWorker, trainStateFromBytes } from '@foldnet/train';
import { startGapTimer } from './gap-timer.js';
import { LOGIT_IMAGES, type SteeringResult, type TrainPageResults } from './train-results.js';

/*
 * The page of test/browser/train.test.ts: @foldnet/train's trainInWorker trains SimpleConvNet in a dedicated Worker on
 * MNIST files served beside the page (mnist/), while the main thread keeps a 10 ms timer and measures its longest gap.
 * The page then reads the checkpoint's bytes back (trainStateFromBytes) and computes the logits of the first test
 * images on its own thread, steers a second run (pause, resume, stop), and leaves everything in window.foldnetTrain.
 * `?iters=&trainSize=&testSize=&evalEvery=&seed=&threads=` set the run (foldnet train's flags of the same names).
 */


const query = new URLSearchParams(location.search);
const num = (name: string, fallback: number): number => Number(query.get(name) ?? String(fallback));
const iters = num('iters', 200);
const mnist = new URL('./mnist/', location.href).href;

const timer = startGapTimer();

const base64 = (bytes: Uint8Array): string => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

const spec = unwrap(simpleConvNet()).spec;

/** The logits of the first test images under the checkpoint in `bytes`, computed on this (the page's) thread. */
const logitsOf = async (bytes: Uint8Array): Promise<number[]> => {
  const checkpoint = trainStateFromBytes('checkpoint.safetensors', bytes);
  if (checkpoint._tag === 'Left') throw checkpoint.left;
  const decoded = decodeModelSpec(checkpoint.right.model);
  if (decoded._tag === 'Left') throw new Error(decoded.left.message);
  const net = decoded.right;
  const weights = checkpointWeights(checkpoint.right, net);
  if (weights._tag === 'Left') throw weights.left;
  const images = await fetchIdx(`${mnist}t10k-images-idx3-ubyte`, { maxItems: LOGIT_IMAGES });
  if (images._tag === 'Left') throw images.left;
  // x / 255, as the loader divides
  const x = fromData([LOGIT_IMAGES, 1, 28, 28], Float32Array.from(images.right.data, (v) => v / 255));
  return Array.from(predict(net, weights.right.params, weights.right.layerState, x).data);
};

/** Pauses a run at step 5, checks it stays there for 300 ms, resumes it, and stops it at step 15. */
const steer = (): Promise<SteeringResult> =>
  new Promise((resolve, reject) => {
    let latest = 0;
    let pausedAt = -1;
    let stepsWhilePaused = -1;
    let resumedAt = -1;
    let stopAsked = false;
    const run = trainInWorker({
      model: spec,
      data: { baseUrl: mnist, trainSize: 500, testSize: 100 },
      iters: 1000,
      evalEvery: 10,
      onStep: (step) => {
        latest = step;
        if (step === 5 && pausedAt < 0) run.pause();
        if (step >= 15 && !stopAsked) {
          stopAsked = true;
          run.stop();
        }
      },
      onPause: (paused, step) => {
        if (paused) {
          pausedAt = step;
          setTimeout(() => {
            stepsWhilePaused = latest - pausedAt;
            run.resume();
          }, 300);
        } else resumedAt = step;
      },
    });
    run.done.then(
      (outcome) => resolve({ pausedAt, stepsWhilePaused, resumedAt, stoppedAt: outcome.step, stopped: outcome.stopped, records: run.records().length }),
      reject,
    );
  });

const main = async (): Promise<void> => {
  const run = trainInWorker({
    model: spec,
    data: { baseUrl: mnist, trainSize: num('trainSize', 2000), testSize: num('testSize', 1000) },
    iters,
    evalEvery: num('evalEvery', 50),
    seed: num('seed', 0),
    threads: num('threads', 2),
  });
  const outcome = await run.done;
  const gaps = timer.stop();
  const logits = await logitsOf(outcome.checkpoint);
  const steering = await steer();
  const results: TrainPageResults = {
    crossOriginIsolated,
    threads: outcome.threads,
    records: run.records(),
    step: outcome.step,
    checkpoint: base64(outcome.checkpoint),
    logits,
    ...gaps,
    steering,
  };
  Reflect.set(window, 'foldnetTrain', results);
};
main().catch((e: unknown) => Reflect.set(window, 'foldnetError', e instanceof Error ? e.message : String(e)));
