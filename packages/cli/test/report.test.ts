import { describe, expect, it } from 'vitest';
import { accuracyChartSpec, confusionTable, escapeHtml, lossChartSpec, renderReport, renderSvg, type Misclassified, type MetricsRow, type ReportData } from '@foldnet/cli';

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
    expect(html).toContain('training accuracy 0.7100, test accuracy 0.7000');
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
