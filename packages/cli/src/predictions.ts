import type { Tensor } from '@foldnet/core';
import { predict, softmax, type LayerState, type Network, type Params } from '@foldnet/layers';
import type { ShownImage } from './images.js';
import type { FilterBank, Misclassified } from './report.js';

/**
 * Class probabilities of every image: the network's logits in eval mode (layers' `predict`,
 * batch by batch), through softmax. x: [N, ...inputShape] -> { probs: [N*K] row-major, classes: K }.
 *
 * @example
 * const { probs, classes } = predictAll(net, params, state, test.images); // classes 10
 */
export const predictAll = (
  network: Network,
  params: Params,
  layerState: LayerState,
  x: Tensor,
  batchSize = 100,
): { readonly probs: Float64Array; readonly classes: number } => {
  const y = softmax(predict(network, params, layerState, x, { batchSize }));
  return { probs: Float64Array.from(y.data), classes: y.shape[1] ?? 0 };
};

/** The index of the largest of `classes` values from `offset` (the first on ties, as argmax). */
export const argmaxAt = (values: ArrayLike<number>, offset: number, classes: number): number => {
  let best = 0;
  for (let k = 1; k < classes; k++) if ((values[offset + k] ?? -Infinity) > (values[offset + best] ?? -Infinity)) best = k;
  return best;
};

/**
 * The misclassified images (the first `limit`, in test-set order) and how many there were, as the
 * report draws them from x: [N, C, H, W]: in colour when C is 3 (an RGB image folder), else from
 * the first channel.
 */
export const misclassifiedOf = (
  predictions: { readonly probs: Float64Array; readonly classes: number },
  x: Tensor,
  labels: Int32Array,
  limit: number,
): { readonly shown: readonly Misclassified[]; readonly total: number } => {
  const { probs, classes } = predictions;
  const [n = 0, c = 1, h = 1, w = 1] = x.shape;
  const per = x.size / Math.max(n, 1);
  const shown: Misclassified[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const predicted = argmaxAt(probs, i * classes, classes);
    const label = labels[i] ?? 0;
    if (predicted === label) continue;
    total++;
    if (shown.length < limit) {
      const valuesFrom = (count: number): number[] => Array.from({ length: count }, (_, k) => x.data[i * per + k] ?? 0);
      const image: ShownImage = c === 3 && x.shape.length === 4 ? { width: w, height: h, planes: valuesFrom(3 * h * w) } : { width: w, height: h, pixels: valuesFrom(h * w) };
      shown.push({ index: i, image, trueLabel: label, predicted, probability: probs[i * classes + predicted] ?? 0 });
    }
  }
  return { shown, total };
};

/**
 * The weights W: [F, C, FH, FW] of the network's first convolution, or null when it has none. First in the
 * graph's order, so a convolution inside a residual block or a branch counts (named by its path, `res1.conv1`);
 * found by its op, never by a layer's kind, so a layer of one's own that calls itself conv2d is not taken for one.
 */
export const firstConvFilters = (network: Network, params: Params): FilterBank | null => {
  const conv = network.graph.nodes.find((n) => n.op.type === 'conv2d');
  const w = conv === undefined ? undefined : params[`${conv.name}.W`];
  if (conv === undefined || w === undefined || w.shape.length !== 4) return null;
  const [f = 0, c = 0, fh = 0, fw = 0] = w.shape;
  return { layerName: conv.name, shape: [f, c, fh, fw], data: w.data };
};
