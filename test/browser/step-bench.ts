import { key, normal, randomIndices, setThreads, split, threadsReady } from '@foldnet/core';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import { initTrainState, trainStep } from '../../packages/train/src/fit/index.js';
import { adam } from '../../packages/train/src/optim/index.js';

/*
 * SimpleConvNet's training step (forward, backward, Adam 0.001) on one fixed random batch of 100, as `foldnet bench`
 * measures it, written once for Node (bench-node.ts) and a browser's Worker (app/bench-worker.ts): the same code, the
 * same data, the same keys. The training fold and Adam come from @foldnet/train's sources, whose fit/ and optim/ use
 * no Node module (its package entry does: MNIST and checkpoints read files).
 */

/** What a measurement is asked: threads, untimed warm-up steps, then timed steps. */
export interface StepBenchRequest {
  readonly threads: number;
  readonly warmup: number;
  readonly steps: number;
}

/** The threads in force and each timed step's milliseconds. */
export interface StepBenchResult {
  readonly threads: number;
  readonly stepMs: readonly number[];
}

/** Times SimpleConvNet's training steps at batch 100 (the keys and batch of `foldnet bench --data random`). */
export const timeTrainingSteps = async ({ threads, warmup, steps }: StepBenchRequest): Promise<StepBenchResult> => {
  setThreads(threads);
  const ready = await threadsReady();
  const net = unwrap(simpleConvNet());
  const [kInit] = split(key(1), 3);
  const [kx, ky] = split(key(2), 2);
  const batch = { x: normal(kx, [100, ...net.inputShape]), targets: randomIndices(ky, 10, 100) };
  const opt = adam({ lr: 0.001 });
  const step = trainStep(net, opt);
  let state = initTrainState(net, opt, kInit);
  for (let i = 0; i < warmup; i++) state = step(state, batch);
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    state = step(state, batch);
    stepMs.push(performance.now() - t0);
  }
  return { threads: ready + 1, stepMs };
};
