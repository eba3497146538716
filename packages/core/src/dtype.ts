/**
 * Element types. float32 is the default (fast kernels, training); float64 exists for gradient
 * checks, where finite differences need the extra precision.
 */
export type DType = 'float32' | 'float64';

/** A buffer a kernel may fill, before it is wrapped in a tensor and never written again. */
export type MutableData = Float32Array | Float64Array;

/**
 * What users see of a tensor's buffer: indexable and iterable, but not writable. Both typed
 * arrays satisfy it, so kernels read tensors without copies; nothing in foldnet writes through it.
 */
export interface ReadonlyData extends Iterable<number> {
  readonly length: number;
  readonly [index: number]: number;
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly BYTES_PER_ELEMENT: number;
  /** A fresh, writable copy of elements start..end-1 (a copy, so the tensor stays untouched). */
  slice(start?: number, end?: number): MutableData;
}

/** A fresh zero-filled buffer of `n` elements. */
export const alloc = (dtype: DType, n: number): MutableData =>
  dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);

/** The dtype a buffer holds, read from its element width. */
export const dtypeOfData = (data: ReadonlyData): DType =>
  data.BYTES_PER_ELEMENT === 8 ? 'float64' : 'float32';

/** Whether a value names a dtype foldnet supports. @example isDType('float64') // true; isDType('int8') // false */
export const isDType = (s: unknown): s is DType => s === 'float32' || s === 'float64';
