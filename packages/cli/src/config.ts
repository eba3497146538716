import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { optimizerFromName } from '@foldnet/train';
import { datasetNames } from '@foldnet/train/config';
import {
  AugmentText, ChannelCount, describeErrors, ImageSizeText, LossText, isRecord, LrScheduleText, NonEmptyString, NonEmptyText, NonNegativeInt, NonNegativeNumber, oneOf, orNull, PositiveInt, PositiveNumber, Seed, strictPartial, UnitRate, WeightInitValue,
} from './codecs.js';
import { UsageError } from './errors.js';
import { flagReader, threadsFlag } from './flags.js';
import { isPreset, modelChoicesHelp } from './preset-names.js';

/*
 * The training configuration: what `foldnet train` runs. It comes from three places, each
 * overriding the one before: the defaults (the lesson's experiment), a JSON file (`--config`), and
 * the command-line flags. Each key is declared once, in `trainConfigFields`: its codec checks it in
 * a file and, through `flagReader`, as a flag; its fallback is the default; its flag spec gives the
 * help line. The file codec, the resolved config's type and codec, the defaults and the flags are
 * all derived from that table. Every problem is reported with its path inside the file
 * (`optimizer.lr: expected a positive number, got "fast"`) or its flag (`--lr: ...`).
 */

/** The optimizers `--optimizer` accepts: the book's six, then AdamW and SGD with Nesterov momentum in PyTorch's forms. */
export const optimizerNames = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw', 'sgd-nesterov'] as const;
/** One of `optimizerNames`. */
export type OptimizerName = (typeof optimizerNames)[number];

/** The cores the fast kernels can use: os.availableParallelism(), at least 1. @example machineCores() // 2 */
export const machineCores = (): number => Math.max(1, availableParallelism());

/** How `--data` is read (`--format`): MNIST-format IDX files, or an image folder. */
export const dataFormats = ['idx', 'folder'] as const;

/** The kernel sets `--backend` accepts. */
export const backendNames = ['fast', 'reference'] as const;
/** One of `backendNames`. */
export type BackendName = (typeof backendNames)[number];

/** What `foldnet bench --backend` accepts: one kernel set, or both side by side. */
export const benchBackendChoices = ['fast', 'reference', 'both'] as const;
/** What `foldnet bench` runs its steps and evaluation on. */
export const benchDataChoices = ['random', 'mnist'] as const;

/** What training does when the loss or a gradient becomes NaN or infinite: stop there, or skip the step and go on. */
export const onNanChoices = ['stop', 'skip'] as const;
/** One of `onNanChoices`. */
export type OnNan = (typeof onNanChoices)[number];

/** The learning rate each optimizer gets when none is given: the book's defaults. */
export const defaultLearningRate: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.01,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  rmsprop: 0.01,
  adam: 0.001,
  adamw: 0.001,
  'sgd-nesterov': 0.01,
};

/**
 * The hyper-parameters an optimizer takes besides its type and `lr` (packages/train/src/optim): `momentum`
 * (momentum, nesterov, sgd-nesterov), `beta1` and `beta2` (adam, adamw), `eps` (adamw), `decayRate` (rmsprop),
 * and `weightDecay` (every one; L2, decoupled in adamw). AdaGrad, RMSprop and Adam add a fixed 1e-7 to the
 * denominator, as the book does: there it is no hyper-parameter. Which params decay is the top-level `decayParams`.
 */
export const optimizerHyperNames = ['momentum', 'beta1', 'beta2', 'eps', 'decayRate', 'weightDecay'] as const;
/** One of `optimizerHyperNames`. */
export type OptimizerHyperName = (typeof optimizerHyperNames)[number];

/** What each hyper-parameter is, for --help: the flag's line and the optimizers that take it. */
const hyperHelp: Readonly<Record<Exclude<OptimizerHyperName, 'weightDecay'>, { readonly help: string; readonly shownDefault: string }>> = {
  momentum: { help: 'momentum, nesterov and sgd-nesterov: the fraction of the velocity kept each step', shownDefault: '0.9' },
  beta1: { help: "adam and adamw: the decay of the gradients' running mean", shownDefault: '0.9' },
  beta2: { help: "adam and adamw: the decay of the squared gradients' running mean", shownDefault: '0.999' },
  eps: { help: "adamw: added to the root of the squared gradients' mean", shownDefault: '1e-8' },
  decayRate: { help: "rmsprop: the decay of the squared gradients' running mean", shownDefault: '0.99' },
};

/**
 * The hyper-parameters `type` takes (the API's own list: lr, weightDecay and its rule's), with their defaults; the API's
 * `decayAll` is left out: the config says it as `decayParams`, for every optimizer alike.
 *
 * @example optimizerDefaults('momentum') // { lr: 0.01, momentum: 0.9, weightDecay: 0 }
 */
export const optimizerDefaults = (type: OptimizerName): Readonly<Record<string, number>> => {
  const r = optimizerFromName(type);
  if (r._tag === 'Left') return {};
  const { decayAll: _decayAll, ...hyper } = r.right.hyper;
  return hyper;
};

/** Which params `--decay-params` decays: the weights (2+ dimensions), or every param (biases, batch norm's too). */
export const decayParamChoices = ['weights', 'all'] as const;

const OptimizerObject = strictPartial(
  { type: oneOf(optimizerNames), lr: PositiveNumber, momentum: UnitRate, beta1: UnitRate, beta2: UnitRate, eps: PositiveNumber, decayRate: UnitRate, weightDecay: NonNegativeNumber },
  'an optimizer name or { "type": ..., "lr": ..., ... }',
);

/** `"adam"` or `{ "type": "adam", "lr": 0.001 }`: dispatch on the JSON type so errors point inside the object. */
const OptimizerField = new t.Type<OptimizerName | t.TypeOf<typeof OptimizerObject>, unknown, unknown>(
  `one of ${optimizerNames.join(', ')}, or { "type": ..., "lr": ... }`,
  (u): u is OptimizerName | t.TypeOf<typeof OptimizerObject> => oneOf(optimizerNames).is(u) || OptimizerObject.is(u),
  (u, c) => (isRecord(u) ? OptimizerObject.validate(u, c) : oneOf(optimizerNames).is(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A config key's flag, `--<key in kebab-case> <arg>`: its help line and how its text is read. */
export interface FlagSpec {
  /** The value's placeholder in help, e.g. `<n>`. */
  readonly arg: string;
  /** What the flag sets; help adds ` (default: ...)`. */
  readonly help: string;
  /** The default as help words it, where the fallback value does not say it (null, or a rule). */
  readonly shownDefault?: string;
  /** The text as a value (see `flagReader`): called with the flag's name and where a warning goes. */
  readonly read: (flag: string, warn: (line: string) => void) => (text: string) => unknown;
  /** The key whose flag cannot be given with this one. */
  readonly conflicts?: string;
}

/**
 * One key of the training config, declared once: a codec (it checks the key in a config file, and
 * its name completes "expected ..."), the value when no layer gives one, and the key's flag.
 *
 * @example
 * trainConfigFields.batchSize.fallback; // 100
 * trainConfigFields.batchSize.decode(0); // left: expected a positive integer
 */
export class ConfigField<A, const D> extends t.Type<A, unknown, unknown> {
  constructor(
    codec: t.Type<A, unknown, unknown>,
    readonly fallback: D,
    readonly flag: FlagSpec,
  ) {
    super(codec.name, codec.is, codec.validate, codec.encode);
  }
}

type FlagWords = Omit<FlagSpec, 'read'>;

/** A key whose file value and flag are checked by one codec; numbers are parsed from the flag's text. */
const field = <A, const D>(codec: t.Type<A, A, unknown>, fallback: D, read: 'number' | 'text', flag: FlagWords): ConfigField<A, D> =>
  new ConfigField(codec, fallback, { ...flag, read: flagReader(codec, read) });

/** A number key that a file may also set to null (the default); its flag takes numbers only. */
const nullableNumber = (codec: t.Type<number, number, unknown>, name: string, flag: FlagWords): ConfigField<number | null, null> =>
  new ConfigField(orNull(codec, name), null, { ...flag, read: flagReader(codec, 'number') });

/** A path a file may set to null (the default); its flag must not be blank. */
const nullablePath = (name: string, flag: FlagWords): ConfigField<string | null, null> =>
  new ConfigField(orNull(NonEmptyString, name), null, { ...flag, read: flagReader(NonEmptyText, 'text') });

/**
 * The training config's keys, in the order config.json lists them; each key's doc says what it
 * holds once resolved (paths absolute).
 *
 * @example
 * trainConfigFields.evalEvery.flag.help; // 'evaluate every n steps, 0 = only at the end'
 */
export const trainConfigFields = {
  /** A preset's name (`presetNames`) or the absolute path of a JSON model spec. */
  model: new ConfigField(NonEmptyString, 'simple', { arg: '<name|spec.json>', help: modelChoicesHelp, read: flagReader(NonEmptyText, 'text') }),
  /** Number of training steps. With `epochs`, epochs * ceil(trainSize / batchSize). */
  iters: field(PositiveInt, 1000, 'number', { arg: '<n>', help: 'training steps', conflicts: 'epochs' }),
  /** The epochs asked for, or null when `iters` was given directly. */
  epochs: field(PositiveInt, null, 'number', { arg: '<n>', help: 'passes over the training subset, instead of --iters' }),
  batchSize: field(PositiveInt, 100, 'number', { arg: '<n>', help: 'images per step' }),
  /** The optimizer and its learning rate: in a file `"adam"` or `{ "type": "adam", "lr": 0.001 }`. */
  optimizer: new ConfigField(OptimizerField, 'adam', { arg: '<name>', help: optimizerNames.join(' | '), read: flagReader(oneOf(optimizerNames), 'text') }),
  /** The learning rate, also `optimizer.lr`; resolved into `optimizer.lr`. */
  lr: field(PositiveNumber, undefined, 'number', { arg: '<x>', help: 'learning rate', shownDefault: "the optimizer's, adam 0.001, others 0.01" }),
  /** Momentum's and Nesterov's, also `optimizer.momentum`; resolved into `optimizer.momentum`. */
  momentum: field(UnitRate, undefined, 'number', { arg: '<x>', ...hyperHelp.momentum }),
  /** Adam's, also `optimizer.beta1`; resolved into `optimizer.beta1`. */
  beta1: field(UnitRate, undefined, 'number', { arg: '<x>', ...hyperHelp.beta1 }),
  /** Adam's, also `optimizer.beta2`; resolved into `optimizer.beta2`. */
  beta2: field(UnitRate, undefined, 'number', { arg: '<x>', ...hyperHelp.beta2 }),
  /** AdamW's, also `optimizer.eps`; resolved into `optimizer.eps`. */
  eps: field(PositiveNumber, undefined, 'number', { arg: '<x>', ...hyperHelp.eps }),
  /** RMSprop's, also `optimizer.decayRate`; resolved into `optimizer.decayRate`. */
  decayRate: field(UnitRate, undefined, 'number', { arg: '<x>', ...hyperHelp.decayRate }),
  /** How the learning rate changes over the run: `constant`, `cosine` or `step:3000,4500` (see `parseLrSchedule`). */
  lrSchedule: field(LrScheduleText, 'constant', 'text', {
    arg: '<s>',
    help:
      'constant | cosine | step:<step>,<step>,..., each optionally after warmup:<n>, (warmup:500,cosine): the learning rate over the run: fixed, half a cosine down towards 0 at the last step, ' +
      'or divided by 10 at each listed step; a warm-up first raises it linearly over n steps, and the schedule after it counts from its end',
  }),
  /**
   * How a preset's weights are drawn: 'he', 'xavier', 'glorot' or a normal's std, or null for the preset's own
   * (simple and double: std 0.01, the lesson's, right for Adam; deep and resnet: he). A model spec sets it per layer.
   */
  weightInit: new ConfigField(orNull(WeightInitValue, "'he', 'xavier', 'glorot', a positive std or null"), null, {
    arg: '<init>',
    help: "he | xavier | glorot | <std>: how the preset's weights are drawn (SGD and momentum need he or xavier to learn)",
    shownDefault: "the preset's: std 0.01 for simple and double, he for deep and resnet",
    read: (flag) => (text) => (/^[0-9.]/.test(text) ? flagReader(WeightInitValue, 'number')(flag)(text) : flagReader(WeightInitValue, 'text')(flag)(text)),
  }),
  /**
   * Weight decay λ, every optimizer's, also `optimizer.weightDecay`: each step adds λ·p to the gradient of each
   * param `decayParams` names (L2; adamw shrinks the param by lr·λ·p instead, decoupled).
   */
  weightDecay: field(NonNegativeNumber, 0, 'number', { arg: '<x>', help: 'weight decay lambda: L2 (adamw: decoupled), on the params --decay-params names' }),
  /** Which params weight decay reaches: 'weights' (2+ dimensions: conv and affine W) or 'all' (biases and batch norm's gamma and beta too). */
  decayParams: field(oneOf(decayParamChoices), 'weights', 'text', {
    arg: '<which>',
    help: `${decayParamChoices.join(' | ')}: the params weight decay reaches: the weights of convolutions and affine layers alone, or every param (biases, batch norm's gamma and beta)`,
  }),
  /** The bound of the gradients' global norm (clipped to it when longer, before the update), or null for none. */
  clipNorm: nullableNumber(PositiveNumber, 'a positive number or null', {
    arg: '<x>',
    help: "clip the gradients by their global norm: scaled down to x when longer (PyTorch's clip_grad_norm_)",
    shownDefault: 'no clipping',
  }),
  /** The loss trained on and measured: `ce` (the lesson's softmax cross-entropy), `ce:smooth=0.1`, `mse` or `bce` (see `parseLoss`). */
  loss: field(LossText, 'ce', 'text', {
    arg: '<loss>',
    help: 'ce | ce:smooth=<x> | mse | bce: softmax cross-entropy (with label smoothing x), mean squared error on the logits, or binary cross-entropy with logits (one sigmoid per class)',
  }),
  /** The first `trainSize` training images and the first `testSize` test images are used. */
  trainSize: field(PositiveInt, 5000, 'number', { arg: '<n>', help: "use the first n training images (an image folder's: at most n, the first of its split's fixed order)" }),
  testSize: field(PositiveInt, 1000, 'number', { arg: '<n>', help: "use the first n test images (an image folder's: at most n, likewise)" }),
  /** Evaluate every this many steps; 0 = only at the end. The final step is always evaluated. */
  evalEvery: field(NonNegativeInt, 10, 'number', { arg: '<n>', help: 'evaluate every n steps, 0 = only at the end' }),
  /** The seed of the PRNG key behind init and batch sampling (an unsigned 32-bit integer). */
  seed: field(Seed, 0, 'number', { arg: '<n>', help: 'seed of the random key for init and batches' }),
  /**
   * The IDX dataset trained on: its class names, and where its files are unless `data` names a directory. Null when
   * the run trains on an image folder (`format` 'folder'), which is no named dataset: `data` is the folder.
   */
  dataset: new ConfigField(orNull(oneOf(datasetNames), `${oneOf(datasetNames).name}, or null`), 'mnist', {
    arg: '<name>',
    help: `${datasetNames.join(' | ')}: MNIST (bundled) or Fashion-MNIST (Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist); not with --format folder`,
    read: flagReader(oneOf(datasetNames), 'text'),
  }),
  /** A directory of MNIST-format IDX files, or with format 'folder' the image folder; null for the dataset's own files. */
  data: nullablePath('a directory path or null', {
    arg: '<dir>',
    help: "a directory of MNIST-format IDX files (plain or .gz) read instead of the dataset's own; with --format folder, the folder of images, one subfolder per class",
    shownDefault: "the dataset's: the bundled MNIST, /usr/share/datasets/fashion-mnist",
  }),
  // ----- users' own images (--format folder) and input normalisation -----
  /** How `data` is read: MNIST-format IDX files, or a folder of images with one subfolder per class. */
  format: field(oneOf(dataFormats), 'idx', 'text', {
    arg: '<kind>',
    help: `${dataFormats.join(' | ')}: --data holds MNIST-format IDX files, or PNG/JPEG images in one subfolder per class (class names: the folder names, sorted)`,
  }),
  /** With format 'folder': every image resized (bilinear) to `HxW`, or null to require one size for all (a run records the size it read). */
  imageSize: new ConfigField(orNull(ImageSizeText, `${ImageSizeText.name}, or null`), null, {
    arg: '<HxW>',
    help: 'with --format folder: resize every image to this size (bilinear); without it all images must have one size',
    shownDefault: "the images' own size",
    read: flagReader(ImageSizeText, 'text'),
  }),
  /** With format 'folder': 1 (grey) or 3 (RGB), or null for 3 when any image is colour, else 1 (a run records the channels it read). */
  channels: new ConfigField(orNull(ChannelCount, '1, 3 or null'), null, {
    arg: '<n>',
    help: 'with --format folder: 1 (grey: RGB images become luma 0.299 R + 0.587 G + 0.114 B) or 3 (RGB: grey images repeat their value)',
    shownDefault: '3 when any image is colour, else 1',
    read: flagReader(ChannelCount, 'number'),
  }),
  /** With format 'folder' and no train/ and test/ subfolders: the part of each class kept for testing. */
  testFraction: field(UnitRate, 0.2, 'number', {
    arg: '<x>',
    help: 'with --format folder, unless train/ and test/ are its only subfolders (a split of its own): the part of each class held out for testing (a fixed split by file name)',
  }),
  /** Normalise every input per channel by the training images' mean and std (stored in the checkpoint). */
  normalize: new ConfigField(t.boolean, false, {
    arg: '',
    help: "map each input channel to (x - mean) / std, the training images' own statistics, saved in the checkpoint for eval, predict and export",
    shownDefault: 'off',
    read: () => () => true,
  }),
  /** How training batches are augmented: `none`, or steps such as `crop:4,flip,erase:0.25` (see `parseAugment`). */
  augment: field(AugmentText, 'none', 'text', {
    arg: '<recipe>',
    help: 'none | crop:<pad>,flip,shift:<pixels>,erase:<p>: seeded transforms of each training batch, in the order given (random crop after zero padding, horizontal flip, shift repeating the edges, random erasing with probability p)',
  }),
  /** The run folder, or null for `runs/<timestamp>-<model>/`. */
  out: nullablePath('a directory path or null', { arg: '<dir>', help: 'the run folder', shownDefault: 'runs/<timestamp>-<model>/' }),
  /** A checkpoint to continue from, or null. */
  resume: nullablePath('a checkpoint path or null', { arg: '<checkpoint>', help: 'continue from a checkpoint.safetensors' }),
  /** Worker threads for the fast kernels (at most the machine's cores), or null for the number of cores. */
  threads: new ConfigField(orNull(PositiveInt, 'a positive integer or null'), null, {
    arg: '<n>',
    help: 'worker threads for the fast kernels (default and most: the number of cores)',
    read: (flag, warn) => threadsFlag(flag, machineCores(), warn),
  }),
  backend: field(oneOf(backendNames), 'fast', 'text', { arg: '<name>', help: `kernel set: ${backendNames.join(' | ')}` }),
  /**
   * Write checkpoint.safetensors every this many steps as well as at the end; 0 = only at the end;
   * null = at each evaluation (every `evalEvery` steps).
   */
  checkpointEvery: nullableNumber(NonNegativeInt, 'an integer >= 0 or null', {
    arg: '<n>',
    help: 'also write checkpoint.safetensors (atomically) every n steps, 0 = only at the end',
    shownDefault: 'at each evaluation',
  }),
  onNan: field(oneOf(onNanChoices), 'stop', 'text', {
    arg: '<what>',
    help: `${onNanChoices.join(' | ')}: when the loss, a gradient or an update is NaN or infinite, stop there (exit 1) or skip the step (a run that skips every step fails, exit 1)`,
  }),
};

/**
 * The JSON config file: every key optional, unknown keys refused.
 *
 * @example
 * // config.json
 * { "model": "double", "epochs": 2, "optimizer": { "type": "sgd", "lr": 0.1 }, "evalEvery": 50 }
 */
export const TrainConfigFile = strictPartial(trainConfigFields, 'a JSON object');
export type TrainConfigFile = t.TypeOf<typeof TrainConfigFile>;

/**
 * The config values given as flags: a layer of the same shape as a config file (commander has read
 * each flag with its field's reader). A layer holds only the keys it gives.
 */
export type TrainFlags = TrainConfigFile;

/**
 * The optimizer as the resolved config holds it: its type, learning rate and the hyper-parameters of its
 * own that were given (the rest are the API's defaults; a checkpoint's metadata stores every value).
 * Weight decay stays the top-level `weightDecay`.
 */
const OptimizerConfig = t.readonly(
  t.intersection([t.type({ type: oneOf(optimizerNames), lr: PositiveNumber }), t.partial({ momentum: UnitRate, beta1: UnitRate, beta2: UnitRate, eps: PositiveNumber, decayRate: UnitRate })]),
);
/** The optimizer and its hyper-parameters, as the resolved config holds them. */
export type OptimizerConfig = t.TypeOf<typeof OptimizerConfig>;

// Resolved, the learning rate and the other hyper-parameters live in `optimizer`, and `epochs` is null when steps
// were counted by `iters`.
const { lr: _lr, momentum: _momentum, beta1: _beta1, beta2: _beta2, eps: _eps, decayRate: _decayRate, ...resolvedFields } = trainConfigFields;

/**
 * A resolved training configuration: every key of `trainConfigFields` has a value (`lr` inside
 * `optimizer`). Paths are absolute.
 *
 * @example
 * const c: TrainConfig = defaultTrainConfig; // model 'simple', 1000 iters, batch 100, adam 0.001, ...
 */
export const TrainConfig = t.readonly(t.type({ ...resolvedFields, epochs: orNull(PositiveInt, 'a positive integer or null'), optimizer: OptimizerConfig }), 'a training config');
export type TrainConfig = t.TypeOf<typeof TrainConfig>;

/**
 * Decodes the parsed JSON of a config file. Left is one line naming the first problem with its
 * path inside the file (the deepest one: that is where the value is wrong), and how many others.
 *
 * @example
 * decodeTrainConfigFile({ optimizer: { type: 'adam', lr: 'fast' } });
 * // left('optimizer.lr: expected a positive number, got "fast"')
 */
export const decodeTrainConfigFile = (json: unknown): E.Either<string, TrainConfigFile> => {
  const r = TrainConfigFile.decode(recordedAsGiven(json));
  if (E.isLeft(r)) return E.left(describeErrors(r.left));
  const file = r.right;
  if (file.iters === undefined || file.epochs === undefined) return E.right(file);
  // Both, as a run's config.json records them: the epochs count, when the iters are the steps they make.
  const { iters, ...byEpochs } = file;
  return iters === file.epochs * Math.ceil((file.trainSize ?? trainConfigFields.trainSize.fallback) / (file.batchSize ?? trainConfigFields.batchSize.fallback))
    ? E.right(byEpochs)
    : E.left(`epochs: give either "iters" or "epochs", not both (got iters ${iters}, epochs ${file.epochs})`);
};

/**
 * A run's config.json read as a config file, so `--config runs/x/config.json` trains that run again: its
 * `"epochs": null` says steps were counted by `iters` (as if absent), and a folder run's `classNames` are
 * there for the reader (the folder's own subfolders name the classes). Anything else is left as it is.
 */
const recordedAsGiven = (json: unknown): unknown => {
  if (!isRecord(json)) return json;
  const { classNames: _classNames, ...rest } = json;
  return rest['epochs'] === null ? Object.fromEntries(Object.entries(rest).filter(([key]) => key !== 'epochs')) : rest;
};

/**
 * The config keys given as flags (commander's parsed options), as a layer: each was read by its
 * field's own reader already, so the decode only gives the values their types.
 *
 * @example
 * trainFlagsOf({ batchSize: 20, config: 'c.json' }); // { batchSize: 20 }
 */
export const trainFlagsOf = (opts: Readonly<Record<string, unknown>>): TrainFlags => {
  const given = Object.fromEntries(Object.keys(trainConfigFields).flatMap((key) => (opts[key] === undefined ? [] : [[key, opts[key]]])));
  const r = TrainConfigFile.decode(given);
  if (E.isLeft(r)) throw new UsageError(describeErrors(r.left));
  return r.right;
};

// ---------------------------------------------------------------------------------------------
// Resolution: layers of given keys, each over the one before, then the fallbacks.

/**
 * A layer's paths made absolute against `base` (a config file's folder; the working directory for
 * flags); a preset model name stays as it is. A key the layer does not give stays absent, so it
 * never hides the layer below.
 *
 * @example
 * absoluteLayer({ data: 'fashion', model: 'double' }, '/cfg'); // { data: '/cfg/fashion', model: 'double' }
 */
export const absoluteLayer = (layer: TrainConfigFile, base: string): TrainConfigFile => {
  const abs = (p: string | null): string | null => (p === null ? null : path.resolve(base, p));
  return {
    ...layer,
    ...(layer.model === undefined ? {} : { model: isPreset(layer.model) ? layer.model : path.resolve(base, layer.model) }),
    ...(layer.data === undefined ? {} : { data: abs(layer.data) }),
    ...(layer.out === undefined ? {} : { out: abs(layer.out) }),
    ...(layer.resume === undefined ? {} : { resume: abs(layer.resume) }),
  };
};

/** A layer's optimizer settings, wherever it gives them: in `optimizer` (a name or an object) or as top-level keys. */
type OptimizerSettings = t.TypeOf<typeof OptimizerObject>;
const settingNames = ['lr', ...optimizerHyperNames] as const;

/**
 * A layer's optimizer settings in one record: `optimizer` (`"sgd"` or `{ type, lr, ... }`) with the
 * top-level `lr`, `momentum`, ... of the same layer. The same setting given both ways with two values is
 * refused (`momentum: given as momentum 0.5 and as optimizer.momentum 0.9`).
 */
const optimizerSettingsOf = (layer: TrainConfigFile): OptimizerSettings => {
  const inObject: OptimizerSettings = typeof layer.optimizer === 'string' ? { type: layer.optimizer } : (layer.optimizer ?? {});
  const settings: Record<string, unknown> = { ...inObject };
  for (const key of settingNames) {
    const top = layer[key];
    if (top === undefined) continue;
    const inside = inObject[key];
    if (inside !== undefined && inside !== top) throw new UsageError(`${key}: given as ${key} ${top} and as optimizer.${key} ${inside}: give it once`);
    settings[key] = top;
  }
  return settings;
};

/** The layer with its optimizer settings as one `optimizer` object (none: no key), top-level `lr`, `momentum`, ... removed. */
const withSettings = (layer: TrainConfigFile, settings: OptimizerSettings): TrainConfigFile => {
  const { optimizer: _optimizer, lr: _lr, momentum: _m, beta1: _b1, beta2: _b2, eps: _eps, decayRate: _d, weightDecay: _wd, ...rest } = layer;
  return Object.keys(settings).length === 0 ? rest : { ...rest, optimizer: settings };
};

/**
 * The optimizer settings of `top` over those of `base`, key by key, the one rule for every source (a resumed
 * checkpoint's config, a --config file, the flags): a setting `top` gives replaces `base`'s, the others stay, so
 * `--optimizer sgd` keeps a learning rate given below it. When `top` names the type, the settings from below
 * that this type does not take are dropped (a checkpoint's Adam betas, resumed with `--optimizer sgd`).
 *
 * @example
 * overlaySettings({ type: 'momentum', lr: 0.05, momentum: 0.5 }, { type: 'nesterov' }); // { type: 'nesterov', lr: 0.05, momentum: 0.5 }
 * overlaySettings({ type: 'adam', lr: 0.002, beta1: 0.8 }, { type: 'sgd' });            // { type: 'sgd', lr: 0.002 }
 */
export const overlaySettings = (base: OptimizerSettings, top: OptimizerSettings): OptimizerSettings => {
  if (top.type === undefined) return { ...base, ...top };
  const takes = optimizerDefaults(top.type);
  const kept = Object.fromEntries(Object.entries(base).filter(([key]) => key !== 'type' && key in takes));
  return { ...kept, ...top };
};

/**
 * Layers `top` over `base`: a key `top` gives replaces `base`'s; the optimizer's settings merge key
 * by key (overlaySettings); a top layer that counts steps one way (iters or epochs) drops the base's
 * other way.
 *
 * @example
 * overlayTrainConfig({ epochs: 2, seed: 1 }, { iters: 7 }); // { seed: 1, iters: 7 }
 * overlayTrainConfig({ optimizer: { type: 'adam', lr: 0.002 } }, { optimizer: 'rmsprop' }); // { optimizer: { type: 'rmsprop', lr: 0.002 } }
 */
export const overlayTrainConfig = (base: TrainConfigFile, top: TrainConfigFile): TrainConfigFile => {
  const countsSteps = top.iters !== undefined || top.epochs !== undefined;
  const { iters, epochs, ...rest } = base;
  const settings = overlaySettings(optimizerSettingsOf(base), optimizerSettingsOf(top));
  return withSettings({ ...rest, ...(countsSteps ? {} : { ...(iters !== undefined ? { iters } : {}), ...(epochs !== undefined ? { epochs } : {}) }), ...top }, settings);
};

/** `--momentum` for a flag's key, `optimizer.momentum` for a file's. */
const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Checks that `type` takes each setting `settings` gives: one it does not take is refused, named as it was
 * given (`--beta1: sgd has no beta1 (it takes lr, weightDecay)`).
 */
const expectTaken = (type: OptimizerName, settings: OptimizerSettings, name: (key: string) => string): void => {
  const takes = optimizerDefaults(type);
  const extra = Object.keys(settings).find((key) => key !== 'type' && !(key in takes));
  if (extra !== undefined) throw new UsageError(`${name(extra)}: ${type} has no ${extra} (it takes ${Object.keys(takes).join(', ')})`);
};

/**
 * Merges defaults, the decoded file and the flags (each overriding the one before) into a
 * resolved config. Paths in the file are relative to the file's folder (`fileDir`); paths in flags
 * are relative to `cwd`. `--iters` given as a flag overrides the file's `epochs` and vice versa.
 *
 * @example
 * resolveTrainConfig({ epochs: 1 }, '/cfg', { batchSize: 50 }, '/home');
 * // { ...defaultTrainConfig, epochs: 1, batchSize: 50, iters: 100 }  (5000 images / 50)
 */
export const resolveTrainConfig = (file: TrainConfigFile, fileDir: string, flags: TrainFlags, cwd: string): TrainConfig => {
  const fields = trainConfigFields;
  const lower = absoluteLayer(file, fileDir);
  const upper = absoluteLayer(flags, cwd);
  const given = overlayTrainConfig(lower, upper);
  // The optimizer's settings, key by key (overlaySettings): flags over the file (over a resumed checkpoint's).
  const settings = optimizerSettingsOf(given);
  const type = settings.type ?? fields.optimizer.fallback;
  expectTaken(type, optimizerSettingsOf(upper), flagName);
  expectTaken(type, settings, (key) => `optimizer.${key}`);
  const { type: _type, lr: givenLr, weightDecay, ...hyper } = settings;
  const lr = givenLr ?? defaultLearningRate[type];
  const trainSize = given.trainSize ?? fields.trainSize.fallback;
  const batchSize = given.batchSize ?? fields.batchSize.fallback;
  const iters = given.epochs !== undefined ? given.epochs * Math.ceil(trainSize / batchSize) : (given.iters ?? fields.iters.fallback);
  // More threads than cores only add workers waiting for a core, each with its own memory: a
  // config file's (or a resumed checkpoint's) count is capped like --threads; the run's first
  // line prints the count used.
  const threads = given.threads === undefined || given.threads === null ? null : Math.min(given.threads, machineCores());
  const format = given.format ?? fields.format.fallback;
  const computed = new Map<string, unknown>([
    // an image folder is no named dataset: the run records the folder (data), not the lesson's default
    ['dataset', format === 'folder' ? null : (given.dataset ?? fields.dataset.fallback)],
    ['optimizer', { type, lr, ...hyper }],
    ['weightDecay', weightDecay ?? fields.weightDecay.fallback],
    ['iters', iters],
    ['epochs', given.epochs ?? null],
    ['threads', threads],
  ]);
  const values = new Map<string, unknown>(Object.entries(given));
  // In the fields' order (config.json's); the codec gives the result its type and checks what was computed.
  const resolved = Object.fromEntries(
    Object.entries(fields).flatMap(([key, f]) => (key in resolvedFields ? [[key, computed.has(key) ? computed.get(key) : (values.get(key) ?? f.fallback)]] : [])),
  );
  const r = TrainConfig.decode(resolved);
  if (E.isLeft(r)) throw new UsageError(describeErrors(r.left));
  return r.right;
};

/**
 * The optimizer a checkpoint's metadata names (`{ name, fields }`: hyper-parameters and scalar state), as a
 * config layer: `{ optimizer: { type, lr, momentum, ... } }` with the hyper-parameters that optimizer takes
 * (weight decay included), its scalar state (Adam's count) left out, and the params it decayed as `decayParams`.
 * A checkpoint from before `decayAll` existed decayed every param: with a weight decay, it resumes with 'all'.
 * Nothing for a name foldnet does not know.
 *
 * @example savedOptimizerLayer({ name: 'adam', fields: { lr: 0.002, beta1: 0.8, beta2: 0.999, weightDecay: 0, decayAll: 0, count: 40 } })
 * // { optimizer: { type: 'adam', lr: 0.002, beta1: 0.8, beta2: 0.999, weightDecay: 0 }, decayParams: 'weights' }
 */
export const savedOptimizerLayer = (saved: { readonly name: string; readonly fields: Readonly<Record<string, number>> } | undefined): TrainConfigFile => {
  const type = optimizerNames.find((n) => n === saved?.name);
  if (saved === undefined || type === undefined) return {};
  const takes = optimizerDefaults(type);
  const { decayAll, weightDecay } = saved.fields;
  const decayParams = decayAll === 1 || (decayAll === undefined && weightDecay !== undefined && weightDecay > 0) ? 'all' : 'weights';
  const decoded = TrainConfigFile.decode({ optimizer: { type, ...Object.fromEntries(Object.entries(saved.fields).filter(([key]) => key in takes)) }, decayParams });
  return E.isRight(decoded) ? decoded.right : {};
};

/**
 * Every hyper-parameter the resolved config gives its optimizer, as `optimizerFromName` takes them: the
 * learning rate, the optimizer's own that were given, the weight decay and which params it reaches (`decayAll`).
 *
 * @example optimizerHyper({ ...defaultTrainConfig, optimizer: { type: 'momentum', lr: 0.1, momentum: 0.5 } }) // { lr: 0.1, momentum: 0.5, weightDecay: 0, decayAll: 0 }
 */
export const optimizerHyper = (config: TrainConfig): Readonly<Record<string, number>> => {
  const { type: _type, ...hyper } = config.optimizer;
  return { ...hyper, weightDecay: config.weightDecay, decayAll: config.decayParams === 'all' ? 1 : 0 };
};

/**
 * The lesson's experiment, what nothing given resolves to: SimpleConvNet, 1000 steps of batch 100,
 * Adam 0.001, the first 5000/1000 MNIST images, an evaluation every 10 steps, seed 0.
 *
 * @example
 * defaultTrainConfig.optimizer; // { type: 'adam', lr: 0.001 }
 */
export const defaultTrainConfig: TrainConfig = resolveTrainConfig({}, '.', {}, '.');
