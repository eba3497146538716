// The per-layer gradient-check errors over generated cases (float64, reference kernels, h = 1e-6):
// the worst max-abs and max-rel error seen per layer kind, train and eval mode.
// Run on the built dist:  npx tsc -b packages/layers && node packages/layers/bench/gradcheck-report.mjs [cases]
import fc from 'fast-check';
import { key } from '@foldnet/core';
import { checkGradients } from '@foldnet/layers';
import {
  arbAffineCase, arbBatchNormCase, arbConv2dCase, arbDoubleConvNetCase, arbDropoutCase, arbElementwiseCase,
  arbNetworkCase, arbPoolCase, arbSimpleConvNetCase,
} from '@foldnet/layers/testing';

const cases = Number(process.argv[2] ?? 20);
const groups = [
  ['conv2d', arbConv2dCase()], ['maxPool2d', arbPoolCase('maxPool2d')], ['avgPool2d', arbPoolCase('avgPool2d')],
  ['affine', arbAffineCase()], ['relu/sigmoid/tanh/flatten', arbElementwiseCase()], ['dropout', arbDropoutCase()],
  ['batchNorm', arbBatchNormCase()], ['simpleConvNet', arbSimpleConvNetCase()], ['doubleConvNet', arbDoubleConvNetCase()], ['network', arbNetworkCase()],
];
const rows = new Map();
for (const [label, arb] of groups) {
  const n = (label.endsWith('Net') || label === 'network') ? Math.ceil(cases / 4) : cases;
  fc.sample(arb, { seed: 42, numRuns: n }).forEach((c, i) => {
    for (const mode of ['train', 'eval']) {
      const kind = c.label.split(' ')[0];
      const r = checkGradients(c.target, c.inputShape, { ...c.options, key: key(i), batch: Math.max(2, c.minBatch ?? 1), mode, input: c.input });
      const row = rows.get(kind) ?? { cases: 0, abs: 0, rel: 0, failed: 0 };
      row.cases++;
      row.abs = Math.max(row.abs, r.maxAbsError);
      row.rel = Math.max(row.rel, r.maxRelError);
      row.failed += r.ok ? 0 : 1;
      rows.set(kind, row);
    }
  });
}
console.log('kind            checks  worst max-abs  worst max-rel  failed');
for (const [kind, r] of rows) {
  console.log(`${kind.padEnd(15)} ${String(r.cases).padStart(6)}  ${r.abs.toExponential(2).padStart(13)}  ${r.rel.toExponential(2).padStart(13)}  ${String(r.failed).padStart(6)}`);
}
