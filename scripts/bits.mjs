#!/usr/bin/env node
/**
 * Whether a build keeps every bit: each preset trained 4 steps (Adam 0.001) on MNIST's first batches of 100 by the fast
 * kernels, at 1 and 2 threads, then one evaluation of MNIST's first 500 test images; prints the first 16 hex digits of
 * the sha256 of the params' bytes (in the order of their sorted names) and of the evaluation's logits. With `--base`,
 * the older build's too, side by side (both builds imported into one process), and exit 1 when any differs: a change
 * meant to keep every result bit for bit is checked by
 *
 *   node scripts/bits.mjs --base ../foldnet-old            # e.g. after git worktree add ../foldnet-old <commit> and a build
 *   node scripts/bits.mjs --models resnet --threads 2      # this build alone
 *
 * The params' hashes at d67586a: simple cbf089d48c5fbbf6, double 2a8add5ac0ab788e, deep f956fe107b5f61fd, resnet
 * 36161cbc2e7a08eb, the same at 1 and 2 threads (docs/speed-history.md records them session by session).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuild, PRESETS, presetNetwork } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('bits', {
  base: { type: 'string' },
  models: { type: 'string', default: PRESETS.join(',') },
  threads: { type: 'string', default: '1,2' },
});
const models = values.models.split(',');
const threadCounts = values.threads.split(',').map(Number);
if (!models.every((m) => PRESETS.includes(m)) || !threadCounts.every((t) => Number.isInteger(t) && t >= 1)) {
  console.error(`bits: --models a list of ${PRESETS.join(', ')}; --threads a list of positive integers`);
  process.exit(2);
}

/** The first 16 hex digits of the sha256 of the tensors' bytes, visited in the order of their sorted names. */
const digest = (value) => {
  const hash = createHash('sha256');
  const visit = (v) => {
    if (v?.data !== undefined && v.shape !== undefined) hash.update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v).sort()) visit(v[k]);
  };
  visit(value);
  return hash.digest('hex').slice(0, 16);
};

/** One build's hashes of `model` at `threads`: the params after 4 steps and one evaluation's logits. */
const hashes = ({ core, layers, train }, model, threads) => {
  core.setBackend('fast');
  core.setThreads(threads);
  const network = presetNetwork(layers, model);
  const data = train.loadMnist({ trainSize: 400, testSize: 500 });
  if (data._tag === 'Left') throw data.left;
  const { train: images, test } = data.right;
  const opt = train.adam({ lr: 0.001 });
  const step = train.trainStep(network, opt, { kernels: core.kernels('fast') });
  let state = train.initTrainState(network, opt, core.split(core.key(1), 3)[0]);
  for (let i = 0; i < 4; i++) state = step(state, { x: core.sliceRows(images.images, 100 * i, 100 * (i + 1)), targets: images.labels.subarray(100 * i, 100 * (i + 1)) });
  const logits = layers.predict(network, state.params, state.layerState, test.images, { batchSize: 100, kernels: core.kernels('fast') });
  return { params: digest(state.params), evaluation: digest(logits) };
};

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const builds = [...(values.base === undefined ? [] : [['base', await loadBuild(values.base)]]), ['this', await loadBuild(here)]];
let differs = false;
console.log(['model', 'threads', ...builds.flatMap(([name]) => [`${name} params`, `${name} evaluation`]), ...(builds.length > 1 ? ['bits'] : [])].join('\t'));
for (const model of models) {
  for (const threads of threadCounts) {
    const row = builds.map(([, build]) => hashes(build, model, threads));
    const same = row.every((h) => h.params === row[0].params && h.evaluation === row[0].evaluation);
    differs ||= !same;
    console.log([model, threads, ...row.flatMap((h) => [h.params, h.evaluation]), ...(builds.length > 1 ? [same ? 'same' : 'DIFFERENT'] : [])].join('\t'));
  }
}
process.exit(differs ? 1 : 0); // the worker threads are unref'd, but the pools' handles are not worth waiting for
