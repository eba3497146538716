import { FoldnetError, fromData, key, type Tensor, type WeightInit } from '@foldnet/core';
import {
  affine,
  avgPool2d,
  batchNorm,
  conv2d,
  decodeModelSpec,
  defineLayer,
  flatten,
  globalAvgPool2d,
  graph,
  maxPool2d,
  network,
  parallel,
  registerLayer,
  registeredLayer,
  relu,
  residual,
  resnet,
  sigmoid,
  tanh,
  unwrap,
  type Layer,
  type Network,
  type OnnxMapping,
} from '@foldnet/layers';
import { exportOnnx, ONNX_LAYER_KINDS, ONNX_MAX_OPSET, ONNX_MIN_OPSET } from '@foldnet/train';
import { right } from 'fp-ts/lib/Either.js';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { briefTrain, checkAgainstOrt, exported, images, maxAbsDiff, nodeByName, onnxGraph, randomizeBatchNorm, runOrt } from './onnx-check.js';

/*
 * ONNX export of graphs: residual sums, parallel branches, skips of a `graph(...)`, global average pooling
 * and layers of one's own with a registered ONNX mapping, each run in ONNX Runtime on 32 MNIST test images
 * and checked against foldnet's eval-mode forward within 1e-4 (onnx-check.ts); and the refusals of layers
 * without a mapping or with a broken one, naming the layer.
 */

const he: { readonly weightInit: WeightInit } = { weightInit: 'he' };

// A small ResNet: a stem, a block with an identity shortcut, a block that halves the size with a
// projection shortcut (1x1 conv stride 2 + batch norm), then global average pooling and a classifier.
const resNet = (): Network =>
  unwrap(
    network(
      [1, 28, 28],
      [
        conv2d({ filters: 8, size: 3, pad: 1, ...he }),
        batchNorm(),
        relu(),
        residual([conv2d({ filters: 8, size: 3, pad: 1, ...he }), batchNorm(), relu(), conv2d({ filters: 8, size: 3, pad: 1, ...he }), batchNorm()]),
        relu(),
        residual(
          [conv2d({ filters: 16, size: 3, stride: 2, pad: 1, ...he }), batchNorm(), relu(), conv2d({ filters: 16, size: 3, pad: 1, ...he }), batchNorm()],
          { shortcut: [conv2d({ filters: 16, size: 1, stride: 2, ...he }), batchNorm()] },
        ),
        relu(),
        globalAvgPool2d(),
        affine({ units: 10, weightInit: 'xavier' }),
      ],
    ),
  );

describe('exportOnnx of graphs in ONNX Runtime on 32 MNIST test images (max |diff| <= 1e-4)', () => {
  it('ResNet: identity and projection shortcuts, batch norm, globalAvgPool2d (random batch-norm statistics)', async () => {
    const net = resNet();
    const init = net.init(key(20));
    const { params, state } = randomizeBatchNorm(init.params, init.state, 200);
    await checkAgainstOrt(net, params, state);
    await checkAgainstOrt(net, params, state, { softmax: true });
  });

  it('the resnet preset (blocks [2,2,2], width 16, He init; random batch-norm statistics)', async () => {
    const net = unwrap(resnet());
    const init = net.init(key(22));
    const { params, state } = randomizeBatchNorm(init.params, init.state, 220);
    await checkAgainstOrt(net, params, state);
  });

  it('ResNet after 3 training steps, at opsets 11 and 21', async () => {
    const net = resNet();
    const init = net.init(key(21));
    const { params, state } = briefTrain(net, init.params, init.state, 3);
    await checkAgainstOrt(net, params, state, { opset: ONNX_MIN_OPSET });
    await checkAgainstOrt(net, params, state, { opset: ONNX_MAX_OPSET });
  });

  it('ResNet: the sums read the block and its shortcut (the identity reads the block input itself), GlobalAveragePool then Flatten', () => {
    const net = resNet();
    const { params, state } = net.init(key(22));
    const g = onnxGraph(exported(net, params, state));
    expect(nodeByName(g, 'res1.add')).toMatchObject({ opType: 'Add', input: ['res1.bn2.y', 'relu1.y'], output: ['res1.add.y'] });
    expect(nodeByName(g, 'res2.add')).toMatchObject({ opType: 'Add', input: ['res2.bn2.y', 'res2.shortcut.bn1.y'] });
    // One value read by the block's first conv and by the shortcut's.
    expect(nodeByName(g, 'res2.conv1')?.input?.[0]).toBe('relu2.y');
    expect(nodeByName(g, 'res2.shortcut.conv1')?.input?.[0]).toBe('relu2.y');
    expect(nodeByName(g, 'gap1')).toMatchObject({ opType: 'GlobalAveragePool', input: ['relu3.y'], output: ['gap1.pooled'] });
    expect(nodeByName(g, 'gap1.flatten')).toMatchObject({ opType: 'Flatten', input: ['gap1.pooled'], output: ['gap1.y'] });
    expect(nodeByName(g, 'affine1')).toMatchObject({ opType: 'Gemm', input: ['gap1.y', 'affine1.W', 'affine1.b'], output: ['logits'] });
    expect((g.initializer ?? []).map((t) => t.name).sort()).toEqual(Object.keys({ ...params, ...state }).sort());
  });

  it('parallel branches: concat of [C,H,W] (three branches, one a pool), add of three (Sum), concat of [D] vectors', async () => {
    const net = unwrap(
      network(
        [1, 28, 28],
        [
          conv2d({ filters: 4, size: 3, pad: 1, ...he }),
          relu(),
          parallel([[conv2d({ filters: 6, size: 1, ...he })], [conv2d({ filters: 4, size: 3, pad: 1, ...he }), tanh()], [avgPool2d({ size: 3, stride: 1, pad: 1 })]], {
            merge: 'concat',
          }),
          maxPool2d({ size: 2 }),
          parallel([[conv2d({ filters: 8, size: 1, ...he })], [conv2d({ filters: 8, size: 3, pad: 1, ...he })], [conv2d({ filters: 8, size: 5, pad: 2, ...he }), relu()]], {
            merge: 'add',
          }),
          maxPool2d({ size: 2 }),
          flatten(),
          parallel([[affine({ units: 8, ...he })], [affine({ units: 4, ...he }), sigmoid()]], { merge: 'concat' }),
          affine({ units: 10, weightInit: 'xavier' }),
        ],
      ),
    );
    expect(net.graph.nodes.map((n) => n.shape)).toContainEqual([14, 28, 28]);
    const { params, state } = net.init(key(23));
    await checkAgainstOrt(net, params, state);
    const g = onnxGraph(exported(net, params, state));
    expect(nodeByName(g, 'par1.concat')).toMatchObject({ opType: 'Concat', input: ['par1.branch1.conv1.y', 'par1.branch2.tanh1.y', 'par1.branch3.pool1.y'] });
    expect(nodeByName(g, 'par2.add')).toMatchObject({ opType: 'Sum', input: ['par2.branch1.conv1.y', 'par2.branch2.conv1.y', 'par2.branch3.relu1.y'] });
    expect(nodeByName(g, 'par3.concat')?.opType).toBe('Concat');
  });

  it('graph(...): a skip concatenated with later maps (the input itself too), a value read three times, global average pooling', async () => {
    const block = graph((x, g) => {
      const a = x.then(conv2d({ filters: 8, size: 3, pad: 1, ...he })).then(relu());
      const b = a.then(conv2d({ filters: 8, size: 3, pad: 1, ...he })).then(batchNorm()).then(relu());
      return g.concat(g.add(a, b), a, x).then(globalAvgPool2d());
    });
    const net = unwrap(network([1, 28, 28], [block, affine({ units: 10, weightInit: 'xavier' })]));
    expect(net.outputShape).toEqual([10]);
    const init = net.init(key(24));
    const { params, state } = randomizeBatchNorm(init.params, init.state, 240);
    await checkAgainstOrt(net, params, state);
    const g = onnxGraph(exported(net, params, state));
    const readers = (g.node ?? []).filter((n) => (n.input ?? []).includes('graph1.relu1.y')).map((n) => n.name);
    expect(readers).toEqual(['graph1.conv2', 'graph1.add1', 'graph1.concat1']);
    expect(nodeByName(g, 'graph1.concat1')?.input).toEqual(['graph1.add1.y', 'graph1.relu1.y', 'input']);
  });

  it('a network without layers: an Identity node writes the input as logits', async () => {
    const net = unwrap(network([1, 28, 28], []));
    const theirs = await runOrt(exported(net, {}, {}), images);
    expect(theirs.name).toBe('logits');
    expect(maxAbsDiff(theirs.data, images.data)).toBe(0);
  });
});

// Layers of one's own for the custom-op tests. swishBeta(x) = x * sigmoid(beta x) with a param beta [1];
// leaky(x) = max(x, alpha x) with alpha from its spec. Eval-only here: ONNX export needs no pullback.
const evalOnly = (): never => {
  throw new FoldnetError('value', 'this test layer runs in eval mode only');
};
const elementwise = (x: Tensor, f: (v: number) => number): Tensor => fromData(x.shape, Float32Array.from(x.data, f));

const swishBeta = (name = ''): Layer =>
  defineLayer(name, (n) => ({
    name: n,
    kind: 'swishBeta',
    spec: { type: 'swishBeta', ...(n ? { name: n } : {}) },
    outputShape: (s) => right(s),
    init: () => ({ params: { beta: fromData([1], Float32Array.of(1.5)) }, state: {} }),
    forward: (p, state, x) => {
      const beta = p.beta.data[0];
      return { y: elementwise(x, (v) => v / (1 + Math.exp(-beta * v))), state, pullback: evalOnly };
    },
  }));

const leaky = (alpha: number, name = ''): Layer =>
  defineLayer(name, (n) => ({
    name: n,
    kind: 'leaky',
    spec: { type: 'leaky', alpha, ...(n ? { name: n } : {}) },
    outputShape: (s) => right(s),
    init: () => ({ params: {}, state: {} }),
    forward: (_p, state, x) => ({ y: elementwise(x, (v) => (v > 0 ? v : alpha * v)), state, pullback: evalOnly }),
  }));

// Mul(x, beta) -> Sigmoid -> Mul(x, .): two temporaries, one initializer.
const swishBetaOnnx: OnnxMapping = (ctx) => {
  const bx = ctx.temp('bx');
  const gate = ctx.temp('gate');
  return [
    { opType: 'Mul', inputs: [ctx.input, ctx.params.beta], outputs: [bx] },
    { opType: 'Sigmoid', inputs: [bx], outputs: [gate] },
    { opType: 'Mul', inputs: [ctx.input, gate], outputs: [ctx.output] },
  ];
};
registerLayer({ type: 'swishBeta', make: () => swishBeta(), onnx: swishBetaOnnx });
registerLayer({
  type: 'leaky',
  make: (f) => leaky(typeof f.alpha === 'number' ? f.alpha : 0.01),
  onnx: (ctx) => [{ opType: 'LeakyRelu', inputs: [ctx.input], outputs: [ctx.output], attributes: { alpha: typeof ctx.spec.alpha === 'number' ? ctx.spec.alpha : 0.01 } }],
});
const softsign = (name = ''): Layer =>
  defineLayer(name, (n) => ({
    name: n,
    kind: 'softsign',
    spec: { type: 'softsign', ...(n ? { name: n } : {}) },
    outputShape: (s) => right(s),
    init: () => ({ params: {}, state: {} }),
    forward: (_p, state, x) => ({ y: elementwise(x, (v) => v / (1 + Math.abs(v))), state, pullback: evalOnly }),
  }));
// Registered for specs, but with no ONNX mapping.
registerLayer({ type: 'softsign', make: () => softsign() });

describe('exportOnnx of layers of one\'s own through their registered onnx mapping', () => {
  const net = unwrap(
    network(
      [1, 28, 28],
      [
        conv2d({ filters: 6, size: 3, pad: 1, ...he }),
        swishBeta(),
        residual([conv2d({ filters: 6, size: 3, pad: 1, ...he }), leaky(0.2)]),
        maxPool2d({ size: 2 }),
        flatten(),
        affine({ units: 10, weightInit: 'xavier' }),
      ],
    ),
  );

  it('swishBeta (Mul, Sigmoid, Mul with its param beta) and leaky (LeakyRelu alpha=0.2) inside a residual block', async () => {
    const { params, state } = net.init(key(25));
    expect(Object.keys(params)).toContain('swishBeta1.beta');
    await checkAgainstOrt(net, params, state);
  });

  it('the mapping\'s nodes are named by the layer\'s path, its temporaries too; its param is an initializer under its foldnet name', () => {
    const { params, state } = net.init(key(26));
    const g = onnxGraph(exported(net, params, state));
    const own = (g.node ?? []).filter((n) => (n.name ?? '').startsWith('swishBeta1'));
    expect(own.map((n) => [n.name, n.opType, n.input, n.output])).toEqual([
      ['swishBeta1.0', 'Mul', ['conv1.y', 'swishBeta1.beta'], ['swishBeta1.bx']],
      ['swishBeta1.1', 'Sigmoid', ['swishBeta1.bx'], ['swishBeta1.gate']],
      ['swishBeta1.2', 'Mul', ['conv1.y', 'swishBeta1.gate'], ['swishBeta1.y']],
    ]);
    expect(nodeByName(g, 'res1.leaky1')?.attribute?.[0]).toMatchObject({ name: 'alpha', f: expect.closeTo(0.2, 7) });
    expect((g.initializer ?? []).map((t) => t.name)).toContain('swishBeta1.beta');
  });

  it('a float attribute with a whole value is written FLOAT when tagged { float }, INT when bare; { floats } writes FLOATS', async () => {
    // LeakyRelu's alpha is a FLOAT in ONNX: a bare 1 would be an INT, which onnxruntime refuses.
    registerLayer({
      type: 'leakyOne',
      make: () => defineLayer('', (n) => ({ ...leaky(1, n), kind: 'leakyOne', spec: { type: 'leakyOne', ...(n ? { name: n } : {}) } })),
      onnx: (ctx) => [{ opType: 'LeakyRelu', inputs: [ctx.input], outputs: [ctx.output], attributes: { alpha: { float: 1 }, bare: 1, list: { floats: [1, 0.5] } } }],
    });
    const one = registeredLayer('leakyOne')?.make({});
    if (one === undefined) throw new Error('leakyOne is registered above');
    const small = unwrap(network([4], [affine(4), one, affine(2)]));
    const g = onnxGraph(exported(small, small.init(key(31)).params, {}));
    const T = onnxProto.onnx.AttributeProto.AttributeType;
    expect(nodeByName(g, 'leakyOne1')?.attribute?.map((a) => [a.name, a.type])).toEqual([
      ['alpha', T.FLOAT],
      ['bare', T.INT],
      ['list', T.FLOATS],
    ]);
  });

  it.each([ONNX_MIN_OPSET, 13, ONNX_MAX_OPSET])('a mapping is told the opset being written (%i)', (opset) => {
    const seen: number[] = [];
    registerLayer({
      type: 'opsetProbe',
      make: () => defineLayer('', (n) => ({ ...leaky(0.1, n), kind: 'opsetProbe', spec: { type: 'opsetProbe', ...(n ? { name: n } : {}) } })),
      onnx: (ctx) => {
        seen.push(ctx.opset);
        return [{ opType: 'LeakyRelu', inputs: [ctx.input], outputs: [ctx.output], attributes: { alpha: 0.1 } }];
      },
    });
    const probe = registeredLayer('opsetProbe')?.make({});
    if (probe === undefined) throw new Error('opsetProbe is registered above');
    const small = unwrap(network([4], [affine(4), probe, affine(2)]));
    exported(small, small.init(key(32)).params, {}, { opset });
    expect(seen).toEqual([opset]);
  });

  it('a registered layer without a mapping, inside a residual block: refused with its position, path and kind', () => {
    const withSoftsign = unwrap(network([1, 8, 8], [conv2d({ filters: 2, size: 3 }), residual([conv2d({ filters: 2, size: 3, pad: 1 }), softsign()]), flatten()]));
    const r = exportOnnx(withSoftsign, withSoftsign.init(key(27)).params, {});
    expect(r._tag === 'Left' ? r.left.message : 'exported').toBe(
      `exportOnnx: layer 1.1 (res1.softsign1: softsign): has no ONNX form (exportable kinds: ${ONNX_LAYER_KINDS.join(', ')}): ` +
        "'softsign' is a layer of one's own with no ONNX mapping (register one: registerLayer({ type: 'softsign', make, onnx }))",
    );
  });

  it('a model spec (JSON) with residual, parallel and graph layers and swishBeta inside a block, decoded then exported', async () => {
    const conv = (filters: number, size: number, more: Record<string, number> = {}) => ({ type: 'conv2d', filters, size, weightInit: 'he', ...more });
    const decoded = decodeModelSpec({
      input: [1, 28, 28],
      layers: [
        conv(4, 3, { pad: 1 }),
        { type: 'residual', block: [conv(4, 3, { pad: 1 }), { type: 'batchNorm' }, { type: 'swishBeta' }] },
        { type: 'parallel', merge: 'concat', branches: [[conv(4, 1)], [{ type: 'maxPool2d', size: 3, stride: 1, pad: 1 }]] },
        { type: 'graph', nodes: [{ ...conv(8, 3, { stride: 2, pad: 1 }), name: 'a' }, { type: 'relu', name: 'r' }, { type: 'concat', name: 'cat', inputs: ['a', 'r'] }] },
        { type: 'globalAvgPool2d' },
        { type: 'affine', units: 10, weightInit: 'xavier' },
      ],
    });
    if (decoded._tag === 'Left') throw new Error(decoded.left.message);
    const specNet = decoded.right;
    const init = specNet.init(key(29));
    const { params, state } = randomizeBatchNorm(init.params, init.state, 290);
    expect(Object.keys(params)).toContain('res1.swishBeta1.beta');
    await checkAgainstOrt(specNet, params, state);
  });

  it("a param named like the layer's output value (`y`): the output takes another name, the initializer keeps its own", async () => {
    const scaled = (name = ''): Layer =>
      defineLayer(name, (n) => ({
        name: n,
        kind: 'scaled',
        spec: { type: 'scaled', ...(n ? { name: n } : {}) },
        outputShape: (sh) => right(sh),
        init: () => ({ params: { y: fromData([1], Float32Array.of(3)) }, state: {} }),
        forward: (p, state, x) => ({ y: elementwise(x, (v) => v * p.y.data[0]), state, pullback: evalOnly }),
      }));
    registerLayer({ type: 'scaled', make: () => scaled(), onnx: (ctx) => [{ opType: 'Mul', inputs: [ctx.input, ctx.params.y], outputs: [ctx.output] }] });
    const small = unwrap(network([1, 28, 28], [scaled(), flatten(), affine({ units: 10, weightInit: 'xavier' })]));
    const { params, state } = small.init(key(30));
    await checkAgainstOrt(small, params, state);
    expect(nodeByName(onnxGraph(exported(small, params, state)), 'scaled1')).toMatchObject({ input: ['input', 'scaled1.y'], output: ['scaled1.y#2'] });
  });

  it.each<[string, OnnxMapping, string]>([
    ['gives no nodes', () => [], 'its ONNX mapping gives no nodes'],
    ['never writes its output', (ctx) => [{ opType: 'Relu', inputs: [ctx.input], outputs: [ctx.temp('r')] }], "its ONNX mapping never writes its output 'bad1.y'"],
    ['reads an unknown value', (ctx) => [{ opType: 'Add', inputs: [ctx.input, 'nowhere'], outputs: [ctx.output] }], "its ONNX mapping's node 0 (Add) reads 'nowhere', which no earlier node writes and no initializer holds"],
    ['reads its output before writing it', (ctx) => [{ opType: 'Relu', inputs: [ctx.output], outputs: [ctx.output] }], "its ONNX mapping's node 0 (Relu) reads 'bad1.y', which no earlier node writes and no initializer holds"],
    ['writes a name of its own choosing', (ctx) => [{ opType: 'Relu', inputs: [ctx.input], outputs: ['affine2.W'] }], "its ONNX mapping's node 0 (Relu) writes 'affine2.W', which is neither its output 'bad1.y' nor a name from ctx.temp"],
    ['writes its output twice', (ctx) => [0, 1].map(() => ({ opType: 'Relu', inputs: [ctx.input], outputs: [ctx.output] })), "its ONNX mapping's node 1 (Relu) writes 'bad1.y' a second time"],
    ['gives a list attribute that is not all integers', (ctx) => [{ opType: 'Relu', inputs: [ctx.input], outputs: [ctx.output], attributes: { xs: [1, 0.5] } }], "its ONNX mapping gives attribute 'xs' a list that is not all integers (tag a list of floats as { floats: [...] })"],
    ['throws', () => { throw new TypeError('no such field'); }, 'its ONNX mapping failed: no such field'],
  ])('a mapping that %s is refused, naming the layer', (_, mapping, detail) => {
    const bad = (): Layer => defineLayer('', (n) => ({ ...softsign(n), kind: 'bad', spec: { type: 'bad', ...(n ? { name: n } : {}) } }));
    registerLayer({ type: 'bad', make: bad, onnx: mapping });
    const withBad = unwrap(network([4], [affine(4), bad(), affine(2)]));
    const r = exportOnnx(withBad, withBad.init(key(28)).params, {});
    expect(r._tag === 'Left' ? r.left.message : 'exported').toBe(`exportOnnx: layer 1 (bad1: bad): ${detail}`);
  });
});
