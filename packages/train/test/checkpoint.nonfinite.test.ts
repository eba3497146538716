import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fromData, key, type Tensor } from '@foldnet/core';
import { decodeModelSpec, type Network } from '@foldnet/layers';
import {
  adam,
  checkpointWeights,
  initTrainState,
  loadTrainState,
  packTensors,
  resumeTrainState,
  saveCheckpoint,
  saveTrainState,
} from '@foldnet/train';

/*
 * Issue 18: nothing non-finite reaches a checkpoint. The writer is the last line of defence
 * (whatever a training loop lets through): saveTrainState refuses a state whose params, layer
 * state or optimizer state hold NaN or ±Infinity, and writes nothing. A checkpoint that holds
 * them anyway (written by another tool, or before this rule) is refused by checkpointWeights and
 * resumeTrainState with a 'numeric' error, so no accuracy is computed from it.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-nonfinite-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A small network with params and layer state (batch norm's running mean and variance).
const spec = {
  input: [1, 6, 6],
  layers: [{ type: 'conv2d', filters: 2, size: 3 }, { type: 'batchNorm' }, { type: 'relu' }, { type: 'maxPool2d', size: 2 }, { type: 'affine', units: 3 }],
};
const decoded = decodeModelSpec(spec);
if (decoded._tag === 'Left') throw new Error(decoded.left.message);
const net: Network = decoded.right;
const optimizer = adam();
const state0 = initTrainState(net, optimizer, key(3));

/** `t` with `value` at `index` (a fresh tensor; `t` is untouched). */
const poisoned = (t: Tensor, index: number, value: number): Tensor => {
  const data = t.dtype === 'float64' ? Float64Array.from(t.data) : Float32Array.from(t.data);
  data[index % data.length] = value;
  return fromData(t.shape, data);
};

type Where = 'parameter' | 'layer state' | 'optimizer state';

/** state0 with one element of one tensor of `where` set to `value`, and that tensor's name. */
const poison = (where: Where, pick: number, index: number, value: number): { readonly state: typeof state0; readonly name: string; readonly index: number } => {
  if (where === 'optimizer state') {
    const saved = optimizer.stateToTensors(state0.opt);
    const names = Object.keys(saved.tensors).sort();
    const name = names[pick % names.length];
    const t = saved.tensors[name];
    const back = optimizer.stateFromTensors({ tensors: { ...saved.tensors, [name]: poisoned(t, index, value) }, scalars: saved.scalars }, state0.params);
    if (back._tag === 'Left') throw new Error(back.left.message);
    return { state: { ...state0, opt: back.right }, name, index: index % t.size };
  }
  const group = where === 'parameter' ? state0.params : state0.layerState;
  const names = Object.keys(group).sort();
  const name = names[pick % names.length];
  const t = group[name];
  const record = { ...group, [name]: poisoned(t, index, value) };
  const state = where === 'parameter' ? { ...state0, params: record } : { ...state0, layerState: record };
  return { state, name, index: index % t.size };
};

/** `<slot>.<param>` tensors as packTensors takes them: { slot: { param: tensor } }. */
const slotsOf = (tensors: Readonly<Record<string, Tensor>>): Record<string, Record<string, Tensor>> => {
  const slots: Record<string, Record<string, Tensor>> = {};
  for (const [full, t] of Object.entries(tensors)) {
    const dot = full.indexOf('.');
    slots[full.slice(0, dot)] = { ...(slots[full.slice(0, dot)] ?? {}), [full.slice(dot + 1)]: t };
  }
  return slots;
};

const nonFiniteValues = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);

describe('saveTrainState refuses NaN and Infinity', () => {
  it('one non-finite element anywhere (params, layer state, optimizer state; 150 cases): a numeric error naming the tensor and the index, and the checkpoint on disk is left as it was', () => {
    const file = path.join(tmp, 'ckpt.safetensors');
    const good = saveTrainState(file, { network: net, optimizer, state: state0 });
    expect(good._tag).toBe('Right');
    const before = fs.readFileSync(file);
    fc.assert(
      fc.property(fc.constantFrom<Where>('parameter', 'layer state', 'optimizer state'), fc.nat(), fc.nat(), nonFiniteValues, (where, pick, index, value) => {
        const { state, name, index: at } = poison(where, pick, index, value);
        const r = saveTrainState(file, { network: net, optimizer, state });
        expect(r._tag === 'Left' && r.left.code).toBe('numeric');
        expect(r._tag === 'Left' && r.left.message).toBe(
          `saveTrainState: ${file}: ${where} ${name} holds 1 non-finite value (the first, at index ${at}, is ${value}); a checkpoint never holds NaN or Infinity, so none was written`,
        );
        expect(fs.readFileSync(file).equals(before)).toBe(true);
        expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      }),
      { seed: 1839, numRuns: 150 },
    );
  });

  it('a weights-only checkpoint (no optimizer) is checked as well', () => {
    const { state } = poison('parameter', 0, 0, Number.NaN);
    const r = saveTrainState(path.join(tmp, 'w.safetensors'), { network: net, state });
    expect(r._tag === 'Left' && r.left.code).toBe('numeric');
    expect(fs.existsSync(path.join(tmp, 'w.safetensors'))).toBe(false);
  });
});

describe('a checkpoint holding NaN or Infinity is not evaluated or resumed', () => {
  it('params with non-finite values (written past saveTrainState, 40 cases): checkpointWeights and resumeTrainState answer numeric errors naming the tensor and the count', () => {
    const written = path.join(tmp, 'finite.safetensors');
    expect(saveTrainState(written, { network: net, optimizer, state: state0 })._tag).toBe('Right');
    const ok = loadTrainState(written);
    if (ok._tag === 'Left') throw new Error(ok.left.message);
    fc.assert(
      fc.property(fc.constantFrom<Where>('parameter', 'layer state', 'optimizer state'), fc.nat(), fc.nat(), nonFiniteValues, (where, pick, index, value) => {
        const { state, name, index: at } = poison(where, pick, index, value);
        const optimizerTensors = slotsOf(optimizer.stateToTensors(state.opt).tensors);
        const file = path.join(tmp, 'poisoned.safetensors');
        const tensors = packTensors({ params: state.params, optimizer: optimizerTensors, state: state.layerState });
        expect(saveCheckpoint(file, { tensors, metadata: ok.right.metadata })._tag).toBe('Right');
        const ckpt = loadTrainState(file);
        if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
        const detail = `${where} ${name} holds 1 non-finite value (the first, at index ${at}, is ${value}): a network with NaN or Infinity in it cannot be evaluated, exported or trained on`;
        const weights = checkpointWeights(ckpt.right, net);
        const resumed = resumeTrainState(ckpt.right, net);
        if (where === 'optimizer state') {
          expect(weights._tag).toBe('Right'); // evaluation uses the weights alone
        } else {
          expect(weights._tag === 'Left' && [weights.left.code, weights.left.message]).toEqual(['numeric', `${file}: ${detail}`]);
        }
        expect(resumed._tag === 'Left' && [resumed.left.code, resumed.left.message]).toEqual(['numeric', `${file}: ${detail}`]);
      }),
      { seed: 1840, numRuns: 40 },
    );
  });
});
