import { allFinite, FoldnetError, foldIn, resultScope, split, type DType, type Kernels, type Key, type Tensor } from '@foldnet/core';
import { defaultLoss, lossAndGrad, runLayer, scope, type Gradients, type Loss, type LayerState, type Network, type Params, type RunOptions, type Targets } from '@foldnet/layers';
import type { Augmentation } from '../data/augment.js';
import { describeNonFinite, firstNonFinite as describeFirstNonFinite } from '../numeric.js';
import { clipByGlobalNorm } from '../optim/clip.js';
import type { NonFiniteUpdate, Optimizer } from '../optim/optimizer.js';
import type { LrSchedule } from '../optim/schedule.js';
import type { Batch } from './batches.js';

/*
 * Training is a fold: `trainStep(network, optimizer)(state, batch) -> state`. A state is a plain
 * value; nothing in it is ever written, so any state can be kept, compared, saved or resumed.
 */

/**
 * A non-finite loss, gradient or update met on one step. The step was skipped (params, optimizer
 * and layer state unchanged); the fold decides whether to stop (the default) or go on.
 */
export interface NumericFault {
  readonly _tag: 'NumericFault';
  /** The step that failed (the state's step before it). */
  readonly step: number;
  /**
   * What went non-finite first: the batch loss, or (with a finite loss) a gradient, or (with finite
   * gradients) the update: a new param, the optimizer's new state or the layers' new state.
   */
  readonly kind: 'loss' | 'gradient' | 'update';
  readonly loss: number;
  /** The data set row of the batch's first sample, when the batch carries indices. */
  readonly firstSample: number | undefined;
  /**
   * The first layer, in forward order, whose output went non-finite; for a gradient fault, the
   * first layer in backward order whose param or input gradient did. Undefined when the replay
   * that looks for it did not find one (e.g. non-finite inputs).
   */
  readonly layer: string | undefined;
  /** Where in that layer: its forward output or its gradients. */
  readonly where: 'output' | 'gradient' | undefined;
  /** The first param (in network order) whose gradient, or (an update fault) whose new value or optimizer state, is non-finite. */
  readonly param: string | undefined;
  /**
   * An update fault's non-finite value, named as a checkpoint names it: `conv1.W` (the new param), `opt.m.conv1.W`
   * (the optimizer's new state of it), `state.bn1.mean` (a layer's new state); undefined for other faults.
   */
  readonly tensor: string | undefined;
  /** e.g. `step 17: non-finite loss (NaN) on the batch starting at sample 4211; first non-finite output: conv1` */
  readonly message: string;
}

/**
 * The training state after `step` steps: a value.
 *
 * @example
 * const s0 = initTrainState(net, adam(), key(42));
 * s0.step; // 0; s0.loss is NaN until the first step
 */
export interface TrainState<S> {
  /** Steps taken so far (skipped faulty steps included). */
  readonly step: number;
  readonly params: Params;
  /** Non-trainable layer state (batch norm's running statistics). */
  readonly layerState: LayerState;
  /** The optimizer's state. */
  readonly opt: S;
  /** The run's training key; step i uses foldIn(key, i) (dropout). Never advanced. */
  readonly key: Key;
  /** The loss of the last batch, computed with the params before the update (NaN before the first step). */
  readonly loss: number;
  /** Set when the last step met a non-finite loss, gradient or update and was skipped. */
  readonly fault: NumericFault | undefined;
}

/** Options of `initTrainState`. */
export interface InitTrainOptions {
  /** Param dtype; default float32. */
  readonly dtype?: DType;
}

/**
 * The state before the first step: `key` is split into the init key (params) and the training key
 * (dropout); the optimizer state is its `init(params)`. Use a separate key for the batch stream.
 * Initial params or layer state holding NaN or ±Infinity (an init scale that overflows the dtype)
 * throw a 'value' FoldnetError naming the first such tensor.
 *
 * @example
 * const [modelKey, dataKey] = split(key(42));
 * const s0 = initTrainState(net, adam({ lr: 0.001 }), modelKey);
 */
export const initTrainState = <S>(network: Network, optimizer: Optimizer<S>, key: Key, opts: InitTrainOptions = {}): TrainState<S> => {
  const [initKey, trainKey] = split(key);
  const { params, state } = network.init(initKey, opts.dtype === undefined ? {} : { dtype: opts.dtype });
  // A weight init whose scale overflows the dtype (a spec's weightInit 1e300) would make every step's loss NaN:
  // refused before the first step, naming the param.
  const bad = describeFirstNonFinite([['parameter', params], ['layer state', state]]);
  if (bad !== undefined) {
    throw new FoldnetError('value', `initTrainState: the initial ${bad}: its init scale overflows ${opts.dtype ?? 'float32'}, so training cannot start`);
  }
  return Object.freeze({ step: 0, params, layerState: state, opt: optimizer.init(params), key: trainKey, loss: Number.NaN, fault: undefined });
};

/** Options of `trainStep`. */
export interface TrainStepOptions {
  /** Kernel set for this step; defaults to the current backend. */
  readonly kernels?: Kernels;
  /**
   * Multiplies the optimizer's learning rate on each step by `lrSchedule(state.step)`
   * (`cosineDecay(iters)`, `stepDecay([3000, 4500])`); default: the constant base rate.
   */
  readonly lrSchedule?: LrSchedule;
  /**
   * Transforms each batch's inputs before the gradient (`augmentation(parseAugment('crop:4,flip'))`),
   * with the step's augmentation key (`augmentKey`); default none. Evaluation never augments.
   */
  readonly augment?: Augmentation;
  /** The loss the gradient is taken of (`crossEntropy({ smoothing: 0.1 })`, `meanSquaredError()`); default the lesson's softmax cross-entropy. */
  readonly loss?: Loss;
  /**
   * Clips the gradients by their global norm before the update (`clipByGlobalNorm`, PyTorch's
   * `clip_grad_norm_`): scaled to this norm when longer; a positive number, default no clipping.
   */
  readonly clipNorm?: number;
}

/**
 * The key a step's augmentation draws from: foldIn(stepKey, -1), stepKey = foldIn(state.key, step).
 * The network gives layer i foldIn(stepKey, i) for i >= 0 (dropout), so -1 is a key no layer
 * uses; and like the layers' keys it is a function of the run's key and the step alone, so a resumed
 * run augments exactly as an uninterrupted one.
 *
 * @example augmentation(steps)?.(augmentKey(state.key, state.step), batch.x)
 */
export const augmentKey = (trainKey: Key, step: number): Key => foldIn(foldIn(trainKey, step), -1);

const firstNonFinite = (record: Params, order: readonly string[]): string | undefined => order.find((name) => !allFinite(record[name]));

/**
 * Replays one failing step layer by layer to find where values first went non-finite: the first
 * layer whose output is non-finite, else (walking backward) the first whose gradients are. Runs
 * only on a failing step. The replay derives per-layer keys as `network` does (foldIn(key, i)),
 * so dropout masks match the failing step.
 */
export const locateNonFinite = (
  network: Network,
  params: Params,
  layerState: LayerState,
  x: Tensor,
  targets: Targets,
  ctx: RunOptions,
  loss: Loss = defaultLoss,
): { layer: string; where: 'output' | 'gradient' } | undefined => {
  const pullbacks: ((dy: Tensor) => Gradients)[] = [];
  let y = x;
  for (const [i, l] of network.layers.entries()) {
    const r = runLayer(l, scope(params, l.name), scope(layerState, l.name), y, {
      ...ctx,
      key: ctx.key === undefined ? undefined : foldIn(ctx.key, i),
      needInputGrad: i > 0,
    });
    if (!allFinite(r.y)) return { layer: l.name, where: 'output' };
    pullbacks.push(r.pullback);
    y = r.y;
  }
  let d: Tensor | undefined = loss.apply(y, targets).dlogits;
  for (let i = network.layers.length - 1; i >= 0 && d !== undefined; i--) {
    const g = pullbacks[i](d);
    if (Object.values(g.grads).some((t) => !allFinite(t)) || (g.dx !== undefined && !allFinite(g.dx))) {
      return { layer: network.layers[i].name, where: 'gradient' };
    }
    d = g.dx;
  }
  return undefined;
};

const describeFault = (f: Omit<NumericFault, 'message' | '_tag'>): string => {
  const what = f.kind === 'loss' ? `non-finite loss (${f.loss})` : `non-finite gradient${f.param === undefined ? '' : ` of ${f.param}`}`;
  const where = f.firstSample === undefined ? '' : ` on the batch starting at sample ${f.firstSample}`;
  const layer = f.layer === undefined ? '' : `; first non-finite ${f.where}: ${f.layer}`;
  return `step ${f.step}: ${what}${where}${layer}`;
};

/** Where an update went non-finite: in the optimizer's results (`at`), or else in the layers' new state. */
type UpdateFaultSite<S> =
  | { readonly at: NonFiniteUpdate; readonly params: Params; readonly optState: S }
  | { readonly layerState: string; readonly values: LayerState };

/**
 * The fault of an update refused: the value that went non-finite, described with its count and first index (a pass
 * over one tensor, on this failing step only), and the step sizes that most often cause it.
 */
const updateFault = <S>(step: number, loss: number, firstSample: number | undefined, opt: Optimizer<S>, site: UpdateFaultSite<S>): NumericFault => {
  let tensor: string;
  let described: string | undefined;
  let param: string | undefined;
  if ('at' in site) {
    const { param: p, slot } = site.at;
    param = p;
    if (slot === undefined) {
      tensor = p;
      described = describeNonFinite('parameter', p, site.params[p]);
    } else {
      tensor = `opt.${slot}.${p}`;
      described = describeNonFinite(`${opt.name} state`, `${slot}.${p}`, opt.stateToTensors(site.optState).tensors[`${slot}.${p}`]);
    }
  } else {
    tensor = `state.${site.layerState}`;
    described = describeNonFinite('layer state', site.layerState, site.values[site.layerState]);
  }
  const { lr, weightDecay } = opt.hyper;
  const sizes = `${opt.name} lr ${lr}${weightDecay === undefined || weightDecay === 0 ? '' : `, weight decay ${weightDecay}`}`;
  const message = `step ${step}: non-finite update, not applied: the new ${described ?? tensor}; ${sizes} may be too large a step`;
  return Object.freeze({ _tag: 'NumericFault', step, kind: 'update', loss, firstSample, layer: undefined, where: undefined, param, tensor, message });
};

/**
 * One training step as a pure function: the batch's inputs augmented when `opts.augment` is given
 * (key `augmentKey(state.key, state.step)`), the gradient on the batch (train mode, key
 * foldIn(state.key, state.step)) of `opts.loss`, clipped by global norm with `opts.clipNorm`, then the
 * optimizer's update, as the lesson orders them. The
 * loss recorded is the one computed during the gradient, with the params before the update
 * (the lesson recomputes it after the update; this saves a forward pass).
 *
 * A non-finite loss or gradient does not update anything, and neither does an update that would
 * make a param, the optimizer's state or the layers' state non-finite (a learning rate or weight
 * decay so large that finite gradients overflow): the step is skipped, and the returned state
 * carries a `NumericFault` (step, first sample, layer or value) for the fold to stop on or skip.
 * The update's check costs next to nothing: the optimizer's kernel flags what it stored.
 * The step runs in a `resultScope`: its activations and gradients stay in the fast kernels' memory and
 * only the new state is copied out.
 *
 * @example
 * const step = trainStep(net, adam());
 * const s1 = step(s0, batches.at(0));
 * s1.step; // 1
 */
export const trainStep =
  <S>(network: Network, optimizer: Optimizer<S>, opts: TrainStepOptions = {}) =>
  (state: TrainState<S>, batch: Batch): TrainState<S> =>
    resultScope(() => stepOnce(network, optimizer, opts, state, batch));

const stepOnce = <S>(network: Network, optimizer: Optimizer<S>, opts: TrainStepOptions, state: TrainState<S>, batch: Batch): TrainState<S> => {
  if (opts.clipNorm !== undefined && !(Number.isFinite(opts.clipNorm) && opts.clipNorm > 0)) {
    throw new FoldnetError('config', `trainStep: clipNorm must be a positive number, got ${String(opts.clipNorm)}`);
  }
  const ctx: RunOptions = {
    mode: 'train',
    key: foldIn(state.key, state.step),
    ...(opts.kernels === undefined ? {} : { kernels: opts.kernels }),
  };
  const x = opts.augment === undefined ? batch.x : opts.augment(augmentKey(state.key, state.step), batch.x);
  const r = lossAndGrad(network, state.params, state.layerState, x, batch.targets, ctx, opts.loss);
  const names = Object.keys(state.params);
  const badParam = Number.isFinite(r.loss) ? firstNonFinite(r.grads, names.filter((n) => n in r.grads)) : undefined;
  if (!Number.isFinite(r.loss) || badParam !== undefined) {
    const located = locateNonFinite(network, state.params, state.layerState, x, batch.targets, { ...ctx, needInputGrad: false }, opts.loss);
    const partial: Omit<NumericFault, 'message' | '_tag'> = {
      tensor: undefined,
      step: state.step,
      kind: Number.isFinite(r.loss) ? 'gradient' : 'loss',
      loss: r.loss,
      firstSample: batch.indices?.[0],
      layer: located?.layer,
      where: located?.where,
      param: badParam ?? firstNonFinite(r.grads, names.filter((n) => n in r.grads)),
    };
    return Object.freeze({ ...state, step: state.step + 1, loss: r.loss, fault: Object.freeze({ _tag: 'NumericFault' as const, ...partial, message: describeFault(partial) }) });
  }
  const opt = opts.lrSchedule === undefined ? optimizer : optimizer.withLr(optimizer.hyper.lr * opts.lrSchedule(state.step));
  const u = opt.update(opts.clipNorm === undefined ? r.grads : clipByGlobalNorm(r.grads, opts.clipNorm), state.opt, state.params);
  const badLayerState = Object.keys(r.state).find((name) => !allFinite(r.state[name]));
  if (u.nonFinite !== undefined || badLayerState !== undefined) {
    const fault = updateFault(state.step, r.loss, batch.indices?.[0], opt, u.nonFinite === undefined ? { layerState: badLayerState ?? '', values: r.state } : { at: u.nonFinite, params: u.params, optState: u.state });
    return Object.freeze({ ...state, step: state.step + 1, loss: r.loss, fault });
  }
  return Object.freeze({
    step: state.step + 1,
    params: u.params,
    layerState: r.state,
    opt: u.state,
    key: state.key,
    loss: r.loss,
    fault: undefined,
  });
};
