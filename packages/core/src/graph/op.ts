import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { convGeometry } from '../geometry.js';
import { sameShape, sizeOf, formatShape, type Shape } from '../shape.js';

/*
 * The op union: what each node of a model's graph computes, as plain data. Every consumer that needs to
 * know what a node is (shape inference, parameter counts, FLOPs, model specs, summaries, ONNX export,
 * fusion) dispatches on `op.type` with an exhaustive switch, so a new op kind is one case here plus its
 * layer, and the compiler names every switch that forgot it (`assertNever`).
 *
 * Shapes are per sample ([C, H, W] for images, [D] for vectors); the batch axis is never part of them.
 */

/**
 * How a layer's weights are drawn (biases always start at zero):
 * - a number `s`: normal with std `s` (the lesson's `weight_init_std`, default 0.01);
 * - `'he'`: normal with std sqrt(2 / fanIn) (He et al. 2015; the book's choice after ReLU);
 * - `'xavier'`: normal with std sqrt(1 / fanIn) (the book's "Xavier");
 * - `'glorot'`: normal with std sqrt(2 / (fanIn + fanOut)) (Glorot & Bengio 2010).
 * fanIn is C*FH*FW for a convolution and the input size for a dense layer; fanOut is FN*FH*FW
 * and the output size.
 *
 * @example
 * conv2d({ filters: 16, size: 3, pad: 1, weightInit: 'he' });
 * affine({ units: 100, weightInit: 0.01 });
 */
export type WeightInit = number | 'he' | 'xavier' | 'glorot';

/** Why an op refuses its input shapes: `expected` completes "expected ..." in a ShapeError's message. */
export interface ShapeIssue {
  readonly expected: string;
}

/** A 2-D convolution: x [C, H, W], W [filters, C, size, size], b [filters] -> [filters, OH, OW]. */
export interface Conv2dOp {
  readonly type: 'conv2d';
  readonly filters: number;
  readonly size: number;
  readonly stride: number;
  readonly pad: number;
  readonly weightInit: WeightInit;
  /** false: no bias `b` (a convolution before batch norm, whose beta takes its place); absent or true: W and b. */
  readonly bias?: boolean;
}

/** Max or average pooling over size x size windows: [C, H, W] -> [C, OH, OW]. */
export interface Pool2dOp {
  readonly type: 'maxPool2d' | 'avgPool2d';
  readonly size: number;
  readonly stride: number;
  readonly pad: number;
}

/** The mean of each channel over all positions: [C, H, W] -> [C]. */
export interface GlobalAvgPool2dOp {
  readonly type: 'globalAvgPool2d';
}

/** An element-wise activation, any shape. */
export interface ActivationOp {
  readonly type: 'relu' | 'sigmoid' | 'tanh';
}

/** A dense layer: [...] (flattened to D) -> [units], W [D, units], b [units]. */
export interface AffineOp {
  readonly type: 'affine';
  readonly units: number;
  readonly weightInit: WeightInit;
}

/** [d1, d2, ...] -> [d1*d2*...]. */
export interface FlattenOp {
  readonly type: 'flatten';
}

/** Inverted dropout, any shape; the identity in eval mode. */
export interface DropoutOp {
  readonly type: 'dropout';
  readonly rate: number;
}

/** Batch normalization per feature ([D]) or per channel ([C, H, W]); gamma, beta [C]; state mean, var [C]. */
export interface BatchNormOp {
  readonly type: 'batchNorm';
  readonly momentum: number;
  readonly eps: number;
}

/** The element-wise sum of two or more inputs of one shape. */
export interface AddOp {
  readonly type: 'add';
}

/** Two or more inputs [C_i, H, W] (or [D_i]) stacked along the first per-sample axis: [sum C_i, H, W]. */
export interface ConcatOp {
  readonly type: 'concat';
}

/**
 * A user's own layer: opaque (its forward and pullback run as written), described by its kind, its JSON
 * spec and its own shape rule. Registered (`registerLayer`), it has a spec, a checkpoint, a CLI and an
 * ONNX mapping like a built-in op.
 */
export interface CustomOp {
  readonly type: 'custom';
  /** The layer kind, as in model specs (`swish`). */
  readonly kind: string;
  readonly outputShape: (inShape: Shape) => Either<ShapeIssue, Shape>;
}

/** Every op a model graph holds. */
export type Op =
  | Conv2dOp
  | Pool2dOp
  | GlobalAvgPool2dOp
  | ActivationOp
  | AffineOp
  | FlattenOp
  | DropoutOp
  | BatchNormOp
  | AddOp
  | ConcatOp
  | CustomOp;

/** The op types that take more than one input. */
export type MergeOp = AddOp | ConcatOp;

/** Whether an op merges several inputs (add, concat). @example isMergeOp({ type: 'add' }) // true */
export const isMergeOp = (op: Op): op is MergeOp => op.type === 'add' || op.type === 'concat';

/**
 * Marks a switch as exhaustive: the compiler refuses a call here unless every case of the union was
 * handled before it.
 *
 * @example switch (op.type) { case 'relu': ...; default: return assertNever(op, 'flops'); }
 */
export const assertNever = (value: never, where: string): never => {
  throw new Error(`${where}: unhandled case ${JSON.stringify(value)}`);
};

/** The name an op goes by in summaries and specs: its type, or a custom op's kind. @example opKind({ type: 'relu' }) // 'relu' */
export const opKind = (op: Op): string => (op.type === 'custom' ? op.kind : op.type);

const windowed = (s: Shape, size: number, stride: number, pad: number, what: string, channels: number): Either<ShapeIssue, Shape> => {
  if (s.length !== 3) return left({ expected: 'a 3-D input [C, H, W]' });
  if (s[1] + 2 * pad < size || s[2] + 2 * pad < size) {
    const least = Math.max(size - 2 * pad, 1);
    return left({ expected: `spatial size at least ${least}x${least} (${what} ${size}x${size}, pad ${pad})` });
  }
  const g = convGeometry(what, { inH: s[1], inW: s[2], filterH: size, stride, pad });
  return right([channels, g.outH, g.outW]);
};

const single = (op: Op, inputs: readonly Shape[]): Either<ShapeIssue, Shape> =>
  inputs.length === 1 ? right(inputs[0]) : left({ expected: `one input for ${opKind(op)}, got ${inputs.length}` });

/**
 * The op's per-sample output shape for its inputs' shapes, or why it refuses them: the one shape rule of
 * each op, read by layers, networks, specs and summaries alike.
 *
 * @example outputShapeOf({ type: 'conv2d', filters: 30, size: 5, stride: 1, pad: 0, weightInit: 0.01 }, [[1, 28, 28]]) // right([30, 24, 24])
 * @example outputShapeOf({ type: 'concat' }, [[16, 8, 8], [32, 8, 8]]) // right([48, 8, 8])
 */
export const outputShapeOf = (op: Op, inputs: readonly Shape[]): Either<ShapeIssue, Shape> => {
  if (op.type === 'add' || op.type === 'concat') {
    if (inputs.length < 2) return left({ expected: `two or more inputs for ${op.type}, got ${inputs.length}` });
    const [first, ...rest] = inputs;
    if (op.type === 'add') {
      const other = rest.find((s) => !sameShape(s, first));
      return other === undefined ? right(first) : left({ expected: `inputs of one shape, got ${inputs.map(formatShape).join(' and ')}` });
    }
    const tail = first.slice(1);
    if (first.length === 0 || rest.some((s) => s.length !== first.length || !sameShape(s.slice(1), tail))) {
      return left({ expected: `inputs that differ only in their first axis (channels), got ${inputs.map(formatShape).join(' and ')}` });
    }
    return right([inputs.reduce((a, s) => a + s[0], 0), ...tail]);
  }
  const one = single(op, inputs);
  if (one._tag === 'Left') return one;
  const s = one.right;
  switch (op.type) {
    case 'conv2d':
      return windowed(s, op.size, op.stride, op.pad, 'filter', op.filters);
    case 'maxPool2d':
    case 'avgPool2d':
      return s.length === 3 ? windowed(s, op.size, op.stride, op.pad, 'window', s[0]) : left({ expected: 'a 3-D input [C, H, W]' });
    case 'globalAvgPool2d':
      return s.length === 3 ? right([s[0]]) : left({ expected: 'a 3-D input [C, H, W]' });
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'dropout':
      return right(s);
    case 'affine':
      return s.length === 0 || sizeOf(s) === 0 ? left({ expected: 'a non-empty per-sample shape' }) : right([op.units]);
    case 'flatten':
      return s.length === 0 ? left({ expected: 'a per-sample shape with at least one axis' }) : right([sizeOf(s)]);
    case 'batchNorm':
      return s.length === 1 || s.length === 3 ? right(s) : left({ expected: 'a [D] or [C, H, W] input' });
    case 'custom':
      return op.outputShape(s);
    default:
      return assertNever(op, 'outputShapeOf');
  }
};

/** A record of named shapes: an op's params or state, as shapes only. */
export type ShapeRecord = Readonly<Record<string, Shape>>;

/**
 * The shapes of an op's params and non-trainable state for a valid input shape, from the shape rule
 * alone (nothing is allocated); undefined for a custom op, whose params only its own init knows.
 *
 * @example paramShapesOf({ type: 'affine', units: 10, weightInit: 0.01 }, [100]) // { params: { W: [100, 10], b: [10] }, state: {} }
 */
export const paramShapesOf = (op: Op, inShape: Shape): { readonly params: ShapeRecord; readonly state: ShapeRecord } | undefined => {
  const none = { params: {}, state: {} };
  switch (op.type) {
    case 'conv2d':
      return { params: { W: [op.filters, inShape[0], op.size, op.size], ...(op.bias === false ? {} : { b: [op.filters] }) }, state: {} };
    case 'affine':
      return { params: { W: [sizeOf(inShape), op.units], b: [op.units] }, state: {} };
    case 'batchNorm':
      return { params: { gamma: [inShape[0]], beta: [inShape[0]] }, state: { mean: [inShape[0]], var: [inShape[0]] } };
    case 'maxPool2d':
    case 'avgPool2d':
    case 'globalAvgPool2d':
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'flatten':
    case 'dropout':
    case 'add':
    case 'concat':
      return none;
    case 'custom':
      return undefined;
    default:
      return assertNever(op, 'paramShapesOf');
  }
};

/**
 * Multiply-adds of one sample's forward pass, counted as 2 FLOPs each (element-wise ops count one per
 * output element); 0 for a custom op, whose cost is unknown. For benchmarks and summaries.
 *
 * @example flopsOf({ type: 'affine', units: 10, weightInit: 0.01 }, [[100]], [10]) // 2000
 */
export const flopsOf = (op: Op, inputs: readonly Shape[], out: Shape): number => {
  const outSize = sizeOf(out);
  switch (op.type) {
    case 'conv2d':
      return 2 * outSize * (inputs[0]?.[0] ?? 0) * op.size * op.size;
    case 'affine':
      return 2 * sizeOf(inputs[0] ?? []) * op.units;
    case 'maxPool2d':
    case 'avgPool2d':
      return outSize * op.size * op.size;
    case 'globalAvgPool2d':
      return sizeOf(inputs[0] ?? []);
    case 'add':
      return outSize * (inputs.length - 1);
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'dropout':
    case 'batchNorm':
      return outSize;
    case 'flatten':
    case 'concat':
    case 'custom':
      return 0;
    default:
      return assertNever(op, 'flopsOf');
  }
};
