import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLeft } from 'fp-ts/lib/Either.js';
import { key, normal, split, type Tensor } from '@foldnet/core';
import { decodeModelSpec, type Network } from '@foldnet/layers';
import {
  batchesOf,
  checkpointWeights,
  encodeSafetensors,
  loadCheckpoint,
  loadTrainState,
  initTrainState,
  optimizerFromName,
  optimizerNames,
  resumeTrainState,
  sampleWithReplacement,
  saveCheckpoint,
  saveTrainState,
  scan,
  trainStep,
  type AnyOptimizer,
  type LabeledData,
  type TrainState,
  type TrainStateCheckpoint,
} from '@foldnet/train';

/*
 * Whole training states in one file (saveTrainState / loadTrainState): a resumed run equals one
 * that never stopped, bit for bit, for every optimizer; a weights-only checkpoint can be evaluated
 * and says why it cannot be resumed; a different architecture is named tensor by tensor.
 */

const root = fs.mkdtempSync(join(tmpdir(), 'foldnet-trainstate-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// conv 2x3x3 on 1x6x6 -> batch norm -> relu -> pool -> affine 3: params, layer state, every kind of tensor.
const spec = (filters: number) => ({
  input: [1, 6, 6],
  layers: [{ type: 'conv2d', filters, size: 3 }, { type: 'batchNorm' }, { type: 'relu' }, { type: 'maxPool2d', size: 2 }, { type: 'affine', units: 3 }],
});
const build = (filters: number): Network => {
  const r = decodeModelSpec(spec(filters));
  if (isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const net = build(2);

const [modelKey, dataKey, xKey] = split(key(7), 3);
const data: LabeledData = { x: normal(xKey, [40, 1, 6, 6]), targets: Int32Array.from({ length: 40 }, (_, i) => i % 3) };
const batches = batchesOf(data, sampleWithReplacement({ key: dataKey, n: 40, batchSize: 8, steps: 6 }));

const run = (opt: AnyOptimizer, s0: TrainState<unknown>): TrainState<unknown> => {
  let last = s0;
  for (const s of scan(trainStep(net, opt), s0, batches.from(s0.step))) last = s;
  return last;
};
const runUntil = (opt: AnyOptimizer, s0: TrainState<unknown>, step: number): TrainState<unknown> => {
  let last = s0;
  for (const s of scan(trainStep(net, opt), s0, batches.from(s0.step))) {
    last = s;
    if (s.step === step) break;
  }
  return last;
};

const bits = (record: Readonly<Record<string, Tensor>>): Record<string, number[]> =>
  Object.fromEntries(Object.entries(record).map(([n, t]) => [n, Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]));

const loaded = (path: string): TrainStateCheckpoint => {
  const r = loadTrainState(path);
  if (isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const optimizer = (name: string): AnyOptimizer => {
  const r = optimizerFromName(name, { lr: 0.05 });
  if (isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('saveTrainState / loadTrainState / resumeTrainState', () => {
  for (const name of optimizerNames) {
    it(`${name}: 3 steps, save, load, 3 more steps equals 6 steps straight (params, layer state, optimizer state bit for bit)`, () => {
      const opt = optimizer(name);
      const s0 = initTrainState(net, opt, modelKey);
      const straight = run(opt, s0);
      const half = runUntil(opt, s0, 3);
      const file = join(root, `${name}.safetensors`);
      const saved = saveTrainState(file, { network: net, optimizer: opt, state: half, config: { note: 'any JSON' }, metrics: [{ step: 3 }] });
      expect(saved._tag).toBe('Right');
      const ckpt = loaded(file);
      expect(ckpt.step).toBe(3);
      expect(ckpt.config).toEqual({ note: 'any JSON' });
      expect(ckpt.metrics).toEqual([{ step: 3 }]);
      expect(ckpt.model).toEqual(JSON.parse(JSON.stringify(net.spec)));
      expect(ckpt.optimizer?.name).toBe(name);
      const resumed = resumeTrainState(ckpt, net);
      if (isLeft(resumed)) throw new Error(resumed.left.message);
      expect(resumed.right.optimizer.hyper).toEqual(opt.hyper);
      const end = run(resumed.right.optimizer, resumed.right.state);
      expect(end.step).toBe(6);
      expect(bits(end.params)).toEqual(bits(straight.params));
      expect(bits(end.layerState)).toEqual(bits(straight.layerState));
      expect(bits(opt.stateToTensors(end.opt).tensors)).toEqual(bits(opt.stateToTensors(straight.opt).tensors));
      expect(opt.stateToTensors(end.opt).scalars).toEqual(opt.stateToTensors(straight.opt).scalars);
    });
  }

  it('a weights-only checkpoint (no optimizer) is evaluated as is; resuming says why not', () => {
    const s = runUntil(optimizer('adam'), initTrainState(net, optimizer('adam'), modelKey), 2);
    const file = join(root, 'weights-only.safetensors');
    expect(saveTrainState(file, { network: net, state: s })._tag).toBe('Right');
    const ckpt = loaded(file);
    expect(ckpt.optimizer).toBeUndefined();
    const w = checkpointWeights(ckpt, net);
    if (isLeft(w)) throw new Error(w.left.message);
    expect(bits(w.right.params)).toEqual(bits(s.params));
    const r = resumeTrainState(ckpt, net);
    expect(isLeft(r) && r.left.message).toBe(
      `${file}: cannot resume training: the checkpoint holds no optimizer state (no "optimizer" in its metadata); its weights can still be evaluated`,
    );
  });

  it("an adam checkpoint whose opt.v.* tensors were removed: the weights load, resuming names the missing tensor", () => {
    const opt = optimizer('adam');
    const file = join(root, 'no-v.safetensors');
    saveTrainState(file, { network: net, optimizer: opt, state: runUntil(opt, initTrainState(net, opt, modelKey), 2) });
    const full = loadCheckpoint(file);
    if (isLeft(full)) throw new Error(full.left.message);
    const kept = Object.fromEntries(Object.entries(full.right.tensors).filter(([n]) => !n.startsWith('opt.v.')));
    saveCheckpoint(file, { tensors: kept, metadata: full.right.metadata });
    const ckpt = loaded(file);
    expect(checkpointWeights(ckpt, net)._tag).toBe('Right');
    const r = resumeTrainState(ckpt, net);
    expect(isLeft(r) && r.left.message).toMatch(
      /no-v\.safetensors: cannot resume training: optimizer state: adam\.stateFromTensors: optimizer state tensor v\.conv1\.W is missing; its weights can still be evaluated$/,
    );
  });

  it('a checkpoint of conv 2x1x3x3 loaded into conv 4x1x3x3: names conv1.W and both shapes', () => {
    const opt = optimizer('sgd');
    const file = join(root, 'arch.safetensors');
    saveTrainState(file, { network: net, optimizer: opt, state: initTrainState(net, opt, modelKey) });
    const other = build(4);
    const r = checkpointWeights(loaded(file), other);
    expect(isLeft(r) && r.left.message).toBe(`${file}: parameter conv1.W: the checkpoint has [2,1,3,3], the network expects [4,1,3,3]`);
    const resumed = resumeTrainState(loaded(file), other);
    expect(isLeft(resumed) && resumed.left.code).toBe('shape');
  });

  it('errors name the file as given by `name`, for a missing file and for a file that is not a training checkpoint', () => {
    const missing = loadTrainState(join(root, 'none.safetensors'), { name: 'none.safetensors' });
    expect(isLeft(missing) && missing.left.message).toMatch(/^none\.safetensors: cannot read: ENOENT/);
    const plain = join(root, 'plain.safetensors');
    fs.writeFileSync(plain, encodeSafetensors({ w: normal(key(1), [2]) }, {}));
    const r = loadTrainState(plain, { name: 'plain.safetensors' });
    expect(isLeft(r) && r.left.message).toBe('plain.safetensors: not a foldnet training checkpoint (metadata format is null, expected "foldnet-checkpoint/1")');
  });

  const withMetadata = (metadata: Record<string, string>): string => {
    const file = join(root, 'meta.safetensors');
    fs.writeFileSync(file, encodeSafetensors({ 'conv1.W': normal(key(1), [2]) }, { format: 'foldnet-checkpoint/1', ...metadata }));
    return file;
  };
  const cases: [string, Record<string, string>, RegExp][] = [
    ['no step', {}, /metadata step null is not a step count/],
    ['step "-1"', { step: '-1' }, /metadata step "-1" is not a step count/],
    ['step "1e3"', { step: '1e3' }, /metadata step "1e3" is not a step count/],
    ['model that is not JSON', { step: '1', model: '{' }, /metadata "model": not valid JSON/],
    ['optimizer without a name', { step: '1', optimizer: '{"lr":0.1}' }, /metadata "optimizer" must be a JSON object with a string "name"/],
    ['optimizer with a string lr', { step: '1', optimizer: '{"name":"sgd","lr":"fast"}' }, /metadata "optimizer": lr must be a number, got "fast"/],
    ['key of three words', { step: '1', key: '[1,2,3]' }, /metadata "key": keyFromState: expected four 32-bit integers/],
  ];
  for (const [what, metadata, message] of cases) {
    it(`metadata with ${what} is a format error`, () => {
      const r = loadTrainState(withMetadata(metadata));
      expect(isLeft(r) && r.left.code).toBe('format');
      expect(isLeft(r) && r.left.message).toMatch(message);
    });
  }

  it('an unknown optimizer name (lion) loads and can be evaluated, but cannot resume', () => {
    const opt = optimizer('sgd');
    const file = join(root, 'lion.safetensors');
    saveTrainState(file, { network: net, optimizer: opt, state: initTrainState(net, opt, modelKey) });
    const full = loadCheckpoint(file);
    if (isLeft(full)) throw new Error(full.left.message);
    saveCheckpoint(file, { tensors: full.right.tensors, metadata: { ...full.right.metadata, optimizer: '{"name":"lion","lr":0.1}' } });
    const ckpt = loaded(file);
    expect(checkpointWeights(ckpt, net)._tag).toBe('Right');
    const r = resumeTrainState(ckpt, net);
    expect(isLeft(r) && r.left.message).toMatch(/cannot resume training: optimizerFromName: unknown optimizer lion \(known: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, sgd-nesterov\); its weights can still be evaluated$/);
  });
});
