import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { key, normal } from '@foldnet/core';
import { decodeModelSpec } from '@foldnet/layers';
import {
  CheckpointError,
  checkpointWeights,
  decodeSafetensors,
  decodeTrainState,
  encodeSafetensors,
  initTrainState,
  resumeTrainState,
  sgd,
  adam,
  packTensors,
  TRAIN_STATE_FORMAT,
} from '@foldnet/train';

/*
 * Issue 7, the training checkpoint's metadata (the part the safetensors fuzzing in fuzz.test.ts
 * does not reach): random and hostile metadata maps, and every truncation and bit flip of a small
 * real training checkpoint, go through decodeTrainState and then checkpointWeights and
 * resumeTrainState. Every answer is a CheckpointError naming the file, or a state that fits the
 * network; never an exception. ~1,500 cases.
 */

const FILE = 'fuzz.safetensors';
const specResult = decodeModelSpec({ input: [1, 4, 4], layers: [{ type: 'conv2d', filters: 2, size: 3 }, { type: 'relu' }, { type: 'affine', units: 3 }] });
if (isLeft(specResult)) throw new Error(specResult.left.message);
const net = specResult.right;
const opt = adam({ lr: 0.01 });
const s0 = initTrainState(net, opt, key(3));
const saved = opt.stateToTensors(s0.opt);
const tensors = packTensors({
  params: s0.params,
  optimizer: { m: Object.fromEntries(Object.entries(saved.tensors).filter(([n]) => n.startsWith('m.')).map(([n, t]) => [n.slice(2), t])), v: Object.fromEntries(Object.entries(saved.tensors).filter(([n]) => n.startsWith('v.')).map(([n, t]) => [n.slice(2), t])) },
  state: s0.layerState,
});
const goodMetadata: Record<string, string> = {
  format: TRAIN_STATE_FORMAT,
  step: '0',
  model: JSON.stringify(net.spec),
  optimizer: JSON.stringify({ name: 'adam', ...opt.hyper, count: 0 }),
  key: JSON.stringify(s0.key.state),
};

/** The whole path a checkpoint takes in the CLI; each stage answers with a CheckpointError or a value. */
const check = (metadata: Record<string, string>, t: typeof tensors = tensors): void => {
  const r = decodeTrainState(FILE, metadata, t);
  if (isLeft(r)) {
    expect(r.left).toBeInstanceOf(CheckpointError);
    expect(r.left.message.startsWith(`${FILE}: `)).toBe(true);
    return;
  }
  expect(Number.isSafeInteger(r.right.step) && r.right.step >= 0).toBe(true);
  const w = checkpointWeights(r.right, net);
  if (isLeft(w)) expect(w.left).toBeInstanceOf(CheckpointError);
  const resumed = resumeTrainState(r.right, net);
  if (isLeft(resumed)) {
    expect(resumed.left).toBeInstanceOf(CheckpointError);
    expect(resumed.left.message.startsWith(`${FILE}: `)).toBe(true);
  } else {
    expect(resumed.right.state.step).toBe(r.right.step);
    expect(Object.keys(resumed.right.state.params)).toEqual(Object.keys(s0.params));
  }
};

const junkJson = fc.oneof(
  fc.constantFrom('', '{', 'NaN', 'Infinity', '1e999', '-1', '[1,2,3]', '[1,2,3,4]', '[1.5,2,3,4]', '[4294967296,0,0,0]', 'null', '{}', '{"name":7}', '{"name":"adam","lr":-1}', '{"name":"adam","count":-3}', '{"name":"adam","count":1.5}', '{"name":"sgd","momentum":0.9}', '{"name":"__proto__"}', '"x"'),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 12 }),
);

describe('fuzz the training checkpoint metadata', () => {
  it('each metadata entry replaced by junk (format, step, model, optimizer, key, config, metrics) (800 cases)', () => {
    const arb = fc.dictionary(fc.constantFrom('format', 'step', 'model', 'optimizer', 'key', 'config', 'metrics', 'other'), junkJson, { maxKeys: 4 });
    fc.assert(fc.property(arb, (junk) => check({ ...goodMetadata, ...junk })), { seed: 42, numRuns: 800 });
  });

  it('entries removed at random (300 cases)', () => {
    const arb = fc.subarray(Object.keys(goodMetadata));
    fc.assert(fc.property(arb, (drop) => check(Object.fromEntries(Object.entries(goodMetadata).filter(([k]) => !drop.includes(k))))), { seed: 7, numRuns: 300 });
  });

  it('tensors removed or replaced by wrong shapes (300 cases)', () => {
    const names = Object.keys(tensors);
    const arb = fc.tuple(fc.subarray(names), fc.subarray(names));
    fc.assert(
      fc.property(arb, ([drop, reshape]) => {
        const t = Object.fromEntries(Object.entries(tensors).filter(([n]) => !drop.includes(n)).map(([n, v]) => [n, reshape.includes(n) ? normal(key(1), [v.size + 1]) : v]));
        check(goodMetadata, t);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('the untouched checkpoint resumes; with the optimizer swapped for sgd it resumes as sgd', () => {
    check(goodMetadata);
    const r = decodeTrainState(FILE, { ...goodMetadata, optimizer: JSON.stringify({ name: 'sgd', ...sgd().hyper }) }, tensors);
    if (isLeft(r)) throw new Error(r.left.message);
    const resumed = resumeTrainState(r.right, net);
    expect(isLeft(resumed) ? resumed.left.message : resumed.right.optimizer.name).toBe('sgd');
  });

  it('every truncation and every 7th bit flip of the encoded file: an error or a decodable state', () => {
    const bytes = encodeSafetensors(tensors, goodMetadata);
    const decodeAll = (b: Uint8Array): void => {
      const d = decodeSafetensors(b, { file: FILE });
      if (isLeft(d)) {
        expect(d.left).toBeInstanceOf(CheckpointError);
        return;
      }
      check({ ...d.right.metadata }, { ...d.right.tensors });
    };
    for (let cut = 0; cut < bytes.length; cut += 3) decodeAll(bytes.subarray(0, cut));
    for (let bit = 0; bit < bytes.length * 8; bit += 7) {
      const b = Uint8Array.from(bytes);
      b[bit >> 3] ^= 1 << (bit & 7);
      decodeAll(b);
    }
  });
});
