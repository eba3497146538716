import { convGeometry, fastKernels, key, normal, split, type Tensor } from '@foldnet/core';

/*
 * Kernels to chain over [2, 16, 8, 8] values, each taking one or two earlier results: a 3x3 convolution (Winograd), a
 * 1x1 one (the direct path), batch norm and its pullback, ReLU and its pullback, sums, and the convolution's input
 * gradient (Winograd). For tests of where results are kept and read (resident.test.ts, scope.test.ts).
 */

/** The shape of every value of a chain. */
export const chainShape = [2, 16, 8, 8];

const [kw, kv] = split(key(11), 4).slice(2);
const w3 = normal(kw, [16, 16, 3, 3]);
const w1 = normal(kv, [16, 16, 1, 1]);
const b = normal(kv, [16]);
const gamma = normal(kw, [16]);
const g3 = convGeometry('c3', { inH: 8, inW: 8, filterH: 3, pad: 1 });
const g1 = convGeometry('c1', { inH: 8, inW: 8, filterH: 1 });

/** The 1x1 convolution (the direct path, which reads its input in place). */
export const conv1x1 = (x: Tensor): Tensor => fastKernels.conv2dOut(x, w1, b, g1);

/** The kernels, each of (x, y) (one-input kernels ignore y). @example chainOps[0](x, y) // conv2dOut(x, w3, b, g3) */
export const chainOps: readonly ((x: Tensor, y: Tensor) => Tensor)[] = [
  (x) => fastKernels.conv2dOut(x, w3, b, g3),
  conv1x1,
  (x) => fastKernels.batchNorm(x, gamma, b, 1e-5).out,
  (x, y) => {
    const { stats } = fastKernels.batchNorm(x, gamma, b, 1e-5);
    const dx = fastKernels.batchNormBackward(y, x, gamma, stats, 1e-5, true, true).dx;
    if (dx === undefined) throw new Error('no dx');
    return dx;
  },
  (x) => fastKernels.relu(x),
  (x, y) => fastKernels.reluBackward(x, y),
  (x, y) => fastKernels.add(x, y),
  (x, y) => {
    const dx = fastKernels.conv2dBackwardFromInput(y, x, w3, g3, true).dx;
    if (dx === undefined) throw new Error('no dx');
    return dx;
  },
];
