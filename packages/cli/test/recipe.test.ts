import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { key } from '@foldnet/core';
import { resnet, unwrap } from '@foldnet/layers';
import { adam, initTrainState, loadTrainState, saveTrainState } from '@foldnet/train';
import { trainCommandLine } from '../src/commandline.js';
import * as E from 'fp-ts/lib/Either.js';
import { parseLrSchedule } from '../src/codecs.js';
import { defaultTrainConfig, resolveTrainConfig, savedOptimizerLayer } from '../src/config.js';
import { lrScheduleOf } from '../src/runwriter.js';
import { runInProcess } from './in-process.js';

/*
 * The recipe's settings through the CLI, in-process: --loss reaches the step and the evaluation, is saved in the
 * checkpoint's config and comes back on --resume and in eval; eval prints top-k and per-class accuracy.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-recipe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = async (args: readonly string[]): Promise<{ code: number; out: string; err: string }> => runInProcess(args, tmp);
const tiny = ['--train-size', '40', '--test-size', '20', '--batch-size', '10', '--eval-every', '0'];

/** The optimizer a run's checkpoint saved, and its params. */
const savedOptimizer = (out: string) => {
  const r = loadTrainState(path.join(tmp, out, 'checkpoint.safetensors'));
  if (r._tag === 'Left') throw r.left;
  return { optimizer: r.right.optimizer, params: r.right.parts.params };
};
/** The config a run's checkpoint saved. */
const savedConfig = (out: string): Readonly<Record<string, unknown>> => {
  const r = loadTrainState(path.join(tmp, out, 'checkpoint.safetensors'));
  if (r._tag === 'Left') throw r.left;
  const c = r.right.config;
  if (typeof c !== 'object' || c === null) throw new Error('no config');
  return Object.fromEntries(Object.entries(c));
};
const lastRow = (out: string): { readonly loss: number; readonly test_loss: number } => {
  const lines = fs.readFileSync(path.join(tmp, out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}');
};

describe('--loss', () => {
  it('defaults to ce, is a config key and a flag; a bad one is one line naming the flag or the key, exit 2', async () => {
    expect(defaultTrainConfig.loss).toBe('ce');
    expect(resolveTrainConfig({ loss: 'mse' }, tmp, {}, tmp).loss).toBe('mse');
    expect(resolveTrainConfig({ loss: 'mse' }, tmp, { loss: 'bce' }, tmp).loss).toBe('bce');
    const flag = await cli(['train', '--loss', 'hinge', ...tiny]);
    expect(flag.code).toBe(2);
    expect(flag.err).toBe('foldnet train: --loss: expected ce, ce:smooth=<x in [0, 1)>, mse or bce, got "hinge"\n');
    fs.writeFileSync(path.join(tmp, 'bad-loss.json'), JSON.stringify({ loss: 'ce:smooth=2' }));
    const file = await cli(['train', '--config', 'bad-loss.json', ...tiny]);
    expect(file.code).toBe(2);
    expect(file.err).toBe('foldnet train: bad-loss.json: loss: label smoothing "2" is not a number in [0, 1) (e.g. ce:smooth=0.1)\n');
  });

  it('trains on the loss given, saves it in the checkpoint, and --resume goes on with it', async () => {
    const ce = await cli(['train', ...tiny, '--iters', '4', '--out', 'ce']);
    const smooth = await cli(['train', ...tiny, '--iters', '4', '--loss', 'ce:smooth=0.1', '--out', 'smooth']);
    expect(ce.code, ce.err).toBe(0);
    expect(smooth.code, smooth.err).toBe(0);
    expect(smooth.out).toContain(', loss ce:smooth=0.1:');
    expect(savedConfig('smooth').loss).toBe('ce:smooth=0.1');
    expect(savedConfig('ce').loss).toBe('ce');
    // the smoothed loss is measured: its batch and test losses differ from plain cross-entropy's
    expect(lastRow('smooth').loss).not.toBe(lastRow('ce').loss);
    expect(lastRow('smooth').test_loss).not.toBe(lastRow('ce').test_loss);
    const resumed = await cli(['train', '--resume', 'smooth/checkpoint.safetensors', '--iters', '6']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain(', loss ce:smooth=0.1:');
    expect(savedConfig('smooth').loss).toBe('ce:smooth=0.1');
    expect(trainCommandLine({ ...defaultTrainConfig, loss: 'mse' }, tmp)).toBe('foldnet train --loss mse');
  });

  it('eval measures the loss the checkpoint was trained with and prints top-5 and per-class accuracy', async () => {
    const plain = await cli(['eval', 'ce/checkpoint.safetensors', '--test-size', '20', '--json']);
    const smooth = await cli(['eval', 'smooth/checkpoint.safetensors', '--test-size', '20', '--json']);
    expect(plain.code, plain.err).toBe(0);
    const p: unknown = JSON.parse(plain.out);
    const s: unknown = JSON.parse(smooth.out);
    expect(p).toMatchObject({ lossName: 'ce', topK: 5, count: 20 });
    expect(s).toMatchObject({ lossName: 'ce:smooth=0.1' });
    expect(p).toHaveProperty('perClassAccuracy');
    const table = await cli(['eval', 'smooth/checkpoint.safetensors', '--test-size', '20', '--top-k', '2']);
    expect(table.out).toMatch(/test accuracy \d\.\d{4}, top-2 \d\.\d{4}, test loss \d\.\d{4} \(ce:smooth=0\.1\)/);
    expect(table.out).toMatch(/^accuracy per class\n {2}0 {2}(\d\.\d{4}| {5}–) {2}\(\d+ of \d+\)\n/m);
    expect((await cli(['eval', 'ce/checkpoint.safetensors', '--top-k', '0'])).code).toBe(2);
  });
});

describe('optimizers, weight decay, clipping and warm-up through the CLI', () => {
  it('--optimizer adamw with --eps and --weight-decay, and sgd-nesterov: every hyper-parameter reaches the checkpoint', async () => {
    const a = await cli(['train', ...tiny, '--iters', '2', '--optimizer', 'adamw', '--eps', '1e-7', '--weight-decay', '0.05', '--out', 'adamw']);
    expect(a.code, a.err).toBe(0);
    expect(a.out).toContain('adamw lr 0.001, weight decay 0.05 on the weights,');
    expect(savedOptimizer('adamw').optimizer).toEqual({ name: 'adamw', fields: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-7, weightDecay: 0.05, decayAll: 0, count: 2 } });
    const n = await cli(['train', ...tiny, '--iters', '2', '--optimizer', 'sgd-nesterov', '--weight-init', 'he', '--momentum', '0.8', '--out', 'nag']);
    expect(n.code, n.err).toBe(0);
    expect(savedOptimizer('nag').optimizer).toEqual({ name: 'sgd-nesterov', fields: { lr: 0.01, momentum: 0.8, weightDecay: 0, decayAll: 0 } });
    const refused = await cli(['train', ...tiny, '--optimizer', 'adam', '--eps', '1e-7']);
    expect(refused.err).toBe('foldnet train: --eps: adam has no eps (it takes lr, beta1, beta2, weightDecay)\n');
  });

  it('--decay-params all decays every param and is saved; a checkpoint from before it (weight decay, no decayAll) resumes decaying all', async () => {
    const r = await cli(['train', ...tiny, '--iters', '2', '--optimizer', 'sgd', '--weight-decay', '0.1', '--decay-params', 'all', '--out', 'all']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('weight decay 0.1 on every param');
    expect(savedOptimizer('all').optimizer?.fields).toMatchObject({ weightDecay: 0.1, decayAll: 1 });
    expect(savedConfig('all').decayParams).toBe('all');
    expect(defaultTrainConfig.decayParams).toBe('weights');
    expect(savedOptimizerLayer({ name: 'sgd', fields: { lr: 0.1, weightDecay: 0.1 } })).toEqual({ optimizer: { type: 'sgd', lr: 0.1, weightDecay: 0.1 }, decayParams: 'all' });
    expect(savedOptimizerLayer({ name: 'sgd', fields: { lr: 0.1, weightDecay: 0 } })).toMatchObject({ decayParams: 'weights' });
    expect((await cli(['train', ...tiny, '--decay-params', 'biases'])).err).toBe('foldnet train: --decay-params: expected one of weights, all, got "biases"\n');
  });

  it('--clip-norm clips the step: a tiny bound gives other params than none, and is saved; 0 is refused', async () => {
    const free = await cli(['train', ...tiny, '--iters', '2', '--out', 'free']);
    const clipped = await cli(['train', ...tiny, '--iters', '2', '--clip-norm', '1e-6', '--out', 'clipped']);
    expect(free.code, free.err).toBe(0);
    expect(clipped.code, clipped.err).toBe(0);
    expect(clipped.out).toContain('gradients clipped to norm 0.000001');
    expect(savedConfig('clipped').clipNorm).toBe(1e-6);
    expect(savedConfig('free').clipNorm).toBe(null);
    expect(Array.from(savedOptimizer('clipped').params['affine2.W']?.data ?? [])).not.toEqual(Array.from(savedOptimizer('free').params['affine2.W']?.data ?? []));
    expect((await cli(['train', ...tiny, '--clip-norm', '0'])).err).toBe('foldnet train: --clip-norm: expected a positive number, got "0"\n');
  });

  it('--lr-schedule warmup:<n>[,schedule]: linear up to the base rate, then the schedule counting from the warm-up end', async () => {
    expect(parseLrSchedule('warmup:500,cosine')).toEqual(E.right({ kind: 'cosine', warmup: 500 }));
    expect(parseLrSchedule('warmup:5')).toEqual(E.right({ kind: 'constant', warmup: 5 }));
    expect(parseLrSchedule('warmup:5,step:10,20')).toEqual(E.right({ kind: 'step', at: [10, 20], warmup: 5 }));
    expect(parseLrSchedule('warmup:0,cosine')).toEqual(E.left('warm-up: "0" is not a positive number of steps (e.g. warmup:500,cosine)'));
    expect(E.isLeft(parseLrSchedule('warmup:5,linear'))).toBe(true);
    const s = lrScheduleOf({ ...defaultTrainConfig, iters: 14, lrSchedule: 'warmup:4,cosine' });
    expect([0, 1, 2, 3, 4].map(s)).toEqual([0.25, 0.5, 0.75, 1, 1]);
    expect(s(9)).toBeCloseTo(0.5, 12); // cosine over the 10 steps left, at its step 5
    expect(() => lrScheduleOf({ ...defaultTrainConfig, iters: 4, lrSchedule: 'warmup:4' })).toThrow("lrSchedule: the warm-up of 4 steps must be shorter than the run's 4 steps");
    const r = await cli(['train', ...tiny, '--iters', '4', '--lr-schedule', 'warmup:2,cosine', '--out', 'warm']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('(warmup:2,cosine schedule)');
  });
});

describe('the resnet preset without conv biases', () => {
  it('trains, evaluates as it goes and evaluates from its checkpoint (evaluation folds each batch norm into a conv that has no bias)', async () => {
    const r = await cli(['train', '--model', 'resnet', '--iters', '2', '--train-size', '20', '--test-size', '10', '--batch-size', '10', '--eval-every', '1', '--out', 'new-resnet']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('training resnet (174,970 params)');
    const e = await cli(['eval', 'new-resnet/checkpoint.safetensors', '--test-size', '10', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ step: 2, count: 10 });
  });

  it('a checkpoint of the preset as it was (conv biases) still trains on and evaluates from its own spec; --model resnet over it names the missing bias', async () => {
    const old = unwrap(resnet({ convBias: true }));
    const state = initTrainState(old, adam(), key(0));
    const config = { ...defaultTrainConfig, model: 'resnet', trainSize: 20, testSize: 10, batchSize: 10, evalEvery: 0, iters: 1 };
    expect(saveTrainState(path.join(tmp, 'old-resnet.safetensors'), { network: old, optimizer: adam(), state, config })._tag).toBe('Right');
    const e = await cli(['eval', 'old-resnet.safetensors', '--test-size', '10', '--json']);
    expect(e.code, e.err).toBe(0);
    const resumed = await cli(['train', '--resume', 'old-resnet.safetensors', '--iters', '2', '--out', 'old-resnet']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain('training resnet (175,530 params)');
    const forced = await cli(['train', '--resume', 'old-resnet.safetensors', '--model', 'resnet', '--iters', '2', '--out', 'forced']);
    expect(forced.code).toBe(2);
    expect(forced.err).toMatch(/^foldnet train: old-resnet\.safetensors: .*conv1\.b.*\n$/);
  });
});

describe('--config of a run\'s own config.json', { timeout: 180_000 }, () => {
  it('trains that run again: the same params, bit for bit, for a run counted in steps and one counted in epochs', async () => {
    for (const [out, counting] of [['by-steps', ['--iters', '3']], ['by-epochs', ['--epochs', '2']]] as const) {
      const first = await cli(['train', ...tiny, ...counting, '--optimizer', 'sgd-nesterov', '--lr-schedule', 'cosine', '--out', out]);
      expect(first.err).toBe('');
      const again = await cli(['train', '--config', path.join(out, 'config.json'), '--out', `${out}-again`]);
      expect(again.err).toBe('');
      expect(again.code).toBe(0);
      expect(savedConfig(`${out}-again`)).toEqual({ ...savedConfig(out), out: path.join(tmp, `${out}-again`) });
      expect(savedOptimizer(`${out}-again`).params).toEqual(savedOptimizer(out).params);
    }
  });
});
