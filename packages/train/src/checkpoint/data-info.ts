import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { CheckpointError } from './safetensors.js';

/*
 * What a network was trained on that it needs again to be used: the `data` metadata entry of a
 * training checkpoint (CHECKPOINTS.md), JSON
 *
 *   { "classNames": ["cat", "dog"], "normalize": { "mean": [0.48, 0.45, 0.40], "std": [0.22, 0.22, 0.22] } }
 *
 * classNames: the name of each label (an image folder's class folders), for eval, predict and reports;
 * normalize: the per-channel statistics of the training images, applied to every input before the
 * network (x - mean[c]) / std[c], by training, eval, predict and the ONNX export alike.
 * Both keys are optional, and so is the entry: a checkpoint without it (every checkpoint written before
 * it existed) is read as it always was, with no class names and no normalisation.
 */

/** The `data` metadata entry, decoded. @example { classNames: ['cat', 'dog'], normalize: { mean: [0.5], std: [0.25] } } */
export interface CheckpointDataInfo {
  readonly classNames?: readonly string[];
  readonly normalize?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u);

const numbers = (u: unknown): u is readonly number[] => Array.isArray(u) && u.length >= 1 && u.every((v) => typeof v === 'number' && Number.isFinite(v));

/**
 * Decodes the parsed `data` metadata entry: undefined when absent; a Left naming the file and the key
 * for anything but string class names and, per channel, finite means and positive finite stds of
 * equal counts. Unknown keys are ignored (a later foldnet may add some).
 *
 * @example
 * decodeDataInfo('ckpt.safetensors', { classNames: ['a', 'b'] }); // right({ classNames: ['a', 'b'] })
 * decodeDataInfo('ckpt.safetensors', { normalize: { mean: [0], std: [0] } }); // left: ... normalize.std must be positive ...
 */
export const decodeDataInfo = (file: string, json: unknown): Either<CheckpointError, CheckpointDataInfo | undefined> => {
  if (json === undefined) return right(undefined);
  const bad = (detail: string) => left(new CheckpointError('format', file, undefined, `metadata "data": ${detail}`));
  if (!isRecord(json)) return bad('expected a JSON object');
  const { classNames, normalize } = json;
  if (classNames !== undefined && !(Array.isArray(classNames) && classNames.length >= 1 && classNames.every((c) => typeof c === 'string'))) {
    return bad('classNames must be a non-empty array of strings');
  }
  if (normalize !== undefined) {
    if (!isRecord(normalize) || !numbers(normalize['mean']) || !numbers(normalize['std'])) return bad('normalize must be { "mean": [numbers], "std": [numbers] }');
    if (normalize['mean'].length !== normalize['std'].length) return bad(`normalize has ${normalize['mean'].length} means and ${normalize['std'].length} stds`);
    if (!normalize['std'].every((s) => s > 0)) return bad('normalize.std must be positive numbers');
  }
  return right({
    ...(classNames === undefined ? {} : { classNames: classNames.map(String) }),
    ...(isRecord(normalize) && numbers(normalize['mean']) && numbers(normalize['std']) ? { normalize: { mean: normalize['mean'], std: normalize['std'] } } : {}),
  });
};
