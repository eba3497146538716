import { platform } from '#platform';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { platform as browserPlatform } from '../src/platform/browser.js';

/*
 * The platform seam (src/platform/): Node gets its own implementation through package.json's `#platform` import, and
 * the browser's decides from the page's globals when the kernels must stay on one thread (its threads and its fetch of
 * kernels.wasm are exercised in Chromium by test/browser/browser.test.ts).
 */

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the platform seam', () => {
  it("#platform is Node's in Node (vitest's conditions included): threads allowed, the machine's cores", () => {
    expect(platform.name).toBe('node');
    expect(platform.singleThreadReason()).toBeUndefined();
    expect(platform.workersStartWhileBlocked).toBe(true);
    expect(platform.cores()).toBeGreaterThanOrEqual(1);
  });

  // [crossOriginIsolated, in a worker (WorkerGlobalScope), Worker can be started] -> why one thread
  const cases = [
    [true, true, true, undefined],
    [false, true, true, /not cross-origin isolated/],
    [true, false, true, /main thread may not block/],
    [false, false, true, /not cross-origin isolated/],
    [true, true, false, /cannot start a Worker from a Worker/],
  ] as const;
  for (const [isolated, inWorker, nestedWorkers, reason] of cases) {
    it(`in a browser: isolated ${isolated}, in a worker ${inWorker}, nested workers ${nestedWorkers} -> ${reason === undefined ? 'threads' : `one thread (${reason.source})`}`, () => {
      vi.stubGlobal('crossOriginIsolated', isolated);
      vi.stubGlobal('WorkerGlobalScope', inWorker ? class WorkerGlobalScope {} : undefined);
      vi.stubGlobal('Worker', nestedWorkers ? class Worker {} : undefined);
      const why = browserPlatform.singleThreadReason();
      if (reason === undefined) expect(why).toBeUndefined();
      else expect(why).toMatch(reason);
    });
  }

  it("in a browser: the cores are navigator.hardwareConcurrency, 1 where it is missing or not a whole number", () => {
    vi.stubGlobal('navigator', { hardwareConcurrency: 8 });
    expect(browserPlatform.cores()).toBe(8);
    vi.stubGlobal('navigator', {});
    expect(browserPlatform.cores()).toBe(1);
    vi.stubGlobal('navigator', { hardwareConcurrency: 0 });
    expect(browserPlatform.cores()).toBe(1);
  });
});
