import { convGeometry, fastKernels, normal, key, referenceKernels, split, traceConvPaths, type ConvPath } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { setDirectConv } from '../src/fast/kernels.js';
import { setWinograd } from '../src/fast/winograd.js';
import { PACKED_GEMM_NAME } from '../src/fast/conv-packed.js';

/*
 * traceConvPaths: the algorithms the fast kernels took, recorded at the calls that ran them (fast/paths.ts).
 */

const WINOGRAD = /^Winograd F\((2x2|4x4),3x3\)$/;

const operands = (shape: readonly number[], F: number, size: number) => {
  const [kx, kw, kb] = split(key(5), 3);
  return { x: normal(kx, shape), w: normal(kw, [F, shape[1], size, size]), b: normal(kb, [F]) };
};

const passes = (paths: readonly ConvPath[]) => paths.map((p) => [p.pass, p.algorithm]);

afterEach(() => {
  setWinograd(true);
  setDirectConv(true);
});

describe('traceConvPaths', () => {
  it('a 16 -> 16 3x3 convolution at 12x12: the forward, input and filter gradients by Winograd, with the shapes they ran on', () => {
    const { x, w, b } = operands([2, 16, 12, 12], 16, 3);
    const g = convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 });
    const { paths } = traceConvPaths(() => {
      const y = fastKernels.conv2dOut(x, w, b, g);
      return fastKernels.conv2dBackwardFromInput(y, x, w, g, true);
    });
    expect(paths.map((p) => p.pass)).toEqual(['forward', 'input gradient', 'filter gradient']);
    for (const p of paths) {
      expect(p.algorithm).toMatch(WINOGRAD);
      expect(p.x).toEqual([2, 16, 12, 12]);
      expect(p.filters).toEqual([16, 16, 3, 3]);
    }
  });

  it('with Winograd off: the direct convolution at stride 1, a GEMM over packed panels at stride 2; GEMM + col2im and GEMM backward', () => {
    setWinograd(false);
    const { x, w, b } = operands([2, 16, 12, 12], 16, 3);
    const g1 = convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1 });
    const g2 = convGeometry('conv', { inH: 12, inW: 12, filterH: 3, pad: 1, stride: 2 });
    const { paths } = traceConvPaths(() => {
      fastKernels.conv2dOut(x, w, b, g1);
      const y = fastKernels.conv2dOut(x, w, b, g2);
      fastKernels.conv2dBackwardFromInput(y, x, w, g2, true);
    });
    expect(passes(paths)).toEqual([['forward', 'direct'], ['forward', PACKED_GEMM_NAME], ['input gradient', 'GEMM + col2im'], ['filter gradient', 'GEMM']]);
    setDirectConv(false);
    expect(passes(traceConvPaths(() => fastKernels.conv2dOut(x, w, b, g1)).paths)).toEqual([['forward', PACKED_GEMM_NAME]]);
  });

  it("the lesson's first layer: its filter gradient from the pooled dy alone, no input gradient", () => {
    const { x, w, b } = operands([2, 1, 28, 28], 30, 5);
    const conv = convGeometry('conv', { inH: 28, inW: 28, filterH: 5 });
    const pool = convGeometry('pool', { inH: 24, inW: 24, filterH: 2, stride: 2 });
    const fused = fastKernels.fused;
    if (fused === undefined) throw new Error('the fast set has fused kernels');
    const { paths } = traceConvPaths(() => {
      const f = fused.conv2dReluMaxPool(x, w, b, conv, pool, true);
      fused.conv2dReluMaxPoolBackward(f.out, f.out, f.argmax, x, w, conv, [2, 30, 24, 24], false);
    });
    expect(passes(paths)).toEqual([['forward', 'direct'], ['filter gradient', 'from the pooled dy']]);
  });

  it('records nothing outside a trace nor for the reference kernels; an inner trace sees its own calls, the outer all', () => {
    const { x, w, b } = operands([1, 16, 8, 8], 8, 3);
    const g = convGeometry('conv', { inH: 8, inW: 8, filterH: 3, pad: 1 });
    fastKernels.conv2dOut(x, w, b, g);
    expect(traceConvPaths(() => referenceKernels.conv2dOut(x, w, b, g)).paths).toEqual([]);
    let inner: readonly ConvPath[] = [];
    const outer = traceConvPaths(() => {
      fastKernels.conv2dOut(x, w, b, g);
      inner = traceConvPaths(() => fastKernels.conv2dOut(x, w, b, convGeometry('conv', { inH: 8, inW: 8, filterH: 3, pad: 1, stride: 2 }))).paths;
    });
    expect(inner.map((p) => p.algorithm)).toEqual([PACKED_GEMM_NAME]);
    expect(outer.paths).toHaveLength(2);
    expect(outer.paths[1]).toBe(inner[0]);
  });
});
