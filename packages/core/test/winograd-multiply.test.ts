import { convGeometry, key, setThreads, startThreads, uniform, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { workspace } from '../src/fast/layout.js';
import { f32, wasm } from '../src/fast/wasm.js';
import {
  setWinogradMultiply, winogradConv, winogradDxPlan, winogradInputGrad, winogradMultiplyOf, winogradPlan, type WinogradPlan,
} from '../src/fast/winograd.js';

/*
 * winograd-multiply.wat's winogradMultiply, the X products M_ξ [K, tiles] = U_ξ [K, C] x V_ξ [C, tiles] of a block of
 * Winograd tiles in one call, against gemm.wat's gemmRows (one call a ξ), which winogradTiles took before: the same bits
 * on generated shapes (C and K odd, not multiples of 4 or 8, blocks ending inside a pair of panels of 8 tiles, special values), and
 * nothing written outside M's rows; whole convolutions and input gradients with it and without it, at 1 and 2 threads;
 * and which one winogradTiles takes for the presets' layers.
 */

afterEach(() => {
  setThreads(1);
  setWinogradMultiply(true);
});

const special = [0, -0, 1e-40, -3e-39, 65504, -1e30, Number.NaN, Infinity];
/** n floats spread in about [-4, 4], every 11th one special (±0, subnormals, large, NaN, Infinity) when `specials`. */
const values = (n: number, seed: number, specials: boolean): Float32Array =>
  Float32Array.from({ length: n }, (_, i) =>
    specials && i % 11 === 5 ? special[(i + seed) % special.length] : (((i * 7919 + seed * 104729) % 4001) - 2000) / 500 + 1 / 3);

/** A float no kernel writes: a NaN with a payload, to find stores outside M's rows. */
const SENTINEL = new Float32Array(new Int32Array([0x7fc0beef]).buffer)[0];
const bitsOf = (a: Float32Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);

interface Block {
  readonly C: number;
  readonly K: number;
  /** Tiles of the block: a multiple of 4 (whole groups), so part of a pair of panels of 8 when not a multiple of 16. */
  readonly tiles: number;
  /** Floats a row of M: a multiple of 16 at least the tiles rounded up to 16 (winogradTiles: 4 blockGroups). */
  readonly ldc: number;
  readonly xis: number;
  /** Bytes past each V_ξ and M_ξ before the next (winogradTiles: 64). */
  readonly gap: number;
  readonly seed: number;
  readonly specials: boolean;
}

const blockArb: fc.Arbitrary<Block> = fc
  .record({
    C: fc.integer({ min: 1, max: 72 }),
    K: fc.integer({ min: 2, max: 41 }),
    groups: fc.integer({ min: 1, max: 17 }),
    extraPanels: fc.integer({ min: 0, max: 2 }),
    xis: fc.constantFrom(1, 3, 16, 36),
    gap: fc.constantFrom(0, 16, 64),
    seed: fc.nat(1000),
    specials: fc.boolean(),
  })
  .map(({ groups, extraPanels, ...b }) => ({ ...b, tiles: 4 * groups, ldc: 16 * (Math.ceil(groups / 4) + extraPanels) }));

/** The block's tiles rounded up to a pair of panels: winogradMultiply computes and stores whole pairs. */
const pairedTiles = (b: Block): number => Math.ceil(b.tiles / 16) * 16;

/** M of a block by winogradMultiply or by gemmRows (one call a ξ), every float of its matrices and gaps, SENTINEL where unwritten. */
const multiply = (b: Block, by: 'winogradMultiply' | 'gemmRows'): Float32Array => {
  const { C, K, tiles, ldc, xis, gap, seed, specials } = b;
  // V_ξ: panels of 8 tiles x C channels up to a whole pair (the kernel reads them all)
  const vStride = (pairedTiles(b) / 8) * 32 * C + gap;
  const mStride = 4 * K * ldc + gap;
  const [pu, pv, pm] = workspace([xis * C * K + 4, (xis * vStride) / 4, (xis * mStride) / 4 + 64]);
  const mem = f32();
  mem.set(values(xis * C * K, seed, specials), pu / 4);
  mem.set(values((xis * vStride) / 4, seed + 1, specials), pv / 4);
  mem.fill(SENTINEL, pm / 4, pm / 4 + (xis * mStride) / 4 + 64);
  if (by === 'winogradMultiply') wasm.winogradMultiply(pu, C, K, pv, vStride, pm, mStride, tiles, ldc, xis);
  else for (let xi = 0; xi < xis; xi++) wasm.gemmRows(0, K, tiles, C, pu + 4 * xi * C * K, 1, K, pv + xi * vStride, pm + xi * mStride, ldc, 0, 0, 0);
  return Float32Array.from(mem.subarray(pm / 4, pm / 4 + (xis * mStride) / 4 + 64));
};

/**
 * The floats of M where winogradMultiply and gemmRows differ: within M_ξ's rows and tiles, a bit; elsewhere, any float
 * winogradMultiply wrote (past the tiles, up to the end of their last pair of panels, it stores what it made of V there:
 * allowed there, and only there). Empty when the two agree.
 */
const differences = (b: Block): number[] => {
  const [got, want] = [bitsOf(multiply(b, 'winogradMultiply')), bitsOf(multiply(b, 'gemmRows'))];
  const sentinel = bitsOf(Float32Array.of(SENTINEL))[0];
  const mStride = b.K * b.ldc + b.gap / 4;
  const whole = pairedTiles(b);
  const wrong: number[] = [];
  for (let i = 0; i < got.length; i++) {
    const [xi, inM] = [Math.floor(i / mStride), i % mStride];
    const [k, t] = [Math.floor(inM / b.ldc), inM % b.ldc];
    const inRows = xi < b.xis && k < b.K;
    if (inRows && t < b.tiles ? got[i] !== want[i] : !(inRows && t < whole) && got[i] !== sentinel) wrong.push(i);
  }
  return wrong;
};

describe('winogradMultiply equals gemmRows, one call a ξ, bit for bit', () => {
  it('M_ξ = U_ξ V_ξ for ξ < X of X 1, 3, 16, 36: C 1..72, K 2..41 (odd, not multiples of 4 or 8), 4..68 tiles (the last pair of panels of 8 tiles partly used when not a multiple of 16), rows of M wider than the tiles, gaps between the matrices, ±0, subnormals, NaN, Infinity; nothing written outside M\'s rows', () => {
    fc.assert(
      fc.property(blockArb, (b) => {
        expect(differences(b)).toEqual([]);
      }),
      { seed: 20, numRuns: 150 },
    );
  });

  it('sums 256 channels deep (gemmRows\' one block of channels) in the same order: C 256, K 13, 12 tiles', () => {
    expect(differences({ C: 256, K: 13, tiles: 12, ldc: 16, xis: 2, gap: 64, seed: 5, specials: false })).toEqual([]);
  });
});

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

/** A convolution's forward (with ReLU or not) and input gradient by the plans given, with winogradMultiply or without. */
const convolutions = (p: WinogradPlan, dxPlan: WinogradPlan, seed: number, relu: boolean, dedicated: boolean): Tensor[] => {
  const { N, C, H, W, K, OH, OW } = p;
  const [x, w, b, dy] = [fill(seed, [N, C, H, W]), fill(seed + 1, [K, C, 3, 3]), fill(seed + 2, [K]), fill(seed + 3, [N, K, OH, OW])];
  setWinogradMultiply(dedicated);
  return [winogradConv(p, x, w, b, relu), winogradInputGrad(dxPlan, dy, w)];
};

interface ConvCase {
  readonly N: number;
  readonly C: number;
  readonly K: number;
  readonly H: number;
  readonly W: number;
  readonly pad: number;
  readonly m: 2 | 4;
  readonly relu: boolean;
  readonly seed: number;
}

const convArb: fc.Arbitrary<ConvCase> = fc.record({
  N: fc.integer({ min: 1, max: 6 }),
  C: fc.integer({ min: 16, max: 37 }),
  K: fc.integer({ min: 8, max: 29 }),
  H: fc.integer({ min: 1, max: 23 }),
  W: fc.integer({ min: 1, max: 23 }),
  pad: fc.integer({ min: 0, max: 2 }),
  m: fc.constantFrom(2 as const, 4 as const),
  relu: fc.boolean(),
  seed: fc.nat(1000),
});

describe('winogradTiles with winogradMultiply equals it with gemmRows, bit for bit', () => {
  const plansOf = ({ N, C, K, H, W, pad, m }: ConvCase): [WinogradPlan, WinogradPlan] | undefined => {
    if (H + 2 * pad < 3 || W + 2 * pad < 3) return undefined;
    const g = convGeometry('conv', { inH: H, inW: W, filterH: 3, pad });
    const p = winogradPlan([N, C, H, W], K, g, 'forward', m);
    const dxPlan = winogradDxPlan([N, K, g.outH, g.outW], [N, C, H, W], g, m);
    return p === undefined || dxPlan === undefined ? undefined : [p, dxPlan];
  };

  it('forward (bias, ReLU or not) and input gradient x=[N,C,H,W] w=[K,C,3,3] pad 0..2, N 1..6, C 16..37, K 8..29, H and W 1..23 (group counts not multiples of 4: blocks ending inside a pair of panels), F(2x2,3x3) and F(4x4,3x3)', () => {
    fc.assert(
      fc.property(convArb, (c) => {
        const plans = plansOf(c);
        fc.pre(plans !== undefined);
        if (plans === undefined) return;
        const [withIt, without] = [convolutions(...plans, c.seed, c.relu, true), convolutions(...plans, c.seed, c.relu, false)];
        withIt.forEach((t, i) => expect(bitwiseEqual(t, without[i])).toBe(true));
      }),
      { seed: 21, numRuns: 60 },
    );
  });

  // 24 images: hundreds of groups, cut into ~16 chunks at 2 threads, so chunks and blocks start at other tiles than at 1 thread
  for (const [m, H, W, C, K] of [[2, 21, 19, 17, 13], [4, 21, 19, 19, 11], [4, 28, 27, 16, 16], [4, 7, 7, 33, 21]] as const) {
    it(`F(${m}x${m},3x3) forward with ReLU and input gradient x=[24,${C},${H},${W}] w=[${K},${C},3,3] pad 1: at 2 threads the bits of gemmRows at 1 thread`, () => {
      const plans = plansOf({ N: 24, C, K, H, W, pad: 1, m, relu: true, seed: 4 });
      if (plans === undefined) throw new Error('no plan');
      const one = convolutions(...plans, 4, true, false);
      setThreads(2);
      startThreads();
      const two = convolutions(...plans, 4, true, true);
      one.forEach((t, i) => expect(bitwiseEqual(t, two[i])).toBe(true));
    });
  }
});

describe('which multiply winogradTiles takes', () => {
  // [layer, C, K, H, pad] of the deep and resnet presets' 3x3 stride-1 convolutions (batch 100): forward and input gradient
  const layers: readonly [string, number, number, number, number][] = [
    ['deep conv2', 16, 16, 28, 1],
    ['deep conv3', 16, 32, 14, 1],
    ['deep conv4 (pad 2)', 32, 32, 14, 2],
    ['deep conv5', 32, 64, 8, 1],
    ['deep conv6', 64, 64, 8, 1],
    ['resnet stage 1', 16, 16, 28, 1],
    ['resnet stage 2', 32, 32, 14, 1],
    ['resnet stage 3', 64, 64, 7, 1],
  ];
  for (const [layer, C, K, H, pad] of layers) {
    it(`${layer}: x=[100,${C},${H},${H}] w=[${K},${C},3,3] pad ${pad}: forward and input gradient by winogradMultiply`, () => {
      const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad });
      const plans = [winogradPlan([100, C, H, H], K, g), winogradDxPlan([100, K, g.outH, g.outW], [100, C, H, H], g)];
      for (const p of plans) expect(p !== undefined && winogradMultiplyOf(p)).toBe('winogradMultiply');
    });
  }

  it('gemmRows where the sums are deeper than 256 channels (its blocks of 256 fix their order), and when turned off', () => {
    const g = convGeometry('conv', { inH: 8, inW: 8, filterH: 3, pad: 1 });
    const [deep, shallow] = [winogradPlan([1, 257, 8, 8], 16, g), winogradPlan([1, 256, 8, 8], 16, g)];
    if (deep === undefined || shallow === undefined) throw new Error('no plan');
    expect([winogradMultiplyOf(deep), winogradMultiplyOf(shallow)]).toEqual(['gemmRows', 'winogradMultiply']);
    setWinogradMultiply(false);
    expect(winogradMultiplyOf(shallow)).toBe('gemmRows');
  });
});
