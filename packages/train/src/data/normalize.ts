import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError, fromData, type Tensor } from '@foldnet/core';

/*
 * Per-channel normalisation, as torchvision's Normalize: x' = (x - mean[c]) / std[c], with the mean
 * and the (population) standard deviation of each channel measured over every pixel of the training
 * images. The statistics are float32 values (JSON keeps them exactly), and the map is computed in
 * float32 as two steps, a subtraction then a division, each rounded: exactly what an ONNX graph's
 * Sub and Div nodes compute, so an exported model sees the same inputs bit for bit.
 */

/** Each channel's mean and standard deviation. @example { mean: [0.1307], std: [0.3081] } */
export interface ChannelStats {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * The mean and standard deviation of each channel of `images` [N, C, H, W] (float64 sums, rounded to
 * float32). A channel that never varies (std 0) gets std 1: it is only centred.
 *
 * @example
 * channelStats(train.images); // { mean: [0.1307...], std: [0.3081...] } for MNIST
 */
export const channelStats = (images: Tensor): ChannelStats => {
  const [n = 0, c = 1] = images.shape;
  const plane = images.shape.slice(2).reduce((a, b) => a * b, 1);
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) for (let p = (i * c + ch) * plane, end = p + plane; p < end; p++) sum += images.data[p];
    const count = n * plane;
    const m = count === 0 ? 0 : sum / count;
    // the second pass around the mean: no cancellation from E[x^2] - E[x]^2
    let squares = 0;
    for (let i = 0; i < n; i++) {
      for (let p = (i * c + ch) * plane, end = p + plane; p < end; p++) {
        const d = images.data[p] - m;
        squares += d * d;
      }
    }
    const s = Math.fround(count === 0 ? 0 : Math.sqrt(squares / count));
    mean.push(Math.fround(m));
    std.push(s > 0 ? s : 1);
  }
  return { mean, std };
};

/**
 * Checks statistics read from elsewhere (a checkpoint) against `channels`: one finite mean and one
 * positive finite std per channel. Left: what is wrong, as a phrase.
 *
 * @example checkChannelStats({ mean: [0.5], std: [0] }, 1); // left('std[0] is 0: ...')
 */
export const checkChannelStats = (stats: ChannelStats, channels: number): Either<string, ChannelStats> => {
  if (stats.mean.length !== channels || stats.std.length !== channels) {
    return left(`normalisation has ${stats.mean.length} means and ${stats.std.length} stds, the network takes ${channels} channels`);
  }
  const badMean = stats.mean.findIndex((m) => !Number.isFinite(m));
  if (badMean >= 0) return left(`normalisation mean[${badMean}] is ${stats.mean[badMean]}, not a finite number`);
  const badStd = stats.std.findIndex((s) => !(Number.isFinite(s) && s > 0));
  if (badStd >= 0) return left(`normalisation std[${badStd}] is ${stats.std[badStd]}, not a positive number`);
  return right({ mean: stats.mean.map(Math.fround), std: stats.std.map(Math.fround) });
};

/**
 * `images` [N, C, ...] normalised per channel: a fresh tensor, (x - mean[c]) / std[c] in float32.
 *
 * @example
 * normalizeImages(test.images, channelStats(train.images));
 */
export const normalizeImages = (images: Tensor, stats: ChannelStats): Tensor => {
  const [n = 0, c = 1] = images.shape;
  if (stats.mean.length !== c || stats.std.length !== c) {
    throw new FoldnetError('shape', `normalizeImages: images have ${c} channels, the statistics ${stats.mean.length}`);
  }
  const plane = images.shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(images.size);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const m = Math.fround(stats.mean[ch]);
      const s = Math.fround(stats.std[ch]);
      for (let p = (i * c + ch) * plane, end = p + plane; p < end; p++) out[p] = Math.fround(images.data[p] - m) / s;
    }
  }
  return fromData(images.shape, out);
};
