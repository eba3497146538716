/**
 * Training as a fold: a state value, a pure step, lazy seeded batch streams, `scan` (a generator
 * of states), `fit` (the reduce), observers (periodic evaluation and checkpoints, early stopping,
 * progress, numeric faults, the loss history, stopping on an abort signal), `printProgress` (progress
 * lines to a stream the caller chooses) and `evaluate`.
 *
 * @example
 * import { adam, batchesOf, evaluate, fit, initTrainState, sampleWithReplacement, trainStep } from '@foldnet/train';
 * const [modelKey, dataKey] = split(key(42));
 * const s0 = initTrainState(net, adam(), modelKey);
 * const batches = batchesOf(train, sampleWithReplacement({ key: dataKey, n: 5000, batchSize: 100, steps: 1000 }));
 * const s = fit(trainStep(net, adam()), s0, batches);
 * evaluate(net, s.params, s.layerState, test).accuracy;
 */
export {
  streamOf, mapStream, sampleWithReplacement, shuffledEpochs, batchesPerEpoch, batchesOf, sizeOfData,
  type Stream, type IndexBatch, type Batch, type LabeledData, type SampleOptions, type EpochOptions,
} from './batches.js';
export {
  initTrainState, trainStep, locateNonFinite, augmentKey,
  type TrainState, type NumericFault, type InitTrainOptions, type TrainStepOptions,
} from './state.js';
export { scan, fit, observe, fitObserved, followObserved, combine, type Step, type FoldOptions, type Observer, type Observed } from './fold.js';
export {
  periodicEvaluation, earlyStopping, progress, periodicCheckpoint, numericFaults, lossHistory, lossPoints, meanLossAfter, lossStalledAfter, abortable,
  type EvaluationEntry, type EvaluationLog, type PeriodicEvaluationOptions, type EarlyStoppingOptions, type EarlyStoppingAcc,
  type ProgressEvent, type ProgressAcc, type CheckpointDue, type PeriodicCheckpointOptions, type FaultLog, type LossHistory,
  type AbortFlag, type AbortableAcc,
} from './observers.js';
export {
  printProgress, tickProgress, startProgressClock, progressLine, formatDuration,
  type TextSink, type PrintProgressOptions, type ProgressClock, type ProgressPace,
} from './progress-printer.js';
export { evaluate, evaluator, type Evaluation, type EvaluateOptions } from './evaluate.js';
