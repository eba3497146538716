import { foldIn, fromData, fromNested, kernels, key, normal, split, type Key, type Tensor } from '@foldnet/core';
import fc from 'fast-check';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  affine, batchNorm, checkGradients, conv2d, decodeModelSpec, defineLayer, encodeModelSpec, flatten, formatGradCheckReport, globalAvgPool2d, graph,
  lossAndGrad, maxPool2d, network, parallel, registerLayer, relu, residual, summary, tanh, unwrap, type Fields, type Layer, type Network,
} from '@foldnet/layers';
import { arbGraphCase, gradientProperty, purityProperty, shapeProperty } from '@foldnet/layers/testing';
import { scope, scopes } from '../src/graph/run.js';

/*
 * Networks with branches and merges: residual blocks, parallel branches (add, concat), global average pooling
 * and general graphs. Gradients against finite differences in float64, the fast kernels against the reference
 * on generated graphs, shapes before any data, specs that round-trip, and layers of one's own in specs.
 */

const isNetwork = (t: Layer | Network): t is Network => 'graph' in t && 'layerShapes' in t;

const leftMessage = <A>(r: { _tag: 'Left'; left: { message: string } } | { _tag: 'Right'; right: A }): string => (isLeft(r) ? r.left.message : 'accepted');

describe('gradients of graphs agree with central differences (float64)', () => {
  it('random graphs: residual (identity, projection), parallel add and concat, skip concat, global average pooling', () => {
    fc.assert(gradientProperty(arbGraphCase(), undefined, { maxElements: 8 }), { seed: 42, numRuns: 20 });
  });
  it('residual with an identity shortcut alone, as a layer: dx sums both paths', () => {
    const block = residual([conv2d({ filters: 2, size: 3, pad: 1, weightInit: 'he' }), tanh()]);
    const report = checkGradients(block, [2, 4, 4], { key: key(3), maxElements: 16 });
    expect(report.ok, formatGradCheckReport(report)).toBe(true);
    expect(report.entries.map((e) => e.name)).toEqual(['conv1.W', 'conv1.b', 'input']);
  });
  it('globalAvgPool2d alone', () => {
    const report = checkGradients(globalAvgPool2d(), [3, 4, 5], { key: key(4) });
    expect(report.ok, formatGradCheckReport(report)).toBe(true);
  });
  it('globalAvgPool2d: each mean is its plane summed in order in float64, rounded once (planes 4 at a time and the rest)', () => {
    const layer = globalAvgPool2d();
    for (const [N, C, H, W] of [[1, 1, 1, 1], [2, 3, 5, 7], [3, 5, 7, 7], [4, 4, 2, 3]]) {
      for (const dtype of ['float32', 'float64'] as const) {
        // widely spread magnitudes, so that another order of the adds would round differently
        const v = Array.from(normal(key(N * 100 + C), [N, C, H, W]).data, (e, i) => e * 10 ** ((i * 7) % 9));
        const x = fromData([N, C, H, W], dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));
        const y = layer.forward({}, {}, x, { mode: 'eval' }).y;
        const S = H * W;
        const expected = Array.from({ length: N * C }, (_, p) => {
          let sum = 0;
          for (let s = 0; s < S; s++) sum += x.data[p * S + s];
          return sum / S;
        });
        expect([...y.data]).toEqual([...(dtype === 'float32' ? Float32Array.from(expected) : expected)]);
      }
    }
  });
});

describe('shapes and purity of graphs', () => {
  it('declared output shape = forward shape', () => {
    fc.assert(shapeProperty(arbGraphCase()), { seed: 9, numRuns: 30 });
  });
  it('forward and backward leave input, params, state and dy unchanged', () => {
    fc.assert(purityProperty(arbGraphCase()), { seed: 9, numRuns: 20 });
  });
});

const close = (a: Tensor, b: Tensor, tol: number): boolean =>
  a.size === b.size && Array.from(a.data).every((v, i) => Math.abs(v - b.data[i]) <= tol * (1 + Math.abs(b.data[i])));

describe('fast kernels = reference kernels on generated graphs (float32)', () => {
  it('train-mode loss, logits and every gradient; eval-mode logits', () => {
    fc.assert(
      fc.property(arbGraphCase(), fc.integer({ min: 2, max: 4 }), fc.nat(1000), (c, batch, seed) => {
        const net = c.target;
        if (!isNetwork(net)) throw new Error(`${c.label}: expected a network`);
        const [k1, k2] = split(key(seed));
        const { params, state } = net.init(k1);
        const x = normal(k2, [batch, ...net.inputShape]);
        const labels = Int32Array.from({ length: batch }, (_, i) => i % 3);
        const run = (backend: 'fast' | 'reference') => lossAndGrad(net, params, state, x, labels, { mode: 'train', kernels: kernels(backend) });
        const [fast, ref] = [run('fast'), run('reference')];
        expect(Math.abs(fast.loss - ref.loss)).toBeLessThan(1e-4 * (1 + Math.abs(ref.loss)));
        expect(close(fast.logits, ref.logits, 1e-4)).toBe(true);
        for (const [name, g] of Object.entries(ref.grads)) expect(close(fast.grads[name], g, 1e-3), `${c.label}: ${name}`).toBe(true);
        const evalOf = (backend: 'fast' | 'reference') => net.forward(params, state, x, { mode: 'eval', needGrad: false, kernels: kernels(backend) }).y;
        expect(close(evalOf('fast'), evalOf('reference'), 1e-4)).toBe(true);
      }),
      { seed: 11, numRuns: 25 },
    );
  });
});

describe('combinators', () => {
  it('residual names its block inside it, the shortcut under shortcut, the sum res1.add', () => {
    const net = unwrap(network([2, 8, 8], [
      residual([conv2d({ filters: 4, size: 3, stride: 2, pad: 1 }), batchNorm()], { shortcut: [conv2d({ filters: 4, size: 1, stride: 2 })] }),
      globalAvgPool2d(),
      affine(3),
    ]));
    expect(net.graph.nodes.map((n) => n.name)).toEqual(['res1.conv1', 'res1.bn1', 'res1.shortcut.conv1', 'res1.add', 'gap1', 'affine1']);
    expect(Object.keys(net.init(key(0)).params)).toEqual(['res1.conv1.W', 'res1.conv1.b', 'res1.bn1.gamma', 'res1.bn1.beta', 'res1.shortcut.conv1.W', 'res1.shortcut.conv1.b', 'affine1.W', 'affine1.b']);
    expect(net.layerShapes).toEqual([[4, 4, 4], [4], [3]]);
  });

  it('an identity residual computes block(x) + x', () => {
    const net = unwrap(network([1, 1, 2], [residual([tanh()])]));
    const x = fromNested([[[[0.5, -1]]]]);
    // float32: tanh rounded once, then the sum rounded once
    expect(Array.from(net.forward({}, {}, x, { mode: 'eval' }).y.data)).toEqual([Math.fround(Math.fround(Math.tanh(0.5)) + 0.5), Math.fround(Math.fround(Math.tanh(-1)) - 1)]);
  });

  it('parallel concat stacks channels; add needs one shape', () => {
    const cat = unwrap(network([3, 6, 6], [parallel([[conv2d({ filters: 2, size: 1 })], [conv2d({ filters: 5, size: 3, pad: 1 })]], { merge: 'concat' })]));
    expect(cat.outputShape).toEqual([7, 6, 6]);
    const add = network([3, 6, 6], [parallel([[conv2d({ filters: 2, size: 1 })], [conv2d({ filters: 5, size: 3, pad: 1 })]], { merge: 'add' })]);
    expect(leftMessage(add)).toBe('layer 0 (par1.add: add): inputs [2,6,6] and [5,6,6], expected inputs of one shape, got [2,6,6] and [5,6,6]');
  });

  it('a residual whose block changes the shape without a projection names the sum and both shapes', () => {
    const r = network([2, 8, 8], [relu(), residual([conv2d({ filters: 4, size: 3, pad: 1 })])]);
    expect(leftMessage(r)).toBe('layer 1 (res1.add: add): inputs [4,8,8] and [2,8,8], expected inputs of one shape, got [4,8,8] and [2,8,8]');
  });

  it('a shape error inside a block names the inner node by its path', () => {
    const r = network([1, 4, 4], [residual([conv2d({ filters: 1, size: 5 })])]);
    expect(leftMessage(r)).toBe('layer 0 (res1.conv1: conv2d): input [1,4,4], expected spatial size at least 5x5 (filter 5x5, pad 0)');
  });

  it('graph: an early value concatenated with a later one (U-Net style), nodes named conv1, relu1, concat1', () => {
    const unet = graph((x, g) => {
      const early = x.then(conv2d({ filters: 2, size: 3, pad: 1 })).then(relu());
      const late = early.then(maxPool2d({ size: 2 })).then(conv2d({ filters: 2, size: 1 }));
      return g.concat(early.then(maxPool2d({ size: 2 })), late);
    });
    const net = unwrap(network([1, 8, 8], [unet, flatten(), affine(2)]));
    expect(net.graph.nodes.map((n) => n.name)).toEqual(['graph1.conv1', 'graph1.relu1', 'graph1.pool1', 'graph1.conv2', 'graph1.pool2', 'graph1.concat1', 'flatten1', 'affine1']);
    expect(net.layerShapes[0]).toEqual([4, 4, 4]);
  });

  it('graph refuses a node that does not lead to the output', () => {
    expect(() => graph((x) => {
      x.then(relu());
      return x.then(tanh());
    })).toThrow('graph: node relu1 does not lead to the output tanh1');
  });

  it('a value read by two nodes gets the sum of their gradients (checked against finite differences)', () => {
    const g = graph((x, ops) => {
      const a = x.then(conv2d({ filters: 2, size: 3, pad: 1, weightInit: 'he' }));
      return ops.add(a.then(tanh()), a.then(conv2d({ filters: 2, size: 1, weightInit: 'he' })));
    });
    const report = checkGradients(unwrap(network([1, 4, 4], [g, flatten(), affine(2)])), [1, 4, 4], { key: key(8), maxElements: 12 });
    expect(report.ok, formatGradCheckReport(report)).toBe(true);
  });
});

describe('model specs of graphs', () => {
  const resnetSpec = {
    input: [1, 8, 8],
    layers: [
      { type: 'conv2d', filters: 4, size: 3, pad: 1, weightInit: 'he' },
      { type: 'residual', block: [{ type: 'conv2d', filters: 4, size: 3, pad: 1 }, { type: 'batchNorm' }, { type: 'relu' }] },
      { type: 'residual', block: [{ type: 'conv2d', filters: 8, size: 3, stride: 2, pad: 1 }], shortcut: [{ type: 'conv2d', filters: 8, size: 1, stride: 2 }] },
      { type: 'parallel', branches: [[{ type: 'conv2d', filters: 2, size: 1 }], [{ type: 'maxPool2d', size: 3, stride: 1, pad: 1 }]], merge: 'concat' },
      { type: 'graph', nodes: [{ type: 'relu', name: 'r' }, { type: 'tanh', name: 't', inputs: ['input'] }, { type: 'add', name: 'sum', inputs: ['r', 't'] }] },
      { type: 'globalAvgPool2d' },
      { type: 'affine', units: 10 },
    ],
  };

  it('decode, encode, decode: the same nodes, params and outputs', () => {
    const net = decodeModelSpec(resnetSpec);
    if (isLeft(net)) throw new Error(net.left.message);
    expect(net.right.outputShape).toEqual([10]);
    const decoded = decodeModelSpec(JSON.parse(JSON.stringify(encodeModelSpec(net.right))));
    if (isLeft(decoded)) throw new Error(decoded.left.message);
    const again = decoded.right;
    expect(again.graph.nodes.map((n) => n.name)).toEqual(net.right.graph.nodes.map((n) => n.name));
    const { params, state } = net.right.init(key(1));
    const x = normal(key(2), [2, 1, 8, 8]);
    const y1 = net.right.forward(params, state, x, { mode: 'eval' }).y;
    const y2 = again.forward(params, state, x, { mode: 'eval' }).y;
    expect(Array.from(y2.data)).toEqual(Array.from(y1.data));
  });

  it('errors carry the path into blocks, branches and graph nodes', () => {
    const bad = (layer: unknown) => leftMessage(decodeModelSpec({ input: [1, 8, 8], layers: [layer] }));
    expect(bad({ type: 'residual', block: [{ type: 'conv2d', filters: 0, size: 3 }] })).toBe('layers[0].block[0].filters: expected a positive integer, got 0');
    expect(bad({ type: 'parallel', branches: [[{ type: 'relu' }], [{ type: 'nope' }]], merge: 'add' })).toMatch(/^layers\[0\]\.branches\[1\]\[0\]\.type: expected one of conv2d, /);
    expect(bad({ type: 'parallel', branches: [[], []], merge: 'mean' })).toBe('layers[0].merge: expected "add" | "concat", got "mean"');
    expect(bad({ type: 'graph', nodes: [{ type: 'relu', inputs: ['x'] }] })).toBe("layers[0].nodes[0].inputs[0]: expected 'input' or the name of an earlier node, got \"x\"");
    expect(bad({ type: 'graph', nodes: [{ type: 'relu', name: 'a' }, { type: 'add', name: 's', inputs: ['a'] }] })).toBe('layers[0].nodes[1].inputs: expected two or more inputs for add, got 1');
  });
});

describe('layers of one\'s own in model specs', () => {
  // swish(x) = x * sigmoid(x), a layer the library does not have
  const swish = (name = ''): Layer =>
    defineLayer(name, (n) => ({
      name: n,
      kind: 'swish',
      spec: { type: 'swish', ...(n ? { name: n } : {}) },
      outputShape: (s) => ({ _tag: 'Right', right: s }),
      init: () => ({ params: {}, state: {} }),
      forward: (_p, state, x) => {
        const s = Array.from(x.data, (v) => 1 / (1 + Math.exp(-v)));
        const out = x.data.slice();
        for (let i = 0; i < out.length; i++) out[i] = x.data[i] * s[i];
        const yt = { ...x, data: out };
        return {
          y: yt,
          state,
          pullback: (dy) => {
            const dx = dy.data.slice();
            for (let i = 0; i < dx.length; i++) dx[i] = dy.data[i] * (s[i] + x.data[i] * s[i] * (1 - s[i]));
            return { dx: { ...dy, data: dx }, grads: {} };
          },
        };
      },
    }));

  it('registerLayer puts a user layer into specs, inside blocks too, and it round-trips', () => {
    registerLayer({ type: 'swish', make: (f: Fields) => swish(typeof f.name === 'string' ? f.name : '') });
    const spec = { input: [2, 4, 4], layers: [{ type: 'residual', block: [{ type: 'conv2d', filters: 2, size: 3, pad: 1 }, { type: 'swish' }] }, { type: 'flatten' }, { type: 'affine', units: 2 }] };
    const net = decodeModelSpec(spec);
    expect(isRight(net)).toBe(true);
    if (isLeft(net)) return;
    expect(net.right.graph.nodes[1]).toMatchObject({ name: 'res1.swish1', op: { type: 'custom', kind: 'swish' } });
    expect(summary(net.right)).toMatch(/res1\.swish1\s+swish/);
    const report = checkGradients(net.right, [2, 4, 4], { key: key(6), maxElements: 8 });
    expect(report.ok, formatGradCheckReport(report)).toBe(true);
    expect(isRight(decodeModelSpec(JSON.parse(JSON.stringify(encodeModelSpec(net.right)))))).toBe(true);
  });

  it('a built-in type cannot be registered over', () => {
    expect(() => registerLayer({ type: 'relu', make: () => relu() })).toThrow('registerLayer: relu is a built-in layer type');
  });
});

describe('the gradient check report', () => {
  it('keeps its columns aligned with long node paths (res1.shortcut.conv1.W)', () => {
    const net = unwrap(network([1, 4, 4], [residual([conv2d({ filters: 2, size: 3, stride: 2, pad: 1, weightInit: 'he' })], { shortcut: [conv2d({ filters: 2, size: 1, stride: 2, weightInit: 'he' })] }), flatten(), affine(2)]));
    const lines = formatGradCheckReport(checkGradients(net, [1, 4, 4], { key: key(2), maxElements: 4 })).split('\n').slice(1);
    const absAt = lines.map((l) => l.indexOf(' abs '));
    expect(new Set(absAt).size).toBe(1);
    expect(lines.some((l) => l.includes('res1.shortcut.conv1.W'))).toBe(true);
  });
});

describe('untyped callers', () => {
  it('lossAndGrad with a Uint8Array of labels names what came instead of failing inside', () => {
    const net = unwrap(network([2], [affine(3)]));
    const { params, state } = net.init(key(0));
    const labels: unknown = Uint8Array.of(0, 1);
    const call = Reflect.get({ lossAndGrad }, 'lossAndGrad');
    expect(() => Reflect.apply(call, undefined, [net, params, state, normal(key(1), [2, 2]), labels])).toThrow(
      'softmaxCrossEntropy: targets must be integer labels (an Int32Array) or one-hot rows (a tensor [N, K]), got a Uint8Array of 2',
    );
  });
});

describe('the gradients of a value read by several nodes', () => {
  // a layer of one's own whose pullback gives a dx of the wrong shape: the sum with the other reader's gradient must
  // say so, not add whatever lies past the shorter array
  const wrongDx: Layer = defineLayer('', (name) => ({
    name,
    kind: 'wrongDx',
    spec: { type: 'wrongDx' },
    outputShape: (s) => ({ _tag: 'Right', right: s }),
    init: () => ({ params: {}, state: {} }),
    forward: (_p, state, x) => ({ y: x, state, pullback: () => ({ dx: fromNested([[1, 2, 3]]), grads: {} }) }),
  }));

  it.each(['fast', 'reference'])('are summed by the run kernels, and a dx of the wrong shape is refused naming the shapes (%s)', (backend) => {
    const net = unwrap(network([4], [affine(4), parallel([[wrongDx], [relu()]], { merge: 'add' }), affine(2)]));
    const { params, state } = net.init(key(1));
    expect(() => lossAndGrad(net, params, state, normal(key(2), [2, 4]), Int32Array.of(0, 1), { mode: 'train', kernels: kernels(backend) })).toThrow(/shapes differ: \[1,3\] and \[2,4\]|shapes differ: \[2,4\] and \[1,3\]/);
  });
});

describe('scopes: every node\'s entries of a record in one pass', () => {
  it('equals scope(record, name) for each name, entries in the same order (generated dotted keys, names that nest)', () => {
    const segment = fc.constantFrom('a', 'b', 'res1', 'conv1', 'W');
    const dotted = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
    // each key's value its own tensor, and a second record over the same keys with other tensors: the keys' splits are
    // kept between calls (scopes' splitsOf), the values must be each record's own
    const recordOf = (keys: readonly string[], first: number) => Object.fromEntries(keys.map((k, i) => [k, fromData([1], Float32Array.of(first + i))]));
    fc.assert(
      fc.property(fc.uniqueArray(dotted, { maxLength: 12 }), fc.uniqueArray(dotted, { maxLength: 6 }), (keys, names) => {
        for (const record of [recordOf(keys, 0), recordOf([...keys].reverse(), 100)]) {
          const all = scopes(record, new Set(names));
          for (const name of names) expect(all.get(name) ?? {}).toStrictEqual(scope(record, name));
          for (const name of names) expect(Object.keys(all.get(name) ?? {})).toEqual(Object.keys(scope(record, name)));
        }
      }),
      { seed: 5, numRuns: 300 },
    );
  });
});

describe('a node\'s key: the run\'s key folded along the node\'s path, when its layer reads it', () => {
  // a layer of one's own that records the key its forward is given
  // (through a copy of its context, `{ ...ctx }`, as a layer that passes its context on with a change makes)
  const keyReader = (seen: (Key | undefined)[]): Layer =>
    defineLayer('', (n) => ({
      name: n,
      kind: 'keyReader',
      spec: { type: 'keyReader' },
      outputShape: (s) => ({ _tag: 'Right', right: s }),
      init: () => ({ params: {}, state: {} }),
      forward: (_p, state, x, ctx) => {
        seen.push({ ...ctx }.key);
        return { y: x, state, pullback: (dy) => ({ dx: dy, grads: {} }) };
      },
    }));

  it('nested in blocks at depths 1 and 2, over two runs with their own keys, and undefined in a run without one', () => {
    const seen: (Key | undefined)[] = [];
    const net = unwrap(network([1, 4, 4], [keyReader(seen), residual([tanh(), keyReader(seen)]), residual([residual([keyReader(seen)]), relu()]), flatten(), affine(2)]));
    const readers = net.graph.nodes.filter((n) => n.op.type === 'custom');
    expect(readers.map((n) => n.keyPath.length)).toEqual([1, 2, 3]);
    const { params, state } = net.init(key(1));
    const x = normal(key(2), [2, 1, 4, 4]);
    for (const runKey of [key(3), key(4)]) {
      seen.length = 0;
      net.forward(params, state, x, { mode: 'train', key: runKey });
      expect(seen).toEqual(readers.map((n) => n.keyPath.reduce((k, i) => foldIn(k, i), runKey)));
    }
    seen.length = 0;
    net.forward(params, state, x, { mode: 'eval' });
    expect(seen).toEqual([undefined, undefined, undefined]);
  });
});
