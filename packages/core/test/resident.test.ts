import { fastKernels, fromData, key, normal, setThreads, split, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { residentAt } from '../src/fast/layout.js';
import { chainOps, chainShape, conv1x1 } from './kernel-chain.js';

/*
 * Kernels' results kept in result slots (fast/layout.ts: resultSlot, inputAt): the next kernel reads its input where the
 * last one wrote it. Reading in place must give the bits of copied operands, whatever ran between (the slots are a ring
 * of six, so older results are claimed again and must then be copied in, never read stale).
 */

const copy = (t: Tensor): Tensor => fromData(t.shape, t.data.slice());

afterEach(() => {
  setThreads(1);
});

describe('results read in place', () => {
  // operands picked from the results so far (kernel-chain.ts)
  const [kx, ky] = split(key(11), 4);
  const shape = chainShape;
  const ops = chainOps;

  it('a generated chain of kernels over earlier results gives the bits of the same kernels on copies, 1 and 2 threads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ op: fc.nat(ops.length - 1), a: fc.nat(100), b: fc.nat(100) }), { minLength: 10, maxLength: 24 }),
        fc.constantFrom(1, 2),
        (chain, threads) => {
          setThreads(threads);
          const made: Tensor[] = [normal(kx, shape), normal(ky, shape)];
          let inPlace = 0;
          for (const { op, a, b: bi } of chain) {
            // mostly recent results (the last one is resident), sometimes older ones (their slots claimed again)
            const recent = (i: number): Tensor => made[made.length - 1 - (i % Math.min(made.length, 9))];
            const [x, y] = [recent(a), recent(bi)];
            if (residentAt(x.data) !== undefined) inPlace++;
            const got = ops[op](x, y);
            const want = ops[op](copy(x), copy(y));
            expect(bitwiseEqual(got, want), `op ${op} on results ${made.indexOf(x)}, ${made.indexOf(y)}`).toBe(true);
            made.push(got);
          }
          // the chain did read results in place
          expect(inPlace).toBeGreaterThan(0);
        },
      ),
      { seed: 91, numRuns: 25 },
    );
  });

  it("a kernel's result does not go to the slot its input is read from, even when that is the least recently claimed", () => {
    const x = normal(kx, shape);
    const input = fastKernels.relu(x);
    // five more results: the ring's six slots are all claimed, the input's the least recently
    let last = input;
    for (let i = 0; i < 5; i++) last = fastKernels.add(last, x);
    expect(residentAt(input.data)).toBeDefined();
    // the direct convolution reads its input in place while it writes its output
    const got = conv1x1(input);
    // the input is still resident (read in place, not copied in after its slot was taken)
    expect(residentAt(input.data)).toBeDefined();
    expect(bitwiseEqual(got, conv1x1(copy(input)))).toBe(true);
  });

  it('results over 16 MiB share one slot: the next large result takes it, the small ones keep theirs', () => {
    const big = [2, 16, 384, 384]; // 4.7 M floats, 18.9 MB
    const x = normal(kx, big);
    const small = fastKernels.relu(normal(ky, shape));
    const first = fastKernels.relu(x);
    expect(residentAt(first.data)).toBeDefined();
    const second = fastKernels.add(first, x);
    // the one large slot now holds the sum: the first is read from a copy, with the same values
    expect(residentAt(first.data)).toBeUndefined();
    expect(residentAt(second.data)).toBeDefined();
    expect(residentAt(small.data)).toBeDefined();
    expect(bitwiseEqual(fastKernels.add(first, x), second)).toBe(true);
  });

  it('a result is resident in its slot until the slot is claimed again, then read from a copy with the same values', () => {
    const x = normal(kx, shape);
    const first = fastKernels.relu(x);
    expect(residentAt(first.data)).toBeDefined();
    // six more results claim every slot of the ring once
    let last = first;
    for (let i = 0; i < 6; i++) last = fastKernels.add(last, x);
    expect(residentAt(first.data)).toBeUndefined();
    expect(residentAt(last.data)).toBeDefined();
    expect(bitwiseEqual(fastKernels.add(first, x), fastKernels.add(copy(first), x))).toBe(true);
  });
});
