import { fromData, kernels, key, normal, split, type DType, type Tensor } from '@foldnet/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  affine, avgPool2d, batchNorm, conv2d, foldedBatchNormAt, fusedRunAt, lossAndGrad, maxPool2d, network, planOf, relu, residual, resnet, simpleConvNet, doubleConvNet, deepConvNet, unwrap,
  type Layer, type Network,
} from '@foldnet/layers';

/*
 * A network runs conv2d -> relu -> maxPool2d (pad 0) as one fused kernel call. Fused or not
 * (`ctx.fuse: false`), a step gives the same loss, logits and gradients bit for bit, on both kernel
 * sets, in train and eval mode.
 */

const bytes = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const sameBits = (a: Tensor, b: Tensor): boolean => {
  const [x, y] = [bytes(a), bytes(b)];
  return a.dtype === b.dtype && x.length === y.length && x.every((v, i) => v === y[i]);
};

const stepBothWays = (net: Network, batch: number, dtype: DType, backend: 'fast' | 'reference', seed: number): void => {
  const [k1, k2] = split(key(seed));
  const { params, state } = net.init(k1, { dtype });
  const x = normal(k2, [batch, ...net.inputShape], { dtype });
  const labels = Int32Array.from({ length: batch }, (_, i) => i % net.outputShape[0]);
  const ctx = { mode: 'train', key: key(seed + 1), kernels: kernels(backend) } as const;
  const fused = lossAndGrad(net, params, state, x, labels, ctx);
  const plain = lossAndGrad(net, params, state, x, labels, { ...ctx, fuse: false });
  expect(Object.is(fused.loss, plain.loss)).toBe(true);
  // batch norm's running statistics come out of a fused chain as out of its node
  expect(Object.keys(fused.state).sort()).toEqual(Object.keys(plain.state).sort());
  for (const [name, t] of Object.entries(plain.state)) expect(sameBits(fused.state[name], t), name).toBe(true);
  expect(sameBits(fused.logits, plain.logits)).toBe(true);
  expect(Object.keys(fused.grads).sort()).toEqual(Object.keys(plain.grads).sort());
  for (const [name, g] of Object.entries(plain.grads)) expect(sameBits(fused.grads[name], g), name).toBe(true);
  const evalCtx = { mode: 'eval', needGrad: false, kernels: kernels(backend) } as const;
  const y = net.forward(params, state, x, evalCtx).y;
  // the fast set's evaluation folds batch norm into convolutions, equal to float32 rounding (tested on its own below)
  const hasBatchNorm = net.graph.nodes.some((n) => n.op.type === 'batchNorm');
  if (!hasBatchNorm || backend === 'reference') expect(sameBits(y, net.forward(params, state, x, { ...evalCtx, fuse: false }).y)).toBe(true);
  // train and eval compute the same where neither dropout nor batch norm's statistics tell them apart
  if (!hasBatchNorm && !net.layers.some((l) => l.kind === 'dropout')) expect(sameBits(y, fused.logits)).toBe(true);
};

// conv (random filters, size, stride, pad) -> relu -> max pool (window, stride) -> affine, sized to fit
const fusableNet = fc
  .record({
    C: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 4, max: 12 }),
    filters: fc.integer({ min: 1, max: 9 }),
    size: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 2 }),
    pad: fc.integer({ min: 0, max: 2 }),
    window: fc.integer({ min: 1, max: 3 }),
    poolStride: fc.integer({ min: 1, max: 3 }),
  })
  .map((o) => network([o.C, o.H, o.H], [
    conv2d({ filters: o.filters, size: o.size, stride: o.stride, pad: o.pad, weightInit: 'he' }),
    relu(),
    maxPool2d({ size: o.window, stride: o.poolStride }),
    affine({ units: 3, weightInit: 'he' }),
  ]))
  .filter((r) => r._tag === 'Right')
  .map(unwrap);

// conv -> relu -> conv (pad 1) -> relu -> pool -> affine: both fusions, the first one's output feeding the second
const twoStageNet = fc
  .record({
    H: fc.integer({ min: 4, max: 10 }),
    f1: fc.integer({ min: 1, max: 6 }),
    f2: fc.integer({ min: 1, max: 6 }),
    pool: fc.constantFrom('max', 'avg', 'none'),
  })
  .map((o) => unwrap(network([2, o.H, o.H], [
    conv2d({ filters: o.f1, size: 3, pad: 1, weightInit: 'he' }),
    relu(),
    conv2d({ filters: o.f2, size: 3, pad: 1, weightInit: 'he' }),
    relu(),
    ...(o.pool === 'max' ? [maxPool2d({ size: 2 })] : o.pool === 'avg' ? [avgPool2d({ size: 2 })] : []),
    affine({ units: 3, weightInit: 'he' }),
  ])));

describe('fused and unfused execution agree bit for bit', () => {
  it.each([
    ['reference', 'float64'],
    ['reference', 'float32'],
    ['fast', 'float32'],
  ] as const)('generated conv -> relu -> pool -> affine networks, %s kernels, %s', (backend, dtype) => {
    fc.assert(
      fc.property(fusableNet, fc.integer({ min: 1, max: 4 }), fc.nat(1000), (net, batch, seed) => stepBothWays(net, batch, dtype, backend, seed)),
      { seed: 71, numRuns: 40 },
    );
  });

  it.each([
    ['reference', 'float64'],
    ['fast', 'float32'],
  ] as const)('generated conv -> relu -> conv -> relu (-> pool) -> affine networks, %s kernels, %s', (backend, dtype) => {
    fc.assert(
      fc.property(twoStageNet, fc.integer({ min: 1, max: 3 }), fc.nat(1000), (net, batch, seed) => stepBothWays(net, batch, dtype, backend, seed)),
      { seed: 72, numRuns: 30 },
    );
  });

  it.each([
    ['simpleConvNet', unwrap(simpleConvNet())],
    ['doubleConvNet', unwrap(doubleConvNet())],
    ['deepConvNet', unwrap(deepConvNet())],
  ])('%s on the fast kernels (the first layer skips its input gradient)', (_, net) => {
    stepBothWays(net, 3, 'float32', 'fast', 5);
  });
});

describe('batch norm -> relu and add -> relu fused', () => {
  it.each([
    ['reference', 'float64'],
    ['reference', 'float32'],
    ['fast', 'float32'],
  ] as const)('resnet({ blocks: [1, 1], width: 4, inputDim: [2, 9, 9] }) gives the same loss, grads and running statistics, %s kernels, %s', (backend, dtype) => {
    stepBothWays(unwrap(resnet({ blocks: [1, 1], width: 4, inputDim: [2, 9, 9] })), 3, dtype, backend, 11);
  });

  it('a dense batch norm -> relu (x [N, D]) and a residual whose add three inputs would not take (identity shortcut) agree too', () => {
    const net = unwrap(network([6], [affine(5), batchNorm(), relu(), residual([affine(5), batchNorm()]), relu(), affine(3)]));
    stepBothWays(net, 4, 'float32', 'fast', 3);
    stepBothWays(net, 4, 'float64', 'reference', 3);
  });

  it("the plan fuses each batchNorm that alone feeds a relu, and each add that alone feeds a relu (resnet's blocks)", () => {
    const net = unwrap(resnet({ blocks: [1, 1], width: 4 }));
    const plan = planOf(net.graph);
    const names = (i: number) => net.graph.nodes[i].name;
    const fusedChains = plan.fused.flatMap((f) => (f === undefined ? [] : [f.nodes.map(names).join(' -> ')]));
    expect(fusedChains).toEqual(['bn1 -> relu1', 'res1.bn1 -> res1.relu1', 'res2.bn1 -> res2.relu1']);
    const addRelus = plan.addRelu.flatMap((r, i) => (r === undefined ? [] : [`${names(i)} -> ${names(r)}`]));
    expect(addRelus).toEqual(['res1.add -> relu2', 'res2.add -> relu3']);
  });

  it('a batch norm or add whose value another node also reads is not fused', () => {
    // bn1's value feeds relu1 and the residual's add: the ReLU cannot take it over
    const net = unwrap(network([2, 6, 6], [conv2d({ filters: 2, size: 3, pad: 1 }), batchNorm(), residual([relu()]), affine(3)]));
    expect(planOf(net.graph).fused.every((f) => f === undefined)).toBe(true);
    expect(planOf(net.graph).addRelu.every((r) => r === undefined)).toBe(true);
  });
});

describe('batch norm folded into the convolution before it, in evaluation', () => {
  const net = unwrap(resnet({ blocks: [1, 1], width: 4, inputDim: [2, 9, 9] }));
  // trained-looking statistics, affine params and biases, so the fold has something to fold
  const trained = (dtype: DType, of = net) => {
    const { params, state } = of.init(key(3), { dtype });
    // values in [low, high], shaped as t
    const shifted = (t: Tensor, seed: number, low: number, high: number): Tensor => {
      const f = (v: number): number => low + (high - low) * Math.abs(Math.sin(v * 7));
      const u = normal(key(seed), t.shape, { dtype });
      return fromData(t.shape, dtype === 'float64' ? Float64Array.from(u.data, f) : Float32Array.from(u.data, f));
    };
    const p = Object.fromEntries(Object.entries(params).map(([k, t], i) => [k, /\.(gamma|beta|b)$/.test(k) ? shifted(t, 100 + i, -1.5, 1.5) : t]));
    const st = Object.fromEntries(Object.entries(state).map(([k, t], i) => [k, k.endsWith('.var') ? shifted(t, 200 + i, 0.2, 3) : shifted(t, 300 + i, -1, 1)]));
    return { params: p, state: st };
  };

  it('the plan folds conv1 -> bn1 -> relu1, each block conv -> bn (-> relu) and the projection shortcut', () => {
    const chains = planOf(net.graph).folded.flatMap((f) => (f === undefined ? [] : [f.nodes.map((i) => net.graph.nodes[i].name).join(' -> ')]));
    expect(chains).toEqual([
      'conv1 -> bn1 -> relu1', 'res1.conv1 -> res1.bn1 -> res1.relu1', 'res1.conv2 -> res1.bn2', 'res2.conv1 -> res2.bn1 -> res2.relu1',
      'res2.conv2 -> res2.bn2', 'res2.shortcut.conv1 -> res2.shortcut.bn1',
    ]);
    expect(foldedBatchNormAt(unwrap(network([1, 6, 6], [conv2d({ filters: 2, size: 3 }), relu(), batchNorm()])).graph, 0)).toBeUndefined();
  });

  it('a folded eval forward of the fast kernels equals the unfolded one within 2e-6 of the logits scale, and keeps the state', () => {
    const { params, state } = trained('float32');
    const x = normal(key(4), [5, 2, 9, 9]);
    const ctx = { mode: 'eval', needGrad: false, kernels: kernels('fast') } as const;
    const folded = net.forward(params, state, x, ctx);
    const plain = net.forward(params, state, x, { ...ctx, fuse: false });
    const scale = Math.max(...Array.from(plain.y.data, Math.abs));
    const diff = Math.max(...Array.from(folded.y.data, (v, i) => Math.abs(v - plain.y.data[i])));
    expect(diff / scale).toBeLessThan(2e-6);
    expect(Object.keys(folded.state).sort()).toEqual(Object.keys(state).sort());
    for (const [name, t] of Object.entries(state)) expect(folded.state[name], name).toBe(t);
  });

  it('the folded weights follow new params and running statistics: a second network state gives its own output, not the first one\'s', () => {
    const first = trained('float32');
    const x = normal(key(6), [2, 2, 9, 9]);
    const ctx = { mode: 'eval', needGrad: false, kernels: kernels('fast') } as const;
    net.forward(first.params, first.state, x, ctx);
    const { params, state } = trained('float32');
    const second = {
      params: { ...params, 'bn1.gamma': fromData([4], Float32Array.of(2, -1, 0.5, 3)) },
      state: { ...state, 'bn1.var': fromData([4], Float32Array.of(0.1, 4, 1, 2)) },
    };
    const folded = net.forward(second.params, second.state, x, ctx).y;
    const plain = net.forward(second.params, second.state, x, { ...ctx, fuse: false }).y;
    const scale = Math.max(...Array.from(plain.data, Math.abs));
    expect(Math.max(...Array.from(folded.data, (v, i) => Math.abs(v - plain.data[i]))) / scale).toBeLessThan(2e-6);
  });

  it.each([false, true])('a fold in float64 on the reference kernels gives the unfolded chain to 1e-12 (conv bias %s): the folding maths is exact', (convBias) => {
    const of = unwrap(resnet({ blocks: [1, 1], width: 4, inputDim: [2, 9, 9], convBias }));
    const { params, state } = trained('float64', of);
    const x = normal(key(5), [3, 2, 9, 9], { dtype: 'float64' });
    const fold = planOf(of.graph).folded[0];
    if (fold === undefined) throw new Error('conv1 folds');
    const ctx = { mode: 'eval', needGrad: false, needInputGrad: false, kernels: kernels('reference') } as const;
    const convParams: Record<string, Tensor> = convBias ? { W: params['conv1.W'], b: params['conv1.b'] } : { W: params['conv1.W'] };
    const y = fold.forward(convParams, { gamma: params['bn1.gamma'], beta: params['bn1.beta'] }, { mean: state['bn1.mean'], var: state['bn1.var'] }, x, ctx);
    const firstThree = unwrap(network([2, 9, 9], [conv2d({ filters: 4, size: 3, pad: 1, weightInit: 'he', bias: convBias }), batchNorm(), relu()]));
    const expected = firstThree.forward(params, state, x, { mode: 'eval', needGrad: false, kernels: kernels('reference') }).y;
    expect(Math.max(...Array.from(y.data, (v, i) => Math.abs(v - expected.data[i])))).toBeLessThan(1e-12);
  });
});

describe('fusedRunAt', () => {
  const at = (layers: Layer[]) => {
    const net = unwrap(network([1, 8, 8], layers));
    return fusedRunAt(net.graph, 0);
  };
  it('takes conv2d, relu, maxPool2d without padding', () => {
    expect(at([conv2d({ filters: 2, size: 3 }), relu(), maxPool2d({ size: 2 })])).toMatchObject({ length: 3, nodes: [0, 1, 2] });
  });
  it('takes conv2d, relu alone when no unpadded max pool follows', () => {
    expect(at([conv2d({ filters: 2, size: 3 }), relu()])).toMatchObject({ length: 2, nodes: [0, 1] });
    expect(at([conv2d({ filters: 2, size: 3 }), relu(), maxPool2d({ size: 2, pad: 1 })])).toMatchObject({ length: 2 });
    expect(at([conv2d({ filters: 2, size: 3 }), relu(), avgPool2d({ size: 2 })])).toMatchObject({ length: 2 });
  });
  it('leaves other runs alone: no ReLU right after the convolution', () => {
    expect(at([conv2d({ filters: 2, size: 3 }), maxPool2d({ size: 2 }), relu()])).toBeUndefined();
    expect(at([conv2d({ filters: 2, size: 3 })])).toBeUndefined();
    expect(at([relu(), maxPool2d({ size: 2 })])).toBeUndefined();
  });
  it('gradients of a fused run are named after the convolution', () => {
    const net = unwrap(network([1, 8, 8], [conv2d({ filters: 2, size: 3 }), relu(), maxPool2d({ size: 2 }), affine(3)]));
    const { params, state } = net.init(key(1));
    const r = lossAndGrad(net, params, state, normal(key(2), [2, 1, 8, 8]), Int32Array.of(0, 2));
    expect(Object.keys(r.grads).sort()).toEqual(['affine1.W', 'affine1.b', 'conv1.W', 'conv1.b']);
  });
});
