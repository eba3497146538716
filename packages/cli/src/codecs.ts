import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { lossSyntax, parseLoss } from '@foldnet/layers';
import { augmentSyntax, lrScheduleSyntax, parseAugment, parseLrSchedule } from '@foldnet/train/config';

/*
 * The codecs of config values, shared by config files and flags. Their names complete the sentence
 * "expected ...", so error lines read naturally: `optimizer.lr: expected a positive number, got
 * "fast"` in a file, `--lr: expected a positive number, got "fast"` as a flag.
 */

// `--lr-schedule`'s text, read by the same parser as trainInWorker's `lrSchedule` (@foldnet/train).
export { lrScheduleSyntax, parseLrSchedule, type LrScheduleSpec } from '@foldnet/train/config';

const numberWhere = (name: string, ok: (n: number) => boolean): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && ok(u),
    (u, c) => (typeof u === 'number' && ok(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

/** A finite number > 0. @example PositiveNumber.is(0.001) // true */
export const PositiveNumber = numberWhere('a positive number', (n) => Number.isFinite(n) && n > 0);
/** A finite number >= 0. @example NonNegativeNumber.is(0) // true */
export const NonNegativeNumber = numberWhere('a number >= 0', (n) => Number.isFinite(n) && n >= 0);
/** A number in [0, 1): momentum, Adam's betas, RMSprop's decay rate. @example UnitRate.is(1) // false */
export const UnitRate = numberWhere('a number in [0, 1)', (n) => Number.isFinite(n) && n >= 0 && n < 1);
/** An integer >= 1. @example PositiveInt.is(2.5) // false */
export const PositiveInt = numberWhere('a positive integer', (n) => Number.isSafeInteger(n) && n >= 1);
/** An integer >= 0. @example NonNegativeInt.is(0) // true */
export const NonNegativeInt = numberWhere('an integer >= 0', (n) => Number.isSafeInteger(n) && n >= 0);
/** An integer in [0, 2^32). @example Seed.is(2 ** 32) // false */
export const Seed = numberWhere('an integer from 0 to 4294967295', (n) => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff);

/** One of a fixed list of names. @example oneOf(backendNames).is('fast') // true */
export const oneOf = <K extends string>(names: readonly K[]): t.Type<K, K, unknown> => {
  const known: ReadonlySet<string> = new Set(names);
  const isK = (u: unknown): u is K => typeof u === 'string' && known.has(u);
  return new t.Type<K, K, unknown>(`one of ${names.join(', ')}`, isK, (u, c) => (isK(u) ? t.success(u) : t.failure(u, c)), t.identity);
};

/** A string with at least one character. @example NonEmptyString.is('runs/a') // true */
export const NonEmptyString = new t.Type<string, string, unknown>(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u.length > 0,
  (u, c) => (typeof u === 'string' && u.length > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/**
 * `inner` or null; the name says both, and failures keep the field's own context.
 *
 * @example
 * orNull(PositiveInt, 'a positive integer or null').is(null); // true
 */
export const orNull = <A>(inner: t.Type<A, A, unknown>, name: string): t.Type<A | null, A | null, unknown> =>
  new t.Type<A | null, A | null, unknown>(
    name,
    (u): u is A | null => u === null || inner.is(u),
    (u, c) => (u === null ? t.success(null) : inner.is(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

/** A JSON object (not null, not an array). @example isRecord({ a: 1 }) // true */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * A JSON object whose keys are all optional but must be known: a misspelt key (`learningRate`) is
 * an error, not silently ignored.
 *
 * @example
 * strictPartial({ lr: PositiveNumber }, 'an object').decode({ learningRate: 1 }); // left: learningRate: unknown key (known keys: lr)
 */
export const strictPartial = <P extends t.Props>(props: P, name: string): t.Type<t.TypeOfPartialProps<P>, t.OutputOfPartialProps<P>, unknown> => {
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

/**
 * A text `parse` accepts; the codec's name is the syntax (it completes "expected ..."), and a
 * failure carries the parser's own message.
 */
const parsedText = (syntax: string, parse: (text: string) => E.Either<string, unknown>): t.Type<string, string, unknown> =>
  new t.Type<string, string, unknown>(
    syntax,
    (u): u is string => typeof u === 'string' && E.isRight(parse(u)),
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c);
      const r = parse(u);
      return E.isRight(r) ? t.success(u) : t.failure(u, c, r.left);
    },
    t.identity,
  );

/** A `--lr-schedule` text; the failure message says what is wrong with it. @example LrScheduleText.is('step:300,450') // true */
export const LrScheduleText = parsedText(lrScheduleSyntax, parseLrSchedule);

/** An `--augment` recipe (`crop:4,flip,erase:0.25`, or `none`); the failure message says what is wrong with it. @example AugmentText.is('crop:4,flip') // true */
export const AugmentText = parsedText(augmentSyntax, parseAugment);

/** A `--loss` text (`ce`, `ce:smooth=0.1`, `mse`, `bce`); the failure message says what is wrong with it. @example LossText.is('ce:smooth=0.1') // true */
export const LossText = parsedText(lossSyntax, parseLoss);

/** A flag's value that must say something: not empty, not only spaces. @example NonEmptyText.is(' ') // false */
export const NonEmptyText = new t.Type<string, string, unknown>(
  'a non-empty value',
  (u): u is string => typeof u === 'string' && u.trim() !== '',
  (u, c) => (typeof u === 'string' && u.trim() !== '' ? t.success(u) : t.failure(u, c, 'expected a non-empty value')),
  t.identity,
);

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
 * One line for a failed decode: the first problem (the deepest: that is where the value is wrong),
 * and how many others.
 *
 * @example
 * describeErrors(errors); // 'seed: expected an integer from 0 to 4294967295, got -1 (and 1 more problem)'
 */
export const describeErrors = (errors: t.Errors): string => {
  const sorted = [...errors].sort((a, b) => b.context.length - a.context.length);
  const lines = [...new Set(sorted.map(formatValidationError))];
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more problem${lines.length > 2 ? 's' : ''})` : '';
  return `${lines[0] ?? 'invalid config'}${more}`;
};

/** A preset's weight initialisation: 'he', 'xavier', 'glorot' or a positive std. @example WeightInitValue.is('he') // true */
export const WeightInitValue = t.union([t.keyof({ he: null, xavier: null, glorot: null }), PositiveNumber], "'he', 'xavier', 'glorot' or a positive std");

// ---------------------------------------------------------------------------------------------
// Users' own images: the size they are resized to, and the channels the network takes.

/** `--image-size`: `HxW`, whole pixels from 1 to 4096 each. */
export const imageSizeSyntax = 'HxW: a height and a width in pixels, 1 to 4096 each (e.g. 32x32)';

/** The height and width of an `HxW` text, or a message saying what is wrong with it. @example parseImageSize('32x48') // right({ height: 32, width: 48 }) */
export const parseImageSize = (text: string): E.Either<string, { readonly height: number; readonly width: number }> => {
  const m = /^(\d{1,4})x(\d{1,4})$/.exec(text);
  const height = m === null ? Number.NaN : Number(m[1]);
  const width = m === null ? Number.NaN : Number(m[2]);
  return [height, width].every((v) => v >= 1 && v <= 4096) ? E.right({ height, width }) : E.left(`expected ${imageSizeSyntax}, got ${JSON.stringify(text)}`);
};

/** An `--image-size` text. @example ImageSizeText.is('28x28') // true */
export const ImageSizeText = parsedText(imageSizeSyntax, parseImageSize);

/** A channel count a network of images takes: 1 (grey) or 3 (RGB). @example ChannelCount.is(3) // true */
export const ChannelCount = new t.Type<1 | 3, 1 | 3, unknown>(
  '1 (grey) or 3 (RGB)',
  (u): u is 1 | 3 => u === 1 || u === 3,
  (u, c) => (u === 1 || u === 3 ? t.success(u) : t.failure(u, c)),
  t.identity,
);
