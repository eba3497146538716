import { fastKernels, key, setThreads, traceJobs, uniform, type JobRecord } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { untilAWorkerTakesPart } from './workers.js';

/*
 * traceJobs, the measuring hook scripts/trace-jobs.mjs reads: while on, every job of the pool is recorded (its export,
 * items and units, whether it was split, this thread's time in its units and waiting, the workers' time in theirs); off,
 * nothing is, and the workers do not time their claims.
 */

afterEach(() => {
  traceJobs(false);
  setThreads(1);
});

// a sum of 2^19 floats: addElements, split across the threads (past the split's threshold)
const [a, b] = [uniform(key(1), [1 << 19]), uniform(key(2), [1 << 19])];

const addJobs = (records: readonly JobRecord[]): JobRecord[] => records.filter((r) => r.name === 'addElements');

describe('traceJobs', () => {
  it('records a split job with the workers’ share while on, and nothing once off', () => {
    let records: readonly JobRecord[] = [];
    untilAWorkerTakesPart(() => {
      traceJobs(true);
      fastKernels.add(a, b);
      records = traceJobs(false);
    });
    const jobs = addJobs(records);
    expect(jobs.length).toBe(1);
    const [job] = jobs;
    expect(job).toMatchObject({ items: 1 << 19, split: true });
    expect(job.units).toBeGreaterThan(1);
    // the call untilAWorkerTakesPart stopped at is one a worker took units of: its first claim and busy time are there
    expect(job.workerStartMs).not.toBe(-1);
    expect(job.workerBusyMs).toBeGreaterThan(0);
    expect(job.end).toBeGreaterThanOrEqual(job.start);
    expect(job.callerMs + job.waitMs).toBeLessThanOrEqual(job.end - job.start + 1e-6);
    fastKernels.add(a, b);
    expect(traceJobs(false)).toEqual([]);
  });

  it('records a job run on one thread as not split, with no worker time', () => {
    setThreads(1);
    traceJobs(true);
    fastKernels.add(a, b);
    const [job] = addJobs(traceJobs(false));
    expect(job).toMatchObject({ items: 1 << 19, units: 1, split: false, waitMs: 0, workerBusyMs: 0 });
  });
});
