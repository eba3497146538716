import * as fs from 'node:fs';
import * as path from 'node:path';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { fromData, type Tensor } from '@foldnet/core';
import { openRegularFile, readAt, readRegularFile, refusalText, type FileRefusal } from '../input/regular-file.js';
import { DataError } from './idx.js';
import { decodeImage, MAX_IMAGE_FILE_BYTES, readImageHeader, type ImageHeader } from './image-decode.js';
import { writeImagePlanes } from './image-pixels.js';

/*
 * A folder of a user's own images, one subfolder per class, as torchvision's ImageFolder reads it:
 *
 *   DIR/cat/1.png  DIR/cat/2.jpg  DIR/dog/a.jpeg ...        classes cat (0), dog (1): folder names, sorted
 *   DIR/train/cat/...  DIR/test/cat/...                     a split of its own: used as it is
 *
 * Without train/ and test/ folders, each class is split by itself: a fixed, seeded order of its
 * files (an FNV-1a hash of the seed and the file's class/name, ties by name) puts the first
 * round(n x testFraction) in the test set (at least one when the class has two or more images and
 * the fraction is above 0; at least one image always stays for training). The split depends only
 * on the file names, the fraction and the split seed: not on the run's seed, not on the order the
 * file system lists files, and adding an image to one class moves no image of another.
 *
 * Files are told apart by name: *.png, *.jpg, *.jpeg (any case) are images and must decode; any
 * other file or folder inside a class folder is ignored and counted in one note. Sizes and colours
 * come from every file's header before any image is decoded (`scanImageFolder`), so the data set's
 * size is known, and refused, before it is allocated. Images are [C, H, W] float32 in [0, 1]
 * (image-pixels.ts: grey <-> RGB, bilinear resize).
 *
 * Each file is read from disk once: the scan reads a file whole and holds its bytes for the decoder
 * while the files held stay within `maxHeldBytes` (256 MiB: a data set of small images, the usual
 * case, is read once and decoded from memory); past that it reads only the first 64 KiB of a file for
 * its header (more when a JPEG's metadata pushes its frame header further), and the decoder reads the
 * file whole. The bytes held are the decoder's once: a scan decoded again reads its files again.
 */

/** What `scanImageFolder` and `loadImageFolder` take. @example { channels: 3, size: { height: 32, width: 32 }, testFraction: 0.2 } */
export interface ImageFolderOptions {
  /** Channels of the data set: 1 (grey) or 3 (RGB). Default: 3 when any image is colour, else 1. */
  readonly channels?: 1 | 3;
  /** Every image resized (bilinear) to this size. Default: the images' own size, which must then be the same for all. */
  readonly size?: { readonly height: number; readonly width: number };
  /** The part of each class kept for testing when the folder has no train/ and test/ folders, in [0, 1). Default 0.2. */
  readonly testFraction?: number;
  /**
   * What a folder without train/ and test/ folders of its own becomes: 'fraction' (the default), each class split by
   * `testFraction`; 'test', every image a test image (`testFraction` unused), as a trained network is evaluated on
   * another folder (PyTorch's ImageFolder, Keras's image_dataset_from_directory read all of it). A folder with train/
   * and test/ keeps its own split either way.
   */
  readonly unsplit?: 'fraction' | 'test';
  /** Mixed into the split's hash: another seed, another split. Default 0. */
  readonly splitSeed?: number;
  /** Keep at most this many training (test) images: the first of the split's fixed order. Default: all. */
  readonly maxTrain?: number;
  readonly maxTest?: number;
  /** The fewest class folders taken: 2 (a classifier learns two classes or more), or 1 (a folder of one class evaluates a trained one). Default 2. */
  readonly minClasses?: 1 | 2;
  /** The most image files listed; a folder holding more is refused before any is read. Default 1,000,000. */
  readonly maxFiles?: number;
  /** The most bytes the decoded data set (float32) may take; refused from the headers before decoding. Default 4 GiB. */
  readonly maxBytes?: number;
  /** The most bytes of image files the scan holds for the decoder, so that they are read once. Default 256 MiB. */
  readonly maxHeldBytes?: number;
}

/**
 * The bytes of files a scan read whole, held until the decoder takes them (each at most once, so
 * they are freed as the data set is decoded, even while the scan itself is kept).
 */
export interface HeldFileBytes {
  /** The file's bytes, once; undefined when they were not held or were taken already. */
  take(file: string): Uint8Array | undefined;
}

/** One image file of the data set, with what its header says. */
export interface ImageFolderEntry {
  /** The file's path (DIR joined with its place). */
  readonly file: string;
  readonly label: number;
  readonly header: ImageHeader;
}

/** A folder read as far as its headers: classes, the split, and the shape every image will have. */
export interface ImageFolderScan {
  readonly dir: string;
  /** Class names by label: the class folders' names, sorted. */
  readonly classNames: readonly string[];
  readonly train: readonly ImageFolderEntry[];
  readonly test: readonly ImageFolderEntry[];
  /** How the split was made: the folder's own train/ and test/ folders, or by `testFraction`. */
  readonly split: 'folders' | 'fraction';
  /** How many images each split holds before `maxTrain` and `maxTest` keep the first of them. */
  readonly available: { readonly train: number; readonly test: number };
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
  /** What was ignored, as lines to show (`ignored 2 files that are not .png/.jpg/.jpeg images, e.g. cat/notes.txt`). */
  readonly notes: readonly string[];
  /** The files read whole while scanning, for the decoder. */
  readonly held: HeldFileBytes;
}

/** One split of a loaded folder: images [N, C, H, W] float32 in [0, 1], labels [N]. */
export interface ImageFolderSplit {
  readonly images: Tensor;
  readonly labels: Int32Array;
}

/** A loaded image folder. @example const { train, test, classNames } = folder; */
export interface ImageFolderData {
  readonly train: ImageFolderSplit;
  readonly test: ImageFolderSplit;
  readonly classNames: readonly string[];
  readonly scan: ImageFolderScan;
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;

/** Whether a file's name says it is an image of a folder (.png, .jpg, .jpeg, any case). @example isImageFileName('a.JPG') // true */
export const isImageFileName = (name: string): boolean => IMAGE_EXTENSIONS.test(name);

const DEFAULT_MAX_FILES = 1_000_000;
const DEFAULT_MAX_BYTES = 2 ** 32;
const DEFAULT_MAX_HELD_BYTES = 256 << 20;
/** What the scan reads of a file it does not hold: a PNG's IHDR is in its first 33 bytes, a JPEG's frame header after its metadata segments (EXIF, ICC), rarely past 64 KiB. */
const HEADER_PREFIX_BYTES = 64 << 10;

// Code-unit order, the same on every machine and locale (Python's sorted(), as torchvision, for BMP names).
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** FNV-1a, 32 bits, over the UTF-16 code units of `text` after `seed`'s four bytes. @example splitHash(0, 'cat/1.png') */
export const splitHash = (seed: number, text: string): number => {
  let h = 0x811c9dc5;
  const mix = (byte: number): void => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (let i = 0; i < 4; i++) mix(seed >>> (8 * i));
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    mix(unit);
    mix(unit >>> 8);
  }
  return h >>> 0;
};

const ioError = (file: string, detail: string): DataError => new DataError('io', file, undefined, detail);

/** The entries of a folder, or a DataError naming it. */
const listDir = (dir: string): Either<DataError, fs.Dirent[]> => {
  try {
    return right(fs.readdirSync(dir, { withFileTypes: true }));
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    return left(ioError(dir, code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : `cannot be listed (${e instanceof Error ? e.message : String(e)})`));
  }
};

/** Whether an entry is a folder, following a symbolic link as a reader would. */
const isFolder = (dir: string, entry: fs.Dirent): boolean =>
  entry.isDirectory() || (entry.isSymbolicLink() && fs.statSync(path.join(dir, entry.name), { throwIfNoEntry: false })?.isDirectory() === true);

/** Class folders of `dir` (sorted) and each one's image file names (sorted); what else it holds is counted in `ignored`. */
interface ClassFiles {
  readonly names: readonly string[];
  readonly files: readonly (readonly string[])[];
}

/** The class folders among `listed`, the entries of `dir` (listed by the caller, once), and their image files. */
const readClasses = (
  dir: string,
  listed: readonly fs.Dirent[],
  ignored: string[],
  limits: { readonly maxFiles: number; readonly minClasses: number },
  counted: { n: number },
): Either<DataError, ClassFiles> => {
  const { maxFiles, minClasses } = limits;
  const names: string[] = [];
  for (const entry of listed) {
    if (isFolder(dir, entry)) names.push(entry.name);
    else ignored.push(entry.name);
  }
  names.sort(byName);
  if (names.length === 0) return left(ioError(dir, 'holds no class folders (an image folder holds one subfolder of images per class)'));
  if (names.length < minClasses) return left(ioError(dir, `holds one class folder (${names[0]}): a classifier needs two classes or more`));
  const files: string[][] = [];
  for (const name of names) {
    const listed = listDir(path.join(dir, name));
    if (listed._tag === 'Left') return listed;
    const images: string[] = [];
    for (const entry of listed.right) {
      if (IMAGE_EXTENSIONS.test(entry.name) && !isFolder(path.join(dir, name), entry)) images.push(entry.name);
      else ignored.push(`${name}/${entry.name}`);
    }
    if (images.length === 0) return left(ioError(path.join(dir, name), 'holds no .png, .jpg or .jpeg images: every class folder needs at least one'));
    counted.n += images.length;
    if (counted.n > maxFiles) return left(ioError(dir, `holds more than ${maxFiles.toLocaleString('en-US')} images, the most read (maxFiles)`));
    files.push(images.sort(byName));
  }
  return right({ names, files });
};

/** Splits one class's files by the seeded order: the first k are test images. */
const splitClass = (className: string, files: readonly string[], fraction: number, seed: number): { readonly train: string[]; readonly test: string[] } => {
  const n = files.length;
  const wanted = Math.round(n * fraction);
  const k = Math.min(n - 1, Math.max(fraction > 0 && n >= 2 ? 1 : 0, wanted));
  const ordered = files
    .map((f) => ({ f, h: splitHash(seed, `${className}/${f}`) }))
    .sort((a, b) => a.h - b.h || byName(a.f, b.f))
    .map((e) => e.f);
  return { test: ordered.slice(0, k), train: ordered.slice(k) };
};

const unreadable = (file: string, refusal: FileRefusal): DataError => ioError(file, refusalText(refusal, (e) => `cannot be read (${e instanceof Error ? e.message : String(e)})`));

/** Files' bytes held for the decoder, within a budget of bytes. */
class HeldBytes implements HeldFileBytes {
  private readonly bytes = new Map<string, Uint8Array>();
  private room: number;
  constructor(budget: number) {
    this.room = budget;
  }
  /** Whether a file of `size` bytes still fits. */
  fits(size: number): boolean {
    return size <= this.room;
  }
  hold(file: string, bytes: Uint8Array): void {
    this.bytes.set(file, bytes);
    this.room -= bytes.length;
  }
  take(file: string): Uint8Array | undefined {
    const bytes = this.bytes.get(file);
    this.bytes.delete(file);
    return bytes;
  }
}

/**
 * Reads one file's header: the whole file when it fits in what `held` may still hold (it is then
 * held for the decoder), else a prefix, read further while the header reader finds it cut short at
 * the prefix's end (a JPEG's frame header may follow large metadata).
 */
const headerOf = (file: string, held: HeldBytes): Either<DataError, ImageHeader> => {
  const opened = openRegularFile(file, MAX_IMAGE_FILE_BYTES);
  if (opened._tag === 'Left') return left(unreadable(file, opened.left));
  const { fd, size } = opened.right;
  try {
    const whole = held.fits(size);
    for (let length = whole ? size : Math.min(size, HEADER_PREFIX_BYTES); ; length = Math.min(size, length * 4)) {
      const bytes = readAt(fd, length, 0);
      const header = readImageHeader(bytes, file);
      // cut short where the prefix ends, not where the file does: read further
      if (header._tag === 'Left' && bytes.length < size && header.left.offset === bytes.length) continue;
      if (whole && header._tag === 'Right') held.hold(file, bytes);
      return header;
    }
  } catch (error) {
    return left(unreadable(file, { kind: 'io', error }));
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // the descriptor is gone either way; the header (or the error) is what matters
    }
  }
};

const checkOptions = (options: ImageFolderOptions): Either<DataError, void> => {
  const bad = (detail: string) => left(new DataError('format', 'image folder options', undefined, detail));
  const { channels, size, testFraction, unsplit } = options;
  if (channels !== undefined && channels !== 1 && channels !== 3) return bad(`channels must be 1 or 3, got ${String(channels)}`);
  if (unsplit !== undefined && unsplit !== 'fraction' && unsplit !== 'test') return bad(`unsplit must be 'fraction' or 'test', got ${String(unsplit)}`);
  if (size !== undefined && ![size.height, size.width].every((v) => Number.isSafeInteger(v) && v >= 1 && v <= 4096)) {
    return bad(`size must be whole numbers of pixels in 1..4096, got ${size.height}x${size.width}`);
  }
  if (testFraction !== undefined && !(testFraction >= 0 && testFraction < 1)) return bad(`testFraction must be in [0, 1), got ${testFraction}`);
  return right(undefined);
};

/**
 * How an image folder's images are split: 'folders' when its only folders are train/ and test/
 * (other files aside), which it keeps, else 'fraction' (each class split by the test fraction).
 * Left: a DataError when the folder cannot be listed.
 *
 * @example imageFolderSplit('photos') // right('fraction') for photos/cat/, photos/dog/
 */
export const imageFolderSplit = (dir: string): Either<DataError, ImageFolderScan['split']> => {
  const top = listDir(dir);
  return top._tag === 'Left' ? top : right(splitOf(dir, top.right));
};

/** The split of a folder whose entries are `listed` (see imageFolderSplit). */
const splitOf = (dir: string, listed: readonly fs.Dirent[]): ImageFolderScan['split'] => {
  const folders = listed.filter((e) => isFolder(dir, e)).map((e) => e.name);
  return folders.length === 2 && folders.includes('train') && folders.includes('test') ? 'folders' : 'fraction';
};

/**
 * Reads an image folder's layout and every image's header, without decoding any image: the class
 * names, the train/test split (the folder's own, else by `testFraction`, or every image a test image with
 * `unsplit: 'test'`), and the shape the images
 * will take. Left (a DataError naming the folder or file, and the byte where a header is bad): a
 * missing folder, no class folder or only one, an empty class folder, train/ and test/ with
 * different classes, an unreadable or cut-short header, an image over 4096x4096 pixels or 64 MiB,
 * images of different sizes when no `size` is given, more than `maxFiles` images or a data set
 * over `maxBytes`.
 *
 * @example
 * const r = scanImageFolder('photos', { size: { height: 32, width: 32 } });
 * if (r._tag === 'Right') r.right.classNames; // ['cat', 'dog']
 */
export const scanImageFolder = (dir: string, options: ImageFolderOptions = {}): Either<DataError, ImageFolderScan> => {
  const checked = checkOptions(options);
  if (checked._tag === 'Left') return checked;
  const limits = { maxFiles: options.maxFiles ?? DEFAULT_MAX_FILES, minClasses: options.minClasses ?? 2 };
  const fraction = options.testFraction ?? 0.2;
  const seed = options.splitSeed ?? 0;
  const ignored: string[] = [];
  const counted = { n: 0 };
  // the folder is listed once: its split and, without one of its own, its class folders come from that one listing
  const top = listDir(dir);
  if (top._tag === 'Left') return top;
  const ownSplit = splitOf(dir, top.right) === 'folders';
  const seededOrder = (relative: (label: number, f: string) => string) => (a: { label: number; f: string }, b: { label: number; f: string }) =>
    splitHash(seed, relative(a.label, a.f)) - splitHash(seed, relative(b.label, b.f)) || byName(relative(a.label, a.f), relative(b.label, b.f));
  let classNames: readonly string[];
  let trainFiles: { label: number; f: string; file: string }[];
  let testFiles: { label: number; f: string; file: string }[];
  if (ownSplit) {
    const classesIn = (sub: string): Either<DataError, ClassFiles> => {
      const listed = listDir(sub);
      return listed._tag === 'Left' ? listed : readClasses(sub, listed.right, ignored, limits, counted);
    };
    const train = classesIn(path.join(dir, 'train'));
    if (train._tag === 'Left') return train;
    const test = classesIn(path.join(dir, 'test'));
    if (test._tag === 'Left') return test;
    if (train.right.names.join('\0') !== test.right.names.join('\0')) {
      const onlyTrain = train.right.names.filter((n) => !test.right.names.includes(n));
      const onlyTest = test.right.names.filter((n) => !train.right.names.includes(n));
      return left(ioError(dir, `train/ and test/ must hold the same class folders: ${[...onlyTrain.map((n) => `${n} is only in train/`), ...onlyTest.map((n) => `${n} is only in test/`)].join(', ')}`));
    }
    classNames = train.right.names;
    const entries = (split: 'train' | 'test', files: ClassFiles) =>
      files.files.flatMap((names, label) => names.map((f) => ({ label, f, file: path.join(dir, split, classNames[label], f) })));
    const order = seededOrder((label, f) => `${classNames[label]}/${f}`);
    trainFiles = entries('train', train.right).sort(order);
    testFiles = entries('test', test.right).sort(order);
  } else {
    const classes = readClasses(dir, top.right, ignored, limits, counted);
    if (classes._tag === 'Left') return classes;
    classNames = classes.right.names;
    trainFiles = [];
    testFiles = [];
    classes.right.files.forEach((files, label) => {
      const name = classNames[label];
      const { train, test } = options.unsplit === 'test' ? { train: [], test: files } : splitClass(name, files, fraction, seed);
      trainFiles.push(...train.map((f) => ({ label, f, file: path.join(dir, name, f) })));
      testFiles.push(...test.map((f) => ({ label, f, file: path.join(dir, name, f) })));
    });
    // One order mixing the classes, so that keeping the first maxTrain images keeps every class in proportion.
    const order = seededOrder((label, f) => `${classNames[label]}/${f}`);
    trainFiles.sort(order);
    testFiles.sort(order);
  }
  const available = { train: trainFiles.length, test: testFiles.length };
  trainFiles = trainFiles.slice(0, options.maxTrain ?? trainFiles.length);
  testFiles = testFiles.slice(0, options.maxTest ?? testFiles.length);
  // Every kept file's header: sizes and colours, before any image is decoded.
  const held = new HeldBytes(options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES);
  const withHeaders = (kept: readonly { label: number; file: string }[]): Either<DataError, ImageFolderEntry[]> => {
    const out: ImageFolderEntry[] = [];
    for (const { label, file } of kept) {
      const header = headerOf(file, held);
      if (header._tag === 'Left') return header;
      out.push({ file, label, header: header.right });
    }
    return right(out);
  };
  const train = withHeaders(trainFiles);
  if (train._tag === 'Left') return train;
  const test = withHeaders(testFiles);
  if (test._tag === 'Left') return test;
  const all = [...train.right, ...test.right];
  const channels = options.channels ?? (all.some((e) => e.header.channels === 3) ? 3 : 1);
  let height: number;
  let width: number;
  if (options.size !== undefined) {
    ({ height, width } = options.size);
  } else {
    const first = all[0];
    if (first === undefined) return left(ioError(dir, 'holds no images'));
    ({ height, width } = first.header);
    const other = all.find((e) => e.header.height !== height || e.header.width !== width);
    if (other !== undefined) {
      return left(
        ioError(
          other.file,
          `is ${other.header.width}x${other.header.height} pixels (width x height), ${first.file} is ${width}x${height}: images of different sizes need a size to be resized to (--image-size HxW)`,
        ),
      );
    }
  }
  const bytes = all.length * channels * height * width * 4;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes > maxBytes) {
    return left(ioError(dir, `${all.length} images of ${channels}x${height}x${width} take ${bytes} bytes as float32, more than the ${maxBytes}-byte limit`));
  }
  const notes =
    ignored.length === 0
      ? []
      : [`ignored ${ignored.length} ${ignored.length === 1 ? 'entry' : 'entries'} that ${ignored.length === 1 ? 'is' : 'are'} not a .png, .jpg or .jpeg image in a class folder, e.g. ${ignored[0]}`];
  return right({ dir, classNames, train: train.right, test: test.right, split: ownSplit ? 'folders' : 'fraction', available, channels, height, width, notes, held });
};

/** Decodes the images of `entries` into one [N, C, H, W] tensor, in order. */
const decodeSplit = (entries: readonly ImageFolderEntry[], scan: ImageFolderScan): Either<DataError, ImageFolderSplit> => {
  const { channels, height, width } = scan;
  const size = channels * height * width;
  const pixels = new Float32Array(entries.length * size);
  const labels = new Int32Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const { file, label } = entries[i];
    // the bytes the scan read, else the file (read here for the first time but for its header)
    const held = scan.held.take(file);
    const bytes = held === undefined ? readRegularFile(file, MAX_IMAGE_FILE_BYTES) : right(held);
    if (bytes._tag === 'Left') return left(unreadable(file, bytes.left));
    const image = decodeImage(bytes.right, file);
    if (image._tag === 'Left') return image;
    writeImagePlanes(image.right, channels, height, width, pixels, i * size);
    labels[i] = label;
  }
  return right({ images: fromData([entries.length, channels, height, width], pixels), labels });
};

/**
 * Decodes what `scanImageFolder` found: both splits as tensors. Left: a file that cannot be read
 * or decoded (named, with the decoder's message).
 *
 * @example
 * const data = decodeImageFolder(scan); // right({ train: { images: [N,C,H,W], labels }, test, classNames })
 */
export const decodeImageFolder = (scan: ImageFolderScan, which: 'both' | 'test' = 'both'): Either<DataError, ImageFolderData> => {
  const test = decodeSplit(scan.test, scan);
  if (test._tag === 'Left') return test;
  const train = which === 'test' ? decodeSplit([], scan) : decodeSplit(scan.train, scan);
  if (train._tag === 'Left') return train;
  return right({ train: train.right, test: test.right, classNames: scan.classNames, scan });
};

/**
 * An image folder as a data set, both splits (see `scanImageFolder` for the layout, the split and
 * what is refused). Never throws.
 *
 * @example
 * const r = loadImageFolder('photos', { channels: 3, size: { height: 32, width: 32 } });
 * if (r._tag === 'Right') r.right.train.images.shape; // [N, 3, 32, 32]
 */
export const loadImageFolder = (dir: string, options: ImageFolderOptions = {}): Either<DataError, ImageFolderData> => {
  const scan = scanImageFolder(dir, options);
  return scan._tag === 'Left' ? scan : decodeImageFolder(scan.right);
};
