import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './errors.js';

/**
 * Where a command writes and what it knows of its surroundings. `nodeIo()` is the real process;
 * tests can pass their own.
 *
 * @example
 * const io = nodeIo(); io.out('hello\n');
 */
export interface Io {
  /** Writes text to standard output as given (add the newline yourself). */
  readonly out: (text: string) => void;
  /** Writes text to standard error as given. */
  readonly err: (text: string) => void;
  /** Whether standard output is a terminal (live progress bar) or not (plain lines). */
  readonly stdoutIsTTY: boolean;
  /** The stream behind `out`, for the progress bar. */
  readonly stdout: NodeJS.WritableStream;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) instead of ending the process, until the returned function
   * is called. Absent: Ctrl-C is not watched (tests, embedding programs).
   */
  readonly onInterrupt?: (handler: () => void) => () => void;
}

/**
 * The directory the user's relative paths start from. pnpm (and npm) run a workspace script in the
 * workspace's root and pass the directory the command was typed in as INIT_CWD: when foldnet runs as
 * that script (`pnpm foldnet ...`, npm_lifecycle_event `foldnet`), paths are relative to INIT_CWD, as
 * the user wrote them. Any other start (node dist/bin.js, a program spawning it from inside another
 * script, whose environment carries that script's INIT_CWD) keeps the process's own directory.
 *
 * @example userDirectory({ npm_lifecycle_event: 'foldnet', INIT_CWD: '/repo/examples' }, '/repo') // '/repo/examples'
 */
export const userDirectory = (env: Readonly<Record<string, string | undefined>>, processCwd: string): string => {
  const init = env.INIT_CWD;
  return env.npm_lifecycle_event === 'foldnet' && init !== undefined && path.isAbsolute(init) ? init : processCwd;
};

/** The real process's streams, directory (see userDirectory) and environment. */
export const nodeIo = (): Io => ({
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
  stdoutIsTTY: process.stdout.isTTY === true,
  stdout: process.stdout,
  cwd: userDirectory(process.env, process.cwd()),
  env: process.env,
  onInterrupt: (handler) => {
    process.on('SIGINT', handler);
    return () => {
      process.off('SIGINT', handler);
    };
  },
});

const reason = (e: unknown): string => {
  const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : '';
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  return e instanceof Error ? e.message : String(e);
};

/**
 * Reads a file the user named, turning file-system failures into one UsageError line:
 * `<what> <shown path>: no such file`.
 *
 * @example
 * readUserFile('/home/me', 'cfg.json', '--config'); // Uint8Array, or throws "--config cfg.json: no such file"
 */
export const readUserFile = (cwd: string, file: string, what: string): Uint8Array => {
  try {
    return new Uint8Array(fs.readFileSync(path.resolve(cwd, file)));
  } catch (e) {
    throw new UsageError(`${what} ${file}: ${reason(e)}`);
  }
};

/** Reads a file the user named as UTF-8 text (see readUserFile). */
export const readUserText = (cwd: string, file: string, what: string): string =>
  Buffer.from(readUserFile(cwd, file, what)).toString('utf8');

/**
 * Parses JSON from a file the user named; a syntax error is one UsageError line naming the file.
 *
 * @example
 * readUserJson('/home/me', 'spec.json', 'model spec'); // unknown
 */
export const readUserJson = (cwd: string, file: string, what: string): unknown => {
  const text = readUserText(cwd, file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
};

/** Throws a UsageError unless `dir` is an existing directory. */
export const expectDirectory = (cwd: string, dir: string, what: string): string => {
  const full = path.resolve(cwd, dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch (e) {
    throw new UsageError(`${what} ${dir}: ${reason(e) === 'no such file' ? 'no such directory' : reason(e)}`);
  }
  if (!stat.isDirectory()) throw new UsageError(`${what} ${dir}: not a directory`);
  return full;
};
