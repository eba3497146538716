import { fastKernels, fromData, key, normal, setThreads, split, type Tensor } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { batchNormMasksFromX, setBatchNormMaskFromX } from '../src/fast/batchnorm.js';

/*
 * A fused batch norm + ReLU pullback works the ReLU's mask out from x and the forward's coefficients, where the out it
 * is given is the output the fast set's forward made of that x (fast/batchnorm.ts: reluForwards): the same y, so the
 * same mask as reading out, with one stream over memory fewer. These tests hold it to reading out bit for bit, and check
 * that any other out (a copy, another x, other statistics) is read as before.
 */

afterEach(() => {
  setThreads(1);
  setBatchNormMaskFromX(true);
});

const sameBits = (a: Tensor | undefined, b: Tensor | undefined): boolean =>
  a !== undefined && b !== undefined && a.data.length === b.data.length && Array.from(a.data).every((v, i) => Object.is(v, b.data[i]));

const operands = (shape: number[], seed: number): { x: Tensor; dy: Tensor; gamma: Tensor; beta: Tensor } => {
  const [kx, kd, kg, kb] = split(key(seed), 4);
  const C = shape[1];
  // x around 3 with gamma and beta of both signs: each channel's mask keeps some of dy and drops some; a few y exactly
  // 0 (x = m with beta 0 would give them; here whole planes of x equal to a channel's mean are too rare to rely on)
  const x = fromData(shape, Float32Array.from(normal(kx, shape).data, (v) => 3 + 2 * v));
  return { x, dy: normal(kd, shape), gamma: normal(kg, [C]), beta: normal(kb, [C]) };
};

const fused = () => {
  const f = fastKernels.fused;
  if (f === undefined) throw new Error('the fast set has fused kernels');
  return f;
};

describe('a fused ReLU pullback takes its mask from x', () => {
  // planes four at a time with every remainder of N, planes with and without a scalar tail, resnet's 7x7 and a 28x28
  // split across two threads
  const cases: [number[], number][] = [
    [[7, 3, 5, 5], 1], [[6, 2, 3, 3], 2], [[1, 4, 2, 3], 1], [[9, 5, 4, 4], 2], [[5, 3], 1], [[10, 3, 7, 7], 2], [[20, 4, 28, 28], 2],
  ];
  for (const [shape, threads] of cases) {
    it(`x=[${shape.join(',')}] at ${threads} thread(s): dx, dgamma and dbeta the same bits as reading out, train and eval, with and without dx`, () => {
      setThreads(threads);
      const C = shape[1];
      const { x, dy, gamma, beta } = operands(shape, shape[0] * 13 + C);
      const eps = 1e-5;
      for (const batchStats of [true, false]) {
        const running = batchStats ? undefined : { mean: Float64Array.from({ length: C }, (_, c) => 3 + c / 7), variance: Float64Array.from({ length: C }, (_, c) => 2 + c / 5) };
        const fwd = fused().batchNormRelu(x, gamma, beta, eps, running);
        for (const needDx of [true, false]) {
          const before = batchNormMasksFromX();
          const fromX = fused().batchNormReluBackward(dy, fwd.out, x, gamma, fwd.stats, eps, batchStats, needDx);
          expect(batchNormMasksFromX(), 'the mask came from x').toBe(before + 1);
          setBatchNormMaskFromX(false);
          const fromOut = fused().batchNormReluBackward(dy, fwd.out, x, gamma, fwd.stats, eps, batchStats, needDx);
          setBatchNormMaskFromX(true);
          expect(batchNormMasksFromX(), 'switched off, out was read').toBe(before + 1);
          const what = `${batchStats ? 'batch' : 'running'} statistics${needDx ? '' : ', no dx'}`;
          expect(sameBits(fromX.dgamma, fromOut.dgamma), `dgamma, ${what}`).toBe(true);
          expect(sameBits(fromX.dbeta, fromOut.dbeta), `dbeta, ${what}`).toBe(true);
          if (needDx) expect(sameBits(fromX.dx, fromOut.dx), `dx, ${what}`).toBe(true);
          else expect(fromX.dx).toBeUndefined();
        }
      }
    });
  }

  it('the mask keeps what y > 0 keeps and drops y <= 0, as out does: a ReLU that masks part of every channel', () => {
    const shape = [8, 3, 6, 6];
    const { x, dy, gamma, beta } = operands(shape, 5);
    const fwd = fused().batchNormRelu(x, gamma, beta, 1e-5);
    const out = fwd.out.data;
    // the case is not trivial: some of out is 0 (masked) and some positive
    expect(Array.from(out).some((v) => v === 0) && Array.from(out).some((v) => v > 0)).toBe(true);
    const before = batchNormMasksFromX();
    const masked = fused().batchNormReluBackward(dy, fwd.out, x, gamma, fwd.stats, 1e-5, true, true);
    const unmasked = fastKernels.batchNormBackward(dy, x, gamma, fwd.stats, 1e-5, true, true);
    expect(batchNormMasksFromX()).toBe(before + 1);
    // dbeta = sum of the masked dy: the mask took something away
    const dbetaOf = (grads: { dbeta: Tensor }, c: number): number => grads.dbeta.data[c];
    const C = shape[1];
    const S = shape[2] * shape[3];
    for (let c = 0; c < C; c++) {
      let kept = 0;
      for (let n = 0; n < shape[0]; n++) for (let i = (n * C + c) * S; i < (n * C + c + 1) * S; i++) if (out[i] > 0) kept += dy.data[i];
      expect(dbetaOf(masked, c)).toBeCloseTo(kept, 4);
      expect(dbetaOf(masked, c)).not.toBe(dbetaOf(unmasked, c));
    }
  });

  it('y exactly 0 is masked, as out = +0 is: x at its channel mean with beta 0', () => {
    // every channel's planes 1, 2, 3 in turn: the mean is 2 exactly, so m = mean, shift = beta = 0 and y = (2 - 2) scale = 0
    const shape = [3, 2, 4, 4];
    const x = fromData(shape, Float32Array.from({ length: 96 }, (_, i) => 1 + Math.floor(i / 32)));
    const dy = fromData(shape, Float32Array.from({ length: 96 }, (_, i) => 1 + (i % 5)));
    const gamma = fromData([2], Float32Array.of(1.5, -0.5));
    const beta = fromData([2], Float32Array.of(0, 0));
    const fwd = fused().batchNormRelu(x, gamma, beta, 1e-5);
    expect(Array.from(fwd.out.data).filter((v) => v === 0).length).toBeGreaterThan(32);
    const fromX = fused().batchNormReluBackward(dy, fwd.out, x, gamma, fwd.stats, 1e-5, true, true);
    setBatchNormMaskFromX(false);
    const fromOut = fused().batchNormReluBackward(dy, fwd.out, x, gamma, fwd.stats, 1e-5, true, true);
    expect(sameBits(fromX.dx, fromOut.dx)).toBe(true);
    expect(sameBits(fromX.dbeta, fromOut.dbeta)).toBe(true);
  });

  it('reads out where it is not the forward output of that x with those statistics: a copy of out, a copy of x, another mean', () => {
    const shape = [6, 3, 5, 5];
    const { x, dy, gamma, beta } = operands(shape, 9);
    const eps = 1e-5;
    const fwd = fused().batchNormRelu(x, gamma, beta, eps);
    const reference = (() => {
      setBatchNormMaskFromX(false);
      const g = fused().batchNormReluBackward(dy, fwd.out, x, gamma, fwd.stats, eps, true, true);
      setBatchNormMaskFromX(true);
      return g;
    })();
    const outCopy = fromData(shape, Float32Array.from(fwd.out.data));
    const xCopy = fromData(shape, Float32Array.from(x.data));
    for (const [what, out, xs] of [['a copy of out', outCopy, x], ['a copy of x', fwd.out, xCopy]] as const) {
      const before = batchNormMasksFromX();
      const g = fused().batchNormReluBackward(dy, out, xs, gamma, fwd.stats, eps, true, true);
      expect(batchNormMasksFromX(), what).toBe(before);
      expect(sameBits(g.dx, reference.dx), `dx with ${what}`).toBe(true);
      expect(sameBits(g.dgamma, reference.dgamma), `dgamma with ${what}`).toBe(true);
    }
    // statistics whose mean rounds to another float32 than the forward's m: out is read, whatever the backward makes of them
    const shifted = { mean: Float64Array.from(fwd.stats.mean, (v) => v + 0.25), variance: fwd.stats.variance };
    const before = batchNormMasksFromX();
    const g = fused().batchNormReluBackward(dy, fwd.out, x, gamma, shifted, eps, true, true);
    expect(batchNormMasksFromX()).toBe(before);
    setBatchNormMaskFromX(false);
    const readOut = fused().batchNormReluBackward(dy, fwd.out, x, gamma, shifted, eps, true, true);
    setBatchNormMaskFromX(true);
    expect(sameBits(g.dx, readOut.dx)).toBe(true);
  });
});
