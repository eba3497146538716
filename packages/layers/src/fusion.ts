import { convGeometry, FoldnetError, type Tensor } from '@foldnet/core';
import { convOperands } from './conv.js';
import { kernelsOf } from './layer.js';
import type { ForwardContext, Gradients, Layer, Params } from './types.js';

/*
 * Fusion: runs of layers a network executes as one kernel call. The layers themselves stay as they are
 * (names, params, specs, summaries, ONNX export and the layer-by-layer NaN replay all see every layer);
 * only the execution changes, through kernels the contract specifies as equal to the composition, so
 * the values and gradients are those of the layers run one by one (tested bit for bit on the reference
 * kernels). `ctx.fuse: false` turns it off.
 *
 * Two fusions: conv2d -> relu -> maxPool2d without padding (the lesson's stage), where a CNN's step spends its
 * memory traffic: the convolution's output, the largest activation, would otherwise be copied out of the fast
 * kernels' memory, through ReLU, into pooling, and its gradient back the same way; and conv2d -> relu without
 * the pool (the deep preset's first convolution of each block), the bias and ReLU in one pass.
 */

/** What a fused run's forward gives: its output and its pullback. */
export interface FusedForward {
  readonly y: Tensor;
  /** dy -> { dx, grads } with the grads of the layer at `paramsOf`, named as that layer names them (`W`, `b`). */
  readonly pullback: (dy: Tensor) => Gradients;
}

/** A run of layers that runs as one operation; `forward` takes the params of the layer at `paramsOf`. */
export interface FusedRun {
  /** How many consecutive layers it stands for. */
  readonly length: number;
  /** The position within the run of the layer whose params it reads and whose grads it returns. */
  readonly paramsOf: number;
  /** The run's output for input x, and its pullback: dy -> the input gradient and the grads of the layer at `paramsOf`. */
  forward(params: Params, x: Tensor, ctx: ForwardContext): FusedForward;
}

/**
 * Whether `l` is the built-in layer `type`: a spec says what a layer computes (it is how the layer is saved
 * and rebuilt), so a layer whose kind and spec type are both `type` computes what that type does.
 */
export const isSpec = (l: Layer | undefined, type: string): l is Layer => l !== undefined && l.kind === type && l.spec.type === type;

const int = (l: Layer, field: string): number => {
  const v = l.spec[field];
  if (typeof v !== 'number') throw new FoldnetError('value', `${l.name}: spec field ${field} is not a number`);
  return v;
};

/**
 * The fused run starting at layer `i`, if one does: conv2d, relu, maxPool2d with pad 0 (3 layers), else conv2d,
 * relu (2 layers: the bias and ReLU in the convolution's own pass).
 *
 * @example
 * fusedRunAt(simpleConvNet().layers, 0); // { length: 3, paramsOf: 0, forward } for conv1, relu1, pool1
 */
export const fusedRunAt = (layers: readonly Layer[], i: number): FusedRun | undefined => {
  const [conv, act, pool] = [layers[i], layers[i + 1], layers[i + 2]];
  if (!isSpec(conv, 'conv2d') || !isSpec(act, 'relu')) return undefined;
  const [stride, pad] = [int(conv, 'stride'), int(conv, 'pad')];
  const withPool = isSpec(pool, 'maxPool2d') && int(pool, 'pad') === 0 ? pool : undefined;
  return {
    length: withPool ? 3 : 2,
    paramsOf: 0,
    forward: (params, x, ctx) => {
      const { W, b, g } = convOperands(conv.name, params, x, stride, pad);
      const k = kernelsOf(ctx);
      const needGrad = ctx.needGrad !== false;
      const needDx = ctx.needInputGrad ?? true;
      const done = (y: Tensor, back: (dy: Tensor) => ReturnType<typeof k.conv2dBackward>) => ({
        y,
        pullback: (dy: Tensor): Gradients => {
          if (!needGrad) throw new FoldnetError('value', `${conv.name}: pullback called on a forward run with needGrad false`);
          const r = back(dy);
          return { dx: r.dx, grads: { W: r.dw, b: r.db } };
        },
      });
      if (withPool === undefined) {
        const out = k.conv2dRelu(x, W, b, g);
        return done(out, (dy) => k.conv2dReluBackward(dy, out, x, W, g, needDx));
      }
      const pg = convGeometry(withPool.name, { inH: g.outH, inW: g.outW, filterH: int(withPool, 'size'), stride: int(withPool, 'stride'), pad: 0 });
      const { out, argmax } = k.conv2dReluMaxPool(x, W, b, g, pg, needGrad);
      const convShape = [x.shape[0], W.shape[0], g.outH, g.outW];
      return done(out, (dy) => k.conv2dReluMaxPoolBackward(dy, out, argmax, x, W, g, convShape, needDx));
    },
  };
};
