import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import {
  alloc, fromData, kernels, referenceKernels, registerKernels, tensor, withBackend, type AdamItem, type AdamResult, type DType, type Kernels, type Tensor,
} from '@foldnet/core';
import type { Params } from '@foldnet/layers';
import { adagrad, adam, momentum, nesterov, rmsprop, sgd, type AnyOptimizer, type OptimizerName } from '@foldnet/train';
import { liftRule, unitOpen, nonNegativeInteger, type Rule } from '../src/optim/rule.js';

/*
 * The oracle: each optimizer's update as it was written before the rules were lifted (one loop per
 * optimizer over the named params, weight decay inline as `g[i] + wd * p[i]`), kept here so that the
 * lifted optimizers can be held to it bit for bit.
 */
/** The book's six, which the oracle covers (AdamW and SGD-Nesterov are held to PyTorch in optim.recipe.test.ts). */
type BookName = Exclude<OptimizerName, 'adamw' | 'sgd-nesterov'>;
interface OracleState {
  readonly count: number;
  readonly slots: Readonly<Record<string, Readonly<Record<string, Tensor>>>>;
}
const oracleSlots: Readonly<Record<BookName, readonly string[]>> = {
  sgd: [], momentum: ['v'], nesterov: ['v'], adagrad: ['h'], rmsprop: ['h'], adam: ['m', 'v'],
};
const oracleInit = (name: BookName, params: Params): OracleState => ({
  count: 0,
  slots: Object.fromEntries(oracleSlots[name].map((s) => [s, Object.fromEntries(Object.entries(params).map(([n, p]) => [n, fromData(p.shape, alloc(p.dtype, p.size))]))])),
});
const oracleUpdate = (name: BookName, h: Readonly<Record<string, number>>, grads: Params, state: OracleState, params: Params): { params: Params; state: OracleState } => {
  const { lr, weightDecay: wd } = h;
  const count = name === 'adam' ? state.count + 1 : state.count;
  const outP: Record<string, Tensor> = {};
  const outS: Record<string, Record<string, Tensor>> = Object.fromEntries(oracleSlots[name].map((s) => [s, {}]));
  for (const [n, p] of Object.entries(params)) {
    const [pd, g] = [p.data, grads[n].data];
    const np = alloc(p.dtype, p.size);
    const ns = alloc(p.dtype, p.size);
    const slot = (s: string) => state.slots[s][n].data;
    if (name === 'adam') {
      const lrT = (lr * Math.sqrt(1.0 - h.beta2 ** count)) / (1.0 - h.beta1 ** count);
      const r = kernels().adamUpdate(p, grads[n], state.slots.m[n], state.slots.v[n], { lrT, c1: 1 - h.beta1, c2: 1 - h.beta2, wd });
      [outP[n], outS.m[n], outS.v[n]] = [r.p, r.m, r.v];
      continue;
    }
    for (let i = 0; i < np.length; i++) {
      const gi = wd === 0 ? g[i] : g[i] + wd * pd[i];
      if (name === 'sgd') {
        np[i] = pd[i] - lr * gi;
      } else if (name === 'momentum') {
        ns[i] = h.momentum * slot('v')[i] - lr * gi;
        np[i] = pd[i] + ns[i];
      } else if (name === 'nesterov') {
        const mu = h.momentum;
        ns[i] = slot('v')[i] * mu - lr * gi;
        np[i] = pd[i] + mu * mu * ns[i] - (1 + mu) * lr * gi;
      } else if (name === 'adagrad') {
        ns[i] = slot('h')[i] + gi * gi;
        np[i] = pd[i] - (lr * gi) / (Math.sqrt(ns[i]) + 1e-7);
      } else {
        ns[i] = slot('h')[i] * h.decayRate + (1 - h.decayRate) * gi * gi;
        np[i] = pd[i] - (lr * gi) / (Math.sqrt(ns[i]) + 1e-7);
      }
    }
    outP[n] = fromData(p.shape, np);
    for (const s of oracleSlots[name]) outS[s][n] = fromData(p.shape, ns);
  }
  return { params: outP, state: { count, slots: outS } };
};

/** A tensor's bytes in hex: equal strings are equal bits (NaN payloads and -0 included). */
const bits = (t: Tensor): string => `${t.dtype}[${t.shape.join(',')}]:${Buffer.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toString('hex')}`;
const recordBits = (r: Readonly<Record<string, Tensor>>): Record<string, string> => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, bits(t)]));

// ----- generators -----

/** Param records: 1 to 4 names (dotted like a network's), each with its own shape and dtype. */
const paramSpecs = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom('conv1.W', 'conv1.b', 'affine1.W', 'affine1.b', 'bn1.gamma', 'w'),
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    dtype: fc.constantFrom<DType>('float32', 'float64'),
  }),
  { minLength: 1, maxLength: 4, selector: (s) => s.name },
);
type Spec = { name: string; shape: number[]; dtype: DType };
const values = (n: number) => fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: n, maxLength: n });
const recordOf = (specs: readonly Spec[]) =>
  fc.tuple(...specs.map((s) => values(s.shape.reduce((a, b) => a * b, 1)))).map((vs) =>
    Object.fromEntries(specs.map((s, i) => [s.name, tensor(vs[i], s.shape, s.dtype)])),
  );
/** Params and 1 to 3 gradient records shaped like them. */
const problem = paramSpecs.chain((specs) => fc.tuple(recordOf(specs), fc.array(recordOf(specs), { minLength: 1, maxLength: 3 })));
const rate = fc.double({ min: 1e-4, max: 1, noNaN: true });
const decay = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true }));
const unit = fc.double({ min: 0, max: 0.999, noNaN: true });
// The old code decayed every param: decayAll 1 (decays.test in optim.recipe.test.ts covers the default, weights only).
const all = fc.constant(1);
const hyperOf: Readonly<Record<BookName, fc.Arbitrary<Record<string, number>>>> = {
  sgd: fc.record({ lr: rate, weightDecay: decay, decayAll: all }),
  momentum: fc.record({ lr: rate, momentum: unit, weightDecay: decay, decayAll: all }),
  nesterov: fc.record({ lr: rate, momentum: unit, weightDecay: decay, decayAll: all }),
  adagrad: fc.record({ lr: rate, weightDecay: decay, decayAll: all }),
  rmsprop: fc.record({ lr: rate, decayRate: unit, weightDecay: decay, decayAll: all }),
  adam: fc.record({ lr: rate, beta1: unit, beta2: unit, weightDecay: decay, decayAll: all }),
};
const build: Readonly<Record<BookName, (h: Record<string, number>) => AnyOptimizer>> = {
  sgd: (h) => sgd(h), momentum: (h) => momentum(h), nesterov: (h) => nesterov(h), adagrad: (h) => adagrad(h), rmsprop: (h) => rmsprop(h), adam: (h) => adam(h),
};
const names: BookName[] = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'];

describe('each lifted optimizer equals its old per-optimizer code, bit for bit (fast-check)', () => {
  test.each(names.map((n) => [n]))('%s on random param records (float32 and float64, with and without weight decay, 1-3 steps)', (name) => {
    fc.assert(
      fc.property(hyperOf[name], problem, (h, [params, gradSeq]) => {
        const opt = build[name](h);
        let [p, s] = [params, opt.init(params)];
        let [op, os] = [params, oracleInit(name, params)];
        for (const grads of gradSeq) {
          ({ params: p, state: s } = opt.update(grads, s, p));
          ({ params: op, state: os } = oracleUpdate(name, h, grads, os, op));
          expect(recordBits(p)).toEqual(recordBits(op));
          // the state as a checkpoint holds it: `<slot>.<param>` tensors and the scalars
          const saved = opt.stateToTensors(s);
          const expected: Record<string, Tensor> = {};
          for (const slot of oracleSlots[name]) for (const [n, t] of Object.entries(os.slots[slot])) expected[`${slot}.${n}`] = t;
          expect(recordBits(saved.tensors)).toEqual(recordBits(expected));
          expect(saved.scalars).toEqual(name === 'adam' ? { count: os.count } : {});
        }
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  test.each(names.map((n) => [n]))('%s: withLr(lr) steps as the optimizer built with that lr', (name) => {
    fc.assert(
      fc.property(hyperOf[name], rate, problem, (h, lr, [params, [grads]]) => {
        const a = build[name](h).withLr(lr);
        const b = build[name]({ ...h, lr });
        expect(a.hyper).toEqual(b.hyper);
        expect(recordBits(a.update(grads, a.init(params), params).params)).toEqual(recordBits(b.update(grads, b.init(params), params).params));
      }),
      { seed: 8, numRuns: 20 },
    );
  });
});

describe('adam hands each whole array to the kernel set', () => {
  test('adamUpdates gets every param of an update in one call, the very p, g, m, v of the records, the step numbers and each one\'s weight decay, and its results are the new state', () => {
    const calls: { items: readonly AdamItem[]; out: readonly AdamResult[] }[] = [];
    const spy: Kernels = {
      ...referenceKernels,
      name: 'optim-rule-spy',
      adamUpdates: (items) => {
        const out = referenceKernels.adamUpdates(items);
        calls.push({ items, out });
        return out;
      },
    };
    registerKernels(spy);
    const params: Params = { 'conv1.W': tensor([1, -2, 3], [3, 1]), 'conv1.b': tensor([0.5]) };
    const grads: Params = { 'conv1.W': tensor([0.1, 0.2, -0.3], [3, 1]), 'conv1.b': tensor([1]) };
    const opt = adam({ lr: 0.01, weightDecay: 0.1 });
    const s1 = withBackend('optim-rule-spy', () => opt.update(grads, opt.init(params), params));
    const r = withBackend('optim-rule-spy', () => opt.update(grads, s1.state, s1.params));
    expect(calls).toHaveLength(2);
    expect(calls[1].items).toHaveLength(2);
    const [w2, b2] = calls[1].items;
    expect(w2.p).toBe(s1.params['conv1.W']);
    expect(w2.g).toBe(grads['conv1.W']); // the gradient as given: the kernel adds the decay in its own pass
    expect(w2.m).toBe(s1.state.m['conv1.W']);
    expect(w2.v).toBe(s1.state.v['conv1.W']);
    const lrT = (0.01 * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.9 ** 2);
    expect(w2.step).toEqual({ lrT, c1: 1 - 0.9, c2: 1 - 0.999, wd: 0.1 });
    expect(b2.p).toBe(s1.params['conv1.b']);
    expect(b2.step).toEqual({ lrT, c1: 1 - 0.9, c2: 1 - 0.999, wd: 0 }); // a bias is not decayed
    const [wOut, bOut] = calls[1].out;
    expect(r.params['conv1.W']).toBe(wOut.p);
    expect(r.state.m['conv1.W']).toBe(wOut.m);
    expect(r.state.v['conv1.b']).toBe(bOut.v);
    expect(r.state.count).toBe(2);
  });

  test('a float32 param of 20000 elements (the fast set runs it in wasm, kept resident) follows the book loop bit for bit over 3 steps, wd 0 and 0.01', () => {
    const n = 20000;
    const wave = (k: number, t: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * (1 + t));
    for (const wd of [0, 0.01]) {
      const opt = adam({ lr: 0.01, weightDecay: wd, decayAll: 1 });
      let params: Params = { W: fromData([n], wave(1, 0)) };
      let state = opt.init(params);
      const [P, M, V] = [Float32Array.from(params.W.data), new Float32Array(n), new Float32Array(n)];
      for (let t = 1; t <= 3; t++) {
        const G = wave(2, t);
        ({ params, state } = opt.update({ W: fromData([n], G) }, state, params));
        // the book's rule per element, in double, each stored value rounded to float32 and read back so
        const lrT = (0.01 * Math.sqrt(1.0 - 0.999 ** t)) / (1.0 - 0.9 ** t);
        for (let i = 0; i < n; i++) {
          const gi = wd === 0 ? G[i] : G[i] + wd * P[i];
          M[i] = M[i] + (1 - 0.9) * (gi - M[i]);
          V[i] = V[i] + (1 - 0.999) * (gi * gi - V[i]);
          P[i] = P[i] - (lrT * M[i]) / (Math.sqrt(V[i]) + 1e-7);
        }
        expect(bits(params.W)).toBe(bits(fromData([n], P)));
        expect(bits(state.m.W)).toBe(bits(fromData([n], M)));
        expect(bits(state.v.W)).toBe(bits(fromData([n], V)));
      }
    }
  });
});

/*
 * Signum (sign SGD with momentum, arxiv.org/abs/1802.04434) in a dozen lines: m = beta m + (1 - beta) g;
 * p -= lr sign(m). It states nothing but its rule, and gets the walk, the checks, weight decay, hyper-parameter
 * reading and checkpoints from the lifter. A step counter shows scalar state.
 */
const signumRule: Rule<'signum', 'beta', 'm', 'steps'> = {
  name: 'signum',
  lr: 0.01,
  hyper: { beta: { default: 0.9, range: unitOpen } },
  slots: ['m'],
  scalars: { steps: { init: 0, next: (t) => t + 1, range: nonNegativeInteger } },
  step: ({ p, g, slots, hyper: { lr, beta } }) => {
    const [np, nm] = [alloc(p.dtype, p.size), alloc(p.dtype, p.size)];
    for (let i = 0; i < np.length; i++) {
      nm[i] = beta * slots.m.data[i] + (1 - beta) * g.data[i];
      np[i] = p.data[i] - lr * Math.sign(nm[i]);
    }
    return { p: fromData(p.shape, np), slots: { m: fromData(p.shape, nm) } };
  },
};
const signum = liftRule(signumRule);

describe('a new rule gets the walk, checks, weight decay and checkpoints from the lifter (signum)', () => {
  const params: Params = { 'conv1.W': tensor([1, -2, 3], [3], 'float64'), 'conv1.b': tensor([0.5], [1], 'float64') };
  const grads: Params = { 'conv1.W': tensor([0.5, -0.25, 0], [3], 'float64'), 'conv1.b': tensor([-2], [1], 'float64') };

  test('hyper-parameters: defaults, overrides, and the same refusals as the book optimizers', () => {
    expect(signum().hyper).toEqual({ lr: 0.01, beta: 0.9, weightDecay: 0, decayAll: 0 });
    expect(Object.keys(signum({ beta: 0.5 }).hyper)).toEqual(['lr', 'beta', 'weightDecay', 'decayAll']);
    expect(signum().withLr(0.5).hyper).toEqual({ lr: 0.5, beta: 0.9, weightDecay: 0, decayAll: 0 });
    expect(() => signum({ momentum: 0.9 })).toThrow('signum: unknown hyper-parameter momentum (known: lr, beta, weightDecay, decayAll)');
    expect(() => signum({ beta: 1 })).toThrow('signum: beta must be in [0, 1), got 1');
    expect(() => signum({ lr: 0 })).toThrow('signum: lr must be a positive number, got 0');
    expect(() => signum({ weightDecay: -1 })).toThrow('signum: weightDecay must be a number >= 0, got -1');
  });

  test('one step by hand: m = 0.1 g, p -= lr sign(m)', () => {
    const r = signum({ lr: 0.5 }).update(grads, signum().init(params), params);
    expect(Array.from(r.params['conv1.W'].data)).toEqual([0.5, -1.5, 3]);
    expect(Array.from(r.params['conv1.b'].data)).toEqual([1]);
    expect(Array.from(r.state.m['conv1.W'].data)).toEqual([(1 - 0.9) * 0.5, (1 - 0.9) * -0.25, 0]);
    expect(r.state.steps).toBe(1);
  });

  test('update names the missing, misshapen or extra gradient and the mismatched state tensor', () => {
    const opt = signum();
    const s = opt.init(params);
    expect(() => opt.update({ 'conv1.W': grads['conv1.W'] }, s, params)).toThrow('signum.update: no gradient for param conv1.b');
    expect(() => opt.update({ ...grads, 'conv1.W': tensor([1], [1], 'float64') }, s, params)).toThrow('signum.update: gradient conv1.W has shape [1], expected [3]');
    expect(() => opt.update({ ...grads, 'conv1.W': tensor([1, 2, 3]) }, s, params)).toThrow('signum.update: gradient conv1.W is float32, param is float64');
    expect(() => opt.update({ ...grads, 'conv9.W': grads['conv1.b'] }, s, params)).toThrow('signum.update: gradient conv9.W has no matching param');
    const bad = { ...s, m: { ...s.m, 'conv1.b': tensor([0, 0], [2], 'float64') } };
    expect(() => opt.update(grads, bad, params)).toThrow('signum.update: state m conv1.b has shape [2], expected [1]');
  });

  test('weight decay: the rule sees g + weightDecay * p, each element in double (fast-check, float32 and float64)', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0.001, max: 0.5, noNaN: true }), ([ps, [gs]], wd) => {
        const decayedGrads = Object.fromEntries(
          Object.entries(ps).map(([n, p]) => [n, fromData(p.shape, Float64Array.from(p.data, (pi, i) => gs[n].data[i] + wd * pi))]),
        );
        // the undecayed rule given float64 decayed gradients computes exactly what the decayed optimizer does
        const want = Object.entries(ps).map(([n, p]) => signumRule.step({
          p, g: decayedGrads[n], slots: { m: fromData(p.shape, alloc(p.dtype, p.size)) }, hyper: { lr: 0.01, beta: 0.9 }, scalars: { steps: 1 }, wd: 0,
        }));
        const got = signum({ weightDecay: wd, decayAll: 1 }).update(gs, signum().init(ps), ps);
        Object.keys(ps).forEach((n, i) => {
          expect(bits(got.params[n])).toBe(bits(want[i].p));
          expect(bits(got.state.m[n])).toBe(bits(want[i].slots.m));
        });
      }),
      { seed: 9, numRuns: 50 },
    );
  });

  test('checkpoints: <slot>.<param> tensors and the scalar, restored to continue exactly; a missing tensor or scalar is named', () => {
    const opt = signum();
    const s = opt.update(grads, opt.init(params), params).state;
    const saved = opt.stateToTensors(s);
    expect(Object.keys(saved.tensors)).toEqual(['m.conv1.W', 'm.conv1.b']);
    expect(saved.scalars).toEqual({ steps: 1 });
    const back = opt.stateFromTensors(saved, params);
    if (isLeft(back)) throw back.left;
    expect(back.right).toEqual(s);
    expect(recordBits(opt.update(grads, back.right, params).params)).toEqual(recordBits(opt.update(grads, s, params).params));
    const { ['m.conv1.b']: _dropped, ...rest } = saved.tensors;
    const missing = opt.stateFromTensors({ tensors: rest, scalars: saved.scalars }, params);
    expect(isLeft(missing) && missing.left.message).toBe('signum.stateFromTensors: optimizer state tensor m.conv1.b is missing');
    const noSteps = opt.stateFromTensors({ tensors: saved.tensors, scalars: { steps: -1 } }, params);
    expect(isLeft(noSteps) && noSteps.left.message).toBe('signum.stateFromTensors: scalar steps must be a non-negative integer, got -1');
    const f32 = opt.stateFromTensors({ tensors: { ...saved.tensors, 'm.conv1.W': tensor([0, 0, 0]) }, scalars: saved.scalars }, params);
    expect(isLeft(f32) && f32.left.message).toBe('signum.stateFromTensors: optimizer state tensor m.conv1.W is float32, param conv1.W is float64');
  });

  test('liftRule refuses a rule whose names would collide in a checkpoint', () => {
    const clash: Rule<'clash', 'lr', never, never> = { ...signumRule, name: 'clash', hyper: { lr: { default: 1, range: unitOpen } }, slots: [], scalars: {}, step: ({ p }) => ({ p, slots: {} }), stepAll: undefined };
    expect(() => liftRule(clash)).toThrow('liftRule: clash: lr is named twice among lr, weightDecay, decayAll, hyper-parameters, slots and scalars');
    const dotted: Rule<'dotted', never, 'a.b', never> = { ...clash, name: 'dotted', hyper: {}, slots: ['a.b'], step: ({ p, slots }) => ({ p, slots }), stepAll: undefined };
    expect(() => liftRule(dotted)).toThrow('liftRule: dotted: name "a.b" must be non-empty and hold no dot');
  });
});
