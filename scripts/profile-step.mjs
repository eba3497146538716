#!/usr/bin/env node
/**
 * Where a preset's training step (or evaluation) spends its time: runs it under V8's CPU profiler (`--cpu-prof`, every
 * thread: the calling one and the kernels' workers) and prints, per thread, the functions with the most self time. The
 * kernels' WebAssembly functions appear by their names in the .wat parts (the module carries a name section). A
 * profile, not a benchmark: the profiler slows everything a little, so compare shares, not milliseconds.
 *
 *   node scripts/profile-step.mjs --model resnet --threads 2 --steps 20 [--eval] [--top 30] [--keep DIR]
 *
 * The steps run as `foldnet bench --data mnist` runs them (Adam 0.001 on MNIST's first batches of 100, after 3 warm-up
 * steps that the profile includes), under the CLI's malloc settings; `--eval` profiles evaluations of 500 test images
 * instead. `--keep DIR` leaves the .cpuprofile files there (for Chrome's DevTools or speedscope).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuild, PRESETS, presetNetwork } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('profile-step', {
  model: { type: 'string', default: 'resnet' },
  threads: { type: 'string', default: '1' },
  steps: { type: 'string', default: '20' },
  eval: { type: 'boolean', default: false },
  top: { type: 'string', default: '25' },
  keep: { type: 'string' },
  child: { type: 'boolean', default: false },
});
const [threads, steps, top] = [values.threads, values.steps, values.top].map(Number);
if (!PRESETS.includes(values.model) || ![threads, steps, top].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('profile-step: --model simple|double|deep|resnet; --threads, --steps and --top positive integers');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (values.child) {
  // the profiled process: the steps (or evaluations) alone, then exit
  const { core, layers, train } = await loadBuild(root);
  core.setThreads(threads);
  const network = presetNetwork(layers, values.model);
  const data = train.loadMnist({ trainSize: 800, testSize: 500 });
  if (data._tag === 'Left') throw data.left;
  const batch = (i) => ({ x: core.sliceRows(data.right.train.images, 100 * (i % 8), 100 * (i % 8) + 100), targets: data.right.train.labels.subarray(100 * (i % 8), 100 * (i % 8) + 100) });
  const opt = train.adam({ lr: 0.001 });
  const step = train.trainStep(network, opt);
  let state = train.initTrainState(network, opt, core.key(1));
  for (let i = 0; i < 3; i++) state = step(state, batch(i));
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    if (values.eval) layers.predict(network, state.params, state.layerState, data.right.test.images, { batchSize: 100 });
    else state = step(state, batch(3 + i));
  }
  console.log(`${values.model}, ${threads} thread(s): ${((performance.now() - t0) / steps).toFixed(1)} ms a ${values.eval ? 'evaluation of 500 images' : 'step'} under the profiler`);
  process.exit(0);
}

const dir = values.keep ?? mkdtempSync(path.join(tmpdir(), 'foldnet-profile-'));
const args = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', process.env.PROF_INTERVAL ?? '200', fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)];
// the CLI's malloc settings (packages/cli/src/malloc.ts), so the profile is of the step `foldnet` runs
const env = { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295:glibc.malloc.top_pad=67108864' };
const run = spawnSync(process.execPath, args, { stdio: 'inherit', env });
if (run.status !== 0) process.exit(run.status ?? 1);

// per thread (the files are CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the calling one)
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => Number(a.split('.')[4]) - Number(b.split('.')[4]));
for (const file of files) {
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    // a worker's own loop (threads.ts's workerMain, evaluated from source) is where it spins or sleeps between chunks
    const name = url === '[worker eval]' ? '(a worker between chunks: spinning or asleep)'
      : `${functionName || '(anonymous)'}${url.endsWith('.js') || url.endsWith('.mjs') ? ` ${path.basename(url)}:${lineNumber + 1}` : ''}`;
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const idle = self.get('(idle)') ?? 0;
  self.delete('(idle)');
  const busy = [...self.values()].reduce((a, b) => a + b, 0);
  const thread = Number(file.split('.')[4]) === 0 ? 'calling thread' : `worker ${file.split('.')[4]}`;
  console.log(`\n${thread}: ${(busy / 1000).toFixed(0)} ms busy${idle > 0 ? `, ${(idle / 1000).toFixed(0)} ms idle` : ''} (self time, share of busy)`);
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}
if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
