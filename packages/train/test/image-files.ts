import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/*
 * Image files for the image-folder tests (train's and the CLI's end-to-end test): PNGs of any
 * colour type pngjs writes, and RGB JPEGs (jpeg-js encodes three components only; a grey JPEG is
 * the fixture fixtures/grey-8x6.jpg, written by libjpeg's cjpeg -grayscale).
 */

/** A picture as a function of the pixel: [r, g, b] 0..255 (and alpha, default 255). */
export type Paint = (x: number, y: number) => readonly number[];

/** PNG bytes: colour type 0 (grey, the red value), 2 (RGB) or 6 (RGBA). */
export const pngBytes = (width: number, height: number, paint: Paint, colorType: 0 | 2 | 6 = 2): Uint8Array => {
  const png = new PNG({ width, height, colorType, inputColorType: 6, inputHasAlpha: true });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r = 0, g = r, b = r, a = 255] = paint(x, y);
      png.data.set([r, g, b, a], (y * width + x) * 4);
    }
  }
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true }));
};

/** JPEG bytes (RGB, quality 95). */
export const jpegBytes = (width: number, height: number, paint: Paint): Uint8Array => {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r = 0, g = r, b = r] = paint(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return new Uint8Array(jpeg.encode({ width, height, data }, 95).data);
};

/** Writes `bytes` at `file`, making its folders. */
export const put = (file: string, bytes: Uint8Array | string): void => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
};

/** Horizontal stripes (rows alternate dark and light) or vertical ones, in `rgb` on dark. */
export const stripes =
  (direction: 'horizontal' | 'vertical', rgb: readonly number[] = [230, 230, 230], phase = 0): Paint =>
  (x, y) =>
    ((direction === 'horizontal' ? y : x) + phase) % 4 < 2 ? rgb : [20, 20, 20];
