import { isLeft } from 'fp-ts/lib/Either.js';
import {
  flopsOf, fromData, getThreads, paramShapesOf, key, kernels, matmul, normal, randomIndices, setBackend, setThreads, sizeOf, sliceRows, split, traceConvPaths,
  type ConvPath, type Shape, type Tensor,
} from '@foldnet/core';
import { GRAPH_INPUT, predict, type Network } from '@foldnet/layers';
import { adam, initTrainState, loadMnist, trainStep } from '@foldnet/train';
import { benchBackendChoices, benchDataChoices } from '../config.js';
import { optBoolean, optNumber, optOneOf, optString } from '../flags.js';
import type { Io } from '../io.js';
import { loadModel } from '../models.js';
import { memoryLimit, refuseTrainingOverMemory } from './common.js';

/*
 * `foldnet bench`: a benchmark, not a test. Times training steps (forward + backward + Adam) on a
 * fixed random batch (or on MNIST's first training batches, `--data mnist`), evaluation throughput,
 * and the network's own GEMM shapes, for one kernel set or both side by side (one process, one run,
 * so the ratio is fair). Some fast paths depend on the data (a convolution skips tiles of zero
 * pixels, the first layer's filter gradient is computed from the nonzero pooled gradients), so
 * random normal data, which has no zeros, is their worst case and MNIST their real one.
 */

type BenchData = (typeof benchDataChoices)[number];

/** Training batches (one per warm-up and measured step) and evaluation images. */
interface BenchInputs {
  readonly batches: readonly { readonly x: Tensor; readonly targets: Int32Array }[];
  readonly evalX: Tensor;
}

/**
 * `count` training batches and `evalImages` evaluation images: one fixed random batch repeated, or MNIST's first
 * training batches in order and its first test images.
 *
 * @example benchInputs('mnist', net, 100, 33, 500).batches[1].x.shape // [100, 1, 28, 28]
 */
export const benchInputs = (data: BenchData, network: Network, batch: number, count: number, evalImages: number): BenchInputs => {
  const [kx, ky] = split(key(2), 2);
  if (data === 'random') {
    // one fixed batch, as every earlier figure was measured
    const x = normal(kx, [batch, ...network.inputShape]);
    const targets = randomIndices(ky, network.outputShape[network.outputShape.length - 1] ?? 10, batch);
    return { batches: Array.from({ length: count }, () => ({ x, targets })), evalX: normal(kx, [evalImages, ...network.inputShape]) };
  }
  const r = loadMnist({ trainSize: batch * count, testSize: evalImages });
  if (isLeft(r)) throw r.left;
  const { train, test } = r.right;
  const batches = Array.from({ length: count }, (_, i) => ({ x: sliceRows(train.images, i * batch, (i + 1) * batch), targets: train.labels.subarray(i * batch, (i + 1) * batch) }));
  return { batches, evalX: test.images };
};

/** A GEMM C[M,N] = op(A)[M,K] op(B)[K,N] that a training step runs. */
export interface GemmShape {
  readonly what: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

/**
 * The GEMMs of one training step of `network` at batch `batch`, one per pass of each conv2d and affine node of
 * its graph (nodes inside residual, parallel and graph layers too), from the ops and the graph's shapes:
 * conv2d (im2col) x [C, H, W] -> [F, OH, OW]: M = batch*OH*OW, K = C*size*size, N = F for the forward pass,
 * the filter gradient and the input gradient; affine [D] -> [U]: M = batch, K = D, N = U likewise. The input
 * gradient only where training computes it: not for a node fed by the network's input, or by nodes without
 * params that are (the first convolution behind a ReLU). Each GEMM's 2*M*K*N is batch * flopsOf(op): the
 * forward FLOPs the op's own rule counts.
 *
 * @example
 * gemmShapes(net, 100).reduce((f, g) => f + 2 * g.m * g.k * g.n, 0); // ~0.43e9 for SimpleConvNet
 */
export const gemmShapes = (network: Network, batch: number): GemmShape[] => {
  const { nodes } = network.graph;
  const shapeOf = (i: number): Shape => (i === GRAPH_INPUT ? network.inputShape : (nodes[i]?.shape ?? []));
  // As the graph's pullback decides (layers' graph/run.ts): a node's input gradient is computed when one of its
  // inputs is a node with params or lies above one; a layer of one's own is taken to have params.
  const feedsParams: boolean[] = [];
  const needDx = nodes.map((node, i) => {
    const need = node.inputs.some((j) => j !== GRAPH_INPUT && feedsParams[j] === true);
    const params = paramShapesOf(node.op, shapeOf(node.inputs[0] ?? GRAPH_INPUT));
    feedsParams[i] = need || params === undefined || Object.keys(params.params).length > 0;
    return need;
  });
  return nodes.flatMap((node, i): GemmShape[] => {
    const inShape = shapeOf(node.inputs[0] ?? GRAPH_INPUT);
    const passes = (m: number, k: number, n: number): GemmShape[] => [
      { what: `${node.name} forward`, m, k, n },
      { what: `${node.name} dW`, m: k, k: m, n },
      ...(needDx[i] === true ? [{ what: `${node.name} dx`, m, k: n, n: k }] : []),
    ];
    const { op } = node;
    if (op.type === 'conv2d') {
      const [, oh = 0, ow = 0] = node.shape;
      return passes(batch * oh * ow, (inShape[0] ?? 0) * op.size * op.size, op.filters);
    }
    if (op.type === 'affine') return passes(batch, sizeOf(inShape), op.units);
    return [];
  });
};

/**
 * FLOPs of one sample's forward pass through every node of the graph (flopsOf of each op: convolutions and
 * affine maps as 2 per multiply-add, element-wise ops one per output; a layer of one's own counts 0).
 *
 * @example forwardFlops(unwrap(simpleConvNet())) // 1764660: conv1 864000, relu1 17280, pool1 17280, affine1 864000, relu2 100, affine2 2000
 */
export const forwardFlops = (network: Network): number => {
  const { nodes } = network.graph;
  const shapeOf = (i: number): Shape => (i === GRAPH_INPUT ? network.inputShape : (nodes[i]?.shape ?? []));
  return nodes.reduce((f, node) => f + flopsOf(node.op, node.inputs.map(shapeOf), node.shape), 0);
};

/** The algorithms one convolution layer's passes took in a training step ('-': the pass did not run). */
export interface ConvAlgorithms {
  readonly layer: string;
  /** The layer's input [C, H, W], filters [F, C, FH, FW] and output [F, OH, OW]. */
  readonly input: Shape;
  readonly filters: Shape;
  readonly output: Shape;
  readonly forward: string;
  readonly input_gradient: string;
  readonly filter_gradient: string;
}

/**
 * Each conv2d node of the graph with the algorithms the kernels took for its passes, from the choices traced while a
 * step ran (traceConvPaths). The kernels choose by shape, so a node's passes are the traced calls of its shapes; two
 * algorithms for one pass (shapes shared by layers the kernels reached by different routes) are both named.
 *
 * @example convAlgorithmsOf(net, traceConvPaths(() => step(state, batch)).paths)[0].forward // 'direct'
 */
export const convAlgorithmsOf = (network: Network, paths: readonly ConvPath[]): ConvAlgorithms[] => {
  const { nodes } = network.graph;
  const shapeOf = (i: number): Shape => (i === GRAPH_INPUT ? network.inputShape : (nodes[i]?.shape ?? []));
  const same = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  return nodes.flatMap((node): ConvAlgorithms[] => {
    const { op } = node;
    if (op.type !== 'conv2d') return [];
    const input = shapeOf(node.inputs[0] ?? GRAPH_INPUT);
    const filters = [op.filters, input[0] ?? 0, op.size, op.size];
    const mine = paths.filter((p) => same(p.x.slice(1), input) && same(p.filters, filters));
    const of = (pass: ConvPath['pass']): string => [...new Set(mine.filter((p) => p.pass === pass).map((p) => p.algorithm))].join(' / ') || '-';
    return [{ layer: node.name, input, filters, output: node.shape, forward: of('forward'), input_gradient: of('input gradient'), filter_gradient: of('filter gradient') }];
  });
};

/** One measured configuration, as `--json` prints it. */
export interface BenchResult {
  readonly model: string;
  readonly backend: string;
  /** What the steps and the evaluation ran on: 'random' or 'mnist'. */
  readonly data: string;
  readonly threads: number;
  readonly batch: number;
  readonly steps: number;
  readonly ms_per_step_median: number;
  readonly ms_per_step_min: number;
  readonly ms_per_step_max: number;
  readonly eval_images_per_s: number;
  readonly gemm_gflop_per_s: number;
  readonly step_gflop: number;
  /** One image's forward pass through every op (flopsOf), in MFLOP. */
  readonly forward_mflop_per_image: number;
  readonly peak_rss_mb: number;
  /** Per convolution layer, the algorithm of each pass (the fast kernels; empty for the reference). */
  readonly conv_algorithms: readonly ConvAlgorithms[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const nowMs = (): number => performance.now();

/** Timed evaluation passes per configuration; the median is reported. */
const EVAL_PASSES = 5;

const measure = (model: string, network: Network, backend: string, batch: number, steps: number, warmup: number, data: BenchData): BenchResult => {
  setBackend(backend);
  const [kInit, kx] = split(key(1), 3);
  // evaluation: forward passes in eval mode over batches of 100, the median of five timed passes after one untimed
  const evalImages = Math.max(batch, 500);
  const { batches, evalX } = benchInputs(data, network, batch, warmup + steps, evalImages);
  const opt = adam({ lr: 0.001 });
  const step = trainStep(network, opt, { kernels: kernels(backend) });
  let state = initTrainState(network, opt, kInit);
  // the first step traced: which algorithm each convolution's passes took (a record per call, nothing timed)
  const traced = traceConvPaths(() => step(state, batches[0]!));
  const convAlgorithms = backend === 'reference' ? [] : convAlgorithmsOf(network, traced.paths);
  for (let i = 0; i < warmup; i++) state = step(state, batches[i] ?? batches[0]!);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const input = batches[warmup + i] ?? batches[0]!;
    const t0 = nowMs();
    state = step(state, input);
    times.push(nowMs() - t0);
  }
  const evalPass = (): number => {
    const e0 = nowMs();
    predict(network, state.params, state.layerState, evalX, { batchSize: 100, kernels: kernels(backend) });
    return (nowMs() - e0) / 1000;
  };
  evalPass();
  const evalSeconds = median(Array.from({ length: EVAL_PASSES }, evalPass));
  // the network's GEMM shapes, each timed on its own (best of 3). The operands are views of one pool of normal
  // samples, drawn once: drawing each shape's own took most of the command's time on resnet (~50 shapes, up to
  // 11M floats each), and a product's time does not depend on which samples it reads.
  const shapes = gemmShapes(network, batch);
  const flops = shapes.reduce((f, g) => f + 2 * g.m * g.k * g.n, 0);
  const samples = normal(kx, [Math.max(1, ...shapes.map((g) => g.k * Math.max(g.m, g.n)))]).data as Float32Array;
  let gemmSeconds = 0;
  for (const g of shapes) {
    const a = fromData([g.m, g.k], samples.subarray(0, g.m * g.k));
    const b = fromData([g.k, g.n], samples.subarray(samples.length - g.k * g.n));
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = nowMs();
      matmul(a, b, { kernels: kernels(backend) });
      best = Math.min(best, nowMs() - t0);
    }
    gemmSeconds += best / 1000;
  }
  return {
    model,
    backend,
    data,
    threads: backend === 'reference' ? 1 : getThreads(),
    batch,
    steps,
    ms_per_step_median: median(times),
    ms_per_step_min: Math.min(...times),
    ms_per_step_max: Math.max(...times),
    eval_images_per_s: evalImages / evalSeconds,
    gemm_gflop_per_s: flops / gemmSeconds / 1e9,
    step_gflop: flops / 1e9,
    forward_mflop_per_image: forwardFlops(network) / 1e6,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    conv_algorithms: convAlgorithms,
  };
};

const row = (cells: readonly string[], widths: readonly number[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');

/**
 * `foldnet bench [--model simple|double|deep|spec.json] [--batch-size 100] [--steps 30] [--warmup 3] [--threads N]
 * [--backend fast|reference|both] [--data random|mnist] [--json]`.
 *
 * @example
 * await benchCommand({ backend: 'both', steps: 10 }, nodeIo());
 */
export const benchCommand = async (opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const model = optString(opts, 'model') ?? 'simple';
  const batch = optNumber(opts, 'batchSize') ?? 100;
  const steps = optNumber(opts, 'steps') ?? 30;
  const warmup = optNumber(opts, 'warmup') ?? 3;
  const threads = optNumber(opts, 'threads');
  if (threads !== undefined) setThreads(threads);
  const which = optOneOf(opts, 'backend', benchBackendChoices) ?? 'fast';
  const backends = which === 'both' ? ['reference', 'fast'] : [which];
  const { network, name } = loadModel(model, io.cwd);
  const data = optOneOf(opts, 'data', benchDataChoices) ?? 'random';
  // what benchInputs holds: the batches (one, or --data mnist's, one per step) and the evaluation images
  const evalImages = Math.max(batch, 500);
  refuseTrainingOverMemory(network, name, batch, 'adam', (data === 'mnist' ? batch * (warmup + steps) : batch) + evalImages, memoryLimit(io.env));
  const results = backends.map((b) => measure(name, network, b, batch, steps, warmup, data));
  if (optBoolean(opts, 'json') === true) {
    io.out(results.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return;
  }
  const header = ['model', 'backend', 'threads', 'batch', 'ms/step med', 'min', 'max', 'eval img/s', 'GEMM GFLOP/s', 'peak RSS MB'];
  const lines = results.map((r) => [
    r.model,
    r.backend,
    String(r.threads),
    String(r.batch),
    r.ms_per_step_median.toFixed(1),
    r.ms_per_step_min.toFixed(1),
    r.ms_per_step_max.toFixed(1),
    r.eval_images_per_s.toFixed(0),
    r.gemm_gflop_per_s.toFixed(2),
    r.peak_rss_mb.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const first = results[0];
  io.out(
    `${steps} steps after ${warmup} warm-up, batch ${batch}, ${data === 'mnist' ? "MNIST's first training batches" : 'a fixed random batch'}; the step's GEMMs are ${(first?.step_gflop ?? 0).toFixed(3)} GFLOP, a forward pass ${(first?.forward_mflop_per_image ?? 0).toFixed(2)} MFLOP per image\n` +
      `${[row(header, widths), ...lines.map((l) => row(l, widths))].join('\n')}\n`,
  );
  const convs = results.find((r) => r.conv_algorithms.length > 0)?.conv_algorithms ?? [];
  if (convs.length > 0) {
    const head = ['layer', 'input', 'filters', 'output', 'forward', 'input gradient', 'filter gradient'];
    const cells = convs.map((c) => [c.layer, c.input.join('x'), c.filters.join('x'), c.output.join('x'), c.forward, c.input_gradient, c.filter_gradient]);
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((l) => (l[i] ?? '').length)));
    const line = (l: readonly string[]): string => l.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ').trimEnd();
    io.out(`convolutions: the algorithm of each pass in a training step (fast kernels)\n${[line(head), ...cells.map(line)].join('\n')}\n`);
  }
  const ref = results.find((r) => r.backend === 'reference');
  const fast = results.find((r) => r.backend === 'fast');
  if (ref !== undefined && fast !== undefined) {
    io.out(`fast vs reference: ${(ref.ms_per_step_median / fast.ms_per_step_median).toFixed(1)}x per step, ${(fast.eval_images_per_s / ref.eval_images_per_s).toFixed(1)}x evaluation\n`);
  }
};
