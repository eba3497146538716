import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { summary } from '@foldnet/layers';
import {
  accuracyChartSpec, confusionTable, defaultTrainConfig, escapeHtml, finalTable, headline, loadModel, lossChartSpec, lrChartSpec, lrCurve, renderReport, renderSvg, resolveTrainConfig, shellWord, trainCommandLine,
  type Misclassified, type MetricsRow, type ReportData,
} from '@foldnet/cli';

const rows: MetricsRow[] = [
  { step: 10, loss: 2.1, train_acc: 0.389, test_acc: 0.398 },
  { step: 20, loss: 1.2, train_acc: 0.71, test_acc: 0.7 },
];
// confusion[t][p]: 10 classes, 9 right of each, class 3 once taken for 5
const confusion = Array.from({ length: 10 }, (_, t) => Array.from({ length: 10 }, (_, p) => (t === p ? 9 : t === 3 && p === 5 ? 1 : 0)));
const digit = { width: 28, height: 28, pixels: Array.from({ length: 784 }, (_, i) => ((i % 28) > 10 && (i % 28) < 16 ? 1 : 0)) };
const wrong: Misclassified[] = [
  { index: 7, image: digit, trueLabel: 3, predicted: 5, probability: 0.62 },
  { index: 42, image: digit, trueLabel: 1, predicted: 7, probability: 0.51 },
];

const data = async (): Promise<ReportData> => ({
  title: 'simple <seed 0>',
  facts: [['model', 'simple'], ['optimizer', 'adam, lr 0.001']],
  rows,
  accuracySvg: await renderSvg(accuracyChartSpec(rows)),
  lossSvg: await renderSvg(lossChartSpec(rows)),
  confusion,
  filters: { layerName: 'conv1', shape: [30, 1, 5, 5], data: Array.from({ length: 750 }, (_, i) => Math.sin(i)) },
  misclassified: wrong,
  misclassifiedTotal: 11,
  testCount: 100,
});

describe('report.html', () => {
  it('is self-contained: no scripts, no stylesheets or images fetched, every src a data: URI', async () => {
    const html = renderReport(await data());
    expect(html).not.toMatch(/<script|<link|<iframe|url\(/i);
    const srcs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
    expect(srcs.length).toBeGreaterThan(0);
    for (const s of srcs) expect(s.startsWith('data:')).toBe(true);
  });

  it('shows both curves, 30 filters of conv1, the two misclassified images with their labels, and the final accuracies', async () => {
    const html = renderReport(await data());
    expect(html).toContain('alt="accuracy against step"');
    expect(html).toContain('alt="loss against step"');
    expect([...html.matchAll(/alt="filter \d+"/g)]).toHaveLength(30);
    expect([...html.matchAll(/alt="test image \d+"/g)]).toHaveLength(2);
    expect(html).toContain('true 3<br><span class="wrong">pred 5</span>');
    expect(html).toContain('Showing 2 of 11 misclassified test images (of 100)');
    expect(html).toContain('test accuracy 0.7000 on 100 test images; training accuracy 0.7100 on the training subset');
  });

  it('escapes text it did not make (the title)', async () => {
    const html = renderReport(await data());
    expect(html).toContain('foldnet report: simple &lt;seed 0&gt;');
    expect(html).not.toContain('<seed 0>');
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('confusion table 10x10: 100 count cells, diagonal shaded blue, the 3->5 cell red, recall of class 3 = 0.900', () => {
    const html = confusionTable(confusion, Array.from({ length: 10 }, (_, i) => String(i)));
    expect([...html.matchAll(/<td class="(diag|off)"/g)]).toHaveLength(100);
    expect(html).toMatch(/<td class="diag" style="background:rgba\(31,119,180,/);
    expect(html).toMatch(/<td class="off" style="background:rgba\(214,39,40,[^"]*" title="true 3, predicted 5: 1">1<\/td>/);
    expect(html).toContain('<td>0.900</td>');
  });

  it('a network without convolution says so instead of drawing filters; no misclassified images says so too', async () => {
    const html = renderReport({ ...(await data()), filters: null, misclassified: [], misclassifiedTotal: 0 });
    expect(html).toContain('This network has no convolution layer.');
    expect(html).toContain('No test image was misclassified.');
  });
});

describe("the report's figures say what they are and over which images", () => {
  const measured: MetricsRow[] = [
    { step: 20, loss: 2.0832, train_acc: 0.618, test_acc: 0.603, test_loss: 1.61 },
    { step: 40, loss: 0.9712, train_acc: 0.8134, test_acc: 0.778, test_loss: 0.7174 },
  ];

  it('headline: test figures on N test images, training accuracy on the training subset, the mean batch loss over which batches', () => {
    expect(headline({ rows: measured, testCount: 1000, trainCount: 5000, batchSize: 100 })).toBe(
      'After step 40: test accuracy 0.7780 and test loss 0.7174 on 1,000 test images; training accuracy 0.8134 on 5,000 training images; ' +
        'mean batch loss 0.9712 over 20 training batches of 100 (steps 21-40).',
    );
    // one evaluation at the end (evalEvery 0): the mean covers the whole run
    expect(headline({ rows: [{ ...measured[1], step: 300 }], testCount: 10000 })).toMatch(/on 10,000 test images; .* over 300 training batches \(steps 1-300\)\.$/);
    expect(headline({ rows: [], testCount: 10 })).toBe('No evaluation was recorded.');
  });

  it('the final numbers table: each value with what it was measured on, and the best test accuracy with its step', () => {
    const html = finalTable({ rows: [...measured, { step: 60, loss: 0.56, train_acc: 0.86, test_acc: 0.77, test_loss: 0.58 }], testCount: 1000, trainCount: 5000, batchSize: 100, seconds: 4.25 });
    expect(html).toContain('<tr><th>test accuracy</th><td class="value">0.7700</td><td>1,000 test images, after step 60</td></tr>');
    expect(html).toContain('<tr><th>test loss</th><td class="value">0.5800</td><td>1,000 test images</td></tr>');
    expect(html).toContain('<tr><th>training accuracy</th><td class="value">0.8600</td><td>5,000 training images</td></tr>');
    expect(html).toContain('<tr><th>mean batch loss</th><td class="value">0.5600</td><td>20 training batches of 100 (steps 41-60)</td></tr>');
    expect(html).toContain('<tr><th>best test accuracy</th><td class="value">0.7780</td><td>at step 40</td></tr>');
    expect(html).toContain('<td>4.3 s wall time</td>');
    expect(html).not.toContain('top-');
  });

  it('the final numbers table shows the top-k test accuracy when given, and the confusion table each class\'s accuracy', () => {
    const html = finalTable({ rows: measured, testCount: 1000, topK: { k: 5, accuracy: 0.9934 } });
    expect(html).toContain('<tr><th>top-5 test accuracy</th><td class="value">0.9934</td><td>1,000 test images, after step 40</td></tr>');
    expect(confusionTable(confusion, Array.from({ length: 10 }, (_, i) => String(i)))).toContain('>accuracy</th></tr>');
  });

  it('the page names its test-set size, the command line, the layer table and the learning-rate chart', async () => {
    const { network } = loadModel('simple', '.');
    const lrSvg = await renderSvg(lrChartSpec(lrCurve(0.001, (s) => (s < 50 ? 1 : 0.1), 100)));
    const html = renderReport({ ...(await data()), rows: measured, testCount: 1000, trainCount: 5000, batchSize: 100, command: "foldnet train --seed 3 --data 'my data'", layerTable: summary(network), lrSvg });
    expect(html).toContain('<h2>Confusion matrix (test set, 1,000 test images)</h2>');
    expect(html).toContain('<pre>foldnet train --seed 3 --data &#39;my data&#39;</pre>');
    expect(html).toContain('affine1  affine     [100]         432,100');
    expect(html).toContain('433,890');
    expect(html).toContain('alt="learning rate against step"');
    // without a schedule, no learning-rate chart
    expect(renderReport(await data())).not.toContain('learning rate against step');
  });
});

describe('a report of 2,000,000 rows', () => {
  it('renders: the headline, the final table and the best test accuracy come from loops, not spreads', async () => {
    const huge: MetricsRow[] = Array.from({ length: 2_000_000 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), train_acc: 0.5, test_acc: i === 1_500_000 ? 0.9 : 0.5, test_loss: 1 }));
    const html = renderReport({ ...(await data()), rows: huge, testCount: 1000 });
    expect(html).toContain('After step 2000000: test accuracy 0.5000');
    expect(html).toContain('<tr><th>best test accuracy</th><td class="value">0.9000</td><td>at step 1500001</td></tr>');
  });
});

describe('the command line that reproduces a run', () => {
  it('the defaults give the bare command; only what differs becomes a flag, in config order', () => {
    expect(trainCommandLine(defaultTrainConfig, '/home/me')).toBe('foldnet train');
    const config = resolveTrainConfig({}, '/home/me', { model: 'double', optimizer: 'sgd', lr: 0.1, weightInit: 'he', epochs: 2, seed: 3, lrSchedule: 'step:50,80', out: 'runs/x', threads: 1 }, '/home/me');
    expect(trainCommandLine(config, '/home/me')).toBe('foldnet train --model double --epochs 2 --optimizer sgd --lr 0.1 --lr-schedule step:50,80 --weight-init he --seed 3');
  });

  it('paths are typed from where the user stands (relative below it, absolute elsewhere) and quoted for the shell', () => {
    const config = resolveTrainConfig({}, '/', { model: 'nets/my net.json', data: '/data/fashion' }, '/home/me');
    expect(trainCommandLine(config, '/home/me')).toBe(`foldnet train --model 'nets/my net.json' --data /data/fashion`);
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(path.isAbsolute(config.model)).toBe(true);
  });

  it('the learning rate of each step follows the schedule: step s + 1 trains at base x schedule(s)', () => {
    expect(lrCurve(0.01, (s) => (s < 2 ? 1 : 0.1), 4)).toEqual([{ step: 1, lr: 0.01 }, { step: 2, lr: 0.01 }, { step: 3, lr: 0.001 }, { step: 4, lr: 0.001 }]);
  });
});
