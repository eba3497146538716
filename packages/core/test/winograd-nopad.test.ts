import { convGeometry, fromData, key, referenceKernels, setThreads, startThreads, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { resultSlot, workspace } from '../src/fast/layout.js';
import { copyF32, f32 } from '../src/fast/wasm.js';
import {
  setWinogradStrips, winogradConv, winogradConvAt, winogradDx, winogradDxFloats, winogradDxPlan, winogradInputGrad, winogradPlan, type WinogradPlan,
} from '../src/fast/winograd.js';

// Two ways Winograd's tiles (src/fast/winograd.ts, wasm/winograd.wat) touch memory, on generated shapes whose widths
// are no multiple of a group's (odd H and W, pads 0..2):
// - the output stores ($winogradStoreRow's and $winogradOutputTiles6's: whole vectors, then lane stores for a row's last
//   1..3 floats): the output is written into shared memory between sentinels and must equal the reference with every
//   sentinel untouched;
// - the input read through strips of the padded input made as the groups come to them (pad.wat's stripRows), not from
//   a padded copy of the whole input: the same values in, so the same bits as the padded copy, in the forward and the
//   input gradient, with strips of one group row, two, or a whole image;
// at 1 thread and at 2.

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });
const f64 = (t: Tensor): Tensor => fromData(t.shape, Float64Array.from(t.data));
const maxAbsError = (got: Float32Array, exact: Tensor): number => got.reduce((e, v, i) => Math.max(e, Math.abs(v - exact.data[i])), 0);
// as test/winograd.test.ts: ~9C float32 roundings of the direct sum, F(4x4, 3x3)'s transforms 4x that
const toleranceOf = (C: number, m: 2 | 4): number => (m === 4 ? 4 : 1) * (4e-7 * 9 * C + 1e-5);

/** Floats of sentinels before and after the output. */
const GUARD = 64;
/** A NaN whose payload no kernel computes: a float that is still this after a run was never written. */
const SENTINEL_BITS = 0x7fa5a5a5;

/** Sentinels at the `GUARD` floats before byte `pout` and after its `n` floats (the output region itself too). */
const guard = (pout: number, n: number): void => {
  new Uint32Array(f32().buffer, pout - 4 * GUARD, n + 2 * GUARD).fill(SENTINEL_BITS);
};
/** How many of the sentinels around the output at `pout` (n floats) were written over. */
const sentinelsWritten = (pout: number, n: number): number => {
  const u = new Uint32Array(f32().buffer);
  const [before, after] = [pout / 4 - GUARD, pout / 4 + n];
  let written = 0;
  for (let i = 0; i < GUARD; i++) written += Number(u[before + i] !== SENTINEL_BITS) + Number(u[after + i] !== SENTINEL_BITS);
  return written;
};

/** The forward into a result slot GUARD floats in, sentinels around it: the output and the sentinels written over. */
const forwardGuarded = (plan: WinogradPlan, x: Tensor, w: Tensor, b: Tensor, relu: boolean): { out: Float32Array; written: number } => {
  const n = plan.N * plan.K * plan.OH * plan.OW;
  const slot = resultSlot(n + 2 * GUARD, [x.data]);
  const pout = slot.offset + 4 * GUARD;
  guard(pout, n);
  winogradConvAt(plan, x, w, b, relu, 0, { ...slot, offset: pout });
  return { out: copyF32(pout, n), written: sentinelsWritten(pout, n) };
};

/** The input gradient into a workspace region GUARD floats in, sentinels around it. */
const inputGradGuarded = (plan: WinogradPlan, dy: Tensor, w: Tensor): { out: Float32Array; written: number } => {
  const n = plan.N * plan.K * plan.OH * plan.OW;
  const [pdy, pscratch, pregion] = workspace([dy.size, winogradDxFloats(plan), n + 2 * GUARD]);
  f32().set(dy.data, pdy / 4);
  const pdx = pregion + 4 * GUARD;
  guard(pdx, n);
  winogradDx(plan, pdy, w.data, pscratch, pdx);
  return { out: copyF32(pdx, n), written: sentinelsWritten(pdx, n) };
};

/** Shapes with partial groups at the right and bottom: H and W 1..19 (odd ones among them), pads 0..2, C and K odd too. */
const caseArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }),
  C: fc.integer({ min: 16, max: 21 }),
  K: fc.integer({ min: 8, max: 13 }),
  H: fc.integer({ min: 1, max: 19 }),
  W: fc.integer({ min: 1, max: 19 }),
  pad: fc.integer({ min: 0, max: 2 }),
  m: fc.constantFrom(2 as const, 4 as const),
  relu: fc.boolean(),
  threads: fc.constantFrom(1, 2),
  seed: fc.nat(1000),
});

afterEach(() => {
  setThreads(1);
  setWinogradStrips(undefined);
});

describe('winograd writes its output rows and nothing past them', () => {
  it('forward x=[N,C,H,W] w=[K,C,3,3] pad 0..2, H and W 1..19, F(2x2,3x3) and F(4x4,3x3) (side by side or 2x2), with and without ReLU, 1 and 2 threads: equals the reference, sentinels before and after the output untouched', () => {
    const widths = new Set<number>();
    fc.assert(
      fc.property(caseArb, ({ N, C, K, H, W, pad, m, relu, threads, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        setThreads(threads);
        if (threads > 1) startThreads();
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const [x, w, b] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K])];
        const plan = winogradPlan(x.shape, K, g, 'forward', m);
        if (plan === undefined) throw new Error('no plan');
        widths.add(g.outW % 8);
        const { out, written } = forwardGuarded(plan, x, w, b, relu);
        const exact = relu ? referenceKernels.relu(referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g)) : referenceKernels.conv2dOut(f64(x), f64(w), f64(b), g);
        expect(written).toBe(0);
        expect(maxAbsError(out, exact)).toBeLessThan(toleranceOf(C, m));
      }),
      { seed: 40, numRuns: 120 },
    );
    // every count of a row's last floats: whole vectors alone (0, 4), and 1..3 floats after them
    expect([...widths].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('input gradient dx of x=[N,C,H,W] w=[K,C,3,3] pad 0..2, H and W 1..19, both tile sizes, 1 and 2 threads: equals the reference, sentinels untouched', () => {
    fc.assert(
      fc.property(caseArb, ({ N, C, K, H, W, pad, m, threads, seed }) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        setThreads(threads);
        if (threads > 1) startThreads();
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const [x, w] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3])];
        const dy = fill(seed + 3, [N, K, g.outH, g.outW]);
        const plan = winogradDxPlan(dy.shape, x.shape, g, m);
        if (plan === undefined) throw new Error('no plan');
        const { out, written } = inputGradGuarded(plan, dy, w);
        const exact = referenceKernels.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true).dx;
        if (exact === undefined) throw new Error('no dx');
        expect(written).toBe(0);
        expect(maxAbsError(out, exact)).toBeLessThan(toleranceOf(K, m));
      }),
      { seed: 41, numRuns: 80 },
    );
  });
});

describe('winograd reads its input through strips: the same bits as through a padded copy', () => {
  it('forward (with and without ReLU) and dx of x=[N,C,H,W] w=[K,C,3,3] pad 0..2, H and W 1..19, both tile sizes, strips of 1, 2 or all group rows, 1 and 2 threads', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArb, fc.constantFrom(1, 2, 1000), ({ N, C, K, H, W, pad, m, relu, threads, seed }, stripRows) => {
        fc.pre(H + 2 * pad >= 3 && W + 2 * pad >= 3);
        setThreads(threads);
        if (threads > 1) startThreads();
        const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
        const [x, w, b, dy] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K]), fill(seed + 3, [N, K, g.outH, g.outW])];
        const [plan, dxPlan] = [winogradPlan(x.shape, K, g, 'forward', m), winogradDxPlan(dy.shape, x.shape, g, m)];
        if (plan === undefined || dxPlan === undefined) throw new Error('no plan');
        seen.add(`${m},${plan.groupRows},${Math.min(stripRows, plan.tH) === plan.tH ? 'image' : 'rows'}`);
        const run = (): Tensor[] => [winogradConv(plan, x, w, b, relu), winogradInputGrad(dxPlan, dy, w)];
        setWinogradStrips(0);
        const padded = run();
        setWinogradStrips(stripRows);
        const stripped = run();
        padded.forEach((t, i) => expect(bitwiseEqual(t, stripped[i]), ['forward', 'dx'][i]).toBe(true));
      }),
      { seed: 42, numRuns: 120 },
    );
    // strips of a whole image and of fewer group rows, for F(2x2,3x3) and F(4x4,3x3) with its tiles side by side and 2x2
    expect([...seen].sort()).toEqual(['2,1,image', '2,1,rows', '4,1,image', '4,1,rows', '4,2,image', '4,2,rows']);
  });

  it('x=[24,17,28,27] w=[13,17,3,3] pad 1 (a chunk of groups starts inside an image at 2 threads): forward and dx by strips of one group row, the same bits at 2 threads as the padded copy at 1', () => {
    const g = convGeometry('conv', { inH: 28, inW: 27, filterH: 3, pad: 1 });
    const [x, w, b, dy] = [fill(5, [24, 17, 28, 27]), fill(6, [13, 17, 3, 3]), fill(7, [13]), fill(9, [24, 13, 28, 27])];
    const [plan, dxPlan] = [winogradPlan(x.shape, 13, g), winogradDxPlan(dy.shape, x.shape, g)];
    if (plan === undefined || dxPlan === undefined) throw new Error('no plan');
    const run = (): Tensor[] => [winogradConv(plan, x, w, b, true), winogradInputGrad(dxPlan, dy, w)];
    setWinogradStrips(0);
    const padded = run();
    setThreads(2);
    startThreads();
    setWinogradStrips(1);
    const stripped = run();
    padded.forEach((t, i) => expect(bitwiseEqual(t, stripped[i]), ['forward', 'dx'][i]).toBe(true));
  });
});

describe('which strips a plan takes', () => {
  const planOf = (C: number, H: number, K: number) => winogradPlan([100, C, H, H], K, convGeometry('conv', { inH: H, inW: H, filterH: 3, pad: 1 }));
  for (const [C, H, K, what] of [[16, 28, 16, 'deep conv2, resnet stage 1'], [32, 14, 32, 'resnet stage 2'], [64, 7, 64, 'resnet stage 3'], [64, 8, 64, 'deep conv6']] as const) {
    it(`x=[100,${C},${H},${H}] w=[${K},${C},3,3] pad 1 (${what}): a whole padded image at a time`, () => {
      const plan = planOf(C, H, K);
      expect(plan !== undefined && plan.stripGroupRows === plan.tH).toBe(true);
    });
  }
  it('x=[100,64,56,56] w=[64,64,3,3] pad 1 (2x2 tiles, 7 group rows): 1 group row at a time (150 KiB; 2 would take 270 KiB), x=[100,256,112,112]: a padded copy (one group row would take 1.2 MiB)', () => {
    expect([planOf(64, 56, 64)?.groupRows, planOf(64, 56, 64)?.tH, planOf(64, 56, 64)?.stripGroupRows]).toEqual([2, 7, 1]);
    expect(planOf(256, 112, 64)?.stripGroupRows).toBe(0);
  });
});
