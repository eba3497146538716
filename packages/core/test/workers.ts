import { setThreads, startThreads, threadStats } from '@foldnet/core';
import { expect } from 'vitest';

/**
 * Runs `body` at 2 threads until the worker has run a chunk of it, and expects that it did: whether the worker gets
 * a core for a given call is up to the OS (the calling thread takes every chunk nobody claimed), so one call may run
 * whole on this thread. Every repetition runs `body`'s own expectations.
 *
 * @example untilAWorkerTakesPart(() => expect(bitsOf(run())).toEqual(want));
 */
export const untilAWorkerTakesPart = (body: () => void): void => {
  setThreads(2);
  expect(startThreads()).toBe(1);
  const before = threadStats().workerChunks;
  for (let i = 0; i < 50 && threadStats().workerChunks === before; i++) body();
  expect(threadStats().workerChunks).toBeGreaterThan(before);
};
