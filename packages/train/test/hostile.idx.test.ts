import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_IDX_BYTES, DataError, parseIdx, type IdxType } from '@foldnet/train';

/*
 * Issue 18: memory is bounded by what a run needs, not by what an input claims. A gzip IDX file is
 * inflated only as far as the items kept, after its header's declared size has been checked
 * against the limit and the gzip trailer: a 4 MB file whose header claims 2^30 images of 28x28
 * allocates nothing, and 500 images of an honest file that inflates to 900 MB take a few MB.
 * Peak memory is measured in a child process (process.resourceUsage().maxRSS), since only a
 * process of its own has a peak to report.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-hostile-idx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TYPES: readonly [IdxType, number, number][] = [
  ['ubyte', 0x08, 1],
  ['byte', 0x09, 1],
  ['short', 0x0b, 2],
  ['int', 0x0c, 4],
  ['float', 0x0d, 4],
  ['double', 0x0e, 8],
];

/** IDX bytes: a header of `code` and `dims`, then `body`. */
const idxBytes = (code: number, dims: readonly number[], body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  out.set([0, 0, code, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(body, 4 + 4 * dims.length);
  return out;
};

const externalGrowth = (f: () => void): number => {
  const before = process.memoryUsage().arrayBuffers;
  f();
  return process.memoryUsage().arrayBuffers - before;
};

describe('gzip IDX input: checked from its header before it is inflated', () => {
  it('fuzz: random headers (any type, 1..3 sizes up to 2^32-1) over gzipped bodies honest or not, truncated or not, any maxItems and maxBytes (600 cases): a DataError, or exactly what the plain file gives', () => {
    const arb = fc.record({
      type: fc.constantFrom(...TYPES),
      dims: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(0xffffffff, 1 << 30, 65536)), { minLength: 1, maxLength: 3 }),
      honest: fc.boolean(),
      extra: fc.integer({ min: 0, max: 300 }),
      cut: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
      maxItems: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
      maxBytes: fc.constantFrom(16, 1 << 20, DEFAULT_MAX_IDX_BYTES),
    });
    fc.assert(
      fc.property(arb, ({ type: [, code, size], dims, honest, extra, cut, maxItems, maxBytes }) => {
        const declared = dims.reduce((a, d) => a * d, size);
        const bodyLength = honest && declared <= 4096 ? declared : extra;
        const body = Uint8Array.from({ length: bodyLength }, (_, i) => (i * 37) & 0xff);
        const raw = idxBytes(code, dims, body);
        const whole = gzipSync(raw);
        const gz = cut === undefined ? whole : whole.subarray(0, Math.min(cut, whole.length));
        const options = { file: 'f.gz', maxBytes, ...(maxItems === undefined ? {} : { maxItems }) };
        let r: ReturnType<typeof parseIdx> | undefined;
        const growth = externalGrowth(() => {
          r = parseIdx(gz, options);
        });
        expect(growth).toBeLessThan(1 << 20);
        if (r === undefined) throw new Error('parseIdx gave nothing');
        if (r._tag === 'Left') {
          expect(r.left).toBeInstanceOf(DataError);
          expect(r.left.message.startsWith('f.gz: byte ')).toBe(true);
          return;
        }
        // Accepted: the very items the uncompressed bytes give, and never past the limit.
        const plain = parseIdx(raw, options);
        expect(plain).toEqual(r);
        expect(declared).toBeLessThanOrEqual(maxBytes);
      }),
      { seed: 1818, numRuns: 600 },
    );
  });

  it('a 4 MB .gz whose header claims 2^30 images of 28x28 (842 GB) is refused from its header, with or without maxItems, allocating nothing', () => {
    const raw = idxBytes(0x08, [2 ** 30, 28, 28], new Uint8Array(4 << 20));
    const gz = gzipSync(raw, { level: 1 });
    for (const maxItems of [undefined, 500]) {
      const growth = externalGrowth(() => {
        const r = parseIdx(gz, { file: 'liar.gz', ...(maxItems === undefined ? {} : { maxItems }) });
        expect(r._tag === 'Left' && r.left.message).toBe(`liar.gz: byte 4: header declares 841813590016 bytes of data, more than the ${DEFAULT_MAX_IDX_BYTES}-byte limit`);
      });
      expect(growth).toBeLessThan(1 << 20);
    }
  });

  it('a header within the limit that its gzip trailer contradicts (1,000,000 images declared, 4 MB inflated) is refused before the data is inflated', () => {
    const gz = gzipSync(idxBytes(0x08, [1_000_000, 28, 28], new Uint8Array(4 << 20)), { level: 1 });
    const growth = externalGrowth(() => {
      const r = parseIdx(gz, { file: 'short.gz', maxItems: 500 });
      expect(r._tag === 'Left' && r.left.message).toBe(
        'short.gz: byte 4: header declares 784000016 bytes in all, the gzip trailer says the file inflates to 4194320 (mod 2^32): the file is truncated or corrupt, or holds more than one gzip member',
      );
    });
    expect(growth).toBeLessThan(1 << 20);
  });

  it('maxItems of an honest .gz: the first items exactly, the total from the header, whatever the compression ratio along the file', () => {
    // The first half compresses ~1000:1 (zeros), the second not at all (xorshift noise): a first
    // guess from the average ratio is wrong both ways, so the search must recover.
    const items = 4000;
    const body = new Uint8Array(items * 64);
    let x = 2463534242;
    for (let i = body.length / 2; i < body.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      body[i] = x & 0xff;
    }
    const raw = idxBytes(0x08, [items, 8, 8], body);
    const gz = gzipSync(raw);
    expect(gz.length).toBeGreaterThan(body.length / 2);
    for (const maxItems of [0, 1, 1999, 2000, 2001, 3999, 4000, 9999]) {
      const got = parseIdx(gz, { file: 'g', maxItems });
      const want = parseIdx(raw, { file: 'g', maxItems });
      if (got._tag === 'Left' || want._tag === 'Left') throw new Error(`maxItems ${maxItems}: refused`);
      expect([got.right.dims, got.right.total]).toEqual([want.right.dims, want.right.total]);
      // Byte comparison: a deep equality of 256 KB element by element takes seconds.
      const bytesOf = (d: ArrayBufferView): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      expect(bytesOf(got.right.data).equals(bytesOf(want.right.data))).toBe(true);
    }
  });
});

// Streams an IDX file of `items` zero images of 28x28, gzipped, to `file` without holding it.
const writeZeroImagesGz = async (file: string, items: number): Promise<void> => {
  const chunk = new Uint8Array(1 << 20);
  async function* content(): AsyncGenerator<Uint8Array> {
    yield idxBytes(0x08, [items, 28, 28], new Uint8Array(0));
    for (let left = items * 784; left > 0; left -= chunk.length) yield chunk.subarray(0, Math.min(left, chunk.length));
  }
  await pipeline(Readable.from(content()), createGzip({ level: 1 }), fs.createWriteStream(file));
};

interface ChildRead {
  readonly ok: boolean;
  readonly dims: readonly number[] | null;
  readonly message: string | null;
  readonly maxRssKiB: number;
}

/** Reads `file` as IDX in a fresh node process and reports its outcome and peak RSS. */
const readInChild = (file: string, maxItems?: number): ChildRead => {
  const args = ['--conditions=@foldnet/source', '--import', 'tsx', path.join(here, 'fixtures/read-input.ts'), 'idx', file, ...(maxItems === undefined ? [] : [String(maxItems)])];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child exited ${String(r.status)}: ${r.stderr}`);
  const parsed: unknown = JSON.parse(r.stdout);
  if (typeof parsed !== 'object' || parsed === null || !('maxRssKiB' in parsed) || typeof parsed.maxRssKiB !== 'number') throw new Error(`child said ${r.stdout}`);
  return {
    ok: 'ok' in parsed && parsed.ok === true,
    dims: 'dims' in parsed && Array.isArray(parsed.dims) ? parsed.dims.filter((d): d is number => typeof d === 'number') : null,
    message: 'message' in parsed && typeof parsed.message === 'string' ? parsed.message : null,
    maxRssKiB: parsed.maxRssKiB,
  };
};

const MiB = 1024; // maxRSS is in KiB

describe('peak memory of a child reading a .gz IDX file (maxRSS over a child reading a tiny file)', () => {
  const honest = path.join(tmp, 'honest-900MB.gz');
  const liar = path.join(tmp, 'liar-2^30.gz');
  const tiny = path.join(tmp, 'tiny.gz');
  const HONEST_ITEMS = Math.floor((900 << 20) / 784); // 1,203,720 images: 900 MiB inflated, ~4 MB on disk

  beforeAll(async () => {
    await writeZeroImagesGz(honest, HONEST_ITEMS);
    // 1 GiB of zeros after a header claiming 2^30 images: the "3 MB .gz" (level 1 gives ~4.5 MB).
    const header = idxBytes(0x08, [2 ** 30, 28, 28], new Uint8Array(0));
    const chunk = new Uint8Array(1 << 20);
    async function* content(): AsyncGenerator<Uint8Array> {
      yield header;
      for (let i = 0; i < 1024; i++) yield chunk;
    }
    await pipeline(Readable.from(content()), createGzip({ level: 1 }), fs.createWriteStream(liar));
    await writeZeroImagesGz(tiny, 10);
  }, 120_000);

  it('500 images of a file that inflates to 900 MiB: peak RSS grows by less than 32 MiB; a header claiming 2^30 images: less than 32 MiB, then a one-line refusal', () => {
    const base = readInChild(tiny);
    expect(base.ok).toBe(true);
    const some = readInChild(honest, 500);
    expect(some.dims).toEqual([500, 28, 28]);
    expect(some.maxRssKiB - base.maxRssKiB).toBeLessThan(32 * MiB);
    for (const maxItems of [undefined, 500]) {
      const lie = readInChild(liar, maxItems);
      expect(lie.message).toMatch(/^.*liar-2\^30\.gz: byte 4: header declares 841813590016 bytes of data, more than the 1073741824-byte limit$/);
      expect(lie.maxRssKiB - base.maxRssKiB).toBeLessThan(32 * MiB);
    }
  }, 120_000);

  it('60,000 of its images (47 MB kept): peak RSS grows by less than 4 x what is kept (the inflated prefix, its copy, zlib)', () => {
    const base = readInChild(tiny);
    const kept = 60_000 * 784;
    const r = readInChild(honest, 60_000);
    expect(r.dims).toEqual([60_000, 28, 28]);
    expect((r.maxRssKiB - base.maxRssKiB) * 1024).toBeLessThan(4 * kept);
  }, 120_000);
});
