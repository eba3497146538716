/** What differs in a browser: data from fetch, File and Blob; checkpoints as bytes; training in a dedicated Worker. */
export { gunzipBytes, idxFromBytes, idxFromBlob, fetchBytes, fetchIdx, fetchMnist, fetchMnistSplit, type FetchMnistOptions, type MnistFolder } from './data.js';
export { trainStateFromBytes } from './checkpoint-bytes.js';
export { trainInWorker, type TrainInWorkerOptions, type TrainRun, type WorkerEventLike, type WorkerLike } from './train-in-worker.js';
export { runTrainJob, TrainJobError, type JobControl } from './train-job.js';
export type { ImagesData, MetricsRecord, OptimizerChoice, SplitData, TrainData, TrainJob, TrainOutcome, FromTrainWorker, ToTrainWorker } from './train-protocol.js';
