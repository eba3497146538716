import { fastKernels, fromData, key, normal, referenceKernels, setThreads, split, type Tensor } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { batchNormPairsSummed, setBatchNormPairsInSums } from '../src/fast/batchnorm.js';
import { composedFusions } from '../src/kernels/composed.js';

/*
 * A residual end's pullback handed its output's two gradients apart (dyMore: the next block reads that output twice)
 * sums them in its sums pass (wasm/batchnorm.wat's $gradSums4KeptPair) where it masks there, else adds them first. Either
 * way the same bits as the pullback of add(dy, dyMore), which a graph handed over before.
 */

afterEach(() => {
  setThreads(1);
  setBatchNormPairsInSums(true);
});

const sameBits = (a: Tensor | undefined, b: Tensor | undefined): boolean =>
  a !== undefined && b !== undefined && a.data.length === b.data.length && Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));

const fused = () => {
  const f = fastKernels.fused;
  if (f === undefined) throw new Error('the fast set has fused kernels');
  return f;
};

const operands = (shape: number[], seed: number) => {
  const [kx, kd, km, kg, kb, ks] = split(key(seed), 6);
  const C = shape[1];
  const x = fromData(shape, Float32Array.from(normal(kx, shape).data, (v) => 3 + 2 * v));
  return { x, dy: normal(kd, shape), dyMore: normal(km, shape), gamma: normal(kg, [C]), beta: normal(kb, [C]), shortcut: normal(ks, shape) };
};

describe("a residual end's pullback of two gradients", () => {
  // planes of 128 floats and more sum the pair in the sums pass (resnet's 28x28 and 14x14), shorter ones add it first
  // (7x7); N of every remainder by four, a scalar tail, one and two threads
  const cases: [number[], number, boolean][] = [
    [[5, 3, 12, 12], 1, true], [[6, 2, 13, 11], 2, true], [[9, 4, 14, 14], 2, true], [[3, 2, 16, 9], 1, true],
    [[7, 3, 7, 7], 1, false], [[4, 2, 5, 5], 2, false],
  ];
  for (const [shape, threads, inSums] of cases) {
    it(`x=[${shape.join(',')}] at ${threads} thread(s): dsum, dx, dgamma and dbeta the bits of add(dy, dyMore)'s, ${inSums ? 'summed in the sums pass' : 'added first'}`, () => {
      setThreads(threads);
      const { x, dy, dyMore, gamma, beta, shortcut } = operands(shape, shape[0] * 7 + shape[1]);
      const eps = 1e-5;
      for (const batchStats of [true, false]) {
        const C = shape[1];
        const running = batchStats ? undefined : { mean: Float64Array.from({ length: C }, (_, c) => 3 + c / 7), variance: Float64Array.from({ length: C }, (_, c) => 2 + c / 5) };
        const fwd = fused().batchNormAddRelu(x, shortcut, gamma, beta, eps, running);
        for (const needDx of [true, false]) {
          const what = `${batchStats ? 'batch' : 'running'} statistics${needDx ? '' : ', no dx'}`;
          const summed = fused().batchNormAddReluBackward(fastKernels.add(dy, dyMore), fwd.out, x, gamma, fwd.stats, eps, batchStats, needDx);
          for (const on of [true, false]) {
            setBatchNormPairsInSums(on);
            const before = batchNormPairsSummed();
            const pair = fused().batchNormAddReluBackward(dy, fwd.out, x, gamma, fwd.stats, eps, batchStats, needDx, dyMore);
            expect(batchNormPairsSummed() - before, `${what}: summed in the sums pass (${on ? 'on' : 'off'})`).toBe(on && inSums ? 1 : 0);
            expect(sameBits(pair.dsum, summed.dsum), `dsum, ${what}`).toBe(true);
            expect(sameBits(pair.dgamma, summed.dgamma), `dgamma, ${what}`).toBe(true);
            expect(sameBits(pair.dbeta, summed.dbeta), `dbeta, ${what}`).toBe(true);
            if (needDx) expect(sameBits(pair.dx, summed.dx), `dx, ${what}`).toBe(true);
          }
        }
      }
    });
  }

  it('the pair is not the first gradient alone: dsum holds both, masked', () => {
    const shape = [4, 2, 12, 12];
    const { x, dy, dyMore, gamma, beta, shortcut } = operands(shape, 3);
    const fwd = fused().batchNormAddRelu(x, shortcut, gamma, beta, 1e-5);
    const pair = fused().batchNormAddReluBackward(dy, fwd.out, x, gamma, fwd.stats, 1e-5, true, true, dyMore);
    const out = fwd.out.data;
    const kept = Array.from(out).findIndex((v) => v > 0);
    const masked = Array.from(out).findIndex((v) => v <= 0);
    expect(pair.dsum.data[kept]).toBe(Math.fround(dy.data[kept] + dyMore.data[kept]));
    expect(pair.dsum.data[masked]).toBe(0);
  });

  it("the reference's composition takes the pair the same way: add(dy, dyMore), then its pullback", () => {
    const shape = [3, 2, 4, 4];
    const { x, dy, dyMore, gamma, beta, shortcut } = operands(shape, 4);
    const ref = composedFusions(referenceKernels);
    const fwd = ref.batchNormAddRelu(x, shortcut, gamma, beta, 1e-5);
    const pair = ref.batchNormAddReluBackward(dy, fwd.out, x, gamma, fwd.stats, 1e-5, true, true, dyMore);
    const summed = ref.batchNormAddReluBackward(referenceKernels.add(dy, dyMore), fwd.out, x, gamma, fwd.stats, 1e-5, true, true);
    for (const k of ['dsum', 'dx', 'dgamma', 'dbeta'] as const) expect(sameBits(pair[k], summed[k]), k).toBe(true);
  });
});
