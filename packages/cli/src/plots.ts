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

/**
 * The lesson's plot: training-set and test-set accuracy against step, y from 0 to 1, legend in
 * the lower right.
 *
 * @example
 * accuracyChartSpec([{ step: 10, loss: 2, train_acc: 0.39, test_acc: 0.4 }]); // a vega-lite spec
 */
export const accuracyChartSpec = (rows: readonly MetricsRow[]): TopLevelSpec => ({
  ...base,
  title: 'accuracy',
  data: {
    values: rows.flatMap((r) => [
      ...(finite(r.train_acc) ? [{ step: r.step, set: 'training set', accuracy: r.train_acc }] : []),
      ...(finite(r.test_acc) ? [{ step: r.step, set: 'test set', accuracy: r.test_acc }] : []),
    ]),
  },
  mark: { type: 'line', point: rows.length <= 20, strokeWidth: 2 },
  encoding: {
    x: { field: 'step', type: 'quantitative', title: 'step', scale: { zero: true, nice: false } },
    y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [accuracyFloor(rows), 1] } },
    color: {
      field: 'set',
      type: 'nominal',
      title: null,
      scale: { domain: ['training set', 'test set'], range: ['#1f77b4', '#ff7f0e'] },
      legend: { orient: 'bottom-right', fillColor: 'white', padding: 6 },
    },
  },
});

/**
 * The accuracy axis' lower end: 0, unless every accuracy is at least 0.9; then a multiple of 0.01 at least
 * 0.01 below the lowest, so that the differences a good model is about (0.98 against 0.995) stay visible.
 *
 * @example accuracyFloor([{ step: 1, loss: 1, train_acc: 0.9808, test_acc: 0.9817 }]) // 0.97
 */
export const accuracyFloor = (rows: readonly MetricsRow[]): number => {
  const values = rows.flatMap((r) => [r.train_acc, r.test_acc]).filter(finite);
  const lowest = Math.min(...values);
  if (values.length === 0 || lowest < 0.9) return 0;
  return Math.floor((lowest - 0.01) * 100 + 1e-9) / 100;
};

/**
 * Loss against step: the mean training-batch loss between evaluations, the test loss when known,
 * and (when given) every step's batch loss as a faint line underneath.
 *
 * @example
 * lossChartSpec([{ step: 10, loss: 2, train_acc: 0.39, test_acc: 0.4 }], [{ step: 1, loss: 2.3 }]);
 */
export const lossChartSpec = (rows: readonly MetricsRow[], stepLosses: readonly StepLoss[] = []): TopLevelSpec => {
  const series = ['batch loss', 'train loss (mean)', 'test loss'];
  const values = [
    ...stepLosses.filter((s) => finite(s.loss)).map((s) => ({ step: s.step, series: 'batch loss', loss: s.loss })),
    ...rows.filter((r) => finite(r.loss)).map((r) => ({ step: r.step, series: 'train loss (mean)', loss: r.loss })),
    ...rows.flatMap((r) => (r.test_loss !== undefined && finite(r.test_loss) ? [{ step: r.step, series: 'test loss', loss: r.test_loss }] : [])),
  ];
  return {
    ...base,
    title: 'loss',
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step', scale: { zero: true, nice: false } },
      y: { field: 'loss', type: 'quantitative', title: 'cross-entropy loss', scale: { zero: true } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: series, range: ['#c7c7c7', '#1f77b4', '#ff7f0e'] },
        legend: { orient: 'top-right', fillColor: 'white', padding: 6, labelLimit: 240 },
      },
      strokeWidth: { condition: { test: "datum.series === 'batch loss'", value: 1 }, value: 2 },
    },
  };
};

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
