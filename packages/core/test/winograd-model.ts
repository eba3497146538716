/*
 * F(4x4, 3x3)'s transforms as the kernels (wasm/winograd.wat) round them, step by step in float32: the models the
 * Winograd tests check the kernels against bit for bit.
 */

const f = Math.fround;

/**
 * Bᵀ on six values (a row's six columns or a column's six rows), in the kernel's order:
 * Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
 *
 * @example inputTransform6([1, 0, 0, 0, 0, 0]) // [4, 0, 0, 0, 0, 0]
 */
export const inputTransform6 = (d: readonly number[]): number[] => {
  const s1 = f(d[4] - f(d[2] * 4));
  const s2 = f(d[3] - f(d[1] * 4));
  const s3 = f(d[4] - d[2]);
  const s4 = f(f(d[3] - d[1]) * 2);
  return [f(f(f(d[0] - d[2]) * 4) + s3), f(s1 + s2), f(s1 - s2), f(s3 + s4), f(s3 - s4), f(f(f(d[1] - d[3]) * 4) + f(d[5] - d[3]))];
};
