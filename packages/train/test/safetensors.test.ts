import { describe, expect, it } from 'vitest';
import { arange, tensor, zeros, type Tensor } from '@foldnet/core';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type SafetensorsContent } from '@foldnet/train';

/** A safetensors file from a header string (no padding added) and raw data bytes. */
const handMade = (header: string, data: ArrayLike<number> = []): Uint8Array => {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(Array.from(data), 8 + json.length);
  return out;
};

/** Little-endian bytes of float32 values. */
const f32le = (values: number[]): number[] => {
  const v = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return [...new Uint8Array(v.buffer)];
};

const ok = (r: ReturnType<typeof decodeSafetensors>): SafetensorsContent => {
  if (r._tag === 'Left') throw new Error(`expected a decoded file, got: ${r.left.message}`);
  return r.right;
};
const err = (r: ReturnType<typeof decodeSafetensors>): CheckpointError => {
  if (r._tag === 'Right') throw new Error(`expected an error, got tensors ${Object.keys(r.right.tensors).join(',')}`);
  return r.left;
};
const decode = (bytes: Uint8Array) => decodeSafetensors(bytes, { file: 'ckpt.safetensors' });
const snapshot = (t: Tensor) => ({ dtype: t.dtype, shape: [...t.shape], data: [...t.data] });

describe('encodeSafetensors', () => {
  it('one F32 tensor a=[1,2]: the exact bytes (length, padded JSON header, little-endian data)', () => {
    const bytes = encodeSafetensors({ a: tensor([1, 2]) }, {});
    const json = '{"__metadata__":{},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    expect(padded.length % 8).toBe(0);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(padded.length);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + padded.length))).toBe(padded);
    expect([...bytes.subarray(8 + padded.length)]).toEqual(f32le([1, 2]));
  });

  it('lays out F64 tensors first, then F32, each sorted by name; the same content gives the same bytes', () => {
    const t = { 'b.W': zeros([3]), 'a.W': zeros([1]), 'z.x': zeros([2], 'float64') };
    const bytes = encodeSafetensors(t, { step: '1' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header['z.x'].data_offsets).toEqual([0, 16]);
    expect(header['a.W'].data_offsets).toEqual([16, 20]);
    expect(header['b.W'].data_offsets).toEqual([20, 32]);
    const reordered = { 'z.x': t['z.x'], 'a.W': t['a.W'], 'b.W': t['b.W'] };
    expect(encodeSafetensors(reordered, { step: '1' })).toEqual(bytes);
  });

  it('refuses the tensor names "" and "__metadata__"', () => {
    expect(() => encodeSafetensors({ '': zeros([1]) })).toThrow(/tensor name "" is reserved or empty/);
    expect(() => encodeSafetensors({ __metadata__: zeros([1]) })).toThrow(/"__metadata__" is reserved/);
  });
});

describe('round trips', () => {
  it('float32 [30,1,5,5], float64 [2,3], a scalar [] and an empty [0,4] come back bit for bit with metadata', () => {
    const tensors = {
      'conv1.W': arange([30, 1, 5, 5]),
      'opt.m.conv1.W': tensor([0.1, -0.2, 1e-30, Number.MAX_VALUE, -0, Number.NaN], [2, 3], 'float64'),
      'opt.count': tensor([7], []),
      'state.empty': zeros([0, 4]),
    };
    const metadata = { step: '1000', model: '{"layers":[]}', note: 'ünïcödé ✓' };
    const back = ok(decode(encodeSafetensors(tensors, metadata)));
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) expect(snapshot(back.tensors[name])).toEqual(snapshot(t));
    expect(Object.is(back.tensors['opt.m.conv1.W'].data[4], -0)).toBe(true);
  });

  it('a tensor named "__proto__" stays a plain key and does not change the prototype', () => {
    const bytes = encodeSafetensors(Object.fromEntries([['__proto__', tensor([3])]]), {});
    const back = ok(decode(bytes));
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
    expect(Object.keys(back.tensors)).toEqual(['__proto__']);
  });

  it('decoded tensors own aligned buffers even when the file data is at an odd offset', () => {
    const bytes = handMade('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32le([1.5, -2]));
    expect((8 + 55) % 4).not.toBe(0);
    const back = ok(decode(bytes));
    expect([...back.tensors.x.data]).toEqual([1.5, -2]);
    expect(back.tensors.x.data.buffer).not.toBe(bytes.buffer);
  });

  it('decodes from a pooled node Buffer (non-zero byteOffset into a shared ArrayBuffer)', () => {
    Buffer.from('pushes the pool offset along');
    const pooled = Buffer.from(encodeSafetensors({ w: tensor([1, 2, 3]) }, { k: 'v' }));
    expect(pooled.byteOffset).toBeGreaterThan(0);
    const back = ok(decode(pooled));
    expect([...back.tensors.w.data]).toEqual([1, 2, 3]);
    expect(back.tensors.w.data.buffer).not.toBe(pooled.buffer);
  });

  it('reads a file as Python safetensors writes it: no __metadata__, entries not in data order', () => {
    const header = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const back = ok(decode(handMade(header, f32le([10, 20]))));
    expect(back.metadata).toEqual({});
    expect([back.tensors.a.data[0], back.tensors.b.data[0]]).toEqual([10, 20]);
  });
});

describe('decodeSafetensors validates every field, errors name the file and byte', () => {
  const entry = (dtype: string, shape: string, offsets: string) => `{"x":{"dtype":${dtype},"shape":${shape},"data_offsets":${offsets}}}`;

  it('5 bytes: too short for the length field', () => {
    const e = err(decode(new Uint8Array(5)));
    expect(e.code).toBe('format');
    expect(e.message).toBe('ckpt.safetensors: byte 0: file holds 5 bytes, a safetensors file starts with an 8-byte header length');
  });

  it('a header length of 10 GB is refused against the 100 MB limit, before any allocation', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 10n * 1024n ** 3n, true);
    expect(err(decode(bytes)).message).toBe('ckpt.safetensors: byte 0: header length 10737418240 exceeds the 100000000-byte limit');
  });

  it('a header length of 2^64-1 is refused the same way', () => {
    const bytes = new Uint8Array(8).fill(0xff);
    expect(err(decode(bytes)).message).toMatch(/header length 18446744073709551615 exceeds/);
  });

  it('a header length of 100 with 20 bytes after it', () => {
    const bytes = new Uint8Array(28);
    bytes[0] = 100;
    expect(err(decode(bytes)).message).toBe('ckpt.safetensors: byte 0: header length 100, but only 20 bytes follow');
  });

  it('header bytes that are not UTF-8', () => {
    const bytes = handMade('{}');
    bytes[9] = 0xff;
    expect(err(decode(bytes)).message).toBe('ckpt.safetensors: byte 8: header: not valid UTF-8');
  });

  it.each([
    ['{"x":', /header: not valid JSON/],
    ['{"x": NaN}', /header: not valid JSON/],
    ['{"x": Infinity}', /header: not valid JSON/],
    ['[1,2]', /header must be a JSON object, got an array/],
    ['null', /header must be a JSON object, got null/],
    ['"s"', /header must be a JSON object, got the string "s"/],
    ['{"__metadata__": {"step": 3}}', /__metadata__\.step must be a string, got the number 3/],
    ['{"__metadata__": ["a"]}', /__metadata__ must be an object of strings, got an array/],
    ['{"x": 1}', /tensor "x" must be an object \{dtype, shape, data_offsets\}, got the number 1/],
    ['{"": {}}', /a tensor name is empty/],
  ])('header %s is refused', (header, message) => {
    const e = err(decode(handMade(header)));
    expect(e.offset).toBe(8);
    expect(e.message).toMatch(message);
  });

  it.each([
    [entry('"F33"', '[1]', '[0,4]'), /tensor "x": unknown dtype "F33" \(known: BOOL, U8, .*F64\)/],
    [entry('4', '[1]', '[0,4]'), /tensor "x": dtype must be a string, got the number 4/],
    [entry('"F32"', '[1.5]', '[0,4]'), /shape must hold non-negative integers, got the number 1.5/],
    [entry('"F32"', '[-1]', '[0,4]'), /shape must hold non-negative integers, got the number -1/],
    [entry('"F32"', '["1"]', '[0,4]'), /shape must hold non-negative integers, got the string "1"/],
    [entry('"F32"', '[1e300]', '[0,4]'), /shape must hold non-negative integers, got the number 1e\+300/],
    [entry('"F32"', '{}', '[0,4]'), /shape must be an array of integers, got object/],
    [entry('"F32"', '[1]', '[0]'), /data_offsets must be \[begin, end\], got an array/],
    [entry('"F32"', '[1]', '[4,0]'), /data_offsets must be integers 0 <= begin <= end, got \[the number 4, the number 0\]/],
    [entry('"F32"', '[1]', '[0,5]'), /tensor "x": shape \[1\] of F32 needs 4 bytes, data_offsets \[0,5\] hold 5/],
    [entry('"F32"', '[1048576,1048576]', '[0,4]'), /shape \[1048576,1048576\] of F32 needs 4398046511104 bytes/],
    [entry('"F64"', '[9007199254740991,9007199254740991]', '[0,8]'), /needs 649037107316853309451123965296648 bytes, data_offsets \[0,8\] hold 8/],
  ])('entry %s is refused', (header, message) => {
    expect(err(decode(handMade(header, new Array(8).fill(0)))).message).toMatch(message);
  });

  it('offsets past the data: [0,8] with 4 data bytes', () => {
    expect(err(decode(handMade(entry('"F32"', '[2]', '[0,8]'), [0, 0, 0, 0]))).message).toMatch(
      /tensor x: data_offsets \[0,8\] run past the 4 data bytes the file holds/,
    );
  });

  it('a hole between two tensors', () => {
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    expect(err(decode(handMade(header, new Array(12).fill(0)))).message).toMatch(
      /tensor b: data_offsets \[8,12\] leave a 4-byte hole after tensor a \(which ends at 4\)/,
    );
  });

  it('two tensors that overlap', () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(err(decode(handMade(header, new Array(8).fill(0)))).message).toMatch(/tensor b: data_offsets \[4,8\] overlap after tensor a/);
  });

  it('a first tensor that does not start at 0', () => {
    expect(err(decode(handMade(entry('"F32"', '[1]', '[4,8]'), new Array(8).fill(0)))).message).toMatch(
      /leave a 4-byte hole after the data start/,
    );
  });

  it('trailing bytes after the last tensor', () => {
    expect(err(decode(handMade(entry('"F32"', '[1]', '[0,4]'), new Array(6).fill(0)))).message).toMatch(
      /2 bytes after the last tensor's data \(tensor x ends at 4\)/,
    );
  });

  it('a valid I32 tensor is refused by name: foldnet reads F32 and F64', () => {
    expect(err(decode(handMade(entry('"I32"', '[1]', '[0,4]'), [1, 0, 0, 0]))).message).toMatch(
      /tensor x: dtype I32 is a safetensors dtype foldnet does not read \(it reads F32 \(float32\) and F64 \(float64\)\)/,
    );
  });

  it('maxHeaderBytes=NaN is an error value, not a thrown RangeError', () => {
    const r = decodeSafetensors(new Uint8Array(16), { file: 'f', maxHeaderBytes: Number.NaN });
    expect(r._tag === 'Left' && r.left.message).toBe('f: decodeSafetensors: maxHeaderBytes must be a non-negative integer, got NaN');
  });

  it('maxHeaderBytes=16 refuses a 56-byte header', () => {
    const bytes = handMade(entry('"F32"', '[1]', '[0,4]'), [0, 0, 0, 0]);
    const r = decodeSafetensors(bytes, { file: 'f', maxHeaderBytes: 16 });
    expect(r._tag === 'Left' && r.left.message).toMatch(/exceeds the 16-byte limit/);
  });
});
