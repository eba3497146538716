import { fastKernels, fromData, key, normal, setThreads, split, type Tensor } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';

/*
 * The order of batch norm's sums in the fast set (wasm/batchnorm.wat), pinned bit for bit against a float32 model of
 * it. The kernels run four planes of a channel at a time (their chains of adds interleaved; past the channel's last
 * plane, that plane again, its sums unused and its elements written twice, the same values), which must leave every
 * plane's sums and their merging order as the promise below: a plane's S floats summed in
 * f32x4 lanes (lane j takes elements j, j+4, ... in turn) and a scalar tail, those five added in f64 as
 * ((l0 + l1) + (l2 + l3)) + tail; the forward's statistics per plane from its sum (mf, the float32 nearest its mean)
 * and its deviations from mf, merged plane after plane by Chan et al.'s update; the backward's sums G = sum g and
 * sum g (x - m) added plane after plane in f64; the backward's dx element by element as a g + (b (x - m) + k) in float32,
 * its coefficients worked out in f64 and rounded; the forward's output element by element as (x - m) scale + shift in
 * float32 (then + the addend, then ReLU), its coefficients worked out in f64 and rounded. The element passes also go four
 * planes at a time.
 */

afterEach(() => setThreads(1));

const f = Math.fround;

/** A plane's sum of term(i) over i < S in the kernels' order: four f32 lanes over whole vectors, a f32 tail, then f64. */
const laneSum = (S: number, term: (i: number) => number): number => {
  const lanes = [0, 0, 0, 0];
  const whole = S - (S % 4);
  for (let i = 0; i < whole; i++) lanes[i % 4] = f(lanes[i % 4] + term(i));
  let tail = 0;
  for (let i = whole; i < S; i++) tail = f(tail + term(i));
  return lanes[0] + lanes[1] + (lanes[2] + lanes[3]) + tail;
};

/** Channel c's mean and biased variance as the forward works them out. */
const modelStats = (x: Float32Array, N: number, C: number, S: number, c: number): [number, number] => {
  let [cnt, mean, M2] = [0, 0, 0];
  for (let n = 0; n < N; n++) {
    const at = (n * C + c) * S;
    const mf = f(laneSum(S, (i) => x[at + i]) / S);
    const r = laneSum(S, (i) => f(x[at + i] - mf));
    const q = laneSum(S, (i) => f(f(x[at + i] - mf) * f(x[at + i] - mf)));
    const pm = mf + r / S;
    const pM2 = q - (r * r) / S;
    const tot = cnt + S;
    const delta = pm - mean;
    mean += (delta * S) / tot;
    M2 = M2 + pM2 + (delta * delta * (cnt * S)) / tot;
    cnt = tot;
  }
  return [mean, Math.max(0, M2 / cnt)];
};

/** Channel c's backward sums G = sum g and sum g (x - m), g = dy masked where out <= 0 when out is given. */
const modelSums = (dy: Float32Array, x: Float32Array, out: Float32Array | undefined, N: number, C: number, S: number, c: number, m: number): [number, number] => {
  let [G, P] = [0, 0];
  for (let n = 0; n < N; n++) {
    const at = (n * C + c) * S;
    const g = (i: number): number => (out !== undefined && out[at + i] <= 0 ? 0 : dy[at + i]);
    G += laneSum(S, g);
    P += laneSum(S, (i) => f(g(i) * f(x[at + i] - m)));
  }
  return [G, P];
};

/**
 * dx as the kernels work it out from the sums: a = gamma / std, and for batch statistics b = -a P / (std^2 M) and
 * k = -a G / M + b (m - mean) (m the float32 nearest the mean), each rounded to float32, then per element
 * a g + (b (x - m) + k) in float32; g = dy masked where out <= 0 when out is given.
 */
const modelDx = (
  dy: Float32Array, x: Float32Array, out: Float32Array | undefined, gamma: ArrayLike<number>, stats: { mean: ArrayLike<number>; variance: ArrayLike<number> },
  eps: number, batchStats: boolean, N: number, C: number, S: number,
): Float32Array => {
  const dx = new Float32Array(x.length);
  for (let c = 0; c < C; c++) {
    const mean = stats.mean[c];
    const m = f(mean);
    const [G, Pm] = modelSums(dy, x, out, N, C, S, c, m);
    const shift = m - mean;
    const P = Pm + shift * G;
    const invStd = 1 / Math.sqrt(stats.variance[c] + eps);
    const a64 = gamma[c] * invStd;
    const b64 = batchStats ? (-a64 * invStd * invStd * P) / (N * S) : 0;
    const k64 = batchStats ? (-a64 * G) / (N * S) + b64 * shift : 0;
    const [a, b, k] = [f(a64), f(b64), f(k64)];
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * S; i < (n * C + c + 1) * S; i++) {
        const g = out !== undefined && out[i] <= 0 ? 0 : dy[i];
        dx[i] = f(f(a * g) + f(f(b * f(x[i] - m)) + k));
      }
    }
  }
  return dx;
};

/**
 * The forward's output as the kernels work it out: m the float32 nearest the mean, scale = gamma / sqrt(var + eps) and
 * shift = beta - (mean - m) scale in f64, both rounded to float32; then per element (x - m) scale + shift in float32,
 * plus the addend's element when given, then ReLU (y <= 0 gives +0) when asked.
 */
const modelOut = (
  x: Float32Array, gamma: ArrayLike<number>, beta: ArrayLike<number>, stats: { mean: ArrayLike<number>; variance: ArrayLike<number> }, eps: number,
  relu: boolean, addend: Float32Array | undefined, N: number, C: number, S: number,
): Float32Array => {
  const out = new Float32Array(x.length);
  for (let c = 0; c < C; c++) {
    const mean = stats.mean[c];
    const m = f(mean);
    const scale64 = gamma[c] / Math.sqrt(stats.variance[c] + eps);
    const [scale, shift] = [f(scale64), f(beta[c] - (mean - m) * scale64)];
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * S; i < (n * C + c + 1) * S; i++) {
        const y = addend === undefined ? f(f(f(x[i] - m) * scale) + shift) : f(f(f(f(x[i] - m) * scale) + shift) + addend[i]);
        out[i] = relu && y <= 0 ? 0 : y;
      }
    }
  }
  return out;
};

const sameFloats = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

const operands = (shape: number[], seed: number): { x: Tensor; dy: Tensor; gamma: Tensor; beta: Tensor } => {
  const [kx, kd, kg, kb] = split(key(seed), 4);
  const C = shape[1];
  // x around 3 (the statistics' shift matters), gamma of both signs (the fused ReLU masks some of dy)
  const x = fromData(shape, Float32Array.from(normal(kx, shape).data, (v) => 3 + 2 * v));
  return { x, dy: normal(kd, shape), gamma: normal(kg, [C]), beta: normal(kb, [C]) };
};

/**
 * N = 1..9 (every count of planes in a channel's last group of four: 1, 2, 3, 4, and a whole group before each) on planes
 * of 7 floats (a vector and a scalar tail) and 3 (a tail alone), at one and two threads.
 */
const everyLastGroup: [number[], number][] = [1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((N): [number[], number][] => [[[N, 3, 7], 1], [[N, 2, 3], 2], [[N, 5, 1, 7], 2]]);
/** N = 1..5 over the threads' split threshold (65536 elements: the two channels' passes on two threads), odd planes. */
const everyLastGroupSplit: [number[], number][] = [1, 2, 3, 4, 5].map((N): [number[], number] => [[N, 2, 2 * Math.ceil(32768 / N) + 3], 2]);

describe('batch norm sums in the fast set, in their promised order', () => {
  // N odd and even and of every remainder by four (planes past the last go unused), planes with and without a scalar
  // tail, one and two threads
  const cases: [number[], number][] = [
    [[7, 3, 5, 5], 1], [[6, 2, 3, 3], 1], [[1, 4, 2, 3], 1], [[9, 5, 4, 4], 2], [[100, 4, 7, 7], 2], [[5, 3], 1], [[101, 3, 5, 5], 2], ...everyLastGroup, ...everyLastGroupSplit,
  ];
  for (const [shape, threads] of cases) {
    it(`x=[${shape.join(',')}] at ${threads} thread(s): statistics, dbeta and dgamma equal the model's bit for bit, plain and after a fused ReLU`, () => {
      setThreads(threads);
      const [N, C] = shape;
      const S = shape.slice(2).reduce((a, b) => a * b, 1);
      const { x, dy, gamma, beta } = operands(shape, N * 31 + C);
      const eps = 1e-5;
      const fwd = fastKernels.batchNorm(x, gamma, beta, eps);
      const fused = fastKernels.fused?.batchNormRelu(x, gamma, beta, eps);
      expect(fused).toBeDefined();
      const xs = x.data as Float32Array;
      for (let c = 0; c < C; c++) {
        const [mean, variance] = modelStats(xs, N, C, S, c);
        expect(fwd.stats.mean[c], `mean of channel ${c}`).toBe(mean);
        expect(fwd.stats.variance[c], `variance of channel ${c}`).toBe(variance);
      }
      const plain = fastKernels.batchNormBackward(dy, x, gamma, fwd.stats, eps, true, true);
      const masked = fastKernels.fused?.batchNormReluBackward(dy, (fused as { out: Tensor }).out, x, gamma, fwd.stats, eps, true, true);
      for (const [grads, out] of [[plain, undefined], [masked, (fused as { out: Tensor }).out.data as Float32Array]] as const) {
        for (let c = 0; c < C; c++) {
          const mean = fwd.stats.mean[c];
          const m = f(mean);
          const [G, Pm] = modelSums(dy.data as Float32Array, xs, out, N, C, S, c, m);
          const P = Pm + (m - mean) * G;
          const what = `channel ${c}${out === undefined ? '' : ' after the ReLU'}`;
          expect(grads?.dbeta.data[c], `dbeta, ${what}`).toBe(f(G));
          expect(grads?.dgamma.data[c], `dgamma, ${what}`).toBe(f(P * (1 / Math.sqrt(fwd.stats.variance[c] + eps))));
        }
      }
    });
  }
});

describe('batch norm dx in the fast set, in its promised order', () => {
  // N of every remainder by four (the dx pass takes planes four at a time, the last again past the end), planes with
  // and without a scalar tail, short planes (a residual end's pullback masks first) and long ones (it masks in the sums
  // pass, storing the masked dy four planes at a time)
  const cases: [number[], number][] = [
    [[7, 3, 5, 5], 1], [[6, 2, 3, 3], 1], [[1, 4, 2, 3], 1], [[9, 5, 4, 4], 2], [[100, 4, 7, 7], 2], [[5, 3], 1], [[3, 2, 13, 11], 1], [[4, 3, 12, 12], 2],
    [[5, 2, 13, 11], 2], [[6, 3, 12, 11], 1], [[7, 2, 11, 13], 2], ...everyLastGroup, ...everyLastGroupSplit,
  ];
  for (const [shape, threads] of cases) {
    it(`x=[${shape.join(',')}] at ${threads} thread(s): dx equals the model's bit for bit, plain, after a fused ReLU and at a residual end, train and eval`, () => {
      setThreads(threads);
      const [N, C] = shape;
      const S = shape.slice(2).reduce((a, b) => a * b, 1);
      const { x, dy, gamma, beta } = operands(shape, N * 37 + C);
      const shortcut = normal(key(N + C), shape);
      const eps = 1e-5;
      const fused = fastKernels.fused;
      if (fused === undefined) throw new Error('the fast set has fused kernels');
      const [xs, dys] = [x.data as Float32Array, dy.data as Float32Array];
      for (const batchStats of [true, false]) {
        const running = batchStats ? undefined : { mean: Float64Array.from({ length: C }, (_, c) => 3 + c / 7), variance: Float64Array.from({ length: C }, (_, c) => 2 + c / 5) };
        const plain = fastKernels.batchNorm(x, gamma, beta, eps, running);
        const relu = fused.batchNormRelu(x, gamma, beta, eps, running);
        const end = fused.batchNormAddRelu(x, shortcut, gamma, beta, eps, running);
        const [reluOut, endOut] = [relu.out.data as Float32Array, end.out.data as Float32Array];
        const mode = batchStats ? 'train' : 'eval';
        const g1 = fastKernels.batchNormBackward(dy, x, gamma, plain.stats, eps, batchStats, true);
        expect(sameFloats(g1.dx?.data ?? [], modelDx(dys, xs, undefined, gamma.data, plain.stats, eps, batchStats, N, C, S)), `plain, ${mode}`).toBe(true);
        const g2 = fused.batchNormReluBackward(dy, relu.out, x, gamma, relu.stats, eps, batchStats, true);
        expect(sameFloats(g2.dx?.data ?? [], modelDx(dys, xs, reluOut, gamma.data, relu.stats, eps, batchStats, N, C, S)), `after ReLU, ${mode}`).toBe(true);
        const g3 = fused.batchNormAddReluBackward(dy, end.out, x, gamma, end.stats, eps, batchStats, true);
        expect(sameFloats(g3.dx?.data ?? [], modelDx(dys, xs, endOut, gamma.data, end.stats, eps, batchStats, N, C, S)), `residual end, ${mode}`).toBe(true);
        expect(sameFloats(g3.dsum.data, Float32Array.from(dys, (v, i) => (endOut[i] <= 0 ? 0 : v))), `residual end's dsum, ${mode}`).toBe(true);
      }
    });
  }
});

describe("batch norm's forward output in the fast set, in its promised order", () => {
  // the normalising pass four planes at a time: N of every remainder by four, planes with and without a scalar tail
  const cases: [number[], number][] = [[[100, 4, 7, 7], 2], [[7, 3, 13, 11], 1], [[6, 2, 12, 12], 2], ...everyLastGroup, ...everyLastGroupSplit];
  for (const [shape, threads] of cases) {
    it(`x=[${shape.join(',')}] at ${threads} thread(s): out equals the model's bit for bit, plain, with a fused ReLU and at a residual end, train and eval`, () => {
      setThreads(threads);
      const [N, C] = shape;
      const S = shape.slice(2).reduce((a, b) => a * b, 1);
      const { x, gamma, beta } = operands(shape, N * 41 + C);
      const shortcut = normal(key(N * 3 + C), shape);
      const eps = 1e-5;
      const fused = fastKernels.fused;
      if (fused === undefined) throw new Error('the fast set has fused kernels');
      const [xs, adds] = [x.data as Float32Array, shortcut.data as Float32Array];
      for (const batchStats of [true, false]) {
        const running = batchStats ? undefined : { mean: Float64Array.from({ length: C }, (_, c) => 3 + c / 7), variance: Float64Array.from({ length: C }, (_, c) => 2 + c / 5) };
        const mode = batchStats ? 'train' : 'eval';
        const plain = fastKernels.batchNorm(x, gamma, beta, eps, running);
        expect(sameFloats(plain.out.data, modelOut(xs, gamma.data, beta.data, plain.stats, eps, false, undefined, N, C, S)), `plain, ${mode}`).toBe(true);
        const relu = fused.batchNormRelu(x, gamma, beta, eps, running);
        expect(sameFloats(relu.out.data, modelOut(xs, gamma.data, beta.data, relu.stats, eps, true, undefined, N, C, S)), `with ReLU, ${mode}`).toBe(true);
        const end = fused.batchNormAddRelu(x, shortcut, gamma, beta, eps, running);
        expect(sameFloats(end.out.data, modelOut(xs, gamma.data, beta.data, end.stats, eps, true, adds, N, C, S)), `residual end, ${mode}`).toBe(true);
      }
    });
  }
});
