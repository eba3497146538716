import * as path from 'node:path';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { decodeModelSpec, deepConvNet, doubleConvNet, simpleConvNet, summaryRows, type Network, type ShapeError } from '@foldnet/layers';
import { UsageError } from './errors.js';
import { readUserJson } from './io.js';

/*
 * `--model` and the <model> arguments: a preset name or a JSON model spec file.
 */

/** The built-in models. */
export const presetNames = ['simple', 'double', 'deep'] as const;
export type PresetName = (typeof presetNames)[number];

const presets: Readonly<Record<PresetName, () => Either<ShapeError, Network>>> = {
  simple: () => simpleConvNet(),
  double: () => doubleConvNet(),
  deep: () => deepConvNet(),
};

/** Whether `model` names a preset. */
export const isPreset = (model: string): model is PresetName => presetNames.some((p) => p === model);

/** A built network and a short name for it (run folder names, report titles). */
export interface LoadedModel {
  readonly network: Network;
  /** 'simple', 'double', 'deep', or the spec file's base name. */
  readonly name: string;
}

/**
 * Builds the network a `--model` value names: a preset, or a JSON spec file (relative to `cwd`).
 * Every failure is a UsageError naming the model: a missing file, bad JSON, a shape that does not
 * fit.
 *
 * @example
 * loadModel('simple', process.cwd()).network.outputShape; // [10]
 */
export const loadModel = (model: string, cwd: string): LoadedModel => {
  if (isPreset(model)) {
    const built = presets[model]();
    if (isLeft(built)) throw new UsageError(`model ${model}: ${built.left.message}`);
    return { network: built.right, name: model };
  }
  if (!model.endsWith('.json')) {
    throw new UsageError(`model ${JSON.stringify(model)}: expected ${presetNames.join(', ')} or a JSON model spec file (*.json)`);
  }
  return { network: networkFromSpec(readUserJson(cwd, model, 'model spec'), model), name: modelShortName(model) };
};

/** A run-folder-safe short name: the spec file's base name without .json. */
export const modelShortName = (model: string): string =>
  isPreset(model) ? model : path.basename(model, '.json').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'model';

/** Deepest nesting of arrays and objects a model spec may have (a nested sequential costs two levels). */
export const MAX_SPEC_DEPTH = 64;

/** How deeply arrays and objects nest in a JSON value, counted with an explicit stack (no recursion), stopping past `limit`. */
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

/**
 * Rebuilds a network from a JSON model spec (a checkpoint's `model` metadata, a spec file's
 * content); `where` names the source in errors. A spec nested deeper than MAX_SPEC_DEPTH is
 * refused before decoding (the decoder recurses into sequential layers, and thousands of levels
 * would exhaust the stack).
 *
 * @example
 * networkFromSpec(JSON.parse(text), 'my-net.json');
 */
export const networkFromSpec = (json: unknown, where: string): Network => {
  if (nestingDepth(json, MAX_SPEC_DEPTH) > MAX_SPEC_DEPTH) {
    throw new UsageError(`${where}: nested more than ${MAX_SPEC_DEPTH} levels deep (arrays and objects), more than any model needs`);
  }
  let decoded: ReturnType<typeof decodeModelSpec>;
  try {
    decoded = decodeModelSpec(json);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`${where}: too large to build (${e.message})`);
    throw e;
  }
  if (isLeft(decoded)) throw new UsageError(`${where}: ${decoded.left.message}`);
  const net = decoded.right;
  // A typed array holds at most 2^31 - 1 values here; a spec asking for more per sample cannot run.
  const tooBig = (shape: readonly number[]): boolean => {
    const n = shape.reduce((a, d) => a * d, 1);
    return !Number.isSafeInteger(n) || n >= 2 ** 31;
  };
  if (tooBig(net.inputShape)) throw new UsageError(`${where}: input [${net.inputShape.join(',')}] holds ${net.inputShape.reduce((a, d) => a * d, 1)} values per sample, more than 2^31 - 1`);
  const i = net.layerShapes.findIndex(tooBig);
  const layer = net.layers[i];
  const shape = net.layerShapes[i];
  if (layer !== undefined && shape !== undefined) {
    throw new UsageError(`${where}: layer ${i} (${layer.name}) output [${shape.join(',')}] holds ${shape.reduce((a, d) => a * d, 1)} values per sample, more than 2^31 - 1`);
  }
  return net;
};

/** Total trainable parameters of a network. @example totalParams(loadModel('simple', '.').network) // 433890 */
export const totalParams = (network: Network): number => summaryRows(network).reduce((a, r) => a + r.params, 0);
