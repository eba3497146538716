import { FoldnetError, foldIn, formatShape, permutation, randomIndices, take, type Key, type Tensor } from '@foldnet/core';
import type { Targets } from '@foldnet/layers';

/*
 * Batches as lazy, seeded, restartable streams. Batch i is a pure function of (key, i): with
 * replacement, its indices are drawn from foldIn(key, i); without, epoch e is the permutation
 * drawn from foldIn(key, e) and batch i a slice of it. So a stream restarted at step k
 * (`stream.from(k)`) gives exactly the batches an uninterrupted stream gives from k on, and
 * resuming from a checkpoint equals never having stopped.
 */

/**
 * A lazy sequence with random access: `at(i)` is element i (a pure function of i), iteration
 * yields at(start), at(start+1), ... up to `length` (Infinity for an unbounded stream).
 *
 * @example
 * const s = sampleWithReplacement({ key: key(1), n: 5000, batchSize: 100, steps: 1000 });
 * s.length;            // 1000
 * s.at(7).indices;     // the indices of batch 7, always the same
 * [...s.from(998)];    // the last two batches
 */
export interface Stream<A> extends Iterable<A> {
  /** Index of the first element iteration yields. */
  readonly start: number;
  /** One past the last element's index (Infinity when unbounded). */
  readonly length: number;
  /** Element i, for any start <= i < length (and any i >= 0 in practice). */
  at(i: number): A;
  /** The same stream, iterated from element `i` (restarting a run at step i). */
  from(i: number): Stream<A>;
  /** The same stream, ending before element `end` (at most; never longer). */
  until(end: number): Stream<A>;
}

/** One batch's sample indices into the data set, and its position in the stream. */
export interface IndexBatch {
  /** The stream position: the training step this batch is for. */
  readonly step: number;
  /** Row indices into the data set, Int32Array [batchSize] (shorter for a final partial batch). */
  readonly indices: Int32Array;
}

/** What a training step consumes: inputs, targets and (for fault reports) the rows they came from. */
export interface Batch {
  /** Inputs [B, ...sample shape]. */
  readonly x: Tensor;
  /** Labels Int32Array [B] or one-hot Tensor [B, K]. */
  readonly targets: Targets;
  /** The data set rows of this batch, when it was gathered from one. */
  readonly indices?: Int32Array;
}

/** A labelled data set: inputs [N, ...] and labels [N] or one-hot [N, K]. */
export interface LabeledData {
  readonly x: Tensor;
  readonly targets: Targets;
}

/**
 * Builds a stream from its element function; iteration runs i = start .. length-1.
 *
 * @example streamOf((i) => i * i, 10).at(3) // 9
 */
export const streamOf = <A>(at: (i: number) => A, length: number, start = 0): Stream<A> => {
  if (!(Number.isInteger(start) && start >= 0)) throw new FoldnetError('value', `stream: start must be a non-negative integer, got ${start}`);
  if (!(length === Infinity || (Number.isInteger(length) && length >= 0))) {
    throw new FoldnetError('value', `stream: length must be a non-negative integer or Infinity, got ${length}`);
  }
  return Object.freeze({
    start,
    length,
    at,
    from: (i: number) => streamOf(at, length, i),
    until: (end: number) => streamOf(at, Math.min(length, end), start),
    *[Symbol.iterator]() {
      for (let i = start; i < length; i++) yield at(i);
    },
  });
};

/**
 * f applied lazily to every element: `mapStream(s, f).at(i) = f(s.at(i))`, restartable like `s`.
 *
 * @example mapStream(indexStream, (b) => b.indices.length)
 */
export const mapStream = <A, B>(s: Stream<A>, f: (a: A) => B): Stream<B> =>
  Object.freeze({
    start: s.start,
    length: s.length,
    at: (i: number) => f(s.at(i)),
    from: (i: number) => mapStream(s.from(i), f),
    until: (end: number) => mapStream(s.until(end), f),
    // iterate the source (not `at`), so streams that share work between elements keep doing so
    *[Symbol.iterator]() {
      for (const a of s) yield f(a);
    },
  });

const positiveInt = (op: string, what: string, v: number): void => {
  if (!Number.isInteger(v) || v < 1) throw new FoldnetError('value', `${op}: ${what} must be a positive integer, got ${v}`);
};

/** Options of `sampleWithReplacement`. */
export interface SampleOptions {
  /** The stream's key; batch i uses foldIn(key, i). Split it from the init key. */
  readonly key: Key;
  /** Data set size: indices are drawn from [0, n). */
  readonly n: number;
  readonly batchSize: number;
  /** Number of batches (training steps); unbounded when omitted. */
  readonly steps?: number;
}

/**
 * The lesson's sampling: each step draws `batchSize` indices uniformly from [0, n) with
 * replacement (`np.random.choice(train_size, batch_size)`), batch i from foldIn(key, i).
 *
 * @example
 * const s = sampleWithReplacement({ key: dataKey, n: 5000, batchSize: 100, steps: 1000 });
 * s.at(0).indices.length; // 100
 */
export const sampleWithReplacement = ({ key, n, batchSize, steps }: SampleOptions): Stream<IndexBatch> => {
  positiveInt('sampleWithReplacement', 'n', n);
  positiveInt('sampleWithReplacement', 'batchSize', batchSize);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 0)) {
    throw new FoldnetError('value', `sampleWithReplacement: steps must be a non-negative integer, got ${steps}`);
  }
  return streamOf((i) => Object.freeze({ step: i, indices: randomIndices(foldIn(key, i), n, batchSize) }), steps ?? Infinity);
};

/** Options of `shuffledEpochs`. */
export interface EpochOptions {
  /** The stream's key; epoch e is the permutation drawn from foldIn(key, e). */
  readonly key: Key;
  readonly n: number;
  readonly batchSize: number;
  /** Number of passes over the data; unbounded when omitted. */
  readonly epochs?: number;
  /**
   * What to do with the last n mod batchSize samples of each epoch: false (the default) keeps
   * them as a final, smaller batch, so every sample is seen once per epoch; true drops them
   * (every batch has batchSize rows; the dropped samples differ from epoch to epoch).
   */
  readonly dropLast?: boolean;
}

/** How many batches one epoch of `shuffledEpochs` has. @example batchesPerEpoch(1050, 100, false) // 11 */
export const batchesPerEpoch = (n: number, batchSize: number, dropLast = false): number =>
  dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);

/**
 * Epochs without replacement: each epoch visits a fresh permutation of [0, n) (drawn from
 * foldIn(key, epoch)) in consecutive slices of `batchSize`. Batch i is batch i mod B of epoch
 * floor(i / B), B = batchesPerEpoch(n, batchSize, dropLast). Iteration computes each epoch's
 * permutation once; `at(i)` recomputes it (O(n)).
 *
 * @example
 * const s = shuffledEpochs({ key: dataKey, n: 60000, batchSize: 100, epochs: 1 });
 * s.length; // 600
 */
export const shuffledEpochs = ({ key, n, batchSize, epochs, dropLast = false }: EpochOptions): Stream<IndexBatch> => {
  positiveInt('shuffledEpochs', 'n', n);
  positiveInt('shuffledEpochs', 'batchSize', batchSize);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 0)) {
    throw new FoldnetError('value', `shuffledEpochs: epochs must be a non-negative integer, got ${epochs}`);
  }
  const perEpoch = batchesPerEpoch(n, batchSize, dropLast);
  if (perEpoch === 0) {
    throw new FoldnetError('value', `shuffledEpochs: batchSize ${batchSize} > n ${n} with dropLast leaves no batch`);
  }
  const length = epochs === undefined ? Infinity : epochs * perEpoch;
  const batchOf = (perm: Int32Array, i: number): IndexBatch => {
    const j = i % perEpoch;
    return Object.freeze({ step: i, indices: perm.slice(j * batchSize, Math.min(n, (j + 1) * batchSize)) });
  };
  const at = (i: number): IndexBatch => batchOf(permutation(foldIn(key, Math.floor(i / perEpoch)), n), i);
  const make = (start: number, end: number): Stream<IndexBatch> => {
    const base = streamOf(at, end, start);
    return Object.freeze({
      ...base,
      from: (i: number) => make(i, end),
      until: (e: number) => make(start, Math.min(end, e)),
      // one permutation per epoch while iterating: the only state is local to this generator
      *[Symbol.iterator]() {
        let epoch = -1;
        let perm: Int32Array = new Int32Array(0);
        for (let i = start; i < end; i++) {
          const e = Math.floor(i / perEpoch);
          if (e !== epoch) {
            epoch = e;
            perm = permutation(foldIn(key, e), n);
          }
          yield batchOf(perm, i);
        }
      },
    });
  };
  return make(0, length);
};

/** Rows `indices` of the targets: a label subset or the one-hot rows. */
const takeTargets = (targets: Targets, indices: Int32Array): Targets => {
  if (!(targets instanceof Int32Array)) return take(targets, indices);
  const out = new Int32Array(indices.length);
  for (let r = 0; r < indices.length; r++) out[r] = targets[indices[r]];
  return out;
};

/** The number of samples of a data set, checking that inputs and targets agree. */
export const sizeOfData = (op: string, data: LabeledData): number => {
  if (data.x.shape.length === 0) throw new FoldnetError('shape', `${op}: inputs ${formatShape(data.x.shape)} have no sample axis`);
  const n = data.x.shape[0];
  const t = data.targets instanceof Int32Array ? data.targets.length : data.targets.shape[0];
  if (t !== n) throw new FoldnetError('shape', `${op}: ${n} inputs ${formatShape(data.x.shape)} but ${t} targets`);
  return n;
};

/**
 * Gathers each index batch from the data set (core's `take`): a lazy, restartable stream of
 * `{ x, targets, indices }`.
 *
 * @example
 * const batches = batchesOf({ x: images, targets: labels }, sampleWithReplacement({ key: k, n: 5000, batchSize: 100, steps: 1000 }));
 * batches.at(0).x.shape; // [100, 1, 28, 28]
 */
export const batchesOf = (data: LabeledData, indexStream: Stream<IndexBatch>): Stream<Batch> => {
  const n = sizeOfData('batchesOf', data);
  return mapStream(indexStream, ({ indices }): Batch => {
    for (const i of indices) {
      if (i >= n) throw new FoldnetError('value', `batchesOf: index ${i} is out of range for a data set of ${n} samples`);
    }
    return Object.freeze({ x: take(data.x, indices), targets: takeTargets(data.targets, indices), indices });
  });
};
