import { PNG } from 'pngjs';
import type { GreyImage } from '@foldnet/train';

// the grey image type is @foldnet/train's (digit geometry is shared with the browser demo)
export type { GreyImage } from '@foldnet/train';

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0 : x);

/** A colour image: `planes` [3, height, width] (red, green, blue), values in [0, 1], as a network takes RGB input. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly planes: ArrayLike<number>;
}

/** An image as the report shows it: grey, or colour. */
export type ShownImage = GreyImage | RgbImage;

/** PNG bytes of a `width` x `height` image whose channel c (0 red, 1 green, 2 blue) at pixel p is `value(p, c)` in [0, 1], each pixel a `scale` x `scale` block. */
const encodePng = (width: number, height: number, value: (pixel: number, channel: number) => number, scale: number): Uint8Array => {
  const w = width * scale;
  const h = height * scale;
  const png = new PNG({ width: w, height: h, colorType: 6 });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const pixel = Math.floor(y / scale) * width + Math.floor(x / scale);
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) png.data[o + c] = Math.round(clamp01(value(pixel, c)) * 255);
      png.data[o + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
};

/**
 * Encodes a grey image as PNG bytes, each pixel drawn as a `scale` x `scale` block (nearest
 * neighbour, so small images stay crisp wherever they are shown).
 *
 * @example
 * greyToPng({ width: 28, height: 28, pixels }, 2); // a 56x56 PNG
 */
export const greyToPng = (image: GreyImage, scale = 1): Uint8Array => encodePng(image.width, image.height, (p) => image.pixels[p] ?? 0, scale);

/**
 * Encodes a colour image ([3, H, W] planes) as PNG bytes, each pixel a `scale` x `scale` block.
 *
 * @example
 * rgbToPng({ width: 32, height: 32, planes }, 2); // a 64x64 PNG in colour
 */
export const rgbToPng = (image: RgbImage, scale = 1): Uint8Array => {
  const plane = image.width * image.height;
  return encodePng(image.width, image.height, (p, c) => image.planes[c * plane + p] ?? 0, scale);
};

/** A grey or colour image as PNG bytes (see greyToPng, rgbToPng). @example shownToPng(m.image, 2) */
export const shownToPng = (image: ShownImage, scale = 1): Uint8Array => ('planes' in image ? rgbToPng(image, scale) : greyToPng(image, scale));

/** A `data:` URI for bytes, so pages embed images without any request. */
export const dataUri = (mime: string, bytes: Uint8Array | string): string =>
  `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;

/**
 * Rescales values to [0, 1] by their own minimum and maximum (a constant image becomes mid-grey):
 * how filters are drawn, since their weights have no fixed range.
 *
 * @example
 * normalizeMinMax([-1, 0, 1]); // [0, 0.5, 1]
 */
export const normalizeMinMax = (values: ArrayLike<number>): number[] => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const span = hi - lo;
  return Array.from(values, (v) => (span > 0 && Number.isFinite(v) ? (v - lo) / span : 0.5));
};
