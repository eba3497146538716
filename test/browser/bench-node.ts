import { timeTrainingSteps } from './step-bench.js';

// Node's side of bench.ts, one measurement per process (as `foldnet bench` runs): argv threads, warm-up, steps; prints
// the StepBenchResult as JSON.
const [threads = 1, warmup = 5, steps = 30] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(await timeTrainingSteps({ threads, warmup, steps })));
