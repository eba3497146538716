import { fastKernels, fromData, kernels, key, normal, setThreads, startThreads, traceConvPaths, type FusedKernels, type Kernels, type Tensor } from '@foldnet/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  affine, batchNorm, conv2d, lossAndGrad, network, parallel, planOf, relu, residual, residualEndAt, resnet, runGraph, unwrap, type Network,
} from '@foldnet/layers';

/*
 * A residual block's end, batchNorm -> add -> relu, run as one pass (fusion.ts' residualEndAt): in training batch norm's
 * pass adds the shortcut and applies ReLU (batchNormAddRelu), in evaluation without gradients the convolution the batch
 * norm folds into does it in its stores (conv2dAddRelu). Against the unfused run (`fuse: false`; in evaluation the plan
 * without residual ends, whose folded convolution then addRelu it stood for), bit for bit: logits, loss, every gradient,
 * the running statistics and the order of their names, the input gradient, at 1 and 2 threads; and that the fused
 * kernels (the forward's and the pullback's, batchNormAddReluBackward) really ran.
 */

afterEach(() => setThreads(1));

const sameBits = (a: Tensor, b: Tensor): boolean => {
  const [x, y] = [new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)];
  return a.dtype === b.dtype && x.length === y.length && x.every((v, i) => v === y[i]);
};

/** The fast set with its residual-end kernels counted. */
const counted = (): { readonly k: Kernels; readonly calls: { batchNormAddRelu: number; batchNormAddReluBackward: number; pairs: number; conv2dAddRelu: number } } => {
  const f: FusedKernels | undefined = fastKernels.fused;
  if (f === undefined) throw new Error('the fast set has fused kernels');
  // pairs: pullbacks handed their output's two gradients apart (its 9th argument, dyMore)
  const calls = { batchNormAddRelu: 0, batchNormAddReluBackward: 0, pairs: 0, conv2dAddRelu: 0 };
  const fusedCounted: FusedKernels = {
    ...f,
    batchNormAddRelu: (...a) => {
      calls.batchNormAddRelu++;
      return f.batchNormAddRelu(...a);
    },
    batchNormAddReluBackward: (...a) => {
      calls.batchNormAddReluBackward++;
      if (a[8] !== undefined) calls.pairs++;
      return f.batchNormAddReluBackward(...a);
    },
    conv2dAddRelu: (...a) => {
      calls.conv2dAddRelu++;
      return f.conv2dAddRelu(...a);
    },
  };
  return { k: { ...fastKernels, fused: fusedCounted }, calls };
};

// resnet's first two stages at 16 and 32 channels (Winograd takes their 3x3 convolutions), an identity and a projection shortcut
const small = unwrap(resnet({ blocks: [1, 1], width: 16, inputDim: [1, 12, 12] }));

/** Params and running statistics away from init's (gamma 1, beta 0, mean 0, var 1), so every term of the sum matters. */
const trained = (net: Network) => {
  const { params, state } = net.init(key(3));
  const spread = (t: Tensor, seed: number, low: number, high: number): Tensor =>
    fromData(t.shape, Float32Array.from(normal(key(seed), t.shape).data, (v) => low + (high - low) * Math.abs(Math.sin(v * 7))));
  return {
    params: Object.fromEntries(Object.entries(params).map(([k, t], i) => [k, /\.(gamma|beta)$/.test(k) ? spread(t, 100 + i, -1.5, 1.5) : t])),
    state: Object.fromEntries(Object.entries(state).map(([k, t], i) => [k, k.endsWith('.var') ? spread(t, 200 + i, 0.2, 3) : spread(t, 300 + i, -1, 1)])),
  };
};


/**
 * The network's pullback of dy (normal, from `dySeed`) fused and unfused (`fuse: false`) in training with kernel set k:
 * the input gradient and every gradient, with their names in the same order, bit for bit.
 */
const expectPullbacksAlike = (net: Network, { params, state }: ReturnType<typeof trained>, x: Tensor, dySeed: number, k: Kernels): void => {
  const ctx = { mode: 'train', kernels: k, needInputGrad: true } as const;
  const one = net.forward(params, state, x, ctx);
  const plain = net.forward(params, state, x, { ...ctx, fuse: false });
  const dy = normal(key(dySeed), one.y.shape);
  const [g1, g2] = [one.pullback(dy), plain.pullback(dy)];
  expect(g1.dx !== undefined && g2.dx !== undefined && sameBits(g1.dx, g2.dx)).toBe(true);
  expect(Object.keys(g1.grads)).toEqual(Object.keys(g2.grads));
  for (const [name, g] of Object.entries(g2.grads)) expect(sameBits(g1.grads[name], g), name).toBe(true);
};
describe('residualEndAt', () => {
  it("finds each of resnet's blocks' ends: the add, its batch norm (its first input), the ReLU after it and the convolution that folds", () => {
    const net = unwrap(resnet());
    const names = (i: number) => net.graph.nodes[i].name;
    const ends = planOf(net.graph).residualEnd.flatMap((e, i) =>
      e === undefined ? [] : [`${names(e.bn)} + ${names(i)} -> ${names(e.relu)} (${e.folded?.nodes.map(names).join(', ')})`]);
    expect(ends).toEqual([
      'res1.bn2 + res1.add -> relu2 (res1.conv2, res1.bn2)', 'res2.bn2 + res2.add -> relu3 (res2.conv2, res2.bn2)',
      'res3.bn2 + res3.add -> relu4 (res3.conv2, res3.bn2)', 'res4.bn2 + res4.add -> relu5 (res4.conv2, res4.bn2)',
      'res5.bn2 + res5.add -> relu6 (res5.conv2, res5.bn2)', 'res6.bn2 + res6.add -> relu7 (res6.conv2, res6.bn2)',
    ]);
  });

  it('leaves alone an add whose batch norm is its second input and read by another node too, and one without a ReLU after it', () => {
    // bn's value feeds the residual's relu and, as its shortcut, the add's second input
    const shortcutBn = unwrap(network([2, 6, 6], [conv2d({ filters: 2, size: 3, pad: 1 }), batchNorm(), residual([relu()]), relu(), affine(3)]));
    const noRelu = unwrap(network([2, 6, 6], [residual([conv2d({ filters: 2, size: 3, pad: 1 }), batchNorm()]), affine(3)]));
    for (const net of [shortcutBn, noRelu]) expect(net.graph.nodes.map((_, i) => residualEndAt(net.graph, i))).toEqual(net.graph.nodes.map(() => undefined));
    // a batch norm without a convolution before it still fuses, with nothing to fold
    const dense = unwrap(network([6], [affine(5), relu(), residual([affine(5), batchNorm()]), relu(), affine(3)]));
    const end = planOf(dense.graph).residualEnd.find((e) => e !== undefined);
    expect(end !== undefined && end.folded === undefined && dense.graph.nodes[end.bn].op.type === 'batchNorm').toBe(true);
  });
});

describe('a residual end fused gives the unfused bits', () => {
  it.each([1, 2])('a training step of resnet({ blocks: [1, 1], width: 16 }), %i thread(s): loss, logits, grads and statistics, their names in order', (threads) => {
    setThreads(threads);
    if (threads > 1) startThreads();
    const { params, state } = trained(small);
    const x = normal(key(5), [8, 1, 12, 12]);
    const labels = Int32Array.from({ length: 8 }, (_, i) => i % 10);
    for (const mode of ['train', 'eval'] as const) {
      const { k, calls } = counted();
      const ctx = { mode, key: key(6), kernels: k, needInputGrad: true };
      const one = lossAndGrad(small, params, state, x, labels, ctx);
      // the first block's end is read by the second block's body and its shortcut: its pullback is handed both
      expect([calls.batchNormAddRelu, calls.batchNormAddReluBackward, calls.pairs], mode).toEqual([2, 2, 1]);
      const plain = lossAndGrad(small, params, state, x, labels, { ...ctx, fuse: false });
      expect([calls.batchNormAddRelu, calls.batchNormAddReluBackward], mode).toEqual([2, 2]);
      expect(Object.is(one.loss, plain.loss), mode).toBe(true);
      expect(sameBits(one.logits, plain.logits), mode).toBe(true);
      expect(Object.keys(one.grads), mode).toEqual(Object.keys(plain.grads));
      for (const [name, g] of Object.entries(plain.grads)) expect(sameBits(one.grads[name], g), `${mode} ${name}`).toBe(true);
      expect(Object.keys(one.state), mode).toEqual(Object.keys(plain.state));
      for (const [name, t] of Object.entries(plain.state)) expect(sameBits(one.state[name], t), `${mode} ${name}`).toBe(true);
    }
  });

  it.each([1, 2])("resnet()'s input gradient and every gradient, %i thread(s): its six ends' pullbacks (28x28 planes masked in the sums pass, 7x7 first)", (threads) => {
    setThreads(threads);
    if (threads > 1) startThreads();
    const net = unwrap(resnet());
    const { k, calls } = counted();
    expectPullbacksAlike(net, trained(net), normal(key(10), [3, 1, 28, 28]), 11, k);
    // res1 .. res5's ends each read twice by the next block: five pairs (28x28 and 14x14 summed in the sums pass, 7x7 first)
    expect([calls.batchNormAddReluBackward, calls.pairs]).toEqual([6, 5]);
  });

  it.each([1, 2])("a block's end read by three branches, %i thread(s): its pullback is handed the sum of the first two and the third apart", (threads) => {
    setThreads(threads);
    if (threads > 1) startThreads();
    const branches = parallel([[conv2d({ filters: 16, size: 1 })], [conv2d({ filters: 16, size: 3, pad: 1 })], [relu()]], { merge: 'add' });
    const net = unwrap(network([16, 12, 12], [residual([conv2d({ filters: 16, size: 3, pad: 1 }), batchNorm()]), relu(), branches, affine(3)]));
    const { k, calls } = counted();
    expectPullbacksAlike(net, trained(net), normal(key(12), [4, 16, 12, 12]), 13, k);
    expect([calls.batchNormAddReluBackward, calls.pairs]).toEqual([1, 1]);
  });

  it("a kernel set that does not say it takes gradient pairs is handed their sum (a set written before would drop dyMore)", () => {
    const { params, state } = trained(small);
    const x = normal(key(14), [4, 1, 12, 12]);
    const labels = Int32Array.from({ length: 4 }, (_, i) => i % 10);
    const { k, calls } = counted();
    const older: Kernels = { ...k, fused: { ...(k.fused as FusedKernels), takesGradientPairs: undefined } };
    const ctx = { mode: 'train', key: key(6), needInputGrad: true } as const;
    const paired = lossAndGrad(small, params, state, x, labels, { ...ctx, kernels: k });
    expect(calls.pairs).toBe(1);
    const summed = lossAndGrad(small, params, state, x, labels, { ...ctx, kernels: older });
    expect([calls.batchNormAddReluBackward, calls.pairs]).toEqual([4, 1]);
    for (const [name, g] of Object.entries(summed.grads)) expect(sameBits(paired.grads[name], g), name).toBe(true);
  });

  it('the input gradient of a network whose first block ends fused (dx through the shortcut and the batch norm, summed)', () => {
    const net = unwrap(network([16, 6, 6], [residual([conv2d({ filters: 16, size: 3, pad: 1 }), batchNorm()]), relu(), affine(3)]));
    expectPullbacksAlike(net, trained(net), normal(key(7), [3, 16, 6, 6]), 8, kernels('fast'));
  });

  it.each([1, 2])('an evaluation of resnet() without gradients, %i thread(s): the folded convolutions add the shortcut in their stores', (threads) => {
    setThreads(threads);
    if (threads > 1) startThreads();
    const net = unwrap(resnet());
    const { params, state } = trained(net);
    const x = normal(key(9), [6, 1, 28, 28]);
    const { k, calls } = counted();
    const ctx = { mode: 'eval', needGrad: false, kernels: k } as const;
    const { result: one, paths } = traceConvPaths(() => net.forward(params, state, x, ctx));
    expect(calls.conv2dAddRelu).toBe(6);
    expect(paths.filter((p) => p.algorithm.endsWith(' + addend, ReLU')).length).toBe(6);
    // the same plan without residual ends: each folded convolution, then addRelu
    const unended = { ...planOf(net.graph), residualEnd: net.graph.nodes.map(() => undefined) };
    const plain = runGraph(net.graph, unended, params, state, x, ctx);
    expect(calls.conv2dAddRelu).toBe(6);
    expect(sameBits(one.y, plain.y)).toBe(true);
    expect(Object.keys(one.state)).toEqual(Object.keys(state));
    for (const [name, t] of Object.entries(state)) expect(one.state[name], name).toBe(t);
  });
});
