import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { fromNested, key, tensor, toArray, type Tensor } from '@foldnet/core';
import { affine, lossAndGrad, network, unwrap, type Params } from '@foldnet/layers';
import {
  adam, adamw, clipByGlobalNorm, cosineDecay, globalNorm, initTrainState, linearWarmup, nesterov, optimizerFromName, sgd, sgdNesterov, trainStep, type AnyOptimizer,
} from '@foldnet/train';

/*
 * The optimizers and schedules of a modern recipe: AdamW and SGD with Nesterov momentum against PyTorch 1.13
 * (fixtures/torch-optim.json, written by fixtures/torch-optim.py), weight decay on the weights only unless
 * decayAll, clipping by global norm, and a linear warm-up.
 */

interface TorchRun {
  readonly lr: number;
  readonly hyper: Readonly<Record<string, number>>;
  readonly steps: readonly { readonly W: number[]; readonly b: number[] }[];
}
interface TorchFixture {
  readonly W0: number[];
  readonly b0: number[];
  readonly grads: readonly { readonly W: number[]; readonly b: number[] }[];
  readonly factors: readonly number[];
  readonly adamw: TorchRun;
  readonly 'sgd-nesterov': TorchRun;
}
const fixture: TorchFixture = JSON.parse(fs.readFileSync(new URL('./fixtures/torch-optim.json', import.meta.url), 'utf8'));
const f64 = (values: number[], shape: number[]): Tensor => tensor(values, shape, 'float64');

describe('AdamW and SGD-Nesterov take PyTorch 1.13 steps (float64, 4 steps, the rate changing each step, W decayed, b not)', () => {
  test.each<[string, 'adamw' | 'sgd-nesterov']>([['torch.optim.AdamW', 'adamw'], ['torch.optim.SGD(nesterov=True)', 'sgd-nesterov']])('%s', (_torch, name) => {
    const run = fixture[name];
    const built = optimizerFromName(name, { lr: run.lr, ...run.hyper });
    if (built._tag === 'Left') throw built.left;
    const opt: AnyOptimizer = built.right;
    let params: Params = { W: f64(fixture.W0, [2, 3]), b: f64(fixture.b0, [3]) };
    let state = opt.init(params);
    run.steps.forEach((expected, t) => {
      const g = fixture.grads[t];
      const u = opt.withLr(run.lr * fixture.factors[t]).update({ W: f64(g.W, [2, 3]), b: f64(g.b, [3]) }, state, params);
      ({ params, state } = u);
      toArray(params.W).forEach((v, i) => expect(v).toBeCloseTo(expected.W[i], 13));
      toArray(params.b).forEach((v, i) => expect(v).toBeCloseTo(expected.b[i], 13));
    });
  });

  test('one step by hand: adamw p=1 g=2 lr 0.1 wd 0.5 gives 1*(1-0.05) - 0.1*2/(2+1e-8)·... = 0.85; sgd-nesterov p=1 g=2 lr 0.1 gives 0.62', () => {
    const w = { w: fromNested([[1]], 'float64') };
    const g = { w: fromNested([[2]], 'float64') };
    const a = adamw({ lr: 0.1, weightDecay: 0.5 });
    expect(toArray(a.update(g, a.init(w), w).params.w)[0]).toBeCloseTo(0.85, 8);
    const s = sgdNesterov({ lr: 0.1, momentum: 0.9 });
    expect(toArray(s.update(g, s.init(w), w).params.w)).toEqual([1 - 0.1 * (2 + 0.9 * 2)]);
  });

  test("the book's nesterov is another rule: its first step is p - lr (1 + μ + μ²) g, PyTorch's p - lr (1 + μ) g", () => {
    const w = { w: f64([1], [1]) };
    const g = { w: f64([2], [1]) };
    const book = nesterov({ lr: 0.1, momentum: 0.9 });
    const torch = sgdNesterov({ lr: 0.1, momentum: 0.9 });
    expect(toArray(book.update(g, book.init(w), w).params.w)[0]).toBeCloseTo(1 - 0.1 * (1 + 0.9 + 0.81) * 2, 12);
    expect(toArray(torch.update(g, torch.init(w), w).params.w)[0]).toBeCloseTo(1 - 0.1 * (1 + 0.9) * 2, 12);
  });
});

describe('weight decay reaches the weights (2+ dimensions) only, unless decayAll is 1', () => {
  // zero gradients: what moves is the decay alone
  const params: Params = { 'conv1.W': f64([1, -2, 3, 4], [1, 1, 2, 2]), 'conv1.b': f64([1], [1]), 'bn1.gamma': f64([2], [1]), 'affine1.W': f64([4, 8], [2, 1]) };
  const zeros: Params = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, f64(new Array<number>(p.size).fill(0), [...p.shape])]));
  const moved = (opt: AnyOptimizer): string[] => {
    const r = opt.update(zeros, opt.init(params), params).params;
    return Object.keys(params).filter((n) => toArray(r[n]).some((v, i) => v !== params[n].data[i]));
  };
  test.each<[string, (h: Readonly<Record<string, number>>) => AnyOptimizer]>([
    ['sgd', (h) => sgd(h)],
    ['adam (its kernel fuses the decay)', (h) => adam(h)],
    ['adamw (decoupled)', (h) => adamw(h)],
    ['sgd-nesterov', (h) => sgdNesterov(h)],
  ])('%s: conv1.W and affine1.W decay; conv1.b and bn1.gamma only with decayAll 1', (_name, make) => {
    expect(moved(make({ weightDecay: 0.1 }))).toEqual(['conv1.W', 'affine1.W']);
    expect(moved(make({ weightDecay: 0.1, decayAll: 1 }))).toEqual(['conv1.W', 'conv1.b', 'bn1.gamma', 'affine1.W']);
  });

  test('sgd wd 0.1 lr 0.5 shrinks a weight by (1 - 0.05); decayAll must be 0 or 1', () => {
    const r = sgd({ lr: 0.5, weightDecay: 0.1 }).update(zeros, {}, params).params;
    expect(toArray(r['affine1.W'])).toEqual([4 - 0.5 * 0.1 * 4, 8 - 0.5 * 0.1 * 8]);
    expect(() => sgd({ decayAll: 0.5 })).toThrow('sgd: decayAll must be 0 or 1, got 0.5');
  });
});

describe('clipping by global norm', () => {
  test('globalNorm of {3, 4} is 5; clipped to 1 it is scaled by 1 / (5 + 1e-6), as PyTorch clip_grad_norm_', () => {
    const g = { a: f64([3], [1]), b: f64([4], [1]) };
    expect(globalNorm(g)).toBe(5);
    const c = clipByGlobalNorm(g, 1);
    expect(toArray(c.a)).toEqual([3 / (5 + 1e-6)]);
    expect(toArray(c.b)).toEqual([4 / (5 + 1e-6)]);
  });

  test('a norm under the bound gives back the very same record: no bit changes', () => {
    const g = { a: f64([0.3], [1]) };
    expect(clipByGlobalNorm(g, 1)).toBe(g);
    expect(() => clipByGlobalNorm(g, 0)).toThrow('clipByGlobalNorm: maxNorm must be a positive number, got 0');
  });

  test('trainStep clipNorm: the step is sgd on the clipped gradient; a huge bound changes nothing', () => {
    const net = unwrap(network([2], [affine({ units: 2, name: 'a', weightInit: 'he' })]));
    const zeroParams: Params = { 'a.W': f64([0, 0, 0, 0], [2, 2]), 'a.b': f64([0, 0], [2]) };
    // zero weights: p = [0.5, 0.5], so dW = x (p - t) has norm 5 * sqrt(0.5) ≈ 3.5
    const s0 = { ...initTrainState(net, sgd({ lr: 1 }), key(1), { dtype: 'float64' }), params: zeroParams };
    const batch = { x: fromNested([[3, -4]], 'float64'), targets: Int32Array.of(1) };
    expect(globalNorm(lossAndGrad(net, s0.params, {}, batch.x, batch.targets).grads)).toBeGreaterThan(1);
    const plain = trainStep(net, sgd({ lr: 1 }))(s0, batch);
    const loose = trainStep(net, sgd({ lr: 1 }), { clipNorm: 1e9 })(s0, batch);
    const tight = trainStep(net, sgd({ lr: 1 }), { clipNorm: 0.5 })(s0, batch);
    expect(toArray(loose.params['a.W'])).toEqual(toArray(plain.params['a.W']));
    // the step taken is params before minus after: its global norm is the bound
    const step: Params = Object.fromEntries(Object.keys(s0.params).map((n) => [n, f64(toArray(s0.params[n]).map((v, i) => v - tight.params[n].data[i]), [...s0.params[n].shape])]));
    expect(globalNorm(step)).toBeCloseTo(0.5, 6);
    expect(() => trainStep(net, sgd(), { clipNorm: -1 })(s0, batch)).toThrow('trainStep: clipNorm must be a positive number, got -1');
  });
});

describe('linear warm-up', () => {
  test('warmup 4 then cosine over 10: 0.25, 0.5, 0.75, 1, then the cosine from its step 0', () => {
    const s = linearWarmup(4, cosineDecay(10));
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(s(4)).toBe(1);
    expect(s(9)).toBeCloseTo(0.5, 12);
    expect(linearWarmup(2)(100)).toBe(1);
    expect(() => linearWarmup(0)).toThrow('linearWarmup: steps must be a positive integer, got 0');
  });
});
