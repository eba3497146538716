import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { sizeOf } from '@foldnet/core';
import { decodeModelSpec, MAX_SPEC_DEPTH } from '@foldnet/layers';
import { decodeTrainConfigFile, networkFromSpec, resolveTrainConfig, UsageError } from '@foldnet/cli';

/*
 * Issue 7: the config decoder and the model-spec decoder fed random JSON, wrong types, NaN and
 * Infinity (which JSON cannot hold but a program can pass), huge numbers and deep nesting. Each
 * answers with a typed error (a Left, or a UsageError from the CLI) or a correct value; never
 * another exception. ~3,000 fast-check runs, seeded.
 */

const configKeys = ['model', 'iters', 'epochs', 'batchSize', 'optimizer', 'lr', 'lrSchedule', 'weightDecay', 'trainSize', 'testSize', 'evalEvery', 'seed', 'data', 'out', 'resume', 'threads', 'backend', 'checkpointEvery', 'onNan'];

// Values that break careless decoders: non-finite, huge, negative zero, wrong types, deep nesting.
const nasty = fc.oneof(
  fc.constantFrom('cosine', 'step:3,2', 'step:', 'step:1,,2', 'step:-1', 'step:1e3', 'step:5,9', Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1, -1, 2.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 32, 2 ** 32 - 1, Number.MIN_VALUE, null, true, false, '', 'adam', 'stop', 'skip', 'fast', '__proto__', [], {}),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
);
const nested = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
};

/** decodeTrainConfigFile's answer: one line naming a key path, or a config that resolves to in-range values. */
const checkConfig = (json: unknown): void => {
  const r = decodeTrainConfigFile(json);
  if (isLeft(r)) {
    expect(typeof r.left).toBe('string');
    expect(r.left).not.toContain('\n');
    expect(r.left.length).toBeLessThan(600);
    return;
  }
  const c = resolveTrainConfig(r.right, '/cfg', {}, '/cwd');
  for (const n of [c.iters, c.batchSize, c.trainSize, c.testSize]) expect(Number.isSafeInteger(n) && n >= 1).toBe(true);
  for (const n of [c.evalEvery, c.seed]) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
  expect(Number.isFinite(c.optimizer.lr) && c.optimizer.lr > 0).toBe(true);
  expect(Number.isFinite(c.weightDecay) && c.weightDecay >= 0).toBe(true);
  expect(c.checkpointEvery === null || (Number.isSafeInteger(c.checkpointEvery) && c.checkpointEvery >= 0)).toBe(true);
  expect(['stop', 'skip']).toContain(c.onNan);
  expect(c.lrSchedule).toMatch(/^(constant|cosine|step:\d+(,\d+)*)$/);
};

describe('fuzz the train config decoder', () => {
  it('random JSON values (800 cases)', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), checkConfig), { seed: 42, numRuns: 800 });
  });

  it('objects of known keys with nasty values: NaN, Infinity, 1e308, 2^53+2, -0, wrong types (800 cases)', () => {
    const arb = fc.dictionary(fc.constantFrom(...configKeys), nasty, { maxKeys: 6 });
    fc.assert(fc.property(arb, checkConfig), { seed: 7, numRuns: 800 });
  });

  it('the optimizer object with nasty type and lr (300 cases)', () => {
    const arb = fc.record({ optimizer: fc.oneof(nasty, fc.dictionary(fc.constantFrom('type', 'lr', 'momentum'), nasty, { maxKeys: 3 })) });
    fc.assert(fc.property(arb, checkConfig), { seed: 11, numRuns: 300 });
  });

  it('NaN and Infinity where numbers go are refused with the key: lr NaN, iters Infinity', () => {
    expect(decodeTrainConfigFile({ lr: Number.NaN })).toEqual({ _tag: 'Left', left: 'lr: expected a positive number, got NaN' });
    expect(decodeTrainConfigFile({ iters: Number.POSITIVE_INFINITY })).toEqual({ _tag: 'Left', left: 'iters: expected a positive integer, got Infinity' });
    expect(decodeTrainConfigFile({ seed: 2 ** 53 + 2 })).toEqual({ _tag: 'Left', left: 'seed: expected an integer from 0 to 4294967295, got 9007199254740994' });
  });

  it('10,000 levels of nesting under a known key and at the top level: a one-line error', () => {
    for (const json of [{ model: nested(10_000, 'simple') }, nested(10_000, {}), { optimizer: nested(10_000, 'adam') }]) checkConfig(json);
  });
});

const layerTypes = ['conv2d', 'affine', 'relu', 'sigmoid', 'tanh', 'maxPool2d', 'avgPool2d', 'flatten', 'dropout', 'batchNorm', 'sequential', 'softmax', 'lstm', ''];
const layerFields = ['type', 'filters', 'size', 'stride', 'pad', 'units', 'rate', 'name', 'layers', 'weightInit', 'momentum', 'eps'];
const layerArb: fc.Arbitrary<unknown> = fc.letrec<{ layer: unknown }>((tie) => ({
  layer: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nasty,
    fc.record({ type: fc.constantFrom(...layerTypes) }),
    fc.tuple(fc.constantFrom(...layerTypes), fc.dictionary(fc.constantFrom(...layerFields), fc.oneof(nasty, fc.integer({ min: 1, max: 5 })), { maxKeys: 4 })).map(([type, f]) => ({ ...f, type })),
    fc.record({ type: fc.constant('sequential'), layers: fc.array(tie('layer'), { maxLength: 3 }) }),
  ),
})).layer;
const specArb = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ input: fc.oneof(nasty, fc.array(fc.oneof(nasty, fc.integer({ min: 1, max: 12 })), { maxLength: 4 })), layers: fc.oneof(nasty, fc.array(layerArb, { maxLength: 5 })) }),
  fc.record({ input: fc.constant([1, 8, 8]), layers: fc.array(layerArb, { minLength: 1, maxLength: 5 }) }),
);

/** decodeModelSpec's answer: a SpecError with a message, or a network (never an exception). */
const checkSpec = (json: unknown): void => {
  const r = decodeModelSpec(json);
  if (isLeft(r)) {
    expect(r.left._tag).toBe('SpecError');
    expect(typeof r.left.message).toBe('string');
    expect(r.left.message.length).toBeGreaterThan(0);
    return;
  }
  expect(r.right.layerShapes).toHaveLength(r.right.layers.length);
};

describe('fuzz the model-spec decoder', () => {
  it('decodeModelSpec: random JSON, random layer lists with nasty fields, nested sequentials (1000 cases)', () => {
    fc.assert(fc.property(specArb, checkSpec), { seed: 2026, numRuns: 1000 });
  });

  it('networkFromSpec (the CLI): the same inputs give a network of allocatable shapes or a UsageError naming the source (300 cases)', () => {
    fc.assert(
      fc.property(specArb, (json) => {
        try {
          const net = networkFromSpec(json, 'spec.json');
          // sizes the CLI can allocate: every per-sample shape a safe integer count below 2^31
          for (const shape of [net.inputShape, ...net.layerShapes]) expect(Number.isSafeInteger(sizeOf(shape)) && sizeOf(shape) < 2 ** 31).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          expect(e instanceof Error && e.message.startsWith('spec.json: ')).toBe(true);
        }
      }),
      { seed: 99, numRuns: 300 },
    );
  });

  it(`sequentials nested 5,000 deep (deeper than the decoder's stack) and 10,000-deep arrays: refused past ${MAX_SPEC_DEPTH} levels, before decoding`, () => {
    let layer: unknown = { type: 'relu' };
    for (let i = 0; i < 5000; i++) layer = { type: 'sequential', layers: [layer] };
    for (const json of [{ input: [1, 4, 4], layers: [layer] }, { input: nested(10_000, 1), layers: [] }]) {
      expect(() => networkFromSpec(json, 'deep.json')).toThrow(new UsageError(`deep.json: spec: nested more than ${MAX_SPEC_DEPTH} levels deep (arrays and objects), more than any model needs`));
    }
  });

  it('input [2^53] or a layer output of more than 2^31 values per sample is refused by decodeModelSpec, naming where', () => {
    expect(() => networkFromSpec({ input: [2 ** 53], layers: [] }, 'big.json')).toThrow(/^big\.json: input: \[9007199254740992\] holds 9007199254740992 values per sample, more than 2\^31 - 1$/);
    expect(() => networkFromSpec({ input: [1, 4, 4], layers: [{ type: 'flatten' }, { type: 'affine', units: 2 ** 31 }] }, 'wide.json')).toThrow(
      /^wide\.json: layers\[1\]: affine1 outputs \[2147483648\]: 2147483648 values per sample, more than 2\^31 - 1$/,
    );
  });

  it('a spec nested 10 sequentials deep still builds', () => {
    let layer: unknown = { type: 'relu' };
    for (let i = 0; i < 10; i++) layer = { type: 'sequential', layers: [layer] };
    expect(networkFromSpec({ input: [1, 4, 4], layers: [layer, { type: 'flatten' }, { type: 'affine', units: 2 }] }, 'ok.json').outputShape).toEqual([2]);
  });
});
