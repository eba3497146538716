#!/usr/bin/env node
/*
 * Where a preset's convolutions stand against PyTorch's, layer by layer: each distinct convolution of the preset
 * (input, filters, stride, pad), its forward and its backward (the filter gradient, the input gradient unless it is the
 * first layer, the bias gradient where it has a bias) at batch 100, foldnet's fast kernels next to PyTorch's in the same
 * minutes. The speed table says how far a whole step is from PyTorch's; this says which layers make the difference.
 *
 *   node scripts/layer-table.mjs [--model resnet] [--threads 1] [--rounds 3] [--reps 11] [--python /usr/bin/python3] [--realtime]
 *
 * Each round runs one foldnet process and one PyTorch process, alternating which goes first, and the table gives each
 * figure's median over the rounds and the ratio PyTorch / foldnet (above 1: foldnet faster). "x count" is how many
 * layers of the preset have that shape; the totals weigh each row by it.
 * - foldnet: each layer's passes alone, `--reps` times after two untimed runs, by the wall clock, the median; in a
 *   result scope with their results left in it, as in a step, and the algorithm each took named.
 * - PyTorch (scripts/bench-pytorch-layers.py): inside its model, by its profiler (`--reps` evaluation forwards and
 *   training steps), as the operators' self time per call: alone, on fresh tensors, a convolution can take twice as long.
 * Rows do not add up to a step: foldnet fuses a convolution with what follows it (batch norm, ReLU), PyTorch does not.
 * --realtime runs every process under `chrt -r 10` (see speed-table.mjs). Needs `pnpm run build`.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadBuild, median, PRESETS, presetNetwork, THIS_ROOT } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('layer-table', {
  model: { type: 'string', default: 'resnet' },
  threads: { type: 'string', default: '1' },
  rounds: { type: 'string', default: '3' },
  reps: { type: 'string', default: '11' },
  python: { type: 'string', default: '/usr/bin/python3' },
  realtime: { type: 'boolean', default: false },
  child: { type: 'boolean', default: false },
});
const [threads, rounds, reps] = [values.threads, values.rounds, values.reps].map(Number);
if (!PRESETS.includes(values.model) || ![threads, rounds, reps].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('layer-table: --model simple|double|deep|resnet; --threads, --rounds and --reps positive integers');
  process.exit(2);
}
const BATCH = 100;
const { core, layers } = await loadBuild(THIS_ROOT);

/** The preset's distinct convolutions at batch 100, with the names of the layers of each shape. */
const convLayers = () => {
  const net = presetNetwork(layers, values.model);
  const { nodes } = net.graph;
  const shapeOf = (i) => (i === layers.GRAPH_INPUT ? net.inputShape : nodes[i].shape);
  const byShape = new Map();
  for (const node of nodes) {
    if (node.op.type !== 'conv2d') continue;
    const [C, H, W] = shapeOf(node.inputs[0]);
    const { filters: F, size, stride, pad } = node.op;
    const l = { N: BATCH, C, H, W, F, size, stride, pad, bias: node.op.bias !== false, dx: node.inputs[0] !== layers.GRAPH_INPUT };
    const key = JSON.stringify(l);
    byShape.set(key, { ...l, names: [...(byShape.get(key)?.names ?? []), node.name] });
  }
  return [...byShape.values()];
};

/** One foldnet process: each layer's forward and backward, the median of `reps` timed runs each, and their algorithms. */
const foldnetLayers = (list) => {
  core.setThreads(threads);
  if (threads > 1) core.startThreads();
  const k = core.fastKernels;
  const medianMs = (f) => {
    f();
    f();
    return median(Array.from({ length: reps }, () => {
      const t = performance.now();
      f();
      return performance.now() - t;
    }));
  };
  return list.map((l) => {
    const [kx, kw, kd] = core.split(core.key(1), 3);
    const x = core.normal(kx, [l.N, l.C, l.H, l.W]);
    const w = core.normal(kw, [l.F, l.C, l.size, l.size]);
    const b = core.zeros([l.F]);
    const g = core.convGeometry('conv', { inH: l.H, inW: l.W, filterH: l.size, pad: l.pad, stride: l.stride });
    const dy = core.normal(kd, [l.N, l.F, g.outH, g.outW]);
    // in a result scope whose results stay in it, as in a step (handing a result out of the scope copies it into a
    // fresh array: ~1-6 ms of page faults for these outputs, which a step does not pay)
    const forward = () => core.resultScope(() => void k.conv2dOut(x, w, b, g));
    const backward = () => core.resultScope(() => void k.conv2dBackwardFromInput(dy, x, w, g, l.dx, l.bias));
    const { paths } = core.traceConvPaths(() => (forward(), backward()));
    return { forward_ms: medianMs(forward), backward_ms: medianMs(backward), algorithms: [...new Set(paths.map((p) => p.algorithm))].join(' / ') };
  });
};

if (values.child) {
  console.log(JSON.stringify(foldnetLayers(JSON.parse(process.env.LAYERS))));
  process.exit(0);
}

const list = convLayers();
const layerSpecs = list.map(({ names, ...l }) => l);
const lastJson = (text) => JSON.parse(text.trim().split('\n').pop());
const measure = (file, args, env = process.env) => {
  try {
    return lastJson(execFileSync(values.realtime ? 'chrt' : file, values.realtime ? ['-r', '10', file, ...args] : args, { encoding: 'utf8', env }));
  } catch (e) {
    const why = e.code === 'ENOENT' ? `${values.realtime ? 'chrt' : file} was not found` : String(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' / ');
    console.error(`layer-table: ${path.basename(file)} failed${values.realtime ? ' under chrt -r 10' : ''}: ${why}`);
    process.exit(1);
  }
};
let torchVersion = '';
const runners = {
  foldnet: () => measure(process.execPath, [process.argv[1], '--model', values.model, '--threads', String(threads), '--reps', String(reps), '--child'], { ...process.env, LAYERS: JSON.stringify(layerSpecs) }),
  pytorch: () => {
    const r = measure(values.python, [path.join(THIS_ROOT, 'scripts/bench-pytorch-layers.py'), '--model', values.model, '--threads', String(threads), '--rounds', String(reps)]);
    torchVersion = r.torch;
    // PyTorch's layers matched to foldnet's by their input and filter shapes
    const same = (a, b) => a.length === b.length && a.every((d, i) => d === b[i]);
    return layerSpecs.map((l) => r.layers.find((p) => same(p.x, [l.N, l.C, l.H, l.W]) && same(p.w, [l.F, l.C, l.size, l.size])) ?? { forward_ms: NaN, backward_ms: NaN });
  },
};
const loadBefore = os.loadavg()[0];
const samples = { foldnet: [], pytorch: [] };
for (let round = 0; round < rounds; round++) {
  for (const framework of round % 2 === 0 ? ['foldnet', 'pytorch'] : ['pytorch', 'foldnet']) {
    samples[framework].push(runners[framework]());
    console.error(`round ${round + 1}/${rounds}: ${framework} done`);
  }
}
const of = (framework, i, pass) => median(samples[framework].map((r) => r[i][`${pass}_ms`]));
const ms = (v) => v.toFixed(2);
const rows = list.map((l, i) => ({
  l, count: l.names.length, fwd: [of('foldnet', i, 'forward'), of('pytorch', i, 'forward')], bwd: [of('foldnet', i, 'backward'), of('pytorch', i, 'backward')],
  algorithms: samples.foldnet[0][i].algorithms,
}));
console.log(`${values.model}, ${threads} thread(s), batch ${BATCH}: foldnet's convolutions alone, PyTorch's inside its model, medians of ${rounds} rounds of ${reps} runs (ms); PyTorch ${torchVersion}; load ${loadBefore.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)}${values.realtime ? '; chrt -r 10' : ''}`);
console.log('');
console.log('| layers | x count | input -> output | foldnet forward | PyTorch forward | PyTorch / foldnet | foldnet backward | PyTorch backward | PyTorch / foldnet | foldnet algorithms |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const { l, count, fwd, bwd, algorithms } of rows) {
  const OH = Math.floor((l.H + 2 * l.pad - l.size) / l.stride) + 1;
  const OW = Math.floor((l.W + 2 * l.pad - l.size) / l.stride) + 1;
  const shape = `${l.C}x${l.H}x${l.W} -> ${l.F}x${OH}x${OW}, ${l.size}x${l.size}${l.stride > 1 ? ` stride ${l.stride}` : ''}`;
  const names = l.names.length > 2 ? `${l.names[0]} .. ${l.names.at(-1)}` : l.names.join(', ');
  console.log(`| ${names} | ${count} | ${shape} | ${ms(fwd[0])} | ${ms(fwd[1])} | ${(fwd[1] / fwd[0]).toFixed(2)}x | ${ms(bwd[0])} | ${ms(bwd[1])} | ${(bwd[1] / bwd[0]).toFixed(2)}x | ${algorithms} |`);
}
const total = (pass, j) => rows.reduce((s, r) => s + r.count * r[pass][j], 0);
const [tf, tp, bf, bp] = [total('fwd', 0), total('fwd', 1), total('bwd', 0), total('bwd', 1)];
console.log(`| all | ${rows.reduce((s, r) => s + r.count, 0)} | | ${ms(tf)} | ${ms(tp)} | ${(tp / tf).toFixed(2)}x | ${ms(bf)} | ${ms(bp)} | ${(bp / bf).toFixed(2)}x | |`);
process.exit(0); // the worker threads are unref'd
