import type { Shape } from '../shape.js';

/*
 * Which algorithm the fast kernels took for each pass of a convolution. The choice is made per shape, once
 * (Winograd's plans, the direct convolution's and the pooled filter gradient's tests), at the call that runs it;
 * this records the choices as they are made while `traceConvPaths` runs a function, so what is reported is what
 * ran, not a second copy of the rules. `foldnet bench` prints them per layer.
 */

/** One pass of one convolution call and the algorithm that ran it. */
export interface ConvPath {
  readonly pass: 'forward' | 'input gradient' | 'filter gradient';
  /** The convolution's input [N, C, H, W]. */
  readonly x: Shape;
  /** Its filters [F, C, FH, FW]. */
  readonly filters: Shape;
  /** e.g. 'Winograd F(4x4,3x3)', 'direct', 'GEMM' (see the call sites in kernels.ts). */
  readonly algorithm: string;
}

let log: ConvPath[] | undefined;

/** Records a choice while a trace runs (a no-op otherwise). @example notePath('forward', x.shape, w.shape, 'direct') */
export const notePath = (pass: ConvPath['pass'], x: Shape, filters: Shape, algorithm: string): void => {
  log?.push({ pass, x, filters, algorithm });
};

/** The name of a Winograd variant F(m x m, 3x3). @example winogradName(4) // 'Winograd F(4x4,3x3)' */
export const winogradName = (m: number): string => `Winograd F(${m}x${m},3x3)`;

/**
 * Runs `f` and gives its result with the convolution algorithms the fast kernels took meanwhile, in call order.
 * Traces nest: an inner one gets the records of its own run, the outer one all of them.
 *
 * @example
 * const { paths } = traceConvPaths(() => trainStep(net, opt)(state, batch));
 * paths.filter((p) => p.pass === 'forward').map((p) => p.algorithm); // ['direct', 'Winograd F(4x4,3x3)', ...]
 */
export const traceConvPaths = <T>(f: () => T): { readonly result: T; readonly paths: readonly ConvPath[] } => {
  const outer = log;
  const mine: ConvPath[] = [];
  log = mine;
  try {
    return { result: f(), paths: mine };
  } finally {
    log = outer;
    outer?.push(...mine);
  }
};
