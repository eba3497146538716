import { shapeError } from './errors.js';
import { convGeometry, type ConvGeometry } from './geometry.js';
import type { Kernels } from './kernels/contract.js';
import { kernels } from './kernels/registry.js';
import { checkShape, formatShape, type Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/** Window hyper-parameters; the input size comes from the tensor. */
export interface WindowParams {
  readonly filterH: number;
  readonly filterW?: number;
  readonly stride?: number;
  readonly pad?: number;
}

/** The geometry of a window over an NCHW shape, or a shape error naming `op`. */
export const windowGeometry = (op: string, xShape: Shape, w: WindowParams): ConvGeometry => {
  if (xShape.length !== 4) throw shapeError(op, `input ${formatShape(xShape)} must be 4-D [N, C, H, W]`);
  checkShape(op, xShape);
  return convGeometry(op, { inH: xShape[2], inW: xShape[3], ...w });
};

/**
 * Unfolds every filter window of an NCHW input into a row, in the lesson's layout:
 * x: [N, C, H, W] -> col: [N*OH*OW, C*FH*FW] (rows n, oy, ox; columns c, fy, fx).
 *
 * @example
 * im2col(zeros([2, 1, 4, 4]), { filterH: 3 }).shape; // [8, 9]
 */
export const im2col = (x: Tensor, w: WindowParams, k: Kernels = kernels()): Tensor =>
  k.im2col(x, windowGeometry('im2col', x.shape, w));

/**
 * The adjoint of im2col: folds rows back into an NCHW image, summing where windows overlap:
 * col: [N*OH*OW, C*FH*FW] -> [N, C, H, W]. `<im2col(x), y> = <x, col2im(y)>` for all x, y.
 *
 * @example
 * col2im(zeros([8, 9]), [2, 1, 4, 4], { filterH: 3 }).shape; // [2, 1, 4, 4]
 */
export const col2im = (col: Tensor, xShape: Shape, w: WindowParams, k: Kernels = kernels()): Tensor => {
  const g = windowGeometry('col2im', xShape, w);
  const [N, C] = xShape;
  const expected = [N * g.outH * g.outW, C * g.filterH * g.filterW];
  if (col.shape.length !== 2 || col.shape[0] !== expected[0] || col.shape[1] !== expected[1]) {
    throw shapeError('col2im', `col ${formatShape(col.shape)} does not fit input ${formatShape(xShape)}: expected ${formatShape(expected)}`);
  }
  return k.col2im(col, xShape, g);
};
