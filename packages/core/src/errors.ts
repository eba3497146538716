/**
 * Every error foldnet raises is a `FoldnetError`: a message that names the operation and the
 * values involved, and a `code` that callers (the CLI, tests) can branch on without parsing text.
 *
 * @example
 * try { reshape(zeros([2, 3]), [4]); } catch (e) { if (e instanceof FoldnetError) console.log(e.code); } // 'shape'
 */
export type ErrorCode = 'shape' | 'geometry' | 'dtype' | 'value' | 'io' | 'format' | 'config' | 'numeric';

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
