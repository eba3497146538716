import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { alloc, type DType } from './dtype.js';
import { FoldnetError } from './errors.js';
import { checkShape, sizeOf, type Shape } from './shape.js';
import { fromData, type Tensor } from './tensor.js';

/**
 * A PRNG key: the four 32-bit words of a xoroshiro128+ state, as a plain value. Functions that
 * need randomness take a key and never advance it; to draw twice, `split` first. The same key
 * gives the same numbers on every machine (integer arithmetic only, then IEEE doubles).
 *
 * @example
 * const [initKey, dataKey] = split(key(42));
 * const w = normal(initKey, [30, 1, 5, 5], { std: 0.01 });
 */
export interface Key {
  readonly state: readonly [number, number, number, number];
}

const fromState = (state: readonly number[]): Key => {
  const [a, b, c, d] = state.map((x) => x | 0);
  // xoroshiro's all-zero state is a fixed point; never hand it out.
  return Object.freeze({ state: Object.freeze([a, b, c, d || (a | b | c ? 0 : 1)] as const) });
};

// splitmix32's finaliser: decorrelates child keys drawn from consecutive outputs.
const mix = (x: number): number => {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
};

/**
 * A key from an integer seed (any safe integer; distinct seeds give distinct keys).
 *
 * @example key(0)
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new FoldnetError('value', `key: seed must be a safe integer, got ${seed}`);
  // Each state word goes through splitmix32's finaliser, a bijection on 32-bit words, so
  // (low word, high word) -> state is injective. Not pure-rand's xoroshiro128plus(seed): it
  // seeds [-1, ~seed, seed, 0], whose first output is ~seed, so every small seed started its
  // stream at ~0.99999 and normal() at a 5-7 sigma outlier.
  const low = seed | 0;
  const high = Math.floor(seed / 2 ** 32) | 0;
  return fromState([mix(low), mix(low ^ 0x6a09e667), mix(high), mix(high ^ 0xbb67ae85)]);
};

// The generator behind a key; it is mutated locally while one function fills its output.
const generator = (k: Key) => xoroshiro128plusFromState(k.state);

/**
 * `n` new independent keys from one (default 2). The parent key should not be used again.
 *
 * @example
 * const [a, b, c] = split(key(1), 3);
 */
export const split = (k: Key, n = 2): Key[] => {
  if (!Number.isInteger(n) || n < 1) throw new FoldnetError('value', `split: n must be a positive integer, got ${n}`);
  const g = generator(k);
  return Array.from({ length: n }, () => fromState([mix(g.next()), mix(g.next()), mix(g.next()), mix(g.next())]));
};

/**
 * A key folded with a 32-bit integer (a step number, a layer index): `foldIn(k, 3)` differs from
 * `foldIn(k, 4)`. Integers outside [-2**31, 2**32) would wrap, so they are refused.
 *
 * @example const stepKey = foldIn(key(42), 17);
 */
export const foldIn = (k: Key, data: number): Key => {
  if (!Number.isInteger(data) || data < -(2 ** 31) || data >= 2 ** 32) {
    throw new FoldnetError('value', `foldIn: data must be a 32-bit integer, got ${data}`);
  }
  return fromState(k.state.map((w, i) => mix(w ^ Math.imul(data | 0, 0x27d4eb2d + i))));
};

/** Uniform samples in [low, high). @example uniform(key(0), [3], { low: -1, high: 1 }) */
export const uniform = (
  k: Key,
  shape: Shape,
  { low = 0, high = 1, dtype = 'float32' }: { low?: number; high?: number; dtype?: DType } = {},
): Tensor => {
  checkShape('uniform', shape);
  const g = generator(k);
  const out = alloc(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * uniformFloat64(g);
  return fromData(shape, out);
};

/**
 * Normal samples (Box-Muller on 53-bit uniforms).
 *
 * @example normal(key(0), [100, 10], { std: 0.01 })
 */
export const normal = (
  k: Key,
  shape: Shape,
  { mean = 0, std = 1, dtype = 'float32' }: { mean?: number; std?: number; dtype?: DType } = {},
): Tensor => {
  checkShape('normal', shape);
  const g = generator(k);
  const out = alloc(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - uniformFloat64(g); // (0, 1]: log is finite
    const u2 = uniformFloat64(g);
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return fromData(shape, out);
};

/**
 * `count` integers drawn uniformly from [0, n) with replacement (the lesson's
 * `np.random.choice(n, count)`).
 *
 * @example take(images, randomIndices(batchKey, images.shape[0], 100)) // a random batch of 100
 */
export const randomIndices = (k: Key, n: number, count: number): Int32Array<ArrayBuffer> => {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) {
    throw new FoldnetError('value', `randomIndices: n must be a positive 32-bit integer, got ${n}`);
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new FoldnetError('value', `randomIndices: count must be a non-negative integer, got ${count}`);
  }
  const g = generator(k);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(uniformFloat64(g) * n);
  return out;
};

/**
 * A random permutation of 0..n-1 (Fisher-Yates), e.g. to shuffle an epoch.
 *
 * @example permutation(key(0), 5) // Int32Array holding 0..4 in some order
 */
export const permutation = (k: Key, n: number): Int32Array<ArrayBuffer> => {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) {
    throw new FoldnetError('value', `permutation: n must be a non-negative 32-bit integer, got ${n}`);
  }
  const g = generator(k);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniformFloat64(g) * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
};

// A short description of an untrusted value for error messages; JSON.stringify throws on
// BigInt and cycles, and returns undefined for functions.
const describe = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u);
  } catch {
    return String(u);
  }
};

/**
 * Reads a key back from its JSON form (`key.state`), as checkpoints store it; anything but four
 * 32-bit integers is a 'value' error.
 *
 * @example keyFromState(JSON.parse(JSON.stringify(key(7).state))) // equals key(7)
 */
export const keyFromState = (state: unknown): Key => {
  if (
    !Array.isArray(state) ||
    state.length !== 4 ||
    !state.every((w: unknown) => typeof w === 'number' && Number.isInteger(w) && w >= -(2 ** 31) && w < 2 ** 32)
  ) {
    throw new FoldnetError('value', `keyFromState: expected four 32-bit integers, got ${describe(state)}`);
  }
  return fromState(state);
};
