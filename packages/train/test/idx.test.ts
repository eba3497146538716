import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, encodeIdx, parseIdx, readIdxFile, type IdxArray, type IdxType } from '@foldnet/train';

const dir = mkdtempSync(join(tmpdir(), 'foldnet-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (r: ReturnType<typeof parseIdx>): IdxArray => {
  if (r._tag === 'Left') throw new Error(`expected a decoded IDX file, got: ${r.left.message}`);
  return r.right;
};
const err = (r: ReturnType<typeof parseIdx>): DataError => {
  if (r._tag === 'Right') throw new Error(`expected an error, got dims [${r.right.dims.join(',')}]`);
  return r.left;
};

// A 3-item ubyte "image" file of 2x2 pixels: header 0,0,8,3 | 3 | 2 | 2, then 12 bytes.
const images3x2x2 = encodeIdx('ubyte', [3, 2, 2], [0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 254, 255]);

describe('parseIdx: decoding', () => {
  it('labels [0,0,8,1 | 0,0,0,2 | 5,7] decode to ubyte dims [2] data [5,7]', () => {
    const r = ok(parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 5, 7]), { file: 'labels' }));
    expect(r).toEqual({ type: 'ubyte', dims: [2], data: new Uint8Array([5, 7]), total: 2 });
  });

  it('encodeIdx writes the big-endian header byte for byte (ubyte dims [3,2,2])', () => {
    expect([...images3x2x2.subarray(0, 16)]).toEqual([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]);
    expect(images3x2x2.length).toBe(16 + 12);
  });

  const cases: [IdxType, number[], number[]][] = [
    ['ubyte', [2, 3], [0, 1, 127, 128, 254, 255]],
    ['byte', [4], [-128, -1, 0, 127]],
    ['short', [2, 2], [-32768, -1, 1, 32767]],
    ['int', [3], [-(2 ** 31), 0, 2 ** 31 - 1]],
    ['float', [2], [1.5, -0.25]],
    ['double', [1, 2], [Math.PI, -1e300]],
  ];
  for (const [type, dims, data] of cases) {
    it(`round trip type=${type} dims=[${dims.join(',')}] through encodeIdx and parseIdx`, () => {
      const r = ok(parseIdx(encodeIdx(type, dims, data), { file: 't' }));
      expect(r.type).toBe(type);
      expect(r.dims).toEqual(dims);
      expect([...r.data]).toEqual([...data]);
    });
  }

  it('int values are read big-endian: bytes 0x01 0x02 0x03 0x04 are 16909060', () => {
    const r = ok(parseIdx(new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4]), { file: 't' }));
    expect([...r.data]).toEqual([0x01020304]);
  });

  it('maxItems=2 of dims [3,2,2] keeps 8 bytes, dims [2,2,2], total 3', () => {
    const r = ok(parseIdx(images3x2x2, { file: 't', maxItems: 2 }));
    expect(r.dims).toEqual([2, 2, 2]);
    expect(r.total).toBe(3);
    expect([...r.data]).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
  });

  it('a decoded ubyte array owns its buffer (not a view into the input)', () => {
    const input = encodeIdx('ubyte', [2], [5, 7]);
    const r = ok(parseIdx(input, { file: 't' }));
    input[8] = 99;
    expect(r.data[0]).toBe(5);
    expect(r.data.buffer.byteLength).toBe(2);
  });

  it('decodes from a pooled node Buffer (non-zero byteOffset) into a buffer of its own', () => {
    Buffer.from('pushes the pool offset along');
    const pooled = Buffer.from(encodeIdx('short', [2], [-2, 300]));
    expect(pooled.byteOffset).toBeGreaterThan(0);
    const r = ok(parseIdx(pooled, { file: 't' }));
    expect([...r.data]).toEqual([-2, 300]);
    expect(r.data.buffer).not.toBe(pooled.buffer);
  });

  it('an empty file of dims [0,28,28] decodes to no items', () => {
    const r = ok(parseIdx(encodeIdx('ubyte', [0, 28, 28], []), { file: 't' }));
    expect(r.dims).toEqual([0, 28, 28]);
    expect(r.data.length).toBe(0);
  });

  it('gzip input decodes the same as plain input', () => {
    const plain = ok(parseIdx(images3x2x2, { file: 't' }));
    const gz = ok(parseIdx(gzipSync(images3x2x2), { file: 't.gz' }));
    expect(gz).toEqual(plain);
  });
});

describe('parseIdx: every header field is checked, errors name the file and byte', () => {
  const bad = (bytes: number[], file = 'train-labels-idx1-ubyte') => err(parseIdx(new Uint8Array(bytes), { file }));

  it('a 3-byte file: "byte 0: file holds 3 bytes"', () => {
    const e = bad([0, 0, 8]);
    expect(e.code).toBe('format');
    expect(e.offset).toBe(0);
    expect(e.message).toBe('train-labels-idx1-ubyte: byte 0: file holds 3 bytes, an IDX header needs at least 4');
  });

  it('magic 0x00 0x01: "two zero bytes"', () => {
    expect(bad([0, 1, 8, 1, 0, 0, 0, 0]).message).toMatch(/byte 0: IDX magic must start with two zero bytes, got 0x00 0x01/);
  });

  it('type code 0x07 is unknown and the message lists the known codes', () => {
    const e = bad([0, 0, 7, 1, 0, 0, 0, 0]);
    expect(e.offset).toBe(2);
    expect(e.message).toMatch(/unknown IDX type code 0x07 \(known: 0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float, 0x0e double\)/);
  });

  it('0 dimensions is refused at byte 3', () => {
    expect(bad([0, 0, 8, 0]).message).toBe('train-labels-idx1-ubyte: byte 3: number of dimensions is 0, expected at least 1');
  });

  it('3 dimensions declared but the file ends inside the sizes', () => {
    expect(bad([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]).message).toMatch(/byte 4: header declares 3 dimensions \(16 header bytes\), file holds 10 bytes/);
  });

  it('labels: 60000 declared, 59999 present', () => {
    const bytes = new Uint8Array(8 + 59999);
    bytes.set([0, 0, 8, 1, 0, 0, 0xea, 0x60]);
    const e = err(parseIdx(bytes, { file: 'train-labels-idx1-ubyte' }));
    expect(e.message).toBe(
      'train-labels-idx1-ubyte: byte 4: header declares 60000 ubyte items (60000 bytes of data after the 8-byte header), file holds 59999',
    );
  });

  it('images: trailing garbage after the declared data is an error too', () => {
    const bytes = new Uint8Array([...images3x2x2, 1, 2, 3]);
    expect(err(parseIdx(bytes, { file: 'imgs' })).message).toBe(
      'imgs: byte 4: header declares 3 items of 2x2 ubyte (12 bytes of data after the 16-byte header), file holds 15 (3 trailing bytes)',
    );
  });

  it('sizes that multiply past 2^53 (255 dims of 2^32-1) do not overflow into a match', () => {
    const bytes = new Uint8Array(4 + 4 * 255);
    bytes.set([0, 0, 8, 255]);
    bytes.fill(0xff, 4);
    expect(err(parseIdx(bytes, { file: 'huge' })).message).toMatch(/byte 4: header declares 4294967295 items of .* file holds 0$/);
  });

  it('gzip data that is corrupt is a format error at byte 0', () => {
    const gz = gzipSync(images3x2x2);
    gz[gz.length - 5] ^= 0xff; // the CRC/length trailer
    const e = err(parseIdx(gz, { file: 'x.gz' }));
    expect(e.code).toBe('format');
    expect(e.message).toMatch(/^x\.gz: byte 0: gzip data cannot be decompressed/);
  });

  it('gzip whose header declares more than maxBytes is refused before its data is inflated: 1 MB of items with maxBytes 1000', () => {
    const bomb = new Uint8Array(8 + (1 << 20));
    bomb.set([0, 0, 8, 1, 0, 0x10, 0, 0]); // ubyte, one dimension of 2^20
    const e = err(parseIdx(gzipSync(bomb), { file: 'bomb.gz', maxBytes: 1000 }));
    expect(e.message).toBe('bomb.gz: byte 4: header declares 1048576 bytes of data, more than the 1000-byte limit');
  });

  it('maxItems=-1 is refused', () => {
    expect(err(parseIdx(images3x2x2, { file: 't', maxItems: -1 })).message).toMatch(/maxItems must be a non-negative integer, got -1/);
  });
});

describe('readIdxFile', () => {
  it('reads a plain file and a .gz of it to the same value', () => {
    writeFileSync(join(dir, 'a'), images3x2x2);
    writeFileSync(join(dir, 'a.gz'), gzipSync(images3x2x2));
    const plain = readIdxFile(join(dir, 'a'));
    const gz = readIdxFile(join(dir, 'a.gz'));
    expect(plain._tag).toBe('Right');
    expect(gz).toEqual(plain);
  });

  it('maxItems=1 reads one item yet still checks the header against the full length (trailing byte found)', () => {
    writeFileSync(join(dir, 'b'), new Uint8Array([...images3x2x2, 0]));
    const r = readIdxFile(join(dir, 'b'), { maxItems: 1 });
    expect(r._tag === 'Left' && r.left.message).toMatch(/file holds 13 \(1 trailing bytes\)/);
    writeFileSync(join(dir, 'c'), images3x2x2);
    const c = readIdxFile(join(dir, 'c'), { maxItems: 1 });
    expect(c._tag === 'Right' && [c.right.dims, [...c.right.data], c.right.total]).toEqual([[1, 2, 2], [0, 1, 2, 3], 3]);
  });

  it('a missing file is an io error naming the path', () => {
    const r = readIdxFile(join(dir, 'nope'));
    expect(r._tag === 'Left' && r.left.code).toBe('io');
    expect(r._tag === 'Left' && r.left.message).toMatch(/nope: cannot read: ENOENT/);
  });

  it('an empty file is a format error "file holds 0 bytes"', () => {
    writeFileSync(join(dir, 'empty'), new Uint8Array(0));
    const r = readIdxFile(join(dir, 'empty'));
    expect(r._tag === 'Left' && r.left.message).toMatch(/empty: byte 0: file holds 0 bytes/);
  });
});
