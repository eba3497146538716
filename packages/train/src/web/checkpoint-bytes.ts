import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { decodeSafetensors, type CheckpointError } from '../checkpoint/safetensors.js';
import { decodeTrainState, type TrainStateCheckpoint } from '../checkpoint/train-state.js';

/**
 * A training checkpoint from its bytes (a File the user picked, a fetch, trainInWorker's outcome), with every check
 * `loadTrainState` makes on a file; `name` names it in errors.
 *
 * @example
 * const r = trainStateFromBytes(file.name, new Uint8Array(await file.arrayBuffer()));
 * if (r._tag === 'Right') checkpointWeights(r.right, network);
 */
export const trainStateFromBytes = (name: string, bytes: Uint8Array): Either<CheckpointError, TrainStateCheckpoint> => {
  const decoded = decodeSafetensors(bytes, { file: name });
  return isLeft(decoded) ? decoded : decodeTrainState(name, decoded.right.metadata, decoded.right.tensors);
};
