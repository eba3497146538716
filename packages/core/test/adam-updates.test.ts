import { allFinite, fastKernels, fromData, key, referenceKernels, setThreads, uniform, type AdamItem, type AdamResult, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { adamJobs } from '../src/fast/kernels.js';
import { untilAWorkerTakesPart } from './workers.js';

/*
 * adamUpdates: a whole step's params in one call. The fast set updates its float32 params of 512 elements or more as one
 * job (adam.wat's adamTensors over their elements laid end to end, split across the threads wherever a tensor ends),
 * at most 16 a job (one kept slot each), the rest by the reference loop. Every result must be the bits adamUpdate gives
 * its param alone (the per-tensor path) and the reference loop's.
 */

const fill = (seed: number, n: number): Tensor => uniform(key(seed), [n], { low: -1, high: 1 });
const positive = (seed: number, n: number): Tensor => fromData([n], Float32Array.from(fill(seed, n).data, Math.abs));
const f64 = (t: Tensor): Tensor => fromData(t.shape, Float64Array.from(t.data));
const stepOf = (count: number, wd: number) => ({ lrT: (0.001 * Math.sqrt(1 - 0.999 ** count)) / (1 - 0.9 ** count), c1: 1 - 0.9, c2: 1 - 0.999, wd });

const itemOf = (seed: number, n: number, wd: number, double: boolean): AdamItem => {
  const t = (x: Tensor): Tensor => (double ? f64(x) : x);
  return { p: t(fill(seed, n)), g: t(fill(seed + 1, n)), m: t(fill(seed + 2, n)), v: t(positive(seed + 3, n)), step: stepOf(3, wd) };
};

const sameResult = (a: AdamResult, b: AdamResult): boolean => bitwiseEqual(a.p, b.p) && bitwiseEqual(a.m, b.m) && bitwiseEqual(a.v, b.v) && a.finite === b.finite;

/** The checks every test makes: the batch against each item alone on the fast set and against the reference loop. */
const expectEachAlone = (items: readonly AdamItem[], got: readonly AdamResult[]): void => {
  expect(got).toHaveLength(items.length);
  items.forEach(({ p, g, m, v, step }, i) => {
    const what = `item ${i} of ${items.length}, ${p.size} ${p.dtype}`;
    expect(sameResult(got[i], referenceKernels.adamUpdate(p, g, m, v, step)), `${what}: against the reference`).toBe(true);
    expect(sameResult(got[i], fastKernels.adamUpdate(p, g, m, v, step)), `${what}: against adamUpdate alone`).toBe(true);
  });
};

// sizes: under the wasm threshold, around it, odd ones, and large enough to split alone
const sizeArb = fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 505, max: 520 }), fc.integer({ min: 600, max: 5000 }), fc.integer({ min: 16380, max: 40000 }));
const itemsArb = fc.array(fc.record({ n: sizeArb, decay: fc.boolean(), double: fc.nat(3).map((k) => k === 0) }), { minLength: 1, maxLength: 24 });

describe('adamUpdates: a step\'s params in one job', () => {
  afterEach(() => setThreads(1));

  it('generated parameter sets (1 to 24 params of 1 to 40000 elements, odd sizes, float32 and float64, weight decay or not): each result the bits of adamUpdate alone and of the reference, 1 and 2 threads', () => {
    fc.assert(
      fc.property(itemsArb, fc.constantFrom(1, 2), fc.nat(1000), (specs, threads, seed) => {
        setThreads(threads);
        const items = specs.map(({ n, decay, double }, i) => itemOf(seed + 10 * i, n, decay ? 0.01 : 0, double));
        expectEachAlone(items, fastKernels.adamUpdates(items));
      }),
      { seed: 91, numRuns: 40 },
    );
  });

  it('the params of 512 floats or more go in one job, the units spanning all of them: 15 such params and 30 small ones (resnet\'s sizes) are one job of 15 tensors', () => {
    const sizes = [144, 16, 16, 2304, 16, 16, 2304, 2304, 2304, 4608, 32, 9216, 512, 9216, 9216, 18432, 64, 36864, 2048, 36864, 36864, 640, 10];
    const items = [...sizes, ...Array.from({ length: 22 }, (_, i) => 16 + i)].map((n, i) => itemOf(7 * i, n, i % 2 === 0 ? 0.001 : 0, false));
    for (const threads of [1, 2]) {
      setThreads(threads);
      const before = adamJobs();
      const got = fastKernels.adamUpdates(items);
      expect(adamJobs()).toEqual({ jobs: before.jobs + 1, tensors: before.tensors + 15 });
      expectEachAlone(items, got);
    }
    // the worker really takes units of it
    untilAWorkerTakesPart(() => expectEachAlone(items, fastKernels.adamUpdates(items)));
  });

  it('more large params than kept slots (40 of 600 to 3000 floats) go in jobs of 16; 12 fed their own results back for 4 steps (in place in their slots), one of them given twice: the reference bits every time, 1 and 2 threads', () => {
    for (const threads of [1, 2]) {
      setThreads(threads);
      const many = Array.from({ length: 40 }, (_, i) => itemOf(100 + 5 * i, 600 + 61 * i, i % 3 === 0 ? 0.01 : 0, false));
      const before = adamJobs();
      const got = fastKernels.adamUpdates(many);
      expect(adamJobs()).toEqual({ jobs: before.jobs + 3, tensors: before.tensors + 40 });
      expectEachAlone(many, got);
      // the same tensors twice in one call (resident in one slot after the first step): the second must not run in place
      // in the slot the first one is updated in
      let items = many.slice(0, 12);
      for (let count = 1; count <= 4; count++) {
        const twice = [...items, items[5]];
        const got = fastKernels.adamUpdates(twice);
        expectEachAlone(twice, got);
        items = items.map((it, i) => ({ ...it, p: got[i].p, m: got[i].m, v: got[i].v, g: fill(1000 * count + i, it.p.size), step: stepOf(count + 1, it.step.wd) }));
      }
    }
  });

  it('a NaN or Infinity planted in one param flags that param alone, wherever a unit of the job starts or ends, 1 and 2 threads', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 512, max: 9000 }), { minLength: 2, maxLength: 8 }), fc.nat(100), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY), fc.constantFrom(1, 2), (sizes, which, at, bad, threads) => {
        setThreads(threads);
        const target = which % sizes.length;
        const items = sizes.map((n, i) => {
          const item = itemOf(3 * i, n, 0, false);
          if (i !== target) return item;
          const index = Math.min(n - 1, Math.floor(at * n));
          return { ...item, g: fromData([n], Float32Array.from(item.g.data, (x, j) => (j === index ? bad : x))) };
        });
        const got = fastKernels.adamUpdates(items);
        got.forEach((r, i) => expect(r.finite, `param ${i}, planted in ${target}`).toBe(i !== target));
        expect(allFinite(got[target].p)).toBe(false);
        expectEachAlone(items, got);
      }),
      { seed: 93, numRuns: 30 },
    );
  });
});
