import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { LrScheduleText, NonEmptyText, NonNegativeInt, NonNegativeNumber, oneOf, PositiveInt, PositiveNumber, Seed } from './codecs.js';
import { UsageError } from './errors.js';

/*
 * Parsers for flag values, used as commander argParsers: each reads the text with the codec that
 * checks the same value in a config file (see `flagReader`). They throw UsageError, so a bad value
 * reads like every other input error: `--lr: expected a positive number, got "fast"`.
 */

/**
 * A number as people write one in decimal: an optional sign, digits with an optional fraction (or
 * a fraction alone), an optional exponent: `0.01`, `1e-3`, `.5`, `-2`. JavaScript's Number()
 * also takes `0x10` (16), `0b11`, `0o17`, `Infinity` and surrounding blanks, none of which a user
 * typing a learning rate means: they are refused.
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `text` as a decimal number (see DECIMAL), NaN for anything else. @example parseDecimal('1e-3') // 0.001; parseDecimal('0x10') // NaN */
export const parseDecimal = (text: string): number => (DECIMAL.test(text) ? Number(text) : Number.NaN);

/**
 * A reader of a flag's text for commander's argParser: the text (read as a decimal number first
 * when `read` is 'number', see parseDecimal) decoded by `codec`. A bad value throws a UsageError
 * that reads like a config file's problem: `--lr: expected a positive number, got "fast"`, or the
 * codec's own message.
 *
 * @example
 * flagReader(PositiveInt, 'number')('--iters')('20'); // 20
 * flagReader(PositiveInt, 'number')('--iters')('2.5'); // throws '--iters: expected a positive integer, got "2.5"'
 */
export const flagReader =
  <A, O>(codec: t.Type<A, O, unknown>, read: 'number' | 'text') =>
  (flag: string) =>
  (text: string): A => {
    const n = read === 'number' ? parseDecimal(text) : Number.NaN;
    const r = codec.decode(read === 'number' ? n : text);
    if (E.isRight(r)) return r.right;
    const message = r.left[0]?.message;
    if (message !== undefined) throw new UsageError(`${flag}: ${message}`);
    // "0x10" is 16 to Number() but not to a reader of the command line: name the reading refused.
    const other = read === 'number' && !/^\s*$/.test(text) ? Number(text) : Number.NaN;
    const hint = Number.isNaN(n) && Number.isFinite(other) ? ` (numbers are read in decimal notation only: write ${other})` : '';
    throw new UsageError(`${flag}: expected ${codec.name}, got ${JSON.stringify(text)}${hint}`);
  };

/** `--iters 1000`: an integer >= 1. @example positiveIntFlag('--iters')('20') // 20 */
export const positiveIntFlag = flagReader(PositiveInt, 'number');

/** `--eval-every 0`: an integer >= 0. @example nonNegativeIntFlag('--eval-every')('0') // 0 */
export const nonNegativeIntFlag = flagReader(NonNegativeInt, 'number');

/** `--lr 0.01`: a finite number > 0. @example positiveNumberFlag('--lr')('0.01') // 0.01 */
export const positiveNumberFlag = flagReader(PositiveNumber, 'number');

/** `--weight-decay 0`: a finite number >= 0. @example nonNegativeNumberFlag('--jitter')('0.1') // 0.1 */
export const nonNegativeNumberFlag = flagReader(NonNegativeNumber, 'number');

/** `--seed 42`: an unsigned 32-bit integer. @example seedFlag('--seed')('42') // 42 */
export const seedFlag = flagReader(Seed, 'number');

/**
 * `--threads 4`: a positive integer, capped at the cores this machine has (os.availableParallelism):
 * each thread beyond them is a worker with its own memory (256 workers took 2.2 GB on 2 cores)
 * that can only wait for a core. A larger value is lowered to `cores` and `warn` is told, once.
 *
 * @example threadsFlag('--threads', 2, (line) => io.err(line))('256') // 2, warns "--threads 256: ..."
 */
export const threadsFlag =
  (flag: string, cores: number, warn: (line: string) => void) =>
  (text: string): number => {
    const n = positiveIntFlag(flag)(text);
    if (n <= cores) return n;
    warn(`${flag} ${n}: this machine has ${cores} core${cores === 1 ? '' : 's'}; using ${cores} thread${cores === 1 ? '' : 's'} (more would only wait for a core, each with its own memory)`);
    return cores;
  };

/** `--optimizer adam`: one of a fixed list. @example oneOfFlag('--backend', ['fast', 'reference'])('fast') */
export const oneOfFlag = <K extends string>(flag: string, names: readonly K[]): ((text: string) => K) => flagReader(oneOf(names), 'text')(flag);

/** `--lr-schedule cosine`: a schedule `parseLrSchedule` accepts. @example lrScheduleFlag('--lr-schedule')('step:300,450') */
export const lrScheduleFlag = flagReader(LrScheduleText, 'text');

/** `--data dir`: a value that is not blank. @example nonEmptyFlag('--onnx')('model.onnx') */
export const nonEmptyFlag = flagReader(NonEmptyText, 'text');

/** Reads an option commander parsed (its values are untyped) as a number, if present. */
export const optNumber = (opts: Readonly<Record<string, unknown>>, key: string): number | undefined => {
  const v = opts[key];
  return typeof v === 'number' ? v : undefined;
};

/** Reads an option as a string, if present. */
export const optString = (opts: Readonly<Record<string, unknown>>, key: string): string | undefined => {
  const v = opts[key];
  return typeof v === 'string' ? v : undefined;
};

/** Reads an option as a boolean, if present. */
export const optBoolean = (opts: Readonly<Record<string, unknown>>, key: string): boolean | undefined => {
  const v = opts[key];
  return typeof v === 'boolean' ? v : undefined;
};

/** Reads an option whose parser returned one of `names`. */
export const optOneOf = <K extends string>(opts: Readonly<Record<string, unknown>>, key: string, names: readonly K[]): K | undefined => {
  const v = opts[key];
  return names.find((n) => n === v);
};

/**
 * A flag given any number of times (`--plugin a.js --plugin b.js`): each value non-empty, collected in
 * order. Commander passes the values so far (undefined before the first).
 *
 * @example repeatableFlag('--plugin')('b.js', ['a.js']) // ['a.js', 'b.js']
 */
export const repeatableFlag =
  (flag: string) =>
  (text: string, previous: readonly string[] | undefined): string[] =>
    [...(previous ?? []), nonEmptyFlag(flag)(text)];

/** Reads an option a repeatable flag collected; [] when not given. */
export const optStrings = (opts: Readonly<Record<string, unknown>>, key: string): string[] => {
  const v = opts[key];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
};
