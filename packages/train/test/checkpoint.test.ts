import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { arange, tensor, zeros, type Tensor } from '@foldnet/core';
import { encodeSafetensors, loadCheckpoint, matchTensors, packTensors, saveCheckpoint, unpackTensors, type Checkpoint } from '@foldnet/train';

const root = fs.mkdtempSync(join(tmpdir(), 'foldnet-ckpt-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const snapshot = (t: Tensor) => ({ dtype: t.dtype, shape: [...t.shape], data: [...t.data] });
const loaded = (path: string): Checkpoint => {
  const r = loadCheckpoint(path);
  if (r._tag === 'Left') throw new Error(`expected a checkpoint, got: ${r.left.message}`);
  return r.right;
};

const params = { 'conv1.W': arange([2, 1, 3, 3]), 'conv1.b': zeros([2]), 'affine1.W': arange([18, 4]) };
const optimizer = { m: { 'conv1.W': arange([2, 1, 3, 3], 'float64') }, v: { 'conv1.W': zeros([2, 1, 3, 3], 'float64') } };
const state = { 'bn1.mean': tensor([0.5, 0.25]) };

describe('saveCheckpoint / loadCheckpoint', () => {
  it('params, Adam-like m/v state and layer state with metadata come back bit for bit', () => {
    const path = join(root, 'a.safetensors');
    const tensors = packTensors({ params, optimizer, state });
    const metadata = { format: 'foldnet-checkpoint/1', step: '1000', key: '[1,2,3,4]', optimizer: '{"name":"adam","lr":0.001}' };
    expect(saveCheckpoint(path, { tensors, metadata })._tag).toBe('Right');
    const back = loaded(path);
    expect(back.metadata).toEqual(metadata);
    const parts = unpackTensors(back.tensors);
    expect(Object.keys(parts.params).sort()).toEqual(Object.keys(params).sort());
    for (const [name, t] of Object.entries(params)) expect(snapshot(parts.params[name])).toEqual(snapshot(t));
    expect(snapshot(parts.optimizer.m['conv1.W'])).toEqual(snapshot(optimizer.m['conv1.W']));
    expect(snapshot(parts.optimizer.v['conv1.W'])).toEqual(snapshot(optimizer.v['conv1.W']));
    expect(snapshot(parts.state['bn1.mean'])).toEqual(snapshot(state['bn1.mean']));
    expect(fs.readdirSync(root).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('saving over a checkpoint replaces it whole', () => {
    const path = join(root, 'b.safetensors');
    saveCheckpoint(path, { tensors: { big: zeros([1000]) }, metadata: { step: '1' } });
    saveCheckpoint(path, { tensors: { small: zeros([1]) }, metadata: { step: '2' } });
    const back = loaded(path);
    expect(Object.keys(back.tensors)).toEqual(['small']);
    expect(back.metadata.step).toBe('2');
  });

  it('unencodable content (a tensor named __metadata__) is a format error and leaves the old file', () => {
    const path = join(root, 'c.safetensors');
    saveCheckpoint(path, { tensors: { w: zeros([1]) }, metadata: {} });
    const r = saveCheckpoint(path, { tensors: { __metadata__: zeros([1]) }, metadata: {} });
    expect(r._tag === 'Left' && r.left.code).toBe('format');
    expect(Object.keys(loaded(path).tensors)).toEqual(['w']);
  });

  it('a missing file is an io error naming the path', () => {
    const r = loadCheckpoint(join(root, 'none.safetensors'));
    expect(r._tag === 'Left' && r.left.code).toBe('io');
    expect(r._tag === 'Left' && r.left.message).toMatch(/none\.safetensors: cannot read: ENOENT/);
  });

  it('a checkpoint truncated by one byte is a format error naming the last tensor', () => {
    const path = join(root, 'd.safetensors');
    const bytes = encodeSafetensors({ w: zeros([4]) }, {});
    fs.writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    const r = loadCheckpoint(path);
    expect(r._tag === 'Left' && r.left.message).toMatch(/d\.safetensors: byte \d+: tensor w: data_offsets \[0,16\] run past the 15 data bytes/);
  });

  it('a file larger than maxBytes is refused before it is read', () => {
    const path = join(root, 'e.safetensors');
    fs.writeFileSync(path, encodeSafetensors({ w: zeros([100]) }, {}));
    const r = loadCheckpoint(path, { maxBytes: 100 });
    expect(r._tag === 'Left' && r.left.message).toMatch(/file holds \d+ bytes, more than the 100-byte limit/);
  });
});

describe('tensor naming convention', () => {
  it('packTensors names conv1.W, opt.m.conv1.W, state.bn1.mean', () => {
    const packed = packTensors({ params: { 'conv1.W': params['conv1.W'] }, optimizer: { m: { 'conv1.W': optimizer.m['conv1.W'] } }, state });
    expect(Object.keys(packed)).toEqual(['conv1.W', 'opt.m.conv1.W', 'state.bn1.mean']);
  });

  it('unpackTensors inverts packTensors', () => {
    const parts = { params, optimizer, state };
    const back = unpackTensors(packTensors(parts));
    expect(back).toEqual(parts);
  });

  it('a layer named opt or state, or a slot with a dot, is refused', () => {
    expect(() => packTensors({ params: { 'opt.W': zeros([1]) }, optimizer: {}, state: {} })).toThrow(/layer names 'opt' and 'state' are reserved/);
    expect(() => packTensors({ params: {}, optimizer: { 'm.x': {} }, state: {} })).toThrow(/slot "m.x" must be non-empty and hold no dot/);
  });
});

describe('matchTensors: a checkpoint against the network that should load it', () => {
  const file = 'ckpt.safetensors';
  const message = (r: ReturnType<typeof matchTensors>) => (r._tag === 'Left' ? `${r.left.code}: ${r.left.message}` : 'matched');

  it('the same names, shapes and dtypes match, in the network\'s order', () => {
    const r = matchTensors(params, { 'affine1.W': params['affine1.W'], 'conv1.b': params['conv1.b'], 'conv1.W': params['conv1.W'] }, { file });
    expect(r._tag === 'Right' && Object.keys(r.right)).toEqual(['conv1.W', 'conv1.b', 'affine1.W']);
  });

  it('conv1.W [2,1,3,3] in the checkpoint, [4,1,3,3] in the network: names the tensor and both shapes', () => {
    const expected = { ...params, 'conv1.W': zeros([4, 1, 3, 3]) };
    expect(message(matchTensors(expected, params, { file }))).toBe(
      'shape: ckpt.safetensors: parameter conv1.W: the checkpoint has [2,1,3,3], the network expects [4,1,3,3]',
    );
  });

  it('a missing parameter lists what the checkpoint holds; an extra one is named', () => {
    expect(message(matchTensors({ ...params, 'conv2.W': zeros([1]) }, params, { file }))).toBe(
      'format: ckpt.safetensors: parameter conv2.W is missing (the checkpoint holds conv1.W, conv1.b, affine1.W)',
    );
    expect(message(matchTensors({ 'conv1.W': params['conv1.W'] }, params, { file, what: 'state' }))).toBe(
      'format: ckpt.safetensors: the checkpoint holds state conv1.b, affine1.W that the network does not have',
    );
  });

  it('float64 where float32 is expected is a dtype error', () => {
    expect(message(matchTensors({ w: zeros([2]) }, { w: zeros([2], 'float64') }, { file }))).toBe(
      'dtype: ckpt.safetensors: parameter w: the checkpoint has float64, the network expects float32',
    );
  });
});
