import { formatShape, key, sameShape, type Shape } from '@foldnet/core';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import type { LayerState, Network, Params } from './types.js';

/** Why a set of params (or state) does not fit a network. */
export interface ParamError {
  readonly _tag: 'ParamError';
  /** The tensor's full name, e.g. `affine1.W`. */
  readonly name: string;
  readonly problem: 'missing' | 'shape' | 'dtype' | 'unexpected';
  /** What the network expects (absent for an unexpected tensor). */
  readonly expected?: Shape;
  /** What was given (absent for a missing tensor). */
  readonly actual?: Shape;
  /** e.g. `validateParams: affine1.W has shape [4320,100], expected [720,100] (layer 6 affine1: affine, input [20,6,6])` */
  readonly message: string;
}

/**
 * Checks loaded params (and optionally state) against a network: every expected tensor present
 * with the expected shape, all of one dtype, nothing extra. The first problem is named with both
 * shapes and the layer it belongs to. Used when loading checkpoints.
 *
 * @example
 * validateParams(net, loaded.params, loaded.state);
 * // left: "validateParams: affine1.W has shape [4320,100], expected [720,100] (layer 6 affine1: affine, input [20,6,6])"
 */
export const validateParams = (net: Network, params: Params, state?: LayerState): Either<ParamError, Params> => {
  const expected = net.init(key(0));
  const where = (name: string): string => {
    const layer = name.slice(0, name.indexOf('.'));
    const i = net.layers.findIndex((l) => l.name === layer);
    if (i < 0) return '';
    const input = i === 0 ? net.inputShape : net.layerShapes[i - 1];
    return ` (layer ${i} ${layer}: ${net.layers[i].kind}, input ${formatShape(input)})`;
  };
  const check = (what: 'param' | 'state', want: Params, got: Params): ParamError | undefined => {
    for (const [name, t] of Object.entries(want)) {
      const g = got[name];
      if (g === undefined) {
        return { _tag: 'ParamError', name, problem: 'missing', expected: t.shape, message: `validateParams: missing ${what} ${name} (expected shape ${formatShape(t.shape)})${where(name)}` };
      }
      if (!sameShape(g.shape, t.shape)) {
        return {
          _tag: 'ParamError',
          name,
          problem: 'shape',
          expected: t.shape,
          actual: g.shape,
          message: `validateParams: ${name} has shape ${formatShape(g.shape)}, expected ${formatShape(t.shape)}${where(name)}`,
        };
      }
    }
    for (const [name, g] of Object.entries(got)) {
      if (!(name in want)) {
        return { _tag: 'ParamError', name, problem: 'unexpected', actual: g.shape, message: `validateParams: unexpected ${what} ${name} ${formatShape(g.shape)}: the network has no such tensor` };
      }
    }
    return undefined;
  };
  const problem = check('param', expected.params, params) ?? (state === undefined ? undefined : check('state', expected.state, state));
  if (problem) return left(problem);
  const all = [...Object.entries(params), ...Object.entries(state ?? {})];
  const dtype = all[0]?.[1].dtype;
  const odd = all.find(([, t]) => t.dtype !== dtype);
  if (odd) {
    return left({ _tag: 'ParamError', name: odd[0], problem: 'dtype', actual: odd[1].shape, message: `validateParams: ${odd[0]} is ${odd[1].dtype}, the other tensors are ${dtype}` });
  }
  return right(params);
};
