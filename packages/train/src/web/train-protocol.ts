import type { OptimizerName } from '../optim/optimizer.js';

/*
 * What the page and the training Worker say to each other (train-in-worker.ts on the page, train-worker.ts in the
 * Worker). Everything is plain data for structured cloning: tensors travel as { shape, data }.
 */

/** Images as they travel: [N, C, H, W] float32. */
export interface ImagesData {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A labelled split as it travels: images and their class indices. */
export interface SplitData {
  readonly images: ImagesData;
  readonly labels: Int32Array;
}

/** The data of a run: both splits given, or an MNIST-format folder the Worker fetches itself (see fetchMnist). */
export type TrainData =
  | { readonly train: SplitData; readonly test: SplitData }
  | { readonly baseUrl: string; readonly gz?: boolean; readonly trainSize: number; readonly testSize: number };

/** An optimizer by name with its hyper-parameters, as `foldnet train --optimizer adam --lr 0.001`. @example { type: 'adam', lr: 0.001 } */
export interface OptimizerChoice {
  readonly type: OptimizerName;
  readonly lr?: number;
  readonly momentum?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly decayRate?: number;
  readonly weightDecay?: number;
}

/**
 * A training run, as `foldnet train` would make it with the same flags: the key split into (model, data) from
 * `seed`, batches drawn with replacement from the whole training split, an evaluation of both splits every
 * `evalEvery` steps and at the last one.
 */
export interface TrainJob {
  /** A JSON model spec (a preset's is `simpleConvNet().right.spec`). */
  readonly model: unknown;
  readonly data: TrainData;
  /** Default adam with its default rate (0.001). */
  readonly optimizer?: OptimizerChoice;
  readonly iters: number;
  /** Default 100. */
  readonly batchSize?: number;
  /** Default 10 (as foldnet train); 0: only at the end. */
  readonly evalEvery?: number;
  /** Default 0. */
  readonly seed?: number;
  /** The fast kernels' threads in the Worker (1 where the page is not cross-origin isolated); default: the core's own. */
  readonly threads?: number;
  /** Steps between two turns of the Worker's event loop, where pause and stop are heard; default 1. */
  readonly stepsPerTurn?: number;
  /** Stored as the checkpoint's `config` metadata (foldnet eval reads `dataset` from it); default { dataset: 'mnist', ... the job's numbers }. */
  readonly config?: unknown;
}

/** One evaluation: the fields and meaning of a metrics.jsonl line of `foldnet train`. */
export interface MetricsRecord {
  readonly step: number;
  /** Mean finite batch loss of the steps since the evaluation before (NaN when there was none). */
  readonly loss: number;
  readonly train_acc: number;
  readonly test_acc: number;
  readonly test_loss: number;
  /** Seconds since training started. */
  readonly elapsed_s: number;
}

/** Page -> Worker. */
export type ToTrainWorker =
  | { readonly type: 'start'; readonly job: TrainJob }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' };

/** What a finished run gives back. */
export interface TrainOutcome {
  /** The last state as a safetensors checkpoint, the bytes `foldnet train` writes for it (see encodeTrainState). */
  readonly checkpoint: Uint8Array;
  readonly step: number;
  /** true when stop() ended it before `iters` (no final evaluation then). */
  readonly stopped: boolean;
  /** The test split's confusion matrix at the last evaluation: [true][predicted]. */
  readonly confusion: readonly (readonly number[])[];
  /** The threads the fast kernels used. */
  readonly threads: number;
}

/** Worker -> page. `loaded` comes first, before the page may send anything (the kernels compile at load). */
export type FromTrainWorker =
  | { readonly type: 'loaded' }
  | { readonly type: 'step'; readonly step: number; readonly loss: number }
  | { readonly type: 'record'; readonly record: MetricsRecord }
  | { readonly type: 'paused'; readonly step: number }
  | { readonly type: 'resumed'; readonly step: number }
  | ({ readonly type: 'done' } & TrainOutcome)
  | { readonly type: 'error'; readonly message: string };
