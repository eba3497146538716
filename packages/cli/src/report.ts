import { dataUri, greyToPng, normalizeMinMax, shownToPng, type ShownImage } from './images.js';
import type { MetricsRow } from './metrics.js';

/*
 * report.html: one self-contained page (no scripts, no external requests: charts and images are
 * data: URIs) built as a pure function of the run's data, so it can be tested without training.
 */

/** The first convolution layer's weights, W: [F, C, FH, FW] row-major. */
export interface FilterBank {
  readonly shape: readonly [number, number, number, number];
  readonly data: ArrayLike<number>;
  /** The layer's name in the network, e.g. 'conv1'. */
  readonly layerName: string;
}

/** A test image the network got wrong. */
export interface Misclassified {
  /** Index in the test set. */
  readonly index: number;
  /** Grey for one-channel inputs, in colour for RGB ones. */
  readonly image: ShownImage;
  readonly trueLabel: number;
  readonly predicted: number;
  /** The probability the network gave its (wrong) prediction. */
  readonly probability: number;
}

/**
 * Everything report.html shows.
 *
 * @example
 * renderReport({ title: 'simple', facts: [['steps', '1000']], rows, accuracySvg, lossSvg,
 *   confusion, filters, misclassified, misclassifiedTotal: 48, testCount: 1000, trainCount: 5000,
 *   batchSize: 100, command: 'foldnet train --seed 3', layerTable: summary(network) });
 */
export interface ReportData {
  readonly title: string;
  /** Key facts shown at the top, in order (model, optimizer, steps, ...). */
  readonly facts: readonly (readonly [string, string])[];
  readonly rows: readonly MetricsRow[];
  readonly accuracySvg: string;
  readonly lossSvg: string;
  /** confusion[t][p]: how many test images of true class t were predicted as p. */
  readonly confusion: readonly (readonly number[])[];
  /** The final top-k test accuracy (`evaluate`'s topK and topKAccuracy), shown under the top-1 one when given. */
  readonly topK?: { readonly k: number; readonly accuracy: number };
  /** Names of the classes (defaults to '0'..'9'). */
  readonly classNames?: readonly string[];
  /** null when the network has no convolution layer. */
  readonly filters: FilterBank | null;
  readonly misclassified: readonly Misclassified[];
  /** How many misclassified images there were in all (the gallery may show fewer). */
  readonly misclassifiedTotal: number;
  /** Images in the test set every test figure is measured on. */
  readonly testCount: number;
  /** Images of the training subset the training accuracy is measured on. */
  readonly trainCount?: number;
  /** Images per training batch (what the mean batch loss averages over). */
  readonly batchSize?: number;
  /** The command line that trains the same run again, as a user types it. */
  readonly command?: string;
  /** The model's layer table, as `foldnet summary` prints it. */
  readonly layerTable?: string;
  /** The learning-rate chart, when a schedule changes the rate over the run. */
  readonly lrSvg?: string;
  /** Wall-clock seconds the run took. */
  readonly seconds?: number;
}

/** Escapes text for HTML element content and attribute values. */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const style = `
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 4px; }
h2 { font-size: 1.2em; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 4px 16px; font-size: 0.92em; }
.facts div span { color: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.charts img { width: 520px; max-width: 100%; border: 1px solid #eee; }
table.confusion { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9em; }
table.confusion th, table.confusion td { width: 44px; height: 30px; text-align: center; border: 1px solid #e4e4e4; }
table.confusion th { background: #f6f6f6; font-weight: 600; white-space: nowrap; padding: 0 6px; }
table.confusion td.diag { font-weight: 700; }
.caption { color: #666; font-size: 0.88em; margin: 6px 0 0; }
.headline { font-size: 1.05em; }
table.final { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 12px 0; }
table.final th, table.final td { text-align: left; padding: 3px 14px 3px 0; border-bottom: 1px solid #eee; }
table.final td.value { text-align: right; font-weight: 600; }
pre { background: #f6f6f6; padding: 8px 12px; overflow-x: auto; font-size: 0.9em; }
.charts img.lr { height: auto; }
.filters { display: flex; flex-wrap: wrap; gap: 6px; }
.filters figure, .gallery figure { margin: 0; text-align: center; font-size: 0.78em; color: #555; }
.filters img { width: 50px; height: 50px; image-rendering: pixelated; border: 1px solid #ccc; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.gallery img { width: 56px; height: 56px; image-rendering: pixelated; }
.gallery .wrong { color: #c0392b; font-weight: 600; }
`;

const factsHtml = (facts: ReportData['facts']): string =>
  `<div class="facts">${facts.map(([k, v]) => `<div><span>${escapeHtml(k)}:</span> ${escapeHtml(v)}</div>`).join('')}</div>`;

/**
 * The confusion matrix as an HTML table: rows are true classes, columns predictions; each cell is
 * shaded by its share of the row (blue on the diagonal, red off it), with the class's accuracy (the
 * row's recall: the share of its images predicted right) at the end.
 *
 * @example
 * confusionTable([[5, 1], [0, 4]], ['0', '1']); // '<table class="confusion">...'
 */
export const confusionTable = (confusion: readonly (readonly number[])[], classNames: readonly string[]): string => {
  const head = `<tr><th title="true class \\ predicted">true \\ pred</th>${classNames.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}<th title="per-class accuracy: the share of the class's test images predicted right (recall)">accuracy</th></tr>`;
  const body = confusion
    .map((row, t) => {
      const total = row.reduce((a, b) => a + b, 0);
      const cells = row
        .map((n, p) => {
          const share = total > 0 ? n / total : 0;
          const alpha = n === 0 ? 0 : 0.08 + 0.82 * share;
          const rgb = t === p ? '31,119,180' : '214,39,40';
          const ink = alpha > 0.55 ? 'color:white;' : '';
          return `<td class="${t === p ? 'diag' : 'off'}" style="background:rgba(${rgb},${alpha.toFixed(3)});${ink}" title="true ${escapeHtml(classNames[t] ?? String(t))}, predicted ${escapeHtml(classNames[p] ?? String(p))}: ${n}">${n}</td>`;
        })
        .join('');
      const recall = total > 0 ? ((row[t] ?? 0) / total).toFixed(3) : '–';
      return `<tr><th>${escapeHtml(classNames[t] ?? String(t))}</th>${cells}<td>${recall}</td></tr>`;
    })
    .join('');
  return `<table class="confusion">${head}${body}</table>`;
};

/**
 * The filters of the first convolution layer, each drawn as a small grey image (scaled by its own
 * min/max, as the book draws them: dark = negative weights, light = positive). Only the first three
 * input channels of each filter are drawn.
 */
export const filterGallery = (filters: FilterBank): string => {
  const [f, c, fh, fw] = filters.shape;
  const figures: string[] = [];
  for (let i = 0; i < f; i++) {
    for (let ch = 0; ch < Math.min(c, 3); ch++) {
      const offset = (i * c + ch) * fh * fw;
      const values = Array.from({ length: fh * fw }, (_, k) => filters.data[offset + k] ?? 0);
      const png = greyToPng({ width: fw, height: fh, pixels: normalizeMinMax(values) }, 4);
      const label = c > 1 ? `${i}.${ch}` : String(i);
      figures.push(`<figure><img alt="filter ${label}" src="${dataUri('image/png', png)}"><figcaption>${label}</figcaption></figure>`);
    }
  }
  return `<div class="filters">${figures.join('')}</div>`;
};

/** The misclassified test images with their true and predicted labels. */
export const misclassifiedGallery = (items: readonly Misclassified[], classNames: readonly string[]): string => {
  const name = (k: number): string => escapeHtml(classNames[k] ?? String(k));
  const figures = items.map((m) => {
    const png = shownToPng(m.image, 2);
    return `<figure><img alt="test image ${m.index}" src="${dataUri('image/png', png)}"><figcaption>#${m.index}<br>true ${name(m.trueLabel)}<br><span class="wrong">pred ${name(m.predicted)}</span> (${m.probability.toFixed(2)})</figcaption></figure>`;
  });
  return `<div class="gallery">${figures.join('')}</div>`;
};

const images = (n: number, set: string): string => `${n.toLocaleString('en-US')} ${set} image${n === 1 ? '' : 's'}`;

/** What the mean batch loss of an evaluation row averages: its steps, and batches of how many images. */
const meanLossScope = (rows: readonly MetricsRow[], i: number, batchSize: number | undefined): string => {
  const from = i === 0 ? 1 : (rows[i - 1]?.step ?? 0) + 1;
  const to = rows[i]?.step ?? 0;
  const steps = from >= to ? `step ${to}` : `steps ${from}-${to}`;
  return `${to - from + 1} training batch${to === from ? '' : 'es'}${batchSize === undefined ? '' : ` of ${batchSize}`} (${steps})`;
};

/**
 * The report's first line: every figure named with what it is and the images it was measured on,
 * so the mean training-batch loss is never read as a loss on the test set.
 *
 * @example
 * headline({ rows: [{ step: 200, loss: 0.28, train_acc: 0.91, test_acc: 0.88, test_loss: 0.37 }], testCount: 1000, trainCount: 5000, batchSize: 100 });
 * // 'After step 200: test accuracy 0.8800 and test loss 0.3700 on 1,000 test images; training accuracy 0.9100 on 5,000 training images; mean batch loss 0.2800 over 200 training batches of 100 (steps 1-200).'
 */
export const headline = (data: Pick<ReportData, 'rows' | 'testCount' | 'trainCount' | 'batchSize'>): string => {
  const i = data.rows.length - 1;
  const last = data.rows[i];
  if (last === undefined) return 'No evaluation was recorded.';
  const testLoss = last.test_loss === undefined ? '' : ` and test loss ${last.test_loss.toFixed(4)}`;
  const trainSet = data.trainCount === undefined ? 'the training subset' : images(data.trainCount, 'training');
  return (
    `After step ${last.step}: test accuracy ${last.test_acc.toFixed(4)}${testLoss} on ${images(data.testCount, 'test')}; ` +
    `training accuracy ${last.train_acc.toFixed(4)} on ${trainSet}; mean batch loss ${last.loss.toFixed(4)} over ${meanLossScope(data.rows, i, data.batchSize)}.`
  );
};

/**
 * The final numbers as a small table: each figure, its value and what it was measured on, and the
 * best test accuracy of the run with its step.
 */
export const finalTable = (data: Pick<ReportData, 'rows' | 'testCount' | 'trainCount' | 'batchSize' | 'seconds' | 'topK'>): string => {
  const i = data.rows.length - 1;
  const last = data.rows[i];
  if (last === undefined) return '';
  // the best test accuracy: a loop, since a run may have millions of rows
  let best = last;
  for (const r of data.rows) if (Number.isFinite(r.test_acc) && !(r.test_acc <= best.test_acc)) best = r;
  const trainSet = data.trainCount === undefined ? 'the training subset' : images(data.trainCount, 'training');
  const lines: (readonly [string, string, string])[] = [
    ['test accuracy', last.test_acc.toFixed(4), `${images(data.testCount, 'test')}, after step ${last.step}`],
    ...(data.topK === undefined ? [] : [[`top-${data.topK.k} test accuracy`, data.topK.accuracy.toFixed(4), `${images(data.testCount, 'test')}, after step ${last.step}`] as const]),
    ...(last.test_loss === undefined ? [] : [['test loss', last.test_loss.toFixed(4), images(data.testCount, 'test')] as const]),
    ['training accuracy', last.train_acc.toFixed(4), trainSet],
    ['mean batch loss', last.loss.toFixed(4), meanLossScope(data.rows, i, data.batchSize)],
    ['best test accuracy', best.test_acc.toFixed(4), `at step ${best.step}`],
    ['steps', String(last.step), data.seconds === undefined ? '' : `${data.seconds.toFixed(1)} s wall time`],
  ];
  const body = lines.map(([k, v, on]) => `<tr><th>${escapeHtml(k)}</th><td class="value">${escapeHtml(v)}</td><td>${escapeHtml(on)}</td></tr>`).join('');
  return `<table class="final"><tr><th>figure</th><th>value</th><th>measured on</th></tr>${body}</table>`;
};

/**
 * The whole report page. Self-contained: no scripts, and every image is a data: URI.
 *
 * @example
 * fs.writeFileSync('report.html', renderReport(data));
 */
export const renderReport = (data: ReportData): string => {
  const classNames = data.classNames ?? data.confusion.map((_, i) => String(i));
  const filters =
    data.filters === null
      ? '<p>This network has no convolution layer.</p>'
      : `${filterGallery(data.filters)}<p class="caption">${escapeHtml(data.filters.layerName)}: ${data.filters.shape[0]} filters of ${data.filters.shape[1]}x${data.filters.shape[2]}x${data.filters.shape[3]}, each scaled to its own range (dark = negative, light = positive).</p>`;
  const gallery =
    data.misclassified.length === 0
      ? '<p>No test image was misclassified.</p>'
      : `${misclassifiedGallery(data.misclassified, classNames)}<p class="caption">Showing ${data.misclassified.length} of ${data.misclassifiedTotal} misclassified test images (of ${data.testCount}); the number in brackets is the probability given to the wrong class.</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>foldnet report: ${escapeHtml(data.title)}</title>
<style>${style}</style>
</head>
<body>
<h1>foldnet report: ${escapeHtml(data.title)}</h1>
<p class="headline">${escapeHtml(headline(data))}</p>
${finalTable(data)}
${factsHtml(data.facts)}
${data.command === undefined ? '' : `<h2>Command</h2>\n<pre>${escapeHtml(data.command)}</pre>\n<p class="caption">Trains this run again, bit for bit (the run folder aside).</p>`}
<h2>Learning curves</h2>
<div class="charts"><img alt="accuracy against step" src="${dataUri('image/svg+xml', data.accuracySvg)}"><img alt="loss against step" src="${dataUri('image/svg+xml', data.lossSvg)}">${data.lrSvg === undefined ? '' : `<img class="lr" alt="learning rate against step" src="${dataUri('image/svg+xml', data.lrSvg)}">`}</div>
<p class="caption">Accuracy on the training subset and on the test set (${escapeHtml(images(data.testCount, 'test'))}) at each evaluation. The mean batch loss of an interval averages the training batches since the evaluation before; the test loss is measured on the whole test set.</p>
${data.layerTable === undefined ? '' : `<h2>Model</h2>\n<pre>${escapeHtml(data.layerTable)}</pre>`}
<h2>Confusion matrix (test set, ${escapeHtml(images(data.testCount, 'test'))})</h2>
${confusionTable(data.confusion, classNames)}
<p class="caption">Rows: true class; columns: predicted class. Shading: share of the row. Last column: each class's accuracy (the share of its images predicted right).</p>
<h2>First convolution layer's filters</h2>
${filters}
<h2>Misclassified test images</h2>
${gallery}
</body>
</html>
`;
};
