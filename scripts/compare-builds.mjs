#!/usr/bin/env node
/**
 * foldnet against an older build of itself, side by side in one process: both builds' dist are
 * imported (each with its own wasm memory and worker threads), and their training steps and
 * evaluation forwards are run alternately, so a shared, noisy machine slows both alike. Prints the
 * median of each and their ratio. A benchmark, not a test.
 *
 * The older build is another checkout, built: e.g.
 *   git worktree add ../foldnet-old <commit> && (cd ../foldnet-old && pnpm install --frozen-lockfile && pnpm run build)
 *   node scripts/compare-builds.mjs --base ../foldnet-old --model simple --threads 2
 * `--model` is a preset (simple, double, deep, resnet) or a JSON model spec (e.g. examples/resnet.json) that both builds can decode.
 * `--data mnist` steps through MNIST's first training batches instead of one random batch (see `foldnet bench --data`).
 * `--batch N` (default 100) sets the batch size: a small batch (1, 4) leaves mostly what a step pays whatever its batch
 * (the JavaScript between kernels, the filter transforms, the optimizer), to compare changes to that alone.
 * `--clock cpu` times by the process's CPU time instead of the wall clock: on a machine other jobs load, a run then
 * counts only what it computed, not the time it waited for a core (with --threads 1; with more it adds the threads' times).
 * `--swap` puts the builds in each other's places: the base loaded first and this build set up first (by default this
 * build is loaded first and the base set up first). A build's place alone moves its time: two builds whose code
 * differs in nothing that runs have differed by 2-8% (simple's step), so where builds differ by that little, run both
 * places and take the geometric mean of the two ratios, in which the place's share cancels.
 * `--processes K` does that K times: K processes one after the other, places swapped every other one, each with
 * rounds / K rounds, and prints each one's ratios and their medians (figures of one process alone can be off by a few
 * percent whichever place a build takes: its memory's layout is that process's luck).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { clockOf, loadBuild, median, PRESETS, presetNetwork, THIS_ROOT } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('compare-builds', {
  base: { type: 'string' },
  model: { type: 'string', default: 'simple' },
  threads: { type: 'string', default: '1' },
  rounds: { type: 'string', default: '60' },
  data: { type: 'string', default: 'random' },
  clock: { type: 'string', default: 'wall' },
  batch: { type: 'string', default: '100' },
  swap: { type: 'boolean', default: false },
  processes: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
});
if (values.base === undefined) {
  console.error('compare-builds: --base <checkout of the older build> is required');
  process.exit(2);
}
const threads = Number(values.threads);
const rounds = Number(values.rounds);
const batchSize = Number(values.batch);
const processes = Number(values.processes);
const isSpec = values.model.endsWith('.json');
if (!(PRESETS.includes(values.model) || isSpec) || !(threads >= 1) || !(rounds >= 1) || !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 100) || !['random', 'mnist'].includes(values.data) || !['wall', 'cpu'].includes(values.clock) || !(Number.isInteger(processes) && processes >= 1)) {
  console.error('compare-builds: --model simple|double|deep|resnet|<spec.json>, --threads, --rounds and --processes positive integers, --batch 1..100, --data random|mnist, --clock wall|cpu');
  process.exit(2);
}


const heading = (rounds, places) =>
  `${values.model}, ${threads} thread(s), batch ${batchSize} (${values.data === 'mnist' ? 'MNIST batches in turn' : 'a fixed random batch'}), medians of ${rounds} alternated rounds${values.clock === 'cpu' ? ', CPU time' : ''}${places}`;
const ratio = (b, c) => `x${(b / c).toFixed(2)}`;

if (processes > 1) {
  // the comparison K times, each in its own process with the builds' places swapped every other time
  const each = Math.ceil(rounds / processes);
  const flags = ['--base', values.base, '--model', values.model, '--threads', String(threads), '--rounds', String(each), '--data', values.data, '--clock', values.clock, '--batch', String(batchSize), '--json'];
  const runs = [];
  for (let k = 0; k < processes; k++) {
    const r = spawnSync(process.execPath, [process.argv[1], ...flags, ...(k % 2 === 1 ? ['--swap'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) process.exit(r.status ?? 1);
    runs.push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
  }
  console.log(heading(each, `, in each of ${processes} processes (places swapped every other one)`));
  runs.forEach((r, k) => console.log(`  process ${k + 1}${k % 2 === 1 ? ' (swapped)' : ''}: step ${ratio(r.baseStep, r.step)}, evaluation ${ratio(r.baseForward, r.forward)}`));
  // the middle ratio, or the mean of the middle two of an even count
  const middle = (v) => {
    const sorted = [...v].sort((x, y) => x - y);
    const h = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
  };
  const medianRatio = (b, c) => middle(runs.map((r) => r[b] / r[c]));
  console.log(`training step: base ${middle(runs.map((r) => r.baseStep)).toFixed(2)} ms, this build ${middle(runs.map((r) => r.step)).toFixed(2)} ms, median ratio x${medianRatio('baseStep', 'step').toFixed(2)}`);
  console.log(`evaluation forward: base ${middle(runs.map((r) => r.baseForward)).toFixed(2)} ms, this build ${middle(runs.map((r) => r.forward)).toFixed(2)} ms, median ratio x${medianRatio('baseForward', 'forward').toFixed(2)}`);
  process.exit(0);
}

// A JSON model spec (both builds must know its layer types): read once, decoded by each build.
const specJson = isSpec ? JSON.parse(readFileSync(path.resolve(process.env.INIT_CWD ?? process.cwd(), values.model), 'utf8')) : undefined;
const networkOf = (layers) => {
  if (specJson === undefined) return presetNetwork(layers, values.model);
  const r = layers.decodeModelSpec(specJson);
  if (r._tag === 'Left') throw new Error(`compare-builds: ${values.model}: ${r.left.message}`);
  return r.right;
};

/**
 * Batches of batchSize for the steps and the forwards: one fixed random batch, or (--data mnist) MNIST's first training
 * batches, in turn, where the data-dependent fast paths (zero tiles of a convolution, the pooled filter gradient) act.
 */
const inputs = ({ core, layers, train }) => {
  if (values.data === 'mnist') {
    const r = train.loadMnist({ trainSize: 2000, testSize: 0 });
    if (r._tag === 'Left') throw r.left;
    const { images, labels } = r.right.train;
    return Array.from({ length: 20 }, (_, i) => ({ x: core.sliceRows(images, batchSize * i, batchSize * (i + 1)), targets: labels.subarray(batchSize * i, batchSize * (i + 1)) }));
  }
  const x = core.normal(core.split(core.key(1))[1], [batchSize, ...networkOf(layers).inputShape]);
  return [{ x, targets: Int32Array.from({ length: batchSize }, (_, i) => i % 10) }];
};

/**
 * One build's step and evaluation forward, each call on the next of its batches. Each build makes its own batches (the
 * same values): given the batches one build made, the other ran simple's step 5-9% faster, whichever it was.
 */
const setup = (build) => {
  const { core, layers, train } = build;
  const batches = inputs(build);
  core.setThreads(threads);
  if (threads > 1) core.startThreads();
  const net = networkOf(layers);
  const [k1] = core.split(core.key(1));
  const opt = train.adam();
  const step = train.trainStep(net, opt);
  let s = train.initTrainState(net, opt, k1);
  let [i, j] = [0, 0];
  // evaluation runs each batch in a resultScope scope (evaluate, predict) in builds that have one
  const resultScope = core.resultScope ?? ((f) => f());
  return {
    step: () => { s = step(s, batches[i++ % batches.length]); },
    forward: () => resultScope(() => net.forward(s.params, s.layerState, batches[j++ % batches.length].x, { mode: 'eval', needGrad: false }).y),
  };
};

// the builds' places: which is loaded first (its modules compiled first) and which is set up first (its wasm memory,
// workers and network made first)
const swap = values.swap;
const loadedFirst = await loadBuild(swap ? values.base : THIS_ROOT);
const loadedSecond = await loadBuild(swap ? THIS_ROOT : values.base);
const [thisBuild, baseBuild] = swap ? [loadedSecond, loadedFirst] : [loadedFirst, loadedSecond];
const setUpFirst = setup(swap ? thisBuild : baseBuild);
const setUpSecond = setup(swap ? baseBuild : thisBuild);
const [base, current] = swap ? [setUpSecond, setUpFirst] : [setUpFirst, setUpSecond];
const now = clockOf(values.clock);
const time = (f) => {
  const t = now();
  f();
  return now() - t;
};
for (let i = 0; i < 5; i++) for (const b of [base, current]) { b.step(); b.forward(); }
const t = { baseStep: [], step: [], baseForward: [], forward: [] };
// Which build goes first alternates from round to round: the second of a pair can pay for the first's garbage.
for (let i = 0; i < rounds; i++) {
  const pair = [
    () => { t.baseStep.push(time(base.step)); t.baseForward.push(time(base.forward)); },
    () => { t.step.push(time(current.step)); t.forward.push(time(current.forward)); },
  ];
  if (i % 2 === 1) pair.reverse();
  for (const run of pair) run();
}
if (values.json) {
  // for the parent of --processes
  console.log(JSON.stringify({ baseStep: median(t.baseStep), step: median(t.step), baseForward: median(t.baseForward), forward: median(t.forward) }));
  process.exit(0);
}
const line = (what, b, c) => `${what}: base ${median(b).toFixed(2)} ms, this build ${median(c).toFixed(2)} ms, ${ratio(median(b), median(c))}`;
console.log(heading(rounds, swap ? ', places swapped (base loaded first, this build set up first)' : ''));
console.log(line('training step', t.baseStep, t.step));
console.log(line('evaluation forward', t.baseForward, t.forward));
process.exit(0); // the worker threads are unref'd, but two pools' handles are not worth waiting for
