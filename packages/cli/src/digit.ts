import { isLeft } from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { checkInterlacedPng, decodeImage, imageFormatOf, luma, MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS, normalizeDigit, type GreyImage } from '@foldnet/train';
import { UsageError } from './errors.js';

// the digit's geometry is shared with the browser demo (examples/web): @foldnet/train owns it
export { resizeArea, normalizeDigit } from '@foldnet/train';

/*
 * Turning any PNG or JPEG into the 28x28 grey image MNIST networks expect.
 *
 * MNIST digits are light strokes on a dark background, scaled into a 20x20 box (aspect kept) and
 * placed in a 28x28 frame with their centre of mass at the centre. A photo or a drawing is usually
 * the opposite: dark ink on light paper. So:
 *  1. decode (any PNG colour type, bit depth, palette; a baseline or progressive JPEG, grey or colour),
 *     composite alpha over white, take luminance;
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
 * The largest PNG `predict` decodes: 4096 x 4096 = 16,777,216 pixels. A phone photo (12 MP) fits;
 * a 875 KB PNG of 30000 x 30000 pixels (a compressed image costs nothing to make) would need 10 GB
 * decoded, and is refused from its header before any pixel is inflated.
 */
export const MAX_PNG_PIXELS = MAX_IMAGE_PIXELS;

/** The most bytes a PNG file given to `predict` may hold on disk: 64 MiB. */
export const MAX_PNG_FILE_BYTES = MAX_IMAGE_FILE_BYTES;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Checks a PNG's declared size before it is decoded: the IHDR chunk (bytes 8..33) gives the width
 * and height, refused over MAX_PNG_PIXELS with the cap in the message. An interlaced image is
 * inflated by the decoder with no output limit, so its compressed data is inflated first, at most
 * the bytes its size needs (checkInterlacedPng, the image-folder reader's check too). Bytes that are
 * not a PNG are left to the decoder to refuse.
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
  const checked = checkInterlacedPng(bytes, name, { width, height, depth, colorType });
  if (isLeft(checked)) throw new UsageError(checked.left.message);
};

/**
 * Decodes PNG or JPEG bytes (told apart by their first bytes, not the name) to a grey image in
 * [0, 1]: luminance, a PNG's alpha composited over white. Throws a UsageError naming `name` when
 * the bytes are neither (with what they start with), are not readable, or the image is larger than
 * MAX_PNG_PIXELS (checked from its header before decoding).
 *
 * @example decodeGreyImage(readFileSync('seven.jpg'), 'seven.jpg'); // { width, height, pixels }
 */
export const decodeGreyImage = (bytes: Uint8Array, name: string): GreyImage => {
  const format = imageFormatOf(bytes);
  if (format !== 'png') {
    // JPEG (and the refusal of anything else) through the image-folder reader's decoder: one set of rules and messages
    const decoded = decodeImage(bytes, name);
    if (isLeft(decoded)) throw new UsageError(decoded.left.message);
    const { width, height, channels, pixels } = decoded.right;
    const grey = new Float64Array(width * height);
    for (let i = 0; i < grey.length; i++) {
      grey[i] = channels === 1 ? (pixels[i] ?? 0) / 255 : luma(pixels[3 * i] ?? 0, pixels[3 * i + 1] ?? 0, pixels[3 * i + 2] ?? 0);
    }
    return { width, height, pixels: grey };
  }
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
    const a = (data[4 * i + 3] ?? 255) / 255;
    pixels[i] = a * luma(data[4 * i] ?? 0, data[4 * i + 1] ?? 0, data[4 * i + 2] ?? 0) + (1 - a);
  }
  return { width, height, pixels };
};

/**
 * Any PNG or JPEG to MNIST's 28x28 light-on-dark input (see the steps above).
 *
 * @example
 * const { image, inverted } = imageToMnist(fs.readFileSync('seven.jpg'), 'seven.jpg', 'auto');
 */
export const imageToMnist = (bytes: Uint8Array, name: string, invert: InvertMode): MnistInput => {
  const grey = decodeGreyImage(bytes, name);
  const inverted = invert === 'yes' || (invert === 'auto' && borderMean(grey) > 0.5);
  // Inverted into a new array, not in place: decodeGreyImage's result is a value like any other.
  let polar: GreyImage = grey;
  if (inverted) {
    const flipped = new Float64Array(grey.width * grey.height);
    for (let i = 0; i < flipped.length; i++) flipped[i] = 1 - (grey.pixels[i] ?? 0);
    polar = { ...grey, pixels: flipped };
  }
  const image = grey.width === 28 && grey.height === 28 ? polar : normalizeDigit(polar);
  return { image, inverted, originalWidth: grey.width, originalHeight: grey.height };
};
