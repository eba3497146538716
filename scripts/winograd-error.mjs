#!/usr/bin/env node
/**
 * The float32 error of each Winograd variant, and of the paths the plan takes without Winograd, against the float64
 * reference, on the presets' 3x3 stride-1 layer shapes: He-initialised filters, ReLU'd normal inputs and a normal dy,
 * the error as the largest absolute difference relative to the largest |exact| element (the figures of the header of
 * packages/core/src/fast/winograd.ts, which test/winograd.test.ts bounds). A measurement, not a test.
 *
 *   node scripts/winograd-error.mjs [--batch 100 (1..1000)] [--seed 7]
 *
 * Needs `pnpm run build`. Each variant is forced whichever the plan would pick (`foldnet bench` names what it picks).
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadBuild, THIS_ROOT } from './builds.mjs';
import { parseFlags } from './flags.mjs';

const values = parseFlags('winograd-error', { batch: { type: 'string', default: '100' }, seed: { type: 'string', default: '7' } });
const [N, seed] = [Number(values.batch), Number(values.seed)];
// the float64 reference takes ~0.1 s an image here: 1000 is minutes already
if (!(Number.isInteger(N) && N >= 1 && N <= 1000) || !Number.isInteger(seed)) {
  console.error(`winograd-error: --batch takes a whole number from 1 to 1000 and --seed an integer (given ${values.batch}, ${values.seed})`);
  process.exit(2);
}

const { core } = await loadBuild(THIS_ROOT);
const wino = await import(pathToFileURL(path.resolve(THIS_ROOT, 'packages/core/dist/fast/winograd.js')).href);
const { convGeometry, fastKernels: fast, referenceKernels: reference, fromData, key, normal, split } = core;

const f64 = (t) => fromData(t.shape, Float64Array.from(t.data));
/** max |got - exact| / max |exact| */
const relError = (got, exact) => {
  let err = 0;
  let top = 0;
  for (let i = 0; i < exact.size; i++) {
    err = Math.max(err, Math.abs(got.data[i] - exact.data[i]));
    top = Math.max(top, Math.abs(exact.data[i]));
  }
  return err / top;
};
const fmt = (e) => e.toExponential(1);

// [C, K, H]: resnet's (and deep's 28x28 and 14x14) stride-1 layers, deep's 8x8 ones, resnet's 7x7 ones
const SHAPES = [[16, 16, 28], [32, 32, 14], [32, 64, 8], [64, 64, 8], [64, 64, 7]];

console.log(`float32 error relative to the largest element, batch ${N}, pad 1 (forward / input gradient / filter gradient)\n`);
console.log('| layer | F(4x4,3x3) | F(2x2,3x3) | without Winograd |');
console.log('|---|---|---|---|');
for (const [C, K, H] of SHAPES) {
  const [k1, k2, k3] = split(key(seed + C + H), 3);
  const g = convGeometry('conv', { inH: H, inW: H, filterH: 3, pad: 1 });
  const x = fast.relu(normal(k1, [N, C, H, H], { std: 1 }));
  const w = normal(k2, [K, C, 3, 3], { std: Math.sqrt(2 / (9 * C)) });
  const b = fromData([K], new Float32Array(K));
  const dy = normal(k3, [N, K, H, H], { std: 1 });
  const exactY = reference.conv2dOut(f64(x), f64(w), f64(b), g);
  const exact = reference.conv2dBackwardFromInput(f64(dy), f64(x), f64(w), g, true);
  const cells = [4, 2].map((m) => {
    const y = wino.winogradConv(wino.winogradPlan(x.shape, K, g, 'forward', m), x, w, b, false);
    const dx = wino.winogradInputGrad(wino.winogradDxPlan(dy.shape, x.shape, g, m), dy, w);
    const dw = wino.winogradFilterGrad(wino.winogradDwPlanOf(x.shape, K, g, m), x, dy);
    return `${fmt(relError(y, exactY))} / ${fmt(relError(dx, exact.dx))} / ${fmt(relError(dw, exact.dw))}`;
  });
  wino.setWinograd(false);
  const y = fast.conv2dOut(x, w, b, g);
  const grads = fast.conv2dBackwardFromInput(dy, x, w, g, true);
  wino.setWinograd(true);
  cells.push(`${fmt(relError(y, exactY))} / ${fmt(relError(grads.dx, exact.dx))} / ${fmt(relError(grads.dw, exact.dw))}`);
  console.log(`| ${C} -> ${K} at ${H}x${H} | ${cells.join(' | ')} |`);
}
