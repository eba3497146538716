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

const presets: Readonly<Record<PresetName, (weightInit: WeightInit | undefined) => Either<ShapeError, Network>>> = {
  simple: (weightInit) => simpleConvNet({ weightInit }),
  double: (weightInit) => doubleConvNet({ weightInit }),
  deep: (weightInit) => deepConvNet({ weightInit }),
  resnet: (weightInit) => resnet({ weightInit }),
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
 * its own per layer, so giving one with a spec is refused.
 *
 * @example
 * loadModel('simple', process.cwd()).network.outputShape; // [10]
 * loadModel('double', process.cwd(), 'he'); // DoubleConvNet drawn with He's std
 */
export const loadModel = (model: string, cwd: string, weightInit: WeightInit | null = null): LoadedModel => {
  if (isPreset(model)) {
    const built = presets[model](weightInit ?? undefined);
    if (isLeft(built)) throw new UsageError(`model ${model}: ${built.left.message}`);
    return { network: built.right, name: model };
  }
  if (!model.endsWith('.json')) {
    throw new UsageError(`model ${JSON.stringify(model)}: expected ${presetNames.join(', ')} or a JSON model spec file (*.json)`);
  }
  if (weightInit !== null) throw new UsageError(`--weight-init applies to the presets; the model spec ${model} sets weightInit on each layer`);
  return { network: networkFromSpec(readUserJson(cwd, model, 'model spec'), model), name: modelShortName(model) };
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
