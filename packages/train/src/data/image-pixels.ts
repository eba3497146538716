import type { DecodedImage } from './image-decode.js';

/*
 * A decoded image as a network's input: [C, H, W] float values in [0, 1] (byte / 255, the book's
 * division), converted to the channels asked for and resized to the size asked for.
 *
 *  - grey -> RGB: the grey value in all three channels (what PIL's convert('RGB') does);
 *  - RGB -> grey: luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, PIL's convert('L'), foldnet predict);
 *  - resize: bilinear with half-pixel centres and edge clamping, no antialiasing, as PyTorch's
 *    interpolate(mode='bilinear', align_corners=False). Shrinking by more than 2x skips source
 *    pixels (no area averaging): give images near the size trained on.
 */

/**
 * Luminance in [0, 1] of 0..255 red, green and blue: ITU-R BT.601's 0.299 R + 0.587 G + 0.114 B, as PIL's
 * convert('L'). The one rule for turning colour into grey, here and in `foldnet predict`.
 *
 * @example luma(255, 255, 255) // 1
 */
export const luma = (r: number, g: number, b: number): number => (0.299 * r + 0.587 * g + 0.114 * b) / 255;

/**
 * One image's planes: `image` converted to `channels` and resized to `height` x `width`, written
 * into `out` from `offset` (out[offset + (c * height + y) * width + x]), so many images fill one
 * dataset tensor without an array of their own each.
 *
 * @example
 * const out = new Float32Array(3 * 32 * 32);
 * writeImagePlanes(decoded, 3, 32, 32, out, 0); // a 64x48 JPEG -> [3, 32, 32] in [0, 1]
 */
export const writeImagePlanes = (image: DecodedImage, channels: 1 | 3, height: number, width: number, out: Float32Array, offset: number): void => {
  const { width: w, height: h, channels: stored, pixels } = image;
  // Source planes [channels, h, w] in [0, 1] after the colour conversion; float64 until the last rounding.
  const plane = w * h;
  const src = new Float64Array(channels * plane);
  for (let p = 0; p < plane; p++) {
    if (stored === channels) {
      for (let c = 0; c < channels; c++) src[c * plane + p] = (pixels[p * stored + c] ?? 0) / 255;
    } else if (channels === 3) {
      const v = (pixels[p] ?? 0) / 255;
      src[p] = v;
      src[plane + p] = v;
      src[2 * plane + p] = v;
    } else {
      src[p] = luma(pixels[3 * p] ?? 0, pixels[3 * p + 1] ?? 0, pixels[3 * p + 2] ?? 0);
    }
  }
  if (w === width && h === height) {
    for (let i = 0; i < channels * plane; i++) out[offset + i] = src[i];
    return;
  }
  // Bilinear: output pixel (y, x) samples the source at ((y + 0.5) * h / height - 0.5, ...), clamped to the edges.
  const axis = (size: number, outSize: number) => {
    const lo = new Int32Array(outSize);
    const hi = new Int32Array(outSize);
    const frac = new Float64Array(outSize);
    for (let i = 0; i < outSize; i++) {
      const s = Math.min(Math.max((i + 0.5) * (size / outSize) - 0.5, 0), size - 1);
      lo[i] = Math.floor(s);
      hi[i] = Math.min(lo[i] + 1, size - 1);
      frac[i] = s - lo[i];
    }
    return { lo, hi, frac };
  };
  const ys = axis(h, height);
  const xs = axis(w, width);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      const r0 = base + ys.lo[y] * w;
      const r1 = base + ys.hi[y] * w;
      const fy = ys.frac[y];
      for (let x = 0; x < width; x++) {
        const fx = xs.frac[x];
        const top = src[r0 + xs.lo[x]] * (1 - fx) + src[r0 + xs.hi[x]] * fx;
        const bottom = src[r1 + xs.lo[x]] * (1 - fx) + src[r1 + xs.hi[x]] * fx;
        out[offset + (c * height + y) * width + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
};
