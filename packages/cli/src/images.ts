import { PNG } from 'pngjs';
import type { GreyImage } from '@foldnet/train';

// the grey image type is @foldnet/train's (digit geometry is shared with the browser demo)
export type { GreyImage } from '@foldnet/train';

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0 : x);

/**
 * Encodes a grey image as PNG bytes, each pixel drawn as a `scale` x `scale` block (nearest
 * neighbour, so small images stay crisp wherever they are shown).
 *
 * @example
 * greyToPng({ width: 28, height: 28, pixels }, 2); // a 56x56 PNG
 */
export const greyToPng = (image: GreyImage, scale = 1): Uint8Array => {
  const w = image.width * scale;
  const h = image.height * scale;
  const png = new PNG({ width: w, height: h, colorType: 6 });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.round(clamp01(image.pixels[Math.floor(y / scale) * image.width + Math.floor(x / scale)] ?? 0) * 255);
      const o = (y * w + x) * 4;
      png.data[o] = v;
      png.data[o + 1] = v;
      png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
};

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
