import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { key } from '@foldnet/core';
import { affine, flatten, network, unwrap } from '@foldnet/layers';
import { adam, initTrainState, loadCheckpoint, loadTrainState, saveCheckpoint, saveTrainState } from '@foldnet/train';

/*
 * The `data` metadata entry of a training checkpoint: class names and the input normalisation go in
 * and come back; a checkpoint without it (all written before it) still loads, with none; a bad entry
 * is refused naming the file and the key.
 */

const root = fs.mkdtempSync(join(tmpdir(), 'foldnet-data-info-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const net = unwrap(network([3, 2, 2], [flatten(), affine({ units: 2 })]));
const optimizer = adam();
const state = initTrainState(net, optimizer, key(1));
const must = <A>(r: { _tag: 'Left'; left: Error } | { _tag: 'Right'; right: A }): A => {
  if (r._tag === 'Left') throw r.left;
  return r.right;
};

describe('checkpoint metadata "data": class names and normalisation', () => {
  it('saved and read back exactly (float32 statistics survive JSON)', () => {
    const file = join(root, 'with.safetensors');
    const data = { classNames: ['cat', 'dog'], normalize: { mean: [0.1, 0.2, 0.3].map(Math.fround), std: [0.25, 0.5, Math.fround(0.7)] } };
    must(saveTrainState(file, { network: net, optimizer, state, data }));
    const ckpt = must(loadTrainState(file));
    expect(ckpt.data).toEqual(data);
    expect(JSON.parse(ckpt.metadata['data'] ?? 'null')).toEqual(data);
  });

  it('a checkpoint written without it (as every earlier one) loads with data undefined', () => {
    const file = join(root, 'without.safetensors');
    must(saveTrainState(file, { network: net, optimizer, state }));
    const ckpt = must(loadTrainState(file));
    expect(ckpt.data).toBeUndefined();
    expect('data' in ckpt.metadata).toBe(false);
  });

  it.each([
    ['"cats"', 'expected a JSON object'],
    ['{"classNames":[1,2]}', 'classNames must be a non-empty array of strings'],
    ['{"normalize":{"mean":[0.5]}}', 'normalize must be { "mean": [numbers], "std": [numbers] }'],
    ['{"normalize":{"mean":[0.5,0.5],"std":[1]}}', 'normalize has 2 means and 1 stds'],
    ['{"normalize":{"mean":[0.5],"std":[0]}}', 'normalize.std must be positive numbers'],
  ])('a bad entry %s is refused naming the file: %s', (text, detail) => {
    const good = join(root, 'good.safetensors');
    must(saveTrainState(good, { network: net, optimizer, state }));
    const { tensors, metadata } = must(loadCheckpoint(good));
    const bad = join(root, 'bad.safetensors');
    must(saveCheckpoint(bad, { tensors, metadata: { ...metadata, data: text } }));
    const r = loadTrainState(bad, { name: 'bad.safetensors' });
    expect(r._tag === 'Left' ? r.left.message : '').toBe(`bad.safetensors: metadata "data": ${detail}`);
  });
});
