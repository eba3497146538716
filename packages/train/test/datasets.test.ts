import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { FoldnetError } from '@foldnet/core';
import {
  datasetInfo, encodeIdx, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadDataset, loadDatasetSplit, loadMnist, MNIST_FILES,
} from '@foldnet/train';
import { writeIdxSet } from './idx-set.js';

/*
 * Datasets by name (MNIST, Fashion-MNIST from Debian's dataset-fashion-mnist) and images files of
 * several channels ([N,C,H,W] and [N,H,W,C] ubyte), read by the same bounded IDX reader.
 */

const root = mkdtempSync(join(tmpdir(), 'foldnet-datasets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const must = <A>(r: { _tag: 'Left'; left: FoldnetError } | { _tag: 'Right'; right: A }): A => {
  if (r._tag === 'Left') throw new Error(`expected a value, got: ${r.left.message}`);
  return r.right;
};
const failure = (r: { _tag: 'Left'; left: FoldnetError } | { _tag: 'Right' }): FoldnetError => {
  if (r._tag === 'Right') throw new Error('expected an error');
  return r.left;
};

describe('loadDataset: datasets by name', () => {
  it("fashion: the official split from Debian's dataset-fashion-mnist (the .gz files), 60000/10000 images [1,28,28], first labels 9 and 9 (Ankle boot)", () => {
    const d = must(loadDataset('fashion'));
    expect(d.dir).toBe(FASHION_MNIST_DIR);
    expect(d.title).toBe('Fashion-MNIST');
    expect(d.train.images.shape).toEqual([60000, 1, 28, 28]);
    expect(d.test.images.shape).toEqual([10000, 1, 28, 28]);
    expect(Array.from(d.train.labels.slice(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(d.test.labels.slice(0, 5))).toEqual([9, 2, 1, 1, 6]);
    expect(d.classNames[d.test.labels[0]]).toBe('Ankle boot');
    // every class is there, 6000 each in training as the dataset promises
    const counts = new Array<number>(10).fill(0);
    for (const l of d.train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000));
  });

  it('fashion with trainSize 500 / testSize 100 reads only those images; they equal the first ones of the full load', () => {
    const small = must(loadDataset('fashion', { trainSize: 500, testSize: 100 }));
    const full = must(loadDataset('fashion', { trainSize: 600, testSize: 100 }));
    expect(small.train.images.shape).toEqual([500, 1, 28, 28]);
    expect(Array.from(small.train.images.data)).toEqual(Array.from(full.train.images.data.slice(0, 500 * 784)));
  });

  it("class names: Fashion-MNIST's ten by label, MNIST's digits", () => {
    expect(datasetInfo('fashion').classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(FASHION_MNIST_CLASSES).toHaveLength(10);
    expect(datasetInfo('mnist').classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('mnist by name is loadMnist(): the same images and labels', () => {
    const byName = must(loadDataset('mnist', { trainSize: 50, testSize: 20 }));
    const direct = must(loadMnist({ trainSize: 50, testSize: 20 }));
    expect(Array.from(byName.train.images.data)).toEqual(Array.from(direct.train.images.data));
    expect(Array.from(byName.test.labels)).toEqual(Array.from(direct.test.labels));
  });

  it('a directory given replaces the dataset\'s own place: fashion class names over files elsewhere; missing files are listed', () => {
    const dir = join(root, 'elsewhere');
    mkdirSync(dir);
    expect(failure(loadDataset('fashion', { dir })).message).toMatch(/^.*elsewhere: loadMnist: missing train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\), /);
    writeSet(dir, 4, 2, [1, 5, 6]);
    const d = must(loadDataset('fashion', { dir }));
    expect(d.classNames[9]).toBe('Ankle boot');
    expect(d.train.images.shape).toEqual([4, 1, 5, 6]);
  });

  it('loadDatasetSplit reads one split: fashion test [200,1,28,28] with its class names', () => {
    const s = must(loadDatasetSplit('fashion', 'test', { size: 200 }));
    expect(s.images.shape).toEqual([200, 1, 28, 28]);
    expect(s.classNames[s.labels[1]]).toBe('Pullover');
  });

  it('an unknown name from an untyped caller is a value error naming the names known', () => {
    const name: unknown = 'cifar';
    const call = loadDataset as (n: unknown) => ReturnType<typeof loadDataset>;
    expect(failure(call(name)).message).toBe('loadDataset: expected a dataset name (mnist, fashion), got "cifar"');
  });
});

/**
 * Writes the four files of a set whose images are `dims` per sample ([H,W] or, as laid out in the
 * file, [C,H,W] / [H,W,C]): pixel j of image k is (11k + 3j) mod 256; labels k mod 10.
 */
function writeSet(dir: string, n: number, m: number, sample: readonly number[], gz = false): void {
  const per = sample.reduce((a, b) => a * b, 1);
  const images = (count: number) => encodeIdx('ubyte', [count, ...sample], Array.from({ length: count * per }, (_, j) => (11 * Math.floor(j / per) + 3 * (j % per)) % 256));
  const labels = (count: number) => encodeIdx('ubyte', [count], Array.from({ length: count }, (_, k) => k % 10));
  writeIdxSet(dir, { trainImages: images(n), trainLabels: labels(n), testImages: images(m), testLabels: labels(m) }, () => gz);
}

describe('images files of several channels', () => {
  it('[N,3,4,5] (channels first) loads as it is, [N,3,4,5] -> [N,3,4,5], pixel values / 255', () => {
    const dir = join(root);
    writeSet(dir, 3, 2, [3, 4, 5]);
    const d = must(loadMnist({ dir }));
    expect(d.train.images.shape).toEqual([3, 3, 4, 5]);
    // image 1, channel 2, row 3, column 4: file element 60 + 2*20 + 3*5 + 4 = 119 -> (11 + 3 * 59) mod 256
    expect(d.train.images.data[60 + 59]).toBe(Math.fround(((11 + 3 * 59) % 256) / 255));
  });

  it('[N,5,6,3] (channels last, gzipped) loads as [N,3,5,6]: pixel (c, y, x) is file element ((y*6 + x)*3 + c)', () => {
    const dir = join(root, 'nhwc');
    writeSet(dir, 3, 2, [5, 6, 3], true);
    const d = must(loadMnist({ dir, normalize: false }));
    expect(d.train.images.shape).toEqual([3, 3, 5, 6]);
    const x = d.train.images.data;
    for (let k = 0; k < 3; k++) {
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 5; y++) {
          for (let xx = 0; xx < 6; xx++) {
            const fileJ = (y * 6 + xx) * 3 + c;
            expect(x[((k * 3 + c) * 5 + y) * 6 + xx]).toBe((11 * k + 3 * fileJ) % 256);
          }
        }
      }
    }
  });

  it('flatten of [N,3,4,5] gives [N,60]; a one-channel 4-D file [N,1,6,6] equals its 3-D twin', () => {
    const dir = join(root, 'flat3');
    writeSet(dir, 2, 2, [3, 4, 5]);
    expect(must(loadMnist({ dir, flatten: true })).train.images.shape).toEqual([2, 60]);
    const four = join(root, 'one4');
    const three = join(root, 'one3');
    writeSet(four, 2, 2, [1, 6, 6]);
    writeSet(three, 2, 2, [6, 6]);
    expect(Array.from(must(loadMnist({ dir: four })).train.images.data)).toEqual(Array.from(must(loadMnist({ dir: three })).train.images.data));
    expect(must(loadMnist({ dir: four })).train.images.shape).toEqual([2, 1, 6, 6]);
  });

  it('a layout the sizes leave open ([N,3,8,3] or [N,8,8,8]) is refused asking for it; with layout given it loads', () => {
    const dir = join(root, 'open');
    writeSet(dir, 2, 2, [3, 8, 3]);
    expect(failure(loadMnist({ dir })).message).toMatch(/train-images-idx3-ubyte: byte 4: images \[2,3,8,3\]: cannot tell whether the channels are the second or the last axis: give the layout \('nchw' or 'nhwc'\)$/);
    expect(must(loadMnist({ dir, layout: 'nhwc' })).train.images.shape).toEqual([2, 3, 3, 8]);
    expect(must(loadMnist({ dir, layout: 'nchw' })).train.images.shape).toEqual([2, 3, 8, 3]);
    const none = join(root, 'none');
    writeSet(none, 2, 2, [8, 8, 8]);
    expect(failure(loadMnist({ dir: none })).message).toMatch(/cannot tell whether the channels/);
  });

  it('training images of 3 channels with test images of 1 are refused, naming both sizes', () => {
    const dir = join(root, 'mixed');
    writeSet(dir, 2, 2, [3, 4, 5]);
    writeFileSync(join(dir, MNIST_FILES.testImages), encodeIdx('ubyte', [2, 4, 5], new Array(40).fill(0)));
    expect(failure(loadMnist({ dir })).message).toMatch(/byte 8: images are 4x5, the training images 3x4x5$/);
  });

  it('fuzz: any [N,C,H,W] or [N,H,W,C] file (C in 1, 3, 4) loads as the channels-first images it holds (100 cases)', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.record({ n: fc.integer({ min: 1, max: 3 }), c: fc.constantFrom(1, 3, 4), h: fc.integer({ min: 5, max: 7 }), w: fc.integer({ min: 5, max: 7 }), last: fc.boolean() }),
        ({ n, c, h, w, last }) => {
          const dir = join(root, `fuzz${run++}`);
          // channels first in memory; the file holds them in the layout drawn
          const chw = (k: number, ch: number, y: number, x: number) => (k * 31 + ch * 17 + y * 5 + x) % 256;
          const data: number[] = [];
          for (let k = 0; k < n; k++) {
            if (last) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) data.push(chw(k, ch, y, x));
            else for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.push(chw(k, ch, y, x));
          }
          const imgs = encodeIdx('ubyte', last ? [n, h, w, c] : [n, c, h, w], data);
          const labs = encodeIdx('ubyte', [n], new Array(n).fill(1));
          writeIdxSet(dir, { trainImages: imgs, trainLabels: labs, testImages: imgs, testLabels: labs });
          const d = must(loadMnist({ dir, normalize: false, layout: last ? 'nhwc' : 'nchw' }));
          expect(d.test.images.shape).toEqual([n, c, h, w]);
          let i = 0;
          for (let k = 0; k < n; k++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(d.test.images.data[i++]).toBe(chw(k, ch, y, x));
        },
      ),
      { numRuns: 100, seed: 19 },
    );
  });
});
