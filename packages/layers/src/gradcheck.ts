import {
  cast,
  dot,
  FoldnetError,
  formatShape,
  fromData,
  key as makeKey,
  normal,
  permutation,
  referenceKernels,
  sameShape,
  split,
  type Kernels,
  type Key,
  type Shape,
  type Tensor,
} from '@foldnet/core';
import { runLayer } from './graph/run.js';
import type { Layer, LayerState, Network, Params, RunOptions } from './types.js';

/*
 * Gradient checking. For a layer or network f(θ, x) -> y and a random output direction u, the
 * scalar L(θ, x) = <f(θ, x), u> has gradient (the pullback of u) that we compare, for every param
 * and for the input, with central differences in float64:
 *   directional:  <v, ∇L>  vs  (L(T + h v) - L(T - h v)) / 2h    for a random direction v
 *                 (this is <J v, u> vs <v, Jᵀ u>);
 *   per element:  ∂L/∂T_i  vs  (L(T + h e_i) - L(T - h e_i)) / 2h  for up to `maxElements` entries.
 */

/** Options of checkGradients. */
export interface GradCheckOptions {
  /** Draws params, input and directions; default key(0). */
  readonly key?: Key;
  /** Batch size of the generated input; default 2. */
  readonly batch?: number;
  /** 'train' (default) or 'eval'; dropout in train mode uses a fixed key, so its mask is fixed. */
  readonly mode?: 'train' | 'eval';
  /** Params to check at (cast to float64); default: init in float64. */
  readonly params?: Params;
  /** State (batch norm's running statistics); default: init's. */
  readonly state?: LayerState;
  /** The input [N, ...inputShape] (cast to float64); default: standard normal. */
  readonly input?: Tensor;
  /** Finite-difference step; default 1e-6. */
  readonly h?: number;
  /** Per-element checks on at most this many entries per tensor (a random subset); default 64; 0 = directional only. */
  readonly maxElements?: number;
  /** Relative tolerance rtol; default 1e-5. */
  readonly tolerance?: number;
  /**
   * Absolute tolerance atol, for gradients near zero where finite differences only see rounding
   * noise (about 1e-16 · |L| / h); default 1e-8 · max(1, |L|). An entry passes when
   * |a - n| <= atol + rtol · max(|a|, |n|) (as numpy's allclose).
   */
  readonly atol?: number;
  /**
   * Adds N(0, jitter²) noise to every param before checking (default 0). Networks fresh from init
   * have zero biases, so ReLU inputs can sit exactly on the kink (a zero-padded border, a pooled
   * zero times a weight plus a zero bias), where no derivative exists; a small jitter moves them off.
   */
  readonly jitter?: number;
  /** Kernel set; default the reference kernels (the oracle; float64). */
  readonly kernels?: Kernels;
}

/** The check of one tensor (a param by name, or `input`). */
export interface GradCheckEntry {
  readonly name: string;
  readonly shape: Shape;
  /** max_i |analytic_i - numeric_i| over the checked entries. */
  readonly maxAbsError: number;
  /**
   * max_i |a_i - n_i| / max(|a_i|, |n_i|, atol / rtol), directional check included: entries
   * smaller than atol / rtol are judged absolutely (against atol), the others relatively.
   */
  readonly maxRelError: number;
  readonly elementsChecked: number;
  /** <v, analytic gradient> vs the central difference along v, and their relative error. */
  readonly directional: { readonly analytic: number; readonly numeric: number; readonly relError: number };
}

/** A gradient check's findings: one entry per param, then `input`. */
export interface GradCheckReport {
  readonly entries: readonly GradCheckEntry[];
  readonly maxAbsError: number;
  /** The worst relative error, per element and directional. */
  readonly maxRelError: number;
  /** rtol; ok is maxRelError <= tolerance. */
  readonly tolerance: number;
  readonly atol: number;
  readonly ok: boolean;
}

const isNetwork = (t: Layer | Network): t is Network => 'layerShapes' in t;

const to64 = (r: Readonly<Record<string, Tensor>>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cast(v, 'float64')]));

// t + s * d (float64)
const axpy = (t: Tensor, s: number, d: Tensor): Tensor => {
  const out = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) out[i] = t.data[i] + s * d.data[i];
  return fromData(t.shape, out);
};

const bump = (t: Tensor, i: number, h: number): Tensor => {
  const out = Float64Array.from(t.data);
  out[i] += h;
  return fromData(t.shape, out);
};

const relErr = (a: number, n: number, floor: number): number => Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), floor, 1e-300);

/**
 * Compares the analytic gradients of every param and of the input with central finite
 * differences in float64. `inputShape` is per sample ([C, H, W]); for a network it must equal
 * the network's input shape.
 *
 * @example
 * const r = checkGradients(conv2d({ filters: 2, size: 3, stride: 2, pad: 1 }), [1, 5, 5], { key: key(1) });
 * r.ok; // true
 * r.entries.map((e) => `${e.name}: ${e.maxRelError.toExponential(1)}`); // W, b, input
 */
export const checkGradients = (target: Layer | Network, inputShape: Shape, options: GradCheckOptions = {}): GradCheckReport => {
  const h = options.h ?? 1e-6;
  const tolerance = options.tolerance ?? 1e-5;
  const maxElements = options.maxElements ?? 64;
  const k = options.kernels ?? referenceKernels;
  const [kInit, kx, ku, kv, kCtx, kPick, kJitter] = split(options.key ?? makeKey(0), 7);
  if (isNetwork(target) && !sameShape(target.inputShape, inputShape)) {
    throw new FoldnetError('shape', `checkGradients: input shape ${formatShape(inputShape)} differs from the network's ${formatShape(target.inputShape)}`);
  }
  if (!isNetwork(target)) {
    const declared = target.outputShape(inputShape);
    if (declared._tag === 'Left') {
      throw new FoldnetError('shape', `checkGradients: ${target.name || target.kind} refuses input ${formatShape(inputShape)}, expected ${declared.left.expected}`);
    }
  }
  const initial = isNetwork(target) ? target.init(kInit, { dtype: 'float64' }) : target.init(kInit, inputShape, { dtype: 'float64' });
  const jitter = options.jitter ?? 0;
  const jitterKeys = split(kJitter, Math.max(1, Object.keys(options.params ?? initial.params).length));
  const params = Object.fromEntries(
    Object.entries(to64(options.params ?? initial.params)).map(([name, t], i) => [
      name,
      jitter > 0 ? axpy(t, jitter, normal(jitterKeys[i], t.shape, { dtype: 'float64' })) : t,
    ]),
  );
  const state = to64(options.state ?? initial.state);
  const x = options.input ? cast(options.input, 'float64') : normal(kx, [options.batch ?? 2, ...inputShape], { dtype: 'float64' });
  if (!sameShape(x.shape.slice(1), inputShape)) {
    throw new FoldnetError('shape', `checkGradients: input ${formatShape(x.shape)} does not match the input shape ${formatShape(inputShape)}`);
  }
  const opts: RunOptions = { mode: options.mode ?? 'train', key: kCtx, kernels: k, needInputGrad: true };
  const run = (p: Params, input: Tensor) => (isNetwork(target) ? target.forward(p, state, input, opts) : runLayer(target, p, state, input, opts));

  const first = run(params, x);
  const u = normal(ku, first.y.shape, { dtype: 'float64' });
  const analytic = first.pullback(u);
  if (analytic.dx === undefined) throw new FoldnetError('value', 'checkGradients: the pullback gave no input gradient although needInputGrad was true');
  const loss = (p: Params, input: Tensor): number => dot(run(p, input).y, u);
  const atol = options.atol ?? 1e-8 * Math.max(1, Math.abs(dot(first.y, u)));
  const floor = atol / tolerance;

  const names = [...Object.keys(params), 'input'];
  const vKeys = split(kv, names.length);
  const pickKeys = split(kPick, names.length);
  const entries: GradCheckEntry[] = names.map((name, j) => {
    const isInput = name === 'input';
    const t = isInput ? x : params[name];
    const g = isInput ? analytic.dx : analytic.grads[name];
    if (g === undefined) throw new FoldnetError('value', `checkGradients: the pullback gave no gradient for '${name}'`);
    if (!sameShape(g.shape, t.shape)) {
      throw new FoldnetError('shape', `checkGradients: gradient of '${name}' has shape ${formatShape(g.shape)}, expected ${formatShape(t.shape)}`);
    }
    const at = (moved: Tensor): number => (isInput ? loss(params, moved) : loss({ ...params, [name]: moved }, x));
    // directional
    const v = normal(vKeys[j], t.shape, { dtype: 'float64' });
    const dirA = dot(v, g);
    const dirN = (at(axpy(t, h, v)) - at(axpy(t, -h, v))) / (2 * h);
    const dirRel = relErr(dirA, dirN, floor);
    // per element, on a random subset when the tensor is large
    const count = Math.min(maxElements, t.size);
    const picks = count === t.size ? Array.from({ length: count }, (_, i) => i) : Array.from(permutation(pickKeys[j], t.size).subarray(0, count));
    let maxAbs = 0;
    let maxRel = dirRel;
    for (const i of picks) {
      const n = (at(bump(t, i, h)) - at(bump(t, i, -h))) / (2 * h);
      maxAbs = Math.max(maxAbs, Math.abs(g.data[i] - n));
      maxRel = Math.max(maxRel, relErr(g.data[i], n, floor));
    }
    return { name, shape: t.shape, maxAbsError: maxAbs, maxRelError: maxRel, elementsChecked: count, directional: { analytic: dirA, numeric: dirN, relError: dirRel } };
  });
  const maxAbsError = Math.max(0, ...entries.map((e) => e.maxAbsError));
  const maxRelError = Math.max(0, ...entries.map((e) => e.maxRelError));
  return { entries, maxAbsError, maxRelError, tolerance, atol, ok: maxRelError <= tolerance };
};

/**
 * The report as text, one line per tensor, for test failures and the CLI.
 *
 * @example console.log(formatGradCheckReport(checkGradients(relu(), [4])));
 */
export const formatGradCheckReport = (r: GradCheckReport): string => {
  // columns as wide as their longest entry, so paths such as res1.shortcut.conv1.W stay aligned
  const nameWidth = Math.max(14, ...r.entries.map((e) => e.name.length));
  const shapeWidth = Math.max(14, ...r.entries.map((e) => formatShape(e.shape).length));
  return [
    `gradient check ${r.ok ? 'passed' : 'FAILED'}: max rel error ${r.maxRelError.toExponential(2)} (rtol ${r.tolerance.toExponential(0)}, atol ${r.atol.toExponential(1)}), max abs error ${r.maxAbsError.toExponential(2)}`,
    ...r.entries.map(
      (e) =>
        `  ${e.name.padEnd(nameWidth)} ${formatShape(e.shape).padEnd(shapeWidth)} abs ${e.maxAbsError.toExponential(2)}  rel ${e.maxRelError.toExponential(2)}  ` +
        `(${e.elementsChecked} entries; <v,∇> ${e.directional.analytic.toPrecision(8)} vs ${e.directional.numeric.toPrecision(8)})`,
    ),
  ].join('\n');
};
