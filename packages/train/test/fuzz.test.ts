import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FoldnetError, fromData, type Tensor } from '@foldnet/core';
import { CheckpointError, DataError, decodeSafetensors, encodeIdx, encodeSafetensors, parseIdx, type IdxType } from '@foldnet/train';

/*
 * Bad input, thousands of cases (issue 7): every answer is a typed error with a clear message or
 * a correct value; never an exception, never an allocation sized by what a header claims.
 * ~5,000 fast-check runs plus exhaustive truncations and bit flips of small valid files.
 */

const FILE = 'fuzz.bin';

/** parseIdx's answer must be a DataError naming the file, or a value consistent with its header. */
const checkIdx = (bytes: Uint8Array, maxBytes = 1 << 20): void => {
  const r = parseIdx(bytes, { file: FILE, maxBytes });
  if (r._tag === 'Left') {
    expect(r.left).toBeInstanceOf(DataError);
    expect(r.left.code).toBe('format');
    expect(r.left.message.startsWith(`${FILE}: byte `)).toBe(true);
    expect(r.left.message.length).toBeLessThan(400);
  } else {
    const n = r.right.dims.reduce((a, d) => a * d, 1);
    expect(r.right.data.length).toBe(n);
    expect(r.right.total).toBe(r.right.dims[0]);
  }
};

/** decodeSafetensors's answer: a CheckpointError naming the file, or tensors whose sizes fit the file. */
const checkSafetensors = (bytes: Uint8Array): void => {
  const r = decodeSafetensors(bytes, { file: FILE });
  if (r._tag === 'Left') {
    expect(r.left).toBeInstanceOf(CheckpointError);
    expect(r.left.code).toBe('format');
    expect(r.left.message.startsWith(`${FILE}: byte `)).toBe(true);
  } else {
    const total = Object.values(r.right.tensors).reduce((a, t) => a + t.size * t.data.BYTES_PER_ELEMENT, 0);
    expect(total).toBeLessThanOrEqual(bytes.length);
    for (const v of Object.values(r.right.metadata)) expect(typeof v).toBe('string');
  }
};

// External memory grows by what a call allocates and still holds; a decoder that believed a
// header claiming gigabytes would show it here (or die with a RangeError, failing the run).
const externalGrowth = (f: () => void): number => {
  const before = process.memoryUsage().arrayBuffers;
  f();
  return process.memoryUsage().arrayBuffers - before;
};

const idxTypes: [IdxType, number][] = [
  ['ubyte', 1],
  ['byte', 1],
  ['short', 2],
  ['int', 4],
  ['float', 4],
  ['double', 8],
];
const validIdx = encodeIdx('ubyte', [3, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
const validShortIdx = encodeIdx('short', [2, 3], [-1, 2, -3, 4, -5, 6]);

describe('fuzz parseIdx', () => {
  it('random bytes (600 cases, 0..64 bytes)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => checkIdx(b)), { seed: 42, numRuns: 600 });
  });

  it('random bytes after a plausible magic (0,0,type,rank) (600 cases)', () => {
    const arb = fc.tuple(fc.constantFrom(8, 9, 11, 12, 13, 14, 0, 7, 255), fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 48 }));
    fc.assert(fc.property(arb, ([type, rank, rest]) => checkIdx(new Uint8Array([0, 0, type, rank, ...rest]))), { seed: 7, numRuns: 600 });
  });

  it('every truncation of a valid ubyte and a valid short file, plain and gzipped', () => {
    for (const valid of [validIdx, validShortIdx]) {
      for (let cut = 0; cut < valid.length; cut++) {
        const r = parseIdx(valid.subarray(0, cut), { file: FILE });
        expect(r._tag).toBe('Left');
        checkIdx(valid.subarray(0, cut));
      }
      const gz = gzipSync(valid);
      for (let cut = 0; cut < gz.length; cut++) checkIdx(gz.subarray(0, cut));
    }
  });

  it('every single-bit flip of a valid file, plain and gzipped', () => {
    for (const valid of [validIdx, gzipSync(validIdx)]) {
      for (let bit = 0; bit < valid.length * 8; bit++) {
        const b = Uint8Array.from(valid);
        b[bit >> 3] ^= 1 << (bit & 7);
        checkIdx(b);
      }
    }
  });

  it('absurd sizes: dims up to 2^32-1 (up to 2^40+ elements) over a tiny body allocate nothing (400 cases)', () => {
    const arb = fc.tuple(
      fc.constantFrom(...idxTypes),
      fc.array(fc.oneof(fc.constant(0xffffffff), fc.constant(1 << 20), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 0, max: 32 }),
    );
    fc.assert(
      fc.property(arb, ([[type], dims, bodyLength]) => {
        const code = { ubyte: 8, byte: 9, short: 11, int: 12, float: 13, double: 14 }[type];
        const b = new Uint8Array(4 + 4 * dims.length + bodyLength);
        b.set([0, 0, code, dims.length]);
        const view = new DataView(b.buffer);
        dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
        const growth = externalGrowth(() => checkIdx(b));
        expect(growth).toBeLessThan(16 << 20);
      }),
      { seed: 2026, numRuns: 400 },
    );
  });

  it('a header claiming 2^40 elements (1024 x 1024 x 1024 x 1024) is a clear error', () => {
    const b = new Uint8Array(4 + 16 + 8);
    b.set([0, 0, 8, 4, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0]);
    const r = parseIdx(b, { file: FILE });
    expect(r._tag === 'Left' && r.left.message).toBe(
      `${FILE}: byte 4: header declares 1024 items of 1024x1024x1024 ubyte (1099511627776 bytes of data after the 20-byte header), file holds 8`,
    );
  });

  it('gzip bombs stop at maxBytes: 16 MB of images declared with maxBytes 1 MB are refused from the header', () => {
    const raw = new Uint8Array(16 + (16 << 20));
    raw.set([0, 0, 8, 3, 0, 0, 0x40, 0, 0, 0, 0, 16, 0, 0, 0, 16]); // 16384 items of 16x16... x4 = 16 MiB
    new DataView(raw.buffer).setUint32(4, 65536, false);
    const bomb = gzipSync(raw, { level: 9 });
    const growth = externalGrowth(() => {
      const r = parseIdx(bomb, { file: FILE, maxBytes: 1 << 20 });
      expect(r._tag === 'Left' && r.left.message).toBe(`${FILE}: byte 4: header declares 16777216 bytes of data, more than the 1048576-byte limit`);
    });
    expect(growth).toBeLessThan(1 << 20);
  });

  it('round trip: random type, dims and values encode then decode to the same (300 cases)', () => {
    const arb = fc
      .tuple(fc.constantFrom(...idxTypes), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }))
      .chain(([[type], dims]) => {
        const n = dims.reduce((a, d) => a * d, 1);
        const value = {
          ubyte: fc.integer({ min: 0, max: 255 }),
          byte: fc.integer({ min: -128, max: 127 }),
          short: fc.integer({ min: -32768, max: 32767 }),
          int: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          float: fc.float({ noNaN: true }),
          double: fc.double({ noNaN: true }),
        }[type];
        return fc.tuple(fc.constant(type), fc.constant(dims), fc.array(value, { minLength: n, maxLength: n }));
      });
    fc.assert(
      fc.property(arb, ([type, dims, values]) => {
        const r = parseIdx(encodeIdx(type, dims, values), { file: FILE });
        expect(r._tag === 'Right' && [r.right.type, [...r.right.dims], [...r.right.data]]).toEqual([type, dims, values]);
      }),
      { seed: 3, numRuns: 300 },
    );
  });
});

// A small valid checkpoint: two F32 tensors, one F64, metadata.
const validCheckpoint = encodeSafetensors(
  {
    'conv1.W': fromData([2, 2], new Float32Array([1, -2, 3.5, 0])),
    'conv1.b': fromData([2], new Float32Array([0.5, 0.25])),
    'opt.m.conv1.W': fromData([1], new Float64Array([1e-8])),
  },
  { step: '3' },
);

/** A safetensors file from header text, with `dataLength` zero bytes of data. */
const withHeader = (header: string, dataLength: number): Uint8Array => {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
};

const junkNumber = fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1', '-0', '0.5', '1e21', '1099511627776', '9007199254740993', 'null', 'true', '"4"', '[]', '{}', '0x10');
const shapeText = fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }).map(String), junkNumber), { maxLength: 4 }).map((a) => `[${a.join(',')}]`);
const offsetText = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 64 }).map(String), junkNumber), fc.oneof(fc.integer({ min: 0, max: 64 }).map(String), junkNumber))
  .map(([a, b]) => `[${a},${b}]`);
const dtypeText = fc.oneof(
  fc.constantFrom('"F32"', '"F64"', '"I32"', '"BF16"', '"BOOL"', '"f32"', '"F128"', '""', '32', 'null', '["F32"]'),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
);
const entryText = fc
  .tuple(fc.constantFrom('"a"', '"b.W"', '"__proto__"', '""', '"__metadata__"'), dtypeText, shapeText, offsetText)
  .map(([name, dtype, shape, offsets]) => `${name}:{"dtype":${dtype},"shape":${shape},"data_offsets":${offsets}}`);

describe('fuzz decodeSafetensors', () => {
  it('random bytes (600 cases, 0..96 bytes)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (b) => checkSafetensors(b)), { seed: 42, numRuns: 600 });
  });

  it('any 64-bit header length over a short file, 10 GB and 2^64-1 included (400 cases)', () => {
    const arb = fc.tuple(
      fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(10n * 1024n ** 3n, (1n << 64n) - 1n, 100_000_001n), fc.bigInt({ min: 0n, max: 64n })),
      fc.uint8Array({ maxLength: 64 }),
    );
    fc.assert(
      fc.property(arb, ([length, rest]) => {
        const b = new Uint8Array(8 + rest.length);
        new DataView(b.buffer).setBigUint64(0, length, true);
        b.set(rest, 8);
        const growth = externalGrowth(() => checkSafetensors(b));
        expect(growth).toBeLessThan(16 << 20);
      }),
      { seed: 11, numRuns: 400 },
    );
  });

  it('every truncation of a valid checkpoint is an error', () => {
    for (let cut = 0; cut < validCheckpoint.length; cut++) {
      const b = validCheckpoint.subarray(0, cut);
      expect(decodeSafetensors(b, { file: FILE })._tag).toBe('Left');
      checkSafetensors(b);
    }
  });

  it('every single-bit flip of a valid checkpoint', () => {
    for (let bit = 0; bit < validCheckpoint.length * 8; bit++) {
      const b = Uint8Array.from(validCheckpoint);
      b[bit >> 3] ^= 1 << (bit & 7);
      checkSafetensors(b);
    }
  });

  it('junk JSON headers: wrong dtypes, NaN/Infinity/1e999/2^40 in shapes and offsets, odd names (1000 cases)', () => {
    const arb = fc.tuple(
      fc.array(entryText, { maxLength: 3 }),
      fc.option(fc.constantFrom('{"k":"v"}', '{"k":1}', '{"k":NaN}', 'null', '[]', '"s"', '{"__proto__":"x"}'), { nil: undefined }),
      fc.integer({ min: 0, max: 64 }),
    );
    fc.assert(
      fc.property(arb, ([entries, meta, dataLength]) => {
        const all = meta === undefined ? entries : [`"__metadata__":${meta}`, ...entries];
        checkSafetensors(withHeader(`{${all.join(',')}}`, dataLength));
      }),
      { seed: 99, numRuns: 1000 },
    );
  });

  it('arbitrary JSON values as the header (300 cases)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 16 }), (v, n) => checkSafetensors(withHeader(JSON.stringify(v) ?? 'null', n))),
      { seed: 5, numRuns: 300 },
    );
  });

  it('a header claiming 2^40 float32 elements over 4 bytes of data is a clear error', () => {
    const b = withHeader('{"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}', 4);
    const r = decodeSafetensors(b, { file: FILE });
    expect(r._tag === 'Left' && r.left.message).toMatch(/tensor w: data_offsets \[0,4398046511104\] run past the 4 data bytes the file holds/);
  });

  it('round trip: random names, shapes, dtypes and values (including NaN payloads) come back bit for bit (300 cases)', () => {
    const tensorArb = fc
      .tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), fc.boolean())
      .chain(([shape, f64]) => {
        const n = shape.reduce((a, d) => a * d, 1);
        return fc.uint8Array({ minLength: n * (f64 ? 8 : 4), maxLength: n * (f64 ? 8 : 4) }).map((bytes): Tensor => {
          const buf = Uint8Array.from(bytes).buffer;
          return fromData(shape, f64 ? new Float64Array(buf) : new Float32Array(buf));
        });
      });
    const arb = fc.tuple(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== '__metadata__'), tensorArb, { maxKeys: 4 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
    );
    fc.assert(
      fc.property(arb, ([tensors, metadata]) => {
        const r = decodeSafetensors(encodeSafetensors(tensors, metadata), { file: FILE });
        if (r._tag === 'Left') throw r.left;
        expect(r.right.metadata).toEqual({ ...metadata });
        expect(Object.keys(r.right.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const back = r.right.tensors[name];
          expect([back.dtype, [...back.shape]]).toEqual([t.dtype, [...t.shape]]);
          const bytes = (x: Tensor) => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);
          expect(bytes(back).equals(bytes(t))).toBe(true);
        }
      }),
      { seed: 17, numRuns: 300 },
    );
  });

  it('errors are FoldnetErrors with code "format" (for callers that branch on code)', () => {
    const r = decodeSafetensors(new Uint8Array(3), { file: FILE });
    expect(r._tag === 'Left' && r.left instanceof FoldnetError && r.left.code).toBe('format');
  });
});
