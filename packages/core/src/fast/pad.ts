import { runChunks } from './threads.js';

/** Below this many floats of padded planes the padding runs on the calling thread (a copy that size takes ~0.1 ms). */
const PARALLEL_MIN_FLOATS = 1 << 18;

/**
 * Zero padding in the shared memory (pad.wat's padPlanes): `planes` planes of H x W floats at byte offset `src` ->
 * planes of Hq x Wq floats at `dst`, each image at row and column `pad`, every other float 0; split across the threads
 * by planes when large. Hq and Wq default to the image padded by `pad` on every side.
 *
 * @example padPlanes(N * C, px, H, W, 1, pxp); // [N, C, H, W] -> [N, C, H + 2, W + 2]
 */
export const padPlanes = (planes: number, src: number, H: number, W: number, pad: number, dst: number, Hq = H + 2 * pad, Wq = W + 2 * pad): void =>
  runChunks('padPlanes', planes, 1, [src, H, W, pad, dst, Hq, Wq], planes * Hq * Wq >= PARALLEL_MIN_FLOATS);
