import { closeSync, gunzipSync, zlibConstants } from '#files';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError } from '@foldnet/core';
import { openRegularFile, readAt, refusalText } from '../input/regular-file.js';

/*
 * IDX, the format of the MNIST files (http://yann.lecun.com/exdb/mnist/), all big-endian:
 *
 *   byte 0..1   0x00 0x00
 *   byte 2      type code: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
 *   byte 3      number of dimensions d (1..255)
 *   byte 4..    d sizes, u32 each
 *   then        prod(sizes) elements, row-major, big-endian
 *
 * Every field is checked against the bytes actually present before anything is allocated, so a
 * header that lies about its sizes costs nothing but an error.
 *
 * A gzip-compressed file is never inflated on the word of its header: the header is inflated
 * first (a few bytes), its declared size is checked against `maxBytes` and against the gzip
 * trailer (ISIZE, the inflated length mod 2^32), and then only the bytes the caller keeps are
 * inflated: `maxItems: 500` of a 900 MB file inflates 392 KB, and a 3 MB file whose header claims
 * 2^30 images allocates nothing.
 */

/** An IDX element type, named as in the IDX description. */
export type IdxType = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';

/** The typed array an IDX element type decodes to (host order, a fresh buffer of its own). */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/**
 * A decoded IDX file: its element type, its dimensions (outermost first) and the elements.
 * `dims[0]` is the number of items (images, labels); with `maxItems` it is the number kept.
 *
 * @example
 * // train-images-idx3-ubyte -> { type: 'ubyte', dims: [60000, 28, 28], data: Uint8Array(47040000), total: 60000 }
 */
export interface IdxArray {
  readonly type: IdxType;
  readonly dims: readonly number[];
  readonly data: IdxData;
  /** Items the file holds along dims[0]; more than dims[0] when `maxItems` cut the read short. */
  readonly total: number;
}

/**
 * A malformed or unreadable data file: `code` is 'format' (the bytes are wrong) or 'io' (the
 * file could not be read); `file` and `offset` (a byte position, when one applies) are also in
 * the message: `train-labels-idx1-ubyte: byte 4: header declares 60000 items ...`.
 *
 * @example
 * const r = parseIdx(new Uint8Array([0, 1, 8, 1]), { file: 'labels' });
 * if (r._tag === 'Left') [r.left.code, r.left.offset]; // ['format', 0]
 */
export class DataError extends FoldnetError {
  constructor(
    code: 'format' | 'io',
    readonly file: string,
    readonly offset: number | undefined,
    detail: string,
  ) {
    super(code, `${file}: ${offset === undefined ? '' : `byte ${offset}: `}${detail}`);
  }
}

/** Options shared by `parseIdx` and `readIdxFile`. @example { file: 'train-images-idx3-ubyte', maxItems: 5000 } */
export interface IdxOptions {
  /** Names the file in error messages (a path or a file name). */
  readonly file: string;
  /** Keep only the first `maxItems` items (along dims[0]); the header is still checked against the whole file. */
  readonly maxItems?: number;
  /**
   * Largest data size accepted, in bytes (default 1 GiB): what a gzip file's header may declare,
   * what a gzip file may take on disk, and what is kept in memory. Bounds gzip bombs and lying
   * headers before anything is inflated.
   */
  readonly maxBytes?: number;
}

interface TypeInfo {
  readonly type: IdxType;
  readonly size: number;
}

const TYPE_CODES: ReadonlyMap<number, TypeInfo> = new Map([
  [0x08, { type: 'ubyte', size: 1 }],
  [0x09, { type: 'byte', size: 1 }],
  [0x0b, { type: 'short', size: 2 }],
  [0x0c, { type: 'int', size: 4 }],
  [0x0d, { type: 'float', size: 4 }],
  [0x0e, { type: 'double', size: 8 }],
]);

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
const KNOWN_CODES = [...TYPE_CODES].map(([code, info]) => `${hex(code)} ${info.type}`).join(', ');

/** 1 GiB: more than any MNIST-like dataset, far less than a gzip bomb can claim. @example parseIdx(gz, { file, maxBytes: DEFAULT_MAX_IDX_BYTES / 4 }) */
export const DEFAULT_MAX_IDX_BYTES = 1 << 30;

const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** The validated header: where the data starts and how many bytes one item (a slice along dims[0]) takes. */
interface IdxHeader {
  readonly info: TypeInfo;
  readonly dims: readonly number[];
  readonly dataStart: number;
  readonly itemBytes: number;
}

const formatDims = (dims: readonly number[]): string => (dims.length === 0 ? 'scalar' : dims.join('x'));

/**
 * Checks the header in `head` (at least the first 4 + 4*d bytes) against `totalLength`, the
 * length of the whole file. Sizes are multiplied as BigInt: 255 dimensions of 2^32-1 must not
 * overflow into a plausible number.
 */
const checkHeader = (head: Uint8Array, totalLength: number, file: string): Either<DataError, IdxHeader> => {
  const fail = (offset: number, detail: string) => left(new DataError('format', file, offset, detail));
  if (totalLength < 4) return fail(0, `file holds ${totalLength} bytes, an IDX header needs at least 4`);
  if (head[0] !== 0 || head[1] !== 0) {
    return fail(0, `IDX magic must start with two zero bytes, got ${hex(head[0])} ${hex(head[1])}`);
  }
  const info = TYPE_CODES.get(head[2]);
  if (info === undefined) return fail(2, `unknown IDX type code ${hex(head[2])} (known: ${KNOWN_CODES})`);
  const rank = head[3];
  if (rank === 0) return fail(3, 'number of dimensions is 0, expected at least 1');
  const dataStart = 4 + 4 * rank;
  if (totalLength < dataStart) {
    return fail(4, `header declares ${rank} dimensions (${dataStart} header bytes), file holds ${totalLength} bytes`);
  }
  const view = new DataView(head.buffer, head.byteOffset, dataStart);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const dataBytes = dims.reduce((acc, d) => acc * BigInt(d), BigInt(info.size));
  const present = BigInt(totalLength - dataStart);
  if (dataBytes !== present) {
    const what = rank === 1 ? `${dims[0]} ${info.type} items` : `${dims[0]} items of ${formatDims(dims.slice(1))} ${info.type}`;
    const holds =
      present < dataBytes ? `file holds ${present}` : `file holds ${present} (${present - dataBytes} trailing bytes)`;
    return fail(4, `header declares ${what} (${dataBytes} bytes of data after the ${dataStart}-byte header), ${holds}`);
  }
  const itemBytes = dims.slice(1).reduce((a, d) => a * d, info.size);
  return right({ info, dims, dataStart, itemBytes });
};

const checkMaxItems = (maxItems: number | undefined, file: string): Either<DataError, number> => {
  if (maxItems === undefined) return right(Number.POSITIVE_INFINITY);
  if (!Number.isSafeInteger(maxItems) || maxItems < 0) {
    return left(new DataError('format', file, undefined, `maxItems must be a non-negative integer, got ${maxItems}`));
  }
  return right(maxItems);
};

// Big-endian body -> host-order typed array (a fresh buffer: callers may keep it forever).
// `owned`: body is a fresh buffer nobody else holds (read from disk), so bytes need no copy.
const decodeBody = (body: Uint8Array, info: TypeInfo, owned = false): IdxData => {
  const n = body.length / info.size;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (info.type) {
    // new Uint8Array(view) copies into a fresh, unpooled buffer of exactly this length (slice()
    // on a node Buffer would give a Buffer back, through the species constructor).
    case 'ubyte':
      return owned ? body : new Uint8Array(body);
    case 'byte':
      return new Int8Array(new Uint8Array(body).buffer);
    case 'short': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
};

// The inflated length of a gzip file as its trailer states it (ISIZE, mod 2^32), or undefined for
// a file too short to have one.
const gzipTrailerSize = (gz: Uint8Array): number | undefined =>
  gz.length < 18 ? undefined : new DataView(gz.buffer, gz.byteOffset + gz.length - 4, 4).getUint32(0, true);

type Inflated = Either<{ readonly tooLarge: true } | { readonly tooLarge: false; readonly reason: string }, Uint8Array>;

/**
 * Inflates the first `prefix` compressed bytes, at most `maxOut` bytes of output (more is a
 * `tooLarge` Left, with no more than about `maxOut` bytes ever held). `finish`: the prefix is
 * the whole stream, checked to its end (CRC and length); otherwise Z_SYNC_FLUSH gives whatever
 * the prefix decodes to, without asking for the rest.
 */
const inflate = (gz: Uint8Array, prefix: number, maxOut: number, finish: boolean): Inflated => {
  try {
    const out = gunzipSync(gz.subarray(0, prefix), {
      finishFlush: finish ? zlibConstants.Z_FINISH : zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: Math.max(1, maxOut),
    });
    return right(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  } catch (e) {
    if (e instanceof RangeError && 'code' in e && e.code === 'ERR_BUFFER_TOO_LARGE') return left({ tooLarge: true });
    return left({ tooLarge: false, reason: e instanceof Error ? e.message : String(e) });
  }
};

// Slack above `need` when inflating a prefix: one more compressed byte decodes to at most ~1 KB
// (eight bits of 1-bit length and distance codes, 258 bytes each), so a bisection over prefixes
// always finds one whose output lands in [need, cap] when cap - need is this or more.
const INFLATE_SLACK = 1 << 16;

/**
 * The first `need` inflated bytes of `gz` (fewer when the stream holds fewer), never holding
 * more than need + max(64 KiB, need / 8) of output. Prefixes of the compressed bytes are inflated
 * from the start: the first sized by `guess`, the next by the compression ratio the last one
 * showed (5% over), and when one overshoots the cap, bisected. For data that compresses evenly
 * the second try lands, so the work is a small multiple of inflating `need` bytes once.
 */
const inflateAtLeast = (gz: Uint8Array, need: number, guess: number): Either<string, Uint8Array> => {
  const cap = need + Math.max(INFLATE_SLACK, Math.ceil(need / 8));
  let lo = 0; // a prefix known to decode to fewer than `need` bytes
  let hi: number | undefined; // a prefix known to decode to more than `cap`
  let p = Math.min(gz.length, Math.max(64, guess));
  for (;;) {
    const r = inflate(gz, p, cap, false);
    if (r._tag === 'Left') {
      if (!r.left.tooLarge) return left(r.left.reason);
      hi = p;
    } else if (r.right.length >= need || p === gz.length) {
      return right(r.right);
    } else {
      lo = p;
      // Grow by the ratio seen so far (at least doubling when nothing came out yet).
      const scaled = r.right.length === 0 ? 2 * p : Math.ceil((p * need * 1.05) / r.right.length) + 64;
      if (hi === undefined) {
        p = Math.min(gz.length, Math.max(p + 1, scaled));
        continue;
      }
    }
    if (hi - lo > 1) p = lo + Math.floor((hi - lo) / 2);
    else return left(`a single compressed byte inflates to more than ${cap - need} bytes`);
  }
};

const keepItems = (header: IdxHeader, maxItems: number): { dims: number[]; bodyBytes: number } => {
  const items = Math.min(header.dims[0], maxItems);
  // items = 0 must not multiply an itemBytes that overflowed to Infinity (0 x 2^32 x ... dims).
  return { dims: [items, ...header.dims.slice(1)], bodyBytes: items === 0 ? 0 : items * header.itemBytes };
};

/**
 * Decodes an IDX file held in memory (gzip-compressed input, recognised by its magic bytes, is
 * inflated only as far as needed; see the top of this file). Every header field is checked: the
 * magic, the type code, the number of dimensions, and the sizes against the length (too short
 * and trailing bytes are both errors; for gzip, against the trailer's length and, when every
 * item is kept, against the whole inflated stream). Never throws: a bad file is a `DataError`
 * naming the file and the byte.
 *
 * @example
 * const r = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 5, 7]), { file: 'labels' });
 * // right({ type: 'ubyte', dims: [2], data: Uint8Array [5, 7], total: 2 })
 */
export const parseIdx = (bytes: Uint8Array, options: IdxOptions): Either<DataError, IdxArray> => {
  const { file, maxBytes = DEFAULT_MAX_IDX_BYTES } = options;
  const maxItems = checkMaxItems(options.maxItems, file);
  if (maxItems._tag === 'Left') return maxItems;
  if (isGzip(bytes)) return parseGzipIdx(bytes, file, maxBytes, maxItems.right);
  const header = checkHeader(bytes, bytes.length, file);
  if (header._tag === 'Left') return header;
  const { dims, bodyBytes } = keepItems(header.right, maxItems.right);
  if (bodyBytes > maxBytes) return left(overLimit(file, bodyBytes, maxBytes));
  const start = header.right.dataStart;
  const data = decodeBody(bytes.subarray(start, start + bodyBytes), header.right.info);
  return right({ type: header.right.info.type, dims, data, total: header.right.dims[0] });
};

const overLimit = (file: string, bytes: number | bigint, maxBytes: number): DataError =>
  new DataError('format', file, 4, `header declares ${bytes} bytes of data, more than the ${maxBytes}-byte limit`);

/** The largest IDX header: 4 bytes of magic and 255 sizes of 4 bytes. */
const MAX_HEADER = 4 + 4 * 255;

const parseGzipIdx = (gz: Uint8Array, file: string, maxBytes: number, maxItems: number): Either<DataError, IdxArray> => {
  const gzipFail = (reason: string) => left(new DataError('format', file, 0, `gzip data cannot be decompressed: ${reason}`));
  // 1. The header alone: at most 1024 inflated bytes, whatever the file claims.
  const head = inflateAtLeast(gz, MAX_HEADER, 64);
  if (head._tag === 'Left') return gzipFail(head.left);
  const h = head.right;
  const rank = h.length >= 4 ? h[3] : 0;
  const headerBytes = h.length >= 4 ? 4 + 4 * rank : 4;
  // 2. Its declared size, against the limit and the trailer, before any data is inflated.
  const declared = h.length >= headerBytes && rank > 0 ? declaredDataBytes(h, rank) : undefined;
  if (declared !== undefined) {
    if (declared > BigInt(maxBytes)) return left(overLimit(file, declared, maxBytes));
    const isize = gzipTrailerSize(gz);
    const whole = declared + BigInt(headerBytes);
    if (isize === undefined || BigInt(isize) !== whole % 2n ** 32n) {
      return left(
        new DataError('format', file, 4, `header declares ${whole} bytes in all, the gzip trailer says the file inflates to ${isize ?? 'nothing (no trailer)'} (mod 2^32): the file is truncated or corrupt, or holds more than one gzip member`),
      );
    }
  }
  // Without a plausible header, checkHeader on what was inflated says what is wrong.
  const header = checkHeader(h, declared === undefined ? h.length : headerBytes + Number(declared), file);
  if (header._tag === 'Left') return header;
  const { dims, bodyBytes } = keepItems(header.right, maxItems);
  const start = header.right.dataStart;
  const total = start + Number(declared ?? 0n);
  // 3. The data: every item kept -> the whole stream, checked to its end (CRC, exact length);
  // fewer -> only the prefix they need, with a first guess from the file's compression ratio.
  let raw: Uint8Array;
  if (start + bodyBytes === total) {
    const all = inflate(gz, gz.length, total, true);
    if (all._tag === 'Left') {
      return all.left.tooLarge
        ? left(new DataError('format', file, total, `the gzip data inflates to more than the ${total} bytes its header declares`))
        : gzipFail(all.left.reason);
    }
    raw = all.right;
  } else {
    const need = start + bodyBytes;
    const prefix = inflateAtLeast(gz, need, Math.ceil((gz.length * need) / Math.max(1, total)) + 1024);
    if (prefix._tag === 'Left') return gzipFail(prefix.left);
    raw = prefix.right;
  }
  if (raw.length < start + bodyBytes) {
    return left(new DataError('format', file, 4, `header declares ${total - start} bytes of data after the ${start}-byte header, the gzip data holds ${raw.length - start}`));
  }
  const data = decodeBody(raw.subarray(start, start + bodyBytes), header.right.info);
  return right({ type: header.right.info.type, dims, data, total: header.right.dims[0] });
};

// prod(dims) x element size, as BigInt (255 sizes of 2^32-1 must not round); undefined for an
// unknown type code (checkHeader reports it).
const declaredDataBytes = (head: Uint8Array, rank: number): bigint | undefined => {
  const info = TYPE_CODES.get(head[2]);
  if (info === undefined) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, 4 + 4 * rank);
  let n = BigInt(info.size);
  for (let i = 0; i < rank; i++) n *= BigInt(view.getUint32(4 + 4 * i, false));
  return n;
};

const cannotRead = (e: unknown): string => `cannot read: ${e instanceof Error ? e.message : String(e)}`;

/**
 * Reads an IDX file from disk, plain or gzip-compressed (recognised by content, not by name).
 * For a plain file only the header and the first `maxItems` items are read (loading 5000 MNIST
 * images reads 3.9 MB, not 47 MB), yet the header is checked against the file's full length. A
 * gzip file (at most `maxBytes` on disk) is inflated only as far as those items (see parseIdx).
 * Anything but a regular file (a FIFO, a device, a directory) is refused before it is read.
 *
 * @example
 * const r = readIdxFile('data/t10k-labels-idx1-ubyte', { maxItems: 100 });
 * // right({ type: 'ubyte', dims: [100], data: Uint8Array(100), total: 10000 })
 */
export const readIdxFile = (path: string, options: Partial<IdxOptions> = {}): Either<DataError, IdxArray> => {
  const file = options.file ?? path;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IDX_BYTES;
  const maxItems = checkMaxItems(options.maxItems, file);
  if (maxItems._tag === 'Left') return maxItems;
  // A plain file is read in part, so its size alone costs nothing: no limit at the open.
  const opened = openRegularFile(path, Number.MAX_SAFE_INTEGER);
  if (opened._tag === 'Left') {
    return left(new DataError('io', file, undefined, refusalText(opened.left, cannotRead)));
  }
  const { fd, size } = opened.right;
  try {
    const magic = readAt(fd, Math.min(size, 4), 0);
    if (isGzip(magic)) {
      if (size > maxBytes) return left(new DataError('io', file, undefined, `a gzip file of ${size} bytes, more than the ${maxBytes}-byte limit`));
      const gz = readAt(fd, size, 0);
      return parseIdx(gz, { file, maxBytes, ...(options.maxItems === undefined ? {} : { maxItems: options.maxItems }) });
    }
    const rank = magic.length === 4 ? magic[3] : 0;
    const head = readAt(fd, Math.min(size, 4 + 4 * rank), 0);
    const header = checkHeader(head, size, file);
    if (header._tag === 'Left') return header;
    const { dims, bodyBytes } = keepItems(header.right, maxItems.right);
    if (bodyBytes > maxBytes) return left(overLimit(file, bodyBytes, maxBytes));
    const body = readAt(fd, bodyBytes, header.right.dataStart);
    if (body.length !== bodyBytes) {
      // The file shrank between fstat and read: report it rather than decode a short buffer.
      return left(new DataError('io', file, header.right.dataStart, `expected ${bodyBytes} bytes, read ${body.length}`));
    }
    const data = decodeBody(body, header.right.info, true);
    return right({ type: header.right.info.type, dims, data, total: header.right.dims[0] });
  } catch (e) {
    return left(new DataError('io', file, undefined, cannotRead(e)));
  } finally {
    closeSync(fd);
  }
};

/**
 * Encodes an IDX file (big-endian), the inverse of `parseIdx`; used to write fixtures and small
 * datasets. `dims` must multiply to `data.length`.
 *
 * @example
 * encodeIdx('ubyte', [2], new Uint8Array([5, 7])); // Uint8Array [0,0,8,1, 0,0,0,2, 5,7]
 */
export const encodeIdx = (type: IdxType, dims: readonly number[], data: ArrayLike<number>): Uint8Array => {
  const entry = [...TYPE_CODES].find(([, info]) => info.type === type);
  if (entry === undefined) throw new FoldnetError('format', `encodeIdx: unknown type ${type}`);
  const [code, info] = entry;
  if (dims.length < 1 || dims.length > 255 || !dims.every((d) => Number.isInteger(d) && d >= 0 && d <= 0xffffffff)) {
    throw new FoldnetError('shape', `encodeIdx: dims [${dims.join(',')}] must be 1..255 integers in 0..2^32-1`);
  }
  const n = dims.reduce((a, d) => a * d, 1);
  if (n !== data.length) {
    throw new FoldnetError('shape', `encodeIdx: dims [${dims.join(',')}] need ${n} elements, got ${data.length}`);
  }
  const start = 4 + 4 * dims.length;
  const out = new Uint8Array(start + n * info.size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < n; i++) {
    const at = start + i * info.size;
    const v = data[i];
    switch (info.type) {
      case 'ubyte':
        view.setUint8(at, v);
        break;
      case 'byte':
        view.setInt8(at, v);
        break;
      case 'short':
        view.setInt16(at, v, false);
        break;
      case 'int':
        view.setInt32(at, v, false);
        break;
      case 'float':
        view.setFloat32(at, v, false);
        break;
      case 'double':
        view.setFloat64(at, v, false);
        break;
    }
  }
  return out;
};
