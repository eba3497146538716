import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { alloc, FoldnetError, foldIn, formatShape, fromData, split, uniform, type Key, type Tensor } from '@foldnet/core';

/*
 * Data augmentation as pure, seeded transforms of a batch of images x [N, C, H, W]: each is a
 * function (key, x) -> x' of the same shape, drawing everything it decides (offsets, flips,
 * boxes) from its key alone. The training step hands it a key derived from the run's key and the
 * step number, so a run with augmentation stays reproducible bit for bit, and a resumed run draws
 * the same transforms an uninterrupted one would. Image k of a batch draws from foldIn(key, k), so
 * what it gets does not depend on the batch size.
 *
 *   crop:P    random crop after zero padding: pad P pixels of zeros on each side, then cut H x W at a
 *             random offset (a shift by -P..P in each direction with zeros coming in)
 *   flip      horizontal flip of half the images
 *   shift:S   a shift by -S..S pixels in each direction, the edge pixels repeated into the gap
 *   erase:P   random erasing (Zhong et al. 2017), with probability P: a box of 2%-33% of the image,
 *             aspect ratio 0.3-3.3, set to 0 in every channel
 */

/** A transform of a batch of images: x [N, C, H, W] -> [N, C, H, W], a pure function of (key, x). */
export type Augmentation = (key: Key, x: Tensor) => Tensor;

/** One transform as configs and flags name it. */
export type AugmentStep =
  | { readonly kind: 'crop'; readonly pad: number }
  | { readonly kind: 'flip' }
  | { readonly kind: 'shift'; readonly max: number }
  | { readonly kind: 'erase'; readonly p: number };

/** The syntax `--augment` takes, for messages. */
export const augmentSyntax = 'none, or a comma-separated list of crop:<pad>, flip, shift:<pixels>, erase:<probability> (e.g. crop:4,flip,erase:0.25)';

/** The image geometry of x, checked: augmentations need [N, C, H, W]. */
const imagesOf = (op: string, x: Tensor): { n: number; c: number; h: number; w: number } => {
  if (x.shape.length !== 4) throw new FoldnetError('shape', `${op}: expected images [N,C,H,W], got ${formatShape(x.shape)}`);
  const [n, c, h, w] = x.shape;
  return { n, c, h, w };
};

/** `count` uniforms in [0, 1) for image k: a pure function of (key, k). */
const drawsFor = (k: Key, image: number, count: number): ArrayLike<number> => uniform(foldIn(k, image), [count], { dtype: 'float64' }).data;

/** An integer drawn uniformly from lo..hi (inclusive) with u in [0, 1). */
const intIn = (u: number, lo: number, hi: number): number => lo + Math.min(hi - lo, Math.floor(u * (hi - lo + 1)));

/**
 * Each image moved by (dy, dx) = offsets(k): out[y][x] = in[y - dy][x - dx]. Where that falls
 * outside the image, `edge` picks the filling: zeros, or the nearest edge pixel.
 */
const translate = (x: Tensor, offsets: (image: number) => readonly [number, number], edge: 'zeros' | 'repeat'): Tensor => {
  const { n, c, h, w } = imagesOf('translate', x);
  const out = alloc(x.dtype, x.size);
  const src = x.data;
  for (let k = 0; k < n; k++) {
    const [dy, dx] = offsets(k);
    for (let ch = 0; ch < c; ch++) {
      const plane = (k * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        let sy = y - dy;
        if (sy < 0 || sy >= h) {
          if (edge === 'zeros') continue; // the row stays zero
          sy = sy < 0 ? 0 : h - 1;
        }
        for (let xx = 0; xx < w; xx++) {
          let sx = xx - dx;
          if (sx < 0 || sx >= w) {
            if (edge === 'zeros') continue;
            sx = sx < 0 ? 0 : w - 1;
          }
          out[plane + y * w + xx] = src[plane + sy * w + sx];
        }
      }
    }
  }
  return fromData(x.shape, out);
};

const checkCount = (op: string, what: string, v: number): void => {
  if (!(Number.isSafeInteger(v) && v >= 0)) throw new FoldnetError('value', `${op}: ${what} must be an integer >= 0, got ${v}`);
};

/**
 * The offset of each image's crop, as a shift (dy, dx) in -pad..pad: the crop of the zero-padded
 * image [H + 2 pad, W + 2 pad] at (pad - dy, pad - dx).
 *
 * @example cropOffsets(key(1), 4, 4)(0) // e.g. [-2, 3]
 */
export const cropOffsets = (k: Key, pad: number) => (image: number): readonly [number, number] => {
  const u = drawsFor(k, image, 2);
  return [intIn(u[0], -pad, pad), intIn(u[1], -pad, pad)];
};

/**
 * Random crop after zero padding (torchvision's RandomCrop(size, padding=pad)): each image is padded
 * with `pad` zeros on every side and cut back to H x W at a random offset. `pad` 0 is the identity.
 *
 * @example
 * const crop = randomCrop(4);
 * crop(key(7), images).shape; // images.shape
 */
export const randomCrop = (pad: number): Augmentation => {
  checkCount('randomCrop', 'pad', pad);
  return (k, x) => {
    imagesOf('randomCrop', x);
    return pad === 0 ? x : translate(x, cropOffsets(k, pad), 'zeros');
  };
};

/**
 * A shift by -max..max pixels in each direction, the edge pixels repeated into the gap (Keras's
 * width/height shift with fill mode 'nearest'). `max` 0 is the identity.
 *
 * @example randomShift(2)(key(3), images)
 */
export const randomShift = (max: number): Augmentation => {
  checkCount('randomShift', 'max', max);
  return (k, x) => {
    imagesOf('randomShift', x);
    return max === 0 ? x : translate(x, cropOffsets(k, max), 'repeat');
  };
};

/** Which images `horizontalFlip` mirrors under key k: each with probability 1/2. @example flipsOf(key(0), 4) // e.g. [true, false, false, true] */
export const flipsOf = (k: Key, n: number): boolean[] => Array.from({ length: n }, (_, image) => drawsFor(k, image, 1)[0] < 0.5);

/**
 * Horizontal flip of each image with probability 1/2 (left and right swapped: x -> W - 1 - x). The
 * same key flips the same images, so applying it twice with one key gives the batch back.
 *
 * @example horizontalFlip()(key(1), images)
 */
export const horizontalFlip = (): Augmentation => (k, x) => {
  const { n, c, h, w } = imagesOf('horizontalFlip', x);
  const flips = flipsOf(k, n);
  const out = alloc(x.dtype, x.size);
  const src = x.data;
  for (let image = 0; image < n; image++) {
    const flip = flips[image];
    for (let row = image * c * h; row < (image + 1) * c * h; row++) {
      const at = row * w;
      for (let xx = 0; xx < w; xx++) out[at + xx] = src[at + (flip ? w - 1 - xx : xx)];
    }
  }
  return fromData(x.shape, out);
};

/** A box of rows top..top+height-1 and columns left..left+width-1. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Tries at drawing a box that fits before giving up on an image (torchvision's 10). */
const ERASE_ATTEMPTS = 10;
/** The box's share of the image and its aspect ratio (height / width): the paper's and torchvision's ranges. */
const ERASE_AREA = [0.02, 0.33] as const;
const ERASE_RATIO = [0.3, 1 / 0.3] as const;

/**
 * The box random erasing sets to zero in each image under key k, or null for an image left alone
 * (drawn with probability 1 - p, or when no box drawn in ERASE_ATTEMPTS tries fits).
 *
 * @example eraseBoxes(key(2), [4, 1, 28, 28], 0.5) // e.g. [null, { top: 3, left: 9, height: 11, width: 7 }, ...]
 */
export const eraseBoxes = (k: Key, shape: readonly number[], p: number): (Box | null)[] => {
  const [n, , h, w] = shape;
  return Array.from({ length: n }, (_, image) => {
    const u = drawsFor(k, image, 1 + 4 * ERASE_ATTEMPTS);
    if (u[0] >= p) return null;
    for (let a = 0; a < ERASE_ATTEMPTS; a++) {
      const [uArea, uRatio, uTop, uLeft] = [u[1 + 4 * a], u[2 + 4 * a], u[3 + 4 * a], u[4 + 4 * a]];
      const area = h * w * (ERASE_AREA[0] + (ERASE_AREA[1] - ERASE_AREA[0]) * uArea);
      // the ratio is drawn uniformly on a log scale, so tall and wide boxes are equally likely
      const ratio = Math.exp(Math.log(ERASE_RATIO[0]) + (Math.log(ERASE_RATIO[1]) - Math.log(ERASE_RATIO[0])) * uRatio);
      const height = Math.round(Math.sqrt(area * ratio));
      const width = Math.round(Math.sqrt(area / ratio));
      if (height >= 1 && width >= 1 && height < h && width < w) {
        return { top: intIn(uTop, 0, h - height), left: intIn(uLeft, 0, w - width), height, width };
      }
    }
    return null;
  });
};

/**
 * Random erasing (Zhong et al. 2017; torchvision's RandomErasing with value 0): with probability p,
 * a box of 2%-33% of the image with aspect ratio 0.3-3.3 is set to 0 in every channel (see
 * `eraseBoxes`). p 0 is the identity.
 *
 * @example randomErase(0.25)(key(5), images)
 */
export const randomErase = (p: number): Augmentation => {
  if (!(Number.isFinite(p) && p >= 0 && p <= 1)) throw new FoldnetError('value', `randomErase: p must be a probability in [0, 1], got ${p}`);
  return (k, x) => {
    const { c, h, w } = imagesOf('randomErase', x);
    if (p === 0) return x;
    const out = alloc(x.dtype, x.size);
    out.set(x.data);
    eraseBoxes(k, x.shape, p).forEach((box, image) => {
      if (box === null) return;
      for (let ch = 0; ch < c; ch++) {
        const plane = (image * c + ch) * h * w;
        for (let y = box.top; y < box.top + box.height; y++) out.fill(0, plane + y * w + box.left, plane + y * w + box.left + box.width);
      }
    });
    return fromData(x.shape, out);
  };
};

/**
 * Transforms applied one after the other, the i-th with key split(k, steps.length)[i]: the same key
 * and the same steps give the same batch.
 *
 * @example
 * const aug = composeAugmentations(randomCrop(4), horizontalFlip(), randomErase(0.25));
 * aug(stepKey, images);
 */
export const composeAugmentations = (...steps: readonly Augmentation[]): Augmentation => (k, x) => {
  if (steps.length === 0) return x;
  const keys = split(k, steps.length);
  return steps.reduce((acc, f, i) => f(keys[i], acc), x);
};

/** The transform one step names. */
const augmentationOf = (s: AugmentStep): Augmentation => {
  switch (s.kind) {
    case 'crop':
      return randomCrop(s.pad);
    case 'flip':
      return horizontalFlip();
    case 'shift':
      return randomShift(s.max);
    case 'erase':
      return randomErase(s.p);
  }
};

/**
 * The transform a recipe names, its steps in order; undefined for an empty recipe (no augmentation).
 *
 * @example augmentation([{ kind: 'crop', pad: 4 }, { kind: 'flip' }])
 */
export const augmentation = (steps: readonly AugmentStep[]): Augmentation | undefined =>
  steps.length === 0 ? undefined : composeAugmentations(...steps.map(augmentationOf));

const parseStep = (part: string): Either<string, AugmentStep> => {
  const [name, arg, ...rest] = part.split(':');
  const count = (what: string): Either<string, number> =>
    arg !== undefined && rest.length === 0 && /^\d+$/.test(arg) && Number.isSafeInteger(Number(arg))
      ? right(Number(arg))
      : left(`${JSON.stringify(part)}: ${name} takes ${what} (an integer >= 0), e.g. ${name}:4`);
  switch (name) {
    case 'crop': {
      const pad = count('a padding in pixels');
      return pad._tag === 'Left' ? pad : right({ kind: 'crop', pad: pad.right });
    }
    case 'shift': {
      const max = count('the largest shift in pixels');
      return max._tag === 'Left' ? max : right({ kind: 'shift', max: max.right });
    }
    case 'flip':
      return arg === undefined ? right({ kind: 'flip' }) : left(`${JSON.stringify(part)}: flip takes no value`);
    case 'erase': {
      const p = arg !== undefined && rest.length === 0 && /^(0|1)(\.\d+)?$|^\.\d+$/.test(arg) ? Number(arg) : Number.NaN;
      return p >= 0 && p <= 1 ? right({ kind: 'erase', p }) : left(`${JSON.stringify(part)}: erase takes a probability from 0 to 1, e.g. erase:0.25`);
    }
    default:
      return left(`${JSON.stringify(part)} is not an augmentation: expected ${augmentSyntax}`);
  }
};

/**
 * Reads a recipe as `--augment` and configs write it: `none` (or an empty text) for none, else
 * steps separated by commas, applied in the order written. Left: one line saying what is wrong.
 *
 * @example
 * parseAugment('crop:4,flip,erase:0.25'); // right([{ kind: 'crop', pad: 4 }, { kind: 'flip' }, { kind: 'erase', p: 0.25 }])
 * parseAugment('blur'); // left('"blur" is not an augmentation: expected none, or ...')
 */
export const parseAugment = (text: string): Either<string, readonly AugmentStep[]> => {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return right([]);
  const steps: AugmentStep[] = [];
  for (const part of trimmed.split(',').map((p) => p.trim())) {
    const step = parseStep(part);
    if (step._tag === 'Left') return step;
    steps.push(step.right);
  }
  return right(steps);
};
