import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOnce } from '../../packages/cli/test/built-cli.js';
import { drawSeven, trainInDemo } from './demo-driver.js';
import { buildDemo, launchChromium, serve } from './harness.js';

/*
 * The README's picture of the demo (docs/web-demo.png): the demo built and served as demo.test.ts does, SimpleConvNet
 * trained 300 steps on 5000 MNIST images, a 7 drawn on the pad, the page captured. Run it with
 * `pnpm exec tsx test/browser/screenshot-demo.ts` after `pnpm run build`.
 */

const target = fileURLToPath(new URL('../../docs/web-demo.png', import.meta.url));
await buildOnce();
const outDir = mkdtempSync(join(tmpdir(), 'foldnet-demo-shot-'));
await buildDemo(outDir);
const server = await serve(outDir);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 940 } });
  await page.goto(server.url(true, 'index.html'));
  const state = await trainInDemo(page, { iters: 300, trainSize: 5000, testSize: 1000, evalEvery: 25 }, 900_000);
  if (state.phase !== 'trained') throw new Error(`the demo did not train: ${state.message}`);
  await drawSeven(page);
  await page.waitForFunction(() => Reflect.get(Reflect.get(window, 'foldnetDemo') ?? {}, 'probabilities') !== undefined);
  await page.screenshot({ path: target, fullPage: true });
  console.log(`wrote ${target}: ${state.message}`);
} finally {
  await browser.close();
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
}
