import { assertNever, FoldnetError, formatShape, fromData, opKind, paramShapesOf, sameShape, type CustomOp, type Op, type Shape, type Tensor } from '@foldnet/core';
import {
  GRAPH_INPUT,
  registeredLayer,
  scope,
  type GraphNode,
  type LayerState,
  type Network,
  type OnnxLayerContext,
  type OnnxAttribute,
  type OnnxNodeSpec,
  type Params,
} from '@foldnet/layers';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { batchedFloatInfo, encodeModel, floatScalar, floatTensor, nodeProto, type AttributeValue, type OnnxNode } from './proto.js';
import type onnxProto from 'onnx-proto';

/*
 * ONNX export: a foldnet network in inference form as an ONNX ModelProto. The network's graph is
 * walked node by node in its (topological) order, each node's op by one exhaustive switch:
 *
 *   foldnet op        ONNX                     notes
 *   conv2d            Conv                     W [FN, C, FH, FW] and b [FN] as they are; pads [p, p, p, p]
 *   maxPool2d         MaxPool                  padding is -Infinity in both
 *   avgPool2d         AveragePool              count_include_pad = 1: foldnet divides by the full window
 *   globalAvgPool2d   GlobalAveragePool        then Flatten axis=1: ONNX keeps [N, C, 1, 1], foldnet gives [N, C]
 *   relu/sigmoid/tanh Relu/Sigmoid/Tanh
 *   flatten           Flatten axis=1           [N, d1, d2, ...] -> [N, d1*d2*...]
 *   affine            (Flatten) Gemm           y = x W + b with W [in, out]: transB = 0
 *   dropout           Dropout                  inference mode: the identity (foldnet's dropout is inverted)
 *   batchNorm         BatchNormalization       the running mean/var as inputs; the layer's epsilon and
 *                                              momentum; per channel of [N, C, H, W] or feature of [N, D]
 *   add               Add (Sum for 3+ inputs)
 *   concat            Concat axis=1            per-sample axis 0 (channels, or features) is ONNX's axis 1
 *   custom            the registered mapping   `registerLayer({ type, make, onnx })`; none: a Left naming the layer
 *   (option)          Softmax axis=1           on logits [N, K]
 *
 * Composite layers (sequential, residual, parallel, graph) are no nodes of their own: the graph holds
 * their inner nodes under path names (`res1.conv1`), so they export as those nodes. A value read by
 * several nodes (a shortcut's input) is one name read several times, as ONNX allows.
 *
 * The graph reads `input` float [N, ...inputShape] (N symbolic) and writes `logits` (or
 * `probabilities`) float [N, ...outputShape]. Node `p` is named `p` and writes `p.y`; the output node
 * writes `logits` instead. Initializers keep foldnet's param and state names (`conv1.W`, `bn1.mean`),
 * so the ONNX file and the checkpoint name the same tensors alike. Values are stored as float32
 * (float64 params are rounded). The model's metadata `foldnet.model` holds the JSON model spec.
 */

/** Options of `exportOnnx`. */
export interface OnnxExportOptions {
  /** Append Softmax(axis=1): the output is `probabilities` instead of `logits`. Default false. */
  readonly softmax?: boolean;
  /** The ai.onnx opset to target, ONNX_MIN_OPSET..ONNX_MAX_OPSET; default ONNX_DEFAULT_OPSET (13). */
  readonly opset?: number;
  /** ModelProto.producer_name; default 'foldnet'. */
  readonly producer?: string;
  /**
   * Per-channel input normalisation the network was trained with (a checkpoint's `data.normalize`):
   * the graph starts with Sub(input, mean) and Div(std), constants [1, C, 1, 1] named `input.mean`
   * and `input.std`, so the model takes the same raw [0, 1] images as `foldnet predict`.
   */
  readonly normalize?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

/** The opset `exportOnnx` targets by default (ONNX 1.8; every current runtime reads it). */
export const ONNX_DEFAULT_OPSET = 13;
/** The lowest opset `exportOnnx` writes (Gemm's optional C and the pooling attributes used are there since 11). */
export const ONNX_MIN_OPSET = 11;
/** The highest opset `exportOnnx` writes (ONNX 1.16). */
export const ONNX_MAX_OPSET = 21;

// Every built-in op type: `satisfies` makes a new op kind in core's union a compile error here until it
// is listed (the switch in emitNode refuses to compile without its case too).
const BUILT_IN_OPS = {
  conv2d: true,
  maxPool2d: true,
  avgPool2d: true,
  globalAvgPool2d: true,
  relu: true,
  sigmoid: true,
  tanh: true,
  flatten: true,
  affine: true,
  dropout: true,
  batchNorm: true,
  add: true,
  concat: true,
} satisfies Record<Exclude<Op['type'], 'custom'>, true>;

/**
 * The layer kinds that have an ONNX form: every built-in op and the composite layers made of them.
 * A layer of one's own has one when it is registered with an `onnx` mapping.
 *
 * @example ONNX_LAYER_KINDS.includes('residual') // true
 */
export const ONNX_LAYER_KINDS: readonly string[] = Object.freeze([...Object.keys(BUILT_IN_OPS), 'sequential', 'residual', 'parallel', 'graph']);

// The IR version each opset was released with (onnx/docs/Versioning.md): a runtime checks the
// model's IR version covers its opset.
const irVersionOf = (opset: number): number => (opset <= 11 ? 6 : opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10);

// The graph being built. Local mutation only: `exportOnnx` returns bytes, never this.
interface Builder {
  readonly opset: number;
  readonly params: Params;
  readonly state: LayerState;
  readonly nodes: OnnxNode[];
  readonly initializers: onnxProto.onnx.ITensorProto[];
  /** Names of params and state entries turned into initializers (`params:conv1.W`). */
  readonly used: Set<string>;
  /** Every value written so far (the input, initializers, node outputs): ONNX values are written once. */
  readonly values: Set<string>;
  /** Names handed out for values to be written (a node's `p.y`, a mapping's temporaries, `logits`), so no other value takes them. */
  readonly reserved: Set<string>;
}

// One graph node as the exporter places it: where it is, what it reads, the value it must write.
interface Site {
  readonly node: GraphNode;
  /**
   * `layer 3`, or `layer 2.1` for the second layer inside top-level layer 2: the node's key path,
   * which counts the same child indices down the combinators that the error messages want.
   */
  readonly position: string;
  /** Value names of its inputs, in order. */
  readonly inputs: readonly string[];
  /** Per-sample shapes of its inputs. */
  readonly inShapes: readonly Shape[];
  /** The value name its last ONNX node writes. */
  readonly output: string;
}

const describe = (s: Site): string => `${s.position} (${s.node.name || '?'}: ${opKind(s.node.op)})`;

const fail = (s: Site, detail: string): never => {
  throw new FoldnetError('value', `exportOnnx: ${describe(s)}: ${detail}`);
};

/** `name` if no value has it yet, else `name#2`, `name#3`, ...; reserves it. */
const fresh = (b: Builder, name: string): string => {
  let v = name;
  for (let i = 2; b.values.has(v) || b.reserved.has(v); i++) v = `${name}#${i}`;
  b.reserved.add(v);
  return v;
};

/** Appends a node; its outputs are written from here on. */
const addNode = (b: Builder, n: OnnxNode): void => {
  b.nodes.push(n);
  for (const v of n.outputs) b.values.add(v);
};

/** Adds `<path>.<name>` from params (or state) as an initializer, checking its shape. */
const weight = (b: Builder, s: Site, name: string, shape: Shape, from: 'params' | 'state'): string => {
  const full = `${s.node.name}.${name}`;
  const record = from === 'params' ? b.params : b.state;
  const t: Tensor | undefined = record[full];
  if (t === undefined) return fail(s, `missing ${from === 'params' ? 'param' : 'layer state'} '${full}'`);
  if (!sameShape(t.shape, shape)) return fail(s, `${full} is ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
  b.initializers.push(floatTensor(full, t));
  b.values.add(full);
  b.used.add(`${from}:${full}`);
  return full;
};

/** The initializers of a built-in op's params (or state) `names`, in that order, shaped as core's shape rule says. */
const weights = (b: Builder, s: Site, from: 'params' | 'state', names: readonly string[]): string[] => {
  const shapes = paramShapesOf(s.node.op, s.inShapes[0]);
  const record = from === 'params' ? shapes?.params : shapes?.state;
  return names.map((name) => {
    const shape = record?.[name];
    return shape === undefined ? fail(s, `the op's shape rule has no ${from} entry '${name}'`) : weight(b, s, name, shape, from);
  });
};

const windowAttributes = (size: number, stride: number, pad: number) => ({
  kernel_shape: [size, size],
  strides: [stride, stride],
  pads: [pad, pad, pad, pad],
});

/** Emits the ONNX nodes of one graph node; the last one writes `s.output`. */
const emitNode = (b: Builder, s: Site): void => {
  const { node } = s;
  const op = node.op;
  const x = s.inputs[0];
  const emit = (opType: string, inputs: readonly string[], attributes?: OnnxNode['attributes']): void => {
    addNode(b, { opType, name: node.name, inputs, outputs: [s.output], ...(attributes ? { attributes } : {}) });
  };
  switch (op.type) {
    case 'conv2d':
      // ONNX Conv's bias input is optional: a convolution without bias gives X and W alone
      emit('Conv', [x, ...weights(b, s, 'params', op.bias === false ? ['W'] : ['W', 'b'])], windowAttributes(op.size, op.stride, op.pad));
      return;
    case 'maxPool2d':
    case 'avgPool2d':
      // ONNX Runtime refuses pads >= the window; foldnet's pooling allows at most size/2.
      if (op.pad >= op.size) fail(s, `pad ${op.pad} must be smaller than the window ${op.size}`);
      if (op.type === 'maxPool2d') emit('MaxPool', [x], windowAttributes(op.size, op.stride, op.pad));
      else emit('AveragePool', [x], { ...windowAttributes(op.size, op.stride, op.pad), count_include_pad: 1 });
      return;
    case 'globalAvgPool2d': {
      // [N, C, H, W] -> [N, C, 1, 1] -> [N, C], the shape foldnet's globalAvgPool2d gives.
      const pooled = fresh(b, `${node.name}.pooled`);
      addNode(b, { opType: 'GlobalAveragePool', name: node.name, inputs: [x], outputs: [pooled] });
      addNode(b, { opType: 'Flatten', name: `${node.name}.flatten`, inputs: [pooled], outputs: [s.output], attributes: { axis: 1 } });
      return;
    }
    case 'relu':
      emit('Relu', [x]);
      return;
    case 'sigmoid':
      emit('Sigmoid', [x]);
      return;
    case 'tanh':
      emit('Tanh', [x]);
      return;
    case 'flatten':
      emit('Flatten', [x], { axis: 1 });
      return;
    case 'affine': {
      const [W, bias] = weights(b, s, 'params', ['W', 'b']);
      // Gemm needs a matrix: [N, C, H, W] -> [N, C*H*W], the row-major order foldnet's reshape keeps.
      let x2 = x;
      if (s.inShapes[0].length !== 1) {
        x2 = fresh(b, `${node.name}.flat`);
        addNode(b, { opType: 'Flatten', name: `${node.name}.flatten`, inputs: [x], outputs: [x2], attributes: { axis: 1 } });
      }
      // y [N, units] = x2 [N, D] · W [D, units] + b: W is already B, so transB = 0.
      emit('Gemm', [x2, W, bias], { transA: 0, transB: 0 });
      return;
    }
    case 'dropout':
      // Without training_mode, Dropout is the identity; the ratio is kept for readers of the model.
      if (b.opset >= 12) {
        const ratio = fresh(b, `${node.name}.ratio`);
        b.initializers.push(floatScalar(ratio, op.rate));
        b.values.add(ratio);
        emit('Dropout', [x, ratio]);
      } else {
        emit('Dropout', [x], { ratio: { float: op.rate } });
      }
      return;
    case 'batchNorm': {
      const inputs = [x, ...weights(b, s, 'params', ['gamma', 'beta']), ...weights(b, s, 'state', ['mean', 'var'])];
      // y = gamma (x - mean) / sqrt(var + eps) + beta per channel: the layer's eval mode exactly.
      emit('BatchNormalization', inputs, { epsilon: { float: op.eps }, momentum: { float: op.momentum } });
      return;
    }
    case 'add':
      // ONNX's Add takes two inputs; Sum takes any number (residual and parallel merges give two or more).
      emit(s.inputs.length === 2 ? 'Add' : 'Sum', s.inputs);
      return;
    case 'concat':
      emit('Concat', s.inputs, { axis: 1 });
      return;
    case 'custom':
      emitCustom(b, s, op);
      return;
    default:
      assertNever(op, 'exportOnnx');
  }
};

// An OnnxNodeSpec attribute as the proto builder takes it: a bare whole number is an INT, any other
// number a FLOAT; `{ float }` and `{ floats }` say FLOAT and FLOATS whatever the values.
const attributeOf = (s: Site, name: string, v: OnnxAttribute): AttributeValue => {
  const refuseNonFinite = (xs: readonly number[]): void => {
    const bad = xs.find((x) => !Number.isFinite(x));
    if (bad !== undefined) fail(s, `its ONNX mapping gives attribute '${name}' the value ${bad}`);
  };
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    refuseNonFinite([v]);
    return Number.isInteger(v) ? v : { float: v };
  }
  if ('float' in v) {
    refuseNonFinite([v.float]);
    return v;
  }
  if ('floats' in v) {
    refuseNonFinite(v.floats);
    return v;
  }
  if (!v.every((i) => Number.isInteger(i))) {
    return fail(s, `its ONNX mapping gives attribute '${name}' a list that is not all integers (tag a list of floats as { floats: [...] })`);
  }
  return v;
};

/** A user's own layer: the nodes its registered `onnx` mapping writes, checked before they enter the graph. */
const emitCustom = (b: Builder, s: Site, op: CustomOp): void => {
  const { node } = s;
  const mapping = registeredLayer(op.kind)?.onnx;
  if (mapping === undefined) {
    return fail(
      s,
      `has no ONNX form (exportable kinds: ${ONNX_LAYER_KINDS.join(', ')}): '${op.kind}' is a layer of one's own with no ONNX mapping ` +
        `(register one: registerLayer({ type: '${op.kind}', make, onnx }))`,
    );
  }
  // Its params and state, named as the graph's run names them (`swish1.beta`), all initializers: only
  // the mapping knows which it reads. A param shadows a state entry of the same name (params come second).
  const initializers: Record<string, string> = {};
  const addAll = (from: 'params' | 'state', record: Params | LayerState): void => {
    for (const [name, t] of Object.entries(scope(record, node.name))) {
      const full = `${node.name}.${name}`;
      b.initializers.push(floatTensor(full, t));
      b.values.add(full);
      b.used.add(`${from}:${full}`);
      initializers[name] = full;
    }
  };
  addAll('state', b.state);
  addAll('params', b.params);
  // The temporaries handed to this mapping: its own to write.
  const temps = new Set<string>();
  const ctx: OnnxLayerContext = {
    input: s.inputs[0],
    output: s.output,
    params: initializers,
    temp: (suffix) => {
      const name = fresh(b, `${node.name}.${suffix}`);
      temps.add(name);
      return name;
    },
    spec: node.layer?.spec ?? { type: op.kind },
    inputShape: s.inShapes[0],
    outputShape: node.shape,
    opset: b.opset,
  };
  let specs: readonly OnnxNodeSpec[];
  try {
    specs = mapping(ctx);
  } catch (e) {
    // The mapping is user code: whatever it throws is reported against the layer it was exporting.
    if (e instanceof Error) return fail(s, `its ONNX mapping failed: ${e.message}`);
    throw e;
  }
  if (specs.length === 0) fail(s, 'its ONNX mapping gives no nodes');
  // The checks ONNX Runtime would make at load time, here with the layer named: every value is written
  // once, read only after it is written, and the layer's output is written.
  specs.forEach((spec, i) => {
    const at = `its ONNX mapping's node ${i} (${spec.opType})`;
    if (typeof spec.opType !== 'string' || spec.opType === '') fail(s, `its ONNX mapping's node ${i} has no opType`);
    for (const input of spec.inputs) {
      // '' stands for an optional input left out.
      if (input !== '' && !b.values.has(input)) fail(s, `${at} reads '${input}', which no earlier node writes and no initializer holds`);
    }
    if (spec.outputs.length === 0) fail(s, `${at} writes nothing`);
    const outputs = new Set<string>();
    for (const output of spec.outputs) {
      // Only names handed to this mapping are sure to be free of every other value, later ones included.
      if (output !== s.output && !temps.has(output)) fail(s, `${at} writes '${output}', which is neither its output '${s.output}' nor a name from ctx.temp`);
      if (b.values.has(output) || outputs.has(output)) fail(s, `${at} writes '${output}' a second time`);
      outputs.add(output);
    }
    const attributes = Object.fromEntries(Object.entries(spec.attributes ?? {}).map(([k, v]) => [k, attributeOf(s, k, v)]));
    addNode(b, {
      opType: spec.opType,
      name: specs.length === 1 ? node.name : `${node.name}.${i}`,
      inputs: spec.inputs,
      outputs: spec.outputs,
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    });
  });
  if (!b.values.has(s.output)) fail(s, `its ONNX mapping never writes its output '${s.output}'`);
};

const unusedNames = (b: Builder): string[] => [
  ...Object.keys(b.params).filter((k) => !b.used.has(`params:${k}`)).map((k) => `param ${k}`),
  ...Object.keys(b.state).filter((k) => !b.used.has(`state:${k}`)).map((k) => `state ${k}`),
];

/**
 * The nodes of (input - mean) / std per channel, float32 Sub then Div as foldnet's normalizeImages
 * computes it; returns the value they write.
 */
const normalizeInput = (b: Builder, inputShape: Shape, stats: NonNullable<OnnxExportOptions['normalize']>): string => {
  const channels = inputShape[0] ?? 0;
  if (inputShape.length !== 3 || stats.mean.length !== channels || stats.std.length !== channels) {
    throw new FoldnetError('value', `exportOnnx: normalize has ${stats.mean.length} means and ${stats.std.length} stds, the input [${inputShape.join(',')}] has ${channels} channels`);
  }
  const constant = (name: string, values: readonly number[]): string => {
    const v = fresh(b, name);
    b.initializers.push(floatTensor(v, fromData([1, channels, 1, 1], Float32Array.from(values))));
    b.values.add(v);
    return v;
  };
  const mean = constant('input.mean', stats.mean);
  const std = constant('input.std', stats.std);
  const centred = fresh(b, 'input.centred');
  const normalized = fresh(b, 'input.normalized');
  addNode(b, { opType: 'Sub', name: 'normalize.sub', inputs: ['input', mean], outputs: [centred] });
  addNode(b, { opType: 'Div', name: 'normalize.div', inputs: [centred, std], outputs: [normalized] });
  return normalized;
};

const build = (network: Network, params: Params, layerState: LayerState, options: OnnxExportOptions): Uint8Array => {
  const opset = options.opset ?? ONNX_DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET) {
    throw new FoldnetError('value', `exportOnnx: opset ${opset} is not supported, expected an integer in ${ONNX_MIN_OPSET}..${ONNX_MAX_OPSET}`);
  }
  const softmax = options.softmax ?? false;
  const outputName = softmax ? 'probabilities' : 'logits';
  const { graph } = network;
  const outShape = network.outputShape;
  if (softmax && outShape.length !== 1) {
    throw new FoldnetError('value', `exportOnnx: softmax needs logits [N, K], the network's output is [N,${outShape.join(',')}]`);
  }
  const b: Builder = { opset, params, state: layerState, nodes: [], initializers: [], used: new Set(), values: new Set(['input']), reserved: new Set([outputName]) };
  // Every param and state name is an initializer's, so no node output or temporary may take it (a param `y`
  // of a layer of one's own would otherwise meet the layer's output `p.y`).
  for (const name of [...Object.keys(params), ...Object.keys(layerState)]) b.reserved.add(name);
  const input = options.normalize === undefined ? 'input' : normalizeInput(b, graph.inputShape, options.normalize);
  // Each node's value name, by node index; the output node writes the graph's output directly (unless
  // Softmax follows it).
  const valueNames: string[] = [];
  const valueOf = (i: number): string => (i === GRAPH_INPUT ? input : valueNames[i]);
  const shapeOf = (i: number): Shape => (i === GRAPH_INPUT ? graph.inputShape : graph.nodes[i].shape);
  graph.nodes.forEach((node, i) => {
    const output = i === graph.output && !softmax ? outputName : fresh(b, `${node.name}.y`);
    valueNames.push(output);
    emitNode(b, { node, position: `layer ${node.keyPath.join('.')}`, inputs: node.inputs.map(valueOf), inShapes: node.inputs.map(shapeOf), output });
  });
  const unused = unusedNames(b);
  if (unused.length > 0) {
    throw new FoldnetError('value', `exportOnnx: ${unused.join(', ')} belong to no layer of the network (params or state of another network?)`);
  }
  const nodes = b.nodes;
  if (softmax) {
    nodes.push({ opType: 'Softmax', name: 'softmax', inputs: [valueOf(graph.output)], outputs: [outputName], attributes: { axis: 1 } });
  } else if (graph.output === GRAPH_INPUT) {
    // A network of no nodes (or whose output is its input): ONNX needs a node to write the output.
    nodes.push({ opType: 'Identity', name: 'identity', inputs: [input], outputs: [outputName] });
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
      output: [batchedFloatInfo(outputName, outShape)],
    },
    metadataProps: [{ key: 'foldnet.model', value: JSON.stringify(network.spec) }],
  });
};

/**
 * The network in inference form as ONNX ModelProto bytes: `input` float [N, ...inputShape] ->
 * `logits` float [N, ...outputShape] (or `probabilities` with `softmax: true`). Every node of the
 * network's graph becomes ONNX nodes (residual sums Add, parallel concatenations Concat, a layer of
 * one's own the nodes of its registered `onnx` mapping). Params and layer state (batch norm's running
 * mean/var) become float32 initializers under their foldnet names. Left(FoldnetError) names the node
 * (position, path and kind) when it has no ONNX form or mapping, a param or state entry is missing or
 * has the wrong shape, a mapping writes a bad graph; and says so when a param belongs to no node or
 * the opset is out of range.
 *
 * @example
 * const net = unwrap(simpleConvNet());
 * const { params, state } = net.init(key(0));
 * const bytes = exportOnnx(net, params, state, { softmax: true }); // right(Uint8Array): Conv, Relu, MaxPool, Flatten, Gemm, ...
 * exportOnnx(unwrap(network([4], [mySwish])), {}, {}, {});
 * // left: "exportOnnx: layer 0 (swish1: swish): has no ONNX form (exportable kinds: conv2d, ...): 'swish' is a layer of one's own
 * //        with no ONNX mapping (register one: registerLayer({ type: 'swish', make, onnx }))"
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
