// Measures what skipping the first layer's input gradient saves: one SimpleConvNet training step
// (forward, softmax cross-entropy, backward) at batch 100, with conv1's dL/dx computed or not.
// Run on the built dist:  npx tsc -b packages/layers && node packages/layers/bench/skip-input-grad.mjs [backend] [runs]
import { key, normal, randomIndices, split, setBackend, kernels } from '@foldnet/core';
import { simpleConvNet, softmaxCrossEntropy, unwrap } from '@foldnet/layers';

const backend = process.argv[2] ?? 'reference';
const runs = Number(process.argv[3] ?? 7);
setBackend(backend);
const net = unwrap(simpleConvNet());
const [k1, k2, k3] = split(key(0), 3);
const { params, state } = net.init(k1);
const x = normal(k2, [100, 1, 28, 28]);
const labels = randomIndices(k3, 10, 100);

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
// One step; returns [forward + loss ms, backward ms]. Timing the backward on its own keeps the
// (identical) forward's noise out of the comparison.
const step = (needInputGrad) => {
  const t0 = process.hrtime.bigint();
  const r = net.forward(params, state, x, { mode: 'train', needInputGrad });
  const { dlogits } = softmaxCrossEntropy(r.y, labels);
  const forward = ms(t0);
  const t1 = process.hrtime.bigint();
  r.pullback(dlogits);
  return [forward, ms(t1)];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs) => Math.min(...xs);

step(true); step(false); // warm-up (JIT, wasm compile)
const forwards = [];
const withDx = [];
const withoutDx = [];
for (let i = 0; i < runs; i++) { // interleaved, so drift in machine load hits both alike
  const [f1, b1] = step(true);
  const [f2, b2] = step(false);
  forwards.push(f1, f2);
  withDx.push(b1);
  withoutDx.push(b2);
}
const f = median(forwards);
const a = median(withDx);
const b = median(withoutDx);
const list = (xs) => xs.map((v) => v.toFixed(0)).join(' ');
console.log(`backend ${kernels().name}, SimpleConvNet batch 100, ${runs} runs each, medians:`);
console.log(`  forward + loss:                ${f.toFixed(1)} ms`);
console.log(`  backward with conv1 dL/dx:     ${a.toFixed(1)} ms   (runs: ${list(withDx)})`);
console.log(`  backward without (default):    ${b.toFixed(1)} ms   (runs: ${list(withoutDx)})`);
console.log(`  saving: ${(a - b).toFixed(1)} ms, ${(((a - b) / a) * 100).toFixed(1)}% of the backward, ${(((a - b) / (f + a)) * 100).toFixed(1)}% of the step`);
const [fm, am, bm] = [min(forwards), min(withDx), min(withoutDx)];
console.log(`  (fastest runs: forward ${fm.toFixed(1)}, backward ${am.toFixed(1)} vs ${bm.toFixed(1)} ms: ${(((am - bm) / am) * 100).toFixed(1)}% of the backward, ${(((am - bm) / (fm + am)) * 100).toFixed(1)}% of the step)`);
