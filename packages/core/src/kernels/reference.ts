import { alloc } from '../dtype.js';
import type { ConvGeometry } from '../geometry.js';
import { sizeOf, type Shape } from '../shape.js';
import { fromData, type Tensor } from '../tensor.js';
import type { AdamItem, AdamResult, AdamStep, BatchNormGrads, BatchNormResult, BatchNormStats, Conv2dGrads, Conv2dResult, Kernels, MaxPoolResult } from './contract.js';

/*
 * The reference kernels: plain loops, generic over float32 and float64, written to be obviously
 * right. They are the oracle every other backend is tested against; never optimise them.
 */

const matmul = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor => {
  const M = transA ? a.shape[1] : a.shape[0];
  const K = transA ? a.shape[0] : a.shape[1];
  const N = transB ? b.shape[0] : b.shape[1];
  const A = a.data;
  const B = b.data;
  const out = alloc(a.dtype, M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      // no skipping of zero aik: the oracle keeps IEEE semantics (0 * Infinity = NaN)
      const aik = transA ? A[k * M + i] : A[i * K + k];
      for (let j = 0; j < N; j++) out[i * N + j] += aik * (transB ? B[j * K + k] : B[k * N + j]);
    }
  }
  return fromData([M, N], out);
};

// Row (n, oy, ox), column (c, fy, fx); the input pixel read is (n, c, oy*stride - pad + fy, ox*stride - pad + fx).
const im2col = (x: Tensor, g: ConvGeometry): Tensor => {
  const [N, C, H, W] = x.shape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const cols = C * FH * FW;
  const out = alloc(x.dtype, N * outH * outW * cols);
  const X = x.data;
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        const row = ((n * outH + oy) * outW + ox) * cols;
        for (let c = 0; c < C; c++)
          for (let fy = 0; fy < FH; fy++) {
            const iy = oy * stride - pad + fy;
            if (iy < 0 || iy >= H) continue;
            for (let fx = 0; fx < FW; fx++) {
              const ix = ox * stride - pad + fx;
              if (ix < 0 || ix >= W) continue;
              out[row + (c * FH + fy) * FW + fx] = X[((n * C + c) * H + iy) * W + ix];
            }
          }
      }
  return fromData([N * outH * outW, cols], out);
};

// The same index map as im2col, read backwards: every column entry is added to the pixel it came from.
const col2im = (col: Tensor, xShape: Shape, g: ConvGeometry): Tensor => {
  const [N, C, H, W] = xShape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const cols = C * FH * FW;
  const out = alloc(col.dtype, sizeOf(xShape));
  const D = col.data;
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        const row = ((n * outH + oy) * outW + ox) * cols;
        for (let c = 0; c < C; c++)
          for (let fy = 0; fy < FH; fy++) {
            const iy = oy * stride - pad + fy;
            if (iy < 0 || iy >= H) continue;
            for (let fx = 0; fx < FW; fx++) {
              const ix = ox * stride - pad + fx;
              if (ix < 0 || ix >= W) continue;
              out[((n * C + c) * H + iy) * W + ix] += D[row + (c * FH + fy) * FW + fx];
            }
          }
      }
  return fromData(xShape, out);
};

// [N*OH*OW, FN] (rows n, oy, ox) <-> [N, FN, OH, OW]
const rowsToNCHW = (m: Tensor, N: number, FN: number, OH: number, OW: number, bias?: Tensor): Tensor => {
  const out = alloc(m.dtype, N * FN * OH * OW);
  const P = OH * OW;
  for (let n = 0; n < N; n++)
    for (let p = 0; p < P; p++)
      for (let f = 0; f < FN; f++) out[(n * FN + f) * P + p] = m.data[(n * P + p) * FN + f] + (bias ? bias.data[f] : 0);
  return fromData([N, FN, OH, OW], out);
};

const nchwToRows = (t: Tensor): Tensor => {
  const [N, FN, OH, OW] = t.shape;
  const P = OH * OW;
  const out = alloc(t.dtype, t.size);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < FN; f++)
      for (let p = 0; p < P; p++) out[(n * P + p) * FN + f] = t.data[(n * FN + f) * P + p];
  return fromData([N * P, FN], out);
};

// The lesson's Convolution: out = im2col(x) . W^T + b, then back to NCHW.
const conv2d = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Conv2dResult => {
  const FN = w.shape[0];
  const col = im2col(x, g);
  const wMat = fromData([FN, w.size / FN], w.data);
  const rows = matmul(col, wMat, false, true); // [N*OH*OW, FN]
  return { out: rowsToNCHW(rows, x.shape[0], FN, g.outH, g.outW, b), col };
};

const conv2dBackward = (dy: Tensor, col: Tensor, w: Tensor, xShape: Shape, g: ConvGeometry, needDx: boolean): Conv2dGrads => {
  const FN = w.shape[0];
  const dRows = nchwToRows(dy); // [N*OH*OW, FN]
  const db = alloc(dy.dtype, FN);
  for (let r = 0; r < dRows.shape[0]; r++) for (let f = 0; f < FN; f++) db[f] += dRows.data[r * FN + f];
  const dwMat = matmul(dRows, col, true, false); // [FN, C*FH*FW]
  const dx = needDx ? col2im(matmul(dRows, fromData([FN, w.size / FN], w.data), false, false), xShape, g) : undefined;
  return { dx, dw: fromData(w.shape, dwMat.data), db: fromData([FN], db) };
};

// x: [N, C, H, W] -> [N, C, OH, OW] and, per output, the flat input index of its maximum (-1 for a
// window entirely in padding, whose output is -Infinity).
const maxPool2d = (x: Tensor, g: ConvGeometry): MaxPoolResult => {
  const [N, C, H, W] = x.shape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const out = alloc(x.dtype, N * C * outH * outW);
  const argmax = new Int32Array(out.length).fill(-1);
  for (let nc = 0; nc < N * C; nc++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        const o = (nc * outH + oy) * outW + ox;
        let best = -Infinity;
        for (let fy = 0; fy < FH; fy++) {
          const iy = oy * stride - pad + fy;
          if (iy < 0 || iy >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const ix = ox * stride - pad + fx;
            if (ix < 0 || ix >= W) continue;
            const i = (nc * H + iy) * W + ix;
            const v = x.data[i];
            // strict '>' keeps the first maximum, and the first NaN wins, as numpy's max/argmax
            // (the lesson's pooling) do: a diverged activation is never hidden by its neighbours
            if (argmax[o] < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
              best = v;
              argmax[o] = i;
            }
          }
        }
        out[o] = best;
      }
  return { out: fromData([N, C, outH, outW], out), argmax };
};

const maxPool2dBackward = (dy: Tensor, argmax: Int32Array, xShape: Shape): Tensor => {
  const dx = alloc(dy.dtype, sizeOf(xShape));
  for (let o = 0; o < dy.size; o++) if (argmax[o] >= 0) dx[argmax[o]] += dy.data[o];
  return fromData(xShape, dx);
};

const avgPool2d = (x: Tensor, g: ConvGeometry): Tensor => {
  const [N, C, H, W] = x.shape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const out = alloc(x.dtype, N * C * outH * outW);
  const area = FH * FW;
  for (let nc = 0; nc < N * C; nc++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        let s = 0;
        for (let fy = 0; fy < FH; fy++) {
          const iy = oy * stride - pad + fy;
          if (iy < 0 || iy >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const ix = ox * stride - pad + fx;
            if (ix >= 0 && ix < W) s += x.data[(nc * H + iy) * W + ix];
          }
        }
        out[(nc * outH + oy) * outW + ox] = s / area;
      }
  return fromData([N, C, outH, outW], out);
};

const avgPool2dBackward = (dy: Tensor, xShape: Shape, g: ConvGeometry): Tensor => {
  const [N, C, H, W] = xShape;
  const { filterH: FH, filterW: FW, stride, pad, outH, outW } = g;
  const dx = alloc(dy.dtype, sizeOf(xShape));
  const area = FH * FW;
  for (let nc = 0; nc < N * C; nc++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        const share = dy.data[(nc * outH + oy) * outW + ox] / area;
        for (let fy = 0; fy < FH; fy++) {
          const iy = oy * stride - pad + fy;
          if (iy < 0 || iy >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const ix = ox * stride - pad + fx;
            if (ix >= 0 && ix < W) dx[(nc * H + iy) * W + ix] += share;
          }
        }
      }
  return fromData(xShape, dx);
};

// Plane p of x is the H W elements from p H W on; its sum is a double, so dividing it rounds once, when stored.
const globalAvgPool2d = (x: Tensor): Tensor => {
  const [N, C, H, W] = x.shape;
  const S = H * W;
  const out = alloc(x.dtype, N * C);
  for (let p = 0; p < N * C; p++) {
    let sum = 0;
    for (let s = 0; s < S; s++) sum += x.data[p * S + s];
    out[p] = sum / S;
  }
  return fromData([N, C], out);
};

const globalAvgPool2dBackward = (dy: Tensor, xShape: Shape): Tensor => {
  const [N, C, H, W] = xShape;
  const S = H * W;
  const dx = alloc(dy.dtype, sizeOf(xShape));
  for (let p = 0; p < N * C; p++) for (let s = 0; s < S; s++) dx[p * S + s] = dy.data[p] / S;
  return fromData(xShape, dx);
};

/** The oracle kernel set. @example withBackend('reference', () => matmul(a, b)) */
// The lesson's mask is x <= 0: where it holds the output is 0, elsewhere (x > 0, and NaN) the value goes through.
const relu = (x: Tensor): Tensor => {
  const X = x.data;
  const out = alloc(x.dtype, x.size);
  for (let i = 0; i < X.length; i++) out[i] = X[i] <= 0 ? 0 : X[i];
  return fromData(x.shape, out);
};

const reluBackward = (x: Tensor, dy: Tensor): Tensor => {
  const X = x.data;
  const D = dy.data;
  const out = alloc(dy.dtype, x.size);
  for (let i = 0; i < X.length; i++) out[i] = X[i] <= 0 ? 0 : D[i];
  return fromData(x.shape, out);
};

const maxPool2dOut = (x: Tensor, g: ConvGeometry): Tensor => maxPool2d(x, g).out;

const conv2dBackwardFromInput = (dy: Tensor, x: Tensor, w: Tensor, g: ConvGeometry, needDx: boolean, needDb = true): Conv2dGrads => {
  const r = conv2dBackward(dy, im2col(x, g), w, x.shape, g, needDx);
  return needDb ? r : { ...r, db: undefined };
};

const conv2dOut = (x: Tensor, w: Tensor, b: Tensor, g: ConvGeometry): Tensor => conv2d(x, w, b, g).out;

const adamUpdate = (p: Tensor, g: Tensor, m: Tensor, v: Tensor, { lrT, c1, c2, wd }: AdamStep): AdamResult => {
  const [P, G, Mo, V] = [p.data, g.data, m.data, v.data];
  const np = alloc(p.dtype, p.size);
  const nm = alloc(p.dtype, p.size);
  const nv = alloc(p.dtype, p.size);
  // x * 0 is ±0 for a finite x and NaN otherwise: the sum of them over what was stored is 0 exactly when all are finite
  let zeroIfFinite = 0;
  for (let i = 0; i < np.length; i++) {
    const gi = wd === 0 ? G[i] : G[i] + wd * P[i];
    const mi = Mo[i];
    const vi = V[i];
    nm[i] = mi + c1 * (gi - mi);
    nv[i] = vi + c2 * (gi * gi - vi);
    // read back the stored (rounded) moments, as numpy uses the updated arrays
    np[i] = P[i] - (lrT * nm[i]) / (Math.sqrt(nv[i]) + 1e-7);
    zeroIfFinite += nm[i] * 0 + nv[i] * 0 + np[i] * 0;
  }
  return { p: fromData(p.shape, np), m: fromData(p.shape, nm), v: fromData(p.shape, nv), finite: zeroIfFinite === 0 };
};

const adamUpdates = (items: readonly AdamItem[]): AdamResult[] => items.map(({ p, g, m, v, step }) => adamUpdate(p, g, m, v, step));

// summed element by element in input order, as JavaScript adds (float32 operands: the sum rounded once)
const add = (a: Tensor, b: Tensor): Tensor => {
  const out = alloc(a.dtype, a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  return fromData(a.shape, out);
};

/**
 * x [N, C, ...] seen as N * C planes of S positions (S = 1 for [N, C]): channel c of image n is the plane
 * (n * C + c), and a channel's statistics run over its N planes.
 */
const planesOf = (x: Tensor): { N: number; C: number; S: number } => {
  const [N, C] = x.shape;
  return { N, C, S: N * C === 0 ? 0 : x.size / (N * C) };
};

// Batch statistics in double precision, two passes (the mean, then the squared deviations from it).
const batchStatsOf = (x: Tensor): BatchNormStats => {
  const { N, C, S } = planesOf(x);
  const M = N * S;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) m += x.data[(n * C + c) * S + s];
    m /= M;
    let v = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v += (x.data[(n * C + c) * S + s] - m) ** 2;
    mean[c] = m;
    variance[c] = v / M;
  }
  return { mean, variance };
};

// xhat = (x - mean) / sqrt(variance + eps) in double precision; y = gamma * xhat + beta rounded once to the dtype.
const batchNorm = (x: Tensor, gamma: Tensor, beta: Tensor, eps: number, running?: BatchNormStats): BatchNormResult => {
  const { N, C, S } = planesOf(x);
  const stats = running ?? batchStatsOf(x);
  const invStd = stats.variance.map((v) => 1 / Math.sqrt(v + eps));
  const out = alloc(x.dtype, x.size);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        out[i] = gamma.data[c] * ((x.data[i] - stats.mean[c]) * invStd[c]) + beta.data[c];
      }
  return { out: fromData(x.shape, out), stats };
};

const batchNormBackward = (dy: Tensor, x: Tensor, gamma: Tensor, stats: BatchNormStats, eps: number, batchStats: boolean, needDx: boolean): BatchNormGrads => {
  const { N, C, S } = planesOf(x);
  const M = N * S;
  const invStd = stats.variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = (i: number, c: number): number => (x.data[i] - stats.mean[c]) * invStd[c];
  const sumDy = new Float64Array(C);
  const sumDyXhat = new Float64Array(C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        sumDy[c] += dy.data[i];
        sumDyXhat[c] += dy.data[i] * xhat(i, c);
      }
  const dgamma = alloc(gamma.dtype, C);
  const dbeta = alloc(gamma.dtype, C);
  dgamma.set(sumDyXhat);
  dbeta.set(sumDy);
  let dx: Tensor | undefined;
  if (needDx) {
    const d = alloc(x.dtype, x.size);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const g = gamma.data[c] * invStd[c];
        for (let s = 0; s < S; s++) {
          const i = (n * C + c) * S + s;
          // batch statistics depend on x too: dx = gamma/std * (dy - mean(dy) - xhat * mean(dy * xhat))
          d[i] = batchStats ? g * (dy.data[i] - sumDy[c] / M - (xhat(i, c) * sumDyXhat[c]) / M) : g * dy.data[i];
        }
      }
    dx = fromData(x.shape, d);
  }
  return { dx, dgamma: fromData([C], dgamma), dbeta: fromData([C], dbeta) };
};

/**
 * True when every element is finite (no NaN, no ±Infinity).
 *
 * float32 data is summed in float64 instead of testing each element: a NaN or an infinity makes the sum NaN or
 * infinite, and a sum of finite float32 values cannot overflow (2^53 elements of at most 2^128 stay far below
 * 2^1024), so the sum is finite exactly when every element is. Four running sums let the additions overlap:
 * 0.23 against 0.39 ms for the 432,000 weights of the lesson's affine1, checked on every training step.
 */
export const allFinite = (x: Tensor): boolean => {
  const d = x.data;
  if (d instanceof Float32Array) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const n4 = d.length - (d.length % 4);
    for (let i = 0; i < n4; i += 4) {
      s0 += d[i];
      s1 += d[i + 1];
      s2 += d[i + 2];
      s3 += d[i + 3];
    }
    for (let i = n4; i < d.length; i++) s0 += d[i];
    return Number.isFinite(s0 + s1 + s2 + s3);
  }
  // float64 values can overflow a sum (1e308 + 1e308): one test each
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
};

/**
 * The oracle kernel set: plain loops for float32 and float64.
 *
 * @example withBackend('reference', () => matmul(a, b)) // or kernels('reference').matmul(a, b, false, false)
 */
export const referenceKernels: Kernels = Object.freeze({
  name: 'reference',
  matmul,
  im2col,
  col2im,
  conv2d,
  conv2dOut,
  conv2dBackward,
  conv2dBackwardFromInput,
  maxPool2d,
  maxPool2dOut,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool2d,
  globalAvgPool2dBackward,
  relu,
  reluBackward,
  adamUpdate,
  adamUpdates,
  allFinite,
  add,
  batchNorm,
  batchNormBackward,
});
