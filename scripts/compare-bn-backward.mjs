#!/usr/bin/env node
/**
 * Batch norm's passes at one size, this build against an older one, side by side in one process (as
 * scripts/compare-conv-layers.mjs does for convolutions). The forwards: batch norm, with its fused ReLU
 * (batchNormRelu) and at a residual block's end (batchNormAddRelu), training's batch statistics. The pullbacks: a residual block's end (ReLU's mask, the shortcut's gradient
 * and batch norm's backward: batchNormAddReluBackward where the build has it, else reluBackward then batchNormBackward,
 * as a training step ran it before), batch norm's own backward and its fused ReLU's (batchNormReluBackward), each
 * alternated between the builds round after round, training's batch statistics, with dx. Each pass runs in a result
 * scope with its operands already in the kernels' memory (as a training step reads a kernel's result in place). Prints
 * the medians and their ratios (above 1 where this build is faster). A benchmark, not a test.
 *
 *   node scripts/compare-bn-backward.mjs --base ../foldnet-old --threads 1 --rounds 31 --clock cpu
 *
 * `--passes forward` or `--passes backward` times only those (default: both).
 * A round times `--repeat` passes in a row (default 10) and counts their mean. `--shapes` picks the sizes, by default resnet's three stages (batch 100): `"100,16,28,28;100,32,14,14;100,64,7,7"`.
 * `--clock cpu` times by the process's CPU time (with --threads 1; with more it adds the threads' times).
 */
import { clockOf, coresSideBySide, median } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('compare-bn-backward', {
  base: { type: 'string' },
  threads: { type: 'string', default: '1' },
  rounds: { type: 'string', default: '31' },
  clock: { type: 'string', default: 'wall' },
  shapes: { type: 'string', default: '100,16,28,28;100,32,14,14;100,64,7,7' },
  repeat: { type: 'string', default: '10' },
  passes: { type: 'string', default: 'both' },
});
const repeat = Number(values.repeat);
const shapes = values.shapes.split(';').map((s) => s.split(',').map(Number));
const threads = Number(values.threads);
const rounds = Number(values.rounds);
if (values.base === undefined || !(threads >= 1) || !(rounds >= 1) || !(repeat >= 1) || !['wall', 'cpu'].includes(values.clock) || !['forward', 'backward', 'both'].includes(values.passes) || shapes.some((s) => s.length < 2 || !s.every((v) => Number.isInteger(v) && v > 0))) {
  console.error('compare-bn-backward: --base <checkout of the older build> is required; --threads, --rounds and --repeat positive integers, --clock wall|cpu, --passes forward|backward|both, --shapes "N,C,H,W;..."');
  process.exit(2);
}

const builds = await coresSideBySide(values.base, threads);
const now = clockOf(values.clock);
const FORWARDS = ['residual end forward', 'batch norm forward', 'batch norm + ReLU forward'];
const BACKWARDS = ['residual end backward', 'batch norm backward', 'batch norm + ReLU backward'];
const PASSES = [...(values.passes === 'backward' ? [] : FORWARDS), ...(values.passes === 'forward' ? [] : BACKWARDS)];
const EPS = 1e-5;

console.log(`${threads} thread(s), medians of ${rounds} alternated rounds${values.clock === 'cpu' ? ', CPU time' : ''}; ms: base / this build (base/this)`);
for (const shape of shapes) {
  const C = shape[1];
  // each build's operands, the same values: the same keys in both
  const runs = builds.map((core) => {
    const [kx, ka, kd, kg, kb] = core.split(core.key(1), 5);
    const [x0, shortcut0, dy0] = [core.normal(kx, shape), core.normal(ka, shape), core.normal(kd, shape)];
    const [gamma, beta] = [core.uniform(kg, [C], { low: 0.5, high: 1.5 }), core.uniform(kb, [C], { low: -0.5, high: 0.5 })];
    const k = core.fastKernels;
    const f = k.fused;
    const zero = core.zeros(shape);
    // pass p with its operands made in the scope first (x + 0 and dy + 0 give their values where the next kernel reads them)
    const timed = (p) => core.resultScope(() => {
      const [x, shortcut, dy] = [k.add(x0, zero), k.add(shortcut0, zero), k.add(dy0, zero)];
      const end = f.batchNormAddRelu(x, shortcut, gamma, beta, EPS);
      const plain = f.batchNormRelu(x, gamma, beta, EPS);
      const passes = {
        'residual end forward': () => f.batchNormAddRelu(x, shortcut, gamma, beta, EPS),
        'batch norm forward': () => k.batchNorm(x, gamma, beta, EPS),
        'batch norm + ReLU forward': () => f.batchNormRelu(x, gamma, beta, EPS),
        'residual end backward': () => (f.batchNormAddReluBackward === undefined
          ? k.batchNormBackward(k.reluBackward(end.out, dy), x, gamma, end.stats, EPS, true, true)
          : f.batchNormAddReluBackward(dy, end.out, x, gamma, end.stats, EPS, true, true)),
        'batch norm backward': () => k.batchNormBackward(dy, x, gamma, plain.stats, EPS, true, true),
        'batch norm + ReLU backward': () => f.batchNormReluBackward(dy, plain.out, x, gamma, plain.stats, EPS, true, true),
      };
      const pass = passes[PASSES[p]];
      const t = now();
      for (let i = 0; i < repeat; i++) pass();
      return (now() - t) / repeat;
    });
    for (let i = 0; i < 3; i++) PASSES.forEach((_, p) => timed(p));
    return { timed, times: PASSES.map(() => []) };
  });
  for (let r = 0; r < rounds; r++) {
    for (let p = 0; p < PASSES.length; p++) {
      // which build goes first alternates from round to round
      for (const run of r % 2 === 0 ? runs : [...runs].reverse()) run.times[p].push(run.timed(p));
    }
  }
  console.log(`x=[${shape}]`);
  PASSES.forEach((pass, p) => {
    const [b, c] = runs.map((run) => median(run.times[p]));
    console.log(`  ${pass.padEnd(27)} ${b.toFixed(3)} / ${c.toFixed(3)} (x${(b / c).toFixed(2)})`);
  });
}
process.exit(0); // the worker threads are unref'd, but two pools' handles are not worth waiting for
