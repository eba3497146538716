import { timeTrainingSteps, type StepBenchRequest } from '../step-bench.js';

// The benchmark's dedicated Worker: says it has loaded (see worker.ts), then times the steps asked for and answers.
addEventListener('message', (event: MessageEvent<StepBenchRequest>) => {
  void timeTrainingSteps(event.data).then((result) => postMessage(result));
});
postMessage({ loaded: true });
