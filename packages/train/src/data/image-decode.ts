import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from './idx.js';

/*
 * Image files as pixels: PNG (pngjs, any colour type, bit depth, palette, interlacing) and JPEG
 * (jpeg-js: baseline and progressive, grey or YCbCr). Each file's header is read first
 * (`readImageHeader`): its size is judged before anything of that size is allocated, and a reader
 * of many images learns every image's size and colour without decoding one. Nothing here touches
 * a file: bytes in, pixels or a DataError naming the file (and the byte, where it is known) out.
 *
 * Colour: a file is grey (1 channel: PNG colour types 0 and 4, a 1-component JPEG) or RGB (3: PNG
 * RGB, palette and RGBA, a 3-component JPEG). Alpha is composited over white, as `foldnet predict`
 * does (a transparent background reads as paper). CMYK JPEGs are refused.
 */

/** The formats `decodeImage` reads. */
export type ImageFormat = 'png' | 'jpeg';

/** What a file's header says. @example { format: 'png', width: 32, height: 32, channels: 3 } */
export interface ImageHeader {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  /** 1 for grey, 3 for colour. */
  readonly channels: 1 | 3;
}

/** A decoded image: `pixels` [height, width, channels] interleaved, 0..255. */
export interface DecodedImage extends ImageHeader {
  readonly pixels: Uint8Array;
}

/**
 * The largest image decoded: 4096 x 4096 = 16,777,216 pixels (64 MiB as RGBA), as `foldnet predict`
 * allows. A 1 KB file can claim 30000 x 30000 pixels; it is refused from its header.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/** The most bytes one image file may hold on disk: 64 MiB. */
export const MAX_IMAGE_FILE_BYTES = 64 << 20;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Channels per PNG colour type (grey, -, RGB, palette, grey+alpha, -, RGBA), as stored. */
const PNG_STORED_CHANNELS: ReadonlyMap<number, number> = new Map([
  [0, 1],
  [2, 3],
  [3, 1],
  [4, 2],
  [6, 4],
]);

const startsWith = (bytes: Uint8Array, magic: readonly number[]): boolean => magic.every((b, i) => bytes[i] === b);

/** The format told from the first bytes, undefined for neither. @example imageFormatOf(bytes) // 'jpeg' */
export const imageFormatOf = (bytes: Uint8Array): ImageFormat | undefined =>
  startsWith(bytes, PNG_SIGNATURE) ? 'png' : startsWith(bytes, [0xff, 0xd8, 0xff]) ? 'jpeg' : undefined;

const formatError = (file: string, offset: number | undefined, detail: string): DataError => new DataError('format', file, offset, detail);

const checkPixels = (file: string, format: ImageFormat, width: number, height: number, offset: number): Either<DataError, void> => {
  if (width === 0 || height === 0) return left(formatError(file, offset, `a ${format.toUpperCase()} of ${width}x${height} pixels holds no image`));
  if (width * height > MAX_IMAGE_PIXELS) {
    return left(formatError(file, offset, `a ${format.toUpperCase()} of ${width}x${height} pixels: at most ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} pixels (4096x4096) are read; scale it down first`));
  }
  return right(undefined);
};

// PNG: the IHDR chunk must come first (bytes 8..33): width, height, bit depth, colour type, interlace.
const pngHeader = (bytes: Uint8Array, file: string): Either<DataError, ImageHeader & { readonly depth: number; readonly colorType: number; readonly interlace: number }> => {
  if (bytes.length < 33) return left(formatError(file, bytes.length, `a PNG cut short: it ends at byte ${bytes.length}, inside its IHDR header`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(12, false) !== 0x49484452) return left(formatError(file, 12, 'not a readable PNG image: its first chunk is not IHDR'));
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  const [depth = 8, colorType = 0, , , interlace = 0] = bytes.subarray(24, 29);
  if (!PNG_STORED_CHANNELS.has(colorType)) return left(formatError(file, 25, `not a readable PNG image: colour type ${colorType} is not one of 0, 2, 3, 4, 6`));
  const sized = checkPixels(file, 'png', width, height, 16);
  if (sized._tag === 'Left') return sized;
  return right({ format: 'png', width, height, channels: colorType === 0 || colorType === 4 ? 1 : 3, depth, colorType, interlace });
};

// JPEG: markers from byte 2 up to the first frame header (SOFn), each segment skipped by its length.
const jpegHeader = (bytes: Uint8Array, file: string): Either<DataError, ImageHeader> => {
  const cutShort = () => left(formatError(file, bytes.length, `a JPEG cut short: it ends at byte ${bytes.length}, before its frame header`));
  let at = 2;
  for (;;) {
    // fill bytes (0xFF) may precede a marker
    while (at < bytes.length && bytes[at] === 0xff && bytes[at + 1] === 0xff) at++;
    if (at + 4 > bytes.length) return cutShort();
    if (bytes[at] !== 0xff) return left(formatError(file, at, `not a readable JPEG image: expected a marker, found byte 0x${(bytes[at] ?? 0).toString(16)}`));
    const marker = bytes[at + 1] ?? 0;
    // standalone markers: TEM, RSTn
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return left(formatError(file, at, 'not a readable JPEG image: its scan starts before any frame header'));
    const length = ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (at + 10 > bytes.length) return cutShort();
      const height = ((bytes[at + 5] ?? 0) << 8) | (bytes[at + 6] ?? 0);
      const width = ((bytes[at + 7] ?? 0) << 8) | (bytes[at + 8] ?? 0);
      const components = bytes[at + 9] ?? 0;
      const sized = checkPixels(file, 'jpeg', width, height, at + 5);
      if (sized._tag === 'Left') return sized;
      if (components !== 1 && components !== 3) {
        return left(formatError(file, at + 9, `a JPEG of ${components} colour components: grey (1) and colour (3) are read; save it as RGB first`));
      }
      return right({ format: 'jpeg', width, height, channels: components === 1 ? 1 : 3 });
    }
    if (length < 2) return left(formatError(file, at + 2, `not a readable JPEG image: a segment of length ${length}`));
    at += 2 + length;
  }
};

/**
 * Reads an image file's header: its format (from the first bytes, not the name), size and colour,
 * refusing an image of more than MAX_IMAGE_PIXELS before any of it is decoded.
 *
 * @example
 * readImageHeader(fs.readFileSync('cats/1.jpg'), 'cats/1.jpg'); // right({ format: 'jpeg', width: 64, height: 48, channels: 3 })
 */
export const readImageHeader = (bytes: Uint8Array, file: string): Either<DataError, ImageHeader> => {
  const format = imageFormatOf(bytes);
  if (format === 'png') return pngHeader(bytes, file);
  if (format === 'jpeg') return jpegHeader(bytes, file);
  return left(formatError(file, 0, notAnImageDetail(bytes, file)));
};

/**
 * What a file that is neither a PNG nor a JPEG holds instead, for its one-line refusal: its first
 * bytes (in hex, and as text when they are printable) and, when its name says PNG or JPEG, that
 * the name is not what the bytes are.
 *
 * @example notAnImageDetail(gifBytes, 'cat.gif') // 'not a PNG or JPEG image: it starts with 47 49 46 38 39 61 01 00 ("GIF89a..")'
 */
export const notAnImageDetail = (bytes: Uint8Array, file: string): string => {
  if (bytes.length === 0) return 'not a PNG or JPEG image: the file is empty';
  const head = Array.from(bytes.subarray(0, 8));
  const hex = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = head.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  // the text only when most of it is printable: a binary header as dots says nothing
  const shown = head.filter((b) => b >= 0x20 && b < 0x7f).length * 2 > head.length ? ` (${JSON.stringify(text)})` : '';
  const named = /\.(png|jpe?g)$/i.exec(file)?.[1];
  return `not a PNG or JPEG image: it starts with ${hex}${shown}${named === undefined ? '' : `, though its name ends in .${named}`} (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)`;
};

/**
 * An interlaced PNG is inflated by pngjs with no output limit: its compressed data (the IDAT
 * chunks) is inflated here first, at most the bytes its size needs, so a small file cannot
 * inflate to more. Adam7 stores seven sub-images, each row with a filter byte and rounded up to
 * whole bytes: at most the plain size plus two bytes per row per pass.
 *
 * @example checkInterlacedPng(bytes, 'x.png', { width: 64, height: 64, depth: 8, colorType: 2 }); // right(undefined)
 */
export const checkInterlacedPng = (bytes: Uint8Array, file: string, header: { readonly width: number; readonly height: number; readonly depth: number; readonly colorType: number }): Either<DataError, void> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bitsPerPixel = header.depth * (PNG_STORED_CHANNELS.get(header.colorType) ?? 4);
  const needed = Math.ceil((header.width * bitsPerPixel) / 8) * header.height + 14 * header.height + 64;
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
    if (e instanceof RangeError) return left(formatError(file, undefined, `its image data inflates to more than the ${needed} bytes a ${header.width}x${header.height} PNG holds`));
    // other inflate failures: the decoder reports them as an unreadable PNG
  }
  return right(undefined);
};

/** RGBA bytes [H, W, 4] to `channels` (1: the red channel of a grey image, 3: RGB), alpha over white. */
const fromRgba = (rgba: Uint8Array, width: number, height: number, channels: 1 | 3): Uint8Array => {
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const alpha = rgba[4 * i + 3] ?? 255;
    for (let c = 0; c < channels; c++) {
      const v = rgba[4 * i + c] ?? 0;
      out[i * channels + c] = alpha === 255 ? v : Math.round((v * alpha + 255 * (255 - alpha)) / 255);
    }
  }
  return out;
};

const decoderMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Decodes a PNG or JPEG file's bytes (see the header rules above). Never throws: a file that is
 * not an image, is cut short or is corrupt is a DataError naming `file`, with the byte where the
 * header reader found the fault; a decoder's own message is kept as it says it.
 *
 * @example
 * const r = decodeImage(fs.readFileSync('cats/1.png'), 'cats/1.png');
 * if (r._tag === 'Right') r.right.pixels.length; // width * height * channels
 */
export const decodeImage = (bytes: Uint8Array, file: string): Either<DataError, DecodedImage> => {
  const format = imageFormatOf(bytes);
  if (format === 'png') {
    const header = pngHeader(bytes, file);
    if (header._tag === 'Left') return header;
    const { width, height, channels, interlace } = header.right;
    if (interlace !== 0) {
      const checked = checkInterlacedPng(bytes, file, header.right);
      if (checked._tag === 'Left') return checked;
    }
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      return left(formatError(file, undefined, `not a readable PNG image (${decoderMessage(e)})`));
    }
    return right({ format, width, height, channels, pixels: fromRgba(png.data, width, height, channels) });
  }
  const header = readImageHeader(bytes, file);
  if (header._tag === 'Left') return header;
  const { width, height, channels } = header.right;
  let decoded: { readonly data: Uint8Array; readonly width: number; readonly height: number };
  try {
    // RGBA out for both kinds (jpeg-js gives a grey image as R = G = B); the limits are jpeg-js's own
    // guard against a lying frame header: the size was checked above, this bounds the decoder's buffers.
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 + 1, maxMemoryUsageInMB: 512 });
  } catch (e) {
    return left(formatError(file, undefined, `not a readable JPEG image (${decoderMessage(e)})`));
  }
  if (decoded.width !== width || decoded.height !== height) {
    return left(formatError(file, undefined, `not a readable JPEG image (its header says ${width}x${height}, its data ${decoded.width}x${decoded.height})`));
  }
  return right({ format: 'jpeg', width, height, channels, pixels: fromRgba(decoded.data, width, height, channels) });
};
