import fs, { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tensor, type FoldnetError } from '@foldnet/core';
import {
  channelStats, checkChannelStats, decodeImage, decodeImageFolder, imageFolderSplit, loadImageFolder, normalizeImages, readImageHeader, scanImageFolder, writeImagePlanes, type DecodedImage, type ImageFolderOptions,
} from '@foldnet/train';
import { jpegBytes, pngBytes, put, stripes } from './image-files.js';

/*
 * Users' own images: PNG and JPEG decoding (grey and RGB), the conversion to a network's input
 * (channels, bilinear resize), image folders (classes, the seeded split, what is refused) and
 * per-channel normalisation.
 */

const root = mkdtempSync(join(tmpdir(), 'foldnet-image-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const freshDir = (): string => join(root, `f${folders++}`);

const must = <A>(r: { _tag: 'Left'; left: FoldnetError } | { _tag: 'Right'; right: A }): A => {
  if (r._tag === 'Left') throw new Error(`expected a value, got: ${r.left.message}`);
  return r.right;
};
const failure = (r: { _tag: 'Left'; left: FoldnetError } | { _tag: 'Right' }): string => {
  if (r._tag === 'Right') throw new Error('expected an error');
  return r.left.message;
};

const greyJpeg = readFileSync(new URL('./fixtures/grey-8x6.jpg', import.meta.url));

describe('decodeImage: PNG and JPEG, grey and RGB', () => {
  it('a grey PNG (colour type 0) is 1 channel, its values as written', () => {
    const img = must(decodeImage(pngBytes(3, 2, (x, y) => [x * 100 + y], 0), 'g.png'));
    expect([img.format, img.width, img.height, img.channels]).toEqual(['png', 3, 2, 1]);
    expect(Array.from(img.pixels)).toEqual([0, 100, 200, 1, 101, 201]);
  });

  it('an RGBA PNG is 3 channels, alpha composited over white', () => {
    const img = must(decodeImage(pngBytes(2, 1, (x) => (x === 0 ? [255, 0, 0, 255] : [0, 0, 0, 0]), 6), 'a.png'));
    expect(img.channels).toBe(3);
    expect(Array.from(img.pixels)).toEqual([255, 0, 0, 255, 255, 255]);
  });

  it('an RGB JPEG is 3 channels, within JPEG loss of what was encoded', () => {
    const img = must(decodeImage(jpegBytes(16, 16, () => [200, 40, 90]), 'c.jpg'));
    expect([img.format, img.channels, img.width, img.height]).toEqual(['jpeg', 3, 16, 16]);
    const [r = 0, g = 0, b = 0] = img.pixels;
    expect(Math.abs(r - 200) + Math.abs(g - 40) + Math.abs(b - 90)).toBeLessThan(12);
  });

  it("a grey JPEG (one component, libjpeg's cjpeg -grayscale) is 1 channel", () => {
    const img = must(decodeImage(greyJpeg, 'grey-8x6.jpg'));
    expect([img.channels, img.width, img.height]).toEqual([1, 8, 6]);
    // the fixture's first row is 0, 32, 64, ... (x * 32)
    expect(Array.from(img.pixels.subarray(0, 3)).map((v) => Math.round(v / 8))).toEqual([0, 4, 8]);
  });

  it('a JPEG cut short names the file and the byte where its header ends; a PNG cut short names the file', () => {
    const jpg = jpegBytes(16, 16, () => [1, 2, 3]);
    expect(failure(decodeImage(jpg.subarray(0, 20), 'cut.jpg'))).toBe('cut.jpg: byte 20: a JPEG cut short: it ends at byte 20, before its frame header');
    expect(failure(decodeImage(jpg.subarray(0, jpg.length - 10), 'cut2.jpg'))).toMatch(/^cut2\.jpg: not a readable JPEG image \(/);
    const png = pngBytes(16, 16, () => [1, 2, 3]);
    expect(failure(decodeImage(png.subarray(0, 20), 'cut.png'))).toBe('cut.png: byte 20: a PNG cut short: it ends at byte 20, inside its IHDR header');
    expect(failure(decodeImage(png.subarray(0, png.length - 20), 'cut2.png'))).toMatch(/^cut2\.png: not a readable PNG image \(/);
    expect(failure(decodeImage(new TextEncoder().encode('hello'), 'notes.png'))).toBe('notes.png: byte 0: not a PNG or JPEG image: it starts with 68 65 6c 6c 6f ("hello"), though its name ends in .png (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)');
    expect(failure(decodeImage(new Uint8Array(0), 'empty.jpg'))).toBe('empty.jpg: byte 0: not a PNG or JPEG image: the file is empty');
  });

  it('an image claiming more than 4096x4096 pixels is refused from its header, naming its size', () => {
    const png = pngBytes(2, 2, () => [0]);
    const view = new DataView(png.buffer, png.byteOffset);
    view.setUint32(16, 30000);
    view.setUint32(20, 30000);
    expect(failure(readImageHeader(png, 'big.png'))).toBe('big.png: byte 16: a PNG of 30000x30000 pixels: at most 16,777,216 pixels (4096x4096) are read; scale it down first');
  });

  it('fuzz: random bytes, truncations and bit flips of a PNG and a JPEG give a value or a DataError naming the file, never an exception', () => {
    const seeds = [pngBytes(8, 8, stripes('vertical')), jpegBytes(8, 8, stripes('horizontal')), new Uint8Array(greyJpeg)];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat()).map(([s, cut]) => seeds[s].subarray(0, cut % seeds[s].length)),
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 0, max: 7 })).map(([s, at, bit]) => {
            const copy = seeds[s].slice();
            copy[at % copy.length] ^= 1 << bit;
            return copy;
          }),
        ),
        (bytes) => {
          const r = decodeImage(bytes, 'fuzz.img');
          if (r._tag === 'Left') expect(r.left.message.startsWith('fuzz.img: ')).toBe(true);
          else expect(r.right.pixels.length).toBe(r.right.width * r.right.height * r.right.channels);
        },
      ),
      { seed: 19, numRuns: 600 },
    );
  });
});

describe('writeImagePlanes: channels and bilinear resize', () => {
  const image = (width: number, height: number, channels: 1 | 3, values: readonly number[]): DecodedImage => ({ format: 'png', width, height, channels, pixels: Uint8Array.from(values) });
  const planes = (img: DecodedImage, channels: 1 | 3, height: number, width: number): number[] => {
    const out = new Float32Array(channels * height * width);
    writeImagePlanes(img, channels, height, width, out, 0);
    return Array.from(out);
  };

  it('the same size and channels: byte / 255, [H,W,C] -> [C,H,W]', () => {
    expect(planes(image(2, 1, 3, [255, 0, 51, 0, 255, 102]), 3, 1, 2)).toEqual([1, 0, 0, 1, 0.2, 0.4].map(Math.fround));
  });

  it('grey -> RGB repeats the grey value; RGB -> grey is luma 0.299 R + 0.587 G + 0.114 B', () => {
    expect(planes(image(1, 1, 1, [51]), 3, 1, 1)).toEqual([0.2, 0.2, 0.2].map(Math.fround));
    expect(planes(image(1, 1, 3, [255, 0, 0]), 1, 1, 1)).toEqual([Math.fround(0.299)]);
    expect(planes(image(1, 1, 3, [100, 150, 200]), 1, 1, 1)).toEqual([Math.fround((0.299 * 100 + 0.587 * 150 + 0.114 * 200) / 255)]);
  });

  it("bilinear 2x2 -> 4x4 with half-pixel centres equals PyTorch's interpolate(align_corners=False)", () => {
    // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear', align_corners=False)
    const torch = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    expect(planes(image(2, 2, 1, [0, 51, 102, 153]), 1, 4, 4)).toEqual(torch.map((v) => Math.fround((v * 51) / 255)));
  });

  it('shrinking 4x4 -> 2x2 samples between the source pixels (each output the mean of a 2x2 block)', () => {
    const src = image(4, 4, 1, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]);
    expect(planes(src, 1, 2, 2)).toEqual([25, 45, 105, 125].map((v) => Math.fround(v / 255)));
  });
});

describe('image folders: classes, the seeded split, bad input', () => {
  /** A folder of `perClass` PNGs (and a JPEG) in each class folder. */
  const makeFolder = (classes: readonly string[], perClass: number, size = 8): string => {
    const dir = freshDir();
    classes.forEach((c, k) => {
      for (let i = 0; i < perClass; i++) put(join(dir, c, `${i}.png`), pngBytes(size, size, stripes(k % 2 === 0 ? 'horizontal' : 'vertical', [200, 200, 200], i)));
    });
    return dir;
  };

  it('classes are the sorted folder names; the split keeps round(n x 0.2) of each class for testing; images [N,C,H,W] in [0,1]', () => {
    const dir = makeFolder(['zebra', 'ant', 'moth'], 10);
    put(join(dir, 'moth', 'x.jpg'), jpegBytes(8, 8, stripes('vertical')));
    const data = must(loadImageFolder(dir));
    expect(data.classNames).toEqual(['ant', 'moth', 'zebra']);
    expect(data.scan.split).toBe('fraction');
    const count = (labels: Int32Array, k: number) => labels.filter((l) => l === k).length;
    expect([0, 1, 2].map((k) => count(data.test.labels, k))).toEqual([2, 2, 2]);
    expect([0, 1, 2].map((k) => count(data.train.labels, k))).toEqual([8, 9, 8]);
    // a colour JPEG among grey-looking PNGs (written as RGB): 3 channels
    expect(data.train.images.shape).toEqual([25, 3, 8, 8]);
    expect(Array.from(data.train.images.data).every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('the split is stable: the same on every read, and adding images to one class moves no image of another', () => {
    const dir = makeFolder(['a', 'b'], 12);
    const testFiles = (classIndex: number) => must(scanImageFolder(dir)).test.filter((e) => e.label === classIndex).map((e) => e.file).sort();
    const before = testFiles(0);
    expect(testFiles(0)).toEqual(before);
    for (let i = 100; i < 110; i++) put(join(dir, 'b', `${i}.png`), pngBytes(8, 8, stripes('vertical')));
    expect(testFiles(0)).toEqual(before);
    // another split seed, another split
    const other = must(scanImageFolder(dir, { splitSeed: 7 })).test.filter((e) => e.label === 0).map((e) => e.file).sort();
    expect(other).not.toEqual(before);
  });

  it('a folder with train/ and test/ keeps its own split', () => {
    const dir = freshDir();
    for (const split of ['train', 'test']) for (const c of ['x', 'y']) for (let i = 0; i < (split === 'train' ? 3 : 2); i++) put(join(dir, split, c, `${i}.png`), pngBytes(4, 4, () => [c === 'x' ? 0 : 255], 0));
    const data = must(loadImageFolder(dir));
    expect([data.scan.split, data.train.labels.length, data.test.labels.length, data.train.images.shape[1]]).toEqual(['folders', 6, 4, 1]);
    put(join(dir, 'test', 'z', '0.png'), pngBytes(4, 4, () => [0], 0));
    expect(failure(scanImageFolder(dir))).toBe(`${dir}: train/ and test/ must hold the same class folders: z is only in test/`);
  });

  it('images of different sizes: refused naming the file and both sizes, or resized to the size given', () => {
    const dir = makeFolder(['a', 'b'], 2);
    put(join(dir, 'b', 'wide.jpg'), jpegBytes(12, 6, stripes('vertical')));
    expect(failure(scanImageFolder(dir))).toMatch(new RegExp(`^${join(dir, 'b', 'wide.jpg')}: is 12x6 pixels \\(width x height\\), .*\\d\\.png is 8x8: images of different sizes need a size to be resized to \\(--image-size HxW\\)$`));
    const data = must(loadImageFolder(dir, { size: { height: 5, width: 7 }, channels: 1 }));
    expect(data.train.images.shape.slice(1)).toEqual([1, 5, 7]);
  });

  it('bad folders are refused naming the folder: missing, no class, one class, an empty class; other files are ignored with one note', () => {
    expect(failure(scanImageFolder(join(root, 'nowhere')))).toBe(`${join(root, 'nowhere')}: no such folder`);
    const none = freshDir();
    put(join(none, 'readme.txt'), 'hi');
    expect(failure(scanImageFolder(none))).toBe(`${none}: holds no class folders (an image folder holds one subfolder of images per class)`);
    const one = makeFolder(['only'], 3);
    expect(failure(scanImageFolder(one))).toBe(`${one}: holds one class folder (only): a classifier needs two classes or more`);
    const empty = makeFolder(['a', 'b'], 3);
    put(join(empty, 'c', 'notes.txt'), 'no images here');
    expect(failure(scanImageFolder(empty))).toBe(`${join(empty, 'c')}: holds no .png, .jpg or .jpeg images: every class folder needs at least one`);
    const noted = makeFolder(['a', 'b'], 3);
    put(join(noted, 'a', 'notes.txt'), 'x');
    put(join(noted, 'b', 'deeper', '1.png'), pngBytes(8, 8, () => [0]));
    symlinkSync(join(noted, 'a'), join(noted, 'b', 'link.png'));
    const scan = must(scanImageFolder(noted));
    expect(scan.notes).toEqual(['ignored 3 entries that are not a .png, .jpg or .jpeg image in a class folder, e.g. a/notes.txt']);
  });

  it('an unreadable image names the file (and the byte its header breaks at)', () => {
    const dir = makeFolder(['a', 'b'], 3);
    put(join(dir, 'a', 'broken.jpg'), jpegBytes(8, 8, () => [9]).subarray(0, 30));
    expect(failure(scanImageFolder(dir))).toBe(`${join(dir, 'a', 'broken.jpg')}: byte 30: a JPEG cut short: it ends at byte 30, before its frame header`);
    const data = makeFolder(['a', 'b'], 3);
    const png = pngBytes(8, 8, stripes('horizontal'));
    put(join(data, 'b', 'cut.png'), png.subarray(0, png.length - 16));
    expect(failure(loadImageFolder(data))).toMatch(new RegExp(`^${join(data, 'b', 'cut.png')}: not a readable PNG image \\(`));
  });

  it('too many images or too many bytes are refused before any image is decoded', () => {
    const dir = makeFolder(['a', 'b'], 5);
    expect(failure(scanImageFolder(dir, { maxFiles: 9 }))).toBe(`${dir}: holds more than 9 images, the most read (maxFiles)`);
    expect(failure(scanImageFolder(dir, { maxBytes: 1000 }))).toBe(`${dir}: 10 images of 3x8x8 take 7680 bytes as float32, more than the 1000-byte limit`);
    // an image of 4096x4097 pixels claimed by a 100-byte file: refused from its header
    const big = pngBytes(2, 2, () => [0]);
    new DataView(big.buffer, big.byteOffset).setUint32(20, 4097 * 4096 > 0 ? 4097 : 0);
    new DataView(big.buffer, big.byteOffset).setUint32(16, 4096);
    put(join(dir, 'a', 'huge.png'), big);
    expect(failure(scanImageFolder(dir))).toMatch(/huge\.png: byte 16: a PNG of 4096x4097 pixels: at most 16,777,216 pixels/);
  });

  it('each image file is read from disk once: the scan holds the bytes it read, so the folder decodes after its files are gone', () => {
    const dir = makeFolder(['a', 'b'], 4);
    const scan = must(scanImageFolder(dir));
    const expected = must(loadImageFolder(dir));
    rmSync(dir, { recursive: true });
    const data = must(decodeImageFolder(scan));
    expect(Array.from(data.train.images.data)).toEqual(Array.from(expected.train.images.data));
    expect(Array.from(data.test.labels)).toEqual(Array.from(expected.test.labels));
    // the bytes were the decoder's once: a second decode reads the files, and names the one that is gone
    expect(failure(decodeImageFolder(scan))).toMatch(new RegExp(`^${dir}/[ab]/\\d\\.png: cannot be read \\(ENOENT`));
  });

  it('past maxHeldBytes the scan reads only a header prefix, the decoder the whole file; a JPEG header after 130 KB of metadata is found', () => {
    const dir = makeFolder(['a', 'b'], 3);
    // two APP1 segments of 65,533 bytes each before the frame header: past the 64 KiB the scan reads first
    const jpg = jpegBytes(8, 8, () => [200, 40, 90]);
    const app1 = Uint8Array.from({ length: 65537 }, (_, i) => (i === 0 ? 0xff : i === 1 ? 0xe1 : i === 2 ? 0xff : i === 3 ? 0xff : 0));
    put(join(dir, 'a', 'exif.jpg'), Buffer.concat([jpg.subarray(0, 2), app1, app1, jpg.subarray(2)]));
    const scan = must(scanImageFolder(dir, { maxHeldBytes: 0, channels: 3 }));
    expect(scan.held.take(join(dir, 'a', 'exif.jpg'))).toBeUndefined();
    expect(must(decodeImageFolder(scan)).train.images.shape[0] ?? 0).toBe(scan.train.length);
    const all = [...scan.train, ...scan.test];
    expect(all.find((e) => e.file.endsWith('exif.jpg'))?.header).toEqual({ format: 'jpeg', width: 8, height: 8, channels: 3 });
    // a JPEG cut short is still named with the byte where it ends, not where the prefix did
    put(join(dir, 'b', 'cut.jpg'), Buffer.concat([jpg.subarray(0, 2), app1, app1]));
    expect(failure(scanImageFolder(dir, { maxHeldBytes: 0 }))).toBe(`${join(dir, 'b', 'cut.jpg')}: byte 131076: a JPEG cut short: it ends at byte 131076, before its frame header`);
  });

  it('maxTrain and maxTest keep the first images of the fixed order, every class in it', () => {
    const dir = makeFolder(['a', 'b', 'c'], 20);
    const data = must(loadImageFolder(dir, { maxTrain: 30, maxTest: 6 }));
    expect([data.train.labels.length, data.test.labels.length]).toEqual([30, 6]);
    expect(new Set(data.train.labels).size).toBe(3);
  });

  it('available counts each split before maxTrain and maxTest: 48 and 12 of 3 classes of 20 kept as 30 and 6, or all of them', () => {
    const dir = makeFolder(['a', 'b', 'c'], 20);
    const capped = must(scanImageFolder(dir, { maxTrain: 30, maxTest: 6 }));
    expect([capped.train.length, capped.test.length, capped.available]).toEqual([30, 6, { train: 48, test: 12 }]);
    const whole = must(scanImageFolder(dir, { maxTrain: 100 }));
    expect([whole.train.length, whole.test.length, whole.available]).toEqual([48, 12, { train: 48, test: 12 }]);
    const own = freshDir();
    for (const split of ['train', 'test']) for (const c of ['x', 'y']) for (let i = 0; i < (split === 'train' ? 5 : 3); i++) put(join(own, split, c, `${i}.png`), pngBytes(4, 4, () => [0], 0));
    expect(must(scanImageFolder(own, { maxTrain: 0, maxTest: 4 })).available).toEqual({ train: 10, test: 6 });
  });

  it("imageFolderSplit: 'folders' for a folder whose only folders are train/ and test/, 'fraction' otherwise, an error for a missing folder", () => {
    const own = freshDir();
    for (const split of ['train', 'test']) put(join(own, split, 'x', '0.png'), pngBytes(4, 4, () => [0], 0));
    put(join(own, 'README.txt'), 'files beside them do not count');
    expect(must(imageFolderSplit(own))).toBe('folders');
    expect(must(imageFolderSplit(makeFolder(['train', 'test', 'valid'], 1)))).toBe('fraction');
    expect(must(imageFolderSplit(makeFolder(['cat', 'dog'], 1)))).toBe('fraction');
    expect(failure(imageFolderSplit(join(root, 'nowhere')))).toBe(`${join(root, 'nowhere')}: no such folder`);
  });

  it("unsplit 'test': a folder without train/ and test/ is all test images, in the order testFraction 0 gives the training images; one with them keeps its test/", () => {
    const dir = makeFolder(['a', 'b', 'c'], 7);
    const all = must(scanImageFolder(dir, { unsplit: 'test', maxTrain: 0 }));
    const asTraining = must(scanImageFolder(dir, { testFraction: 0 }));
    expect([all.split, all.train.length, all.available]).toEqual(['fraction', 0, { train: 0, test: 21 }]);
    expect(all.test.map((e) => [e.file, e.label])).toEqual(asTraining.train.map((e) => [e.file, e.label]));
    // maxTest keeps the first of that order, every class in it; testFraction plays no part
    expect(must(scanImageFolder(dir, { unsplit: 'test', testFraction: 0.5, maxTest: 9 })).test).toEqual(all.test.slice(0, 9));
    const own = freshDir();
    for (const split of ['train', 'test']) for (const c of ['x', 'y']) for (let i = 0; i < (split === 'train' ? 5 : 3); i++) put(join(own, split, c, `${i}.png`), pngBytes(4, 4, () => [0], 0));
    const kept = must(scanImageFolder(own, { unsplit: 'test', maxTrain: 0 }));
    expect([kept.split, kept.test.length, kept.test.every((e) => e.file.startsWith(join(own, 'test')))]).toEqual(['folders', 6, true]);
    // as a JavaScript caller may give it
    const unknownUnsplit: ImageFolderOptions = JSON.parse('{ "unsplit": "all" }');
    expect(failure(scanImageFolder(dir, unknownUnsplit))).toBe("image folder options: unsplit must be 'fraction' or 'test', got all");
  });

  it('the scan lists the folder once: its split and its class folders come from one listing', () => {
    const dir = makeFolder(['a', 'b'], 2);
    // the module's `fs.readdirSync` is node:fs's export, which the spy on the default export replaces once synced
    const spy = vi.spyOn(fs, 'readdirSync');
    syncBuiltinESMExports();
    let listed: string[];
    try {
      must(scanImageFolder(dir));
      listed = spy.mock.calls.map(([p]) => String(p));
    } finally {
      spy.mockRestore();
      syncBuiltinESMExports();
    }
    expect(listed.filter((p) => p === dir)).toHaveLength(1);
    expect(listed.sort()).toEqual([dir, join(dir, 'a'), join(dir, 'b')]);
  });

  it('minClasses 1 takes a folder of one class (a trained network evaluated on it); the default refuses it', () => {
    const one = makeFolder(['only'], 5);
    expect(failure(scanImageFolder(one))).toBe(`${one}: holds one class folder (only): a classifier needs two classes or more`);
    const scan = must(scanImageFolder(one, { minClasses: 1, testFraction: 0 }));
    expect([scan.classNames, scan.train.length, scan.test.length]).toEqual([['only'], 5, 0]);
  });
});

describe('per-channel normalisation', () => {
  it('channelStats: each channel mean and population std; a constant channel gets std 1', () => {
    // [N=2, C=2, 1, 2]: channel 0 holds 0, 1, 2, 3; channel 1 is always 0.5
    const images = tensor([0, 1, 0.5, 0.5, 2, 3, 0.5, 0.5], [2, 2, 1, 2]);
    const stats = channelStats(images);
    expect(stats.mean).toEqual([1.5, 0.5]);
    expect(stats.std).toEqual([Math.fround(Math.sqrt(1.25)), 1]);
    const normal = normalizeImages(images, stats);
    expect(Array.from(normal.data)).toEqual([0, 1, 0.5, 0.5, 2, 3, 0.5, 0.5].map((x, i) => (Math.floor(i / 2) % 2 === 0 ? Math.fround(Math.fround(x - 1.5) / Math.fround(Math.sqrt(1.25))) : 0)));
    // the normalised training set has mean 0 and std 1 per varying channel
    const again = channelStats(normal);
    expect(Math.abs(again.mean[0] ?? 1)).toBeLessThan(1e-6);
    expect(Math.abs((again.std[0] ?? 0) - 1)).toBeLessThan(1e-6);
  });

  it('checkChannelStats refuses counts that do not match and stds that are not positive', () => {
    expect(checkChannelStats({ mean: [0.5], std: [0.2] }, 3)).toEqual({ _tag: 'Left', left: 'normalisation has 1 means and 1 stds, the network takes 3 channels' });
    expect(checkChannelStats({ mean: [0.5], std: [0] }, 1)).toEqual({ _tag: 'Left', left: 'normalisation std[0] is 0, not a positive number' });
    expect(checkChannelStats({ mean: [Number.NaN], std: [1] }, 1)).toEqual({ _tag: 'Left', left: 'normalisation mean[0] is NaN, not a finite number' });
  });
});
