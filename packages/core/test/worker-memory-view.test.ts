import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ThreadData } from '../src/platform/platform.js';
import { getThreads, setThreads, startThreads, threadStats } from '../src/fast/threads.js';
import { ensureBytes, f32, memory } from '../src/fast/wasm.js';
import { transformFilters } from '../src/fast/winograd.js';

/*
 * A worker whose view of the shared memory is older than the memory (threads.ts, "A worker's view of the memory"): V8
 * leaves one so when the memory grows while the worker deserialises its workerData, after its SharedArrayBuffer was
 * made and before its memory object was registered for news of growth. Its atomics (winogradFilterTransform's and
 * winogradTiles' slot claims) then trap past the old size, job after job, until the memory grows again.
 *
 * In a real start the window is short (it spans the deserialisation of the kernels module, which comes before the
 * memory; scripts/stress-eval.mjs met it in ~1 process of 40 under load); here each worker's workerData carries
 * BALLAST objects before the memory, so that deserialising them takes some hundreds of milliseconds, and the memory
 * grows once in that time. The job then runs past the old size, with nothing grown in between: without the renewal
 * the first unit the worker claims traps, and the job fails as models.e2e's evaluations did.
 */

const BALLAST = 600_000;
const hooks = vi.hoisted(() => ({ ballast: [] as readonly object[], serialisedMs: 0 }));

// the platform's threads, with the ballast in their workerData before the memory (deserialised in that order)
vi.mock('#platform', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/platform/node.js')>();
  return {
    platform: {
      ...original.platform,
      startThread: (main: string, data: ThreadData) => {
        const t0 = performance.now();
        original.platform.startThread(main, { control: data.control, module: data.module, ballast: hooks.ballast, memory: data.memory } as ThreadData);
        hooks.serialisedMs = performance.now() - t0;
      },
    },
  };
});

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

// winogradFilterTransform's job over 64 -> 64 channels (split across the threads: Cin Kout >= 2048), w and the threads'
// slots (claimed by an atomic compare-exchange) at byte `pw`, U at `pu`; U's bytes as it wrote them
const C = 64;
const K = 64;
const filters = Float32Array.from({ length: K * C * 9 }, (_, i) => Math.sin(i * 0.37) * 0.5);
const layout = { base: 0, byCi: 9, byKo: 9 * C, byRow: 3, byCol: 1 };
const uFloats = 36 * C * K;
const U_AT = 4 << 20;
const transformedAt = (at: number): Buffer => {
  transformFilters(4, C, K, filters, layout, at + U_AT, at + 64);
  return Buffer.from(f32().slice((at + U_AT) / 4, (at + U_AT) / 4 + uFloats).buffer);
};
/** Room past `at` for transformedAt. */
const ROOM = 8 << 20;

describe('a worker whose view of the memory is older than the memory', () => {
  const threadsBefore = getThreads();
  afterAll(() => setThreads(threadsBefore));

  it('renews it before its units, which run past the old size with the bits of one thread', () => {
    setThreads(1);
    const at = memory.buffer.byteLength;
    ensureBytes(at + ROOM);
    const want = transformedAt(at);
    hooks.ballast = Array.from({ length: BALLAST }, (_, i) => ({ i }));
    // the growth must fall inside the worker's deserialisation, which starts after its thread is up: tried at a later
    // moment each time until a worker's view was behind (the first try did in every run here, idle or loaded)
    let renewed = 0;
    for (let attempt = 0; attempt < 8 && renewed === 0; attempt++) {
      setThreads(3); // a new pool of one worker at the next split
      setThreads(2);
      const old = memory.buffer.byteLength;
      startThreads(0); // started, not waited for
      sleep(hooks.serialisedMs * (0.5 + 0.25 * attempt));
      ensureBytes(old + ROOM);
      expect(startThreads(60_000)).toBe(1);
      // the job past the old size, nothing grown since, until the worker has taken part
      const before = threadStats().workerChunks;
      for (let i = 0; i < 1000 && threadStats().workerChunks === before; i++) expect(transformedAt(old).equals(want)).toBe(true);
      expect(threadStats().workerChunks).toBeGreaterThan(before);
      renewed = threadStats().refreshedViews;
    }
    expect(renewed, 'no worker was started with a view of the memory behind it: the test did not reach its case').toBeGreaterThan(0);
  });
});
