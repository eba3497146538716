import { convGeometry, fastKernels, key, setThreads, split, traceConvPaths, uniform, type Key, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';
import { workspace } from '../src/fast/layout.js';
import { pairedJobs, runTogether } from '../src/fast/threads.js';
import { f32, wasm } from '../src/fast/wasm.js';

/*
 * Two jobs run as one across the threads (threads.ts's runTogether): the units of the first, then of the second, claimed
 * as one job's. Each part must give the bits of its export run whole; a convolution's backward runs its filter and
 * input gradients' jobs so, with the bits of 1 thread.
 */

/** n floats spread in [-50, 50], every 5th negative zero or NaN. */
const values = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => (i % 5 === 2 ? (i % 10 === 2 ? -0 : Number.NaN) : (((i * 7919 + seed * 104729) % 2003) - 1001) / 20));

const bitsAt = (p: number, n: number): number[] => Array.from(new Int32Array(f32().buffer, p, n));

afterEach(() => setThreads(1));

describe('runTogether', () => {
  // reluElements (items = elements) as the first part, in `units1` units of whole multiples of its align; reluBackwardElements second
  const inputsOf = (n1: number, n2: number, seed: number) => ({ x: values(n1, seed), y: values(n2, seed + 1), dy: values(n2, seed + 2) });
  const run = (inputs: ReturnType<typeof inputsOf>, units1: number, together: boolean): { relu: number[]; back: number[] } => {
    const [n1, n2] = [inputs.x.length, inputs.y.length];
    const [px, pr, py, pdy, pb] = workspace([n1, n1, n2, n2, n2]);
    const mem = f32();
    mem.set(inputs.x, px / 4);
    mem.set(inputs.y, py / 4);
    mem.set(inputs.dy, pdy / 4);
    mem.fill(7, pr / 4, pr / 4 + n1);
    mem.fill(7, pb / 4, pb / 4 + n2);
    if (together) {
      const align = Math.max(1, Math.ceil(n1 / units1));
      const first = { fn: 'reluElements', total: n1, align, args: [px, pr], worthSplitting: true } as const;
      runTogether(first, { fn: 'reluBackwardElements', total: n2, align: 1, args: [py, pdy, pb], worthSplitting: true }, 2);
    } else {
      wasm.reluElements(0, n1, px, pr);
      wasm.reluBackwardElements(0, n2, py, pdy, pb);
    }
    return { relu: bitsAt(pr, n1), back: bitsAt(pb, n2) };
  };

  it('reluElements over n1 = 0..3000 elements in 1..6 units, then reluBackwardElements over n2 = 0..3000, at 2 threads: each part the bits of its export run whole, nothing written past them', () => {
    setThreads(2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3000 }), fc.nat(100), (n1, units1, n2, seed) => {
        const inputs = inputsOf(n1, n2, seed);
        expect(run(inputs, units1, true)).toEqual(run(inputs, units1, false));
      }),
      { seed: 16, numRuns: 80 },
    );
  });

  it('a worker takes part (2 large units of the first part, 1M elements of the second), and the job counts as run together; at 1 thread the two run one after the other', () => {
    const inputs = inputsOf(200_000, 1_000_000, 3);
    const whole = run(inputs, 2, false);
    const before = pairedJobs();
    untilAWorkerTakesPart(() => expect(run(inputs, 2, true)).toEqual(whole));
    expect(pairedJobs()).toBeGreaterThan(before);
    setThreads(1);
    const [px, pr, py, pdy, pb] = workspace([8, 8, 8, 8, 8]);
    const at1 = pairedJobs();
    runTogether({ fn: 'reluElements', total: 8, align: 1, args: [px, pr], worthSplitting: true }, { fn: 'reluBackwardElements', total: 8, align: 1, args: [py, pdy, pb], worthSplitting: true });
    expect(pairedJobs()).toBe(at1);
  });
});

describe('a convolution backward whose filter and input gradients are one job each, run as one', () => {
  const fill = (k: Key, shape: readonly number[]): Tensor => uniform(k, shape, { low: -1, high: 1 });
  // 3x3 stride 1 (both by Winograd): resnet's three shapes (7x7: dW one share in 2 filter ranges at 2 threads; 14x14:
  // 6 shares; 28x28), batch 20, and odd ones; 3x3 stride 2 (dW by a GEMM from x, dx by phases or by a GEMM and col2im):
  // resnet's downsampling shapes and odd ones; resnet's 1x1 stride-2 shortcut. Batches large enough to be split.
  const cases = [
    { x: [20, 64, 7, 7], K: 64, size: 3, stride: 1, dx: 'Winograd', dW: 'Winograd' },
    { x: [20, 32, 14, 14], K: 32, size: 3, stride: 1, dx: 'Winograd', dW: 'Winograd' },
    { x: [20, 16, 28, 28], K: 16, size: 3, stride: 1, dx: 'Winograd', dW: 'Winograd' },
    { x: [30, 17, 9, 11], K: 21, size: 3, stride: 1, dx: 'Winograd', dW: 'Winograd' },
    { x: [40, 40, 13, 6], K: 24, size: 3, stride: 1, dx: 'Winograd', dW: 'Winograd' },
    { x: [20, 16, 28, 28], K: 32, size: 3, stride: 2, dx: 'stride-2 phases', dW: 'GEMM' },
    { x: [100, 12, 16, 12], K: 20, size: 3, stride: 2, dx: 'stride-2 phases', dW: 'GEMM' },
    { x: [20, 32, 14, 14], K: 64, size: 3, stride: 2, dx: 'GEMM + col2im', dW: 'GEMM' },
    { x: [100, 12, 15, 11], K: 20, size: 3, stride: 2, dx: 'GEMM + col2im', dW: 'GEMM' },
    { x: [100, 16, 28, 28], K: 32, size: 1, stride: 2, dx: 'stride-2 phases', dW: 'GEMM' },
  ] as const;
  for (const { x: [N, C, H, W], K, size, stride, dx: dxPath, dW: dwPath } of cases) {
    it(`x=[${N},${C},${H},${W}] w=[${K},${C},${size},${size}] stride ${stride} (dx by ${dxPath}, dW by ${dwPath}): dx and dW at 2 threads the bits of 1 thread, run as one job`, () => {
      const [kx, kw, kd] = split(key(N * C + K + stride), 3);
      const g = convGeometry('conv', { inH: H, inW: W, filterH: size, pad: size === 3 ? 1 : 0, stride });
      const x = fill(kx, [N, C, H, W]);
      const w = fill(kw, [K, C, size, size]);
      const dy = fill(kd, [N, K, g.outH, g.outW]);
      setThreads(1);
      const { result: one, paths } = traceConvPaths(() => fastKernels.conv2dBackwardFromInput(dy, x, w, g, true, false));
      expect(paths.find((p) => p.pass === 'input gradient')?.algorithm).toContain(dxPath);
      expect(paths.find((p) => p.pass === 'filter gradient')?.algorithm).toContain(dwPath);
      const before = pairedJobs();
      untilAWorkerTakesPart(() => {
        const two = fastKernels.conv2dBackwardFromInput(dy, x, w, g, true, false);
        expect(two.dx !== undefined && one.dx !== undefined && bitwiseEqual(two.dx, one.dx)).toBe(true);
        expect(bitwiseEqual(two.dw, one.dw)).toBe(true);
      });
      expect(pairedJobs()).toBeGreaterThan(before);
    });
  }
});
