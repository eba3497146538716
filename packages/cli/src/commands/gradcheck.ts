import { key } from '@foldnet/core';
import { checkGradients, formatGradCheckReport, memoryNeeds } from '@foldnet/layers';
import { CheckFailed } from '../errors.js';
import { optNumber } from '../flags.js';
import type { Io } from '../io.js';
import { loadModel } from '../models.js';
import { memoryLimit, refuseOverMemory } from './common.js';

/**
 * `foldnet gradcheck <model>`: backpropagated gradients of every param (and the input) against
 * central finite differences in float64 on the reference kernels. Prints the report; exit 1 when
 * the worst relative error exceeds the tolerance.
 *
 * Params are jittered by N(0, 0.1²) first (`--jitter`): a fresh init has zero biases and weights
 * of std 0.01, so many ReLU and max-pool inputs sit within a finite-difference step of a kink,
 * where no derivative exists and the central difference straddles it. Measured on SimpleConvNet,
 * batch 2, h 1e-6: jitter 0.01 fails on conv1.W at 3 of 3 seeds (rel error 1e-3..5e-3, a kink
 * crossed), jitter 0.1 passes (3e-7).
 *
 * A model or batch that cannot fit in memory (an affine of 10^8 units) is refused before its params are drawn.
 *
 * @example
 * await gradcheckCommand('simple', { tolerance: 1e-5 }, nodeIo());
 */
export const gradcheckCommand = async (model: string, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const { network, name } = loadModel(model, io.cwd);
  const batch = optNumber(opts, 'batchSize') ?? 2;
  // float64 params, their jittered copy and noise, the gradients and a finite difference's two moved copies and
  // direction; every node's output kept for the pullback, as a training step keeps them
  refuseOverMemory({ model: name, batchFlag: `--batch-size ${batch}` }, memoryNeeds(network, { batch, bytesPerValue: 8, paramCopies: 7, backward: true }), memoryLimit(io.env));
  const report = checkGradients(network, network.inputShape, {
    key: key(optNumber(opts, 'seed') ?? 0),
    batch,
    tolerance: optNumber(opts, 'tolerance') ?? 1e-5,
    ...(optNumber(opts, 'atol') === undefined ? {} : { atol: optNumber(opts, 'atol') }),
    jitter: optNumber(opts, 'jitter') ?? 0.1,
    maxElements: optNumber(opts, 'elements') ?? 64,
  });
  io.out(`${name}: ${formatGradCheckReport(report)}\n`);
  if (!report.ok) {
    throw new CheckFailed(`max relative error ${report.maxRelError.toExponential(2)} exceeds the tolerance ${report.tolerance.toExponential(0)}`);
  }
};
