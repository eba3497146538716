import { key, tensor } from '@foldnet/core';
import { streamOf, type Batch, type TrainState } from '@foldnet/train';

/*
 * Observers are reducers over the stream of states, so their tests run on a stand-in step that only
 * counts steps and reports a scripted loss: no network needed.
 */

/** The state before step 1. */
export const s0: TrainState<null> = { step: 0, params: {}, layerState: {}, opt: null, key: key(0), loss: Number.NaN, fault: undefined };
const dummy: Batch = { x: tensor([0]), targets: Int32Array.of(0) };
/** n batches the stand-in step ignores. */
export const batches = (n: number) => streamOf(() => dummy, n);

/** A step whose loss after step t is losses[t - 1] (0 past the end), with no fault; counts its calls in `calls.n`. */
export const scripted = (losses: readonly number[], calls = { n: 0 }) => (s: TrainState<null>): TrainState<null> => {
  calls.n++;
  return { ...s, step: s.step + 1, loss: losses[s.step] ?? 0, fault: undefined };
};
