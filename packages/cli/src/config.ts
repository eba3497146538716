import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';

/*
 * The training configuration: what `foldnet train` runs. It comes from three places, each
 * overriding the one before: the defaults (the lesson's experiment), a JSON file (`--config`), and
 * the command-line flags. The file is decoded with io-ts; every problem is reported with its path
 * inside the file (`optimizer.lr: expected a positive number, got "fast"`).
 */

/** The optimizers `--optimizer` accepts (the book's six). */
export const optimizerNames = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'] as const;
/** One of `optimizerNames`. */
export type OptimizerName = (typeof optimizerNames)[number];

/** The cores the fast kernels can use: os.availableParallelism(), at least 1. @example machineCores() // 2 */
export const machineCores = (): number => Math.max(1, availableParallelism());

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

/**
 * `--lr-schedule`: `constant`, `cosine` (half a cosine from the base rate towards 0 over the run's
 * steps) or `step:<s1>,<s2>,...` (the rate divided by 10 at each listed step).
 */
export const lrScheduleSyntax = 'constant, cosine, or step:<step>,<step>,... (increasing steps)';

/** The boundaries of a `step:...` schedule, or a message saying what is wrong with `text`. */
export const parseLrSchedule = (text: string): E.Either<string, { readonly kind: 'constant' | 'cosine' } | { readonly kind: 'step'; readonly at: readonly number[] }> => {
  if (text === 'constant' || text === 'cosine') return E.right({ kind: text });
  const m = /^step:(.+)$/.exec(text);
  if (m === null) return E.left(`expected ${lrScheduleSyntax}, got ${JSON.stringify(text)}`);
  const parts = m[1].split(',');
  const at = parts.map((p) => (/^\d+$/.test(p.trim()) ? Number(p.trim()) : Number.NaN));
  const bad = at.findIndex((b, i) => !(Number.isSafeInteger(b) && b >= 1) || (i > 0 && b <= at[i - 1]));
  if (bad >= 0) return E.left(`step schedule: ${JSON.stringify(parts[bad])} is not a step after the previous one (expected increasing positive integers, e.g. step:3000,4500)`);
  return E.right({ kind: 'step', at });
};

/** The learning rate each optimizer gets when none is given: the book's defaults. */
export const defaultLearningRate: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.01,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  rmsprop: 0.01,
  adam: 0.001,
};

/** The optimizer and its learning rate, as the resolved config holds them. */
export interface OptimizerConfig {
  readonly type: OptimizerName;
  readonly lr: number;
}

/**
 * A resolved training configuration: every field has a value. Paths are absolute.
 *
 * @example
 * const c: TrainConfig = defaultTrainConfig; // model 'simple', 1000 iters, batch 100, adam 0.001, ...
 */
export interface TrainConfig {
  /** 'simple' | 'double' | 'deep' or the absolute path of a JSON model spec. */
  readonly model: string;
  /** Number of training steps. With `epochs`, epochs * ceil(trainSize / batchSize). */
  readonly iters: number;
  /** The epochs asked for, or null when `iters` was given directly. */
  readonly epochs: number | null;
  readonly batchSize: number;
  readonly optimizer: OptimizerConfig;
  /** How the learning rate changes over the run: `constant`, `cosine` or `step:3000,4500` (see `parseLrSchedule`). */
  readonly lrSchedule: string;
  /** L2 weight decay λ: the loss gains λ/2·Σ‖W‖² over weight matrices. */
  readonly weightDecay: number;
  /** The first `trainSize` training images and the first `testSize` test images are used. */
  readonly trainSize: number;
  readonly testSize: number;
  /** Evaluate every this many steps; 0 = only at the end. The final step is always evaluated. */
  readonly evalEvery: number;
  /** The seed of the PRNG key behind init and batch sampling (an unsigned 32-bit integer). */
  readonly seed: number;
  /** A directory of MNIST-format IDX files, or null for the MNIST that ships with foldnet. */
  readonly data: string | null;
  /** The run folder, or null for `runs/<timestamp>-<model>/`. */
  readonly out: string | null;
  /** A checkpoint to continue from, or null. */
  readonly resume: string | null;
  /** Worker threads for the fast kernels (at most the machine's cores), or null for the number of cores. */
  readonly threads: number | null;
  readonly backend: BackendName;
  /**
   * Write checkpoint.safetensors every this many steps as well as at the end; 0 = only at the end;
   * null = at each evaluation (every `evalEvery` steps).
   */
  readonly checkpointEvery: number | null;
  readonly onNan: OnNan;
}

/**
 * The lesson's experiment: SimpleConvNet, 1000 steps of batch 100, Adam 0.001, the first 5000/1000
 * MNIST images, an evaluation every 10 steps, seed 0.
 */
export const defaultTrainConfig: TrainConfig = {
  model: 'simple',
  iters: 1000,
  epochs: null,
  batchSize: 100,
  optimizer: { type: 'adam', lr: 0.001 },
  lrSchedule: 'constant',
  weightDecay: 0,
  trainSize: 5000,
  testSize: 1000,
  evalEvery: 10,
  seed: 0,
  data: null,
  out: null,
  resume: null,
  threads: null,
  backend: 'fast',
  checkpointEvery: null,
  onNan: 'stop',
};

// ---------------------------------------------------------------------------------------------
// Codecs. Their names complete the sentence "expected ...", so error lines read naturally.

const numberWhere = (name: string, ok: (n: number) => boolean): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && ok(u),
    (u, c) => (typeof u === 'number' && ok(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

/** A finite number > 0. */
export const PositiveNumber = numberWhere('a positive number', (n) => Number.isFinite(n) && n > 0);
/** A finite number >= 0. */
export const NonNegativeNumber = numberWhere('a number >= 0', (n) => Number.isFinite(n) && n >= 0);
/** An integer >= 1. */
export const PositiveInt = numberWhere('a positive integer', (n) => Number.isSafeInteger(n) && n >= 1);
/** An integer >= 0. */
export const NonNegativeInt = numberWhere('an integer >= 0', (n) => Number.isSafeInteger(n) && n >= 0);
/** An integer in [0, 2^32). */
export const Seed = numberWhere('an integer from 0 to 4294967295', (n) => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff);

const oneOf = <K extends string>(names: readonly K[]): t.Type<K, K, unknown> => {
  const known: ReadonlySet<string> = new Set(names);
  const isK = (u: unknown): u is K => typeof u === 'string' && known.has(u);
  return new t.Type<K, K, unknown>(`one of ${names.join(', ')}`, isK, (u, c) => (isK(u) ? t.success(u) : t.failure(u, c)), t.identity);
};

const NonEmptyString = new t.Type<string, string, unknown>(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u.length > 0,
  (u, c) => (typeof u === 'string' && u.length > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** `inner` or null; the name says both, and failures keep the field's own context. */
const orNull = <A>(inner: t.Type<A, A, unknown>, name: string): t.Type<A | null, A | null, unknown> =>
  new t.Type<A | null, A | null, unknown>(
    name,
    (u): u is A | null => u === null || inner.is(u),
    (u, c) => (u === null ? t.success(null) : inner.is(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * A JSON object whose keys are all optional but must be known: a misspelt key (`learningRate`) is
 * an error, not silently ignored.
 */
const strictPartial = <P extends t.Props>(props: P, name: string): t.Type<t.TypeOfPartialProps<P>, t.OutputOfPartialProps<P>, unknown> => {
  const partial = t.partial(props);
  const known = Object.keys(props);
  return new t.Type<t.TypeOfPartialProps<P>, t.OutputOfPartialProps<P>, unknown>(
    name,
    partial.is,
    (u, c) => {
      if (!isRecord(u)) return t.failure(u, c);
      const unknownKey = Object.keys(u).find((k) => !known.includes(k));
      if (unknownKey !== undefined) {
        return t.failure(u[unknownKey], t.appendContext(c, unknownKey, t.unknown, u[unknownKey]), `unknown key (known keys: ${known.join(', ')})`);
      }
      return partial.validate(u, c);
    },
    partial.encode,
  );
};

/** A `--lr-schedule` text; the failure message says what is wrong with it. */
const LrScheduleText = new t.Type<string, string, unknown>(
  lrScheduleSyntax,
  (u): u is string => typeof u === 'string' && E.isRight(parseLrSchedule(u)),
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c);
    const r = parseLrSchedule(u);
    return E.isRight(r) ? t.success(u) : t.failure(u, c, r.left);
  },
  t.identity,
);

const OptimizerObject = strictPartial({ type: oneOf(optimizerNames), lr: PositiveNumber }, 'an optimizer name or { "type": ..., "lr": ... }');

/** `"adam"` or `{ "type": "adam", "lr": 0.001 }`: dispatch on the JSON type so errors point inside the object. */
const OptimizerField = new t.Type<OptimizerName | t.TypeOf<typeof OptimizerObject>, unknown, unknown>(
  `one of ${optimizerNames.join(', ')}, or { "type": ..., "lr": ... }`,
  (u): u is OptimizerName | t.TypeOf<typeof OptimizerObject> => oneOf(optimizerNames).is(u) || OptimizerObject.is(u),
  (u, c) => (isRecord(u) ? OptimizerObject.validate(u, c) : oneOf(optimizerNames).is(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/**
 * The JSON config file: every key optional, unknown keys refused.
 *
 * @example
 * // config.json
 * { "model": "double", "epochs": 2, "optimizer": { "type": "sgd", "lr": 0.1 }, "evalEvery": 50 }
 */
export const TrainConfigFile = strictPartial(
  {
    model: NonEmptyString,
    iters: PositiveInt,
    epochs: PositiveInt,
    batchSize: PositiveInt,
    optimizer: OptimizerField,
    lr: PositiveNumber,
    lrSchedule: LrScheduleText,
    weightDecay: NonNegativeNumber,
    trainSize: PositiveInt,
    testSize: PositiveInt,
    evalEvery: NonNegativeInt,
    seed: Seed,
    data: orNull(NonEmptyString, 'a directory path or null'),
    out: orNull(NonEmptyString, 'a directory path or null'),
    resume: orNull(NonEmptyString, 'a checkpoint path or null'),
    threads: orNull(PositiveInt, 'a positive integer or null'),
    backend: oneOf(backendNames),
    checkpointEvery: orNull(NonNegativeInt, 'an integer >= 0 or null'),
    onNan: oneOf(onNanChoices),
  },
  'a JSON object',
);
export type TrainConfigFile = t.TypeOf<typeof TrainConfigFile>;

/** Config values given as flags (already parsed to numbers by the flag parsers). Absent = not given. */
export interface TrainFlags {
  readonly model?: string;
  readonly iters?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly optimizer?: OptimizerName;
  readonly lr?: number;
  readonly lrSchedule?: string;
  readonly weightDecay?: number;
  readonly trainSize?: number;
  readonly testSize?: number;
  readonly evalEvery?: number;
  readonly seed?: number;
  readonly data?: string;
  readonly out?: string;
  readonly resume?: string;
  readonly threads?: number;
  readonly backend?: BackendName;
  readonly checkpointEvery?: number;
  readonly onNan?: OnNan;
}

// ---------------------------------------------------------------------------------------------
// Error reporting: one line per problem, `<path>: expected <type name>, got <value>`.

const showValue = (u: unknown): string => {
  if (u === undefined) return 'nothing';
  // JSON would print NaN and Infinity (which a program, not a file, can pass) as null.
  if (typeof u === 'number' && !Number.isFinite(u)) return String(u);
  let s: string | undefined;
  try {
    s = JSON.stringify(u);
  } catch {
    // nested too deeply to print (JSON.stringify recurses): say what it is
    return Array.isArray(u) ? 'an array' : typeof u === 'object' && u !== null ? 'an object' : String(u);
  }
  if (s === undefined) return String(u);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/**
 * One readable line for an io-ts validation error: the dotted path of the value inside the file,
 * what was expected there (the codec's name) and what was found.
 *
 * @example
 * formatValidationError(err); // 'optimizer.lr: expected a positive number, got "fast"'
 */
export const formatValidationError = (error: t.ValidationError): string => {
  const keys = error.context.map((entry) => entry.key).filter((key) => key !== '');
  const where = keys.length === 0 ? '(top level)' : keys.join('.');
  const last = error.context[error.context.length - 1];
  if (error.message !== undefined) return `${where}: ${error.message}`;
  return `${where}: expected ${last?.type.name ?? 'a valid value'}, got ${showValue(error.value)}`;
};

/**
 * Decodes the parsed JSON of a config file. Left is one line naming the first problem with its
 * path inside the file (the deepest one: that is where the value is wrong), and how many others.
 *
 * @example
 * decodeTrainConfigFile({ optimizer: { type: 'adam', lr: 'fast' } });
 * // left('optimizer.lr: expected a positive number, got "fast"')
 */
export const decodeTrainConfigFile = (json: unknown): E.Either<string, TrainConfigFile> =>
  pipe(
    TrainConfigFile.decode(json),
    E.mapLeft((errors) => {
      const sorted = [...errors].sort((a, b) => b.context.length - a.context.length);
      const lines = [...new Set(sorted.map(formatValidationError))];
      const more = lines.length > 1 ? ` (and ${lines.length - 1} more problem${lines.length > 2 ? 's' : ''})` : '';
      return `${lines[0] ?? 'invalid config'}${more}`;
    }),
    E.chain((file) =>
      file.iters !== undefined && file.epochs !== undefined
        ? E.left(`epochs: give either "iters" or "epochs", not both (got iters ${file.iters}, epochs ${file.epochs})`)
        : E.right(file),
    ),
  );

const capThreads = (threads: number | null): number | null => (threads === null ? null : Math.min(threads, machineCores()));

const presetNames: ReadonlySet<string> = new Set(['simple', 'double', 'deep']);

/** A model name stays as it is; a spec path becomes absolute, relative to `base`. */
const resolveModel = (model: string, base: string): string => (presetNames.has(model) ? model : path.resolve(base, model));

const resolvePath = (p: string | null | undefined, base: string): string | null | undefined =>
  p === null || p === undefined ? p : path.resolve(base, p);

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
  const d = defaultTrainConfig;
  const fileOptimizer = typeof file.optimizer === 'string' ? { type: file.optimizer } : (file.optimizer ?? {});
  const optimizerType = flags.optimizer ?? fileOptimizer.type ?? d.optimizer.type;
  const lr = flags.lr ?? fileOptimizer.lr ?? file.lr ?? defaultLearningRate[optimizerType];
  // A flag naming one way of counting steps replaces the file's other way.
  const epochs = flags.epochs ?? (flags.iters !== undefined ? undefined : file.epochs);
  const itersGiven = flags.iters ?? (flags.epochs !== undefined ? undefined : file.iters);
  const batchSize = flags.batchSize ?? file.batchSize ?? d.batchSize;
  const trainSize = flags.trainSize ?? file.trainSize ?? d.trainSize;
  const iters = epochs !== undefined ? epochs * Math.ceil(trainSize / batchSize) : (itersGiven ?? d.iters);
  const fromFileOrFlag = (key: 'data' | 'out' | 'resume'): string | null => {
    const flag = flags[key];
    if (flag !== undefined) return path.resolve(cwd, flag);
    return resolvePath(file[key], fileDir) ?? null;
  };
  return {
    model: flags.model !== undefined ? resolveModel(flags.model, cwd) : file.model !== undefined ? resolveModel(file.model, fileDir) : d.model,
    iters,
    epochs: epochs ?? null,
    batchSize,
    optimizer: { type: optimizerType, lr },
    lrSchedule: flags.lrSchedule ?? file.lrSchedule ?? d.lrSchedule,
    weightDecay: flags.weightDecay ?? file.weightDecay ?? d.weightDecay,
    trainSize,
    testSize: flags.testSize ?? file.testSize ?? d.testSize,
    evalEvery: flags.evalEvery ?? file.evalEvery ?? d.evalEvery,
    seed: flags.seed ?? file.seed ?? d.seed,
    data: fromFileOrFlag('data'),
    out: fromFileOrFlag('out'),
    resume: fromFileOrFlag('resume'),
    // More threads than cores only add workers waiting for a core, each with its own memory: a
    // config file's (or a resumed checkpoint's) count is capped like --threads; the run's first
    // line prints the count used.
    threads: capThreads(flags.threads ?? (file.threads === undefined ? d.threads : file.threads)),
    backend: flags.backend ?? file.backend ?? d.backend,
    checkpointEvery: flags.checkpointEvery ?? (file.checkpointEvery === undefined ? d.checkpointEvery : file.checkpointEvery),
    onNan: flags.onNan ?? file.onNan ?? d.onNan,
  };
};
