#!/usr/bin/env node
/**
 * Where the threads idle in a preset's training step (or evaluation): records every job of the fast kernels' pool
 * (core's traceJobs) over --steps steps and prints, per step, the wall time, the time inside split jobs, this thread's
 * wait for the workers' last units, the workers' busy and idle time inside jobs, the kernels run on this thread alone
 * (too small to split) and the time between jobs (JavaScript, and WebAssembly that never goes through the pool); then
 * the jobs by export, and (--jobs) every job of a step by its position, medians over the steps.
 *
 *   node scripts/trace-jobs.mjs --model resnet --threads 2 --steps 20 [--warm 5] [--eval] [--batch 100] [--jobs]
 *
 * --warm: untimed steps (or evaluations) first. V8 optimises the JavaScript run once a step (the optimizer's update,
 * the graph runner, the kernels' set-up) only after tens of steps: resnet's time between jobs at 1 thread was ~9.4 ms
 * after 5 and ~7.8 ms after 100+, the same build. A training run is past that within its first minute.
 */
import { loadBuild, median, PRESETS, presetNetwork, THIS_ROOT } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('trace-jobs', {
  model: { type: 'string', default: 'resnet' },
  threads: { type: 'string', default: '2' },
  steps: { type: 'string', default: '20' },
  warm: { type: 'string', default: '5' },
  batch: { type: 'string', default: '100' },
  eval: { type: 'boolean', default: false },
  jobs: { type: 'boolean', default: false },
});
const [threads, steps, warm, batchSize] = [values.threads, values.steps, values.warm, values.batch].map(Number);
if (!PRESETS.includes(values.model)) throw new Error(`trace-jobs: --model ${PRESETS.join('|')}`);

const { core, layers, train } = await loadBuild(THIS_ROOT);
core.setThreads(threads);
if (threads > 1) core.startThreads();
const network = presetNetwork(layers, values.model);
const data = train.loadMnist({ trainSize: 800, testSize: 500 });
if (data._tag === 'Left') throw data.left;
const batch = (i) => ({ x: core.sliceRows(data.right.train.images, batchSize * (i % 8), batchSize * (i % 8) + batchSize), targets: data.right.train.labels.subarray(batchSize * (i % 8), batchSize * (i % 8) + batchSize) });
const opt = train.adam({ lr: 0.001 });
const step = train.trainStep(network, opt);
let state = train.initTrainState(network, opt, core.key(1));
const testX = data.right.test.images;
const run = (i) => {
  if (values.eval) layers.predict(network, state.params, state.layerState, testX, { batchSize });
  else state = step(state, batch(i));
};
for (let i = 0; i < warm; i++) run(i);

const perStep = [];
for (let i = 0; i < steps; i++) {
  core.traceJobs(true);
  const t0 = performance.now();
  run(warm + i);
  const t1 = performance.now();
  perStep.push({ wall: t1 - t0, jobs: core.traceJobs(false), t0, t1 });
}

const sum = (v, f) => v.reduce((s, x) => s + f(x), 0);
const summary = perStep.map(({ wall, jobs, t0, t1 }) => {
  const split = jobs.filter((j) => j.split);
  const alone = jobs.filter((j) => !j.split);
  let gaps = 0;
  let last = t0;
  for (const j of jobs) {
    gaps += Math.max(0, j.start - last);
    last = j.end;
  }
  gaps += t1 - last;
  const inSplit = sum(split, (j) => j.end - j.start);
  return {
    split, wall, inSplit, splitJobs: split.length, aloneJobs: alone.length, alone: sum(alone, (j) => j.end - j.start), gaps,
    callerUnits: sum(split, (j) => j.callerMs), wait: sum(split, (j) => j.waitMs), workerBusy: sum(split, (j) => j.workerBusyMs), workerSpan: sum(split, (j) => j.workerSpanMs),
    workerLate: sum(split, (j) => Math.max(0, j.workerStartMs)),
  };
});
const med = (f) => median(summary.map(f));
const what = values.eval ? `evaluation of ${testX.shape[0]} images in batches of ${batchSize}` : `training step (batch ${batchSize})`;
console.log(`${values.model}, ${threads} thread(s), ${what}: medians of ${steps} after ${warm} untimed`);
const row = (label, ms, note = '') => console.log(`  ${label.padEnd(46)} ${ms.toFixed(2).padStart(8)} ms ${(100 * ms / med((s) => s.wall)).toFixed(1).padStart(5)}%  ${note}`);
row('wall', med((s) => s.wall));
row(`in split jobs (${med((s) => s.splitJobs)})`, med((s) => s.inSplit));
row('  this thread in its own units', med((s) => s.callerUnits));
row('  this thread waiting for the last units', med((s) => s.wait));
row('  workers busy', med((s) => s.workerBusy));
row('  workers idle inside jobs', med((s) => (threads - 1) * s.inSplit - s.workerBusy));
row('  workers from first claim to last unit done', med((s) => s.workerSpan));
// with one worker: which thread ran the job's last unit, and how long the other had nothing to do then
const ends = (s) => s.split.filter((j) => j.workerStartMs >= 0).map((j) => j.callerMs - (j.workerStartMs + j.workerSpanMs));
row('  this thread ended last: the worker idle then', med((s) => ends(s).filter((d) => d > 0).reduce((a, d) => a + d, 0)), threads === 2 ? `(${med((s) => ends(s).filter((d) => d > 0).length)} jobs)` : '');
row('  the worker ended last: this thread idle then', med((s) => -ends(s).filter((d) => d < 0).reduce((a, d) => a + d, 0)), threads === 2 ? `(${med((s) => ends(s).filter((d) => d < 0).length)} jobs)` : '');
row('  first worker claim after publish (sum)', med((s) => s.workerLate));
row(`on this thread alone (${med((s) => s.aloneJobs)} unsplit jobs)`, med((s) => s.alone));
row('between jobs (JavaScript, unpooled wasm)', med((s) => s.gaps));

// by export: per step totals, medians
const names = [...new Set(perStep.flatMap(({ jobs }) => jobs.map((j) => `${j.name}${j.split ? '' : ' (alone)'}`)))];
const byName = names.map((name) => {
  const per = perStep.map(({ jobs }) => jobs.filter((j) => `${j.name}${j.split ? '' : ' (alone)'}` === name));
  const m = (f) => median(per.map((js) => sum(js, f)));
  return { name, count: median(per.map((js) => js.length)), wall: m((j) => j.end - j.start), threadMs: m((j) => j.callerMs + j.workerBusyMs), wait: m((j) => j.waitMs), busy: m((j) => j.workerBusyMs), late: m((j) => Math.max(0, j.workerStartMs)) };
}).sort((a, b) => b.wall - a.wall);
console.log(`\n  ${'export(s)'.padEnd(44)} ${'jobs'.padStart(5)} ${'wall'.padStart(8)} ${'wait'.padStart(7)} ${'w.busy'.padStart(7)} ${'w.idle'.padStart(7)} ${'w.late'.padStart(7)} ${'thr.ms'.padStart(7)}`);
for (const r of byName) {
  console.log(`  ${r.name.padEnd(44)} ${String(r.count).padStart(5)} ${r.wall.toFixed(2).padStart(8)} ${r.wait.toFixed(2).padStart(7)} ${r.busy.toFixed(2).padStart(7)} ${(r.name.endsWith('(alone)') ? 0 : (threads - 1) * r.wall - r.busy).toFixed(2).padStart(7)} ${r.late.toFixed(2).padStart(7)} ${r.threadMs.toFixed(2).padStart(7)}`);
}

if (values.jobs) {
  // every job by its position in the step (the steps run the same jobs in the same order), with the gap before it
  const n = Math.min(...perStep.map(({ jobs }) => jobs.length));
  console.log(`\n  ${'#'.padStart(3)} ${'export(s)'.padEnd(40)} ${'items'.padStart(6)} ${'units'.padStart(5)} ${'gap'.padStart(6)} ${'wall'.padStart(6)} ${'mine'.padStart(6)} ${'wait'.padStart(6)} ${'w.busy'.padStart(6)} ${'w.late'.padStart(6)} ${'w.span'.padStart(6)} ${'w.in'.padStart(5)}`);
  for (let k = 0; k < n; k++) {
    const js = perStep.map(({ jobs }) => jobs[k]);
    const gap = median(perStep.map(({ jobs, t0 }) => jobs[k].start - (k === 0 ? t0 : jobs[k - 1].end)));
    const m = (f) => median(js.map(f)).toFixed(2).padStart(6);
    const j = js[0];
    console.log(`  ${String(k).padStart(3)} ${(j.name + (j.split ? '' : ' (alone)')).padEnd(40)} ${String(j.items).padStart(6)} ${String(j.units).padStart(5)} ${gap.toFixed(2).padStart(6)} ${m((x) => x.end - x.start)} ${m((x) => x.callerMs)} ${m((x) => x.waitMs)} ${m((x) => x.workerBusyMs)} ${m((x) => x.workerStartMs)} ${m((x) => x.workerSpanMs)} ${(js.filter((x) => x.workerBusyMs > 0).length / js.length).toFixed(2).padStart(5)}`);
  }
  console.log(`  after the last job: ${median(perStep.map(({ jobs, t1 }) => t1 - jobs[jobs.length - 1].end)).toFixed(2)} ms`);
}
process.exit(0);
