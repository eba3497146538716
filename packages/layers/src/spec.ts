import { FoldnetError, sizeOf, type Op } from '@foldnet/core';
import { isLeft, isRight, left, right, type Either } from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { affine } from './affine.js';
import { relu, sigmoid, tanh } from './activations.js';
import { batchNorm } from './batchnorm.js';
import { conv2d } from './conv.js';
import { dropout } from './dropout.js';
import { flatten } from './flatten.js';
import type { WeightInit } from './init.js';
import { network } from './network.js';
import { graphOf, parallel, residual, sequential, type GraphEntry } from './combinators.js';
import { GRAPH_INPUT } from './graph/build.js';
import { avgPool2d, globalAvgPool2d, maxPool2d } from './pool.js';
import type { Layer, LayerSpecJson, ModelSpecJson, Network, ShapeError } from './types.js';

/*
 * JSON model specs: `{ input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 30, size: 5 }, ...] }`.
 * Field values are decoded with io-ts codecs; every error carries the path of the offending value
 * (`layers[3].filters: expected a positive integer, got -2`).
 */

/** Why a model spec was refused; `path` points at the value (`layers[3].filters`). */
export interface SpecError {
  readonly _tag: 'SpecError';
  readonly path: string;
  readonly message: string;
  /** Present when the layers decoded but do not compose (a 5x5 conv on a 3x3 input). */
  readonly shapeError?: ShapeError;
}

// A refinement codec whose failure message reads "expected <what>".
const refined = <A>(what: string, is: (u: unknown) => u is A): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(what, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c, `expected ${what}`)), t.identity);

const isNumber = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u);

/** io-ts codecs of the hyper-parameter types. @example codecs.positiveInt.decode(-2) // left: expected a positive integer */
export const codecs = {
  positiveInt: refined('a positive integer', (u): u is number => isNumber(u) && Number.isInteger(u) && u >= 1),
  nonNegativeInt: refined('a non-negative integer', (u): u is number => isNumber(u) && Number.isInteger(u) && u >= 0),
  rate: refined('a number in [0, 1)', (u): u is number => isNumber(u) && u >= 0 && u < 1),
  unitInterval: refined('a number in [0, 1]', (u): u is number => isNumber(u) && u >= 0 && u <= 1),
  positive: refined('a positive number', (u): u is number => isNumber(u) && u > 0),
  weightInit: refined<WeightInit>(
    "a non-negative number (a std) or one of 'he', 'xavier', 'glorot'",
    (u): u is WeightInit => (isNumber(u) && u >= 0) || u === 'he' || u === 'xavier' || u === 'glorot',
  ),
  layerName: refined("a non-empty name without '.'", (u): u is string => typeof u === 'string' && u.length > 0 && !u.includes('.')),
  shape: t.array(refined('a positive integer', (u): u is number => isNumber(u) && Number.isInteger(u) && u >= 1)),
} as const;

const show = (u: unknown): string => {
  if (u === undefined) return 'nothing';
  const s = JSON.stringify(u);
  return s === undefined ? String(u) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

const specError = (path: string, message: string, shapeError?: ShapeError): SpecError => ({
  _tag: 'SpecError',
  path,
  message: `${path || 'spec'}: ${message}`,
  ...(shapeError ? { shapeError } : {}),
});

// Decodes `value` found at `path`; io-ts's context below the root extends the path (`input[2]`).
const decodeAt = <A>(codec: t.Decoder<unknown, A>, value: unknown, path: string): Either<SpecError, A> => {
  const r = codec.decode(value);
  if (!isLeft(r)) return right(r.right);
  const e = r.left[0];
  const sub = e.context
    .slice(1)
    .map((c) => (/^\d+$/.test(c.key) ? `[${c.key}]` : `.${c.key}`))
    .join('');
  return left(specError(path + sub, `${e.message ?? `expected ${e.context[e.context.length - 1]?.type.name ?? codec.name}`}, got ${show(e.value)}`));
};

/** A layer spec's fields after their codecs accepted them. */
export type Fields = Readonly<Record<string, unknown>>;
interface LayerSchema {
  readonly required: Readonly<Record<string, t.Decoder<unknown, unknown>>>;
  readonly optional: Readonly<Record<string, t.Decoder<unknown, unknown>>>;
  readonly build: (f: Fields, path: string) => Either<SpecError, Layer>;
}

const num = (f: Fields, k: string): number | undefined => {
  const v = f[k];
  return typeof v === 'number' ? v : undefined;
};
const str = (f: Fields, k: string): string | undefined => {
  const v = f[k];
  return typeof v === 'string' ? v : undefined;
};
const init = (f: Fields): WeightInit | undefined => {
  const v = f.weightInit;
  return typeof v === 'number' || v === 'he' || v === 'xavier' || v === 'glorot' ? v : undefined;
};
const req = (f: Fields, k: string): number => num(f, k) ?? 0; // only read after decoding succeeded

const named = { name: codecs.layerName };
const simple = (make: (o: { name?: string }) => Layer): LayerSchema => ({ required: {}, optional: named, build: (f) => right(make({ name: str(f, 'name') })) });
const poolSchema = (make: typeof maxPool2d): LayerSchema => ({
  required: { size: codecs.positiveInt },
  optional: { stride: codecs.positiveInt, pad: codecs.nonNegativeInt, ...named },
  build: (f) => right(make({ size: req(f, 'size'), stride: num(f, 'stride'), pad: num(f, 'pad'), name: str(f, 'name') })),
});

const layerList = (f: Fields, k: string, path: string): Either<SpecError, Layer[]> => decodeLayers(Array.isArray(f[k]) ? f[k] : [], `${path}.${k}`);

// One schema per op of core's union that is a layer (merges appear only as graph nodes; custom ops are registered)
// and per combinator: a new op kind that has no schema here is a compile error.
type BuiltInType = Exclude<Op['type'], 'custom' | 'add' | 'concat'> | 'sequential' | 'residual' | 'parallel' | 'graph';

const BUILT_IN: Readonly<Record<BuiltInType, LayerSchema>> = {
  conv2d: {
    required: { filters: codecs.positiveInt, size: codecs.positiveInt },
    optional: { stride: codecs.positiveInt, pad: codecs.nonNegativeInt, weightInit: codecs.weightInit, bias: t.boolean, ...named },
    build: (f) =>
      right(
        conv2d({
          filters: req(f, 'filters'), size: req(f, 'size'), stride: num(f, 'stride'), pad: num(f, 'pad'), weightInit: init(f),
          ...(typeof f.bias === 'boolean' ? { bias: f.bias } : {}), name: str(f, 'name'),
        }),
      ),
  },
  maxPool2d: poolSchema(maxPool2d),
  avgPool2d: poolSchema(avgPool2d),
  affine: {
    required: { units: codecs.positiveInt },
    optional: { weightInit: codecs.weightInit, ...named },
    build: (f) => right(affine({ units: req(f, 'units'), weightInit: init(f), name: str(f, 'name') })),
  },
  globalAvgPool2d: simple(globalAvgPool2d),
  relu: simple(relu),
  sigmoid: simple(sigmoid),
  tanh: simple(tanh),
  flatten: simple(flatten),
  dropout: { required: {}, optional: { rate: codecs.rate, ...named }, build: (f) => right(dropout({ rate: num(f, 'rate'), name: str(f, 'name') })) },
  batchNorm: {
    required: {},
    optional: { momentum: codecs.unitInterval, eps: codecs.positive, ...named },
    build: (f) => right(batchNorm({ momentum: num(f, 'momentum'), eps: num(f, 'eps'), name: str(f, 'name') })),
  },
  sequential: {
    required: { layers: t.UnknownArray },
    optional: named,
    build: (f, path) => {
      const inner = decodeLayers(Array.isArray(f.layers) ? f.layers : [], `${path}.layers`);
      if (isLeft(inner)) return inner;
      const s = sequential(...inner.right);
      const name = str(f, 'name');
      return right(name ? { ...s, name, spec: { ...s.spec, name } } : s);
    },
  },
  residual: {
    required: { block: t.UnknownArray },
    optional: { shortcut: t.UnknownArray, ...named },
    build: (f, path) => {
      const block = layerList(f, 'block', path);
      if (isLeft(block)) return block;
      const shortcut = layerList(f, 'shortcut', path);
      if (isLeft(shortcut)) return shortcut;
      return right(residual(block.right, { shortcut: shortcut.right, name: str(f, 'name') }));
    },
  },
  parallel: {
    required: { branches: t.array(t.UnknownArray), merge: t.keyof({ add: null, concat: null }) },
    optional: named,
    build: (f, path) => {
      const branches: Layer[][] = [];
      for (const [i, br] of (Array.isArray(f.branches) ? f.branches : []).entries()) {
        const ls = decodeLayers(Array.isArray(br) ? br : [], `${path}.branches[${i}]`);
        if (isLeft(ls)) return ls;
        branches.push(ls.right);
      }
      if (branches.length < 2) return left(specError(`${path}.branches`, `expected two or more branches, got ${branches.length}`));
      return right(parallel(branches, { merge: f.merge === 'add' ? 'add' : 'concat', name: str(f, 'name') }));
    },
  },
  graph: {
    required: { nodes: t.UnknownArray },
    optional: { output: codecs.layerName, ...named },
    build: (f, path) => decodeGraph(Array.isArray(f.nodes) ? f.nodes : [], f.output, `${path}`, str(f, 'name')),
  },
};

/**
 * A graph layer's nodes: each a layer spec, or `{ type: 'add' | 'concat', name }`, with `inputs` naming
 * earlier nodes or 'input' (default: the node before, or the input for the first); `output` names the
 * output node (default: the last).
 */
const decodeGraph = (nodes: readonly unknown[], output: unknown, path: string, name: string | undefined): Either<SpecError, Layer> => {
  const ids = new Map<string, number>([['input', GRAPH_INPUT]]);
  const entries: GraphEntry[] = [];
  for (const [i, u] of nodes.entries()) {
    const at = `${path}.nodes[${i}]`;
    const obj = decodeAt(t.UnknownRecord, u, at);
    if (isLeft(obj)) return left(specError(at, `expected a node object { type, name?, inputs?, ... }, got ${show(u)}`));
    const { inputs: inputsJson, ...fields } = obj.right;
    const inputs: number[] = [];
    if (inputsJson === undefined) inputs.push(i === 0 ? GRAPH_INPUT : entries.length - 1); // the node before
    else {
      const refs = decodeAt(t.array(t.string), inputsJson, `${at}.inputs`);
      if (isLeft(refs)) return refs;
      for (const [k, ref] of refs.right.entries()) {
        const id = ids.get(ref);
        if (id === undefined) return left(specError(`${at}.inputs[${k}]`, `expected 'input' or the name of an earlier node, got ${show(ref)}`));
        inputs.push(id);
      }
    }
    const nodeName = typeof fields.name === 'string' ? fields.name : undefined;
    if (fields.type === 'add' || fields.type === 'concat') {
      const extra = Object.keys(fields).find((k) => k !== 'type' && k !== 'name');
      if (extra !== undefined) return left(specError(`${at}.${extra}`, `unknown field; ${fields.type} takes name and inputs`));
      if (nodeName === undefined || !isRight(decodeAt(codecs.layerName, nodeName, `${at}.name`))) return left(specError(`${at}.name`, `expected a non-empty name without '.' for the ${fields.type} node, got ${show(fields.name)}`));
      if (inputs.length < 2) return left(specError(`${at}.inputs`, `expected two or more inputs for ${fields.type}, got ${inputs.length}`));
      entries.push({ kind: 'merge', op: { type: fields.type }, name: nodeName, inputs });
    } else {
      if (inputs.length !== 1) return left(specError(`${at}.inputs`, `expected one input for a layer, got ${inputs.length}`));
      const layer = decodeLayer(fields, at);
      if (isLeft(layer)) return layer;
      entries.push({ kind: 'layer', layer: layer.right, input: inputs[0] });
    }
    if (nodeName !== undefined) {
      if (ids.has(nodeName)) return left(specError(`${at}.name`, `expected a unique node name, '${nodeName}' is used twice`));
      ids.set(nodeName, entries.length - 1);
    }
  }
  if (entries.length === 0) return left(specError(`${path}.nodes`, 'expected one or more nodes'));
  const out = output === undefined ? entries.length - 1 : typeof output === 'string' ? ids.get(output) : undefined;
  if (out === undefined) return left(specError(`${path}.output`, `expected the name of a node, got ${show(output)}`));
  return right(graphOf({ entries, output: out }, name ?? ''));
};

/**
 * A layer type of one's own for model specs: its fields (io-ts codecs, required and optional; `name` is
 * always allowed) and how to make the layer from them, optionally how to export it to ONNX.
 *
 * @example
 * registerLayer({ type: 'swish', make: (f) => swish({ name: typeof f.name === 'string' ? f.name : undefined }) });
 * decodeModelSpec({ input: [4], layers: [{ type: 'swish' }] }); // right(network)
 */
export interface LayerRegistration {
  /** The spec's `type` (and the layer's kind). */
  readonly type: string;
  readonly required?: Readonly<Record<string, t.Decoder<unknown, unknown>>>;
  readonly optional?: Readonly<Record<string, t.Decoder<unknown, unknown>>>;
  /** The layer for decoded fields (including `name` when given). May throw a FoldnetError, reported at the spec's path. */
  readonly make: (fields: Fields) => Layer;
  /** How ONNX export writes it (see @foldnet/train's exportOnnx); without it, export names the layer and refuses. */
  readonly onnx?: OnnxMapping;
}

/** One ONNX node a registered layer exports to. */
export interface OnnxNodeSpec {
  readonly opType: string;
  /** Value names: the layer's input, its params' initializer names, or outputs of earlier nodes of this layer. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

/**
 * An ONNX attribute value. A bare number is an INT when whole and a FLOAT otherwise, so a float
 * attribute whose value happens to be whole (LeakyRelu's `alpha: 1`) must be tagged `{ float: 1 }`;
 * a list of numbers is INTS, `{ floats: [...] }` is FLOATS.
 */
export type OnnxAttribute = number | string | readonly number[] | { readonly float: number } | { readonly floats: readonly number[] };

/** What a registered layer's ONNX mapping is given: value names to read and write, its spec and shapes. */
export interface OnnxLayerContext {
  /** The name of the layer's input value. */
  readonly input: string;
  /** The name its last node must write. */
  readonly output: string;
  /** Initializer names of its params by param name (`W` -> `conv1.W`). */
  readonly params: Readonly<Record<string, string>>;
  /** A name for an intermediate value, unique in the model. */
  readonly temp: (suffix: string) => string;
  readonly spec: LayerSpecJson;
  /** Per-sample shapes. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** The ai.onnx opset being written: an op whose form changed between opsets (Clip's min/max became inputs at 11) picks by it. */
  readonly opset: number;
}

/** A registered layer's ONNX form: the nodes it writes. */
export type OnnxMapping = (ctx: OnnxLayerContext) => readonly OnnxNodeSpec[];

const registered = new Map<string, LayerRegistration>();

const isBuiltIn = (type: string): type is BuiltInType => Object.prototype.hasOwnProperty.call(BUILT_IN, type);

const schemaOf = (type: string): LayerSchema | undefined => {
  if (isBuiltIn(type)) return BUILT_IN[type];
  const r = registered.get(type);
  if (r === undefined) return undefined;
  return {
    required: r.required ?? {},
    optional: { ...named, ...(r.optional ?? {}) },
    build: (f) => right(r.make(f)),
  };
};

/**
 * Adds a layer type to model specs (and so to checkpoints, `foldnet` commands via `--plugin`, and ONNX export
 * when it has a mapping). A built-in type cannot be replaced; registering the same type again replaces the
 * earlier registration (a plugin loaded twice).
 *
 * @example registerLayer({ type: 'swish', make: (f) => swish({ name: typeof f.name === 'string' ? f.name : undefined }) });
 */
export const registerLayer = (registration: LayerRegistration): void => {
  const { type } = registration;
  if (typeof type !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(type)) throw new FoldnetError('value', `registerLayer: type must be a name of letters, digits and _, got ${show(type)}`);
  if (isBuiltIn(type) || type === 'add' || type === 'concat') throw new FoldnetError('value', `registerLayer: ${type} is a built-in layer type`);
  if (typeof registration.make !== 'function') throw new FoldnetError('value', `registerLayer: ${type} has no make function`);
  registered.set(type, registration);
};

/** The registration of a layer type of one's own, if any. @example registeredLayer('swish')?.onnx */
export const registeredLayer = (type: string): LayerRegistration | undefined => registered.get(type);

/** The layer types a model spec may use. @example layerTypes() // ['conv2d', 'maxPool2d', ...] */
export const layerTypes = (): string[] => [...Object.keys(BUILT_IN), ...registered.keys()];

const decodeLayer = (u: unknown, path: string): Either<SpecError, Layer> => {
  const obj = decodeAt(t.UnknownRecord, u, path);
  if (isLeft(obj)) return left(specError(path, `expected a layer object { type, ... }, got ${show(u)}`));
  const f = obj.right;
  const schema = typeof f.type === 'string' ? schemaOf(f.type) : undefined;
  if (!schema) return left(specError(`${path}.type`, `expected one of ${layerTypes().join(', ')}, got ${show(f.type)}`));
  for (const [k, codec] of Object.entries(schema.required)) {
    if (!(k in f)) return left(specError(`${path}.${k}`, `required by ${String(f.type)}, got nothing`));
    const r = decodeAt(codec, f[k], `${path}.${k}`);
    if (isLeft(r)) return r;
  }
  for (const [k, codec] of Object.entries(schema.optional)) {
    if (f[k] === undefined) continue;
    const r = decodeAt(codec, f[k], `${path}.${k}`);
    if (isLeft(r)) return r;
  }
  const known = new Set(['type', ...Object.keys(schema.required), ...Object.keys(schema.optional)]);
  const unknownKey = Object.keys(f).find((k) => !known.has(k));
  if (unknownKey !== undefined) {
    return left(specError(`${path}.${unknownKey}`, `unknown field; ${String(f.type)} takes ${[...known].filter((k) => k !== 'type').join(', ') || 'no fields but name'}`));
  }
  try {
    return schema.build(f, path);
  } catch (e) {
    if (e instanceof FoldnetError) return left(specError(path, e.message));
    throw e;
  }
};

const decodeLayers = (us: readonly unknown[], path: string): Either<SpecError, Layer[]> => {
  const out: Layer[] = [];
  for (const [i, u] of us.entries()) {
    const l = decodeLayer(u, `${path}[${i}]`);
    if (isLeft(l)) return l;
    out.push(l.right);
  }
  return right(out);
};

/**
 * Decodes a JSON model spec into a checked network. Errors name the path and the value.
 *
 * @example
 * decodeModelSpec({ input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 30, size: 5 }, { type: 'relu' },
 *   { type: 'maxPool2d', size: 2 }, { type: 'affine', units: 10 }] });          // right(network)
 * decodeModelSpec({ input: [1, 28, 28], layers: [{ type: 'conv2d', filters: -2, size: 5 }] });
 * // left: "layers[0].filters: expected a positive integer, got -2"
 */
export const decodeModelSpec = (json: unknown): Either<SpecError, Network> => {
  // The decoder recurses into sequential layers: thousands of levels would exhaust the stack.
  if (nestingDepth(json, MAX_SPEC_DEPTH) > MAX_SPEC_DEPTH) {
    return left(specError('', `nested more than ${MAX_SPEC_DEPTH} levels deep (arrays and objects), more than any model needs`));
  }
  const root = decodeAt(t.UnknownRecord, json, '');
  if (isLeft(root)) return left(specError('', `expected an object { input, layers }, got ${show(json)}`));
  const input = decodeAt(codecs.shape, root.right.input, 'input');
  if (isLeft(input)) return input;
  if (!fitsTypedArray(input.right)) return left(specError('input', `${show(input.right)} holds ${sizeOf(input.right)} values per sample, more than 2^31 - 1`));
  const layersJson = decodeAt(t.UnknownArray, root.right.layers, 'layers');
  if (isLeft(layersJson)) return left(specError('layers', `expected an array of layer objects, got ${show(root.right.layers)}`));
  const layers = decodeLayers(layersJson.right, 'layers');
  if (isLeft(layers)) return layers;
  const net = network(input.right, layers.right);
  if (isLeft(net)) return left(specError(`layers[${net.left.layerIndex}]`, net.left.message, net.left));
  const i = net.right.layerShapes.findIndex((shape) => !fitsTypedArray(shape));
  if (i >= 0) {
    const shape = net.right.layerShapes[i];
    return left(specError(`layers[${i}]`, `${net.right.layers[i].name} outputs ${show(shape)}: ${sizeOf(shape)} values per sample, more than 2^31 - 1`));
  }
  return net;
};

/** Deepest nesting of arrays and objects a model spec may have (a nested sequential costs two levels). */
export const MAX_SPEC_DEPTH = 64;

// How deeply arrays and objects nest in a JSON value, with an explicit stack (no recursion), stopping past `limit`.
const nestingDepth = (json: unknown, limit: number): number => {
  let deepest = 0;
  const stack: [unknown, number][] = [[json, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [value, depth] = top;
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
};

// A typed array holds at most 2^31 - 1 values here; a per-sample shape asking for more cannot run.
const fitsTypedArray = (shape: readonly number[]): boolean => {
  const n = sizeOf(shape);
  return Number.isSafeInteger(n) && n < 2 ** 31;
};

/**
 * A network's JSON model spec (layer names included, so decoding it gives the same param names).
 *
 * @example decodeModelSpec(JSON.parse(JSON.stringify(encodeModelSpec(net)))) // the same network
 */
export const encodeModelSpec = (net: Network): ModelSpecJson => {
  const parsed: unknown = JSON.parse(JSON.stringify(net.spec));
  const checked = decodeModelSpec(parsed);
  if (isLeft(checked)) throw new FoldnetError('format', `encodeModelSpec: the network's spec does not decode (${checked.left.message}); is a layer not expressible as JSON?`);
  return checked.right.spec;
};
