import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromData, key, normal, split, type Key, type Tensor } from '@foldnet/core';
import { affine, conv2d, dropout, network, relu, unwrap, flatten } from '@foldnet/layers';
import {
  adam, augmentation, augmentKey, batchesOf, composeAugmentations, cropOffsets, eraseBoxes, fit, flipsOf, horizontalFlip, initTrainState, parseAugment,
  randomCrop, randomErase, randomShift, sampleWithReplacement, trainStep, type Augmentation, type AugmentStep,
} from '@foldnet/train';

/*
 * Augmentation: pure, seeded transforms of a batch [N,C,H,W]. Properties over random batches,
 * keys and recipes (fast-check, seeded), and the training step's use of them: reproducible and
 * resumable bit for bit.
 */

const bits = (t: Tensor): number[] => Array.from(t.data);

/** A random batch [n,c,h,w] with no zeros (so a zeroed pixel is always a change). */
const batchArb = fc
  .record({ n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), seed: fc.nat() })
  .map(({ n, c, h, w, seed }) => {
    const data = new Float32Array(n * c * h * w);
    for (let i = 0; i < data.length; i++) data[i] = 1 + ((seed + 37 * i) % 251);
    return fromData([n, c, h, w], data);
  });
const keyArb = fc.nat().map((s) => key(s));
const stepArb: fc.Arbitrary<AugmentStep> = fc.oneof(
  fc.integer({ min: 0, max: 5 }).map((pad): AugmentStep => ({ kind: 'crop', pad })),
  fc.constant<AugmentStep>({ kind: 'flip' }),
  fc.integer({ min: 0, max: 5 }).map((max): AugmentStep => ({ kind: 'shift', max })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((p): AugmentStep => ({ kind: 'erase', p })),
);
const run = { numRuns: 200, seed: 19 } as const;

/** Pixel (k, ch, y, x) of x [N,C,H,W]. */
const at = (x: Tensor, k: number, ch: number, y: number, xx: number): number => {
  const [, c, h, w] = x.shape;
  return x.data[((k * c + ch) * h + y) * w + xx];
};

describe('augmentations: properties (fast-check, 200 cases each)', () => {
  it('every recipe keeps the shape and dtype, leaves its input untouched, and gives the same batch for the same key', () => {
    fc.assert(
      fc.property(batchArb, keyArb, fc.array(stepArb, { minLength: 1, maxLength: 4 }), (x, k, steps) => {
        const before = bits(x);
        const aug = augmentation(steps);
        if (aug === undefined) throw new Error('a recipe of steps gives a transform');
        const a = aug(k, x);
        expect(a.shape).toEqual(x.shape);
        expect(a.dtype).toBe(x.dtype);
        expect(bits(aug(k, x))).toEqual(bits(a));
        expect(bits(x)).toEqual(before);
      }),
      run,
    );
  });

  it('horizontal flip twice with one key is the identity; the images it flips are mirrored, the others kept', () => {
    fc.assert(
      fc.property(batchArb, keyArb, (x, k) => {
        const flip = horizontalFlip();
        const once = flip(k, x);
        expect(bits(flip(k, once))).toEqual(bits(x));
        const [n, c, h, w] = x.shape;
        const flips = flipsOf(k, n);
        for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
          expect(at(once, i, ch, y, xx)).toBe(at(x, i, ch, y, flips[i] ? w - 1 - xx : xx));
        }
      }),
      run,
    );
  });

  it('crop with 0 padding, shift by 0 and erasing with probability 0 are the identity', () => {
    fc.assert(
      fc.property(batchArb, keyArb, (x, k) => {
        for (const aug of [randomCrop(0), randomShift(0), randomErase(0)]) expect(bits(aug(k, x))).toEqual(bits(x));
      }),
      run,
    );
  });

  it('crop:P equals zero-padding each image by P and cutting H x W at the offset drawn (a reference written out)', () => {
    fc.assert(
      fc.property(batchArb, keyArb, fc.integer({ min: 1, max: 4 }), (x, k, pad) => {
        const out = randomCrop(pad)(k, x);
        const [n, c, h, w] = x.shape;
        const offsets = cropOffsets(k, pad);
        for (let i = 0; i < n; i++) {
          const [dy, dx] = offsets(i);
          expect(Math.abs(dy) <= pad && Math.abs(dx) <= pad).toBe(true);
          // padded image: [h + 2 pad, w + 2 pad], image pixel (y, x) at (y + pad, x + pad); the crop starts at (pad - dy, pad - dx)
          const padded = (ch: number, py: number, px: number): number => {
            const y = py - pad;
            const xx = px - pad;
            return y >= 0 && y < h && xx >= 0 && xx < w ? at(x, i, ch, y, xx) : 0;
          };
          for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
            expect(at(out, i, ch, y, xx)).toBe(padded(ch, pad - dy + y, pad - dx + xx));
          }
        }
      }),
      run,
    );
  });

  it('shift:S moves each image by at most S pixels, repeating the edge pixels into the gap (no zeros come in)', () => {
    fc.assert(
      fc.property(batchArb, keyArb, fc.integer({ min: 1, max: 4 }), (x, k, max) => {
        const out = randomShift(max)(k, x);
        const [n, c, h, w] = x.shape;
        for (let i = 0; i < n; i++) {
          const [dy, dx] = cropOffsets(k, max)(i);
          const clamp = (v: number, hi: number) => Math.min(hi - 1, Math.max(0, v));
          for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
            expect(at(out, i, ch, y, xx)).toBe(at(x, i, ch, clamp(y - dy, h), clamp(xx - dx, w)));
          }
        }
        expect(bits(out).includes(0)).toBe(false);
      }),
      run,
    );
  });

  it('erasing touches only its box: inside it every channel is 0, outside every pixel is unchanged; boxes are 2%-33% of the image', () => {
    fc.assert(
      fc.property(batchArb, keyArb, fc.double({ min: 0, max: 1, noNaN: true }), (x, k, p) => {
        const out = randomErase(p)(k, x);
        const [n, c, h, w] = x.shape;
        const boxes = eraseBoxes(k, x.shape, p);
        for (let i = 0; i < n; i++) {
          const b = boxes[i];
          if (b !== null) {
            expect(b.top >= 0 && b.left >= 0 && b.top + b.height <= h && b.left + b.width <= w).toBe(true);
            // rounding the sides can take the area a little past the range on tiny images
            expect(b.height * b.width).toBeLessThanOrEqual(Math.ceil(0.33 * h * w + Math.sqrt(h * w) + 1));
          }
          const inBox = (y: number, xx: number) => b !== null && y >= b.top && y < b.top + b.height && xx >= b.left && xx < b.left + b.width;
          for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
            expect(at(out, i, ch, y, xx)).toBe(inBox(y, xx) ? 0 : at(x, i, ch, y, xx));
          }
        }
      }),
      run,
    );
  });

  it("an image's transform depends on the key and its place in the batch only: the first k images of a batch are augmented as the batch of those k", () => {
    fc.assert(
      fc.property(batchArb, keyArb, fc.array(stepArb, { minLength: 1, maxLength: 3 }), (x, k, steps) => {
        const aug = augmentation(steps);
        if (aug === undefined) throw new Error('a recipe of steps gives a transform');
        const [n, c, h, w] = x.shape;
        const head = fromData([1, c, h, w], Float32Array.from(x.data.slice(0, c * h * w)));
        expect(bits(aug(k, head))).toEqual(bits(aug(k, x)).slice(0, c * h * w));
        expect(n).toBeGreaterThanOrEqual(1);
      }),
      run,
    );
  });
});

describe('augmentations on 28x28 images', () => {
  const images = normal(key(1), [64, 1, 28, 28]);

  it('flip mirrors about half of 64 images; erase:0.5 erases about half; different keys draw differently', () => {
    const flips = flipsOf(key(3), 64).filter(Boolean).length;
    expect(flips).toBeGreaterThan(20);
    expect(flips).toBeLessThan(44);
    const erased = eraseBoxes(key(3), images.shape, 0.5).filter((b) => b !== null).length;
    expect(erased).toBeGreaterThan(20);
    expect(erased).toBeLessThan(44);
    const crop = randomCrop(4);
    expect(bits(crop(key(1), images))).not.toEqual(bits(crop(key(2), images)));
  });

  it('crop:4 on 28x28 draws every offset from -4 to 4 over 256 images, uniformly enough', () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < 256; i++) for (const d of cropOffsets(key(9), 4)(i)) seen.set(d, (seen.get(d) ?? 0) + 1);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    for (const count of seen.values()) expect(count).toBeGreaterThan(20);
  });

  it('composition: the i-th transform gets split(key, count)[i], applied in order', () => {
    const k = key(5);
    const [k1, k2] = split(k, 2);
    const expected = horizontalFlip()(k2, randomCrop(3)(k1, images));
    expect(bits(composeAugmentations(randomCrop(3), horizontalFlip())(k, images))).toEqual(bits(expected));
    expect(bits(composeAugmentations()(k, images))).toEqual(bits(images));
  });

  it('a batch that is not [N,C,H,W] is refused naming the transform and the shape', () => {
    const flat = normal(key(1), [4, 784]);
    expect(() => randomCrop(2)(key(0), flat)).toThrow('randomCrop: expected images [N,C,H,W], got [4,784]');
    expect(() => horizontalFlip()(key(0), flat)).toThrow('horizontalFlip: expected images [N,C,H,W], got [4,784]');
    expect(() => randomErase(1.5)).toThrow('randomErase: p must be a probability in [0, 1], got 1.5');
    expect(() => randomCrop(-1)).toThrow('randomCrop: pad must be an integer >= 0, got -1');
  });
});

describe('parseAugment: the text of --augment and configs', () => {
  it('crop:4,flip,erase:0.25 and shift:2; none and an empty text are no augmentation', () => {
    expect(parseAugment('crop:4,flip,erase:0.25')).toEqual({ _tag: 'Right', right: [{ kind: 'crop', pad: 4 }, { kind: 'flip' }, { kind: 'erase', p: 0.25 }] });
    expect(parseAugment(' shift:2 , flip ')).toEqual({ _tag: 'Right', right: [{ kind: 'shift', max: 2 }, { kind: 'flip' }] });
    expect(parseAugment('none')).toEqual({ _tag: 'Right', right: [] });
    expect(parseAugment('')).toEqual({ _tag: 'Right', right: [] });
    expect(augmentation([])).toBeUndefined();
  });

  it.each([
    ['blur', '"blur" is not an augmentation: expected none, or a comma-separated list of crop:<pad>, flip, shift:<pixels>, erase:<probability> (e.g. crop:4,flip,erase:0.25)'],
    ['crop', '"crop": crop takes a padding in pixels (an integer >= 0), e.g. crop:4'],
    ['crop:-1', '"crop:-1": crop takes a padding in pixels (an integer >= 0), e.g. crop:4'],
    ['crop:2.5', '"crop:2.5": crop takes a padding in pixels (an integer >= 0), e.g. crop:4'],
    ['shift:x', '"shift:x": shift takes the largest shift in pixels (an integer >= 0), e.g. shift:4'],
    ['flip:1', '"flip:1": flip takes no value'],
    ['erase:1.5', '"erase:1.5": erase takes a probability from 0 to 1, e.g. erase:0.25'],
    ['erase:0x1', '"erase:0x1": erase takes a probability from 0 to 1, e.g. erase:0.25'],
    ['crop:4,,flip', '"" is not an augmentation: expected none, or a comma-separated list of crop:<pad>, flip, shift:<pixels>, erase:<probability> (e.g. crop:4,flip,erase:0.25)'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseAugment(text)).toEqual({ _tag: 'Left', left: message });
  });

  it('fuzz: any text is a recipe or one line, never an exception (500 strings)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.constantFrom('crop', 'flip', 'shift', 'erase', ':', ',', '4', '0.5', '-', ' '), { maxLength: 8 }).map((a) => a.join(''))), (text) => {
        const r = parseAugment(text);
        if (r._tag === 'Left') expect(r.left).not.toContain('\n');
        else for (const s of r.right) expect(['crop', 'flip', 'shift', 'erase']).toContain(s.kind);
      }),
      { numRuns: 500, seed: 19 },
    );
  });
});

describe('trainStep with augmentation', () => {
  const net = unwrap(network([1, 8, 8], [conv2d({ filters: 2, size: 3, weightInit: 'he' }), relu(), flatten(), dropout({ rate: 0.3 }), affine({ units: 3, weightInit: 'he' })]));
  const [modelKey, dataKey] = split(key(42));
  const data = { x: normal(key(7), [40, 1, 8, 8]), targets: Int32Array.from({ length: 40 }, (_, i) => i % 3) };
  const batches = batchesOf(data, sampleWithReplacement({ key: dataKey, n: 40, batchSize: 8, steps: 6 }));
  const aug: Augmentation = augmentation([{ kind: 'crop', pad: 2 }, { kind: 'flip' }, { kind: 'erase', p: 0.5 }]) ?? ((_k: Key, x: Tensor) => x);
  const optimizer = adam({ lr: 0.01 });

  it("a step with augmentation is the step without it on the batch augmented with augmentKey(state.key, step); dropout's key is unchanged", () => {
    const s0 = initTrainState(net, optimizer, modelKey);
    const batch = batches.at(0);
    const withAug = trainStep(net, optimizer, { augment: aug })(s0, batch);
    const byHand = trainStep(net, optimizer)(s0, { ...batch, x: aug(augmentKey(s0.key, 0), batch.x) });
    for (const name of Object.keys(withAug.params)) expect(bits(withAug.params[name]), name).toEqual(bits(byHand.params[name]));
    expect(withAug.loss).toBe(byHand.loss);
    const plain = trainStep(net, optimizer)(s0, batch);
    expect(withAug.loss).not.toBe(plain.loss);
  });

  it('resuming a run with augmentation equals never stopping: 6 steps vs 3 then 3 more from the state reached, bit for bit', () => {
    const step = trainStep(net, optimizer, { augment: aug });
    const s0 = initTrainState(net, optimizer, modelKey);
    const whole = fit(step, s0, batches);
    const half = fit(step, s0, batches.until(3));
    const resumed = fit(step, half, batches.from(3));
    expect(resumed.step).toBe(6);
    for (const name of Object.keys(whole.params)) expect(bits(resumed.params[name]), name).toEqual(bits(whole.params[name]));
    // and twice from the start gives the same run
    const again = fit(step, s0, batches);
    for (const name of Object.keys(whole.params)) expect(bits(again.params[name]), name).toEqual(bits(whole.params[name]));
  });
});
