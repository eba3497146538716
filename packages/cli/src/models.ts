import * as path from 'node:path';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { decodeModelSpec, deepConvNet, doubleConvNet, resnet, simpleConvNet, summaryRows, type Network, type ShapeError, type WeightInit } from '@foldnet/layers';
import { UsageError } from './errors.js';
import { readUserJson } from './io.js';
import { isPreset, presetNames, type PresetName } from './preset-names.js';

/*
 * `--model` and the <model> arguments: a preset name or a JSON model spec file.
 */

export { presetNames, isPreset, type PresetName } from './preset-names.js';

/** What a preset is built for when the data is not the lesson's [1, 28, 28] images of 10 classes (an image folder). */
export interface ModelInput {
  readonly inputDim: readonly number[];
  readonly classes: number;
}

type PresetOptions = { readonly weightInit: WeightInit | undefined } & ({ readonly inputDim: readonly number[]; readonly outputSize: number } | Record<never, never>);

const presets: Readonly<Record<PresetName, (o: PresetOptions) => Either<ShapeError, Network>>> = {
  simple: (o) => simpleConvNet(o),
  double: (o) => doubleConvNet(o),
  deep: (o) => deepConvNet(o),
  resnet: (o) => resnet(o),
};

/**
 * Checks that a network built from a spec (or a checkpoint) takes `input`'s images and gives one
 * logit per class; the UsageError names the model and both shapes.
 *
 * @example expectModelFits(net, 'net.json', { inputDim: [3, 32, 32], classes: 2 });
 */
export const expectModelFits = (network: Network, model: string, input: ModelInput): void => {
  const shape = (s: readonly number[]): string => `[${s.join(',')}]`;
  if (shape(network.inputShape) !== shape(input.inputDim)) {
    throw new UsageError(`${model}: the network takes inputs ${shape(network.inputShape)}, the images are ${shape(input.inputDim)} (channels, height, width): give --channels and --image-size to match, or a model that takes them`);
  }
  if (shape(network.outputShape) !== shape([input.classes])) {
    throw new UsageError(`${model}: the network gives ${shape(network.outputShape)} outputs, the data has ${input.classes} classes`);
  }
};

/** A built network and a short name for it (run folder names, report titles). */
export interface LoadedModel {
  readonly network: Network;
  /** A preset's name, or the spec file's base name. */
  readonly name: string;
}

/**
 * Builds the network a `--model` value names: a preset, or a JSON spec file (relative to `cwd`).
 * Every failure is a UsageError naming the model: a missing file, bad JSON, a shape that does not
 * fit.
 *
 * `weightInit` (a preset's only; null or absent: the preset's own) redraws a preset's weights; a spec sets
 * its own per layer, so giving one with a spec is refused. `input` (an image folder's shape and classes)
 * builds a preset for it, and a spec must take it (expectModelFits).
 *
 * @example
 * loadModel('simple', process.cwd()).network.outputShape; // [10]
 * loadModel('double', process.cwd(), 'he'); // DoubleConvNet drawn with He's std
 */
export const loadModel = (model: string, cwd: string, weightInit: WeightInit | null = null, input?: ModelInput): LoadedModel => {
  if (isPreset(model)) {
    const built = presets[model]({ weightInit: weightInit ?? undefined, ...(input === undefined ? {} : { inputDim: input.inputDim, outputSize: input.classes }) });
    if (isLeft(built)) throw new UsageError(`model ${model}: ${built.left.message}`);
    return { network: built.right, name: model };
  }
  if (!model.endsWith('.json')) {
    throw new UsageError(`model ${JSON.stringify(model)}: expected ${presetNames.join(', ')} or a JSON model spec file (*.json)`);
  }
  if (weightInit !== null) throw new UsageError(`--weight-init applies to the presets; the model spec ${model} sets weightInit on each layer`);
  const network = networkFromSpec(readUserJson(cwd, model, 'model spec'), model);
  if (input !== undefined) expectModelFits(network, model, input);
  return { network, name: modelShortName(model) };
};

/** A run-folder-safe short name: the spec file's base name without .json. */
export const modelShortName = (model: string): string =>
  isPreset(model) ? model : path.basename(model, '.json').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'model';

/**
 * Rebuilds a network from a JSON model spec (a checkpoint's `model` metadata, a spec file's
 * content); `where` names the source in errors. decodeModelSpec refuses specs nested deeper than
 * MAX_SPEC_DEPTH and shapes no typed array can hold.
 *
 * @example
 * networkFromSpec(JSON.parse(text), 'my-net.json');
 */
export const networkFromSpec = (json: unknown, where: string): Network => {
  const decoded = decodeModelSpec(json);
  if (isLeft(decoded)) {
    // an unknown type is most often a layer of one's own whose plugin was not given
    const hint = decoded.left.path.endsWith('.type') ? ' (a layer type of your own? load the module that registers it with --plugin <module>)' : '';
    throw new UsageError(`${where}: ${decoded.left.message}${hint}`);
  }
  return decoded.right;
};

/** Total trainable parameters of a network. @example totalParams(loadModel('simple', '.').network) // 433890 */
export const totalParams = (network: Network): number => summaryRows(network).reduce((a, r) => a + (r.depth === 0 ? r.params : 0), 0);
