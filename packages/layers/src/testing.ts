/**
 * @foldnet/layers/testing: fast-check arbitraries of layers with random hyper-parameters, and
 * ready properties (gradients vs finite differences, declared shape = forward shape, purity) for
 * foldnet's own tests and for users' vitest suites.
 *
 * @example
 * import fc from 'fast-check';
 * import { gradientProperty, arbLayerCase } from '@foldnet/layers/testing';
 * fc.assert(gradientProperty(myLayer, [3, 8, 8]), { seed: 42, numRuns: 20 });
 * fc.assert(gradientProperty(arbLayerCase()), { seed: 42, numRuns: 50 });
 */
import { fromData, key, normal, permutation, sameShape, sizeOf, formatShape, type Shape, type Tensor } from '@foldnet/core';
import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import { affine } from './affine.js';
import { relu, sigmoid, tanh } from './activations.js';
import { batchNorm } from './batchnorm.js';
import { conv2d } from './conv.js';
import { dropout } from './dropout.js';
import { flatten } from './flatten.js';
import { checkGradients, formatGradCheckReport, type GradCheckOptions } from './gradcheck.js';
import type { WeightInit } from './init.js';
import { avgPool2d, globalAvgPool2d, maxPool2d } from './pool.js';
import { doubleConvNet, simpleConvNet } from './presets.js';
import { network } from './network.js';
import { graph, parallel, residual, sequential } from './combinators.js';
import type { Layer, Network } from './types.js';

/** A layer (or network) with an input shape it accepts, and optionally the input to check at. */
export interface LayerCase {
  readonly target: Layer | Network;
  /** Per-sample input shape. */
  readonly inputShape: Shape;
  /** A float64 input [N, ...inputShape]; when absent the check draws a standard normal one. */
  readonly input?: Tensor;
  /** Smallest batch the case makes sense for (batch norm on [D] needs 2). */
  readonly minBatch?: number;
  /** Check options the case needs (networks: a param jitter off ReLU kinks); the caller's win. */
  readonly options?: GradCheckOptions;
  /** Names the case in failures: `conv2d x=[C,H,W]=[2,5,5] filters=3 size=3 stride=2 pad=1`. */
  readonly label: string;
}

const dim = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
const arbWeightInit: fc.Arbitrary<WeightInit> = fc.constantFrom<WeightInit>(0.5, 1, 'he', 'xavier', 'glorot');

// A float64 batch of distinct values spaced 0.1 apart, shuffled: max pooling then has no ties
// and no near-ties within a finite-difference step.
const distinctInput = (seed: number, shape: Shape): Tensor => {
  const n = sizeOf(shape);
  const perm = permutation(key(seed), n);
  return fromData(shape, Float64Array.from(perm, (p) => (p - n / 2) * 0.1));
};

// A float64 normal batch pushed at least 0.05 away from 0, where ReLU has its kink.
const awayFromZero = (seed: number, shape: Shape): Tensor => {
  const x = normal(key(seed), shape, { dtype: 'float64' });
  return fromData(shape, Float64Array.from(x.data, (v) => v + (v >= 0 ? 0.05 : -0.05)));
};

/** Convolutions: C 1-2, 1-3 filters of size 1-3, stride 1-2, pad 0-2, H and W up to 6. @example fc.assert(gradientProperty(arbConv2dCase()), { seed: 42 }) */
export const arbConv2dCase = (): fc.Arbitrary<LayerCase> =>
  fc
    .record({ c: dim(1, 2), filters: dim(1, 3), size: dim(1, 3), stride: dim(1, 2), pad: dim(0, 2), weightInit: arbWeightInit })
    .chain((p) =>
      fc.record({ h: dim(Math.max(1, p.size - 2 * p.pad), 6), w: dim(Math.max(1, p.size - 2 * p.pad), 6) }).map(({ h, w }) => ({
        target: conv2d({ filters: p.filters, size: p.size, stride: p.stride, pad: p.pad, weightInit: p.weightInit }),
        inputShape: [p.c, h, w],
        label: `conv2d x=[C,H,W]=[${p.c},${h},${w}] filters=${p.filters} size=${p.size} stride=${p.stride} pad=${p.pad}`,
      })),
    );

/** Max or average pooling: size 1-3, stride 1-3, pad 0-size/2, C 1-2, H and W up to 6; max pooling gets inputs without ties. @example arbPoolCase('maxPool2d') */
export const arbPoolCase = (kind: 'maxPool2d' | 'avgPool2d'): fc.Arbitrary<LayerCase> =>
  fc
    .record({ c: dim(1, 2), size: dim(1, 3), stride: dim(1, 3), seed: fc.integer(), n: dim(1, 3) })
    .chain((p) => fc.record({ pad: dim(0, Math.floor(p.size / 2)) }).map(({ pad }) => ({ ...p, pad })))
    .chain((p) =>
      fc.record({ h: dim(Math.max(1, p.size - 2 * p.pad), 6), w: dim(Math.max(1, p.size - 2 * p.pad), 6) }).map(({ h, w }) => {
        const opts = { size: p.size, stride: p.stride, pad: p.pad };
        const inputShape = [p.c, h, w];
        return {
          target: kind === 'maxPool2d' ? maxPool2d(opts) : avgPool2d(opts),
          inputShape,
          input: kind === 'maxPool2d' ? distinctInput(p.seed, [p.n, ...inputShape]) : undefined,
          label: `${kind} x=[C,H,W]=[${p.c},${h},${w}] size=${p.size} stride=${p.stride} pad=${p.pad}`,
        };
      }),
    );

const arbSampleShape: fc.Arbitrary<Shape> = fc.oneof(
  fc.tuple(dim(1, 6)).map((s): Shape => s),
  fc.tuple(dim(1, 2), dim(1, 3), dim(1, 3)).map((s): Shape => s),
);

/** Dense layers on [D] or [C, H, W] samples, 1-4 units. @example fc.sample(arbAffineCase(), 3) */
export const arbAffineCase = (): fc.Arbitrary<LayerCase> =>
  fc.record({ s: arbSampleShape, units: dim(1, 4), weightInit: arbWeightInit }).map(({ s, units, weightInit }) => ({
    target: affine({ units, weightInit }),
    inputShape: s,
    label: `affine x=${formatShape(s)} units=${units} weightInit=${weightInit}`,
  }));

/** ReLU (inputs kept 0.05 away from its kink), sigmoid, tanh and flatten on small shapes. @example arbElementwiseCase() */
export const arbElementwiseCase = (): fc.Arbitrary<LayerCase> =>
  fc.record({ kind: fc.constantFrom('relu', 'sigmoid', 'tanh', 'flatten'), s: arbSampleShape, seed: fc.integer(), n: dim(1, 3) }).map(({ kind, s, seed, n }) => ({
    target: kind === 'relu' ? relu() : kind === 'sigmoid' ? sigmoid() : kind === 'tanh' ? tanh() : flatten(),
    inputShape: s,
    input: kind === 'relu' ? awayFromZero(seed, [n, ...s]) : undefined,
    label: `${kind} x=${formatShape(s)}`,
  }));

/** Dropout with rate 0-0.9 (train mode uses the check's fixed key, so the mask is fixed). @example arbDropoutCase() */
export const arbDropoutCase = (): fc.Arbitrary<LayerCase> =>
  fc.record({ rate: fc.constantFrom(0, 0.1, 0.5, 0.9), s: arbSampleShape }).map(({ rate, s }) => ({
    target: dropout({ rate }),
    inputShape: s,
    label: `dropout x=${formatShape(s)} rate=${rate}`,
  }));

/** Batch norm after a dense layer ([D]) or a convolution ([C, H, W]); batch of at least 2. @example arbBatchNormCase() */
export const arbBatchNormCase = (): fc.Arbitrary<LayerCase> =>
  fc.record({ s: arbSampleShape, momentum: fc.constantFrom(0, 0.9), eps: fc.constantFrom(1e-5, 1e-3) }).map(({ s, momentum, eps }) => ({
    target: batchNorm({ momentum, eps }),
    inputShape: s,
    minBatch: 2,
    label: `batchNorm x=${formatShape(s)} momentum=${momentum} eps=${eps}`,
  }));

/** Any of the layers above. @example fc.assert(shapeProperty(arbLayerCase()), { seed: 1 }) */
export const arbLayerCase = (): fc.Arbitrary<LayerCase> =>
  fc.oneof(arbConv2dCase(), arbPoolCase('maxPool2d'), arbPoolCase('avgPool2d'), arbAffineCase(), arbElementwiseCase(), arbDropoutCase(), arbBatchNormCase());

const unwrapCase = (label: string, inputShape: Shape, e: ReturnType<typeof simpleConvNet>): LayerCase => {
  if (isLeft(e)) throw new Error(`${label}: ${e.left.message}`);
  return { target: e.right, inputShape, label, options: { jitter: 0.1 } };
};

/** @example fc.assert(gradientProperty(arbSimpleConvNetCase()), { seed: 42, numRuns: 5 })
 * Small SimpleConvNets: input [1-2, 6-9, 6-9], conv 1-3 filters of 1-3 with stride 1-2, pad 0-1, hidden 2-6, 2-4 classes, He init. */
export const arbSimpleConvNetCase = (): fc.Arbitrary<LayerCase> =>
  fc
    .record({ c: dim(1, 2), hw: dim(6, 9), filterNum: dim(1, 3), filterSize: dim(1, 3), stride: dim(1, 2), pad: dim(0, 1), hidden: dim(2, 6), out: dim(2, 4) })
    .map((p) => {
      const inputDim = [p.c, p.hw, p.hw];
      return unwrapCase(
        `simpleConvNet input=${formatShape(inputDim)} conv=${p.filterNum}x${p.filterSize} stride=${p.stride} pad=${p.pad} hidden=${p.hidden} out=${p.out}`,
        inputDim,
        simpleConvNet({ inputDim, conv: { filterNum: p.filterNum, filterSize: p.filterSize, stride: p.stride, pad: p.pad }, hiddenSize: p.hidden, outputSize: p.out, weightInit: 'he' }),
      );
    });

/** @example arbDoubleConvNetCase()
 * Small DoubleConvNets: input [1, 8-10, 8-10], two convs of 1-3 filters (sizes 3 and 1-3, pad 1), hidden 2-5, He init. */
export const arbDoubleConvNetCase = (): fc.Arbitrary<LayerCase> =>
  fc.record({ hw: dim(8, 10), f1: dim(1, 3), f2: dim(1, 3), s2: dim(1, 3), hidden: dim(2, 5) }).map((p) => {
    const inputDim = [1, p.hw, p.hw];
    return unwrapCase(
      `doubleConvNet input=${formatShape(inputDim)} conv1=${p.f1}x3 conv2=${p.f2}x${p.s2} hidden=${p.hidden}`,
      inputDim,
      doubleConvNet({ inputDim, conv1: { filterNum: p.f1, filterSize: 3 }, conv2: { filterNum: p.f2, filterSize: p.s2 }, hiddenSize: p.hidden, outputSize: 3, weightInit: 'he' }),
    );
  });

// Duck-typed, so an arbitrary from another copy of fast-check in the user's tree is recognised too.
// One image-stage layer description for arbNetworkCase.
type Stage =
  | { readonly kind: 'conv2d'; readonly filters: number; readonly size: number; readonly stride: number; readonly pad: number }
  | { readonly kind: 'maxPool2d' | 'avgPool2d'; readonly size: number }
  | { readonly kind: 'relu' | 'tanh' | 'sigmoid' | 'batchNorm' | 'dropout' };

const arbStage: fc.Arbitrary<Stage> = fc.oneof(
  fc.record({ kind: fc.constant('conv2d' as const), filters: dim(1, 3), size: dim(1, 3), stride: dim(1, 2), pad: dim(0, 1) }),
  fc.record({ kind: fc.constantFrom('maxPool2d' as const, 'avgPool2d' as const), size: dim(1, 2) }),
  fc.record({ kind: fc.constantFrom('relu' as const, 'tanh' as const, 'sigmoid' as const, 'batchNorm' as const, 'dropout' as const) }),
);

const stageLayer = (s: Stage): Layer => {
  switch (s.kind) {
    case 'conv2d':
      return conv2d({ filters: s.filters, size: s.size, stride: s.stride, pad: s.pad, weightInit: 'he' });
    case 'maxPool2d':
      return maxPool2d({ size: s.size });
    case 'avgPool2d':
      return avgPool2d({ size: s.size });
    case 'relu':
      return relu();
    case 'tanh':
      return tanh();
    case 'sigmoid':
      return sigmoid();
    case 'batchNorm':
      return batchNorm();
    case 'dropout':
      return dropout({ rate: 0.3 });
  }
};

const describeStage = (s: Stage): string =>
  s.kind === 'conv2d' ? `conv${s.filters}x${s.size}/s${s.stride}p${s.pad}` : s.kind === 'maxPool2d' || s.kind === 'avgPool2d' ? `${s.kind}${s.size}` : s.kind;

/**
 * Random networks: input [1-2, 5-8, 5-8], up to five image stages (conv, pooling, activations,
 * batch norm, dropout; a stage the shape cannot take is dropped), the first two optionally
 * wrapped in a `sequential`, then affine(2-4) [- tanh - affine(2-3)]. Checked with a param jitter.
 *
 * @example fc.assert(gradientProperty(arbNetworkCase(), undefined, { maxElements: 8 }), { seed: 3, numRuns: 10 })
 */
export const arbNetworkCase = (): fc.Arbitrary<LayerCase> =>
  fc
    .record({
      c: dim(1, 2),
      h: dim(5, 8),
      w: dim(5, 8),
      stages: fc.array(arbStage, { minLength: 1, maxLength: 5 }),
      nest: fc.boolean(),
      units: dim(2, 4),
      twoDense: fc.boolean(),
    })
    .map((p) => {
      const inputShape: Shape = [p.c, p.h, p.w];
      // keep the stages whose input shape works, so every case composes
      const kept: Stage[] = [];
      let shape: Shape = inputShape;
      for (const st of p.stages) {
        const out = stageLayer(st).outputShape(shape);
        if (isLeft(out)) continue;
        kept.push(st);
        shape = out.right;
      }
      const image = kept.map(stageLayer);
      const front = p.nest && image.length >= 2 ? [sequential(image[0], image[1]), ...image.slice(2)] : image;
      const dense = p.twoDense ? [affine({ units: p.units, weightInit: 'he' }), tanh(), affine({ units: 3, weightInit: 'he' })] : [affine({ units: p.units, weightInit: 'he' })];
      const names = kept.map(describeStage);
      const stages = front.length < image.length ? [`seq(${names[0]} ${names[1]})`, ...names.slice(2)] : names;
      const label = `network x=${formatShape(inputShape)} ${stages.join(' ')} | affine${p.units}${p.twoDense ? ' tanh affine3' : ''}`;
      const net = network(inputShape, [...front, ...dense]);
      if (isLeft(net)) throw new Error(`${label}: ${net.left.message}`);
      return { target: net.right, inputShape, label, minBatch: 2, options: { jitter: 0.1 } };
    });

// One block of a generated graph: how it changes the channel count and the spatial size.
type GraphBlock = 'residual' | 'projection' | 'parallelAdd' | 'parallelConcat' | 'skipConcat';

const graphBlock = (b: GraphBlock, f: number): { readonly layer: Layer; readonly channels: number } => {
  const conv = (filters: number, size: number, o: { stride?: number; pad?: number } = {}) => conv2d({ filters, size, weightInit: 'he', ...o });
  switch (b) {
    case 'residual':
      return { layer: residual([conv(f, 3, { pad: 1 }), batchNorm(), tanh(), conv(f, 3, { pad: 1 })]), channels: f };
    case 'projection':
      return { layer: residual([conv(f + 1, 3, { stride: 2, pad: 1 }), tanh()], { shortcut: [conv(f + 1, 1, { stride: 2 })] }), channels: f + 1 };
    case 'parallelAdd':
      return { layer: parallel([[conv(f, 3, { pad: 1 }), sigmoid()], [conv(f, 1)]], { merge: 'add' }), channels: f };
    case 'parallelConcat':
      return { layer: parallel([[conv(1, 3, { pad: 1 }), tanh()], [avgPool2d({ size: 3, stride: 1, pad: 1 })]], { merge: 'concat' }), channels: f + 1 };
    case 'skipConcat':
      return { layer: graph((x, g) => g.concat(x.then(conv(f, 3, { pad: 1 })).then(tanh()), x)), channels: 2 * f };
  }
};

/**
 * Random networks with branches and merges: input [1-2, 4-6, 4-6], a 3x3 stem convolution, one to three
 * blocks (an identity residual block with batch norm, a projection residual block of stride 2, parallel
 * branches merged by add or concat, a graph concatenating its input with a later value), then global average
 * pooling or a dense layer, and affine(3). Smooth activations only, so finite differences have no kinks.
 *
 * @example fc.assert(gradientProperty(arbGraphCase(), undefined, { maxElements: 8 }), { seed: 3, numRuns: 10 })
 */
export const arbGraphCase = (): fc.Arbitrary<LayerCase> =>
  fc
    .record({
      c: dim(1, 2),
      hw: dim(4, 6),
      f: dim(1, 3),
      blocks: fc.array(fc.constantFrom<GraphBlock>('residual', 'projection', 'parallelAdd', 'parallelConcat', 'skipConcat'), { minLength: 1, maxLength: 3 }),
      gap: fc.boolean(),
    })
    .map((p) => {
      const inputShape: Shape = [p.c, p.hw, p.hw];
      const layers: Layer[] = [conv2d({ filters: p.f, size: 3, pad: 1, weightInit: 'he' }), tanh()];
      let channels = p.f;
      for (const b of p.blocks) {
        const made = graphBlock(b, channels);
        layers.push(made.layer);
        channels = made.channels;
      }
      layers.push(p.gap ? globalAvgPool2d() : flatten(), affine({ units: 3, weightInit: 'he' }));
      const label = `graph x=${formatShape(inputShape)} stem${p.f} ${p.blocks.join(' ')} ${p.gap ? 'gap' : 'flatten'} affine3`;
      const net = network(inputShape, layers);
      if (isLeft(net)) throw new Error(`${label}: ${net.left.message}`);
      return { target: net.right, inputShape, label, minBatch: 2 };
    });

const isArbitrary = (t: Layer | Network | fc.Arbitrary<LayerCase>): t is fc.Arbitrary<LayerCase> =>
  t instanceof fc.Arbitrary || ('generate' in t && typeof t.generate === 'function' && !('forward' in t));

const asCaseArb = (target: Layer | Network | fc.Arbitrary<LayerCase>, inputShape: Shape | undefined): fc.Arbitrary<LayerCase> => {
  if (isArbitrary(target)) return target;
  if ('layerShapes' in target) {
    const shape = inputShape ?? target.inputShape;
    return fc.constant({ target, inputShape: shape, label: `network x=${formatShape(shape)}` });
  }
  const label = target.name || target.kind;
  if (inputShape === undefined) throw new Error(`gradientProperty: give the input shape of layer '${label}'`);
  return fc.constant({ target, inputShape, label: `${label} x=${formatShape(inputShape)}` });
};

/**
 * A fast-check property: for every generated case (or for the given layer/network at random
 * params, inputs and batch sizes 1-3), in train and eval mode, analytic gradients of every param
 * and the input agree with central differences in float64 (checkGradients). A failure throws the
 * case's label and the full report.
 *
 * @example
 * fc.assert(gradientProperty(conv2d({ filters: 4, size: 3, pad: 1 }), [2, 6, 6]), { seed: 42, numRuns: 10 });
 * fc.assert(gradientProperty(arbConv2dCase()), { seed: 42, numRuns: 30 });
 */
export const gradientProperty = (
  target: Layer | Network | fc.Arbitrary<LayerCase>,
  inputShape?: Shape,
  options: GradCheckOptions = {},
): fc.IPropertyWithHooks<[LayerCase, number, number, 'train' | 'eval']> =>
  fc.property(
    asCaseArb(target, inputShape),
    fc.integer(),
    dim(1, 3),
    options.mode ? fc.constant(options.mode) : fc.constantFrom<'train' | 'eval'>('train', 'eval'),
    (c, seed, batch, mode) => {
      const report = checkGradients(c.target, c.inputShape, {
        ...c.options,
        ...options,
        key: key(seed),
        batch: Math.max(batch, c.minBatch ?? 1),
        mode,
        input: options.input ?? c.input,
      });
      if (!report.ok) throw new Error(`${c.label} (${mode}, seed ${seed})\n${formatGradCheckReport(report)}`);
    },
  );

/**
 * A fast-check property: the per-sample shape a case's layer declares (outputShape) is the shape
 * its forward returns, and init's params have the shapes forward accepts.
 *
 * @example fc.assert(shapeProperty(arbLayerCase()), { seed: 1, numRuns: 50 });
 */
export const shapeProperty = (arb: fc.Arbitrary<LayerCase>): fc.IPropertyWithHooks<[LayerCase, number, number]> =>
  fc.property(arb, fc.integer(), dim(1, 3), (c, seed, n) => {
    const [declared, x, params, state] = prepare(c, seed, Math.max(n, c.minBatch ?? 1));
    const { y } = c.target.forward(params, state, x, { mode: 'train', key: key(seed) });
    if (!sameShape(y.shape, [x.shape[0], ...declared])) {
      throw new Error(`${c.label}: declared output [N,${declared.join(',')}] but forward returned ${formatShape(y.shape)}`);
    }
  });

// The declared shape, an input and the initial params/state of a case.
const prepare = (c: LayerCase, seed: number, n: number) => {
  const t = c.target;
  const declared = 'layerShapes' in t ? t.outputShape : (() => {
    const s = t.outputShape(c.inputShape);
    if (isLeft(s)) throw new Error(`${c.label}: outputShape refused ${formatShape(c.inputShape)}: ${s.left.expected}`);
    return s.right;
  })();
  const init = 'layerShapes' in t ? t.init(key(seed)) : t.init(key(seed), c.inputShape);
  const x = c.input ? fromData(c.input.shape, Float32Array.from(c.input.data)) : normal(key(seed + 1), [n, ...c.inputShape]);
  return [declared, x, init.params, init.state] as const;
};

// A copy of the bytes of every tensor, to compare after the call.
const snapshot = (ts: readonly Tensor[]): Uint8Array[] =>
  ts.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice());

/**
 * A fast-check property: forward and backward leave the input, params and state bitwise unchanged.
 *
 * @example fc.assert(purityProperty(arbLayerCase()), { seed: 7, numRuns: 50 });
 */
export const purityProperty = (arb: fc.Arbitrary<LayerCase>): fc.IPropertyWithHooks<[LayerCase, number, number]> =>
  fc.property(arb, fc.integer(), dim(1, 3), (c, seed, n) => {
    const [, x, params, state] = prepare(c, seed, Math.max(n, c.minBatch ?? 1));
    const watched = [x, ...Object.values(params), ...Object.values(state)];
    const before = snapshot(watched);
    const r = c.target.forward(params, state, x, { mode: 'train', key: key(seed), needInputGrad: true });
    const dy = normal(key(seed + 2), r.y.shape);
    r.pullback(dy);
    const dyBefore = snapshot([dy]);
    r.pullback(dy); // twice: a pullback must not consume its cache either
    const after = snapshot(watched);
    after.forEach((bytes, i) => {
      if (bytes.length !== before[i].length || bytes.some((b, j) => b !== before[i][j])) {
        throw new Error(`${c.label}: tensor ${i} (${i === 0 ? 'input' : 'param/state'}) changed during forward/backward`);
      }
    });
    if (snapshot([dy])[0].some((b, j) => b !== dyBefore[0][j])) throw new Error(`${c.label}: the pullback wrote into dy`);
  });
