import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { accuracyChartSpec, accuracyFloor, chartHeight, chartWidth, lossChartSpec, pngScale, renderChart, type MetricsRow } from '@foldnet/cli';

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
  it('runs from 0 while any accuracy is below 0.9, else from a round value 0.01 or more below the lowest', async () => {
    expect(accuracyFloor(rows)).toBe(0);
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
    for (const series of ['batch loss', 'train loss (mean)', 'test loss']) expect(svg).toContain(series);
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
