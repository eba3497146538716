import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { fromNested, key, tensor, toNested } from '@foldnet/core';
import { batchesOf, batchesPerEpoch, mapStream, sampleWithReplacement, shuffledEpochs, streamOf, type IndexBatch } from '@foldnet/train';

const indicesOf = (batches: Iterable<IndexBatch>): number[][] => [...batches].map((b) => Array.from(b.indices));

describe('sampleWithReplacement (the lesson: np.random.choice(n, batch) each step)', () => {
  test('n=50 batchSize=10 steps=20: 20 batches of 10 indices in [0,50), steps numbered 0..19', () => {
    const s = sampleWithReplacement({ key: key(3), n: 50, batchSize: 10, steps: 20 });
    const all = [...s];
    expect(all.map((b) => b.step)).toEqual([...Array(20).keys()]);
    for (const b of all) {
      expect(b.indices.length).toBe(10);
      for (const i of b.indices) expect(i >= 0 && i < 50).toBe(true);
    }
    // with replacement: over 200 draws from 50, some index repeats within some batch (birthday bound ~60% per batch)
    expect(all.some((b) => new Set(b.indices).size < b.indices.length)).toBe(true);
  });

  test('the same key gives the same batches; another key gives others', () => {
    const a = indicesOf(sampleWithReplacement({ key: key(3), n: 1000, batchSize: 8, steps: 5 }));
    const b = indicesOf(sampleWithReplacement({ key: key(3), n: 1000, batchSize: 8, steps: 5 }));
    const c = indicesOf(sampleWithReplacement({ key: key(4), n: 1000, batchSize: 8, steps: 5 }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test('restart: from(k) yields exactly batches k.. of the uninterrupted stream, and at(i) equals the i-th yielded (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 9 }), (n, k, bs) => {
        const s = sampleWithReplacement({ key: key(n * 31 + bs), n, batchSize: bs, steps: 12 });
        const whole = indicesOf(s);
        expect(indicesOf(s.from(k))).toEqual(whole.slice(k));
        expect(indicesOf(s.until(k))).toEqual(whole.slice(0, k));
        whole.forEach((b, i) => expect(Array.from(s.at(i).indices)).toEqual(b));
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  test('without steps the stream is unbounded (length Infinity) and lazy', () => {
    const s = sampleWithReplacement({ key: key(0), n: 10, batchSize: 2 });
    expect(s.length).toBe(Infinity);
    let taken = 0;
    for (const b of s) if (++taken === 1000 || b.step > 1000) break;
    expect(taken).toBe(1000);
  });

  test('every index of n=20 is drawn in 100 batches of 10 (uniform sampling reaches all)', () => {
    const seen = new Set(indicesOf(sampleWithReplacement({ key: key(9), n: 20, batchSize: 10, steps: 100 })).flat());
    expect(seen.size).toBe(20);
  });

  test('bad sizes are refused with the value named', () => {
    expect(() => sampleWithReplacement({ key: key(0), n: 0, batchSize: 10 })).toThrow('sampleWithReplacement: n must be a positive integer, got 0');
    expect(() => sampleWithReplacement({ key: key(0), n: 10, batchSize: 2.5 })).toThrow('sampleWithReplacement: batchSize must be a positive integer, got 2.5');
  });
});

describe('shuffledEpochs (without replacement)', () => {
  test('n=10 batchSize=4 epochs=2, last partial batch kept: batch sizes 4,4,2 per epoch; each epoch is a permutation of 0..9', () => {
    const s = shuffledEpochs({ key: key(5), n: 10, batchSize: 4, epochs: 2 });
    expect(s.length).toBe(6);
    const all = indicesOf(s);
    expect(all.map((b) => b.length)).toEqual([4, 4, 2, 4, 4, 2]);
    const epoch0 = all.slice(0, 3).flat();
    const epoch1 = all.slice(3).flat();
    expect([...epoch0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(epoch0).not.toEqual(epoch1); // a fresh permutation per epoch
  });

  test('n=10 batchSize=4 dropLast: two full batches per epoch, 2 samples left out', () => {
    const s = shuffledEpochs({ key: key(5), n: 10, batchSize: 4, epochs: 3, dropLast: true });
    expect(s.length).toBe(6);
    const all = indicesOf(s);
    expect(all.every((b) => b.length === 4)).toBe(true);
    expect(new Set(all.slice(0, 2).flat()).size).toBe(8);
    expect(batchesPerEpoch(10, 4, true)).toBe(2);
    expect(batchesPerEpoch(10, 4, false)).toBe(3);
  });

  test('restart at any k equals the tail of the whole stream, and at(i) equals iteration (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), fc.nat(20), (n, bs, dropLast, k) => {
        fc.pre(!(dropLast && bs > n));
        const s = shuffledEpochs({ key: key(n + 100 * bs), n, batchSize: bs, epochs: 3, dropLast });
        const whole = indicesOf(s);
        expect(indicesOf(s.from(k))).toEqual(whole.slice(k));
        whole.forEach((b, i) => expect(Array.from(s.at(i).indices)).toEqual(b));
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  test('dropLast with batchSize > n is refused', () => {
    expect(() => shuffledEpochs({ key: key(0), n: 3, batchSize: 4, dropLast: true })).toThrow(
      'shuffledEpochs: batchSize 4 > n 3 with dropLast leaves no batch',
    );
  });
});

describe('batchesOf gathers rows (core take)', () => {
  const x = tensor([0, 1, 10, 11, 20, 21, 30, 31], [4, 2]);
  test('labels Int32Array: x rows and labels follow the indices', () => {
    const stream = streamOf((i) => ({ step: i, indices: Int32Array.of(3, 0, 3) }), 1);
    const b = batchesOf({ x, targets: Int32Array.of(7, 8, 9, 6) }, stream).at(0);
    expect(toNested(b.x)).toEqual([[30, 31], [0, 1], [30, 31]]);
    expect(Array.from(b.targets instanceof Int32Array ? b.targets : [])).toEqual([6, 7, 6]);
    expect(Array.from(b.indices ?? [])).toEqual([3, 0, 3]);
  });

  test('one-hot targets: the rows are gathered too', () => {
    const oneHot = fromNested([[1, 0], [0, 1], [1, 0], [0, 1]]);
    const b = batchesOf({ x, targets: oneHot }, streamOf((i) => ({ step: i, indices: Int32Array.of(1, 2) }), 1)).at(0);
    expect(b.targets instanceof Int32Array ? 'labels' : toNested(b.targets)).toEqual([[0, 1], [1, 0]]);
  });

  test('mismatched data and out-of-range indices are named', () => {
    const one = streamOf(() => ({ step: 0, indices: Int32Array.of(4) }), 1);
    expect(() => batchesOf({ x, targets: Int32Array.of(1, 2, 3) }, one)).toThrow('batchesOf: 4 inputs [4,2] but 3 targets');
    expect(() => batchesOf({ x, targets: Int32Array.of(1, 2, 3, 4) }, one).at(0)).toThrow(
      'batchesOf: index 4 is out of range for a data set of 4 samples',
    );
  });

  test('mapStream keeps restartability: from(k) of the gathered stream gathers batches k..', () => {
    const idx = sampleWithReplacement({ key: key(1), n: 4, batchSize: 3, steps: 6 });
    const data = { x, targets: Int32Array.of(0, 1, 2, 3) };
    const tail = [...batchesOf(data, idx).from(4)].map((b) => toNested(b.x));
    expect(tail).toEqual([...batchesOf(data, idx)].slice(4).map((b) => toNested(b.x)));
    expect([...mapStream(idx.from(5), (b) => b.step)]).toEqual([5]);
  });
});
