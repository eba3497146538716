import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { saveOnnx } from '@foldnet/train';
import { UsageError } from '../errors.js';
import { optBoolean, optString } from '../flags.js';
import type { Io } from '../io.js';
import { loadTrainedNetwork } from './common.js';

/**
 * `foldnet export <checkpoint> --onnx <model.onnx> [--softmax]`: the checkpoint's network in
 * inference form as an ONNX model (input `input` [N, ...inputShape], output `logits`, or
 * `probabilities` with --softmax), written atomically. A layer without an ONNX form is an error
 * naming it.
 *
 * @example
 * await exportCommand('runs/x/checkpoint.safetensors', { onnx: 'model.onnx' }, nodeIo());
 * // prints: wrote model.onnx (SimpleConvNet at step 1000: input [N,1,28,28] -> logits [N,10])
 */
export const exportCommand = async (file: string, opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const onnx = optString(opts, 'onnx');
  if (onnx === undefined) throw new UsageError('give the output file: --onnx <model.onnx>');
  const softmax = optBoolean(opts, 'softmax') === true;
  const { checkpoint, network, params, layerState } = loadTrainedNetwork(file, io);
  const r = saveOnnx(path.resolve(io.cwd, onnx), network, params, layerState, { softmax });
  if (isLeft(r)) throw r.left;
  const output = softmax ? 'probabilities' : 'logits';
  io.out(`wrote ${onnx} (step ${checkpoint.step}: input [N,${network.inputShape.join(',')}] -> ${output} [N,${network.outputShape.join(',')}])\n`);
};
