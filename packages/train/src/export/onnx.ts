import { convGeometry, FoldnetError, formatShape, sameShape, sizeOf, type Shape, type Tensor } from '@foldnet/core';
import type { LayerSpecJson, LayerState, Network, Params } from '@foldnet/layers';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { batchedFloatInfo, encodeModel, floatScalar, floatTensor, nodeProto, type OnnxNode } from './proto.js';
import type onnxProto from 'onnx-proto';

/*
 * ONNX export: a foldnet network in inference form as an ONNX ModelProto.
 *
 *   foldnet kind      ONNX                     notes
 *   conv2d            Conv                     W [FN, C, FH, FW] and b [FN] as they are; pads [p, p, p, p]
 *   maxPool2d         MaxPool                  padding is -Infinity in both
 *   avgPool2d         AveragePool              count_include_pad = 1: foldnet divides by the full window
 *   relu/sigmoid/tanh Relu/Sigmoid/Tanh
 *   flatten           Flatten axis=1           [N, d1, d2, ...] -> [N, d1*d2*...]
 *   affine            (Flatten) Gemm           y = x W + b with W [in, out]: transB = 0
 *   dropout           Dropout                  inference mode: the identity (foldnet's dropout is inverted)
 *   batchNorm         BatchNormalization       the running mean/var as inputs; the layer's epsilon and
 *                                              momentum; per channel of [N, C, H, W] or feature of [N, D]
 *   sequential        its inner layers, names prefixed `seq1.conv1`
 *   (option)          Softmax axis=1           on logits [N, K]
 *
 * The graph reads `input` float [N, ...inputShape] (N symbolic) and writes `logits` (or
 * `probabilities`) float [N, ...outputShape]. Initializers keep foldnet's param and state names
 * (`conv1.W`, `bn1.mean`), so the ONNX file and the checkpoint name the same tensors alike. Values
 * are stored as float32 (float64 params are rounded). The model's metadata `foldnet.model` holds
 * the JSON model spec.
 */

/** Options of `exportOnnx`. */
export interface OnnxExportOptions {
  /** Append Softmax(axis=1): the output is `probabilities` instead of `logits`. Default false. */
  readonly softmax?: boolean;
  /** The ai.onnx opset to target, ONNX_MIN_OPSET..ONNX_MAX_OPSET; default ONNX_DEFAULT_OPSET (13). */
  readonly opset?: number;
  /** ModelProto.producer_name; default 'foldnet'. */
  readonly producer?: string;
}

/** The opset `exportOnnx` targets by default (ONNX 1.8; every current runtime reads it). */
export const ONNX_DEFAULT_OPSET = 13;
/** The lowest opset `exportOnnx` writes (Gemm's optional C and the pooling attributes used are there since 11). */
export const ONNX_MIN_OPSET = 11;
/** The highest opset `exportOnnx` writes (ONNX 1.16). */
export const ONNX_MAX_OPSET = 21;

/** The layer kinds that have an ONNX form. */
export const ONNX_LAYER_KINDS: readonly string[] = Object.freeze([
  'conv2d',
  'maxPool2d',
  'avgPool2d',
  'relu',
  'sigmoid',
  'tanh',
  'flatten',
  'affine',
  'dropout',
  'batchNorm',
  'sequential',
]);

// The IR version each opset was released with (onnx/docs/Versioning.md): a runtime checks the
// model's IR version covers its opset.
const irVersionOf = (opset: number): number => (opset <= 11 ? 6 : opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10);

// A layer as the exporter sees it: top-level layers come from network.layers, inner layers of a
// sequential only from its spec.
interface LayerRef {
  readonly kind: string;
  /** Dotted path: `conv1`, or `seq1.conv1` inside a sequential; params are `<path>.W`. */
  readonly path: string;
  /** `layer 3`, or `layer 2.1` inside a sequential. */
  readonly position: string;
  readonly spec: LayerSpecJson;
}

// The graph being built. Local mutation only: `exportOnnx` returns bytes, never this.
interface Builder {
  readonly opset: number;
  readonly params: Params;
  readonly state: LayerState;
  readonly nodes: OnnxNode[];
  readonly initializers: onnxProto.onnx.ITensorProto[];
  /** Names of params and state entries turned into initializers. */
  readonly used: Set<string>;
}

const describe = (l: LayerRef): string => `${l.position} (${l.path || '?'}: ${l.kind})`;

const fail = (l: LayerRef, detail: string): never => {
  throw new FoldnetError('value', `exportOnnx: ${describe(l)}: ${detail}`);
};

// A hyper-parameter from a spec: a positive (or, with min 0, non-negative) integer.
const intField = (l: LayerRef, field: string, fallback: number | undefined, min: number): number => {
  const v = l.spec[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    return fail(l, `spec field '${field}' must be an integer >= ${min}, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return v;
};

const numberField = (l: LayerRef, field: string, fallback: number): number => {
  const v = l.spec[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(l, `spec field '${field}' must be a finite number, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v;
};

/** Adds `<path>.<name>` from params (or state) as an initializer, checking its shape. */
const weight = (b: Builder, l: LayerRef, name: string, shape: Shape, from: 'params' | 'state'): string => {
  const full = `${l.path}.${name}`;
  const record = from === 'params' ? b.params : b.state;
  const t: Tensor | undefined = record[full];
  if (t === undefined) return fail(l, `missing ${from === 'params' ? 'param' : 'layer state'} '${full}'`);
  if (!sameShape(t.shape, shape)) return fail(l, `${full} is ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
  b.initializers.push(floatTensor(full, t));
  b.used.add(`${from}:${full}`);
  return full;
};

const expectRank = (l: LayerRef, inShape: Shape, ranks: readonly number[], what: string): void => {
  if (!ranks.includes(inShape.length)) fail(l, `input ${formatShape(inShape)} per sample, expected ${what}`);
};

const poolAttributes = (size: number, stride: number, pad: number) => ({
  kernel_shape: [size, size],
  strides: [stride, stride],
  pads: [pad, pad, pad, pad],
});

/**
 * Emits the nodes of one layer reading tensor `x` (per-sample shape `inShape`); returns the name of
 * its output tensor and the output's per-sample shape.
 */
const emitLayer = (b: Builder, l: LayerRef, x: string, inShape: Shape): { readonly y: string; readonly shape: Shape } => {
  const y = `${l.path}.y`;
  const node = (opType: string, inputs: readonly string[], attributes?: OnnxNode['attributes']): void => {
    b.nodes.push({ opType, name: l.path, inputs, output: y, ...(attributes ? { attributes } : {}) });
  };
  switch (l.kind) {
    case 'conv2d': {
      expectRank(l, inShape, [3], '[C, H, W]');
      const filters = intField(l, 'filters', undefined, 1);
      const size = intField(l, 'size', undefined, 1);
      const stride = intField(l, 'stride', 1, 1);
      const pad = intField(l, 'pad', 0, 0);
      const g = convGeometry(`exportOnnx: ${describe(l)}`, { inH: inShape[1], inW: inShape[2], filterH: size, stride, pad });
      const W = weight(b, l, 'W', [filters, inShape[0], size, size], 'params');
      const bias = weight(b, l, 'b', [filters], 'params');
      node('Conv', [x, W, bias], poolAttributes(size, stride, pad));
      return { y, shape: [filters, g.outH, g.outW] };
    }
    case 'maxPool2d':
    case 'avgPool2d': {
      expectRank(l, inShape, [3], '[C, H, W]');
      const size = intField(l, 'size', undefined, 1);
      const stride = intField(l, 'stride', size, 1);
      const pad = intField(l, 'pad', 0, 0);
      // ONNX Runtime refuses pads >= the window; foldnet's pooling allows at most size/2.
      if (pad >= size) fail(l, `pad ${pad} must be smaller than the window ${size}`);
      const g = convGeometry(`exportOnnx: ${describe(l)}`, { inH: inShape[1], inW: inShape[2], filterH: size, stride, pad });
      if (l.kind === 'maxPool2d') node('MaxPool', [x], poolAttributes(size, stride, pad));
      else node('AveragePool', [x], { ...poolAttributes(size, stride, pad), count_include_pad: 1 });
      return { y, shape: [inShape[0], g.outH, g.outW] };
    }
    case 'relu':
    case 'sigmoid':
    case 'tanh':
      node(l.kind === 'relu' ? 'Relu' : l.kind === 'sigmoid' ? 'Sigmoid' : 'Tanh', [x]);
      return { y, shape: inShape };
    case 'flatten':
      expectRank(l, inShape, [1, 2, 3, 4, 5, 6], 'at least one axis');
      node('Flatten', [x], { axis: 1 });
      return { y, shape: [sizeOf(inShape)] };
    case 'affine': {
      if (inShape.length === 0) fail(l, 'input has no per-sample axis');
      const units = intField(l, 'units', undefined, 1);
      const D = sizeOf(inShape);
      const W = weight(b, l, 'W', [D, units], 'params');
      const bias = weight(b, l, 'b', [units], 'params');
      // Gemm needs a matrix: [N, C, H, W] -> [N, C*H*W], the row-major order foldnet's reshape keeps.
      let x2 = x;
      if (inShape.length !== 1) {
        x2 = `${l.path}.flat`;
        b.nodes.push({ opType: 'Flatten', name: `${l.path}.flatten`, inputs: [x], output: x2, attributes: { axis: 1 } });
      }
      // y [N, units] = x2 [N, D] · W [D, units] + b: W is already B, so transB = 0.
      node('Gemm', [x2, W, bias], { transA: 0, transB: 0 });
      return { y, shape: [units] };
    }
    case 'dropout': {
      const rate = numberField(l, 'rate', 0.5);
      if (!(rate >= 0 && rate < 1)) fail(l, `rate must be in [0, 1), got ${rate}`);
      // Without training_mode, Dropout is the identity; the ratio is kept for readers of the model.
      if (b.opset >= 12) {
        const ratio = `${l.path}.ratio`;
        b.initializers.push(floatScalar(ratio, rate));
        node('Dropout', [x, ratio]);
      } else {
        node('Dropout', [x], { ratio: { float: rate } });
      }
      return { y, shape: inShape };
    }
    case 'batchNorm': {
      expectRank(l, inShape, [1, 3], '[D] or [C, H, W]');
      const eps = numberField(l, 'eps', 1e-5);
      const momentum = numberField(l, 'momentum', 0.9);
      const C = inShape[0];
      const inputs = [
        x,
        weight(b, l, 'gamma', [C], 'params'),
        weight(b, l, 'beta', [C], 'params'),
        weight(b, l, 'mean', [C], 'state'),
        weight(b, l, 'var', [C], 'state'),
      ];
      // y = gamma (x - mean) / sqrt(var + eps) + beta per channel: the layer's eval mode exactly.
      node('BatchNormalization', inputs, { epsilon: { float: eps }, momentum: { float: momentum } });
      return { y, shape: inShape };
    }
    case 'sequential': {
      const inner = l.spec['layers'];
      if (!Array.isArray(inner)) return fail(l, "spec has no 'layers' list");
      let out = { y: x, shape: inShape };
      inner.forEach((s: unknown, i: number) => {
        const position = `${l.position}.${i}`;
        if (typeof s !== 'object' || s === null || !('type' in s) || typeof s.type !== 'string') {
          return fail({ ...l, position }, `inner layer ${i} has no type in its spec`);
        }
        const spec: LayerSpecJson = { ...s, type: s.type };
        // sequential names its inner layers (conv1, relu1) in their specs; a user's own layer may have none.
        const name = typeof spec.name === 'string' && spec.name ? spec.name : `#${i}`;
        out = emitLayer(b, { kind: s.type, path: `${l.path}.${name}`, position, spec }, out.y, out.shape);
      });
      return out;
    }
    default:
      return fail(l, `has no ONNX form (exportable kinds: ${ONNX_LAYER_KINDS.join(', ')})`);
  }
};

const unusedNames = (b: Builder): string[] => [
  ...Object.keys(b.params).filter((k) => !b.used.has(`params:${k}`)).map((k) => `param ${k}`),
  ...Object.keys(b.state).filter((k) => !b.used.has(`state:${k}`)).map((k) => `state ${k}`),
];

const build = (network: Network, params: Params, layerState: LayerState, options: OnnxExportOptions): Uint8Array => {
  const opset = options.opset ?? ONNX_DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET) {
    throw new FoldnetError('value', `exportOnnx: opset ${opset} is not supported, expected an integer in ${ONNX_MIN_OPSET}..${ONNX_MAX_OPSET}`);
  }
  const b: Builder = { opset, params, state: layerState, nodes: [], initializers: [], used: new Set() };
  let out: { y: string; shape: Shape } = { y: 'input', shape: network.inputShape };
  network.layers.forEach((layer, i) => {
    const ref: LayerRef = { kind: layer.kind, path: layer.name, position: `layer ${i}`, spec: layer.spec };
    if (!layer.name) fail(ref, 'the layer has no name (build it with network(...), which names every layer)');
    out = emitLayer(b, ref, out.y, out.shape);
    // A layer whose spec disagrees with its own shape inference would export the wrong graph.
    const declared = network.layerShapes[i];
    if (declared !== undefined && !sameShape(declared, out.shape)) {
      fail(ref, `its spec gives output ${formatShape(out.shape)} per sample, the network says ${formatShape(declared)}`);
    }
  });
  const unused = unusedNames(b);
  if (unused.length > 0) {
    throw new FoldnetError('value', `exportOnnx: ${unused.join(', ')} belong to no layer of the network (params or state of another network?)`);
  }
  const softmax = options.softmax ?? false;
  const outputName = softmax ? 'probabilities' : 'logits';
  const nodes = b.nodes;
  if (softmax) {
    if (out.shape.length !== 1) {
      throw new FoldnetError('value', `exportOnnx: softmax needs logits [N, K], the network's output is [N,${out.shape.join(',')}]`);
    }
    nodes.push({ opType: 'Softmax', name: 'softmax', inputs: [out.y], output: outputName, attributes: { axis: 1 } });
  } else if (nodes.length === 0) {
    nodes.push({ opType: 'Identity', name: 'identity', inputs: [out.y], output: outputName });
  } else {
    // The last node writes the graph output directly.
    nodes[nodes.length - 1] = { ...nodes[nodes.length - 1], output: outputName };
  }
  return encodeModel({
    irVersion: irVersionOf(opset),
    opsetImport: [{ domain: '', version: opset }],
    producerName: options.producer ?? 'foldnet',
    graph: {
      name: 'foldnet',
      node: nodes.map(nodeProto),
      initializer: b.initializers,
      input: [batchedFloatInfo('input', network.inputShape)],
      output: [batchedFloatInfo(outputName, out.shape)],
    },
    metadataProps: [{ key: 'foldnet.model', value: JSON.stringify(network.spec) }],
  });
};

/**
 * The network in inference form as ONNX ModelProto bytes: `input` float [N, ...inputShape] ->
 * `logits` float [N, ...outputShape] (or `probabilities` with `softmax: true`). Params and layer
 * state (batch norm's running mean/var) become float32 initializers under their foldnet names.
 * Left(FoldnetError) names the layer when a layer kind has no ONNX form, a param or state entry is
 * missing or has the wrong shape, a param belongs to no layer, or the opset is out of range.
 *
 * @example
 * const net = unwrap(simpleConvNet());
 * const { params, state } = net.init(key(0));
 * const bytes = exportOnnx(net, params, state, { softmax: true }); // right(Uint8Array): Conv, Relu, MaxPool, Flatten, Gemm, ...
 * exportOnnx(unwrap(network([4], [mySwish])), {}, {}, {});
 * // left: "exportOnnx: layer 0 (swish1: swish): has no ONNX form (exportable kinds: conv2d, ...)"
 */
export const exportOnnx = (
  network: Network,
  params: Params,
  layerState: LayerState,
  options: OnnxExportOptions = {},
): Either<FoldnetError, Uint8Array> => {
  try {
    return right(build(network, params, layerState, options));
  } catch (e) {
    if (e instanceof FoldnetError) return left(e);
    throw e;
  }
};

/**
 * `exportOnnx`, then writes the bytes to `file` atomically (temporary file, fsync, rename).
 * Returns the absolute path written.
 *
 * @example
 * saveOnnx('model.onnx', net, params, state, { softmax: false }); // right('/abs/model.onnx')
 */
export const saveOnnx = (
  file: string,
  network: Network,
  params: Params,
  layerState: LayerState,
  options: OnnxExportOptions = {},
): Either<FoldnetError, string> => {
  const bytes = exportOnnx(network, params, layerState, options);
  return bytes._tag === 'Left' ? bytes : writeFileAtomic(file, bytes.right);
};
