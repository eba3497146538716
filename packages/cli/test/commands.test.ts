import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { fromData, flopsOf, key, traceConvPaths } from '@foldnet/core';
import { adam, initTrainState, loadMnist, trainStep } from '@foldnet/train';
import { unwrap, simpleConvNet, doubleConvNet, network, residual, conv2d, batchNorm, globalAvgPool2d, affine, relu, GRAPH_INPUT } from '@foldnet/layers';
import { describe, expect, it } from 'vitest';
import { benchInputs, convAlgorithmsOf, forwardFlops, gemmShapes } from '../src/commands/bench.js';
import { networkFromSpec } from '../src/models.js';
import { formatConfusion } from '../src/commands/eval.js';
import { formatProbabilities } from '../src/commands/predict.js';
import { argmaxAt, firstConvFilters, misclassifiedOf } from '../src/predictions.js';
import { misclassifiedGallery } from '../src/report.js';

describe('bench: the GEMMs of one training step', () => {
  it('SimpleConvNet batch 100: eight GEMMs (conv1 dx skipped), 0.433 GFLOP as issue 6 counts', () => {
    const shapes = gemmShapes(unwrap(simpleConvNet()), 100);
    expect(shapes.map((g) => g.what)).toEqual(['conv1 forward', 'conv1 dW', 'affine1 forward', 'affine1 dW', 'affine1 dx', 'affine2 forward', 'affine2 dW', 'affine2 dx']);
    expect(shapes[0]).toEqual({ what: 'conv1 forward', m: 57600, k: 25, n: 30 });
    expect(shapes[2]).toEqual({ what: 'affine1 forward', m: 100, k: 4320, n: 100 });
    const gflop = shapes.reduce((f, g) => f + 2 * g.m * g.k * g.n, 0) / 1e9;
    expect(gflop).toBeCloseTo(0.433, 3);
  });

  it('DoubleConvNet batch 10: the second convolution also has its input gradient', () => {
    const names = gemmShapes(unwrap(doubleConvNet()), 10).map((g) => g.what);
    expect(names).toContain('conv2 dx');
    expect(names).not.toContain('conv1 dx');
  });

  it('examples/resnet.json batch 4: every convolution inside the blocks and shortcuts, named by its path; only the stem has no dx', () => {
    const net = networkFromSpec(JSON.parse(readFileSync(new URL('../../../examples/resnet.json', import.meta.url), 'utf8')), 'resnet.json');
    const shapes = gemmShapes(net, 4);
    const forward = shapes.filter((g) => g.what.endsWith(' forward')).map((g) => g.what.replace(/ forward$/, ''));
    // stem, 6 blocks of 2, 2 projection shortcuts, the classifier
    expect(forward).toHaveLength(1 + 12 + 2 + 1);
    expect(forward.slice(0, 3)).toEqual(['conv1', 'res1.conv1', 'res1.conv2']);
    expect(forward).toContain('res3.shortcut.conv1');
    expect(shapes.filter((g) => g.what.endsWith(' dx')).map((g) => g.what)).not.toContain('conv1 dx');
    expect(shapes.find((g) => g.what === 'res3.shortcut.conv1 forward')).toEqual({ what: 'res3.shortcut.conv1 forward', m: 4 * 14 * 14, k: 16, n: 32 });
    expect(shapes.find((g) => g.what === 'affine1 forward')).toEqual({ what: 'affine1 forward', m: 4, k: 64, n: 10 });
  });

  it('as training does, no input gradient for a convolution behind param-less nodes only; one for a convolution behind a convolution', () => {
    const net = unwrap(network([1, 6, 6], [relu(), conv2d({ filters: 2, size: 3 }), relu(), conv2d({ filters: 2, size: 3 }), globalAvgPool2d(), affine(2)]));
    expect(gemmShapes(net, 2).map((g) => g.what).filter((w) => w.endsWith(' dx'))).toEqual(['conv2 dx', 'affine1 dx']);
  });

  it("each GEMM's 2*M*K*N is the batch times the op's forward FLOPs (flopsOf), and forwardFlops counts every op of SimpleConvNet", () => {
    const net = unwrap(network([3, 8, 8], [residual([conv2d({ filters: 4, size: 3, stride: 2, pad: 1 }), batchNorm()], { shortcut: [conv2d({ filters: 4, size: 1, stride: 2 })] }), globalAvgPool2d(), affine(5)]));
    const shapes = gemmShapes(net, 3);
    const { nodes } = net.graph;
    for (const node of nodes.filter((n) => n.op.type === 'conv2d' || n.op.type === 'affine')) {
      const inputs = node.inputs.map((i) => (i === GRAPH_INPUT ? net.inputShape : nodes[i].shape));
      for (const g of shapes.filter((s) => s.what.startsWith(`${node.name} `))) expect(2 * g.m * g.k * g.n, g.what).toBe(3 * flopsOf(node.op, inputs, node.shape));
    }
    // conv1 864000, relu1 17280, pool1 17280, affine1 864000, relu2 100, affine2 2000
    expect(forwardFlops(unwrap(simpleConvNet()))).toBe(1_764_660);
  });
});

describe('bench: the algorithm of each convolution pass', () => {
  it('examples/resnet.json: per layer, what a traced training step ran (stem direct without dx, stride 2 by GEMM and 1x1 direct over their pixels as one row, both with their input gradients by stride-2 phases, 3x3 blocks by Winograd)', () => {
    const net = networkFromSpec(JSON.parse(readFileSync(new URL('../../../examples/resnet.json', import.meta.url), 'utf8')), 'resnet.json');
    const opt = adam({ lr: 0.001 });
    const state = initTrainState(net, opt, key(0));
    const batch = benchInputs('random', net, 2, 1, 2).batches[0];
    if (batch === undefined) throw new Error('one batch');
    const rows = convAlgorithmsOf(net, traceConvPaths(() => trainStep(net, opt)(state, batch)).paths);
    expect(rows.map((r) => r.layer)).toEqual(gemmShapes(net, 2).filter((g) => g.what.endsWith(' forward') && !g.what.startsWith('affine')).map((g) => g.what.replace(/ forward$/, '')));
    const at = (layer: string) => rows.find((r) => r.layer === layer);
    expect(at('conv1')).toMatchObject({ input: [1, 28, 28], filters: [16, 1, 3, 3], output: [16, 28, 28], forward: 'direct', input_gradient: '-', filter_gradient: 'GEMM' });
    expect(at('res3.conv1')).toMatchObject({ output: [32, 14, 14], forward: 'packed GEMM', input_gradient: 'stride-2 phases', filter_gradient: 'GEMM' });
    expect(at('res3.shortcut.conv1')).toMatchObject({ filters: [32, 16, 1, 1], forward: 'direct 1x1', input_gradient: 'stride-2 phases', filter_gradient: 'GEMM' });
    for (const r of rows.filter((r) => r.filters[2] === 3 && r.layer !== 'conv1' && r.output[1] === r.input[1])) {
      expect(r.forward, r.layer).toMatch(/^Winograd F\((2x2|4x4),3x3\)$/);
      expect(r.input_gradient, r.layer).toMatch(/^Winograd /);
    }
  });
});

describe('bench: what the steps run on', () => {
  it('--data mnist: consecutive MNIST training batches with their labels, the test images for evaluation', () => {
    const net = unwrap(simpleConvNet());
    const { batches, evalX } = benchInputs('mnist', net, 10, 3, 20);
    const mnist = loadMnist({ trainSize: 30, testSize: 20 });
    if (mnist._tag === 'Left') throw mnist.left;
    expect(batches).toHaveLength(3);
    batches.forEach((b, i) => {
      expect(b.x.shape).toEqual([10, 1, 28, 28]);
      expect(Array.from(b.x.data)).toEqual(Array.from(mnist.right.train.images.data).slice(i * 7840, (i + 1) * 7840));
      expect(Array.from(b.targets)).toEqual(Array.from(mnist.right.train.labels.subarray(i * 10, (i + 1) * 10)));
    });
    expect(Array.from(evalX.data)).toEqual(Array.from(mnist.right.test.images.data));
    // MNIST has the zeros the data-dependent fast paths skip; the random batch has none
    expect(Array.from(batches[0]?.x.data ?? []).filter((v) => v === 0).length).toBeGreaterThan(5000);
  });

  it('--data random: one fixed batch of noise for every step, as the earlier figures were measured', () => {
    const { batches, evalX } = benchInputs('random', unwrap(simpleConvNet()), 10, 3, 20);
    expect(batches[1]?.x).toBe(batches[0]?.x);
    expect(batches[2]?.targets).toBe(batches[0]?.targets);
    expect(batches[2]?.x.shape).toEqual([10, 1, 28, 28]);
    expect(evalX.shape).toEqual([20, 1, 28, 28]);
    expect(Array.from(batches[0]?.x.data ?? []).some((v) => v === 0)).toBe(false);
  });
});

describe('eval and predict output', () => {
  it('confusion table 2x2 with a header of predicted classes', () => {
    expect(formatConfusion([[5, 1], [0, 4]])).toBe('true\\pred   0   1\n        0   5   1\n        1   0   4');
  });

  it('probabilities: ten lines, the predicted one marked, bars of 30 per unit', () => {
    const lines = formatProbabilities([0.1, 0.9], 1).split('\n');
    expect(lines).toEqual(['   0  0.1000  ███', '>  1  0.9000  ' + '█'.repeat(27)]);
  });
});

describe('predictions for the report', () => {
  it('argmax takes the first maximum on ties', () => {
    expect(argmaxAt([0, 3, 3, 1], 0, 4)).toBe(1);
    expect(argmaxAt([9, 9, 0.2, 0.7], 2, 2)).toBe(1);
  });

  it('misclassified: 3 images of 2x2, labels [0,1,0], predictions [0,0,1]: images 1 and 2, limit 1 shows one of two', () => {
    const x = fromData([3, 1, 2, 2], new Float32Array([0, 0, 0, 0, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]));
    const probs = new Float64Array([0.9, 0.1, 0.7, 0.3, 0.4, 0.6]);
    const r = misclassifiedOf({ probs, classes: 2 }, x, new Int32Array([0, 1, 0]), 1);
    expect(r.total).toBe(2);
    expect(r.shown).toEqual([{ index: 1, image: { width: 2, height: 2, pixels: [1, 1, 1, 1] }, trueLabel: 1, predicted: 0, probability: 0.7 }]);
  });

  it('misclassified RGB images [N,3,H,W] keep their three planes, and the gallery draws them in colour', () => {
    // one 1x2 image: a red pixel and a blue one
    const x = fromData([1, 3, 1, 2], new Float32Array([1, 0, 0, 0, 0, 1]));
    const r = misclassifiedOf({ probs: new Float64Array([0.2, 0.8]), classes: 2 }, x, new Int32Array([0]), 5);
    expect(r.shown[0]?.image).toEqual({ width: 2, height: 1, planes: [1, 0, 0, 0, 0, 1] });
    const html = misclassifiedGallery(r.shown, ['a', 'b']);
    const png = PNG.sync.read(Buffer.from(/src="data:image\/png;base64,([^"]+)"/.exec(html)?.[1] ?? '', 'base64'));
    // scaled 2x: pixel (0, 0) red, pixel (2, 0) blue
    expect(Array.from(png.data.subarray(0, 4))).toEqual([255, 0, 0, 255]);
    expect(Array.from(png.data.subarray(8, 12))).toEqual([0, 0, 255, 255]);
  });

  it("the first convolution's filters of SimpleConvNet are conv1.W [30,1,5,5]", () => {
    const net = unwrap(simpleConvNet());
    const { params } = net.init(key(0));
    const f = firstConvFilters(net, params);
    expect(f?.layerName).toBe('conv1');
    expect(f?.shape).toEqual([30, 1, 5, 5]);
  });

  it("a network that opens with a residual block: the first convolution is the block's, res1.conv1.W [4,2,3,3]", () => {
    const net = unwrap(network([2, 6, 6], [residual([conv2d({ filters: 4, size: 3, pad: 1 })], { shortcut: [conv2d({ filters: 4, size: 1 })] }), globalAvgPool2d(), affine(3)]));
    const { params } = net.init(key(0));
    const f = firstConvFilters(net, params);
    expect(f?.layerName).toBe('res1.conv1');
    expect(f?.shape).toEqual([4, 2, 3, 3]);
    expect(Array.from(f?.data ?? [])).toEqual(Array.from(params['res1.conv1.W']?.data ?? []));
  });

  it('a network without a convolution has no filter picture', () => {
    const net = unwrap(network([4], [affine(3)]));
    expect(firstConvFilters(net, net.init(key(0)).params)).toBeNull();
  });
});
