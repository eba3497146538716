import { FoldnetError, outputShapeOf, reshape, sizeOf } from '@foldnet/core';
import type { NamedOptions } from './activations.js';
import { defineOp, nameField } from './layer.js';
import type { Layer } from './types.js';

/**
 * Flattens each sample: x [N, d1, d2, ...] -> [N, d1*d2*...]; backward reshapes dy back. Free:
 * buffers are shared (never written).
 *
 * @example flatten().outputShape([30, 12, 12]) // right([4320])
 */
export const flatten = (opts: NamedOptions = {}): Layer =>
  defineOp(opts.name ?? '', (name) => ({
    name,
    kind: 'flatten',
    spec: { type: 'flatten', ...nameField(name) },
    op: { type: 'flatten' },
    outputShape: (s) => outputShapeOf({ type: 'flatten' }, [s]),
    init: () => ({ params: {}, state: {} }),
    run: (_params, state, x, ctx) => {
      if (x.shape.length < 2) throw new FoldnetError('shape', `${name || 'flatten'}: input [${x.shape.join(',')}] must be [N, ...]`);
      const needDx = ctx.needInputGrad;
      return {
        y: reshape(x, [x.shape[0], sizeOf(x.shape.slice(1))]),
        state,
        pullback: (dy) => ({ dx: needDx ? reshape(dy, x.shape) : undefined, grads: {} }),
      };
    },
  }));
