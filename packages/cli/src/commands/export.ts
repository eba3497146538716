import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { saveOnnx } from '@foldnet/train';
import { UsageError } from '../errors.js';
import { optBoolean, optString } from '../flags.js';
import type { Io } from '../io.js';
import { loadTrainedNetwork } from './common.js';
import { checkpointNormalization } from '../folder-data.js';

/**
 * `foldnet export <checkpoint> --onnx <model.onnx> [--softmax]`: the checkpoint's network in
 * inference form as an ONNX model (input `input` [N, ...inputShape], output `logits`, or
 * `probabilities` with --softmax), written atomically. A layer without an ONNX form is an error
 * naming it. A checkpoint that normalised its inputs gets the normalisation as the graph's first
 * nodes (Sub, Div), so the model takes the raw images foldnet predict takes.
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
  // inputs normalised in training are normalised by the graph itself (Sub, Div): the model takes raw [0, 1] images
  const normalize = checkpoint.data?.normalize === undefined ? undefined : checkpointNormalization(file, checkpoint.data.normalize, network.inputShape[0] ?? 1);
  const r = saveOnnx(path.resolve(io.cwd, onnx), network, params, layerState, { softmax, ...(normalize === undefined ? {} : { normalize }) });
  if (isLeft(r)) throw r.left;
  const output = softmax ? 'probabilities' : 'logits';
  const classNames = checkpoint.data?.classNames;
  io.out(
    `wrote ${onnx} (step ${checkpoint.step}: input [N,${network.inputShape.join(',')}] -> ${output} [N,${network.outputShape.join(',')}]` +
      `${normalize === undefined ? '' : '; the input is normalised per channel inside the graph'}${classNames === undefined ? '' : `; classes ${classNames.map((c, k) => `${k} ${c}`).join(', ')}`})\n`,
  );
};
