import { setThreads, startThreads, threadStats } from '@foldnet/core';
import { expect } from 'vitest';

/**
 * Runs `body` at 2 threads until the worker has run a chunk of it, and expects that it did: whether the worker gets
 * a core for a given call is up to the OS (the calling thread takes every chunk nobody claimed), so one call may run
 * whole on this thread. Every repetition runs `body`'s own expectations. A small job of two chunks can end before a
 * sleeping worker wakes, call after call on a busy machine (50 calls once were not enough in CI), so it tries up to
 * 1000 times within 20 s.
 *
 * @example untilAWorkerTakesPart(() => expect(bitsOf(run())).toEqual(want));
 */
export const untilAWorkerTakesPart = (body: () => void): void => {
  setThreads(2);
  expect(startThreads()).toBe(1);
  const before = threadStats().workerChunks;
  const until = performance.now() + 20_000;
  for (let i = 0; i < 1000 && threadStats().workerChunks === before && (i < 50 || performance.now() < until); i++) body();
  expect(threadStats().workerChunks).toBeGreaterThan(before);
};
