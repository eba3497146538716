import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { accuracyChartSpec, accuracyFloor, chartHeight, chartWidth, downsampleMinMax, lossChartSpec, lrChartSpec, pngScale, renderChart, renderSvg, type MetricsRow } from '@foldnet/cli';

// A synthetic learning curve: 20 evaluations, accuracies rising towards 1, loss falling.
const rows: MetricsRow[] = Array.from({ length: 20 }, (_, i) => {
  const step = (i + 1) * 10;
  return { step, loss: 2.3 * Math.exp(-step / 60), train_acc: 1 - 0.9 * Math.exp(-step / 50), test_acc: 0.97 - 0.87 * Math.exp(-step / 50), test_loss: 2.3 * Math.exp(-step / 70) };
});
const stepLosses = Array.from({ length: 200 }, (_, i) => ({ step: i + 1, loss: 2.3 * Math.exp(-(i + 1) / 60) * (1 + 0.2 * Math.sin(i)) }));

const decode = (png: Uint8Array): PNG => PNG.sync.read(Buffer.from(png));

/** How many pixels in a rectangle are darker than mid-grey (text, lines). */
const darkPixels = (img: PNG, x0: number, y0: number, x1: number, y1: number): number => {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if ((img.data[(y * img.width + x) * 4] ?? 255) < 128) n++;
  return n;
};

describe('the accuracy axis', () => {
  it('runs from 0 while any accuracy is below 0.5, from a tenth 0.05 or more below the lowest below 0.9, else from a hundredth 0.01 or more below', async () => {
    expect(accuracyFloor(rows)).toBe(0);
    expect(accuracyFloor([{ step: 20, loss: 1, train_acc: 0.618, test_acc: 0.603 }, { step: 200, loss: 0.3, train_acc: 0.91, test_acc: 0.878 }])).toBe(0.5);
    expect(accuracyFloor([{ step: 20, loss: 1, train_acc: 0.88, test_acc: 0.86 }])).toBe(0.8);
    const high: MetricsRow[] = [0.9808, 0.9895, 0.993, 0.9942].map((a, i) => ({ step: (i + 1) * 1200, loss: 1, train_acc: a + 0.001, test_acc: a }));
    expect(accuracyFloor(high)).toBe(0.97);
    expect(accuracyFloor([{ step: 1, loss: 1, train_acc: 0.9, test_acc: 0.95 }])).toBe(0.89);
    expect(accuracyFloor([{ step: 1, loss: 1, train_acc: Number.NaN, test_acc: Number.NaN }])).toBe(0);
    const { svg } = await renderChart(accuracyChartSpec(high));
    expect(svg).toContain('>0.970<');
    expect(svg).not.toContain('>0.0<');
  });
});

describe('charts (vega-lite -> SVG -> PNG with resvg)', () => {
  it(`accuracy chart of 20 evaluations: SVG ${chartWidth}x${chartHeight}, PNG ${chartWidth * pngScale}x${chartHeight * pngScale} with a drawn title`, async () => {
    const { svg, png } = await renderChart(accuracyChartSpec(rows));
    expect(svg).toMatch(new RegExp(`^<svg[^>]* width="${chartWidth}" height="${chartHeight}"`));
    expect(svg).toContain('training set');
    expect(svg).toContain('test set');
    // the y axis runs from 0 to 1, as in the lesson's plot
    expect(svg).toContain('>0.0<');
    expect(svg).toContain('>1.0<');
    const img = decode(png);
    expect([img.width, img.height]).toEqual([chartWidth * pngScale, chartHeight * pngScale]);
    // the title "accuracy" is text at the top centre: resvg found a font and drew it
    expect(darkPixels(img, img.width / 2 - 80, 0, img.width / 2 + 80, 60)).toBeGreaterThan(50);
  });

  it('loss chart with per-step batch losses and test loss: three series, PNG of the chart size', async () => {
    const spec = lossChartSpec(rows, stepLosses);
    const { svg, png } = await renderChart(spec);
    for (const series of ['batch loss', 'mean batch loss per interval', 'test loss']) expect(svg).toContain(series);
    const img = decode(png);
    expect([img.width, img.height]).toEqual([chartWidth * pngScale, chartHeight * pngScale]);
  });

  it('non-finite values (a NaN loss) are left out of the chart data instead of breaking the chart', async () => {
    const spec = lossChartSpec([...rows, { step: 210, loss: Number.NaN, train_acc: Number.NaN, test_acc: 0.5 }]);
    // JSON.stringify writes NaN as null: had the NaN point gone in, step 210 would appear
    expect(JSON.stringify(spec)).not.toContain('"step":210');
    const { png } = await renderChart(spec);
    expect(decode(png).width).toBe(chartWidth * pngScale);
  });

  it('one evaluation only (evalEvery 0) still renders', async () => {
    const { png } = await renderChart(accuracyChartSpec([{ step: 1000, loss: 0.1, train_acc: 0.99, test_acc: 0.98 }]));
    expect(decode(png).height).toBe(chartHeight * pngScale);
  });
});

/** The legend's box in a rendered SVG, relative to the plot's top left corner: its top y and height. */
const legendBox = (svg: string): { readonly y: number; readonly height: number } => {
  const m = /role-legend"[^>]*><g transform="translate\(([-\d.]+),([-\d.]+)\)"><path class="background"[^>]* d="M0,0h([\d.]+)v([\d.]+)h/.exec(svg);
  if (m === null) throw new Error('no legend in the SVG');
  return { y: Number(m[2]), height: Number(m[4]) };
};

describe('legends stay off the plot', () => {
  it('accuracy and loss charts: the legend box ends above the plot (negative y), so it covers neither grid nor curves', async () => {
    const accuracy = legendBox(await renderSvg(accuracyChartSpec(rows, { trainCount: 5000, testCount: 1000 })));
    const loss = legendBox(await renderSvg(lossChartSpec(rows, stepLosses, { testCount: 1000 })));
    for (const box of [accuracy, loss]) expect(box.y + box.height).toBeLessThanOrEqual(0);
  });

  it('legends name the sets and how many images each figure is measured on', async () => {
    const svg = await renderSvg(accuracyChartSpec(rows, { trainCount: 5000, testCount: 1000 }));
    expect(svg).toContain('training set (5,000 images)');
    expect(svg).toContain('test set (1,000 images)');
    expect(await renderSvg(lossChartSpec(rows, [], { testCount: 1000 }))).toContain('test loss (1,000 images)');
  });
});

// Points drawn in an SVG's line marks: each path's M and L commands.
const drawnPoints = (svg: string): number => [...svg.matchAll(/<path[^>]* d="(M[^"]*)"/g)].reduce((n, m) => n + (m[1].match(/[ML]/g)?.length ?? 0), 0);

describe('histories of millions of rows', () => {
  const n = 2_000_000;
  // 2,000,000 evaluations and step losses: a run of 2M steps evaluated after each one
  const huge: MetricsRow[] = Array.from({ length: n }, (_, i) => ({
    step: i + 1,
    loss: 2 / (1 + i / 1000),
    train_acc: 0.5 + 0.49 * (1 - 1 / (1 + i / 1000)),
    test_acc: 0.5 + 0.48 * (1 - 1 / (1 + i / 1000)),
    test_loss: 2.1 / (1 + i / 1000),
  }));
  const hugeLosses = Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: 2 / (1 + i / 1000) + (i % 7) * 0.01 }));

  it('accuracyFloor of 2,000,000 rows answers (no spread of the values into Math.min)', () => {
    expect(accuracyFloor(huge)).toBe(0.4);
  });

  it('accuracy and loss charts of 2,000,000 rows and step losses render with a bounded number of points', async () => {
    const accuracy = await renderSvg(accuracyChartSpec(huge));
    const loss = await renderSvg(lossChartSpec(huge, hugeLosses));
    // at most 4 points per pixel column per series (2 series, 3 series), plus axes and ticks
    expect(drawnPoints(accuracy)).toBeLessThan(2 * 4 * chartWidth + 200);
    expect(drawnPoints(loss)).toBeLessThan(3 * 4 * chartWidth + 200);
    expect(drawnPoints(loss)).toBeGreaterThan(chartWidth);
  }, 120_000);

  it('downsampling keeps every extreme a pixel column shows: one spike among 2,000,000 points survives', () => {
    const points = Array.from({ length: n }, (_, i) => ({ step: i, value: i === 1_234_567 ? 9 : i === 765_432 ? -9 : 1 }));
    const drawn = downsampleMinMax(points, 640);
    expect(drawn.length).toBeLessThanOrEqual(4 * 640);
    expect(drawn.find((p) => p.value === 9)?.step).toBe(1_234_567);
    expect(drawn.find((p) => p.value === -9)?.step).toBe(765_432);
    // the first and last points stay, in step order
    expect(drawn[0].step).toBe(0);
    expect(drawn[drawn.length - 1].step).toBe(n - 1);
    expect(drawn.every((p, i) => i === 0 || p.step > drawn[i - 1].step)).toBe(true);
  });

  it('a short series is drawn whole; NaN values are left out', () => {
    expect(downsampleMinMax([{ step: 1, value: 1 }, { step: 2, value: Number.NaN }, { step: 3, value: 2 }])).toEqual([{ step: 1, value: 1 }, { step: 3, value: 2 }]);
  });
});

describe('the learning-rate chart', () => {
  it('a cosine schedule over 1,000,000 steps draws from the base rate down to 0 in bounded points', async () => {
    const total = 1_000_000;
    const svg = await renderSvg(lrChartSpec(Array.from({ length: total }, (_, i) => ({ step: i + 1, lr: (0.001 * (1 + Math.cos((Math.PI * i) / total))) / 2 }))));
    expect(svg).toContain('learning rate');
    expect(svg).toContain('>0.001<');
    expect(drawnPoints(svg)).toBeLessThan(4 * chartWidth + 200);
  }, 60_000);
});
