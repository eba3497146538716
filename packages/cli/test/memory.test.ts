import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isLeft } from 'fp-ts/lib/Either.js';
import { getThreads, key, setThreads } from '@foldnet/core';
import { decodeModelSpec, memoryNeeds, simpleConvNet, unwrap } from '@foldnet/layers';
import { initTrainState, saveTrainState, sgd } from '@foldnet/train';
import { defaultTrainConfig } from '@foldnet/cli';
import { errorLines, runInProcess, type Captured } from './in-process.js';
import { formatBytes, memoryLimit, MAX_TYPED_ARRAY_VALUES, refuseOverMemory } from '../src/commands/common.js';

/*
 * Issue 18's "memory refused up front": a model or batch whose memory would exceed what the machine can give is
 * refused before anything of that size is allocated, saying the estimate and the limit (exit 2); `summary` allocates
 * nothing however large the model; and no numeric flag of train, gradcheck or bench, and no number in a model spec
 * given to summary, ends in an internal error.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-memory-'));
const threadsBefore = getThreads();
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => setThreads(threadsBefore));

const cli = (args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<Captured> => runInProcess(args, tmp, { env });

const writeSpec = (name: string, spec: unknown): string => {
  fs.writeFileSync(path.join(tmp, name), JSON.stringify(spec));
  return name;
};

/** Array-buffer memory grown while `f` runs (what typed arrays take), in bytes. */
const arrayBufferGrowth = async (f: () => Promise<unknown>): Promise<number> => {
  const before = process.memoryUsage().arrayBuffers;
  await f();
  return process.memoryUsage().arrayBuffers - before;
};

const affine1e8 = writeSpec('affine-1e8.json', { input: [1, 28, 28], layers: [{ type: 'affine', units: 100_000_000 }] });

describe('memoryNeeds: from the shape rules alone', () => {
  const net = unwrap(simpleConvNet());

  it('SimpleConvNet: 433,890 params; kept per image: the input, every node output and the widest once more', () => {
    const m = memoryNeeds(net, { batch: 100, bytesPerValue: 4, paramCopies: 7, backward: true });
    expect(m.params).toBe(433_890);
    const outputs = net.graph.nodes.reduce((a, n) => a + n.shape.reduce((x, y) => x * y, 1), 0);
    expect(m.activationsPerImage).toBe(784 + outputs + 30 * 24 * 24);
    expect(m.paramBytes).toBe(433_890 * 7 * 4);
    expect(m.activationBytes).toBe(m.activationsPerImage * 100 * 4);
    expect(m.largest).toEqual({ what: 'the output of conv1 for a batch of 100', values: 30 * 24 * 24 * 100 });
  });

  it('grows linearly with the batch and the copies (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), (batch, copies, backward) => {
        const one = memoryNeeds(net, { batch: 1, bytesPerValue: 4, paramCopies: 1, backward });
        const m = memoryNeeds(net, { batch, bytesPerValue: 8, paramCopies: copies, backward });
        expect(m.activationBytes).toBe(one.activationBytes * batch * 2);
        expect(m.paramBytes).toBe(one.paramBytes * copies * 2);
      }),
      { seed: 18, numRuns: 100 },
    );
  });
});

describe('refuseOverMemory: the estimate against the limit', () => {
  const net = unwrap(simpleConvNet());

  it('refuses exactly when the estimate exceeds the limit, naming both; an array past 2^32 - 1 values whatever the limit (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2e6 }), fc.double({ min: 1e6, max: 1e13, noNaN: true }), (batch, limit) => {
        const needs = memoryNeeds(net, { batch, bytesPerValue: 4, paramCopies: 7, backward: true });
        const ask = { model: 'simple', batchFlag: `--batch-size ${batch}` };
        const tooBig = needs.totalBytes > limit;
        const tooLong = needs.largest.values > MAX_TYPED_ARRAY_VALUES;
        if (!tooBig && !tooLong) {
          expect(() => refuseOverMemory(ask, needs, limit)).not.toThrow();
          return;
        }
        expect(() => refuseOverMemory(ask, needs, limit)).toThrow(
          tooBig
            ? `simple with --batch-size ${batch}: needs at least ${formatBytes(needs.totalBytes)} of memory (433,890 params: ${formatBytes(needs.paramBytes)}, `
            : `simple with --batch-size ${batch}: the output of conv1 for a batch of ${batch} would hold`,
        );
        if (tooBig) expect(() => refuseOverMemory(ask, needs, limit)).toThrow(`more than the ${formatBytes(limit)} this machine has`);
      }),
      { seed: 18, numRuns: 300 },
    );
  });

  it('FOLDNET_MEMORY_LIMIT lowers the limit, never raises it past the machine; junk is refused naming the variable', () => {
    expect(memoryLimit({})).toBeGreaterThan(0);
    expect(memoryLimit({})).toBeLessThanOrEqual(os.totalmem());
    expect(memoryLimit({ FOLDNET_MEMORY_LIMIT: '4e9' })).toBe(Math.min(4e9, os.totalmem()));
    expect(memoryLimit({ FOLDNET_MEMORY_LIMIT: '1e30' })).toBe(memoryLimit({}));
    for (const junk of ['0', '-1', 'lots', '0x10', 'Infinity']) {
      expect(() => memoryLimit({ FOLDNET_MEMORY_LIMIT: junk })).toThrow(`FOLDNET_MEMORY_LIMIT: expected a positive number of bytes, got ${JSON.stringify(junk)}`);
    }
  });
});

describe('commands refuse before allocating, with the number', () => {
  it('train --batch-size 1000000000: exit 2, the estimate in TB and the limit, nothing allocated (it took 3.9 GB, then an internal error)', async () => {
    let r: Captured | undefined;
    const grown = await arrayBufferGrowth(async () => (r = await cli(['train', '--batch-size', '1000000000', '--out', 'never'])));
    expect(r?.code, r?.err).toBe(2);
    expect(errorLines(r ?? { code: 0, out: '', err: '' })).toEqual([
      expect.stringMatching(/^foldnet train: simple with --batch-size 1000000000: needs at least \d+\.\d TB of memory \(433,890 params: 12\.1 MB, \d{2},\d{3} activation values per image: \d+\.\d TB, input images: [\d.]+ MB\), more than the [\d.]+ [MGT]B this machine has \(FOLDNET_MEMORY_LIMIT lowers it\)$/),
    ]);
    expect(grown).toBeLessThan(64 * 2 ** 20);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('gradcheck of an affine of 10^8 units: exit 2 with the estimate (it ended in "internal error: Invalid typed array length")', async () => {
    let r: Captured | undefined;
    const grown = await arrayBufferGrowth(async () => (r = await cli(['gradcheck', affine1e8])));
    expect(r?.code, r?.err).toBe(2);
    expect(errorLines(r ?? { code: 0, out: '', err: '' })).toEqual([expect.stringMatching(/^foldnet gradcheck: affine-1e8 with --batch-size 2: needs at least [\d.]+ TB of memory \(78,500,000,000 params: [\d.]+ TB, /)]);
    expect(grown).toBeLessThan(64 * 2 ** 20);
  });

  it('an array past the typed-array limit on a machine with memory to spare: named, whatever the limit says', () => {
    const net = unwrap(simpleConvNet());
    expect(() => refuseOverMemory({ model: 'simple', batchFlag: '--batch-size 300000' }, memoryNeeds(net, { batch: 300_000, bytesPerValue: 4, paramCopies: 7, backward: true }), Number.POSITIVE_INFINITY)).toThrow(
      'simple with --batch-size 300000: the output of conv1 for a batch of 300000 would hold 5,184,000,000 values, and one array holds at most 4,294,967,295',
    );
  });

  it('bench --batch-size 10000000 and train with the 10^8-unit spec: exit 2 before allocating', async () => {
    for (const args of [['bench', '--batch-size', '10000000', '--steps', '1', '--warmup', '0'], ['train', '--model', affine1e8, '--out', 'never2']]) {
      let r: Captured | undefined;
      const grown = await arrayBufferGrowth(async () => (r = await cli(args)));
      expect(r?.code, `${args.join(' ')}: ${r?.err}`).toBe(2);
      expect(errorLines(r ?? { code: 0, out: '', err: '' })).toEqual([expect.stringMatching(/: needs at least [\d.]+ [GTP]B of memory .* this machine has/)]);
      expect(grown).toBeLessThan(64 * 2 ** 20);
    }
  });

  it('eval (500 images a pass) and predict under FOLDNET_MEMORY_LIMIT 1e9 of a checkpoint whose activations cannot fit (a 1x1 convolution to 2^20 channels: 50 MB of params, 3.3 GB per image): exit 2 with the estimate, before any forward', async () => {
    const wide = decodeModelSpec({ input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 2 ** 20, size: 1 }, { type: 'globalAvgPool2d' }, { type: 'affine', units: 10 }] });
    if (isLeft(wide)) throw new Error(wide.left.message);
    const optimizer = sgd();
    const saved = saveTrainState(path.join(tmp, 'wide.safetensors'), { network: wide.right, optimizer, state: initTrainState(wide.right, optimizer, key(1)), config: defaultTrainConfig });
    if (isLeft(saved)) throw new Error(saved.left.message);
    // one image takes 3.3 GB, which this machine has: predict is refused under a limit of 1 GB
    for (const [args, env] of [[['eval', 'wide.safetensors', '--test-size', '10'], {}], [['predict', 'wide.safetensors', '--index', '0'], { FOLDNET_MEMORY_LIMIT: '1e9' }]] as const) {
      const r = await cli(args, env);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(errorLines(r)).toEqual([expect.stringMatching(new RegExp(`^foldnet ${args[0]}: wide\\.safetensors: needs at least [\\d.]+ [GT]B of memory \\(12,582,922 params: [\\d.]+ MB, .*this machine has`))]);
    }
  });

  it('summary of the 10^8-unit affine stays allocation-free: exit 0, 78,500,000,000 params, array buffers grow < 16 MB', async () => {
    let r: Captured | undefined;
    const grown = await arrayBufferGrowth(async () => (r = await cli(['summary', affine1e8])));
    expect(r?.code, r?.err).toBe(0);
    expect(r?.out).toMatch(/total\s+78,500,000,000/);
    expect(grown).toBeLessThan(16 * 2 ** 20);
  });
});

// ----- fuzz: numeric flags never end in an internal error -----

/**
 * Texts for a numeric flag: bounds, overflow and notation the flags refuse, weighted towards values a flag accepts
 * (small and large integers, decimals), so that most cases get past the flag's own check into the command.
 */
const hostileNumber = fc.oneof(
  { arbitrary: fc.constantFrom('0', '-1', '1', '2', '1.5', '-0', '1e-400', '1e9', '2147483648', '4294967296', '9007199254740993', '1e39', '1e308', '1e309', 'NaN', 'Infinity', '0x10', '1_000', ' 3', ''), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 100 }).map(String), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 1e7 }).map(String), weight: 2 },
  { arbitrary: fc.double({ min: 1e-12, max: 1e12, noNaN: true }).map(String), weight: 1 },
  { arbitrary: fc.double().map(String), weight: 1 },
);
/** For flags that set how long a command runs: mostly 1 to 3, sometimes texts a flag refuses. */
const hostileCount = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 3 }).map(String), weight: 4 },
  { arbitrary: fc.constantFrom('0', '-1', '1.5', 'NaN', '1e-400', '0x2', ''), weight: 1 },
);

/** The outcome every input must have: exit 0, 1 or 2, and on failure one line naming the command, never an internal error or a stack. */
const expectClean = (r: Captured, args: readonly string[]): void => {
  expect([0, 1, 2], `${args.join(' ')}: ${r.err}`).toContain(r.code);
  expect(r.err, args.join(' ')).not.toMatch(/internal error|^\s+at /m);
  if (r.code !== 0) expect(errorLines(r).length, `${args.join(' ')}: ${r.err}`).toBeGreaterThanOrEqual(1);
};

// Commands run in-process under a 512 MB limit, so that a valid but large batch is refused at once rather than run.
const fuzzEnv = { FOLDNET_MEMORY_LIMIT: String(512 * 2 ** 20) };
const tinySpec = writeSpec('tiny.json', { input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 2, size: 5, stride: 3 }, { type: 'relu' }, { type: 'affine', units: 10 }] });

describe('fuzz: numeric flags of train, gradcheck and bench, and numbers in a spec for summary', () => {
  it('train: any of its numeric flags hostile, the rest tiny', async () => {
    const flags = ['--batch-size', '--train-size', '--test-size', '--lr', '--weight-decay', '--seed', '--threads', '--eval-every', '--checkpoint-every', '--weight-init'] as const;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...flags), hostileNumber, fc.constantFrom('--iters', '--epochs'), hostileCount, async (flag, value, lengthFlag, length) => {
        const args = ['train', '--model', flag === '--weight-init' ? 'simple' : tinySpec, '--train-size', '60', '--test-size', '20', '--batch-size', '20', lengthFlag, '1', '--eval-every', '0', flag, value, lengthFlag, length, '--out', `fuzz-${n++}`];
        expectClean(await cli(args, fuzzEnv), args);
      }),
      { seed: 18, numRuns: 40 },
    );
  }, 300_000);

  it('gradcheck: any of its numeric flags hostile', async () => {
    const flags = ['--batch-size', '--tolerance', '--atol', '--seed', '--jitter', '--elements'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...flags), hostileNumber, async (flag, value) => {
        const args = ['gradcheck', tinySpec, '--elements', '2', flag, value];
        expectClean(await cli(args, fuzzEnv), args);
      }),
      { seed: 18, numRuns: 40 },
    );
  }, 300_000);

  it('bench: any of its numeric flags hostile', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('--batch-size', '--threads', '--steps', '--warmup'), hostileNumber, hostileCount, async (flag, value, count) => {
        const args = ['bench', '--model', tinySpec, '--batch-size', '4', '--steps', '1', '--warmup', '0', '--json', flag, flag === '--steps' || flag === '--warmup' ? count : value];
        expectClean(await cli(args, fuzzEnv), args);
      }),
      { seed: 18, numRuns: 30 },
    );
  }, 300_000);

  it('summary: hostile numbers in a spec (units, filters, size, stride, pad, input)', async () => {
    let n = 0;
    // mostly plausible layers, some of them huge (10^9 units, 10^6 filters), sometimes numbers no shape allows
    const edge = fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e308);
    const number = (max: number) => fc.oneof({ arbitrary: fc.integer({ min: 1, max }), weight: 4 }, { arbitrary: edge, weight: 1 });
    await fc.assert(
      fc.asyncProperty(number(1e9), number(1e6), number(8), number(4), number(64), async (units, filters, size, stride, side) => {
        const spec = writeSpec(`summary-${n++}.json`, { input: [1, side, side], layers: [{ type: 'conv2d', filters, size, stride, pad: 0 }, { type: 'affine', units }] });
        let r: Captured | undefined;
        const grown = await arrayBufferGrowth(async () => (r = await cli(['summary', spec, '--json'], fuzzEnv)));
        expectClean(r ?? { code: 0, out: '', err: '' }, ['summary', spec]);
        expect(grown).toBeLessThan(16 * 2 ** 20);
      }),
      { seed: 18, numRuns: 150 },
    );
  }, 300_000);
});
