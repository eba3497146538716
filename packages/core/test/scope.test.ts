import { convGeometry, fastKernels, FoldnetError, fromData, key, normal, referenceKernels, setThreads, split, resultScope, traceConvPaths, type Tensor } from '@foldnet/core';
import { bitwiseEqual, poisonScopes } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { chainOps, chainShape } from './kernel-chain.js';

/*
 * resultScope (fast/scope.ts, layout.ts's scope area): inside a scope the fast kernels' results are views of their memory, read
 * in place and never copied out; what the scope's function returns is copied out when it returns. The results must have
 * the bits of the same kernels outside a scope, what is returned must survive the scopes after it, and growing the area
 * (which lays every kept area out anew) must not leave a kernel reading what a kept area used to hold.
 */

const inMemory = (t: Tensor): boolean => t.data.buffer instanceof SharedArrayBuffer;

afterEach(() => {
  setThreads(1);
});

// a chain of kernels (kernel-chain.ts), operands picked from the results so far
const [kx, ky, kw, kv] = split(key(5), 4);
const w3 = normal(kw, [16, 16, 3, 3]);
const bias = normal(kv, [16]);
const g3 = convGeometry('c3', { inH: 8, inW: 8, filterH: 3, pad: 1 });
const ops = chainOps;
type Chain = readonly { readonly op: number; readonly a: number; readonly b: number }[];
const chainArb = fc.array(fc.record({ op: fc.nat(ops.length - 1), a: fc.nat(100), b: fc.nat(100) }), { minLength: 4, maxLength: 16 });
/** Every value of the chain, the two inputs first; `seen` counts the results that were views of the kernels' memory. */
const run = (chain: Chain, seen = { views: 0 }): Tensor[] => {
  const made: Tensor[] = [normal(kx, chainShape), normal(ky, chainShape)];
  for (const { op, a, b } of chain) {
    const pick = (i: number): Tensor => made[made.length - 1 - (i % 4 === 0 ? i % made.length : i % Math.min(2, made.length))];
    const y = ops[op](pick(a), pick(b));
    if (inMemory(y)) seen.views++;
    made.push(y);
  }
  return made;
};

describe('resultScope', () => {
  it('a generated chain of kernels inside a scope gives the bits it gives outside; what it returns is copied out and survives later scopes, 1 and 2 threads', () => {
    poisonScopes(true);
    const seen = { views: 0 };
    fc.assert(
      fc.property(chainArb, chainArb, fc.constantFrom(1, 2), (chain, other, threads) => {
        setThreads(threads);
        const expected = run(chain).slice(-3);
        const kept = resultScope(() => run(chain, seen).slice(-3));
        for (const t of kept) expect(inMemory(t)).toBe(false);
        resultScope(() => run(other, seen)); // overwrites (and poisons) the area
        kept.forEach((t, i) => expect(bitwiseEqual(t, expected[i])).toBe(true));
      }),
      { numRuns: 30, seed: 12 },
    );
    // every scope after the first has an area: the results were read and returned from it
    expect(seen.views).toBeGreaterThan(100);
  });

  it('a tensor kept past its scope any other way than returned reads NaN once the scope closes (scopes poisoned), the one returned keeps its values', () => {
    poisonScopes(true);
    resultScope(() => run([{ op: 0, a: 0, b: 0 }]));
    let leaked: Tensor | undefined;
    const outside = run([{ op: 0, a: 0, b: 0 }, { op: 4, a: 0, b: 0 }]);
    const returned = resultScope(() => {
      const made = run([{ op: 0, a: 0, b: 0 }, { op: 4, a: 0, b: 0 }]);
      leaked = made[2];
      expect(inMemory(made[2])).toBe(true);
      return made[3];
    });
    expect(bitwiseEqual(returned, outside[3])).toBe(true);
    expect(leaked !== undefined && Array.from(leaked.data).every((v) => Number.isNaN(v))).toBe(true);
  });

  it('a scope inside a scope hands its views to the outer one, which copies them out', () => {
    const outside = run([{ op: 0, a: 0, b: 0 }]);
    const inner: Tensor[] = [];
    const out = resultScope(() => {
      const t = resultScope(() => run([{ op: 0, a: 0, b: 0 }])[2]);
      inner.push(t);
      return t;
    });
    expect(inMemory(inner[0])).toBe(true);
    expect(inMemory(out)).toBe(false);
    expect(bitwiseEqual(out, outside[2])).toBe(true);
  });

  it('a scope taking more than its area grows it while it runs: every result is a view, with the bits it has outside a scope', () => {
    // larger values than any scope of this file so far took: the area, sized from those, cannot hold them all
    const big = (): Tensor[] => {
      const made = [normal(kx, [24, 16, 8, 8])];
      for (let i = 0; i < 40; i++) made.push(fastKernels.relu(fastKernels.conv2dOut(made[made.length - 1], w3, bias, g3)));
      return made;
    };
    const expected = big();
    for (let round = 0; round < 2; round++) {
      let copies = 0;
      const got = resultScope(() => {
        const made = big();
        for (const t of made.slice(1)) if (!inMemory(t)) copies++;
        return made;
      });
      expect(copies).toBe(0);
      got.forEach((t, i) => expect(bitwiseEqual(t, expected[i])).toBe(true));
    }
  });

  it('past 1 GiB of results in one scope, the rest are copied out as outside a scope, with the same bits', () => {
    const x = normal(kx, [64, 16, 64, 64]); // 16 MiB a result
    const expected = fastKernels.relu(x);
    let views = 0;
    let copies = 0;
    const last = resultScope(() => {
      let y = expected;
      for (let i = 0; i < 68; i++) {
        y = fastKernels.relu(x);
        if (inMemory(y)) views++;
        else copies++;
      }
      return y;
    });
    expect([views, copies]).toEqual([64, 4]);
    expect(bitwiseEqual(last, expected)).toBe(true);
  });

  it('growing the area lays the kept areas out anew: a GEMM packed once and Adam updating in place are refilled, not read stale', () => {
    const [ka, kb] = split(key(8), 2);
    const a = normal(ka, [64, 256]);
    const b = normal(kb, [256, 256]); // large enough to be kept packed (gemm.ts)
    const fastProduct = fastKernels.matmul(a, b, false, false);
    const step = { lrT: 0.01, c1: 0.1, c2: 0.001, wd: 0 };
    const adamChain = (k: typeof fastKernels, steps: number): Tensor => {
      let [p, m, v] = [normal(ka, [1 << 15]), normal(kb, [1 << 15]), fromData([1 << 15], Float32Array.from(normal(kb, [1 << 15]).data, Math.abs))];
      for (let i = 0; i < steps; i++) {
        const r = k.adamUpdate(p, normal(key(i), [1 << 15]), m, v, step);
        [p, m, v] = [r.p, r.m, r.v];
        // a scope taking more than the area at every step: the next scope lays everything out anew
        resultScope(() => {
          for (let j = 0; j <= i; j++) fastKernels.relu(normal(key(j), [40 + 8 * i, 16, 32, 32]));
        });
        expect(bitwiseEqual(fastKernels.matmul(a, b, false, false), fastProduct)).toBe(true);
      }
      return p;
    };
    expect(bitwiseEqual(adamChain(fastKernels, 4), adamChain(referenceKernels, 4))).toBe(true);
  });

  it('a result resident in a slot before the area grew is copied in afterwards, not read where the grown area has written', () => {
    const fill = (n: number): void => {
      for (let j = 0; j < n; j++) fastKernels.relu(normal(key(j), [64, 16, 32, 32])); // 4 MiB each
    };
    resultScope(() => fill(24)); // asks more than any scope so far: the next scope's area grows over the kept areas
    const r = fastKernels.relu(normal(kx, [16, 16, 16, 16])); // resident in a result slot
    const expected = fastKernels.add(fromData(r.shape, r.data.slice()), fromData(r.shape, r.data.slice()));
    const got = resultScope(() => {
      fill(24); // the grown area, from the start of the memory, written over where r's slot was
      return fastKernels.add(r, r);
    });
    expect(bitwiseEqual(got, expected)).toBe(true);
  });

  it('refuses a function that returns a Promise, and closes the scope after it and after a throw', () => {
    expect(() => resultScope(() => Promise.resolve(1))).toThrow(FoldnetError);
    expect(() =>
      resultScope(() => {
        run([{ op: 0, a: 0, b: 0 }]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    // no scope is left open: results outside one are copies of their own
    expect(inMemory(run([{ op: 0, a: 0, b: 0 }])[2])).toBe(false);
  });

  it("the lesson's pool (fused after a convolution, direct or Winograd, for training and for evaluation, or alone) and a matrix product leave their outputs and argmax in the area as views, with the values and gradients they give outside a scope, 1 and 2 threads", () => {
    poisonScopes(true);
    const [k1, k2, k3, k4, k5, k6] = split(key(21), 6);
    const x = normal(k1, [4, 3, 12, 12]);
    const w = normal(k2, [8, 3, 5, 5]);
    const b5 = normal(k3, [8]);
    const conv = convGeometry('c', { inH: 12, inW: 12, filterH: 5 }); // -> [4, 8, 8, 8]
    const pool = convGeometry('p', { inH: 8, inW: 8, filterH: 2, stride: 2 }); // -> [4, 8, 4, 4]
    const dy = normal(k4, [4, 8, 4, 4]);
    const [a, m] = [normal(k5, [4, 128]), normal(k6, [128, 10])];
    const x16 = normal(k6, [4, 16, 8, 8]);
    const { conv2dReluMaxPool, conv2dReluMaxPoolBackward } = fastKernels.fused ?? {};
    if (conv2dReluMaxPool === undefined || conv2dReluMaxPoolBackward === undefined) throw new Error('the fast kernels lost their fused pool');
    // the results, whether each was a view of the kernels' memory, and the gradients computed from them
    const results = (): { views: boolean[]; values: (Tensor | Int32Array)[] } => {
      const fused = conv2dReluMaxPool(x, w, b5, conv, pool, true);
      const grads = conv2dReluMaxPoolBackward(dy, fused.out, fused.argmax, x, w, conv, [4, 8, 8, 8], true);
      const pooled = fastKernels.maxPool2d(fastKernels.conv2dOut(x, w, b5, conv), pool);
      const poolDx = fastKernels.maxPool2dBackward(dy, pooled.argmax, [4, 8, 8, 8]);
      const product = fastKernels.matmul(a, m, false, false);
      // evaluation: no argmax kept; a 3x3 convolution takes Winograd before its pool
      const evaluated = conv2dReluMaxPool(x, w, b5, conv, pool, false).out;
      const wino = conv2dReluMaxPool(x16, w3, bias, g3, pool, false).out;
      const made = [fused.out.data, fused.argmax, pooled.out.data, pooled.argmax, product.data, evaluated.data, wino.data];
      return { views: made.map((d) => d.buffer instanceof SharedArrayBuffer), values: [fused.out, fused.argmax, grads.dw, grads.db!, grads.dx ?? fused.out, pooled.out, pooled.argmax, poolDx, product, evaluated, wino] };
    };
    for (const threads of [1, 2]) {
      setThreads(threads);
      const outside = results();
      expect(outside.views).toEqual([false, false, false, false, false, false, false]);
      resultScope(() => results()); // the next scope has an area
      const inside = resultScope(() => results());
      expect(resultScope(() => results().views)).toEqual([true, true, true, true, true, true, true]);
      inside.values.forEach((v, i) => {
        const want = outside.values[i];
        if (v instanceof Int32Array || want instanceof Int32Array) expect(Array.from(v as Int32Array)).toEqual(Array.from(want as Int32Array));
        else expect(bitwiseEqual(v, want)).toBe(true);
      });
    }
  });

  it('a convolution backward leaves db and dW (by the GEMM or by Winograd), and batch norm backward dgamma and dbeta, in the area as views that Adam reads in place, with the bits they have outside a scope: generated shapes, 1 and 2 threads', () => {
    poisonScopes(true);
    const { batchNormReluBackward } = fastKernels.fused ?? {};
    if (batchNormReluBackward === undefined) throw new Error('the fast kernels lost their fused batch norm');
    // a convolution with its filter gradient by the GEMM (any geometry Winograd does not take: 1x1 at stride 2, 5x5) or
    // by Winograd (3x3 stride 1 of 16 channels and more, where its tiles waste little: drawn twice as often), and a batch
    // norm of its output
    const caseArb = fc.record({
      N: fc.integer({ min: 1, max: 3 }), C: fc.constantFrom(1, 5, 16, 32), FN: fc.constantFrom(3, 16, 20), H: fc.integer({ min: 5, max: 17 }),
      conv: fc.constantFrom({ filterH: 1, stride: 2, pad: 0 }, { filterH: 5, stride: 1, pad: 2 }, { filterH: 3, stride: 1, pad: 1 }, { filterH: 3, stride: 1, pad: 1 }),
      needDx: fc.boolean(), threads: fc.constantFrom(1, 2), seed: fc.nat(1000),
    });
    const viewsBy = new Map<string, number>();
    fc.assert(
      fc.property(caseArb, ({ N, C, FN, H, conv, needDx, threads, seed }) => {
        setThreads(threads);
        const [k1, k2, k3, k4, k5, k6] = split(key(seed), 6);
        const x = normal(k1, [N, C, H, H]);
        const w = normal(k2, [FN, C, conv.filterH, conv.filterH]);
        const g = convGeometry('c', { inH: H, inW: H, ...conv });
        const dy = normal(k3, [N, FN, g.outH, g.outW]);
        const [gamma, dyBn] = [normal(k4, [FN]), normal(k5, [N, FN, g.outH, g.outW])];
        const out = fastKernels.relu(normal(k6, [N, FN, g.outH, g.outW]));
        const grads = (): Tensor[] => {
          const c = fastKernels.conv2dBackwardFromInput(dy, x, w, g, needDx);
          const bn = batchNormReluBackward(dyBn, out, dy, gamma, { mean: new Float64Array(FN).fill(0.5), variance: new Float64Array(FN).fill(2) }, 1e-5, true, false);
          return [c.dw, c.db ?? c.dw, bn.dgamma, bn.dbeta];
        };
        const { result: outside, paths } = traceConvPaths(grads);
        const dwPath = paths.find((p) => p.pass === 'filter gradient')?.algorithm;
        for (const t of outside) expect(inMemory(t)).toBe(false);
        const inside = resultScope(() => {
          const made = grads();
          expect(made.map(inMemory)).toEqual([true, true, true, true]);
          const path = dwPath?.startsWith('Winograd') ? 'Winograd' : dwPath ?? 'none';
          viewsBy.set(path, (viewsBy.get(path) ?? 0) + 1);
          // Adam reads the gradient where it is: the same update as from a copy of it
          const [p, m, v] = [normal(k4, w.shape), normal(k5, w.shape), fastKernels.relu(normal(k6, w.shape))];
          const step = { lrT: 0.01, c1: 0.1, c2: 0.001, wd: 0 };
          const fromView = fastKernels.adamUpdate(p, made[0], m, v, step);
          const fromCopy = referenceKernels.adamUpdate(p, fromData(w.shape, made[0].data.slice()), m, v, step);
          expect([fromView.p, fromView.m, fromView.v].every((t, i) => bitwiseEqual(t, [fromCopy.p, fromCopy.m, fromCopy.v][i]))).toBe(true);
          return made;
        });
        inside.forEach((t, i) => expect(bitwiseEqual(t, outside[i])).toBe(true));
      }),
      { numRuns: 60, seed: 17 },
    );
    // both paths of the filter gradient were taken, in several cases each
    expect(viewsBy.get('GEMM')).toBeGreaterThan(5);
    expect(viewsBy.get('Winograd')).toBeGreaterThan(5);
  });

  it('copies out views wherever they sit in plain objects and arrays, keeps frozen what was frozen, and leaves the rest as it is', () => {
    const plain = new Float32Array([1, 2]);
    const fn = (): number => 1;
    const map = new Map([['a', 1]]);
    const out = resultScope(() => {
      const t = run([{ op: 4, a: 0, b: 0 }])[2];
      return Object.freeze({ nested: [{ t }], again: t, plain, fn, map, n: 3, s: 'x', nothing: Object.freeze({ plain }) });
    });
    expect(Object.isFrozen(out)).toBe(true);
    expect(inMemory(out.nested[0].t)).toBe(false);
    expect(Object.isFrozen(out.nested[0].t)).toBe(true);
    expect(out.again).toBe(out.nested[0].t); // one tensor, one copy
    expect(out.plain).toBe(plain);
    expect(out.fn).toBe(fn);
    expect(out.map).toBe(map);
    expect([out.n, out.s]).toEqual([3, 'x']);
    expect(out.nothing.plain).toBe(plain);
  });

  it('returns an object with no view in it as it is, and rebuilds one with a view after its first entries in their order', () => {
    const untouched = Object.freeze({ a: [1, 2], b: { c: 'd' } });
    expect(resultScope(() => untouched)).toBe(untouched);
    const out = resultScope(() => ({ first: untouched, second: 2, view: run([{ op: 4, a: 0, b: 0 }])[2], last: [untouched] }));
    expect(Object.keys(out)).toEqual(['first', 'second', 'view', 'last']);
    expect(out.first).toBe(untouched);
    expect(out.last[0]).toBe(untouched);
    expect(out.second).toBe(2);
    expect(inMemory(out.view)).toBe(false);
    // an object met inside itself is not walked again, and a view met twice is copied once
    type Looped = { view: Tensor; again: Tensor; self?: Looped };
    const looped = resultScope(() => {
      const view = run([{ op: 4, a: 0, b: 0 }])[2];
      const o: Looped = { view, again: view };
      o.self = o;
      return o;
    });
    expect(inMemory(looped.view)).toBe(false);
    expect(looped.again).toBe(looped.view);
  });
});
