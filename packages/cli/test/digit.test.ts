import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { imageToMnist, resizeArea, UsageError, type GreyImage } from '@foldnet/cli';
import { jpegBytes } from '../../train/test/image-files.js';

/** A PNG of `w` x `h` RGBA pixels whose grey value is `f(x, y)` in [0, 255]. */
const makePng = (w: number, h: number, f: (x: number, y: number) => number, alpha: (x: number, y: number) => number = () => 255): Uint8Array => {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      const v = f(x, y);
      png.data[o] = v;
      png.data[o + 1] = v;
      png.data[o + 2] = v;
      png.data[o + 3] = alpha(x, y);
    }
  }
  return new Uint8Array(PNG.sync.write(png));
};

const sum = (img: GreyImage): number => Array.from(img.pixels).reduce((a, b) => a + b, 0);
const centreOfMass = (img: GreyImage): [number, number] => {
  let m = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
    const v = img.pixels[y * img.width + x] ?? 0;
    m += v;
    mx += v * (x + 0.5);
    my += v * (y + 0.5);
  }
  return [mx / m, my / m];
};

describe('PNG -> MNIST 28x28 input', () => {
  it('a 28x28 light-on-dark PNG is used as it is (no inversion, same pixels)', () => {
    const bytes = makePng(28, 28, (x, y) => (x * 9 + y * 3) % 256);
    const { image, inverted } = imageToMnist(bytes, 'd.png', 'auto');
    expect(inverted).toBe(false);
    expect([image.width, image.height]).toEqual([28, 28]);
    expect(image.pixels[5 * 28 + 7]).toBeCloseTo(((7 * 9 + 5 * 3) % 256) / 255, 6);
  });

  it('a 280x200 dark-on-light drawing (black bar on white) is inverted, cropped, fit in 20x20 and centred at (14, 14)', () => {
    // a vertical black bar 30 px wide, 150 px tall, off-centre
    const bytes = makePng(280, 200, (x, y) => (x >= 40 && x < 70 && y >= 20 && y < 170 ? 0 : 255));
    const { image, inverted, originalWidth, originalHeight } = imageToMnist(bytes, 'd.png', 'auto');
    expect(inverted).toBe(true);
    expect([originalWidth, originalHeight]).toEqual([280, 200]);
    expect(image.pixels[0]).toBe(0); // background is dark now
    const [cx, cy] = centreOfMass(image);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(1);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(1);
    // 150 px tall -> 20 px, 30 px wide -> 4 px: 80 px of ink
    expect(sum(image)).toBeCloseTo(80, 0);
  });

  it('--no-invert keeps a light background; --invert inverts a dark one', () => {
    const light = makePng(28, 28, () => 255);
    expect(imageToMnist(light, 'l.png', 'no').inverted).toBe(false);
    expect(imageToMnist(light, 'l.png', 'no').image.pixels[0]).toBeCloseTo(1, 6);
    const dark = makePng(28, 28, () => 0);
    expect(imageToMnist(dark, 'd.png', 'yes').image.pixels[100]).toBeCloseTo(1, 6);
  });

  it('transparent pixels count as white paper (alpha composited over white)', () => {
    const bytes = makePng(28, 28, () => 0, (x) => (x < 14 ? 0 : 255));
    const { image } = imageToMnist(bytes, 't.png', 'no');
    expect(image.pixels[0]).toBeCloseTo(1, 6);
    expect(image.pixels[20]).toBeCloseTo(0, 6);
  });

  it('bytes that are neither PNG nor JPEG give a UsageError naming the file, what it starts with and the name it has', () => {
    expect(() => imageToMnist(new Uint8Array([1, 2, 3, 4]), 'junk.png', 'auto')).toThrow(UsageError);
    expect(() => imageToMnist(new Uint8Array([1, 2, 3, 4]), 'junk.png', 'auto')).toThrow(
      'junk.png: byte 0: not a PNG or JPEG image: it starts with 01 02 03 04, though its name ends in .png (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)',
    );
    expect(() => imageToMnist(new TextEncoder().encode('GIF89a\x01\x00'), 'cat.gif', 'auto')).toThrow(
      'cat.gif: byte 0: not a PNG or JPEG image: it starts with 47 49 46 38 39 61 01 00 ("GIF89a..") (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)',
    );
  });

  it('a JPEG is read as a PNG of the same picture is: grey from its luminance, within JPEG loss', () => {
    // a light 6x6 stroke on white paper, 28x28: used as it is, inverted to light on dark
    const paint = (x: number, y: number): number => (x >= 11 && x < 17 && y >= 4 && y < 24 ? 40 : 250);
    const fromJpeg = imageToMnist(jpegBytes(28, 28, (x, y) => [paint(x, y)]), 'seven.jpg', 'auto');
    const fromPng = imageToMnist(makePng(28, 28, paint), 'seven.png', 'auto');
    expect(fromJpeg.inverted).toBe(true);
    expect(fromPng.inverted).toBe(true);
    const worst = Array.from(fromJpeg.image.pixels).reduce((m, v, i) => Math.max(m, Math.abs(v - (fromPng.image.pixels[i] ?? 0))), 0);
    expect(worst).toBeLessThan(0.08);
    expect(fromJpeg.image.pixels[14 + 10 * 28]).toBeGreaterThan(0.7);
  });

  it('area resize keeps the mean intensity for any size (fast-check, seed 7)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (sw, sh, dw, dh, s) => {
        const src: GreyImage = { width: sw, height: sh, pixels: Array.from({ length: sw * sh }, (_, i) => ((i * 7919 + s) >>> 0) % 101 / 100) };
        const out = resizeArea(src, dw, dh);
        return Math.abs(sum(out) / (dw * dh) - sum(src) / (sw * sh)) < 1e-9;
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});
