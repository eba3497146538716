import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset, type TrainStateCheckpoint } from '@foldnet/train';
import { runTrainJob, trainStateFromBytes, type JobControl, type TrainJob } from '../../train/src/web/index.js';
import { runInProcess } from './in-process.js';

/*
 * The training job trainInWorker runs (packages/train/src/web) against `foldnet train` itself: with the same settings
 * and seed, the job's checkpoint holds the CLI's params and optimizer state, bit for bit.
 */

const tmp = fs.mkdtempSync(join(tmpdir(), 'foldnet-web-job-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const never: JobControl = { signal: { aborted: false }, paused: () => false, whenResumed: async () => undefined, turn: () => new Promise((r) => setImmediate(r)) };

/** The first 300 / 100 MNIST images, as the CLI loads them, in the form a job carries. */
const mnistJobData = (): TrainJob['data'] => {
  const r = loadDataset('mnist', { trainSize: 300, testSize: 100 });
  if (r._tag === 'Left') throw r.left;
  const split = (s: { readonly images: { readonly shape: readonly number[]; readonly data: ArrayLike<number> }; readonly labels: Int32Array }) => ({
    images: { shape: s.images.shape, data: Float32Array.from(s.images.data) },
    labels: s.labels,
  });
  return { train: split(r.right.train), test: split(r.right.test) };
};

const decoded = (name: string, bytes: Uint8Array): TrainStateCheckpoint => {
  const r = trainStateFromBytes(name, bytes);
  if (r._tag === 'Left') throw r.left;
  return r.right;
};

/** Every tensor of the params and optimizer slots as its bytes, by name. */
const tensorBytes = (c: TrainStateCheckpoint): Record<string, string> =>
  Object.fromEntries([
    ...Object.entries(c.parts.params).map(([name, t]) => [`params.${name}`, Buffer.from(Float32Array.from(t.data).buffer).toString('base64')]),
    ...Object.entries(c.parts.optimizer).flatMap(([slot, ts]) => Object.entries(ts).map(([name, t]) => [`${slot}.${name}`, Buffer.from(Float32Array.from(t.data).buffer).toString('base64')])),
  ]);

/** The checkpoint `foldnet train --model simple` writes on those images with `flags`. */
const cliCheckpoint = async (name: string, flags: readonly string[]): Promise<TrainStateCheckpoint> => {
  const out = join(tmp, name);
  const r = await runInProcess(['train', '--model', 'simple', '--train-size', '300', '--test-size', '100', ...flags, '--out', out], tmp);
  expect(r.code, r.err).toBe(0);
  const file = join(out, 'checkpoint.safetensors');
  return decoded(file, new Uint8Array(fs.readFileSync(file)));
};

const simpleSpec = async (): Promise<unknown> => {
  const { simpleConvNet, unwrap } = await import('@foldnet/layers');
  return unwrap(simpleConvNet()).spec;
};

describe('a training job gives what foldnet train gives with the same settings', () => {
  it('loss ce:smooth=0.1, lrSchedule warmup:5,cosine, augment crop:2,flip, weightDecay 0.01, clipNorm 1, seed 7: the same params and Adam state bit for bit', async () => {
    const cli = await cliCheckpoint('cli-a', [
      '--iters', '12', '--batch-size', '20', '--eval-every', '6', '--seed', '7',
      '--loss', 'ce:smooth=0.1', '--lr-schedule', 'warmup:5,cosine', '--augment', 'crop:2,flip', '--weight-decay', '0.01', '--clip-norm', '1',
    ]);
    const job: TrainJob = {
      model: await simpleSpec(), data: mnistJobData(), iters: 12, batchSize: 20, evalEvery: 6, seed: 7,
      loss: 'ce:smooth=0.1', lrSchedule: 'warmup:5,cosine', augment: 'crop:2,flip', weightDecay: 0.01, clipNorm: 1,
    };
    const web = decoded('job', (await runTrainJob(job, never, () => undefined)).checkpoint);
    expect(web.step).toBe(12);
    expect(tensorBytes(web)).toEqual(tensorBytes(cli));
    // the job's own checkpoint names its settings as foldnet train does, so `foldnet train --resume` goes on alike
    expect(web.config).toMatchObject({ loss: 'ce:smooth=0.1', lrSchedule: 'warmup:5,cosine', augment: 'crop:2,flip', weightDecay: 0.01, clipNorm: 1, seed: 7 });
  });

  it('a job resumed from the bytes of foldnet train\'s checkpoint at step 6 ends at step 12 with the params of foldnet train --iters 12, bit for bit', async () => {
    const flags = ['--batch-size', '20', '--eval-every', '6', '--seed', '7', '--lr-schedule', 'warmup:5,cosine', '--augment', 'crop:2,flip', '--clip-norm', '1'];
    const whole = await cliCheckpoint('cli-whole', ['--iters', '12', ...flags]);
    const half = join(tmp, 'cli-half');
    expect((await runInProcess(['train', '--model', 'simple', '--train-size', '300', '--test-size', '100', '--iters', '6', ...flags, '--out', half], tmp)).code).toBe(0);
    const job: TrainJob = {
      data: mnistJobData(), iters: 12, batchSize: 20, evalEvery: 6, seed: 7, lrSchedule: 'warmup:5,cosine', augment: 'crop:2,flip', clipNorm: 1,
      resume: new Uint8Array(fs.readFileSync(join(half, 'checkpoint.safetensors'))),
    };
    const outcome = await runTrainJob(job, never, () => undefined);
    expect(outcome.step).toBe(12);
    expect(tensorBytes(decoded('job', outcome.checkpoint))).toEqual(tensorBytes(whole));
  });

  it('epochs 2 with momentum, weightDecay 0.001 on every param (decayParams all) and a step schedule: the same params bit for bit', async () => {
    const cli = await cliCheckpoint('cli-b', [
      '--epochs', '2', '--batch-size', '100', '--seed', '3', '--optimizer', 'momentum', '--lr', '0.05',
      '--weight-decay', '0.001', '--decay-params', 'all', '--lr-schedule', 'step:4',
    ]);
    const job: TrainJob = {
      model: await simpleSpec(), data: mnistJobData(), epochs: 2, batchSize: 100, seed: 3, optimizer: { type: 'momentum', lr: 0.05 },
      weightDecay: 0.001, decayParams: 'all', lrSchedule: 'step:4',
    };
    const outcome = await runTrainJob(job, never, () => undefined);
    expect(outcome.step).toBe(6);
    expect(tensorBytes(decoded('job', outcome.checkpoint))).toEqual(tensorBytes(cli));
  });
});
