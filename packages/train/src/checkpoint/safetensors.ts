import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError, checkShape, fromData, formatShape, isDType, type Shape, type Tensor } from '@foldnet/core';
import { decodeUtf8, parseJson } from '../input/json.js';

/*
 * safetensors (https://github.com/huggingface/safetensors), byte by byte:
 *
 *   byte 0..7       N, the header length, u64 little-endian
 *   byte 8..8+N     a UTF-8 JSON object (foldnet pads it with spaces to a multiple of 8):
 *                   { "<name>": { "dtype": "F32", "shape": [30,1,5,5], "data_offsets": [begin, end] },
 *                     "__metadata__": { "<key>": "<string value>" } }
 *   byte 8+N..      the data: every tensor's elements, row-major, little-endian; offsets are
 *                   relative to the data start, and the tensors tile it exactly (no hole, no
 *                   overlap, nothing after the last one).
 *
 * The decoder trusts nothing: every size the header claims is checked against the bytes that
 * are actually there before anything is allocated, so a lying header costs an error, not memory.
 */

/**
 * A malformed or unreadable checkpoint: `code` is 'format' or 'io' ('shape' and 'dtype' when it does
 * not fit a network, 'numeric' when its tensors hold NaN or Infinity); `file` and `offset` (a byte
 * position, when one applies) are in the message too:
 * `run/ckpt.safetensors: byte 0: header length 10737418240 exceeds the 100000000-byte limit`.
 *
 * @example
 * const r = decodeSafetensors(new Uint8Array(3), { file: 'x' });
 * if (r._tag === 'Left') r.left.message; // 'x: byte 0: file holds 3 bytes, a safetensors file starts with an 8-byte header length'
 */
export class CheckpointError extends FoldnetError {
  constructor(
    code: 'format' | 'io' | 'shape' | 'dtype' | 'numeric',
    readonly file: string,
    readonly offset: number | undefined,
    detail: string,
  ) {
    super(code, `${file}: ${offset === undefined ? '' : `byte ${offset}: `}${detail}`);
  }
}

/** A checkpoint's content: tensors by name and a string-to-string metadata map. @example { tensors: { 'conv1.W': w }, metadata: { step: '100' } } */
export interface SafetensorsContent {
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Options of `decodeSafetensors`. @example { file: 'ckpt.safetensors', maxHeaderBytes: 1 << 20 } */
export interface DecodeOptions {
  /** Names the file in error messages. */
  readonly file: string;
  /** Largest JSON header accepted, in bytes (default `MAX_HEADER_BYTES`, 100 MB). */
  readonly maxHeaderBytes?: number;
}

/** 100 MB: the safetensors reference implementation's own limit on the JSON header. @example decodeSafetensors(b, { file, maxHeaderBytes: MAX_HEADER_BYTES }) */
export const MAX_HEADER_BYTES = 100_000_000;

/** Element sizes of every dtype the safetensors format defines; foldnet reads and writes F32 and F64. */
const DTYPE_BYTES: ReadonlyMap<string, number> = new Map([
  ['BOOL', 1],
  ['U8', 1],
  ['I8', 1],
  ['F8_E5M2', 1],
  ['F8_E4M3', 1],
  ['I16', 2],
  ['U16', 2],
  ['F16', 2],
  ['BF16', 2],
  ['I32', 4],
  ['U32', 4],
  ['F32', 4],
  ['I64', 8],
  ['U64', 8],
  ['F64', 8],
]);

const SUPPORTED = 'F32 (float32) and F64 (float64)';

// Typed arrays hold host-order numbers; safetensors is little-endian. On the (rare) big-endian
// host every element goes through a DataView; on little-endian ones the bytes are copied as is.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The on-disk dtype name of a foldnet dtype. */
const dtypeName = (t: Tensor): 'F32' | 'F64' => (t.dtype === 'float64' ? 'F64' : 'F32');

/**
 * Encodes tensors and metadata as a safetensors file. Tensors are laid out F64 first, then F32
 * (so every element is aligned to its size), each group sorted by name: the same content always
 * gives the same bytes. Throws a 'format' FoldnetError for an empty name, the reserved name
 * `__metadata__`, a metadata value that is not a string, or a header over `MAX_HEADER_BYTES`.
 *
 * @example
 * const bytes = encodeSafetensors({ 'conv1.W': zeros([30, 1, 5, 5]) }, { step: '100' });
 * decodeSafetensors(bytes, { file: 'mem' }); // right({ tensors: { 'conv1.W': ... }, metadata: { step: '100' } })
 */
export const encodeSafetensors = (
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array => {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') {
      throw new FoldnetError('format', `encodeSafetensors: tensor name ${JSON.stringify(name)} is reserved or empty`);
    }
    if (!isDType(t.dtype)) throw new FoldnetError('dtype', `encodeSafetensors: tensor ${name} has unknown dtype ${String(t.dtype)}`);
    checkShape(`encodeSafetensors: tensor ${name}`, t.shape);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new FoldnetError('format', `encodeSafetensors: metadata ${JSON.stringify(k)} must be a string, got ${typeof v}`);
    }
  }
  const ordered = [...entries].sort(([na, a], [nb, b]) =>
    b.data.BYTES_PER_ELEMENT - a.data.BYTES_PER_ELEMENT || (na < nb ? -1 : na > nb ? 1 : 0),
  );
  const header: Record<string, unknown> = { __metadata__: Object.fromEntries(Object.entries(metadata)) };
  let offset = 0;
  for (const [name, t] of ordered) {
    const end = offset + t.size * t.data.BYTES_PER_ELEMENT;
    // defineProperty-like semantics: a tensor named "__proto__" must stay a plain key.
    Object.defineProperty(header, name, {
      value: { dtype: dtypeName(t), shape: [...t.shape], data_offsets: [offset, end] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  // Never write what decodeSafetensors refuses: a file no reader takes is no checkpoint.
  if (headerLength > MAX_HEADER_BYTES) {
    throw new FoldnetError('format', `encodeSafetensors: the header (names, shapes and metadata) takes ${headerLength} bytes, more than the ${MAX_HEADER_BYTES}-byte limit readers accept`);
  }
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // spaces: still valid JSON
  let at = 8 + headerLength;
  for (const [, t] of ordered) {
    const width = t.data.BYTES_PER_ELEMENT;
    if (HOST_LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.size * width), at);
    } else {
      for (let i = 0; i < t.size; i++) {
        if (width === 8) view.setFloat64(at + 8 * i, t.data[i], true);
        else view.setFloat32(at + 4 * i, t.data[i], true);
      }
    }
    at += t.size * width;
  }
  return out;
};

/** A tensor entry whose fields have been checked, before its data is read. */
interface Entry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: Shape;
  readonly begin: number;
  readonly end: number;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

const describe = (u: unknown): string => {
  if (u === undefined) return 'nothing (the field is missing)';
  if (u === null) return 'null';
  if (Array.isArray(u)) return 'an array';
  if (typeof u === 'string') return `the string ${JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}...` : u)}`;
  if (typeof u === 'number') return `the number ${u}`;
  return typeof u;
};

/**
 * Decodes a safetensors file held in memory. Checks, in order: the 8-byte length against the
 * file and `maxHeaderBytes`; UTF-8 and JSON (one leading BOM ignored, a repeated key refused); each entry's dtype (known), shape (non-negative
 * integers), data_offsets (two integers, end - begin = elements x dtype size); that the
 * entries tile the data exactly; metadata values are strings. Only then are tensors copied out
 * (F32 and F64; other safetensors dtypes are refused by name). Never throws.
 *
 * @example
 * const r = decodeSafetensors(readFileSync('model.safetensors'), { file: 'model.safetensors' });
 * if (r._tag === 'Left') console.error(r.left.message); else r.right.tensors['conv1.W'].shape; // [30,1,5,5]
 */
export const decodeSafetensors = (
  bytes: Uint8Array,
  options: DecodeOptions,
): Either<CheckpointError, SafetensorsContent> => {
  const { file, maxHeaderBytes = MAX_HEADER_BYTES } = options;
  const fail = (offset: number | undefined, detail: string) => left(new CheckpointError('format', file, offset, detail));
  if (!Number.isSafeInteger(maxHeaderBytes) || maxHeaderBytes < 0) {
    return fail(undefined, `decodeSafetensors: maxHeaderBytes must be a non-negative integer, got ${maxHeaderBytes}`);
  }
  if (bytes.length < 8) {
    return fail(0, `file holds ${bytes.length} bytes, a safetensors file starts with an 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const claimed = view.getBigUint64(0, true);
  if (claimed > BigInt(maxHeaderBytes)) {
    return fail(0, `header length ${claimed} exceeds the ${maxHeaderBytes}-byte limit`);
  }
  const headerLength = Number(claimed);
  if (8 + headerLength > bytes.length) {
    return fail(0, `header length ${headerLength}, but only ${bytes.length - 8} bytes follow`);
  }
  // foldnet's one rule for JSON (input/json.ts): UTF-8, one leading BOM ignored, repeated keys
  // refused (JSON.parse would keep the last of two "conv1.W" entries without a word).
  const text = decodeUtf8(bytes.subarray(8, 8 + headerLength));
  if (text._tag === 'Left') return fail(8, `header: ${text.left}`);
  const json = parseJson(text.right);
  if (json._tag === 'Left') return fail(8, `header: ${json.left}`);
  const parsed = json.right;
  if (!isRecord(parsed)) return fail(8, `header must be a JSON object, got ${describe(parsed)}`);

  const metadata: [string, string][] = [];
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) return fail(8, `__metadata__ must be an object of strings, got ${describe(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') return fail(8, `__metadata__.${k} must be a string, got ${describe(v)}`);
        metadata.push([k, v]);
      }
      continue;
    }
    const entry = checkEntry(name, value);
    if (entry._tag === 'Left') return fail(8, entry.left);
    entries.push(entry.right);
  }

  // The entries must tile [0, dataLength) exactly: sorted by begin, each starts where the last ended.
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = 'the data start';
  for (const e of sorted) {
    if (e.begin !== cursor) {
      const gap = e.begin > cursor ? `leave a ${e.begin - cursor}-byte hole` : `overlap`;
      return fail(dataStart + Math.min(e.begin, dataLength), `tensor ${e.name}: data_offsets [${e.begin},${e.end}] ${gap} after ${previous} (which ends at ${cursor})`);
    }
    if (e.end > dataLength) {
      return fail(dataStart + e.begin, `tensor ${e.name}: data_offsets [${e.begin},${e.end}] run past the ${dataLength} data bytes the file holds`);
    }
    cursor = e.end;
    previous = `tensor ${e.name}`;
  }
  if (cursor !== dataLength) {
    return fail(dataStart + cursor, `${dataLength - cursor} bytes after the last tensor's data (${previous} ends at ${cursor})`);
  }

  const tensors: [string, Tensor][] = [];
  for (const e of entries) {
    if (e.dtype !== 'F32' && e.dtype !== 'F64') {
      return fail(8, `tensor ${e.name}: dtype ${e.dtype} is a safetensors dtype foldnet does not read (it reads ${SUPPORTED})`);
    }
    tensors.push([e.name, readTensor(bytes, dataStart + e.begin, e)]);
  }
  // Object.fromEntries defines own properties, so names like "__proto__" stay plain keys.
  return right({ tensors: Object.fromEntries(tensors), metadata: Object.fromEntries(metadata) });
};

/** Checks one header entry; the error is the detail after `byte 8:`. */
const checkEntry = (name: string, value: unknown): Either<string, Entry> => {
  const where = `tensor ${JSON.stringify(name)}`;
  if (name === '') return left('a tensor name is empty');
  if (!isRecord(value)) return left(`${where} must be an object {dtype, shape, data_offsets}, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') return left(`${where}: dtype must be a string, got ${describe(dtype)}`);
  const width = DTYPE_BYTES.get(dtype);
  if (width === undefined) {
    return left(`${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${[...DTYPE_BYTES.keys()].join(', ')})`);
  }
  if (!Array.isArray(shape)) return left(`${where}: shape must be an array of integers, got ${describe(shape)}`);
  const dims: number[] = [];
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return left(`${where}: shape must hold non-negative integers, got ${describe(d)}`);
    }
    dims.push(d);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return left(`${where}: data_offsets must be [begin, end], got ${describe(offsets)}`);
  }
  const [begin, end] = offsets;
  if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
    return left(`${where}: data_offsets must be integers 0 <= begin <= end, got [${describe(begin)}, ${describe(end)}]`);
  }
  // BigInt: a shape of [2^40, 2^40] must not round to something that happens to match.
  const needed = dims.reduce((acc, d) => acc * BigInt(d), BigInt(width));
  if (needed !== BigInt(end - begin)) {
    return left(`${where}: shape ${formatShape(dims)} of ${dtype} needs ${needed} bytes, data_offsets [${begin},${end}] hold ${end - begin}`);
  }
  return right({ name, dtype, shape: dims, begin, end });
};

// Copies one tensor out of the file's bytes (already bounds-checked) into a fresh, aligned buffer.
const readTensor = (bytes: Uint8Array, at: number, e: Entry): Tensor => {
  const width = e.dtype === 'F64' ? 8 : 4;
  const n = (e.end - e.begin) / width;
  const out = width === 8 ? new Float64Array(n) : new Float32Array(n);
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + n * width));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, n * width);
    for (let i = 0; i < n; i++) out[i] = width === 8 ? view.getFloat64(8 * i, true) : view.getFloat32(4 * i, true);
  }
  return fromData(e.shape, out);
};
