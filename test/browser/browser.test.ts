import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce } from '../../packages/cli/test/built-cli.js';
import { kernelChecks, networkCase, type NetworkResult } from './checks.js';
import type { PageResults } from './app/page.js';
import { buildApp, chromiumMissing, filesUnder, launchChromium, runPage, serve, type ConsoleLine, type StaticServer } from './harness.js';

/*
 * @foldnet/core and @foldnet/layers in a real browser: the test page (app/) is built with Vite from the built packages,
 * served with and without the cross-origin isolation headers, and opened in Debian's Chromium (headless, driven by
 * playwright-core). In each page a dedicated Worker runs a subset of the fast kernels' differential tests and a small
 * network's forward and gradient, which must equal Node's bit for bit, while the page's main thread keeps a timer going.
 * Isolated, the worker asks for 2 threads and gets them; not isolated, it keeps 1 and the console says why, once.
 */

/** The two thread modes: the page's headers, the threads the worker asks for, and those it must get. */
const modes = [
  { name: 'cross-origin isolated, 2 threads', isolated: true, asked: 2, threads: 2 },
  { name: 'not cross-origin isolated, 1 thread', isolated: false, asked: 2, threads: 1 },
] as const;

const outDir = mkdtempSync(join(tmpdir(), 'foldnet-browser-'));
let server: StaticServer | undefined;
let browser: Browser | undefined;
const results = new Map<string, { readonly page: PageResults; readonly console: ConsoleLine[] }>();
let node: NetworkResult | undefined;
/** Each run's longest gap between the page's timer ticks (more than one run when the first went over 100 ms). */
const longestGaps = new Map<string, number[]>();

const isPageResults = (v: unknown): v is PageResults => typeof v === 'object' && v !== null && 'worker' in v && 'longestGapMs' in v;

// Set when the build, the server or Chromium failed: every test then fails with it (none is skipped), so a machine
// without Chromium counts them all as failed, each naming the install command.
let setupError: Error | undefined;

beforeAll(async () => {
  try {
    // before any build: without Chromium, fail at once naming the command that installs it
    const missing = chromiumMissing();
    if (missing !== undefined) throw new Error(missing);
    await buildOnce();
    await buildApp(outDir);
    node = networkCase();
    const staticServer = await serve(outDir);
    server = staticServer;
    const chromium = await launchChromium();
    browser = chromium;
    for (const mode of modes) {
      const open = async (): Promise<{ readonly page: PageResults; readonly console: ConsoleLine[] }> => {
        const { value, console } = await runPage(chromium, staticServer.url(mode.isolated, `index.html?threads=${mode.asked}`), 'foldnetResults', 240_000);
        if (!isPageResults(value)) throw new Error(`${mode.name}: the page left ${JSON.stringify(value)}`);
        return { page: value, console };
      };
      const first = await open();
      results.set(mode.name, first);
      // The machine is shared (2 cores, a load of 10-15 from other jobs): the OS may hold the page's runnable main
      // thread back for 100 ms while the worker's threads and other processes run. A main thread that foldnet blocked
      // would miss its timer in every run, so a run over the bound is repeated, twice at most.
      const gaps = [first.page.longestGapMs];
      while (gaps.length < 3 && Math.min(...gaps) > 100) gaps.push((await open()).page.longestGapMs);
      longestGaps.set(mode.name, gaps);
    }
  } catch (e) {
    setupError = e instanceof Error ? e : new Error(String(e));
  }
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

const resultOf = (mode: string): { readonly page: PageResults; readonly console: ConsoleLine[] } => {
  if (setupError !== undefined) throw setupError;
  const r = results.get(mode);
  if (r === undefined) throw new Error(`${mode}: the page gave no results`);
  return r;
};

describe('the browser bundle', () => {
  it('a Vite build of @foldnet/core and @foldnet/layers for the browser reaches no node: module and fetches kernels.wasm as an asset', () => {
    if (setupError !== undefined && !existsSync(join(outDir, 'index.html'))) throw setupError;
    const files = filesUnder(outDir);
    const scripts = files.filter((f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThanOrEqual(2); // the page and its worker
    for (const f of scripts) {
      const text = readFileSync(join(outDir, f), 'utf8');
      // a node: import, or Vite's stand-in for a Node built-in it had to leave out of a browser build
      expect(text.match(/["']node:[a-z_/]+["']/g) ?? [], f).toEqual([]);
      expect(/__vite[-_]browser[-_]external/.test(text), `${f} stands in for a Node built-in`).toBe(false);
    }
    expect(files.some((f) => f.endsWith('.wasm'))).toBe(true);
  });
});

for (const mode of modes) {
  describe(`in Chromium, ${mode.name}`, () => {
    it(`the page ${mode.isolated ? 'is' : 'is not'} cross-origin isolated, and its worker runs the fast kernels on ${mode.threads} thread(s) after asking for ${mode.asked}`, () => {
      const { page } = resultOf(mode.name);
      expect(page.crossOriginIsolated).toBe(mode.isolated);
      expect(page.worker.crossOriginIsolated).toBe(mode.isolated);
      expect(page.worker.threads).toBe(mode.threads);
      expect(page.worker.readyWorkers).toBe(mode.threads - 1);
      // the pool's workers really took part of the work (the split kernels), or there was no pool
      if (mode.threads > 1) expect(page.worker.workerChunks).toBeGreaterThan(0);
      else expect(page.worker.workerChunks).toBe(0);
    });

    for (const { name } of kernelChecks) {
      it(`in a Worker: ${name}`, () => {
        const check = resultOf(mode.name).page.worker.checks.find((c) => c.name === name);
        expect(check, `no result for ${name}`).toBeDefined();
        expect(check?.message).toBe('');
        expect(check?.ok).toBe(true);
      });
    }

    it("in a Worker: SimpleConvNet's layers' forward, gradient and 3 Adam steps (batch 20, seed 0) equal Node's bit for bit", () => {
      const { page } = resultOf(mode.name);
      expect(node).toBeDefined();
      expect(page.worker.network.loss).toBe(node?.loss);
      expect(page.worker.network.digests).toEqual(node?.digests);
    });

    it("the page's main thread stays responsive while the worker computes: its 10 ms timer never waits over 100 ms (in one of at most 3 runs)", () => {
      const { page } = resultOf(mode.name);
      expect(page.ticks).toBeGreaterThan(10);
      const gaps = longestGaps.get(mode.name) ?? [];
      expect(Math.min(...gaps), `longest gap of each run: ${gaps.map((g) => g.toFixed(1)).join(', ')} ms`).toBeLessThanOrEqual(100);
    });

    it('@foldnet/core also runs on the page main thread, on one thread, and the console says why once per thread that asked for more', () => {
      const { page, console } = resultOf(mode.name);
      expect(page.mainThread).toEqual({ threads: 1, matmulEqual: true });
      const said = console.filter((l) => l.text.includes('the fast kernels run on one thread'));
      // the main thread always says it may not block; the worker says it lacks isolation only when the page does
      expect(said.filter((l) => !l.fromWorker).map((l) => l.text)).toEqual([expect.stringMatching(mode.isolated ? /main thread may not block/ : /not cross-origin isolated/)]);
      expect(said.filter((l) => l.fromWorker).map((l) => l.text)).toEqual(mode.isolated ? [] : [expect.stringMatching(/not cross-origin isolated/)]);
    });
  });
}
