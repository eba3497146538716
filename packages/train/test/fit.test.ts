import { describe, expect, test } from 'vitest';
import { isLeft, right } from 'fp-ts/lib/Either.js';
import { alloc, fromData, key, keyFromState, normal, split, tensor, type Key, type Tensor } from '@foldnet/core';
import { affine, dropout, lossAndGrad, network, relu, unwrap, type Layer, type Network, type Params } from '@foldnet/layers';
import {
  adam, batchesOf, decodeSafetensors, encodeSafetensors, fit, initTrainState, momentum, optimizerFromName, packTensors, sampleWithReplacement, scan, sgd, shuffledEpochs, trainStep, unpackTensors,
  type AnyOptimizer, type LabeledData, type SgdState, type TrainState,
} from '@foldnet/train';

/** Three Gaussian blobs in 4-D (std 0.6) around well separated centres: labels 0, 1, 2. */
const blobs = (k: Key, perClass: number): LabeledData => {
  const centres = [[2, 0, 0, 1], [-2, 1, 0, -1], [0, -2, 2, 0]];
  const noise = normal(k, [3 * perClass, 4], { std: 0.6 });
  const x = alloc('float32', 3 * perClass * 4);
  const labels = new Int32Array(3 * perClass);
  for (let n = 0; n < 3 * perClass; n++) {
    const c = n % 3;
    labels[n] = c;
    for (let d = 0; d < 4; d++) x[n * 4 + d] = centres[c][d] + noise.data[n * 4 + d];
  }
  return { x: fromData([3 * perClass, 4], x), targets: labels };
};

const mlp = (): Network => unwrap(network([4], [affine({ units: 16, weightInit: 'he' }), relu(), affine({ units: 3, weightInit: 'he' })]));
const [modelKey, dataKey, trainDataKey] = split(key(2026), 3);
const train = blobs(trainDataKey, 100);

const bytes = (params: Params): Record<string, number[]> =>
  Object.fromEntries(Object.entries(params).map(([n, t]) => [n, Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]));

/** Everything a run's outcome is: params, layer and optimizer state, bit for bit. */
const fingerprint = (opt: AnyOptimizer, s: TrainState<unknown>) => ({
  step: s.step,
  params: bytes(s.params),
  layerState: bytes(s.layerState),
  opt: bytes(opt.stateToTensors(s.opt).tensors),
  scalars: opt.stateToTensors(s.opt).scalars,
  loss: s.loss,
});

describe('trainStep', () => {
  test('one step: step+1, the loss of the batch before the update, params changed, inputs untouched', () => {
    const net = mlp();
    const opt = sgd({ lr: 0.1 });
    const s0 = initTrainState(net, opt, modelKey);
    expect(s0.step).toBe(0);
    expect(Number.isNaN(s0.loss)).toBe(true);
    const batch = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 32 })).at(0);
    const before = bytes(s0.params);
    const s1 = trainStep(net, opt)(s0, batch);
    expect(s1.step).toBe(1);
    expect(s1.fault).toBeUndefined();
    expect(bytes(s0.params)).toEqual(before); // purity: the old state is intact
    expect(bytes(s1.params)).not.toEqual(before);
    // the recorded loss is the loss on the batch with the params BEFORE the update
    expect(s1.loss).toBe(lossAndGrad(net, s0.params, s0.layerState, batch.x, batch.targets).loss);
    expect(s1.loss).not.toBe(lossAndGrad(net, s1.params, s1.layerState, batch.x, batch.targets).loss);
    expect(s1.loss).toBeGreaterThan(0);
    expect(s1.key).toBe(s0.key);
  });

  test('a labelled batch and its one-hot form give the same step', () => {
    const net = mlp();
    const opt = adam();
    const s0 = initTrainState(net, opt, modelKey);
    const b = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 16 })).at(3);
    const labels = b.targets instanceof Int32Array ? b.targets : new Int32Array(0);
    const oneHot = tensor(Array.from(labels).flatMap((l) => [0, 1, 2].map((k) => (k === l ? 1 : 0))), [labels.length, 3]);
    const a = trainStep(net, opt)(s0, b);
    const c = trainStep(net, opt)(s0, { x: b.x, targets: oneHot });
    expect(bytes(c.params)).toEqual(bytes(a.params));
  });
});

describe('determinism and resume', () => {
  const run = (opt: AnyOptimizer, steps: number, net: Network = mlp()) => {
    const batches = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 20, steps }));
    return fit(trainStep(net, opt), initTrainState(net, opt, modelKey), batches);
  };

  test('same seed, data and config twice: bit-identical params, optimizer state and loss (adam, 60 steps)', () => {
    const opt = adam({ lr: 0.01 });
    expect(fingerprint(opt, run(opt, 60))).toEqual(fingerprint(opt, run(opt, 60)));
  });

  test('a different data key gives different params (the test above can fail)', () => {
    const opt = adam({ lr: 0.01 });
    const net = mlp();
    const other = batchesOf(train, sampleWithReplacement({ key: key(7), n: 300, batchSize: 20, steps: 60 }));
    const s = fit(trainStep(net, opt), initTrainState(net, opt, modelKey), other);
    expect(bytes(s.params)).not.toEqual(bytes(run(opt, 60).params));
  });

  const resumeCases: [string, AnyOptimizer][] = [
    ['adam lr=0.01', adam({ lr: 0.01 })],
    ['momentum lr=0.05', momentum({ lr: 0.05 })],
  ];
  test.each(resumeCases)('%s with replacement: scan to k=17, then continue to n=40 from stream.from(17) equals scan to 40, bit for bit', (_, opt) => {
    const net = mlp();
    const stream = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 20, steps: 40 }));
    const step = trainStep(net, opt);
    const s0 = initTrainState(net, opt, modelKey);
    const straight = fit(step, s0, stream);
    const half = fit(step, s0, stream.until(17));
    expect(half.step).toBe(17);
    const resumed = fit(step, half, stream.from(half.step));
    expect(resumed.step).toBe(40);
    expect(fingerprint(opt, resumed)).toEqual(fingerprint(opt, straight));
  });

  test('shuffled epochs + dropout + optimizer state through stateToTensors/stateFromTensors (as a checkpoint does): resume equals uninterrupted', () => {
    const net = unwrap(network([4], [affine({ units: 16, weightInit: 'he' }), relu(), dropout({ rate: 0.3 }), affine({ units: 3 })]));
    const opt = optimizerFromName('adam', { lr: 0.01 });
    if (isLeft(opt)) throw opt.left;
    const o = opt.right;
    const stream = batchesOf(train, shuffledEpochs({ key: dataKey, n: 300, batchSize: 32, epochs: 3 })); // 10 batches/epoch, last of 12
    const step = trainStep(net, o);
    const s0 = initTrainState(net, o, modelKey);
    const straight = fit(step, s0, stream);
    expect(straight.step).toBe(30);
    const k = fit(step, s0, stream.until(13)); // stop mid-epoch
    // what a checkpoint keeps: params, layer state, optimizer tensors and scalars, step, key, last loss
    const saved = o.stateToTensors(k.opt);
    const restoredOpt = o.stateFromTensors({ tensors: { ...saved.tensors }, scalars: { ...saved.scalars } }, k.params);
    if (isLeft(restoredOpt)) throw restoredOpt.left;
    const restored: TrainState<unknown> = { ...k, params: { ...k.params }, opt: restoredOpt.right };
    const resumed = fit(step, restored, stream.from(restored.step));
    expect(fingerprint(o, resumed)).toEqual(fingerprint(o, straight));
  });

  test('resume through a safetensors checkpoint in memory (params, opt.* slots, step, key, adam count in metadata) equals uninterrupted training', () => {
    const net = mlp();
    const opt = adam({ lr: 0.01 });
    const stream = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 25, steps: 30 }));
    const step = trainStep(net, opt);
    const s0 = initTrainState(net, opt, modelKey);
    const straight = fit(step, s0, stream);
    const k = fit(step, s0, stream.until(11));
    // save: the checkpoint convention (params, opt.<slot>.<param>) with step, key and scalars as metadata
    const saved = opt.stateToTensors(k.opt);
    const optimizer: Record<string, Record<string, Tensor>> = {};
    for (const [name, t] of Object.entries(saved.tensors)) {
      const dot = name.indexOf('.');
      optimizer[name.slice(0, dot)] = { ...optimizer[name.slice(0, dot)], [name.slice(dot + 1)]: t };
    }
    const bytes = encodeSafetensors(packTensors({ params: k.params, optimizer, state: k.layerState }), {
      step: String(k.step),
      key: JSON.stringify(k.key.state),
      scalars: JSON.stringify(saved.scalars),
    });
    // load
    const decoded = decodeSafetensors(bytes, { file: 'memory' });
    if (isLeft(decoded)) throw decoded.left;
    const parts = unpackTensors(decoded.right.tensors);
    const flat: Record<string, Tensor> = {};
    for (const [slot, record] of Object.entries(parts.optimizer)) for (const [name, t] of Object.entries(record)) flat[`${slot}.${name}`] = t;
    const scalars: unknown = JSON.parse(decoded.right.metadata.scalars);
    const count = typeof scalars === 'object' && scalars !== null && 'count' in scalars && typeof scalars.count === 'number' ? scalars.count : -1;
    const restoredOpt = opt.stateFromTensors({ tensors: flat, scalars: { count } }, parts.params);
    if (isLeft(restoredOpt)) throw restoredOpt.left;
    const restored = {
      step: Number(decoded.right.metadata.step),
      params: parts.params,
      layerState: parts.state,
      opt: restoredOpt.right,
      key: keyFromState(JSON.parse(decoded.right.metadata.key)),
      loss: Number.NaN,
      fault: undefined,
    };
    const resumed = fit(step, restored, stream.from(restored.step));
    expect(fingerprint(opt, resumed)).toEqual(fingerprint(opt, straight));
  });

  test('scan yields one state per batch, in order, and is lazy (a stopped consumer computes no further step)', () => {
    const net = mlp();
    const opt = sgd({ lr: 0.1 });
    let calls = 0;
    const step = (s: TrainState<SgdState>, b: Parameters<ReturnType<typeof trainStep>>[1]) => {
      calls++;
      return trainStep(net, opt)(s, b);
    };
    const stream = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 10, steps: 50 }));
    const steps: number[] = [];
    for (const s of scan(step, initTrainState(net, opt, modelKey), stream)) {
      steps.push(s.step);
      if (s.step === 5) break;
    }
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toBe(5);
  });
});

describe('learning', () => {
  test('an MLP 4-16-3 learns three Gaussian blobs: held-out accuracy > 0.95 after 150 adam steps of 20', async () => {
    const { evaluate } = await import('@foldnet/train');
    const net = mlp();
    const opt = adam({ lr: 0.01 });
    const s0 = initTrainState(net, opt, modelKey);
    const test = blobs(key(99), 100);
    const before = evaluate(net, s0.params, s0.layerState, test);
    const s = fit(trainStep(net, opt), s0, batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 20, steps: 150 })));
    const after = evaluate(net, s.params, s.layerState, test);
    expect(before.accuracy).toBeLessThan(0.8);
    expect(after.accuracy).toBeGreaterThan(0.95);
    expect(after.loss).toBeLessThan(before.loss / 4);
  });
});

describe('numeric faults', () => {
  // A layer whose backward poisons its param's gradient with NaN: a finite loss, a NaN gradient.
  const poison: Layer = {
    name: 'poison',
    kind: 'poison',
    spec: { type: 'poison', name: 'poison' },
    outputShape: (s) => right(s),
    init: () => ({ params: { g: tensor([0]) }, state: {} }),
    forward: (_params, state, x) => ({
      y: x,
      state,
      pullback: (dy: Tensor) => ({ dx: dy, grads: { g: tensor([Number.NaN]) } }),
    }),
  };

  const nanAt = (data: LabeledData, row: number): LabeledData => {
    const x = alloc('float32', data.x.size);
    x.set(data.x.data);
    x[row * 4] = Number.NaN;
    return { x: fromData(data.x.shape, x), targets: data.targets };
  };

  test('a NaN input row gives a loss fault naming the step, the batch first sample and affine1 (first non-finite output)', () => {
    const net = unwrap(network([4], [affine({ units: 3 })])); // no ReLU after it: relu maps NaN to 0 (see the report)
    const opt = adam();
    const indexStream = sampleWithReplacement({ key: dataKey, n: 300, batchSize: 20, steps: 30 });
    const badRow = indexStream.at(4).indices[3]; // poison a row of batch 4
    const stream = batchesOf(nanAt(train, badRow), indexStream);
    const states = [...scan(trainStep(net, opt), initTrainState(net, opt, modelKey), stream)];
    const firstBad = states.findIndex((s) => s.fault !== undefined);
    expect(states.length).toBe(firstBad + 1); // 'stop' is the default: the stream ends with the faulty state
    const last = states[states.length - 1];
    const fault = last.fault;
    expect(fault?.kind).toBe('loss');
    expect(fault?.step).toBe(last.step - 1);
    expect(fault?.firstSample).toBe(indexStream.at(fault?.step ?? -1).indices[0]);
    expect(fault?.layer).toBe('affine1');
    expect(fault?.where).toBe('output');
    expect(fault?.message).toBe(`step ${fault?.step}: non-finite loss (NaN) on the batch starting at sample ${fault?.firstSample}; first non-finite output: affine1`);
    // the faulty step changed nothing but the step counter
    expect(bytes(last.params)).toEqual(bytes(states[states.length - 2].params));
  });

  test("onFault 'skip' goes on: every step is taken and the faulty ones leave params unchanged", () => {
    const net = mlp();
    const opt = sgd({ lr: 0.1 });
    const indexStream = sampleWithReplacement({ key: dataKey, n: 300, batchSize: 20, steps: 30 });
    const stream = batchesOf(nanAt(train, indexStream.at(4).indices[0]), indexStream);
    const states = [...scan(trainStep(net, opt), initTrainState(net, opt, modelKey), stream, { onFault: 'skip' })];
    expect(states.length).toBe(30);
    const faulty = states.map((s, i) => (s.fault ? i : -1)).filter((i) => i >= 0);
    expect(faulty.length).toBeGreaterThan(0);
    for (const i of faulty.filter((j) => j > 0)) expect(bytes(states[i].params)).toEqual(bytes(states[i - 1].params));
    expect(states[29].fault).toBeUndefined();
  });

  test('a NaN gradient with a finite loss gives a gradient fault naming the param and the layer', () => {
    const net = unwrap(network([4], [affine({ units: 3 }), poison]));
    const opt = sgd();
    const batch = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 300, batchSize: 8 })).at(0);
    const s = trainStep(net, opt)(initTrainState(net, opt, modelKey), batch);
    expect(s.fault?.kind).toBe('gradient');
    expect(s.fault?.param).toBe('poison.g');
    expect(s.fault?.layer).toBe('poison');
    expect(s.fault?.where).toBe('gradient');
    expect(Number.isFinite(s.loss)).toBe(true);
    expect(s.fault?.message).toBe(`step 0: non-finite gradient of poison.g on the batch starting at sample ${batch.indices?.[0]}; first non-finite gradient: poison`);
  });
});
