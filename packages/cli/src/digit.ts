import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { GreyImage } from './images.js';
import { UsageError } from './errors.js';

/*
 * Turning any PNG into the 28x28 grey image MNIST networks expect.
 *
 * MNIST digits are light strokes on a dark background, scaled into a 20x20 box (aspect kept) and
 * placed in a 28x28 frame with their centre of mass at the centre. A photo or a drawing is usually
 * the opposite: dark ink on light paper. So:
 *  1. decode (any PNG colour type, bit depth, palette), composite alpha over white, take luminance;
 *  2. polarity: in 'auto' mode the image is inverted when its border (the outermost pixels) is
 *     mostly light (mean > 0.5), i.e. when it looks like dark-on-light; `--invert` / `--no-invert`
 *     force the choice;
 *  3. an image that is already 28x28 is used as it is; any other size is cropped to the bounding
 *     box of its ink (pixels > 0.2 after step 2), scaled by area averaging to fit 20x20, and centred
 *     by centre of mass in 28x28, as MNIST itself was made.
 */

/** How to handle polarity: decide from the border, or force. */
export type InvertMode = 'auto' | 'yes' | 'no';

/** The result of the conversion and what was decided on the way. */
export interface MnistInput {
  /** 28x28, values in [0, 1], light digit on dark. */
  readonly image: GreyImage;
  /** True when the picture was inverted (dark-on-light input). */
  readonly inverted: boolean;
  readonly originalWidth: number;
  readonly originalHeight: number;
}

/** The mean of the outermost rows and columns (each pixel counted once; only those pixels are read). */
export const borderMean = (img: GreyImage): number => {
  const { width: w, height: h } = img;
  if (w === 0 || h === 0) return 0;
  const at = (x: number, y: number): number => img.pixels[y * w + x] ?? 0;
  let sum = 0;
  let n = 0;
  for (let x = 0; x < w; x++) {
    sum += at(x, 0);
    n++;
    if (h > 1) {
      sum += at(x, h - 1);
      n++;
    }
  }
  for (let y = 1; y < h - 1; y++) {
    sum += at(0, y);
    n++;
    if (w > 1) {
      sum += at(w - 1, y);
      n++;
    }
  }
  return sum / n;
};

/**
 * Resizes by area averaging: each output pixel is the mean of the source area it covers
 * (partial pixels weighted by their coverage). Works for shrinking and enlarging.
 *
 * @example
 * resizeArea({ width: 2, height: 2, pixels: [0, 1, 1, 0] }, 1, 1).pixels; // [0.5]
 */
export const resizeArea = (src: GreyImage, width: number, height: number): GreyImage => {
  const out = new Float64Array(width * height);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let oy = 0; oy < height; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < width; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), src.height); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), src.width); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          sum += wy * wx * (src.pixels[y * src.width + x] ?? 0);
        }
      }
      out[oy * width + ox] = sum / (sx * sy);
    }
  }
  return { width, height, pixels: out };
};

/**
 * MNIST's normalisation of a light-on-dark image of any size: crop to the ink's bounding box,
 * scale to fit 20x20 keeping the aspect ratio, centre by centre of mass in 28x28. An image with
 * no ink is just resized.
 */
export const normalizeDigit = (img: GreyImage, inkThreshold = 0.2): GreyImage => {
  let x0 = img.width;
  let y0 = img.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if ((img.pixels[y * img.width + x] ?? 0) > inkThreshold) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return resizeArea(img, 28, 28);
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const crop = new Float64Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = img.pixels[(y + y0) * img.width + (x + x0)] ?? 0;
  const scale = 20 / Math.max(cw, ch);
  const w = Math.max(1, Math.round(cw * scale));
  const h = Math.max(1, Math.round(ch * scale));
  const small = resizeArea({ width: cw, height: ch, pixels: crop }, w, h);
  // Centre of mass of the scaled digit, then the offset that puts it at (14, 14), kept inside the frame.
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small.pixels[y * w + x] ?? 0;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const clampOffset = (o: number, size: number): number => Math.min(Math.max(o, 0), 28 - size);
  const ox = clampOffset(Math.round(14 - (mass > 0 ? mx / mass : w / 2)), w);
  const oy = clampOffset(Math.round(14 - (mass > 0 ? my / mass : h / 2)), h);
  const out = new Float64Array(28 * 28);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y + oy) * 28 + (x + ox)] = small.pixels[y * w + x] ?? 0;
  return { width: 28, height: 28, pixels: out };
};

/**
 * The largest PNG `predict` decodes: 4096 x 4096 = 16,777,216 pixels. A phone photo (12 MP) fits;
 * a 875 KB PNG of 30000 x 30000 pixels (a compressed image costs nothing to make) would need 10 GB
 * decoded, and is refused from its header before any pixel is inflated.
 */
export const MAX_PNG_PIXELS = 4096 * 4096;

/** The most bytes a PNG file given to `predict` may hold on disk: 64 MiB. */
export const MAX_PNG_FILE_BYTES = 64 << 20;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Channels per PNG colour type (grey, -, RGB, palette, grey+alpha, -, RGBA). */
const PNG_CHANNELS: ReadonlyMap<number, number> = new Map([
  [0, 1],
  [2, 3],
  [3, 1],
  [4, 2],
  [6, 4],
]);

/**
 * Checks a PNG's declared size before it is decoded: the IHDR chunk (bytes 8..33) gives the width
 * and height, refused over MAX_PNG_PIXELS with the cap in the message. An interlaced image is
 * inflated by the decoder with no output limit, so its compressed data (the IDAT chunks) is
 * inflated here first, at most the bytes its size needs: a small file cannot inflate to more.
 * Bytes that are not a PNG are left to the decoder to refuse.
 *
 * @example checkPngSize(readFileSync('seven.png'), 'seven.png'); // throws for 30000x30000
 */
export const checkPngSize = (bytes: Uint8Array, name: string): void => {
  if (bytes.length < 33 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(12, false) !== 0x49484452) return; // 'IHDR' must come first; the decoder says so
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  const [depth = 8, colorType = 0, , , interlace = 0] = bytes.subarray(24, 29);
  if (width * height > MAX_PNG_PIXELS) {
    throw new UsageError(`${name}: a PNG of ${width}x${height} pixels; predict reads at most ${MAX_PNG_PIXELS} pixels (4096x4096): scale it down first`);
  }
  if (interlace === 0) return;
  // Adam7 stores seven sub-images, each row with a filter byte and rounded up to whole bytes:
  // at most the plain size plus two bytes per row per pass.
  const bitsPerPixel = depth * (PNG_CHANNELS.get(colorType) ?? 4);
  const needed = Math.ceil((width * bitsPerPixel) / 8) * height + 14 * height + 64;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = view.getUint32(at, false);
    if (view.getUint32(at + 4, false) === 0x49444154) idat.push(bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length)));
    at += 12 + length;
  }
  try {
    // Z_SYNC_FLUSH: a truncated stream is not an error here; the decoder reports it.
    inflateSync(Buffer.concat(idat), { maxOutputLength: needed, finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`${name}: its image data inflates to more than the ${needed} bytes a ${width}x${height} PNG holds`);
    // other inflate failures: the decoder reports them as an unreadable PNG
  }
};

/**
 * Decodes PNG bytes to a grey image in [0, 1] (alpha composited over white). Throws a UsageError
 * naming `name` when the bytes are not a PNG or the image is larger than MAX_PNG_PIXELS (checked
 * before decoding).
 */
export const decodePngGrey = (bytes: Uint8Array, name: string): GreyImage => {
  checkPngSize(bytes, name);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new UsageError(`${name}: not a readable PNG image (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width, height, data } = png;
  const pixels = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const r = data[4 * i] ?? 0;
    const g = data[4 * i + 1] ?? 0;
    const b = data[4 * i + 2] ?? 0;
    const a = (data[4 * i + 3] ?? 255) / 255;
    const lum = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    pixels[i] = a * lum + (1 - a);
  }
  return { width, height, pixels };
};

/**
 * Any PNG to MNIST's 28x28 light-on-dark input (see the steps above).
 *
 * @example
 * const { image, inverted } = pngToMnist(fs.readFileSync('seven.png'), 'seven.png', 'auto');
 */
export const pngToMnist = (bytes: Uint8Array, name: string, invert: InvertMode): MnistInput => {
  const grey = decodePngGrey(bytes, name);
  const inverted = invert === 'yes' || (invert === 'auto' && borderMean(grey) > 0.5);
  // Inverted into a new array, not in place: decodePngGrey's result is a value like any other.
  let polar: GreyImage = grey;
  if (inverted) {
    const flipped = new Float64Array(grey.width * grey.height);
    for (let i = 0; i < flipped.length; i++) flipped[i] = 1 - (grey.pixels[i] ?? 0);
    polar = { ...grey, pixels: flipped };
  }
  const image = grey.width === 28 && grey.height === 28 ? polar : normalizeDigit(polar);
  return { image, inverted, originalWidth: grey.width, originalHeight: grey.height };
};
