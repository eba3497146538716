import { summary, summaryRows } from '@foldnet/layers';
import type { Io } from '../io.js';
import { optBoolean } from '../flags.js';
import { loadModel, totalParams } from '../models.js';

/**
 * `foldnet summary <simple|double|deep|spec.json> [--json]`: the layer table with output shapes
 * and parameter counts, and the total.
 *
 * @example
 * await summaryCommand('simple', {}, nodeIo()); // prints the table; total 433,890
 */
export const summaryCommand = async (model: string, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const { network, name } = loadModel(model, io.cwd);
  if (optBoolean(opts, 'json') === true) {
    io.out(`${JSON.stringify({ model: name, input: network.inputShape, layers: summaryRows(network), totalParams: totalParams(network) })}\n`);
    return;
  }
  io.out(`${name}\n${summary(network)}\n`);
};
