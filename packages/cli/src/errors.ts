import { FoldnetError } from '@foldnet/core';

/**
 * Errors the CLI reports as one line on stderr, with the exit code they stand for:
 * 2 for bad input (flags, values, files, configs), 1 for a check that ran and failed
 * (gradcheck over tolerance, training stopped on NaN) or for an internal error.
 */

/** Bad input from the user: a flag, a value, a file or a config. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/** A check that ran and failed (the report was printed already). Exit code 1. */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
  readonly exitCode = 1;
}

/**
 * A signal stopped a command (Ctrl-C's SIGINT, SIGTERM, SIGHUP) and it stopped cleanly after saving
 * what it could; the message says where. Exit code 128 + the signal's number, as shells report a
 * job the signal ended: 130 (SIGINT, the default), 143 (SIGTERM), 129 (SIGHUP).
 *
 * @example
 * throw new Interrupted('interrupted at step 17: saved run/checkpoint.safetensors');
 */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(
    message: string,
    readonly exitCode = 130,
  ) {
    super(message);
  }
}

/** What the CLI prints and returns for an error: one line and an exit code. */
export interface ErrorReport {
  readonly line: string;
  readonly exitCode: number;
}

/** FoldnetError codes that come from what the user gave (a file, a spec, a config): exit 2. */
const inputCodes: ReadonlySet<string> = new Set(['shape', 'geometry', 'dtype', 'value', 'io', 'format', 'config']);

const isShapeErrorValue = (u: unknown): u is { readonly _tag: 'ShapeError'; readonly message: string } =>
  typeof u === 'object' && u !== null && '_tag' in u && u._tag === 'ShapeError' && 'message' in u && typeof u.message === 'string';

const firstLine = (s: string): string => s.split('\n')[0] ?? s;

const nodeErrorCode = (u: unknown): string | undefined =>
  u instanceof Error && 'code' in u && typeof u.code === 'string' ? u.code : undefined;

/**
 * Maps anything thrown inside a command to the line printed on stderr and the exit code.
 * `FoldnetError` and layer `ShapeError` values become `foldnet <command>: <message>` with exit 2,
 * file-system errors name the path, anything else is an internal error (exit 1).
 *
 * @example
 * describeError('train', new UsageError('--lr: expected a positive number, got "fast"'));
 * // { line: 'foldnet train: --lr: expected a positive number, got "fast"', exitCode: 2 }
 */
export const describeError = (command: string, e: unknown): ErrorReport => {
  const prefix = command === '' ? 'foldnet' : `foldnet ${command}`;
  if (e instanceof UsageError || e instanceof CheckFailed || e instanceof Interrupted) return { line: `${prefix}: ${firstLine(e.message)}`, exitCode: e.exitCode };
  if (e instanceof FoldnetError) {
    return { line: `${prefix}: ${firstLine(e.message)}`, exitCode: inputCodes.has(e.code) ? 2 : 1 };
  }
  if (isShapeErrorValue(e)) return { line: `${prefix}: ${firstLine(e.message)}`, exitCode: 2 };
  const code = nodeErrorCode(e);
  if (code !== undefined && e instanceof Error && /^E[A-Z]+$/.test(code)) {
    // Node's fs errors read "ENOENT: no such file or directory, open 'x'": already one clear line.
    return { line: `${prefix}: ${firstLine(e.message)}`, exitCode: 2 };
  }
  const message = e instanceof Error ? firstLine(e.message) : String(e);
  return { line: `${prefix}: internal error: ${message} (run with --debug for the stack trace)`, exitCode: 1 };
};
