import * as fs from 'node:fs';
import * as path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { MetricsRow } from './metrics.js';

/*
 * Charts are pure data -> vega-lite spec functions; rendering is vega-lite -> vega spec -> headless
 * vega view -> SVG string, and SVG -> PNG with resvg (a Rust rasteriser shipped as a prebuilt npm
 * binary: no canvas, no browser). Charts have a fixed outer size (autosize 'fit'), so a PNG's size
 * is known in advance: chartWidth*pngScale x chartHeight*pngScale.
 */

/** Outer width of every chart, in SVG pixels. */
export const chartWidth = 640;
/** Outer height of every chart, in SVG pixels. */
export const chartHeight = 400;
/** PNGs are rendered at this zoom, so they stay sharp on high-density screens. */
export const pngScale = 2;

/** A training-batch loss at one step (the lesson's train_loss_list). */
export interface StepLoss {
  readonly step: number;
  readonly loss: number;
}

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: chartWidth,
  height: chartHeight,
  autosize: { type: 'fit', contains: 'padding' },
  background: 'white',
  padding: 12,
  config: { font: 'DejaVu Sans, sans-serif', title: { fontSize: 16 }, axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12 } },
} as const;

const finite = (x: number): boolean => Number.isFinite(x);

/** A point of a line chart. */
export interface ChartPoint {
  readonly step: number;
  readonly value: number;
}

/**
 * How many buckets a series is cut into for drawing: about one per horizontal pixel of the plot,
 * so a downsampled line looks exactly like the whole one at the chart's size.
 */
export const drawBuckets = chartWidth;

/**
 * The points of a line worth drawing, at most 4 per bucket: the series (in step order) is cut into
 * `buckets` equal ranges of steps, and each range keeps its first, last, lowest and highest point,
 * in step order (M4 aggregation). At one bucket per pixel column the drawn line is the same as the
 * whole series' (every extreme a pixel shows is kept), and a history of millions of rows draws
 * in ~4 x buckets points. Non-finite values are left out. A short series is returned as it is.
 *
 * @example
 * downsampleMinMax(Array.from({ length: 1e6 }, (_, i) => ({ step: i, value: Math.sin(i) })), 640).length; // <= 2560
 */
export const downsampleMinMax = <P extends ChartPoint>(points: readonly P[], buckets: number = drawBuckets): P[] => {
  const kept = points.filter((p) => finite(p.value) && finite(p.step));
  if (kept.length <= 4 * buckets) return kept;
  // No spread into Math.min/max: a spread of a million arguments overflows the call stack.
  let first = kept[0].step;
  let last = first;
  for (const p of kept) {
    if (p.step < first) first = p.step;
    if (p.step > last) last = p.step;
  }
  const width = (last - first) / buckets;
  const bucketOf = (step: number): number => (width === 0 ? 0 : Math.min(buckets - 1, Math.floor((step - first) / width)));
  const out: P[] = [];
  let i = 0;
  while (i < kept.length) {
    const b = bucketOf(kept[i].step);
    // indices into kept of the bucket's first, lowest, highest and last points
    let lo = i;
    let hi = i;
    let j = i;
    for (; j < kept.length && bucketOf(kept[j].step) === b; j++) {
      if (kept[j].value < kept[lo].value) lo = j;
      if (kept[j].value > kept[hi].value) hi = j;
    }
    for (const k of [...new Set([i, lo, hi, j - 1])].sort((x, y) => x - y)) out.push(kept[k]);
    i = j;
  }
  return out;
};

/** Legends sit above the plot, in a row: never over the grid or a curve. */
const legendAbove = { orient: 'top', direction: 'horizontal', columns: 2, columnPadding: 24, padding: 2, labelLimit: 300, symbolStrokeWidth: 3 } as const;

/** How many images a figure was measured on, for chart legends: ' (1,000 images)', or '' when unknown. */
const imagesOf = (count: number | undefined): string => (count === undefined ? '' : ` (${count.toLocaleString('en-US')} images)`);

/** The sizes of the sets a run measures its accuracy and test loss on, for chart legends. */
export interface SetSizes {
  /** Images of the training subset whose accuracy is measured. */
  readonly trainCount?: number;
  /** Images of the test subset. */
  readonly testCount?: number;
}

/**
 * The lesson's plot: training-set and test-set accuracy against step, the legend above the plot.
 * The y axis runs from accuracyFloor to 1. Long histories are downsampled for drawing.
 *
 * @example
 * accuracyChartSpec([{ step: 10, loss: 2, train_acc: 0.39, test_acc: 0.4 }], { trainCount: 5000, testCount: 1000 }); // a vega-lite spec
 */
export const accuracyChartSpec = (rows: readonly MetricsRow[], sizes: SetSizes = {}): TopLevelSpec => {
  const trainSet = `training set${imagesOf(sizes.trainCount)}`;
  const testSet = `test set${imagesOf(sizes.testCount)}`;
  const train = downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.train_acc })));
  const test = downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.test_acc })));
  return {
    ...base,
    title: 'accuracy',
    data: {
      values: [...train.map((p) => ({ step: p.step, set: trainSet, accuracy: p.value })), ...test.map((p) => ({ step: p.step, set: testSet, accuracy: p.value }))],
    },
    mark: { type: 'line', point: rows.length <= 20, strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step', scale: { zero: true, nice: false } },
      y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [accuracyFloor(rows), 1] } },
      color: { field: 'set', type: 'nominal', title: null, scale: { domain: [trainSet, testSet], range: ['#1f77b4', '#ff7f0e'] }, legend: legendAbove },
    },
  };
};

/**
 * The accuracy axis' lower end, so that the differences a run is about stay visible: 0 while any
 * accuracy is below 0.5 (the climb from chance is the story); a multiple of 0.1 at least 0.05
 * below the lowest while any is below 0.9; else a multiple of 0.01 at least 0.01 below the lowest (0.98 against
 * 0.995 must not be a flat line at the top of a 0-1 axis).
 *
 * @example accuracyFloor([{ step: 1, loss: 1, train_acc: 0.9808, test_acc: 0.9817 }]) // 0.97
 * @example accuracyFloor([{ step: 1, loss: 1, train_acc: 0.62, test_acc: 0.66 }]) // 0.5
 */
export const accuracyFloor = (rows: readonly MetricsRow[]): number => {
  // a loop, not Math.min(...values): a spread of a million arguments overflows the call stack
  let lowest = Number.POSITIVE_INFINITY;
  for (const r of rows) {
    if (finite(r.train_acc) && r.train_acc < lowest) lowest = r.train_acc;
    if (finite(r.test_acc) && r.test_acc < lowest) lowest = r.test_acc;
  }
  if (!finite(lowest) || lowest < 0.5) return 0;
  if (lowest < 0.9) return Math.floor((lowest - 0.05) * 10 + 1e-9) / 10;
  return Math.floor((lowest - 0.01) * 100 + 1e-9) / 100;
};

/** The loss chart's series names. */
export const lossSeries = {
  batch: 'batch loss',
  trainMean: 'mean batch loss per interval',
  test: 'test loss',
} as const;

/**
 * Loss against step: every step's batch loss as a faint line underneath (when given), the mean
 * training-batch loss of each evaluation interval drawn flat over the interval it averages (so the
 * first one, over the earliest steps, is not mistaken for a loss at one step), and the test loss.
 * Long histories are downsampled for drawing.
 *
 * @example
 * lossChartSpec([{ step: 10, loss: 2, train_acc: 0.39, test_acc: 0.4 }], [{ step: 1, loss: 2.3 }], { testCount: 1000 });
 */
export const lossChartSpec = (rows: readonly MetricsRow[], stepLosses: readonly StepLoss[] = [], sizes: SetSizes = {}): TopLevelSpec => {
  const testSeries = `${lossSeries.test}${imagesOf(sizes.testCount)}`;
  const series = [lossSeries.batch, lossSeries.trainMean, testSeries];
  // Each mean covers the steps after the evaluation before it; the first covers the run from step 0.
  const meanRows = rows.filter((r) => finite(r.loss));
  const means = downsampleMinMax(meanRows.length === 0 ? [] : [{ step: 0, value: meanRows[0].loss }, ...meanRows.map((r) => ({ step: r.step, value: r.loss }))]);
  const values = [
    ...downsampleMinMax(stepLosses.map((s) => ({ step: s.step, value: s.loss }))).map((p) => ({ step: p.step, series: lossSeries.batch, loss: p.value })),
    ...means.map((p) => ({ step: p.step, series: lossSeries.trainMean, loss: p.value })),
    ...downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.test_loss ?? Number.NaN }))).map((p) => ({ step: p.step, series: testSeries, loss: p.value })),
  ];
  const x = { field: 'step', type: 'quantitative', title: 'step', scale: { zero: true, nice: false } } as const;
  const y = { field: 'loss', type: 'quantitative', title: 'cross-entropy loss', scale: { zero: true } } as const;
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: ['#c7c7c7', '#1f77b4', '#ff7f0e'] }, legend: legendAbove } as const;
  return {
    ...base,
    title: 'loss',
    data: { values },
    layer: [
      {
        transform: [{ filter: `datum.series !== '${lossSeries.trainMean}'` }],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y, color, strokeWidth: { condition: { test: `datum.series === '${lossSeries.batch}'`, value: 1 }, value: 2 } },
      },
      {
        // a mean holds from the evaluation before up to its own: drawn flat over the steps it averages
        transform: [{ filter: `datum.series === '${lossSeries.trainMean}'` }],
        mark: { type: 'line', strokeWidth: 2, interpolate: 'step-before' },
        encoding: { x, y, color },
      },
    ],
  };
};

/** The learning rate at a step. */
export interface LrPoint {
  readonly step: number;
  readonly lr: number;
}

/**
 * The learning rate of each of a run's steps: step s + 1 trains at `baseLr * schedule(s)`, as
 * trainStep applies a schedule to the state's step before it.
 *
 * @example
 * lrCurve(0.001, cosineDecay(1000), 1000)[0]; // { step: 1, lr: 0.001 }
 */
export const lrCurve = (baseLr: number, schedule: (step: number) => number, steps: number): LrPoint[] =>
  Array.from({ length: steps }, (_, s) => ({ step: s + 1, lr: baseLr * schedule(s) }));

/**
 * The learning rate over the run (when a schedule changes it), against step.
 *
 * @example
 * lrChartSpec([{ step: 1, lr: 0.001 }, { step: 1000, lr: 0 }]);
 */
export const lrChartSpec = (points: readonly LrPoint[]): TopLevelSpec => ({
  ...base,
  height: chartHeight / 2,
  title: 'learning rate',
  data: { values: downsampleMinMax(points.map((p) => ({ step: p.step, value: p.lr }))).map((p) => ({ step: p.step, lr: p.value })) },
  mark: { type: 'line', strokeWidth: 2, color: '#2ca02c', interpolate: 'step-after' },
  encoding: {
    x: { field: 'step', type: 'quantitative', title: 'step', scale: { zero: true, nice: false } },
    y: { field: 'lr', type: 'quantitative', title: 'learning rate', scale: { zero: true }, axis: { format: '~g' } },
  },
});

/**
 * Renders a vega-lite spec to an SVG string, headless (vega's 'none' renderer: no DOM, no canvas).
 *
 * @example
 * const svg = await renderSvg(accuracyChartSpec(rows)); // '<svg ... width="640" height="400" ...'
 */
export const renderSvg = async (spec: TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
};

/** Folders where a Debian/Ubuntu/Fedora/macOS machine keeps its fonts; resvg draws no text without one. */
const fontDirs = ['/usr/share/fonts', '/usr/local/share/fonts', '/Library/Fonts', '/System/Library/Fonts', 'C:\\Windows\\Fonts'];

const sansCandidates = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
];

/**
 * Whether resvg will find a font for chart text: a known sans font file, or any .ttf/.otf in the
 * usual system font folders. Without one the PNG is still drawn, but without its labels.
 */
export const findFonts = (): { readonly files: readonly string[]; readonly any: boolean } => {
  const files = sansCandidates.filter((f) => fs.existsSync(f));
  if (files.length > 0) return { files, any: true };
  const hasFont = (dir: string, depth: number): boolean => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    return entries.some((e) =>
      e.isDirectory() ? depth < 4 && hasFont(path.join(dir, e.name), depth + 1) : /\.(ttf|otf|ttc)$/i.test(e.name),
    );
  };
  return { files: [], any: fontDirs.some((d) => hasFont(d, 0)) };
};

/**
 * Rasterises an SVG to PNG bytes at `scale` (default pngScale) with resvg, on a white background,
 * using the system fonts (DejaVu Sans preferred, as the charts ask for it).
 *
 * @example
 * const png = svgToPng(await renderSvg(spec)); // a 1280x800 PNG for a 640x400 chart
 */
export const svgToPng = (svg: string, scale: number = pngScale): Uint8Array => {
  const fonts = findFonts();
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: true,
      fontFiles: [...fonts.files],
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    logLevel: 'off',
  });
  return new Uint8Array(resvg.render().asPng());
};

/** A chart in both forms the run folder keeps. */
export interface RenderedChart {
  readonly svg: string;
  readonly png: Uint8Array;
}

/**
 * SVG and PNG of one chart.
 *
 * @example
 * const { svg, png } = await renderChart(accuracyChartSpec(rows));
 */
export const renderChart = async (spec: TopLevelSpec): Promise<RenderedChart> => {
  const svg = await renderSvg(spec);
  return { svg, png: svgToPng(svg) };
};

/** One run's curves, as `foldnet compare` draws them. */
export interface ComparedRun {
  /** The run's name in the legend and the table (its folder's name). */
  readonly label: string;
  readonly rows: readonly MetricsRow[];
}

/** Width and height of each of the compare chart's two panels, in SVG pixels. */
export const comparePanel = { width: 520, height: 340 } as const;

/**
 * Several runs side by side: two panels, accuracy and loss against step, one colour per run; the
 * test curves solid, the training ones (training-subset accuracy, mean batch loss per interval)
 * dashed. One legend for both, above the panels. Every series is downsampled for drawing.
 *
 * @example
 * compareChartSpec([{ label: 'adam', rows: adamRows }, { label: 'sgd', rows: sgdRows }]);
 */
export const compareChartSpec = (runs: readonly ComparedRun[]): TopLevelSpec => {
  const accuracy = runs.flatMap(({ label, rows }) => [
    ...downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.test_acc }))).map((p) => ({ run: label, step: p.step, value: p.value, set: 'test set' })),
    ...downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.train_acc }))).map((p) => ({ run: label, step: p.step, value: p.value, set: 'training set' })),
  ]);
  const loss = runs.flatMap(({ label, rows }) => [
    ...downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.test_loss ?? Number.NaN }))).map((p) => ({ run: label, step: p.step, value: p.value, set: 'test set' })),
    ...downsampleMinMax(rows.map((r) => ({ step: r.step, value: r.loss }))).map((p) => ({ run: label, step: p.step, value: p.value, set: 'training set' })),
  ]);
  const allRows = runs.flatMap((r) => r.rows);
  const x = { field: 'step', type: 'quantitative', title: 'step', scale: { zero: true, nice: false } } as const;
  const color = { field: 'run', type: 'nominal', title: null, scale: { domain: runs.map((r) => r.label), scheme: 'category10' }, legend: { ...legendAbove, columns: 3 } } as const;
  // one legend for both panels: solid test curves, dashed training ones
  const dash = { field: 'set', type: 'nominal', title: null, scale: { domain: ['test set', 'training set'], range: [[1, 0], [5, 3]] }, legend: legendAbove } as const;
  const panel = { width: comparePanel.width, height: comparePanel.height } as const;
  return {
    $schema: base.$schema,
    background: 'white',
    padding: 12,
    config: base.config,
    title: `${runs.length} runs: accuracy and loss`,
    hconcat: [
      {
        ...panel,
        title: 'accuracy',
        data: { values: accuracy },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y: { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [accuracyFloor(allRows), 1] } }, color, strokeDash: dash },
      },
      {
        ...panel,
        title: 'loss',
        data: { values: loss },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y: { field: 'value', type: 'quantitative', title: 'cross-entropy loss', scale: { zero: true } }, color, strokeDash: dash },
      },
    ],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  };
};
