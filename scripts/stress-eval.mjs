#!/usr/bin/env node
/**
 * Stress run for the thread pool: `foldnet eval` of the resnet checkpoints in models/, in-process (as
 * packages/cli/test/models.e2e.test.ts runs it, scopes poisoned as in every test), again and again, each time in a
 * fresh process (a pool's workers start during the first evaluation, while the memory grows) and several times in
 * each. Prints one line per evaluation and a count of failures; exits 1 if any evaluation failed or measured other
 * than the first. Not a test: it reproduces rare failures, it asserts nothing about time. Under load it reproduced the
 * intermittent 'a worker thread failed in winogradTiles' of models.e2e (a worker's view of the memory behind the
 * memory: threads.ts) in 1 process of ~40; each line says when a worker renewed its view.
 *
 * Needs the build (`pnpm run build`). Usage:
 *   node scripts/stress-eval.mjs                                  # 20 processes x 2 evaluations of 1000 images, 2 threads
 *   node scripts/stress-eval.mjs --processes 50 --evals 1 --test-size 500 --load 2 --parallel 2
 *   --threads N      the kernels' threads (default 2)
 *   --test-size N    test images an evaluation takes (default 1000; 10000 is the whole test set)
 *   --load N         N busy processes beside the run (the machine shared with a CI run's other test files)
 *   --parallel N     processes at once (default 1)
 *   --models a,b     fashion, mnist or both (default both, alternated)
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from './flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const values = parseFlags('stress-eval', {
  processes: { type: 'string', default: '20' },
  evals: { type: 'string', default: '2' },
  threads: { type: 'string', default: '2' },
  'test-size': { type: 'string', default: '1000' },
  load: { type: 'string', default: '0' },
  parallel: { type: 'string', default: '1' },
  models: { type: 'string', default: 'fashion,mnist' },
  child: { type: 'boolean', default: false },
});
const count = (name) => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`stress-eval: --${name}: expected an integer >= 0, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return n;
};
const checkpoints = { fashion: 'models/resnet-fashion.safetensors', mnist: 'models/resnet-mnist.safetensors' };
const models = values.models.split(',');
for (const m of models) {
  if (!(m in checkpoints)) {
    console.error(`stress-eval: --models: expected fashion and/or mnist, got ${JSON.stringify(m)}`);
    process.exit(2);
  }
}

if (values.child) {
  // one process: evaluations one after the other, each line "dataset code accuracy loss" or the error
  const { PassThrough } = await import('node:stream');
  const { setThreads, threadStats } = await import('@foldnet/core');
  const { poisonScopes } = await import('@foldnet/core/testing');
  const { runCli } = await import('@foldnet/cli');
  poisonScopes(true);
  setThreads(count('threads'));
  for (let i = 0; i < count('evals'); i++) {
    const dataset = models[i % models.length];
    let out = '';
    let err = '';
    const io = { out: (s) => (out += s), err: (s) => (err += s), stdoutIsTTY: false, stdout: new PassThrough(), cwd: root, env: {} };
    const code = await runCli(['eval', join(root, checkpoints[dataset]), '--dataset', dataset, '--test-size', values['test-size'], '--json'], io);
    const r = code === 0 ? JSON.parse(out) : undefined;
    // refreshedViews: how often a worker found its view of the memory behind the memory (threads.ts) so far
    console.log(JSON.stringify({ dataset, code, accuracy: r?.accuracy, loss: r?.loss, err: err.trim(), refreshedViews: threadStats().refreshedViews }));
  }
  process.exit(0);
}

const busy = Array.from({ length: count('load') }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
const stopLoad = () => busy.forEach((b) => b.kill());
process.on('exit', stopLoad);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Runs one child; resolves with its lines parsed. */
const runChild = () =>
  new Promise((resolve) => {
    const args = [fileURLToPath(import.meta.url), '--child', '--threads', values.threads, '--evals', values.evals, '--test-size', values['test-size'], '--models', values.models];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      resolve({ code, lines, err: err.split('\n').filter((l) => l !== '' && !/ExperimentalWarning|--trace-warnings/.test(l)).join('\n') });
    });
  });

const first = {};
let failures = 0;
let evaluations = 0;
let started = 0;
let renewing = 0;
const runner = async () => {
  while (started < count('processes')) {
    const p = started++;
    const { code, lines, err } = await runChild();
    for (const [i, l] of lines.entries()) {
      evaluations++;
      const key = l.dataset;
      first[key] ??= l.code === 0 ? l : undefined;
      const same = l.code === 0 && first[key] !== undefined && l.accuracy === first[key].accuracy && l.loss === first[key].loss;
      if (!same) failures++;
      const renewed = l.refreshedViews > 0 ? `, a worker's view of the memory renewed ${l.refreshedViews}x` : '';
      console.log(`process ${p} eval ${i} ${l.dataset}: ${l.code === 0 ? `accuracy ${l.accuracy} loss ${l.loss}${same ? '' : ' DIFFERS'}` : `FAILED (${l.code}): ${l.err}`}${renewed}`);
    }
    if ((lines.at(-1)?.refreshedViews ?? 0) > 0) renewing++;
    if (code !== 0 || lines.length < count('evals')) {
      failures++;
      console.log(`process ${p}: exit ${code}, ${lines.length} evaluations: ${err}`);
    }
  }
};
await Promise.all(Array.from({ length: Math.max(1, count('parallel')) }, runner));
stopLoad();
console.log(`stress-eval: ${failures} failed of ${evaluations} evaluations in ${count('processes')} processes (in ${renewing} a worker renewed its view of the memory)`);
process.exit(failures === 0 ? 0 : 1);
