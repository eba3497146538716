import type { ConvGeometry, Shape } from '@foldnet/core';
import { PACKED_GEMM_NAME, packedForwardPlan } from '../src/fast/conv-packed.js';

/**
 * The name a forward by the GEMM reports (with the direct and Winograd paths off or not taking the shape, and no pool
 * after it): over packed pixel panels where conv-packed.ts's plan takes x [N, C, H, W] with FN filters, else 'GEMM'.
 *
 * @example expect(algorithm).toBe(gemmForwardName(x.shape, w.shape[0], g));
 */
export const gemmForwardName = (xShape: Shape, FN: number, g: ConvGeometry): string =>
  packedForwardPlan(xShape, FN, g) !== undefined ? PACKED_GEMM_NAME : 'GEMM';
