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
 * `seed`, batches drawn with replacement from the whole training split (or `epochs` shuffled passes over it), an
 * evaluation of both splits every `evalEvery` steps and at the last one. The same job and seed give the checkpoint
 * `foldnet train` gives with the same flags, bit for bit.
 */
export interface TrainJob {
  /** A JSON model spec (a preset's is `simpleConvNet().right.spec`); with `resume`, default the checkpoint's own. */
  readonly model?: unknown;
  readonly data: TrainData;
  /** Default adam with its default rate (0.001); with `resume`, the checkpoint's optimizer and its settings. */
  readonly optimizer?: OptimizerChoice;
  /** The run's total steps (a resumed run counts from the start too, as `foldnet train --iters`); give this or `epochs`. */
  readonly iters?: number;
  /** Shuffled passes over the training split instead of `iters` (--epochs): epochs * ceil(trainSize / batchSize) steps. */
  readonly epochs?: number;
  /** Default 100. */
  readonly batchSize?: number;
  /** Default 10 (as foldnet train); 0: only at the end. */
  readonly evalEvery?: number;
  /** Default 0. */
  readonly seed?: number;
  /** The loss, as --loss: `ce` (default), `ce:smooth=0.1`, `mse`, `bce`. Evaluations report it too. */
  readonly loss?: string;
  /** The learning-rate schedule, as --lr-schedule: `constant` (default), `cosine`, `step:300,450`, `warmup:5,cosine`. */
  readonly lrSchedule?: string;
  /** The augmentation of training batches, as --augment: `none` (default), `crop:2,flip`, `erase:0.25`. */
  readonly augment?: string;
  /** L2 weight decay (decoupled for adamw), as --weight-decay; overrides `optimizer.weightDecay`. */
  readonly weightDecay?: number;
  /** Which params weight decay reaches, as --decay-params: `weights` (2+ dimensions; default) or `all`. */
  readonly decayParams?: 'weights' | 'all';
  /** Gradients rescaled to this global L2 norm when over it, as --clip-norm; default none. */
  readonly clipNorm?: number;
  /**
   * The bytes of a checkpoint to go on from (`foldnet train`'s checkpoint.safetensors, or an earlier outcome's): its
   * params, optimizer state, key and step. Give the settings of the run it continues (seed, iters, schedule, ...): then
   * the run ends with the params an uninterrupted run gives, bit for bit.
   */
  readonly resume?: Uint8Array;
  /** The fast kernels' threads in the Worker (1 where the page is not cross-origin isolated); default: the core's own. */
  readonly threads?: number;
  /** Steps between two turns of the Worker's event loop, where pause and stop are heard; default 1. */
  readonly stepsPerTurn?: number;
  /** Stored as the checkpoint's `config` metadata (foldnet eval reads `dataset` from it); default { dataset: 'mnist', ... the job's settings }. */
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
