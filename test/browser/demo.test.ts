import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, foldnet } from '../../packages/cli/test/built-cli.js';
import { demoState, drawSeven, shownProbabilities, trainInDemo } from './demo-driver.js';
import { buildDemo, chromiumMissing, filesUnder, launchChromium, serve, type StaticServer } from './harness.js';
import type { DemoState } from '../../examples/web/main.js';

/*
 * The demo page (examples/web), built with its own Vite config and served cross-origin isolated with the datasets
 * beside it, driven in Chromium as a person would use it: train a few steps, draw a digit, read the probabilities.
 */

const outDir = mkdtempSync(join(tmpdir(), 'foldnet-demo-'));
let server: StaticServer | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
let trained: DemoState | undefined;
let probabilities: number[] = [];
const pageErrors: string[] = [];
let setupError: Error | undefined;

beforeAll(async () => {
  try {
    const missing = chromiumMissing();
    if (missing !== undefined) throw new Error(missing);
    await buildOnce();
    await buildDemo(outDir);
    server = await serve(outDir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url(true, 'index.html'));
    trained = await trainInDemo(page, { iters: 40, trainSize: 1000, testSize: 500, evalEvery: 20 }, 300_000);
    await drawSeven(page);
    await page.waitForFunction(() => Reflect.get(Reflect.get(window, 'foldnetDemo') ?? {}, 'probabilities') !== undefined);
    probabilities = await shownProbabilities(page);
  } catch (e) {
    setupError = e instanceof Error ? e : new Error(String(e));
  }
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

const must = <T>(v: T | undefined): T => {
  if (setupError !== undefined) throw new Error(`${setupError.message}; page errors: ${pageErrors.join('; ')}`);
  if (v === undefined) throw new Error('the demo gave nothing');
  return v;
};

describe('the demo page (examples/web) in Chromium', () => {
  it('its Vite build reaches no node: module', () => {
    const scripts = filesUnder(outDir).filter((f) => f.endsWith('.js') && !f.startsWith('data'));
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const f of scripts) expect(readFileSync(join(outDir, f), 'utf8').match(/["']node:[a-z_/]+["']/g) ?? [], f).toEqual([]);
  });

  it('Train runs SimpleConvNet 40 steps in its Worker: an evaluation at steps 20 and 40, the curves and the confusion matrix drawn', async () => {
    const state = must(trained);
    expect(state.phase, state.message).toBe('trained');
    expect(state.records.map((r) => r.step)).toEqual([20, 40]);
    const cells = await must(page).$$eval('#confusion td', (tds) => tds.map((td) => Number(td.textContent)));
    expect(cells).toHaveLength(100);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(500);
    expect(pageErrors).toEqual([]);
  });

  it('a 7 drawn on the pad gives ten probabilities summing to 1, shown and kept by the page', async () => {
    must(trained);
    expect(probabilities).toHaveLength(10);
    expect(probabilities.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect((await demoState(must(page))).probabilities).toEqual(probabilities);
  });

  it('Download checkpoint saves the trained state: a training checkpoint at step 40 that foldnet eval reads', async () => {
    const p = must(page);
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('#download')]);
    const file = join(outDir, 'downloaded.safetensors');
    await download.saveAs(file);
    expect(download.suggestedFilename()).toBe('checkpoint.safetensors');
    const r = await foldnet(['eval', file, '--test-size', '500', '--json'], outDir);
    expect(r.code, r.stderr).toBe(0);
    const last = must(trained).records[1];
    expect(JSON.parse(r.stdout)).toMatchObject({ step: 40, count: 500, accuracy: last?.test_acc, loss: last?.test_loss });
  });

  it('a checkpoint made by foldnet train, uploaded, is evaluated on the test set as foldnet eval measures it', async () => {
    const p = must(page);
    const run = join(outDir, 'cli-run');
    const trainedByCli = await foldnet(['train', '--iters', '20', '--train-size', '500', '--test-size', '100', '--eval-every', '20', '--out', run], outDir);
    expect(trainedByCli.code, trainedByCli.stderr).toBe(0);
    const file = join(run, 'checkpoint.safetensors');
    const evaluated = await foldnet(['eval', file, '--test-size', '500', '--json'], outDir);
    const e: unknown = JSON.parse(evaluated.stdout);
    const accuracy = typeof e === 'object' && e !== null ? Reflect.get(e, 'accuracy') : undefined;
    await p.setInputFiles('#upload', file);
    await p.waitForFunction(() => document.querySelector('#summary')?.textContent?.includes('checkpoint.safetensors (step 20)') === true, undefined, { timeout: 120_000 });
    const summary = await p.textContent('#summary');
    expect(summary).toContain(`test accuracy ${(Number(accuracy) * 100).toFixed(2)}% on 500 images`);
    expect(pageErrors).toEqual([]);
  });

  it('with a checkpoint foldnet train trained well (300 steps on 5000 images), uploaded, the 7 drawn on the pad is read as a 7', async () => {
    const p = must(page);
    const run = join(outDir, 'cli-run-300');
    const trainedByCli = await foldnet(['train', '--iters', '300', '--eval-every', '0', '--test-size', '100', '--out', run], outDir);
    expect(trainedByCli.code, trainedByCli.stderr).toBe(0);
    await p.setInputFiles('#upload', join(run, 'checkpoint.safetensors'));
    await p.waitForFunction(() => document.querySelector('#summary')?.textContent?.includes('checkpoint.safetensors (step 300)') === true, undefined, { timeout: 120_000 });
    await p.click('#clear');
    expect((await demoState(p)).probabilities).toBeUndefined();
    await drawSeven(p);
    await p.waitForFunction(() => Reflect.get(Reflect.get(window, 'foldnetDemo') ?? {}, 'probabilities') !== undefined);
    const shown = await shownProbabilities(p);
    expect(shown.indexOf(Math.max(...shown)), `probabilities ${shown.map((x) => x.toFixed(3)).join(' ')}`).toBe(7);
    expect(pageErrors).toEqual([]);
  });
});
