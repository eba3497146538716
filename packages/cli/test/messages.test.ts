import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherFormatOf } from '../src/checkpoint.js';
import { jpegBytes, pngBytes } from '../../train/test/image-files.js';
import { runInProcess } from './in-process.js';

/*
 * Messages that point the right way: a file given as a checkpoint that is something else says what it
 * looks like and where such a file goes (not "byte 0: header length ... exceeds the limit"); an --index
 * past the test set names its size and range (not the loader's message with a store path).
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-messages-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: readonly string[]) => runInProcess(args, tmp);
const file = (name: string, bytes: Uint8Array | string): string => {
  fs.writeFileSync(path.join(tmp, name), bytes);
  return name;
};
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

beforeAll(async () => {
  const r = await cli(['train', '--iters', '1', '--train-size', '10', '--test-size', '10', '--batch-size', '10', '--eval-every', '0', '--out', 'run']);
  expect(r.code, r.err).toBe(0);
}, 120_000);

describe('a file that is not a safetensors checkpoint', () => {
  const cases: readonly [string, Uint8Array | string, string][] = [
    ['seven.png', fs.readFileSync(path.join(root, 'packages/cli/docs/accuracy.png')), 'a PNG image (foldnet predict <checkpoint> <image.png> takes images)'],
    ['photo.jpg', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]), 'a JPEG image (foldnet predict <checkpoint> <image.jpg> takes images)'],
    ['t10k-images-idx3-ubyte.gz', gzipSync(Buffer.from([0, 0, 8, 3, 0, 0, 0, 1])), 'gzip-compressed data (MNIST-format .gz files go in a folder given with --data)'],
    ['model.pt', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 8, 0, 0, 0]), 'a zip archive (a PyTorch .pt file is one: foldnet reads safetensors)'],
    ['t10k-images-idx3-ubyte', Uint8Array.from([0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28]), 'an IDX data file (MNIST-format data goes in a folder given with --data)'],
    ['net.json', '\uFEFF  {\n  "input": [1, 28, 28], "layers": []\n}\n', 'JSON text (a model spec is given to foldnet summary, or to train --model)'],
  ];

  it.each(cases)('eval %s: says what it looks like, one line, exit 2', async (name, bytes, looks) => {
    const r = await cli(['eval', file(name, bytes)]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`foldnet eval: ${name}: not a safetensors checkpoint: it looks like ${looks}\n`);
  });

  it('predict, export, summary and --resume say the same of a PNG', async () => {
    const png = file('digit.png', fs.readFileSync(path.join(root, 'packages/cli/docs/accuracy.png')));
    const expected = /^foldnet \w+: digit\.png: not a safetensors checkpoint: it looks like a PNG image/;
    for (const args of [['predict', png, '--index', '0'], ['export', png, '--onnx', 'x.onnx'], ['summary', 'digit.safetensors'], ['train', '--resume', png]]) {
      if (args[1] === 'digit.safetensors') file('digit.safetensors', fs.readFileSync(path.join(tmp, png)));
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.replace('digit.safetensors', 'digit.png'), args.join(' ')).toMatch(expected);
    }
  });

  it('a real checkpoint never looks like anything else, and other bytes keep the reader\'s own message', async () => {
    expect(otherFormatOf(fs.readFileSync(path.join(tmp, 'run', 'checkpoint.safetensors')).subarray(0, 16))).toBeUndefined();
    const r = await cli(['eval', file('noise.bin', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^foldnet eval: noise\.bin: byte 0: header length \d+ exceeds the 100000000-byte limit\n$/);
  });
});

describe('predict', () => {
  it('foldnet predict seven.png, the checkpoint left out: the image came where the checkpoint goes, said so', async () => {
    const png = file('seven.png', fs.readFileSync(path.join(root, 'packages/cli/docs/accuracy.png')));
    const r = await cli(['predict', png]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('foldnet predict: seven.png is an image: give the checkpoint first, foldnet predict <checkpoint.safetensors> seven.png\n');
    expect((await cli(['predict', path.join('run', 'checkpoint.safetensors')])).err).toBe('foldnet predict: give an image (PNG or JPEG), a folder of images or --index <i> (a test image)\n');
  });

  it('foldnet predict ckpt --data photos: --data and --dataset choose the test set of --index; the message says how images are given', async () => {
    const ckpt = path.join('run', 'checkpoint.safetensors');
    fs.mkdirSync(path.join(tmp, 'photos'), { recursive: true });
    const data = await cli(['predict', ckpt, '--data', 'photos']);
    expect([data.code, data.err]).toEqual([2, `foldnet predict: --data photos: chooses the test set --index <i> reads; images and folders to predict are given as they are: foldnet predict ${ckpt} photos\n`]);
    const dataset = await cli(['predict', ckpt, file('five.png', pngBytes(28, 28, () => [0], 0)), '--dataset', 'fashion']);
    expect([dataset.code, dataset.out, dataset.err]).toEqual([2, '', "foldnet predict: --dataset fashion: chooses the test set --index <i> reads; images are read as the checkpoint's network takes them, whatever the dataset\n"]);
  });
});

describe('predict: a picture as PNG or JPEG', () => {
  // a dark stroke on white paper: predict inverts it (light on dark, as MNIST's digits are)
  const stroke = (x: number, y: number): number[] => [x >= 12 && x < 16 && y >= 4 && y < 24 ? 30 : 245];

  it('a JPEG given to an MNIST checkpoint is read as the same picture in PNG is: a class, ten probabilities, inverted', async () => {
    const jpg = await cli(['predict', path.join('run', 'checkpoint.safetensors'), file('stroke.jpg', jpegBytes(28, 28, stroke)), '--json']);
    expect(jpg.code, jpg.err).toBe(0);
    const png = await cli(['predict', path.join('run', 'checkpoint.safetensors'), file('stroke.png', pngBytes(28, 28, stroke, 0)), '--json']);
    const [a, b] = [JSON.parse(jpg.out), JSON.parse(png.out)];
    expect(a).toMatchObject({ inverted: true, predicted: b.predicted });
    expect(a.probabilities).toHaveLength(10);
  });

  it('a file that is neither: one line naming it, what it starts with and its name, exit 2', async () => {
    const gif = await cli(['predict', path.join('run', 'checkpoint.safetensors'), file('cat.gif', 'GIF89a\x01\x00\x01\x00')]);
    expect(gif.code).toBe(2);
    expect(gif.err).toBe('foldnet predict: cat.gif: byte 0: not a PNG or JPEG image: it starts with 47 49 46 38 39 61 01 00 ("GIF89a..") (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)\n');
    const text = await cli(['predict', path.join('run', 'checkpoint.safetensors'), file('notes.jpg', 'hello, world')]);
    expect(text.err).toBe('foldnet predict: notes.jpg: byte 0: not a PNG or JPEG image: it starts with 68 65 6c 6c 6f 2c 20 77 ("hello, w"), though its name ends in .jpg (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)\n');
  });

  it('foldnet predict photo.jpg, the checkpoint left out: said so, as for a PNG', async () => {
    const r = await cli(['predict', file('photo.jpg', jpegBytes(8, 8, stroke))]);
    expect(r.err).toBe('foldnet predict: photo.jpg is an image: give the checkpoint first, foldnet predict <checkpoint.safetensors> photo.jpg\n');
  });
});

describe('predict --index', () => {
  it('--index 10000: the test set has 10000 images (0-9999), with no loader internals', async () => {
    const r = await cli(['predict', path.join('run', 'checkpoint.safetensors'), '--index', '10000']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('foldnet predict: --index 10000: the test set has 10000 images (0-9999)\n');
  });

  it('--index 9999, the last image, is predicted', async () => {
    const r = await cli(['predict', path.join('run', 'checkpoint.safetensors'), '--index', '9999', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ label: expect.any(Number), predicted: expect.any(Number) });
  });
});
