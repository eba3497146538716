/**
 * The kind of a `FoldnetError`, for callers that branch on it: 'shape' (shapes that do not fit),
 * 'geometry' (a window that does not fit its input), 'dtype', 'value' (a bad argument), 'io',
 * 'format' (bytes that do not decode), 'config', 'numeric' (NaN or Infinity met).
 *
 * @example if (e instanceof FoldnetError && e.code === 'shape') console.error(e.message);
 */
export type ErrorCode = 'shape' | 'geometry' | 'dtype' | 'value' | 'io' | 'format' | 'config' | 'numeric';

/**
 * Every error foldnet raises is a `FoldnetError`: a message that names the operation and the
 * values involved, and a `code` that callers (the CLI, tests) can branch on without parsing text.
 *
 * @example
 * try { reshape(zeros([2, 3]), [4]); } catch (e) { if (e instanceof FoldnetError) console.log(e.code); } // 'shape'
 */
export class FoldnetError extends Error {
  override readonly name = 'FoldnetError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Shorthand for the most common failure: `shapeError('matmul', '[2,3] x [4,5]: inner sizes differ')`. */
export const shapeError = (op: string, detail: string): FoldnetError =>
  new FoldnetError('shape', `${op}: ${detail}`);
