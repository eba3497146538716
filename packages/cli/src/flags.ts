import { isLeft } from 'fp-ts/lib/Either.js';
import { parseLrSchedule } from './config.js';
import { UsageError } from './errors.js';

/*
 * Parsers for flag values, used as commander argParsers. They throw UsageError, so a bad value
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

const parseNumber = parseDecimal;

const numberFlag =
  (flag: string, expected: string, ok: (n: number) => boolean) =>
  (text: string): number => {
    const n = parseNumber(text);
    if (!ok(n)) {
      // "0x10" is 16 to Number() but not to a reader of the command line: name the reading refused.
      const other = /^\s*$/.test(text) ? Number.NaN : Number(text);
      const hint = Number.isNaN(n) && Number.isFinite(other) ? ` (numbers are read in decimal notation only: write ${other})` : '';
      throw new UsageError(`${flag}: expected ${expected}, got ${JSON.stringify(text)}${hint}`);
    }
    return n;
  };

/** `--iters 1000`: an integer >= 1. @example positiveIntFlag('--iters')('20') // 20 */
export const positiveIntFlag = (flag: string): ((text: string) => number) =>
  numberFlag(flag, 'a positive integer', (n) => Number.isSafeInteger(n) && n >= 1);

/** `--eval-every 0`: an integer >= 0. */
export const nonNegativeIntFlag = (flag: string): ((text: string) => number) =>
  numberFlag(flag, 'an integer >= 0', (n) => Number.isSafeInteger(n) && n >= 0);

/** `--lr 0.01`: a finite number > 0. */
export const positiveNumberFlag = (flag: string): ((text: string) => number) =>
  numberFlag(flag, 'a positive number', (n) => Number.isFinite(n) && n > 0);

/** `--weight-decay 0`: a finite number >= 0. */
export const nonNegativeNumberFlag = (flag: string): ((text: string) => number) =>
  numberFlag(flag, 'a number >= 0', (n) => Number.isFinite(n) && n >= 0);

/** `--seed 42`: an unsigned 32-bit integer. */
export const seedFlag = (flag: string): ((text: string) => number) =>
  numberFlag(flag, 'an integer from 0 to 4294967295', (n) => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff);

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
export const oneOfFlag =
  <K extends string>(flag: string, names: readonly K[]) =>
  (text: string): K => {
    const found = names.find((n) => n === text);
    if (found === undefined) throw new UsageError(`${flag}: expected one of ${names.join(', ')}, got ${JSON.stringify(text)}`);
    return found;
  };

/** `--lr-schedule cosine`: a schedule `parseLrSchedule` accepts. */
export const lrScheduleFlag =
  (flag: string) =>
  (text: string): string => {
    const r = parseLrSchedule(text);
    if (isLeft(r)) throw new UsageError(`${flag}: ${r.left}`);
    return text;
  };

/** `--data dir`: a non-empty string. */
export const nonEmptyFlag =
  (flag: string) =>
  (text: string): string => {
    if (text.trim() === '') throw new UsageError(`${flag}: expected a non-empty value`);
    return text;
  };

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
