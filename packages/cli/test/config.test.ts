import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTrainConfigFile, defaultTrainConfig, lrScheduleFlag, parseLrSchedule, resolveTrainConfig, type TrainConfigFile } from '@foldnet/cli';

const decodeOk = (json: unknown): TrainConfigFile => {
  const r = decodeTrainConfigFile(json);
  if (E.isLeft(r)) throw new Error(`expected a valid config, got: ${r.left}`);
  return r.right;
};
const decodeErr = (json: unknown): string => {
  const r = decodeTrainConfigFile(json);
  if (E.isRight(r)) throw new Error('expected the config to be refused');
  return r.left;
};

describe('train config file decoding', () => {
  it('an empty object resolves to the lesson defaults: simple, 1000 iters, batch 100, adam 0.001, 5000/1000, evalEvery 10, seed 0', () => {
    const c = resolveTrainConfig(decodeOk({}), '/cfg', {}, '/cwd');
    expect(c).toEqual(defaultTrainConfig);
    expect(c).toMatchObject({ model: 'simple', iters: 1000, batchSize: 100, optimizer: { type: 'adam', lr: 0.001 }, trainSize: 5000, testSize: 1000, evalEvery: 10, seed: 0 });
  });

  it('optimizer.lr "fast" is refused with its path: optimizer.lr: expected a positive number, got "fast"', () => {
    expect(decodeErr({ optimizer: { type: 'adam', lr: 'fast' } })).toBe('optimizer.lr: expected a positive number, got "fast"');
  });

  it('a misspelt key is refused, naming it and the known keys', () => {
    expect(decodeErr({ learningRate: 0.1 })).toMatch(/^learningRate: unknown key \(known keys: model, iters, epochs, /);
  });

  it('an unknown optimizer name is refused listing the eight names', () => {
    expect(decodeErr({ optimizer: 'lion' })).toBe('optimizer: expected one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, sgd-nesterov, or { "type": ..., "lr": ... }, got "lion"');
  });

  it('batchSize 2.5 and batchSize 0 are refused as not positive integers', () => {
    expect(decodeErr({ batchSize: 2.5 })).toBe('batchSize: expected a positive integer, got 2.5');
    expect(decodeErr({ batchSize: 0 })).toBe('batchSize: expected a positive integer, got 0');
  });

  it('a top-level array is refused at the top level', () => {
    expect(decodeErr([1, 2])).toBe('(top level): expected a JSON object, got [1,2]');
  });

  it('iters and epochs together are refused, unless the iters are the steps the epochs make (as a run records them)', () => {
    expect(decodeErr({ iters: 10, epochs: 2 })).toMatch(/give either "iters" or "epochs", not both/);
    expect(decodeErr({ iters: 101, epochs: 1, trainSize: 5000 })).toBe('epochs: give either "iters" or "epochs", not both (got iters 101, epochs 1)');
    expect(decodeOk({ iters: 100, epochs: 2 })).toEqual({ epochs: 2 });
    expect(decodeOk({ iters: 9, epochs: 3, trainSize: 25, batchSize: 10 })).toEqual({ epochs: 3, trainSize: 25, batchSize: 10 });
  });

  it('a run\'s config.json reads as a config file: "epochs": null is steps counted by iters, classNames are for the reader', () => {
    expect(decodeOk({ iters: 7, epochs: null })).toEqual({ iters: 7 });
    expect(decodeOk({ epochs: null })).toEqual({});
    expect(decodeOk({ format: 'folder', classNames: ['cat', 'dog'] })).toEqual({ format: 'folder' });
    expect(decodeOk({ ...defaultTrainConfig })).toEqual({ ...defaultTrainConfig, epochs: undefined });
  });

  it('two problems report the first and count the other', () => {
    expect(decodeErr({ seed: -1, evalEvery: 'often' })).toMatch(/ \(and 1 more problem\)$/);
  });

  it('nullable paths accept null and strings, refuse numbers', () => {
    expect(decodeOk({ data: null, out: 'runs/x' })).toEqual({ data: null, out: 'runs/x' });
    expect(decodeErr({ data: 3 })).toBe('data: expected a directory path or null, got 3');
  });

  it('any number that is not a positive integer is refused for iters (fast-check, seed 42)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ noNaN: false }), fc.integer({ max: 0 })).filter((n) => !(Number.isSafeInteger(n) && n >= 1)),
        (n) => E.isLeft(decodeTrainConfigFile({ iters: n })),
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('lrSchedule', () => {
  it('constant (the default), cosine and step:<steps> are accepted; a flag overrides the file', () => {
    expect(defaultTrainConfig.lrSchedule).toBe('constant');
    expect(resolveTrainConfig(decodeOk({ lrSchedule: 'cosine' }), '/', {}, '/').lrSchedule).toBe('cosine');
    expect(resolveTrainConfig(decodeOk({ lrSchedule: 'cosine' }), '/', { lrSchedule: 'step:300,450' }, '/').lrSchedule).toBe('step:300,450');
    expect(parseLrSchedule('step:300,450')).toEqual(E.right({ kind: 'step', at: [300, 450] }));
  });

  it('a malformed schedule is refused saying what is wrong, in the file and as a flag', () => {
    expect(decodeErr({ lrSchedule: 'linear' })).toBe('lrSchedule: expected constant, cosine, or step:<step>,<step>,... (increasing steps), optionally after warmup:<steps> (warmup:500,cosine), got "linear"');
    expect(decodeErr({ lrSchedule: 'step:500,200' })).toBe(
      'lrSchedule: step schedule: "200" is not a step after the previous one (expected increasing positive integers, e.g. step:3000,4500)',
    );
    expect(decodeErr({ lrSchedule: 3 })).toBe('lrSchedule: expected constant, cosine, or step:<step>,<step>,... (increasing steps), optionally after warmup:<steps> (warmup:500,cosine), got 3');
    expect(() => lrScheduleFlag('--lr-schedule')('step:10,x')).toThrow(
      '--lr-schedule: step schedule: "x" is not a step after the previous one (expected increasing positive integers, e.g. step:3000,4500)',
    );
  });
});

describe('train config resolution (defaults < file < flags)', () => {
  it('flags override the file: file batchSize 50, flag 20 gives 20', () => {
    const c = resolveTrainConfig(decodeOk({ batchSize: 50, seed: 3 }), '/cfg', { batchSize: 20 }, '/cwd');
    expect(c.batchSize).toBe(20);
    expect(c.seed).toBe(3);
  });

  it('the default lr follows the optimizer: sgd 0.01, adam 0.001; an explicit lr wins', () => {
    expect(resolveTrainConfig(decodeOk({ optimizer: 'sgd' }), '/', {}, '/').optimizer).toEqual({ type: 'sgd', lr: 0.01 });
    expect(resolveTrainConfig(decodeOk({ optimizer: 'sgd', lr: 0.1 }), '/', {}, '/').optimizer).toEqual({ type: 'sgd', lr: 0.1 });
    expect(resolveTrainConfig(decodeOk({ optimizer: { type: 'momentum', lr: 0.05 } }), '/', { optimizer: 'nesterov' }, '/').optimizer).toEqual({ type: 'nesterov', lr: 0.05 });
    expect(resolveTrainConfig(decodeOk({}), '/', { lr: 0.3 }, '/').optimizer).toEqual({ type: 'adam', lr: 0.3 });
  });

  it('epochs 2 with trainSize 5000 and batch 100 gives 100 iters; a flag --iters replaces the file epochs', () => {
    expect(resolveTrainConfig(decodeOk({ epochs: 2 }), '/', {}, '/')).toMatchObject({ iters: 100, epochs: 2 });
    expect(resolveTrainConfig(decodeOk({ epochs: 2 }), '/', { iters: 7 }, '/')).toMatchObject({ iters: 7, epochs: null });
    expect(resolveTrainConfig(decodeOk({ iters: 7 }), '/', { epochs: 1, batchSize: 300 }, '/')).toMatchObject({ iters: 17, epochs: 1 });
  });

  it('paths in the file are relative to its folder, paths in flags to the working directory', () => {
    const c = resolveTrainConfig(decodeOk({ data: 'fashion', model: 'nets/m.json', out: 'runs/a' }), '/cfg', { resume: 'r/ck.safetensors' }, '/cwd');
    expect(c).toMatchObject({ data: '/cfg/fashion', model: '/cfg/nets/m.json', out: '/cfg/runs/a', resume: '/cwd/r/ck.safetensors' });
    expect(resolveTrainConfig(decodeOk({ model: 'double' }), '/cfg', {}, '/cwd').model).toBe('double');
  });

  it('checkpointEvery: null (the default) means at each evaluation; 0 and 3 from the file; a flag overrides; onNan stop | skip, "continue" refused', () => {
    expect(defaultTrainConfig.checkpointEvery).toBeNull();
    expect(resolveTrainConfig(decodeOk({ checkpointEvery: 0 }), '/cfg', {}, '/cwd').checkpointEvery).toBe(0);
    expect(resolveTrainConfig(decodeOk({ checkpointEvery: null }), '/cfg', {}, '/cwd').checkpointEvery).toBeNull();
    expect(resolveTrainConfig(decodeOk({ checkpointEvery: 3 }), '/cfg', { checkpointEvery: 5 }, '/cwd').checkpointEvery).toBe(5);
    expect(decodeErr({ checkpointEvery: -1 })).toBe('checkpointEvery: expected an integer >= 0 or null, got -1');
    expect(resolveTrainConfig(decodeOk({ onNan: 'skip' }), '/cfg', {}, '/cwd').onNan).toBe('skip');
    expect(decodeErr({ onNan: 'continue' })).toBe('onNan: expected one of stop, skip, got "continue"');
  });
});
