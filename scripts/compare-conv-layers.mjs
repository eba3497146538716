#!/usr/bin/env node
/**
 * One convolution layer's passes, this build against an older one, side by side in one process (as
 * scripts/compare-builds.mjs does for a whole training step): the forward (`conv2dOut`), the filter gradient alone
 * (`conv2dBackwardFromInput` without dx) and the input and filter gradients together (with dx), each alternated between
 * the builds round after round. Prints the medians, their ratios (above 1 where this build is faster) and the
 * algorithm each build took per pass. A benchmark, not a test.
 *
 *   node scripts/compare-conv-layers.mjs --base ../foldnet-old --threads 1 --rounds 31 --clock cpu
 *
 * `--layers` picks the layers, by default resnet's stride-2 ones (batch 100): `s2` (the downsampling 3x3 pad 1
 * convolutions 16 -> 32 at 28x28 and 32 -> 64 at 14x14, and their 1x1 shortcuts), or a list of
 * `N,C,H,W,F,size,stride,pad` separated by `;` (`--layers "100,16,28,28,32,3,2,1"`). `--clock cpu` times by the
 * process's CPU time (with --threads 1; with more it adds the threads' times).
 */
import { clockOf, coresSideBySide, median } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('compare-conv-layers', {
  base: { type: 'string' },
  threads: { type: 'string', default: '1' },
  rounds: { type: 'string', default: '31' },
  clock: { type: 'string', default: 'wall' },
  layers: { type: 'string', default: 's2' },
});
const RESNET_STRIDE2 = '100,16,28,28,32,3,2,1;100,32,14,14,64,3,2,1;100,16,28,28,32,1,2,0;100,32,14,14,64,1,2,0';
const layers = (values.layers === 's2' ? RESNET_STRIDE2 : values.layers).split(';').map((l) => l.split(',').map(Number));
const threads = Number(values.threads);
const rounds = Number(values.rounds);
if (values.base === undefined || !(threads >= 1) || !(rounds >= 1) || !['wall', 'cpu'].includes(values.clock) || layers.some((l) => l.length !== 8 || !l.every(Number.isInteger))) {
  console.error('compare-conv-layers: --base <checkout of the older build> is required; --threads and --rounds positive integers, --clock wall|cpu, --layers s2 or "N,C,H,W,F,size,stride,pad;..."');
  process.exit(2);
}

const builds = await coresSideBySide(values.base, threads);
const now = clockOf(values.clock);
const PASSES = ['forward', 'filter gradient', 'input + filter gradients'];

console.log(`${threads} thread(s), medians of ${rounds} alternated rounds${values.clock === 'cpu' ? ', CPU time' : ''}; ms: base / this build (base/this)`);
for (const [N, C, H, W, F, size, stride, pad] of layers) {
  // each build's operands, the same values: the same keys in both
  const runs = builds.map((core) => {
    const [kx, kw, kd] = core.split(core.key(1), 3);
    const x = core.normal(kx, [N, C, H, W]);
    const w = core.normal(kw, [F, C, size, size]);
    const b = core.zeros([F]);
    const g = core.convGeometry('conv', { inH: H, inW: W, filterH: size, pad, stride });
    const dy = core.normal(kd, [N, F, g.outH, g.outW]);
    const k = core.fastKernels;
    const passes = [() => k.conv2dOut(x, w, b, g), () => k.conv2dBackwardFromInput(dy, x, w, g, false), () => k.conv2dBackwardFromInput(dy, x, w, g, true)];
    const { paths } = core.traceConvPaths(() => passes[2]());
    for (let i = 0; i < 3; i++) passes.forEach((p) => p());
    return { passes, paths: paths.map((p) => `${p.pass}: ${p.algorithm}`).join(', '), times: PASSES.map(() => []) };
  });
  for (let r = 0; r < rounds; r++) {
    for (let p = 0; p < PASSES.length; p++) {
      // which build goes first alternates from round to round
      for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
        const t = now();
        run.passes[p]();
        run.times[p].push(now() - t);
      }
    }
  }
  console.log(`x=[${N},${C},${H},${W}] w=[${F},${C},${size},${size}] stride ${stride} pad ${pad}`);
  PASSES.forEach((pass, p) => {
    const [b, c] = runs.map((run) => median(run.times[p]));
    console.log(`  ${pass.padEnd(25)} ${b.toFixed(2)} / ${c.toFixed(2)} (x${(b / c).toFixed(2)})`);
  });
  runs.forEach((run, i) => console.log(`  ${i === 0 ? 'base' : 'this'}: ${run.paths}`));
}
process.exit(0); // the worker threads are unref'd, but two pools' handles are not worth waiting for
