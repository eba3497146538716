import { composedFusions } from '../kernels/composed.js';
import { referenceKernels } from '../kernels/reference.js';
import { fromData, type Tensor } from '../tensor.js';
import { inputAt, resultOut, resultSlot, workspace } from './layout.js';
import { runChunks } from './threads.js';

/*
 * Element-wise sums in the fast set (wasm/add.wat): a residual's merge, with the ReLU after it fused in, and the sum of
 * a value's gradients. f32 additions give the bits JavaScript's do on float32 values, so the backends agree exactly.
 */

/** Below this many elements a sum runs on the calling thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 18;

const sum = (a: Tensor, b: Tensor, relu: boolean): Tensor => {
  if (a.dtype === 'float64' || b.dtype === 'float64') return relu ? composedFusions(referenceKernels).addRelu(a, b) : referenceKernels.add(a, b);
  const n = a.size;
  const out = resultSlot(n, [a.data, b.data]);
  const [pa, pb] = workspace([n, n]);
  runChunks('addElements', n, 4, [inputAt(a.data, pa), inputAt(b.data, pb), out.offset, relu ? 1 : 0], n >= PARALLEL_MIN_ELEMENTS);
  return fromData(a.shape, resultOut(out, n));
};

/** The fast set's add. @example fastKernels.add(a, b) */
export const add = (a: Tensor, b: Tensor): Tensor => sum(a, b, false);

/** The fast set's fused addRelu: ReLU in the sum's pass. */
export const addRelu = (a: Tensor, b: Tensor): Tensor => sum(a, b, true);
