import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError } from '@foldnet/core';
import { DataError, DEFAULT_MAX_IDX_BYTES, parseIdx, type IdxArray, type IdxOptions } from '../data/idx.js';
import { MNIST_FILES, mnistSplitFromBytes, type Mnist, type MnistSplit, type MnistSplitName, type MnistSplitOptions } from '../data/mnist.js';

/*
 * Data without a file system (a page, a Worker; Node 20 has the same web APIs): bytes come from fetch, a File or a
 * Blob, and go to the shared decoders (parseIdx, mnistSplitFromBytes). A gzip file is inflated with the web's
 * DecompressionStream, asynchronously, and at most `maxBytes` of output is ever held: a gzip bomb is cut off there.
 */

const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Inflates gzip `bytes`, refusing (a DataError naming `file`) output over `maxBytes` or a corrupt stream.
 *
 * @example
 * await gunzipBytes(gz, 'train-images-idx3-ubyte.gz', 1 << 30); // right(Uint8Array)
 */
export const gunzipBytes = async (bytes: Uint8Array, file: string, maxBytes: number): Promise<Either<DataError, Uint8Array>> => {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        return left(new DataError('format', file, 0, `gzip data inflates to more than the ${maxBytes}-byte limit`));
      }
      chunks.push(value);
    }
  } catch (e) {
    return left(new DataError('format', file, 0, `gzip data cannot be decompressed: ${e instanceof Error ? e.message : String(e)}`));
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return right(out);
};

/** Plain IDX bytes: `bytes` itself, or inflated when it is gzip. */
const plainIdx = async (bytes: Uint8Array, file: string, maxBytes: number): Promise<Either<DataError, Uint8Array>> =>
  isGzip(bytes) ? gunzipBytes(bytes, file, maxBytes + 4 + 4 * 255) : right(bytes);

/**
 * Decodes IDX bytes, plain or gzip, as `parseIdx` (the same checks), inflating gzip asynchronously first.
 *
 * @example
 * const r = await idxFromBytes(new Uint8Array(await file.arrayBuffer()), { file: file.name });
 */
export const idxFromBytes = async (bytes: Uint8Array, options: IdxOptions): Promise<Either<DataError, IdxArray>> => {
  const plain = await plainIdx(bytes, options.file, options.maxBytes ?? DEFAULT_MAX_IDX_BYTES);
  return plain._tag === 'Left' ? plain : parseIdx(plain.right, options);
};

/**
 * An IDX file from a File or Blob (an `<input type="file">`, a drop), plain or gzip.
 *
 * @example
 * const r = await idxFromBlob(input.files[0], { file: input.files[0].name, maxItems: 1000 });
 */
export const idxFromBlob = async (blob: Blob, options: IdxOptions): Promise<Either<DataError, IdxArray>> => {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IDX_BYTES;
  if (blob.size > maxBytes) return left(new DataError('io', options.file, undefined, `file holds ${blob.size} bytes, more than the ${maxBytes}-byte limit`));
  return idxFromBytes(new Uint8Array(await blob.arrayBuffer()), options);
};

/**
 * The bytes at `url`, at most `maxBytes` (by Content-Length when the server sends one, else as they arrive); every
 * failure is a DataError 'io' naming the address.
 *
 * @example
 * await fetchBytes('/data/t10k-labels-idx1-ubyte', 1 << 26); // right(Uint8Array)
 */
export const fetchBytes = async (url: string, maxBytes: number): Promise<Either<DataError, Uint8Array>> => {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    return left(new DataError('io', url, undefined, `fetch failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  if (!response.ok) return left(new DataError('io', url, undefined, `the server answered ${response.status} ${response.statusText}`.trimEnd()));
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) return left(new DataError('io', url, undefined, `holds ${declared} bytes, more than the ${maxBytes}-byte limit`));
  const bytes = new Uint8Array(await response.arrayBuffer());
  return bytes.length > maxBytes ? left(new DataError('io', url, undefined, `holds ${bytes.length} bytes, more than the ${maxBytes}-byte limit`)) : right(bytes);
};

/**
 * An IDX file at `url`, plain or gzip, decoded as `parseIdx` decodes it; errors name the address.
 *
 * @example
 * const r = await fetchIdx('/mnist/t10k-labels-idx1-ubyte');
 * if (r._tag === 'Right') r.right.dims; // [10000]
 */
export const fetchIdx = async (url: string, options: Omit<IdxOptions, 'file'> = {}): Promise<Either<DataError, IdxArray>> => {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IDX_BYTES;
  const bytes = await fetchBytes(url, maxBytes);
  return bytes._tag === 'Left' ? bytes : idxFromBytes(bytes.right, { ...options, file: url });
};

/** Where an MNIST-format folder is served: its address (ending with a slash) and whether its files are the `.gz` ones. @example { baseUrl: '/mnist/', gz: false } */
export interface MnistFolder {
  /** The address of a folder holding the IDX files under their usual names (MNIST_FILES). */
  readonly baseUrl: string;
  /** Fetch the `.gz` names (inflated here). Default false. */
  readonly gz?: boolean;
}

/** Options of `fetchMnist`: the folder, the splits' sizes and the loader's options. @example { baseUrl: '/mnist/', trainSize: 2000, testSize: 500 } */
export interface FetchMnistOptions extends MnistFolder, Omit<MnistSplitOptions, 'dir' | 'oneHot' | 'size'> {
  readonly trainSize?: number;
  readonly testSize?: number;
}

const SPLIT_FILES: Readonly<Record<MnistSplitName, readonly [string, string]>> = {
  train: [MNIST_FILES.trainImages, MNIST_FILES.trainLabels],
  test: [MNIST_FILES.testImages, MNIST_FILES.testLabels],
};

/**
 * One split of an MNIST-format dataset fetched from a folder served over HTTP (the other split's files are not
 * fetched), with every check `loadMnistSplit` makes; errors name the file's address.
 *
 * @example
 * const r = await fetchMnistSplit('test', { baseUrl: '/fashion/', gz: true, size: 1000 });
 */
export const fetchMnistSplit = async (
  split: MnistSplitName,
  options: MnistFolder & Omit<MnistSplitOptions, 'dir' | 'oneHot'>,
): Promise<Either<FoldnetError, MnistSplit<Int32Array>>> => {
  const { baseUrl, gz = false, ...rest } = options;
  // the shared loader reads by name: each name is its address, so errors say where the file came from
  const [images, labels] = SPLIT_FILES[split].map((name) => new URL(gz ? `${name}.gz` : name, baseUrl).href);
  const fetched = new Map<string, Uint8Array>();
  for (const url of [images, labels]) {
    const bytes = await fetchBytes(url, DEFAULT_MAX_IDX_BYTES);
    if (bytes._tag === 'Left') return bytes;
    const plain = await plainIdx(bytes.right, url, DEFAULT_MAX_IDX_BYTES);
    if (plain._tag === 'Left') return plain;
    fetched.set(url, plain.right);
  }
  return mnistSplitFromBytes((url) => fetched.get(url) ?? new Uint8Array(0), images ?? '', labels ?? '', rest);
};

/**
 * An MNIST-format dataset (MNIST, Fashion-MNIST) fetched from a folder served over HTTP: images [N,1,28,28] float32
 * in [0,1], labels Int32Array, with every check `loadMnist` makes.
 *
 * @example
 * const r = await fetchMnist({ baseUrl: new URL('./mnist/', location.href).href, trainSize: 2000, testSize: 500 });
 * if (r._tag === 'Right') r.right.train.images.shape; // [2000, 1, 28, 28]
 */
export const fetchMnist = async (options: FetchMnistOptions): Promise<Either<FoldnetError, Mnist<Int32Array>>> => {
  const { trainSize, testSize, ...rest } = options;
  const train = await fetchMnistSplit('train', { ...rest, ...(trainSize === undefined ? {} : { size: trainSize }) });
  if (train._tag === 'Left') return train;
  const test = await fetchMnistSplit('test', { ...rest, ...(testSize === undefined ? {} : { size: testSize }) });
  if (test._tag === 'Left') return test;
  // one network sees both splits: their images must have the same size
  const [trainShape, testShape] = [train.right.images.shape.slice(1), test.right.images.shape.slice(1)];
  if (trainShape.join('x') !== testShape.join('x')) {
    return left(new DataError('format', `${options.baseUrl} (test images)`, 8, `images are ${testShape.join('x')}, the training images ${trainShape.join('x')}`));
  }
  return right({ train: train.right, test: test.right });
};
