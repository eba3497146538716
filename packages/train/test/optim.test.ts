import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { tensor, toArray, type Tensor } from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import {
  adagrad, adam, momentum, nesterov, optimizerFromName, optimizerNames, rmsprop, sgd, type AnyOptimizer,
} from '@foldnet/train';

const f64 = (values: number[]): Tensor => tensor(values, [values.length], 'float64');

/** Runs `steps` updates of `opt` on params { xy: [x, y] } under the gradient field `grad`. */
const descend = (opt: AnyOptimizer, grad: (x: number, y: number) => [number, number], start: [number, number], steps: number): number[] => {
  let params: Params = { xy: f64(start) };
  let state = opt.init(params);
  for (let i = 0; i < steps; i++) {
    const [x, y] = params.xy.data;
    ({ params, state } = opt.update({ xy: f64(grad(x, y)) }, state, params));
  }
  return toArray(params.xy);
};

// The book's ch. 6 bowl f(x, y) = x^2/20 + y^2, from its starting point (-7, 2); minimum at (0, 0).
const bowl = (x: number, y: number): [number, number] => [x / 10, 2 * y];
// Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1); minimum at (1, 1).
const rosenbrock = (x: number, y: number): [number, number] => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];

describe('every optimizer converges (tuned lr and steps per optimizer)', () => {
  const bowlTable: [string, AnyOptimizer, number][] = [
    ['sgd lr=0.9', sgd({ lr: 0.9 }), 300],
    ['momentum lr=0.1', momentum({ lr: 0.1 }), 300],
    ['nesterov lr=0.1', nesterov({ lr: 0.1 }), 300],
    ['adagrad lr=1.5', adagrad({ lr: 1.5 }), 300],
    ['rmsprop lr=0.1', rmsprop({ lr: 0.1 }), 300],
    ['adam lr=0.3', adam({ lr: 0.3 }), 300],
  ];
  test.each(bowlTable)('%s reaches the bowl x^2/20 + y^2 minimum (0,0) from (-7,2)', (_, opt, steps) => {
    const [x, y] = descend(opt, bowl, [-7, 2], steps);
    expect(Math.hypot(x, y)).toBeLessThan(1e-4);
  });

  const rosenbrockTable: [string, AnyOptimizer, number][] = [
    ['sgd lr=0.001', sgd({ lr: 0.001 }), 20000],
    ['momentum lr=0.0005', momentum({ lr: 0.0005 }), 5000],
    ['nesterov lr=0.0005', nesterov({ lr: 0.0005 }), 5000],
    ['adagrad lr=1', adagrad({ lr: 1 }), 10000],
    ['rmsprop lr=0.001', rmsprop({ lr: 0.001 }), 10000],
    ['adam lr=0.03', adam({ lr: 0.03 }), 5000],
  ];
  test.each(rosenbrockTable)('%s reaches the Rosenbrock minimum (1,1) from (-1.2,1)', (_, opt, steps) => {
    const [x, y] = descend(opt, rosenbrock, [-1.2, 1], steps);
    expect(Math.hypot(x - 1, y - 1)).toBeLessThan(5e-3);
  });
});

/*
 * Two steps of each optimizer with book defaults on p = { w: [1, -2], b: [0.5] }, gradients
 * g1 = { w: [0.5, -1.5], b: [2] } then g2 = { w: [-0.25, 3], b: [0.125] }. The expected numbers
 * were printed by the book's common/optimizer.py (numpy, float64); float64 params must match them
 * bit for bit.
 */
describe('each optimizer reproduces the book on two hand-checked steps (float64, book defaults)', () => {
  const p0: Params = { w: f64([1, -2]), b: f64([0.5]) };
  const g1: Params = { w: f64([0.5, -1.5]), b: f64([2]) };
  const g2: Params = { w: f64([-0.25, 3]), b: f64([0.125]) };
  const table: [string, AnyOptimizer, Record<string, number[]>, Record<string, number[]>][] = [
    ['sgd lr=0.01', sgd(), { w: [0.995, -1.985], b: [0.48] }, { w: [0.9974999999999999, -2.015], b: [0.47875] }],
    ['momentum lr=0.01 momentum=0.9', momentum(), { w: [0.995, -1.985], b: [0.48] }, { w: [0.993, -2.0015], b: [0.46075] }],
    ['nesterov lr=0.01 momentum=0.9', nesterov(),
      { w: [0.98645, -1.95935], b: [0.44580000000000003] }, { w: [0.9895800000000001, -2.029715], b: [0.4278325] }],
    ['adagrad lr=0.01', adagrad(),
      { w: [0.9900000019999996, -1.9900000006666667], b: [0.4900000005] },
      { w: [0.9944721371549993, -1.9989442723099993], b: [0.48937621766957656] }],
    ['rmsprop lr=0.01 decay=0.99', rmsprop(),
      { w: [0.9000001999996, -1.9000000666666224], b: [0.40000004999997507] },
      { w: [0.9449014448612773, -1.9895323361536925], b: [0.39373092269873455] }],
    ['adam lr=0.001 b1=0.9 b2=0.999', adam(),
      { w: [0.9990000063245154, -1.9990000021081806], b: [0.49900000158113633] },
      { w: [0.9987336707920792, -1.9993661052900165], b: [0.4982848095287276] }],
  ];
  test.each(table)('%s', (_, opt, step1, step2) => {
    const r1 = opt.update(g1, opt.init(p0), p0);
    expect({ w: toArray(r1.params.w), b: toArray(r1.params.b) }).toEqual(step1);
    const r2 = opt.update(g2, r1.state, r1.params);
    expect({ w: toArray(r2.params.w), b: toArray(r2.params.b) }).toEqual(step2);
  });

  test('adam lr_t at t=1 is lr*sqrt(1-b2)/(1-b1), so the first step moves each element by ~lr', () => {
    // m = 0.1 g, v = 0.001 g^2: lr_t m / sqrt(v) = lr * sqrt(0.001)/0.1 * 0.1 g / (sqrt(0.001) |g|) = lr sign(g)
    const r = adam({ lr: 0.01 }).update({ w: f64([3, -0.5]) }, adam({ lr: 0.01 }).init({ w: f64([0, 0]) }), { w: f64([0, 0]) });
    expect(toArray(r.params.w)[0]).toBeCloseTo(-0.01, 6);
    expect(toArray(r.params.w)[1]).toBeCloseTo(0.01, 6);
  });
});

describe('weight decay with decayAll 1 adds weightDecay * p to the gradient (L2 on every param)', () => {
  const p0: Params = { w: f64([1, -2]), b: f64([0.5]) };
  const g1: Params = { w: f64([0.5, -1.5]), b: f64([2]) };
  // numpy: g = g + 0.1 * p, then the book's rule.
  const table: [string, AnyOptimizer, Record<string, number[]>][] = [
    ['sgd lr=0.01 wd=0.1', sgd({ weightDecay: 0.1, decayAll: 1 }), { w: [0.994, -1.983], b: [0.4795] }],
    ['momentum lr=0.01 wd=0.1', momentum({ weightDecay: 0.1, decayAll: 1 }), { w: [0.994, -1.983], b: [0.4795] }],
    ['adam lr=0.001 wd=0.1', adam({ weightDecay: 0.1, decayAll: 1 }), { w: [0.999000005270435, -1.99900000186016], b: [0.49900000154257207] }],
  ];
  test.each(table)('%s, one step', (_, opt, expected) => {
    const r = opt.update(g1, opt.init(p0), p0);
    expect({ w: toArray(r.params.w), b: toArray(r.params.b) }).toEqual(expected);
  });

  test('sgd with weight decay and a zero gradient shrinks params by (1 - lr*wd)', () => {
    const r = sgd({ lr: 0.5, weightDecay: 0.2, decayAll: 1 }).update({ w: f64([0, 0]) }, {}, { w: f64([4, -8]) });
    expect(toArray(r.params.w)).toEqual([3.6, -7.2]);
  });
});

describe('purity and dtypes', () => {
  const all = (): AnyOptimizer[] => [sgd(), momentum(), nesterov(), adagrad(), rmsprop(), adam()];
  test('update leaves params, grads and state bitwise unchanged, for every optimizer (fast-check, float32)', () => {
    const vec = fc.array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(vec, vec, (pw, gw) => {
        const n = Math.min(pw.length, gw.length);
        const params: Params = { w: tensor(pw.slice(0, n)), b: tensor([pw[0]]) };
        const grads: Params = { w: tensor(gw.slice(0, n)), b: tensor([gw[0]]) };
        for (const opt of all()) {
          let state = opt.init(params);
          state = opt.update(grads, state, params).state; // a non-zero state
          const before = JSON.stringify([params, grads, opt.stateToTensors(state)], (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) : v));
          const r = opt.update(grads, state, params);
          const after = JSON.stringify([params, grads, opt.stateToTensors(state)], (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) : v));
          expect(after).toBe(before);
          expect(r.params.w).not.toBe(params.w);
          expect(r.params.w.dtype).toBe('float32');
        }
      }),
      { seed: 42, numRuns: 40 },
    );
  });

  test('float32 params give the float64 result rounded (adam, 3 steps, within 1e-6)', () => {
    const run = (dtype: 'float32' | 'float64'): number[] => {
      const opt = adam({ lr: 0.01 });
      let params: Params = { w: tensor([0.3, -1.7, 2.2], [3], dtype) };
      let state = opt.init(params);
      for (const g of [[0.1, -0.2, 0.3], [1, 2, -3], [-0.5, 0.25, 0.125]]) {
        ({ params, state } = opt.update({ w: tensor(g, [3], dtype) }, state, params));
      }
      return toArray(params.w);
    };
    const single = run('float32');
    run('float64').forEach((v, i) => expect(Math.abs(single[i] - v)).toBeLessThan(1e-6));
  });

  test('update names the param whose gradient is missing or misshapen', () => {
    const params: Params = { 'conv1.W': f64([1, 2]), 'conv1.b': f64([0]) };
    expect(() => adam().update({ 'conv1.W': f64([1, 2]) }, adam().init(params), params)).toThrow('adam.update: no gradient for param conv1.b');
    expect(() => sgd().update({ 'conv1.W': f64([1]), 'conv1.b': f64([0]) }, {}, params)).toThrow(
      'sgd.update: gradient conv1.W has shape [1], expected [2]',
    );
    expect(() => sgd().update({ ...params, 'conv9.W': f64([1]) }, {}, params)).toThrow('sgd.update: gradient conv9.W has no matching param');
  });
});

describe('optimizer state as named tensors, for checkpoints', () => {
  const params: Params = { 'conv1.W': f64([1, -2, 3]), 'affine1.b': f64([0.5]) };
  const grads: Params = { 'conv1.W': f64([0.1, 0.2, -0.3]), 'affine1.b': f64([1]) };
  const slots: Record<string, string[]> = {
    sgd: [], momentum: ['v'], nesterov: ['v'], adagrad: ['h'], rmsprop: ['h'], adam: ['m', 'v'], adamw: ['m', 'v'], 'sgd-nesterov': ['buf'],
  };
  test.each(optimizerNames.map((n) => [n]))('%s: stateToTensors names slots <slot>.<param> and stateFromTensors restores it', (name) => {
    const opt = optimizerFromName(name);
    if (isLeft(opt)) throw opt.left;
    const o = opt.right;
    const state = o.update(grads, o.init(params), params).state;
    const saved = o.stateToTensors(state);
    const expectedNames = slots[name].flatMap((s) => [`${s}.conv1.W`, `${s}.affine1.b`]).sort();
    expect(Object.keys(saved.tensors).sort()).toEqual(expectedNames);
    expect(saved.scalars).toEqual(name === 'adam' || name === 'adamw' ? { count: 1 } : {});
    const back = o.stateFromTensors(saved, params);
    if (isLeft(back)) throw back.left;
    // the restored state continues exactly as the original
    expect(o.update(grads, back.right, params).params).toEqual(o.update(grads, state, params).params);
  });

  test('adam stateFromTensors: a missing tensor, a wrong shape and a missing count are named', () => {
    const o = adam();
    const saved = o.stateToTensors(o.init(params));
    const { ['v.affine1.b']: _dropped, ...rest } = saved.tensors;
    const missing = o.stateFromTensors({ tensors: rest, scalars: saved.scalars }, params);
    expect(isLeft(missing) && missing.left.message).toBe('adam.stateFromTensors: optimizer state tensor v.affine1.b is missing');
    const wrong = o.stateFromTensors({ tensors: { ...saved.tensors, 'm.conv1.W': f64([0, 0]) }, scalars: saved.scalars }, params);
    expect(isLeft(wrong) && wrong.left.message).toBe(
      'adam.stateFromTensors: optimizer state tensor m.conv1.W has shape [2], param conv1.W has [3]',
    );
    const noCount = o.stateFromTensors({ tensors: saved.tensors, scalars: {} }, params);
    expect(isLeft(noCount) && noCount.left.message).toBe('adam.stateFromTensors: scalar count must be a non-negative integer, got undefined');
  });
});

describe('optimizerFromName', () => {
  test('book defaults: sgd lr 0.01, momentum 0.01/0.9, adagrad 0.01, rmsprop 0.01/0.99, adam 0.001/0.9/0.999', () => {
    const hyper = (n: string) => {
      const o = optimizerFromName(n);
      return isRight(o) ? o.right.hyper : undefined;
    };
    expect(hyper('sgd')).toEqual({ lr: 0.01, weightDecay: 0, decayAll: 0 });
    expect(hyper('Momentum')).toEqual({ lr: 0.01, momentum: 0.9, weightDecay: 0, decayAll: 0 });
    expect(hyper('nesterov')).toEqual({ lr: 0.01, momentum: 0.9, weightDecay: 0, decayAll: 0 });
    expect(hyper('adagrad')).toEqual({ lr: 0.01, weightDecay: 0, decayAll: 0 });
    expect(hyper('rmsprop')).toEqual({ lr: 0.01, decayRate: 0.99, weightDecay: 0, decayAll: 0 });
    expect(hyper('ADAM')).toEqual({ lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0, decayAll: 0 });
  });

  test('adam { lr: 0.01 } overrides only lr', () => {
    const o = optimizerFromName('adam', { lr: 0.01 });
    expect(isRight(o) && o.right.hyper).toEqual({ lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: 0, decayAll: 0 });
  });

  test.each([
    ['adamax', {}, 'optimizerFromName: unknown optimizer adamax (known: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, sgd-nesterov)'],
    ['sgd', { momentum: 0.9 }, 'sgd: unknown hyper-parameter momentum (known: lr, weightDecay, decayAll)'],
    ['adam', { beta1: 1.5 }, 'adam: beta1 must be in [0, 1), got 1.5'],
    ['momentum', { lr: -1 }, 'momentum: lr must be a positive number, got -1'],
    ['rmsprop', { lr: Number.NaN }, 'rmsprop: lr must be a positive number, got NaN'],
    ['adagrad', { weightDecay: -0.1 }, 'adagrad: weightDecay must be a number >= 0, got -0.1'],
  ])('%s %j is refused: %s', (name, hyper, message) => {
    const o = optimizerFromName(name, hyper);
    expect(isLeft(o) && o.left.message).toBe(message);
    expect(isLeft(o) && o.left.code).toBe('config');
  });
});
