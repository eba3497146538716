import { shapeError } from './errors.js';

/** A tensor's dimensions, outermost first: `[N, C, H, W]` for images. */
export type Shape = readonly number[];

/** `[2,3,4]` -> `"[2,3,4]"`: the form every error message uses. */
export const formatShape = (shape: Shape): string => `[${shape.join(',')}]`;

/** Number of elements: the product of the dimensions (1 for a scalar `[]`). */
export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** Whether two shapes have the same rank and dimensions. @example sameShape([2, 3], [2, 3]) // true; sameShape([6], [2, 3]) // false */
export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Row-major strides: `[2,3,4]` -> `[12,4,1]`. */
export const stridesOf = (shape: Shape): number[] => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
};

/** Throws unless every dimension is a non-negative integer. */
export const checkShape = (op: string, shape: Shape): void => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw shapeError(op, `${formatShape(shape)}: dimensions must be non-negative integers`);
    }
  }
};

/** Resolves a possibly negative axis against a rank, or throws naming the op. */
export const normalizeAxis = (op: string, axis: number, shape: Shape): number => {
  const rank = shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw shapeError(op, `axis ${axis} is out of range for ${formatShape(shape)}`);
  }
  return a;
};
