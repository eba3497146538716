import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_TEXT_BYTES, decodeUtf8, parseJson, readRegularFile } from '@foldnet/train';
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
   * The command as the user can type it again, for lines that print one to run (`pnpm foldnet`
   * inside the repository, `foldnet` when installed; see typedCommand). Absent: `foldnet`.
   */
  readonly command?: string;
  /**
   * Calls `handler` with the signal on Ctrl-C (SIGINT), SIGTERM (what docker, systemd and Kubernetes
   * send) or SIGHUP (the terminal closed) instead of ending the process, until the returned function
   * is called. Absent: signals are not watched (tests, embedding programs).
   */
  readonly onInterrupt?: (handler: (signal: InterruptSignal) => void) => () => void;
}

/** The signals a command stops cleanly on (saving what it can), as Ctrl-C. */
export const interruptSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof interruptSignals)[number];

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

/**
 * A word the shell reads back as `text`: left as it is when it holds only characters no shell
 * treats specially, else in single quotes (a quote inside becomes '\'').
 *
 * @example shellWord('runs/a b') // "'runs/a b'"
 */
export const shellWord = (text: string): string => (/^[A-Za-z0-9_/.,:@%+=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`);

/**
 * A path as the CLI prints it, so that it can be pasted back where the user stands (`cwd`): a path
 * the user gave absolute stays absolute; one the user gave relative stays relative to `cwd`
 * (`../x` too); one foldnet chose (no `given`) is relative below `cwd` and absolute elsewhere
 * (`/tmp/x`, never `../../tmp/x`).
 *
 * @example
 * shownPath('/repo', '/tmp/x/checkpoint.safetensors', '/tmp/x'); // '/tmp/x/checkpoint.safetensors'
 * shownPath('/repo/examples', '/repo/runs/a');                   // '/repo/runs/a'
 * shownPath('/repo', '/repo/runs/a');                            // 'runs/a'
 */
export const shownPath = (cwd: string, target: string, given?: string): string => {
  const absolute = path.resolve(cwd, target);
  if (given !== undefined && path.isAbsolute(given)) return absolute;
  const relative = path.relative(cwd, absolute);
  if (relative === '') return '.';
  if (given !== undefined) return relative;
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative;
};

/** The nearest folder from `dir` upwards that holds a package.json, if any. */
const packageFolderOf = (dir: string): string | undefined => {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, 'package.json'))) return at;
    if (path.dirname(at) === at) return undefined;
  }
};

/**
 * How the user starts this foldnet again, standing in `cwd`: when it runs as the workspace's `foldnet`
 * script (pnpm sets npm_lifecycle_event and runs it in the workspace root, `scriptDir`), `pnpm foldnet`,
 * or `pnpm -w foldnet` inside a package's own folder (there pnpm would look for that package's scripts);
 * `foldnet` when the `foldnet` that PATH finds is this very executable (`script`, linked by
 * scripts/setup.sh or installed with npm); else `node <script>`.
 *
 * @example typedCommand({ npm_lifecycle_event: 'foldnet' }, '/repo/packages/cli/dist/bin.js', '/repo/examples', '/repo') // 'pnpm foldnet'
 */
export const typedCommand = (env: Readonly<Record<string, string | undefined>>, script: string, cwd: string, scriptDir: string = cwd): string => {
  if (env.npm_lifecycle_event === 'foldnet') return packageFolderOf(cwd) === path.resolve(scriptDir) ? 'pnpm foldnet' : 'pnpm -w foldnet';
  const real = (file: string): string | undefined => {
    try {
      return fs.realpathSync(file);
    } catch {
      return undefined;
    }
  };
  const self = real(script);
  const onPath = (env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '').map((dir) => real(path.join(dir, 'foldnet')));
  if (self !== undefined && onPath.find((found) => found !== undefined) === self) return 'foldnet';
  return `node ${shellWord(shownPath(cwd, script))}`;
};

/** The real process's streams, directory (see userDirectory), environment and command (see typedCommand). */
/**
 * Whether standard output's reader has gone (`foldnet predict photos/ | head -3`): its lines are then dropped and the
 * command goes on to its end (a run still writes its folder and checkpoint), where the write's EPIPE error would have
 * ended the process with a stack trace. Any other error of the stream is thrown as before.
 */
let stdoutGone = false;
let stdoutWatched = false;
const watchStdout = (): void => {
  if (stdoutWatched) return;
  stdoutWatched = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutGone = true;
  });
};

export const nodeIo = (): Io => {
  watchStdout();
  return {
    out: (text) => {
      if (!stdoutGone) process.stdout.write(text);
    },
    err: (text) => {
      process.stderr.write(text);
    },
    stdoutIsTTY: process.stdout.isTTY === true,
    stdout: process.stdout,
    cwd: userDirectory(process.env, process.cwd()),
    env: process.env,
    command: typedCommand(process.env, process.argv[1] ?? 'foldnet', userDirectory(process.env, process.cwd()), process.cwd()),
    onInterrupt: (handler) => {
      const listeners = interruptSignals.map((signal) => [signal, () => handler(signal)] as const);
      for (const [signal, listener] of listeners) process.on(signal, listener);
      return () => {
        for (const [signal, listener] of listeners) process.off(signal, listener);
      };
    },
  };
};

const reason = (e: unknown): string => {
  const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : '';
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  return e instanceof Error ? e.message : String(e);
};

/**
 * Reads a file the user named, turning every refusal into one UsageError line: `<what> <shown
 * path>: no such file`. Only a regular file of at most `maxBytes` is read (default
 * MAX_TEXT_BYTES, 4 MiB: configs and model specs); a FIFO, a device or a directory is refused
 * before a read could block or never end (`--config /dev/zero: is a character device, not a
 * regular file`).
 *
 * @example
 * readUserFile('/home/me', 'cfg.json', '--config'); // Uint8Array, or throws "--config cfg.json: no such file"
 */
export const readUserFile = (cwd: string, file: string, what: string, maxBytes: number = MAX_TEXT_BYTES): Uint8Array => {
  const r = readRegularFile(path.resolve(cwd, file), maxBytes);
  if (r._tag === 'Left') throw new UsageError(`${what} ${file}: ${r.left.kind === 'io' ? reason(r.left.error) : r.left.detail}`);
  return r.right;
};

/** Reads a file the user named as UTF-8 text (see readUserFile); bytes that are not UTF-8 are refused. */
export const readUserText = (cwd: string, file: string, what: string): string => {
  const text = decodeUtf8(readUserFile(cwd, file, what));
  if (text._tag === 'Left') throw new UsageError(`${what} ${file}: ${text.left}`);
  return text.right;
};

/**
 * Parses JSON from a file the user named, by foldnet's one rule for JSON (a leading BOM is
 * ignored, a key repeated in one object is refused, as in checkpoint headers); a problem is one
 * UsageError line naming the file.
 *
 * @example
 * readUserJson('/home/me', 'spec.json', 'model spec'); // unknown
 */
export const readUserJson = (cwd: string, file: string, what: string): unknown => {
  const parsed = parseJson(readUserText(cwd, file, what));
  if (parsed._tag === 'Left') throw new UsageError(`${file}: ${parsed.left}`);
  return parsed.right;
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
