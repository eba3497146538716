import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTrainState, optimizerFromName } from '@foldnet/train';
import type { Io } from '@foldnet/cli';
import { decodeTrainConfigFile, optimizerDefaults, optimizerHyper, optimizerNames, overlaySettings, resolveTrainConfig, savedOptimizerLayer } from '../src/config.js';
import { loadTrainConfig } from '../src/commands/train.js';
import { trainCommandLine } from '../src/commandline.js';
import { runInProcess } from './in-process.js';

/*
 * Every hyper-parameter the optimizers have is a config key (`optimizer: { type, lr, momentum, ... }`) and,
 * but for weightDecay's own, a flag; each reaches the optimizer, is saved in the checkpoint and comes back on
 * --resume; and the optimizer's settings merge key by key whatever their source (checkpoint, file, flags).
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-optim-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An Io for loadTrainConfig, the user standing in tmp. */
const io = (): Io => ({ out: () => undefined, err: () => undefined, stdoutIsTTY: false, stdout: new PassThrough(), cwd: tmp, env: {} });
const cli = async (args: readonly string[]): Promise<{ code: number; text: string }> => {
  const r = await runInProcess(args, tmp);
  return { code: r.code, text: r.out + r.err };
};
const tiny = ['--weight-init', 'he', '--train-size', '20', '--test-size', '10', '--batch-size', '10', '--eval-every', '0'];
const write = (name: string, json: unknown): string => {
  fs.writeFileSync(path.join(tmp, name), JSON.stringify(json));
  return name;
};

/** The params and the optimizer numbers a run saved. */
const saved = (out: string) => {
  const r = loadTrainState(path.join(tmp, out, 'checkpoint.safetensors'));
  if (r._tag === 'Left') throw r.left;
  return { params: r.right.parts.params, optimizer: r.right.optimizer, step: r.right.step };
};
const sameParams = (a: Readonly<Record<string, { data: ArrayLike<number> }>>, b: Readonly<Record<string, { data: ArrayLike<number> }>>): boolean =>
  Object.keys(a).every((k) => Buffer.from(new Float32Array(a[k].data).buffer).equals(Buffer.from(new Float32Array(b[k]?.data ?? []).buffer)));

const decodeOk = (json: unknown) => {
  const r = decodeTrainConfigFile(json);
  if (r._tag === 'Left') throw new Error(r.left);
  return r.right;
};

describe('config files: every hyper-parameter the API has', () => {
  it.each(optimizerNames)('%s: each of its hyper-parameters, given in "optimizer", reaches the optimizer built from the config', (type) => {
    const defaults = optimizerDefaults(type);
    // a value other than each default, in range for every kind (rates in [0, 1), lr > 0, weightDecay >= 0)
    const given = Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, k === 'lr' ? v * 3 : k === 'weightDecay' ? 0.001 : v / 2]));
    const config = resolveTrainConfig(decodeOk({ optimizer: { type, ...given } }), '/', {}, '/');
    const built = optimizerFromName(type, optimizerHyper(config));
    expect(built._tag === 'Right' && built.right.hyper).toEqual({ ...given, decayAll: 0 });
  });

  it('unknown keys stay refused by their path; a value out of range names it', () => {
    expect(decodeTrainConfigFile({ optimizer: { type: 'adam', epsilon: 1e-8 } })).toMatchObject({ left: expect.stringMatching(/^optimizer\.epsilon: unknown key \(known keys: type, lr, momentum, beta1, beta2, eps, decayRate, weightDecay\)/) });
    expect(decodeTrainConfigFile({ optimizer: { type: 'momentum', momentum: 1.5 } })).toMatchObject({ left: 'optimizer.momentum: expected a number in [0, 1), got 1.5' });
  });

  it("a hyper-parameter the optimizer does not take is refused, named as given: optimizer.momentum for adam, --beta1 for sgd", () => {
    expect(() => resolveTrainConfig(decodeOk({ optimizer: { type: 'adam', momentum: 0.5 } }), '/', {}, '/')).toThrow('optimizer.momentum: adam has no momentum (it takes lr, beta1, beta2, weightDecay)');
    expect(() => resolveTrainConfig(decodeOk({ optimizer: 'sgd' }), '/', { beta1: 0.8 }, '/')).toThrow('--beta1: sgd has no beta1 (it takes lr, weightDecay)');
  });

  it('optimizer.weightDecay is the weightDecay; given both ways with two values, refused', () => {
    expect(resolveTrainConfig(decodeOk({ optimizer: { type: 'sgd', weightDecay: 0.01 } }), '/', {}, '/').weightDecay).toBe(0.01);
    expect(() => resolveTrainConfig(decodeOk({ weightDecay: 0.1, optimizer: { type: 'sgd', weightDecay: 0.01 } }), '/', {}, '/')).toThrow('weightDecay: given as weightDecay 0.1 and as optimizer.weightDecay 0.01: give it once');
  });
});

describe('one precedence rule: settings merge key by key, checkpoint < file < flags', () => {
  it('a type from above keeps the lr from below and drops what the new type does not take', () => {
    expect(overlaySettings({ type: 'adam', lr: 0.002, beta1: 0.8 }, { type: 'sgd' })).toEqual({ type: 'sgd', lr: 0.002 });
    expect(overlaySettings({ type: 'momentum', lr: 0.05, momentum: 0.5 }, { type: 'nesterov' })).toEqual({ type: 'nesterov', lr: 0.05, momentum: 0.5 });
    expect(overlaySettings({ type: 'adam', lr: 0.002 }, { beta2: 0.99 })).toEqual({ type: 'adam', lr: 0.002, beta2: 0.99 });
  });

  it('a checkpoint names its optimizer with every hyper-parameter; its scalar state is no setting', () => {
    expect(savedOptimizerLayer({ name: 'adam', fields: { lr: 0.002, beta1: 0.8, beta2: 0.999, weightDecay: 0, count: 40 } })).toEqual({ optimizer: { type: 'adam', lr: 0.002, beta1: 0.8, beta2: 0.999, weightDecay: 0 }, decayParams: 'weights' });
    expect(savedOptimizerLayer({ name: 'lion', fields: { lr: 1 } })).toEqual({});
  });

  it('resuming an Adam run (lr 0.002, beta1 0.8): "optimizer": "sgd" in a --config file and --optimizer sgd as a flag resolve alike, keeping lr 0.002', async () => {
    expect((await cli(['train', ...tiny, '--iters', '2', '--lr', '0.002', '--beta1', '0.8', '--out', 'adam'])).code).toBe(0);
    const resume = path.join('adam', 'checkpoint.safetensors');
    const asFlag = loadTrainConfig({ resume, optimizer: 'sgd' }, io()).config;
    const inFile = loadTrainConfig({ resume, config: write('sgd.json', { optimizer: 'sgd' }) }, io()).config;
    expect(asFlag.optimizer).toEqual({ type: 'sgd', lr: 0.002 });
    expect(inFile.optimizer).toEqual(asFlag.optimizer);
    // and without a new type, the checkpoint's own settings, beta1 included
    expect(loadTrainConfig({ resume }, io()).config.optimizer).toEqual({ type: 'adam', lr: 0.002, beta1: 0.8, beta2: 0.999 });
  });
});

describe('the hyper-parameters reach the run and its checkpoint', () => {
  it('--momentum 0.5 and 0.9 give different steps; the checkpoint and config.json hold 0.5; a config file gives the same run as the flag', async () => {
    for (const [out, m] of [['m05', '0.5'], ['m09', '0.9']] as const) expect((await cli(['train', ...tiny, '--iters', '2', '--optimizer', 'momentum', '--lr', '0.05', '--momentum', m, '--out', out])).code).toBe(0);
    const [a, b] = [saved('m05'), saved('m09')];
    expect(sameParams(a.params, b.params)).toBe(false);
    expect(a.optimizer).toEqual({ name: 'momentum', fields: { lr: 0.05, momentum: 0.5, weightDecay: 0, decayAll: 0 } });
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'm05', 'config.json'), 'utf8')).optimizer).toEqual({ type: 'momentum', lr: 0.05, momentum: 0.5 });
    const file = write('m05.json', { optimizer: { type: 'momentum', lr: 0.05, momentum: 0.5 } });
    expect((await cli(['train', ...tiny, '--iters', '2', '--config', file, '--out', 'm05-file'])).code).toBe(0);
    expect(sameParams(saved('m05-file').params, a.params)).toBe(true);
  });

  it('--resume goes on with the saved momentum 0.5: 2 + 2 steps equal 4 uninterrupted, bit for bit', async () => {
    const momentum = ['--optimizer', 'momentum', '--lr', '0.05', '--momentum', '0.5'];
    expect((await cli(['train', ...tiny, '--iters', '4', ...momentum, '--out', 'm05-4'])).code).toBe(0);
    const resumed = await cli(['train', '--resume', path.join('m05', 'checkpoint.safetensors'), '--iters', '4', '--out', 'm05-resumed']);
    expect(resumed.code, resumed.text).toBe(0);
    expect(sameParams(saved('m05-resumed').params, saved('m05-4').params)).toBe(true);
    expect(saved('m05-resumed').optimizer?.fields.momentum).toBe(0.5);
  });

  it('--resume with --lr: the new rate drives the rest of the run and is saved (it was ignored: the saved rate ran)', async () => {
    const r = await cli(['train', '--resume', path.join('m05', 'checkpoint.safetensors'), '--iters', '4', '--lr', '0.2', '--out', 'm05-lr']);
    expect(r.code, r.text).toBe(0);
    expect(saved('m05-lr').optimizer?.fields).toEqual({ lr: 0.2, momentum: 0.5, weightDecay: 0, decayAll: 0 });
    expect(sameParams(saved('m05-lr').params, saved('m05-resumed').params)).toBe(false);
  });

  it("the report's command line that trains the run again carries the optimizer's own hyper-parameters", () => {
    const config = resolveTrainConfig(decodeOk({ optimizer: { type: 'momentum', lr: 0.05, momentum: 0.5 } }), '/', {}, '/');
    expect(trainCommandLine(config, '/')).toBe('foldnet train --optimizer momentum --lr 0.05 --momentum 0.5');
    const adam = resolveTrainConfig(decodeOk({}), '/', { beta2: 0.99 }, '/');
    expect(trainCommandLine(adam, '/')).toBe('foldnet train --beta2 0.99');
  });

  it('--momentum with adam (the default optimizer): one line naming the flag, exit 2', async () => {
    const r = await cli(['train', ...tiny, '--iters', '2', '--momentum', '0.5', '--out', 'refused']);
    expect(r.code).toBe(2);
    expect(r.text).toBe('foldnet train: --momentum: adam has no momentum (it takes lr, beta1, beta2, weightDecay)\n');
  });
});
