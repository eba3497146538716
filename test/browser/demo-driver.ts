import type { Page } from 'playwright-core';
import type { DemoState } from '../../examples/web/main.js';

/*
 * Driving the demo page (examples/web) as a person would: set the run, press Train, wait for the end, draw on the pad,
 * read the ten probabilities. Shared by the demo's test (demo.test.ts) and its screenshot (screenshot-demo.ts).
 */

/** The run the page is asked for, in its form's fields. */
export interface DemoRun {
  readonly iters: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly evalEvery: number;
}

/** The page's state (window.foldnetDemo). */
export const demoState = (page: Page): Promise<DemoState> => page.evaluate(() => Reflect.get(window, 'foldnetDemo'));

/** Fills the form with `run` (the model stays the preset shown first, SimpleConvNet), presses Train and waits for the end. */
export const trainInDemo = async (page: Page, run: DemoRun, timeoutMs: number): Promise<DemoState> => {
  await page.waitForFunction(() => Reflect.get(window, 'foldnetDemo') !== undefined);
  for (const [id, value] of Object.entries(run)) await page.fill(`#${id}`, String(value));
  await page.click('#train');
  await page.waitForFunction(() => {
    const phase: unknown = Reflect.get(Reflect.get(window, 'foldnetDemo') ?? {}, 'phase');
    return phase === 'trained' || phase === 'failed';
  }, undefined, { timeout: timeoutMs, polling: 200 });
  return demoState(page);
};

/** Draws a 7 on the pad with the mouse: a bar across the top and a stroke down to the left, as a hand would. */
export const drawSeven = async (page: Page): Promise<void> => {
  const box = await page.locator('#pad').boundingBox();
  if (box === null) throw new Error('the drawing pad is not on screen');
  const at = (x: number, y: number) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
  const stroke = async (points: readonly (readonly [number, number])[]): Promise<void> => {
    const [first, ...rest] = points;
    if (first === undefined) return;
    await page.mouse.move(...at(...first));
    await page.mouse.down();
    for (const p of rest) await page.mouse.move(...at(...p), { steps: 12 });
    await page.mouse.up();
  };
  await stroke([[80, 70], [200, 70], [135, 220]]);
};

/** The ten probabilities the page shows (each list item's data-p), in class order. */
export const shownProbabilities = (page: Page): Promise<number[]> =>
  page.$$eval('#probabilities li', (items) => items.map((li) => Number(li instanceof HTMLElement ? li.dataset['p'] : Number.NaN)));
