import type { Either } from 'fp-ts/lib/Either.js';
import type { DType, Key, Kernels, Op, Shape, ShapeIssue, Tensor } from '@foldnet/core';
import type { Graph, LayerBody } from './graph/build.js';

export type { ShapeIssue } from '@foldnet/core';

/*
 * The contract every layer and network follows (JAX stax / vjp style):
 *
 *   outputShape(inShape)           -> Either<ShapeIssue, Shape>    shapes known before any data
 *   init(key, inShape)             -> { params, state }            inShape is valid (outputShape said so)
 *   forward(params, state, x, ctx) -> { y, state, pullback }        pure; the pullback closes over the cache
 *   pullback(dy)                   -> { dx, grads }                 a vector-Jacobian product
 *
 * Shapes given to outputShape/init are per sample ([C, H, W] for images, [D] for vectors); the
 * tensors given to forward carry the batch as their first axis ([N, C, H, W]).
 */

/** Trainable parameters by name. Inside a layer: `W`, `b`; in a network: `conv1.W`, `conv1.b`. */
export type Params = Readonly<Record<string, Tensor>>;

/** Non-trainable state by name (batch norm's running `mean` and `var`), named like Params. */
export type LayerState = Readonly<Record<string, Tensor>>;

/**
 * What a layer's forward is told besides params and input: all a layer author needs.
 *
 * @example { mode: 'train', key: foldIn(runKey, step) }   // training
 * @example { mode: 'eval' }                               // prediction
 */
export interface ForwardContext {
  /** 'train' enables dropout and batch statistics; 'eval' uses running statistics. */
  readonly mode: 'train' | 'eval';
  /** Randomness for layers that need it (dropout). Required in train mode when such a layer is present. */
  readonly key?: Key;
}

/**
 * How a network (or predict, or a training step) runs a forward: the runner's decisions, which its built-in ops
 * follow and a user's own layer never sees. Layers describe; the runner and its backend decide.
 *
 * @example net.forward(params, state, x, { mode: 'eval', needGrad: false })  // evaluation: no caches kept
 */
export interface RunOptions extends ForwardContext {
  /** Kernel set for this run; defaults to the current backend (a user's own layer runs under it as the current backend). */
  readonly kernels?: Kernels;
  /** Whether the pullback must give dL/dx of the network's input; default false for a network (nobody needs the data's gradient). */
  readonly needInputGrad?: boolean;
  /**
   * false when no pullback of this forward will be called (evaluation, prediction): ops may then skip what only
   * a pullback needs (a convolution's input copy, pooling's argmax), and the pullback throws. Default true.
   */
  readonly needGrad?: boolean;
  /**
   * false runs every op on its own; by default a backend with fused kernels (the fast set) runs conv2d -> relu ->
   * maxPool2d (pad 0) as one kernel call, with the same values and gradients (see graph/fusion.ts).
   */
  readonly fuse?: boolean;
}

/** A pullback's answer: dx [N, ...] like the input, grads named and shaped like the params. */
export interface Gradients {
  /** dL/dx, the same shape as the forward input; undefined only when the runner said nobody needs it (RunOptions.needInputGrad). */
  readonly dx: Tensor | undefined;
  /** dL/dparam for every param, same names and shapes as Params. */
  readonly grads: Params;
}

/**
 * The vector-Jacobian product of one forward call: dy (shaped like y) -> { dx, grads }. It may
 * be called any number of times; it never changes its cache or dy.
 *
 * @example const { dx, grads } = forward(params, state, x, ctx).pullback(dy);
 */
export type Pullback = (dy: Tensor) => Gradients;

/** A forward call's answer: y [N, ...outputShape], the new state, and the pullback. */
export interface ForwardResult {
  readonly y: Tensor;
  /** The layer's non-trainable state after this call (unchanged in eval mode). */
  readonly state: LayerState;
  readonly pullback: Pullback;
}

/** Options of `init`: the dtype of the params and state (default float32; float64 for gradient checks). */
export interface InitOptions {
  readonly dtype?: DType;
}

/**
 * A layer: a value with its hyper-parameters fixed. `outputShape` and `init` take per-sample
 * shapes ([C, H, W]); `forward` takes a batch ([N, C, H, W]).
 *
 * @example
 * const l = affine({ units: 10 });
 * const { params } = l.init(key(0), [20]);            // W [20,10], b [10]
 * const { y, pullback } = l.forward(params, {}, x, { mode: 'eval' }); // x [N,20] -> y [N,10]
 * const { dx, grads } = pullback(dy);                 // dy [N,10] -> dx [N,20], grads.W, grads.b
 */
export interface Layer {
  /** Instance name, unique within a network; prefixes param names (`conv1` -> `conv1.W`). */
  readonly name: string;
  /** The layer kind, as in model specs: 'conv2d', 'maxPool2d', 'relu', 'affine', ... */
  readonly kind: string;
  /** The JSON description this layer was made from (model specs, checkpoints, export). */
  readonly spec: LayerSpecJson;
  /**
   * What a built-in layer computes, as data (core's op union): how fusion, summaries, FLOP counts and ONNX
   * export see it. Absent on a user's own layer, which the graph treats as an opaque `custom` op.
   */
  readonly op?: Op;
  /** A composite layer's (sequential, residual, parallel, graph) own nodes, placed into the graph of a network. */
  readonly body?: LayerBody;
  /** The per-sample output shape for a per-sample input shape, or why the layer refuses it. */
  outputShape(inShape: Shape): Either<ShapeIssue, Shape>;
  /** Fresh params and non-trainable state for a valid input shape, drawn from `key`. */
  init(key: Key, inShape: Shape, opts?: InitOptions): { readonly params: Params; readonly state: LayerState };
  /** The output for a batch `x` [N, ...inShape], the new state and the pullback (a vector-Jacobian product). */
  forward(params: Params, state: LayerState, x: Tensor, ctx: ForwardContext): ForwardResult;
}

/** A layer's JSON description (see decodeModelSpec for the fields each type takes): `{ type: 'conv2d', name: 'conv1', filters: 30, size: 5, ... }`. */
export interface LayerSpecJson {
  readonly type: string;
  readonly name?: string;
  readonly [hyperParameter: string]: unknown;
}

/** Why `network` refused a list of layers: the layer (index and name), the shape that came in, what it expected. */
export interface ShapeError {
  readonly _tag: 'ShapeError';
  readonly layerIndex: number;
  readonly layerName: string;
  readonly inputShape: Shape;
  readonly expected: string;
  /** e.g. `layer 0 (conv1: conv2d): input [1,3,3], expected spatial size at least 5x5 (filter 5x5, pad 0)` */
  readonly message: string;
}

/**
 * A model spec: the per-sample input shape and the layers, as JSON.
 *
 * @example { input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 30, size: 5 }, { type: 'relu' }, { type: 'affine', units: 10 }] }
 */
export interface ModelSpecJson {
  readonly input: Shape;
  readonly layers: readonly LayerSpecJson[];
}

/**
 * A network: layers whose shapes have been checked end to end. Param and state names are
 * `<layer>.<param>` (`conv1.W`). Built by `network(inputShape, layers)`, which returns
 * `Either<ShapeError, Network>`.
 */
export interface Network {
  readonly layers: readonly Layer[];
  /** Per-sample input shape, e.g. [1, 28, 28]. */
  readonly inputShape: Shape;
  /** Per-sample output shape of each layer, in order. */
  readonly layerShapes: readonly Shape[];
  readonly outputShape: Shape;
  readonly spec: ModelSpecJson;
  /** The network as a graph of ops, composite layers expanded: what its forward runs and consumers walk. */
  readonly graph: Graph;
  /** Every layer's params and state, named `<layer>.<param>`, from one key. */
  init(key: Key, opts?: InitOptions): { readonly params: Params; readonly state: LayerState };
  /** Runs the graph; the pullback skips the input gradient (and every op above the first params) unless `needInputGrad`. */
  forward(params: Params, state: LayerState, x: Tensor, opts: RunOptions): ForwardResult;
}

/** Class targets: integer labels [N] or one-hot rows [N, K]. @example Int32Array.of(7, 2, 1) */
export type Targets = Int32Array | Tensor;
