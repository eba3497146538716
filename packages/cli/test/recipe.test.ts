import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTrainState } from '@foldnet/train';
import { trainCommandLine } from '../src/commandline.js';
import { defaultTrainConfig, resolveTrainConfig } from '../src/config.js';
import { runInProcess } from './in-process.js';

/*
 * The recipe's settings through the CLI, in-process: --loss reaches the step and the evaluation, is saved in the
 * checkpoint's config and comes back on --resume and in eval; eval prints top-k and per-class accuracy.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-recipe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = async (args: readonly string[]): Promise<{ code: number; out: string; err: string }> => runInProcess(args, tmp);
const tiny = ['--train-size', '40', '--test-size', '20', '--batch-size', '10', '--eval-every', '0'];

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
