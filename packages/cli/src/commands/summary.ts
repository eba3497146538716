import type { Io } from '../io.js';
import { optBoolean } from '../flags.js';
import { formatSummary, loadModel, summarize } from '../models.js';

/**
 * `foldnet summary <simple|double|deep|spec.json> [--json]`: the layer table with output shapes
 * and parameter counts.
 *
 * @example
 * await summaryCommand('simple', {}, nodeIo()); // prints the table; total 433,890
 */
export const summaryCommand = async (model: string, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const { network, name } = loadModel(model, io.cwd);
  const s = summarize(network);
  if (optBoolean(opts, 'json') === true) {
    io.out(`${JSON.stringify({ model: name, ...s })}\n`);
    return;
  }
  io.out(`${name}\n${formatSummary(s)}\n`);
};
