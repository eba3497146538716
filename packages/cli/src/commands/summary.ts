import { summary, summaryRows } from '@foldnet/layers';
import { readTrainCheckpoint } from '../checkpoint.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { optBoolean } from '../flags.js';
import { isPreset, loadModel, modelShortName, networkFromSpec, totalParams, type LoadedModel } from '../models.js';
import { presetNames } from '../preset-names.js';

/**
 * The network a summary describes: a preset, a JSON model spec, or the spec stored in a checkpoint
 * (`*.safetensors`: the network it was trained as, at its step).
 */
const describedModel = (model: string, io: Io): LoadedModel & { readonly step?: number } => {
  if (isPreset(model) || model.endsWith('.json')) return loadModel(model, io.cwd);
  if (!model.endsWith('.safetensors')) {
    throw new UsageError(`model ${JSON.stringify(model)}: expected ${presetNames.join(', ')} or a JSON model spec file (*.json), or a checkpoint (*.safetensors)`);
  }
  const checkpoint = readTrainCheckpoint(model, io.cwd);
  if (checkpoint.model === undefined) throw new UsageError(`${model}: no model spec in its metadata ("model"), so its network cannot be described`);
  return { network: networkFromSpec(checkpoint.model, `${model}: model spec`), name: modelShortName(model), step: checkpoint.step };
};

/**
 * `foldnet summary <preset|spec.json|checkpoint.safetensors> [--json]`: the layer table
 * with output shapes and parameter counts, and the total.
 *
 * @example
 * await summaryCommand('simple', {}, nodeIo()); // prints the table; total 433,890
 * await summaryCommand('runs/a/checkpoint.safetensors', {}, nodeIo()); // the network the checkpoint holds, at its step
 */
export const summaryCommand = async (model: string, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const { network, name, step } = describedModel(model, io);
  if (optBoolean(opts, 'json') === true) {
    io.out(`${JSON.stringify({ model: name, ...(step === undefined ? {} : { step }), input: network.inputShape, layers: summaryRows(network), totalParams: totalParams(network) })}\n`);
    return;
  }
  io.out(`${step === undefined ? name : `${model} (step ${step})`}\n${summary(network)}\n`);
};
