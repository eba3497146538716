import { key, normal, split, uniform, type Tensor } from '@foldnet/core';
import { lossAndGrad, softmax, type LayerState, type Network, type Params } from '@foldnet/layers';
import { adam, exportOnnx, loadMnist, type OnnxExportOptions } from '@foldnet/train';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';

/*
 * What the ONNX export tests share: every exported model runs in ONNX Runtime on real MNIST test
 * images and must agree with foldnet's own eval-mode forward within 1e-4 (max absolute difference
 * over the whole output).
 */

const mnist = loadMnist({ trainSize: 64, testSize: 32 });
if (mnist._tag === 'Left') throw mnist.left;
/** 32 MNIST test images [32, 1, 28, 28] in [0, 1]: the input every exported model is run on. */
export const images = mnist.right.test.images;
const trainImages = mnist.right.train.images;
const trainLabels = mnist.right.train.labels;

/** exportOnnx's bytes; a Left fails the test. */
export const exported = (net: Network, params: Params, state: LayerState, options: OnnxExportOptions = {}): Uint8Array => {
  const r = exportOnnx(net, params, state, options);
  if (r._tag === 'Left') throw r.left;
  return r.right;
};

/** Runs the model in ONNX Runtime on x (float32) and returns its single output. */
export const runOrt = async (bytes: Uint8Array, x: Tensor): Promise<{ name: string; dims: readonly number[]; data: Float32Array }> => {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]);
    const results = await session.run({ input });
    const name = session.outputNames[0];
    const out = results[name];
    if (!(out.data instanceof Float32Array)) throw new Error(`onnxruntime: output ${name} is not float32`);
    return { name, dims: out.dims, data: out.data };
  } finally {
    await session.release();
  }
};

/** max |a_i - b_i| over same-length arrays. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** Exports, runs both, and checks they agree; returns foldnet's output for further checks. */
export const checkAgainstOrt = async (net: Network, params: Params, state: LayerState, options: OnnxExportOptions = {}): Promise<Tensor> => {
  const ours = net.forward(params, state, images, { mode: 'eval' }).y;
  const expected = options.softmax ? softmax(ours) : ours;
  const theirs = await runOrt(exported(net, params, state, options), images);
  expect(theirs.name).toBe(options.softmax ? 'probabilities' : 'logits');
  expect(theirs.dims).toEqual(expected.shape);
  // The comparison means something only if the outputs are not all ~0 (tiny random weights).
  expect(maxAbs(expected.data)).toBeGreaterThan(0.05);
  expect(maxAbsDiff(theirs.data, expected.data)).toBeLessThanOrEqual(1e-4);
  return expected;
};

/** A few Adam steps on 64 training images, so the params are not just their initial draw. */
export const briefTrain = (net: Network, params: Params, state: LayerState, steps: number): { params: Params; state: LayerState } => {
  const opt = adam({ lr: 0.01 });
  let p = params;
  let s = state;
  let o = opt.init(p);
  for (const [i, k] of split(key(7), steps).entries()) {
    const r = lossAndGrad(net, p, s, trainImages, trainLabels, { mode: 'train', key: k });
    expect(Number.isFinite(r.loss), `step ${i} loss ${r.loss}`).toBe(true);
    ({ params: p, state: o } = opt.update(r.grads, o, p));
    s = r.state;
  }
  return { params: p, state: s };
};

/**
 * Batch norm starts at mean 0 / var 1 / gamma 1 / beta 0: replace them by random values so the
 * exported inference form is really exercised (var in [0.5, 2], |mean| up to 1).
 */
export const randomizeBatchNorm = (params: Params, state: LayerState, seed: number): { params: Params; state: LayerState } => {
  const p: Record<string, Tensor> = { ...params };
  const s: Record<string, Tensor> = { ...state };
  let k = key(seed);
  const next = (): ReturnType<typeof key> => {
    const [a, b] = split(k);
    k = b;
    return a;
  };
  for (const name of Object.keys(params)) {
    if (name.endsWith('.gamma')) p[name] = uniform(next(), params[name].shape, { low: 0.5, high: 1.5 });
    if (name.endsWith('.beta')) p[name] = normal(next(), params[name].shape, { std: 0.3 });
  }
  for (const name of Object.keys(state)) {
    if (name.endsWith('.mean')) s[name] = uniform(next(), state[name].shape, { low: -1, high: 1 });
    if (name.endsWith('.var')) s[name] = uniform(next(), state[name].shape, { low: 0.5, high: 2 });
  }
  return { params: p, state: s };
};

/** The decoded graph of an exported model. */
export const onnxGraph = (bytes: Uint8Array): onnxProto.onnx.IGraphProto => onnxProto.onnx.ModelProto.decode(bytes).graph ?? {};

/** The node of that name, if any. */
export const nodeByName = (g: onnxProto.onnx.IGraphProto, name: string): onnxProto.onnx.INodeProto | undefined => (g.node ?? []).find((n) => n.name === name);
