import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromData, key, normal } from '@foldnet/core';
import {
  affine,
  avgPool2d,
  batchNorm,
  conv2d,
  deepConvNet,
  doubleConvNet,
  dropout,
  flatten,
  maxPool2d,
  network,
  relu,
  sequential,
  sigmoid,
  simpleConvNet,
  tanh,
  unwrap,
  type Layer,
  type Network,
} from '@foldnet/layers';
import {
  exportOnnx,
  ONNX_DEFAULT_OPSET,
  ONNX_MAX_OPSET,
  ONNX_MIN_OPSET,
  saveOnnx,
} from '@foldnet/train';
import { right } from 'fp-ts/lib/Either.js';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { briefTrain, checkAgainstOrt, exported, images, maxAbsDiff, randomizeBatchNorm, runOrt } from './onnx-check.js';

/*
 * Every exported model runs in ONNX Runtime on real MNIST test images and must agree with
 * foldnet's own eval-mode forward within 1e-4 (max absolute difference over the whole output;
 * see onnx-check.ts). Graphs and layers of one's own: onnx.graph.test.ts.
 */

const tmp = mkdtempSync(join(tmpdir(), 'foldnet-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// conv - bn - relu - avgpool(pad 1) - conv(stride 2) - bn - tanh - maxpool(pad 1) - flatten - dropout
// - affine - bn (dense) - sigmoid - affine: every kind the exporter knows except sequential.
const mixedNet = (): Network =>
  unwrap(
    network(
      [1, 28, 28],
      [
        conv2d({ filters: 6, size: 3, pad: 1, weightInit: 'he' }),
        batchNorm(),
        relu(),
        avgPool2d({ size: 3, stride: 2, pad: 1 }),
        conv2d({ filters: 8, size: 3, stride: 2, pad: 1, weightInit: 'he' }),
        batchNorm({ eps: 1e-3 }),
        tanh(),
        maxPool2d({ size: 2, stride: 2, pad: 1 }),
        flatten(),
        dropout({ rate: 0.3 }),
        affine({ units: 20, weightInit: 'xavier' }),
        batchNorm(),
        sigmoid(),
        affine({ units: 10, weightInit: 'xavier' }),
      ],
    ),
  );

describe('exportOnnx in ONNX Runtime on 32 MNIST test images (max |diff| <= 1e-4)', () => {
  it('SimpleConvNet, random init (He) from key(1)', async () => {
    const net = unwrap(simpleConvNet({ weightInit: 'he' }));
    const { params, state } = net.init(key(1));
    await checkAgainstOrt(net, params, state);
  });

  it('SimpleConvNet, lesson init trained 4 Adam steps: logits, and with softmax probabilities that sum to 1', async () => {
    const net = unwrap(simpleConvNet());
    const init = net.init(key(2));
    const { params, state } = briefTrain(net, init.params, init.state, 4);
    await checkAgainstOrt(net, params, state);
    const probs = await checkAgainstOrt(net, params, state, { softmax: true });
    for (let n = 0; n < probs.shape[0]; n++) {
      let sum = 0;
      for (let j = 0; j < 10; j++) sum += probs.data[n * 10 + j];
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('DoubleConvNet (conv 7x7 pad 1, conv 3x3 pad 1), random init (He) from key(3)', async () => {
    const net = unwrap(doubleConvNet({ weightInit: 'he' }));
    const { params, state } = net.init(key(3));
    await checkAgainstOrt(net, params, state);
  });

  it('DeepConvNet (six 3x3 convs, one with pad 2; ends in dropout, so a Dropout node writes logits), He init', async () => {
    const net = unwrap(deepConvNet());
    const { params, state } = net.init(key(31));
    await checkAgainstOrt(net, params, state);
  });

  it('batch norm (conv and dense), average and max pooling with padding, dropout, sigmoid, tanh', async () => {
    const net = mixedNet();
    const init = net.init(key(4));
    const { params, state } = randomizeBatchNorm(init.params, init.state, 40);
    await checkAgainstOrt(net, params, state);
  });

  it('the batch-norm network after 3 training steps (running statistics moved by training)', async () => {
    const net = mixedNet();
    const init = net.init(key(5));
    const { params, state } = briefTrain(net, init.params, init.state, 3);
    expect(Array.from(state['bn1.mean'].data).some((v) => v !== 0)).toBe(true);
    await checkAgainstOrt(net, params, state);
  });

  it('a nested sequential block: params seq1.conv1.W ..., exported through its spec', async () => {
    const net = unwrap(
      network(
        [1, 28, 28],
        [
          sequential(conv2d({ filters: 4, size: 5, weightInit: 'he' }), batchNorm(), relu()),
          maxPool2d({ size: 2 }),
          sequential(affine({ units: 16, weightInit: 'he' }), relu(), affine({ units: 10, weightInit: 'he' })),
        ],
      ),
    );
    const init = net.init(key(6));
    expect(Object.keys(init.params)).toContain('seq1.conv1.W');
    const { params, state } = randomizeBatchNorm(init.params, init.state, 60);
    await checkAgainstOrt(net, params, state);
  });

  it.each([ONNX_MIN_OPSET, 12, 17, ONNX_MAX_OPSET])('opset %i: the batch-norm network runs and agrees', async (opset) => {
    const net = mixedNet();
    const init = net.init(key(8));
    const { params, state } = randomizeBatchNorm(init.params, init.state, 80);
    await checkAgainstOrt(net, params, state, { opset, softmax: opset % 2 === 1 });
  });

  it('float64 params are exported rounded to float32 and still agree', async () => {
    const net = unwrap(simpleConvNet({ weightInit: 'he', hiddenSize: 20 }));
    const p32 = net.init(key(9));
    const p64 = net.init(key(9), { dtype: 'float64' });
    const bytes32 = exported(net, p32.params, p32.state);
    const bytes64 = exported(net, p64.params, p64.state);
    const theirs = await runOrt(bytes64, images);
    const ours = net.forward(p32.params, p32.state, images, { mode: 'eval' }).y;
    expect(maxAbsDiff(theirs.data, ours.data)).toBeLessThanOrEqual(1e-4);
    expect(bytes64.length).toBe(bytes32.length);
  });

  it('the batch axis is dynamic: the same model runs a batch of 1 and a batch of 32 alike', async () => {
    const net = unwrap(simpleConvNet({ weightInit: 'he' }));
    const { params, state } = net.init(key(10));
    const bytes = exported(net, params, state);
    const all = await runOrt(bytes, images);
    const one = await runOrt(bytes, fromData([1, 1, 28, 28], images.data.slice(3 * 784, 4 * 784)));
    expect(one.dims).toEqual([1, 10]);
    expect(maxAbsDiff(one.data, all.data.slice(30, 40))).toBeLessThanOrEqual(1e-5);
  });
});

describe('exportOnnx: the ModelProto itself', () => {
  const net = mixedNet();
  const { params, state } = net.init(key(11));
  const model = onnxProto.onnx.ModelProto.decode(exported(net, params, state, { producer: 'foldnet-test' }));
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];

  it('nodes in layer order, one per layer (plus no Flatten before a Gemm fed by Flatten)', () => {
    expect(nodes.map((n) => n.opType)).toEqual([
      'Conv',
      'BatchNormalization',
      'Relu',
      'AveragePool',
      'Conv',
      'BatchNormalization',
      'Tanh',
      'MaxPool',
      'Flatten',
      'Dropout',
      'Gemm',
      'BatchNormalization',
      'Sigmoid',
      'Gemm',
    ]);
  });

  it('input float[N,1,28,28] with a symbolic N, output logits float[N,10], opset 13, producer and spec metadata', () => {
    const dims = (v: onnxProto.onnx.IValueInfoProto | undefined) =>
      v?.type?.tensorType?.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
    expect((graph.input ?? []).map((i) => i.name)).toEqual(['input']);
    expect(dims(graph.input?.[0])).toEqual(['N', 1, 28, 28]);
    expect((graph.output ?? []).map((o) => o.name)).toEqual(['logits']);
    expect(dims(graph.output?.[0])).toEqual(['N', 10]);
    expect(model.opsetImport.map((o) => Number(o.version))).toEqual([ONNX_DEFAULT_OPSET]);
    expect(model.producerName).toBe('foldnet-test');
    const meta = model.metadataProps.find((m) => m.key === 'foldnet.model');
    expect(JSON.parse(meta?.value ?? 'null')).toEqual(JSON.parse(JSON.stringify(net.spec)));
  });

  it('initializers are the foldnet params and state under their own names, float32, same shapes and values', () => {
    const inits = new Map((graph.initializer ?? []).map((t) => [t.name, t]));
    for (const [name, t] of Object.entries({ ...params, ...state })) {
      const init = inits.get(name);
      expect(init, name).toBeDefined();
      expect((init?.dims ?? []).map(Number)).toEqual([...t.shape]);
      expect(init?.dataType).toBe(onnxProto.onnx.TensorProto.DataType.FLOAT);
      // rawData is a Buffer view into the decoded model: copy it before reading its ArrayBuffer.
      const raw = new Uint8Array(init?.rawData ?? new Uint8Array());
      const values = new Float32Array(raw.buffer);
      expect(Array.from(values)).toEqual(Array.from(t.data));
    }
    expect([...inits.keys()].sort()).toEqual([...Object.keys({ ...params, ...state }), 'dropout1.ratio'].sort());
  });

  it('AveragePool counts padding (count_include_pad=1), Conv carries kernel, stride and pads, Gemm has transB=0', () => {
    const attrs = (op: string, i = 0) => {
      const n = nodes.filter((x) => x.opType === op)[i];
      return Object.fromEntries((n?.attribute ?? []).map((a) => [a.name, a.ints?.length ? a.ints.map(Number) : a.type === 1 ? a.f : Number(a.i)]));
    };
    expect(attrs('AveragePool')).toEqual({ kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 });
    expect(attrs('Conv', 1)).toEqual({ kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    expect(attrs('Gemm')).toEqual({ transA: 0, transB: 0 });
    expect(attrs('BatchNormalization', 1).epsilon).toBeCloseTo(1e-3, 9);
  });

  it('saveOnnx writes exactly the bytes exportOnnx returns', () => {
    const file = join(tmp, 'mixed.onnx');
    expect(saveOnnx(file, net, params, state)).toEqual(right(file));
    expect(new Uint8Array(readFileSync(file))).toEqual(exported(net, params, state));
  });

  it('the bytes are a plain Uint8Array owning its whole buffer (not a view into a Buffer pool)', () => {
    const bytes = exported(net, params, state);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
  });

  it('the same inputs give the same bytes (no timestamps, no randomness)', () => {
    expect(exported(net, params, state)).toEqual(exported(net, params, state));
  });
});

describe('exportOnnx refuses, naming the layer or value', () => {
  // A user-defined layer kind: swish(x) = x * sigmoid(x). foldnet runs it; ONNX export cannot.
  const swish: Layer = {
    name: '',
    kind: 'swish',
    spec: { type: 'swish' },
    outputShape: (s) => right(s),
    init: () => ({ params: {}, state: {} }),
    forward: (_p, state, x) => {
      const y = new Float32Array(x.size);
      for (let i = 0; i < x.size; i++) y[i] = x.data[i] / (1 + Math.exp(-x.data[i]));
      return { y: fromData(x.shape, y), state, pullback: (dy) => ({ dx: dy, grads: {} }) };
    },
  };
  const withSwish = unwrap(network([1, 28, 28], [conv2d({ filters: 2, size: 3 }), swish, flatten(), affine(10)]));
  const init = withSwish.init(key(12));

  const message = (r: ReturnType<typeof exportOnnx>): string => (r._tag === 'Left' ? r.left.message : 'exported');

  it('a user-defined layer kind (swish) at index 1: "has no ONNX form"', () => {
    const r = exportOnnx(withSwish, init.params, init.state);
    expect(message(r)).toMatch(/^exportOnnx: layer 1 \(swish1: swish\): has no ONNX form \(exportable kinds: conv2d, /);
  });

  it('the same custom kind inside a sequential is named by its path', () => {
    const net = unwrap(network([4], [sequential(affine(4), { ...swish, name: 'act', spec: { type: 'swish', name: 'act' } })]));
    const r = exportOnnx(net, net.init(key(13)).params, {});
    expect(message(r)).toContain('layer 0.1 (seq1.act: swish): has no ONNX form');
  });

  it('a missing param, a param of the wrong shape, an extra param, missing batch-norm state', () => {
    const net = unwrap(simpleConvNet({ hiddenSize: 20 }));
    const { params, state } = net.init(key(14));
    const { ['affine1.b']: _dropped, ...missing } = params;
    expect(message(exportOnnx(net, missing, state))).toBe("exportOnnx: layer 3 (affine1: affine): missing param 'affine1.b'");
    const wrong = { ...params, 'conv1.W': normal(key(1), [30, 1, 3, 3]) };
    expect(message(exportOnnx(net, wrong, state))).toBe('exportOnnx: layer 0 (conv1: conv2d): conv1.W is [30,1,3,3], expected [30,1,5,5]');
    const extra = { ...params, 'conv9.W': normal(key(1), [2]) };
    expect(message(exportOnnx(net, extra, state))).toContain('param conv9.W belong to no layer');
    const bn = mixedNet();
    const bnInit = bn.init(key(15));
    const { ['bn2.var']: _v, ...noVar } = bnInit.state;
    expect(message(exportOnnx(bn, bnInit.params, noVar))).toBe("exportOnnx: layer 5 (bn2: batchNorm): missing layer state 'bn2.var'");
  });

  it('an opset out of range, and softmax on an output that is not [N, K]', () => {
    const net = unwrap(simpleConvNet({ hiddenSize: 20 }));
    const { params, state } = net.init(key(16));
    expect(message(exportOnnx(net, params, state, { opset: ONNX_MIN_OPSET - 1 }))).toBe(
      `exportOnnx: opset ${ONNX_MIN_OPSET - 1} is not supported, expected an integer in ${ONNX_MIN_OPSET}..${ONNX_MAX_OPSET}`,
    );
    expect(exportOnnx(net, params, state, { opset: 13.5 })._tag).toBe('Left');
    const convOnly = unwrap(network([1, 8, 8], [conv2d({ filters: 2, size: 3 })]));
    const c = convOnly.init(key(17));
    expect(message(exportOnnx(convOnly, c.params, c.state, { softmax: true }))).toBe(
      "exportOnnx: softmax needs logits [N, K], the network's output is [N,2,6,6]",
    );
  });
});
