import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { alloc, fromData, key, normal, split, type Key } from '@foldnet/core';
import { affine, network, relu, unwrap, type Network, type Params } from '@foldnet/layers';
import {
  adagrad, adam, batchesOf, constantLr, cosineDecay, fit, initTrainState, momentum, nesterov, rmsprop, sampleWithReplacement, sgd, stepDecay,
  trainStep, type AnyOptimizer, type LabeledData, type LrSchedule,
} from '@foldnet/train';

/** Two Gaussian blobs in 3-D, labels 0 and 1. */
const blobs = (k: Key, perClass: number): LabeledData => {
  const noise = normal(k, [2 * perClass, 3], { std: 0.5 });
  const x = alloc('float32', 2 * perClass * 3);
  const labels = new Int32Array(2 * perClass);
  for (let n = 0; n < 2 * perClass; n++) {
    labels[n] = n % 2;
    for (let d = 0; d < 3; d++) x[n * 3 + d] = (n % 2 === 0 ? 1 : -1) + noise.data[n * 3 + d];
  }
  return { x: fromData([2 * perClass, 3], x), targets: labels };
};

const [modelKey, dataKey, blobKey] = split(key(7), 3);
const data = blobs(blobKey, 40);
const net: Network = unwrap(network([3], [affine({ units: 8, weightInit: 'he' }), relu(), affine({ units: 2 })]));
const bytes = (params: Params): number[][] => Object.values(params).map((t) => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));

describe('schedules', () => {
  test('cosineDecay: 1 at step 0, 1/2 at mid-run, towards final at the end, and flat past it', () => {
    const s = cosineDecay(100);
    expect(s(0)).toBe(1);
    expect(s(50)).toBeCloseTo(0.5, 12);
    expect(s(99)).toBeCloseTo((1 + Math.cos((Math.PI * 99) / 100)) / 2, 15);
    expect(s(99)).toBeGreaterThan(0);
    expect(s(1000)).toBe(s(99));
    const floor = cosineDecay(10, 0.2);
    expect(floor(0)).toBe(1);
    expect(floor(5)).toBeCloseTo(0.6, 12);
  });

  test('cosineDecay never increases and stays in (final, 1]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(20_000), (steps, final, t) => {
        const s = cosineDecay(steps, final);
        expect(s(t)).toBeLessThanOrEqual(1);
        expect(s(t)).toBeGreaterThanOrEqual(final);
        expect(s(t + 1)).toBeLessThanOrEqual(s(t));
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  test('stepDecay: divided by the factor at each boundary', () => {
    const s = stepDecay([30, 45]);
    expect([0, 29, 30, 44, 45, 1000].map(s)).toEqual([1, 1, 0.1, 0.1, 0.1 ** 2, 0.1 ** 2]);
    expect(stepDecay([5], 0.5)(5)).toBe(0.5);
    expect(constantLr(12345)).toBe(1);
  });

  test('bad arguments are refused with the argument named', () => {
    expect(() => cosineDecay(0)).toThrow('cosineDecay: steps must be a positive integer, got 0');
    expect(() => cosineDecay(10, 1.5)).toThrow('cosineDecay: final must be in [0, 1], got 1.5');
    expect(() => stepDecay([10, 10])).toThrow('stepDecay: boundaries must increase, got 10 then 10');
    expect(() => stepDecay([0])).toThrow('stepDecay: boundary 0 must be a positive integer step, got 0');
    expect(() => stepDecay([5], 0)).toThrow('stepDecay: factor must be in (0, 1], got 0');
  });
});

describe('trainStep with a schedule', () => {
  const optimizers: [string, AnyOptimizer][] = [
    ['sgd', sgd({ lr: 0.1 })],
    ['momentum', momentum({ lr: 0.05, momentum: 0.8 })],
    ['nesterov', nesterov({ lr: 0.05 })],
    ['adagrad', adagrad({ lr: 0.1 })],
    ['rmsprop', rmsprop({ lr: 0.01 })],
    ['adam', adam({ lr: 0.01, beta1: 0.8 })],
  ];
  const batches = batchesOf(data, sampleWithReplacement({ key: dataKey, n: 80, batchSize: 16, steps: 12 }));
  const schedule: LrSchedule = (step) => [1, 0.5, 0.25, 2][step % 4];

  test.each(optimizers)('%s: each step equals a step of the optimizer built with the scheduled lr', (_, opt) => {
    const s0 = initTrainState(net, opt, modelKey);
    const scheduled = fit(trainStep(net, opt, { lrSchedule: schedule }), s0, batches);
    // the same run written out by hand: step i uses withLr(lr * schedule(i)), keeping hyper-parameters
    let manual = s0;
    for (let i = 0; i < 12; i++) manual = trainStep(net, opt.withLr(opt.hyper.lr * schedule(i)))(manual, batches.at(i));
    expect(bytes(scheduled.params)).toEqual(bytes(manual.params));
    expect(bytes(opt.stateToTensors(scheduled.opt).tensors)).toEqual(bytes(opt.stateToTensors(manual.opt).tensors));
    // and it is not the constant-rate run
    expect(bytes(fit(trainStep(net, opt), s0, batches).params)).not.toEqual(bytes(scheduled.params));
  });

  test('withLr keeps every other hyper-parameter and the name', () => {
    for (const [, opt] of optimizers) {
      const other = opt.withLr(0.123);
      expect(other.name).toBe(opt.name);
      expect(other.hyper).toEqual({ ...opt.hyper, lr: 0.123 });
    }
    expect(() => adam().withLr(0)).toThrow('adam: lr must be a positive number, got 0');
  });

  test('a constant schedule is the plain step, bit for bit', () => {
    const opt = adam();
    const s0 = initTrainState(net, opt, modelKey);
    expect(bytes(fit(trainStep(net, opt, { lrSchedule: constantLr }), s0, batches).params)).toEqual(bytes(fit(trainStep(net, opt), s0, batches).params));
  });

  test('a resumed run follows the same schedule (it depends on the step alone)', () => {
    const opt = adam({ lr: 0.01 });
    const step = trainStep(net, opt, { lrSchedule: cosineDecay(12) });
    const s0 = initTrainState(net, opt, modelKey);
    const straight = fit(step, s0, batches);
    const half = fit(step, s0, batches.until(5));
    expect(bytes(fit(step, half, batches.from(5)).params)).toEqual(bytes(straight.params));
  });
});
