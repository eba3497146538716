import { FoldnetError } from './errors.js';

/**
 * The geometry of a sliding window (convolution or pooling) over an H x W image, computed once
 * and read by im2col, col2im, convolution, pooling and shape inference alike.
 *
 *   outH = floor((inH + 2*pad - filterH) / stride) + 1   (the lesson's formula; likewise outW)
 */
export interface ConvGeometry {
  readonly inH: number;
  readonly inW: number;
  readonly filterH: number;
  readonly filterW: number;
  readonly stride: number;
  readonly pad: number;
  readonly outH: number;
  readonly outW: number;
}

/**
 * What `convGeometry` takes: the input's spatial size and the window's size, stride and padding.
 *
 * @example convGeometry('conv2d', { inH: 28, inW: 28, filterH: 5 }) // outH 24, outW 24
 */
export interface ConvGeometryParams {
  readonly inH: number;
  readonly inW: number;
  readonly filterH: number;
  /** Defaults to `filterH` (square filters). */
  readonly filterW?: number;
  /** Defaults to 1. */
  readonly stride?: number;
  /** Zero padding on every side; defaults to 0. */
  readonly pad?: number;
}

/**
 * Validates a window geometry and computes its output size; `op` names the caller in errors.
 *
 * @example
 * convGeometry('conv2d', { inH: 28, inW: 28, filterH: 5 }); // outH 24, outW 24
 * convGeometry('conv2d', { inH: 3, inW: 3, filterH: 5 });   // throws: filter 5x5 is larger than the padded input 3x3
 */
export const convGeometry = (op: string, p: ConvGeometryParams): ConvGeometry => {
  const { inH, inW, filterH } = p;
  const filterW = p.filterW ?? filterH;
  const stride = p.stride ?? 1;
  const pad = p.pad ?? 0;
  const fail = (detail: string): never => {
    throw new FoldnetError('geometry', `${op}: ${detail}`);
  };
  const positive = { 'input height': inH, 'input width': inW, 'filter height': filterH, 'filter width': filterW, stride };
  for (const [name, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(pad) || pad < 0) fail(`pad must be a non-negative integer, got ${pad}`);
  const paddedH = inH + 2 * pad;
  const paddedW = inW + 2 * pad;
  if (filterH > paddedH || filterW > paddedW) {
    fail(`filter ${filterH}x${filterW} is larger than the padded input ${paddedH}x${paddedW} (input ${inH}x${inW}, pad ${pad})`);
  }
  return Object.freeze({
    inH,
    inW,
    filterH,
    filterW,
    stride,
    pad,
    outH: Math.floor((paddedH - filterH) / stride) + 1,
    outW: Math.floor((paddedW - filterW) / stride) + 1,
  });
};
