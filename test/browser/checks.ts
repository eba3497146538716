import {
  convGeometry,
  fastKernels,
  fromData,
  fusedKernelsOf,
  getThreads,
  key,
  referenceKernels,
  setThreads,
  split,
  uniform,
  type Tensor,
} from '@foldnet/core';
import { bitwiseEqual, closeTo, convGeometryArb } from '@foldnet/core/testing';
import { affine, conv2d, lossAndGrad, maxPool2d, network, relu, unwrap } from '@foldnet/layers';
import fc from 'fast-check';
import { initTrainState, trainStep } from '../../packages/train/src/fit/index.js';
import { adam } from '../../packages/train/src/optim/index.js';

/*
 * What the browser tests run inside a page's dedicated Worker (app/worker.ts), written once so Node can run the same
 * code: a subset of the fast kernels' differential tests against the reference kernels (packages/core/test/fast.test.ts
 * has the full set), each at the thread count in force, and a small network's forward and gradient whose bits Node must
 * match. No test runner exists in the page: a check throws an Error naming what differs.
 */

/** One differential check; `run` throws when the fast kernels disagree with the reference. */
export interface Check {
  readonly name: string;
  readonly run: () => void;
}

const fill = (seed: number, shape: readonly number[]): Tensor => uniform(key(seed), shape, { low: -1, high: 1 });

const must = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(what);
};

// float32 sums of K products in two orders differ by about K * 2^-24 * sum|terms| (as fast.test.ts)
const mustBeClose = (fast: Tensor, reference: Tensor, K: number, what: string): void => {
  const r = closeTo(fast, reference, { rtol: 1e-5, atol: 2e-6 * (K + 1) });
  must(r.ok, `${what}: ${r.message}`);
};

/** `f` at the thread count in force and at one thread: the threads split work, never change a bit. */
const mustMatchOneThread = (what: string, f: () => readonly Tensor[]): void => {
  const threads = getThreads();
  const many = f();
  setThreads(1);
  const one = f();
  setThreads(threads);
  many.forEach((t, i) => must(bitwiseEqual(t, one[i] ?? t), `${what}: result ${i} at ${threads} threads differs from 1 thread`));
};

const edgeSize = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 33), fc.integer({ min: 1, max: 40 }));
const convCase = fc.record({ c: convGeometryArb({ maxBatch: 3, maxChannels: 3, maxInput: 11 }), FN: edgeSize, seed: fc.nat(1000) });

/** The kernels' checks, run in this order. */
export const kernelChecks: readonly Check[] = [
  {
    name: 'matmul on generated sizes and every transpose equals the reference',
    run: () =>
      fc.assert(
        fc.property(edgeSize, edgeSize, edgeSize, fc.boolean(), fc.boolean(), fc.nat(1000), (M, N, K, transA, transB, seed) => {
          const a = fill(seed, transA ? [K, M] : [M, K]);
          const b = fill(seed + 1, transB ? [N, K] : [K, N]);
          mustBeClose(fastKernels.matmul(a, b, transA, transB), referenceKernels.matmul(a, b, transA, transB), K, `[${M},${K}]x[${K},${N}] transA=${transA} transB=${transB}`);
        }),
        { seed: 42, numRuns: 40 },
      ),
  },
  {
    name: 'matmul [512,256]x[256,128] (split across the threads) equals the reference and the bits of one thread',
    run: () => {
      const a = fill(12, [512, 256]);
      const b = fill(13, [256, 128]);
      mustBeClose(fastKernels.matmul(a, b, false, false), referenceKernels.matmul(a, b, false, false), 256, 'matmul');
      mustMatchOneThread('matmul', () => [fastKernels.matmul(a, b, false, false), fastKernels.matmul(b, a, true, true)]);
    },
  },
  {
    name: 'conv2d forward on generated geometries, stride and pad, equals the reference',
    run: () =>
      fc.assert(
        fc.property(convCase, ({ c, FN, seed }) => {
          const { xShape, geometry: g } = c;
          const x = fill(seed, xShape);
          const w = fill(seed + 1, [FN, xShape[1], g.filterH, g.filterW]);
          const b = fill(seed + 2, [FN]);
          const f = fastKernels.conv2d(x, w, b, g);
          const r = referenceKernels.conv2d(x, w, b, g);
          must(bitwiseEqual(f.col, r.col), `conv2d x=[${xShape}] w=[${w.shape}]: col differs`);
          mustBeClose(f.out, r.out, w.size / FN, `conv2d x=[${xShape}] w=[${w.shape}]`);
        }),
        { seed: 42, numRuns: 40 },
      ),
  },
  {
    name: 'conv2dBackward (dx, dw, db) on generated geometries equals the reference',
    run: () =>
      fc.assert(
        fc.property(convCase, fc.boolean(), ({ c, FN, seed }, needDx) => {
          const { xShape, geometry: g } = c;
          const x = fill(seed, xShape);
          const w = fill(seed + 1, [FN, xShape[1], g.filterH, g.filterW]);
          const col = referenceKernels.im2col(x, g);
          const dy = fill(seed + 3, [xShape[0], FN, g.outH, g.outW]);
          const f = fastKernels.conv2dBackward(dy, col, w, xShape, g, needDx);
          const r = referenceKernels.conv2dBackward(dy, col, w, xShape, g, needDx);
          const what = `conv2dBackward x=[${xShape}] w=[${w.shape}]`;
          mustBeClose(f.dw, r.dw, col.shape[0], `${what} dw`);
          mustBeClose(f.db!, r.db!, col.shape[0], `${what} db`);
          must(needDx === (f.dx !== undefined), `${what}: dx ${f.dx ? 'computed' : 'missing'} with needDx ${needDx}`);
          if (f.dx && r.dx) mustBeClose(f.dx, r.dx, FN * g.filterH * g.filterW, `${what} dx`);
        }),
        { seed: 43, numRuns: 40 },
      ),
  },
  {
    name: 'conv2d and conv2dBackward x=[12,3,20,20] w=[16,3,5,5] pad=2 (split across the threads) equal the reference and the bits of one thread',
    run: () => {
      const x = fill(21, [12, 3, 20, 20]);
      const w = fill(22, [16, 3, 5, 5]);
      const b = fill(23, [16]);
      const g = convGeometry('test', { inH: 20, inW: 20, filterH: 5, pad: 2 });
      const dy = fill(24, [12, 16, 20, 20]);
      const f = fastKernels.conv2d(x, w, b, g);
      const fb = fastKernels.conv2dBackward(dy, f.col, w, x.shape, g, true);
      const r = referenceKernels.conv2d(x, w, b, g);
      const rb = referenceKernels.conv2dBackward(dy, r.col, w, x.shape, g, true);
      mustBeClose(f.out, r.out, 75, 'conv2d out');
      mustBeClose(fb.dw, rb.dw, r.col.shape[0], 'conv2dBackward dw');
      if (fb.dx && rb.dx) mustBeClose(fb.dx, rb.dx, 400, 'conv2dBackward dx');
      mustMatchOneThread('conv2d', () => {
        const o = fastKernels.conv2d(x, w, b, g);
        const ob = fastKernels.conv2dBackward(dy, o.col, w, x.shape, g, true);
        return [o.out, ob.dw, ob.db!, ...(ob.dx ? [ob.dx] : [])];
      });
    },
  },
  {
    name: "the lesson's fused conv-ReLU-maxpool x=[16,1,28,28] w=[30,1,5,5] and its backward equal the reference and the bits of one thread",
    run: () => {
      const x = fromData([16, 1, 28, 28], Float32Array.from(fill(41, [16, 1, 28, 28]).data, (v) => Math.max(0, v)));
      const w = fill(42, [30, 1, 5, 5]);
      const b = fill(43, [30]);
      const g = convGeometry('conv', { inH: 28, inW: 28, filterH: 5 });
      const pg = convGeometry('pool', { inH: 24, inW: 24, filterH: 2, stride: 2 });
      const convShape = [16, 30, 24, 24];
      const dy = fill(44, [16, 30, 12, 12]);
      const fast = fusedKernelsOf(fastKernels);
      const reference = fusedKernelsOf(referenceKernels);
      const f = fast.conv2dReluMaxPool(x, w, b, g, pg, true);
      const r = reference.conv2dReluMaxPool(x, w, b, g, pg, true);
      mustBeClose(f.out, r.out, 25, 'conv2dReluMaxPool out');
      const fb = fast.conv2dReluMaxPoolBackward(dy, f.out, f.argmax, x, w, g, convShape, true);
      const rb = reference.conv2dReluMaxPoolBackward(dy, r.out, r.argmax, x, w, g, convShape, true);
      mustBeClose(fb.dw, rb.dw, 16 * 24 * 24, 'conv2dReluMaxPoolBackward dw');
      mustBeClose(fb.db!, rb.db!, 16 * 24 * 24, 'conv2dReluMaxPoolBackward db');
      mustMatchOneThread('conv2dReluMaxPool', () => {
        const o = fast.conv2dReluMaxPool(x, w, b, g, pg, true);
        const ob = fast.conv2dReluMaxPoolBackward(dy, o.out, o.argmax, x, w, g, convShape, true);
        return [o.out, ob.dw, ob.db!, ...(ob.dx ? [ob.dx] : [])];
      });
    },
  },
  {
    name: 'maxPool2d forward (values and argmax) and backward on generated windows, ties included, are bit-identical to the reference',
    run: () =>
      fc.assert(
        fc.property(convGeometryArb({ maxInput: 11 }), fc.nat(1000), fc.boolean(), ({ xShape, geometry: g }, seed, ties) => {
          const raw = fill(seed, xShape);
          const x = ties ? fromData(xShape, Float32Array.from(raw.data, (v) => Math.round(v * 2))) : raw;
          const f = fastKernels.maxPool2d(x, g);
          const r = referenceKernels.maxPool2d(x, g);
          const what = `maxPool2d x=[${xShape}] window ${g.filterH}x${g.filterW} stride ${g.stride} pad ${g.pad}`;
          must(bitwiseEqual(f.out, r.out) && f.argmax.every((v, i) => v === r.argmax[i]), what);
          const dy = fill(seed + 1, f.out.shape);
          must(bitwiseEqual(fastKernels.maxPool2dBackward(dy, f.argmax, xShape), referenceKernels.maxPool2dBackward(dy, r.argmax, xShape)), `${what}: backward`);
        }),
        { seed: 45, numRuns: 60 },
      ),
  },
  {
    name: 'adamUpdate on generated sizes around the wasm threshold, with and without weight decay, is bit-identical to the reference',
    run: () =>
      fc.assert(
        fc.property(fc.integer({ min: 16380, max: 16400 }).chain((n) => fc.constantFrom(n, n * 3 + 1)), fc.boolean(), fc.nat(1000), (n, decay, seed) => {
          const p = fill(seed, [n]);
          const g = fill(seed + 1, [n]);
          const m = fill(seed + 2, [n]);
          const v = fromData([n], Float32Array.from(fill(seed + 3, [n]).data, Math.abs));
          const step = { lrT: (0.001 * Math.sqrt(1 - 0.999 ** 3)) / (1 - 0.9 ** 3), c1: 1 - 0.9, c2: 1 - 0.999, wd: decay ? 0.01 : 0 };
          const f = fastKernels.adamUpdate(p, g, m, v, step);
          const r = referenceKernels.adamUpdate(p, g, m, v, step);
          must(bitwiseEqual(f.p, r.p) && bitwiseEqual(f.m, r.m) && bitwiseEqual(f.v, r.v), `adamUpdate n=${n} weight decay ${step.wd}`);
        }),
        { seed: 81, numRuns: 16 },
      ),
  },
];

/** A check's outcome, as the worker posts it. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
}

/** Runs every check and gives each one's outcome (a failure does not stop the others). */
export const runKernelChecks = (): CheckResult[] =>
  kernelChecks.map(({ name, run }) => {
    try {
      run();
      return { name, ok: true, message: '' };
    } catch (e) {
      return { name, ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  });

/**
 * A 64-bit FNV-1a digest of a float32 array's bytes, as 16 hex digits (two 32-bit halves with different offset bases):
 * equal arrays give equal digests, and the page need not send 433,890 floats back to compare them.
 */
export const digest = (data: Float32Array): string => {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let lo = 0x811c9dc5;
  let hi = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) {
    lo = Math.imul(lo ^ bytes[i], 0x01000193) >>> 0;
    hi = Math.imul(hi ^ bytes[i] ^ (lo & 0xff), 0x01000193) >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
};

/** The network case's results: the loss, and digests of the logits, of each gradient and of each param after training. */
export interface NetworkResult {
  readonly loss: number;
  readonly digests: Readonly<Record<string, string>>;
}

/**
 * SimpleConvNet's layers (conv 30 5x5, ReLU, pool 2, affine 100, ReLU, affine 10) with He weights from key(0), on a
 * batch of 20 images from key(1) with pixels in [0, 1) and labels 0..9 repeated: the forward and the gradient of the
 * mean cross-entropy through @foldnet/layers, then 3 training steps with Adam 0.001 on that batch (@foldnet/train's
 * fold and optimizer, from its sources: its package entry reads files), all on the fast kernels in force.
 *
 * @example networkCase().digests['grad conv1.W'] // the same 16 hex digits in Node and in a browser
 */
export const networkCase = (): NetworkResult => {
  const net = unwrap(
    network([1, 28, 28], [conv2d({ filters: 30, size: 5, weightInit: 'he' }), relu(), maxPool2d({ size: 2 }), affine({ units: 100, weightInit: 'he' }), relu(), affine({ units: 10, weightInit: 'he' })]),
  );
  const [modelKey, dataKey] = split(key(0));
  const { params, state } = net.init(modelKey);
  const x = uniform(dataKey, [20, 1, 28, 28], { low: 0, high: 1 });
  const labels = Int32Array.from({ length: 20 }, (_, i) => i % 10);
  const { loss, logits, grads } = lossAndGrad(net, params, state, x, labels);
  const digests: Record<string, string> = { logits: digest(Float32Array.from(logits.data)) };
  for (const [name, g] of Object.entries(grads)) digests[`grad ${name}`] = digest(Float32Array.from(g.data));
  const opt = adam({ lr: 0.001 });
  const step = trainStep(net, opt);
  let trained = initTrainState(net, opt, modelKey);
  for (let i = 0; i < 3; i++) trained = step(trained, { x, targets: labels });
  for (const [name, p] of Object.entries(trained.params)) digests[`after 3 Adam steps ${name}`] = digest(Float32Array.from(p.data));
  return { loss, digests };
};
