import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { kindOf, nodeAtomicFs, writeFileAtomicWith, type AtomicFs } from '@foldnet/train';
import { exitIfOrphaned } from './malloc.js';
import { UsageError } from './errors.js';
import { shownPath } from './io.js';

/**
 * The files of a run folder, exactly these names (scripts rely on them). losses.jsonl holds every
 * step's batch loss (`{"step":1,"loss":2.3}`), the loss chart's points, so a resumed run keeps them.
 */
export const runFiles = [
  'config.json',
  'metrics.jsonl',
  'metrics.csv',
  'losses.jsonl',
  'checkpoint.safetensors',
  'accuracy.svg',
  'accuracy.png',
  'loss.svg',
  'loss.png',
  'report.html',
] as const;
export type RunFile = (typeof runFiles)[number];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * The timestamp part of a run folder's name, in UTC: `20261129-153012`.
 *
 * @example
 * runTimestamp(new Date(Date.UTC(2026, 10, 29, 15, 30, 12))); // '20261129-153012'
 */
export const runTimestamp = (d: Date): string =>
  `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;

const errorCode = (e: unknown): string | undefined => (e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined);

/**
 * `mkdir -p` that tries each missing folder once, from the outermost down, and lets the first
 * failure through as it is. Node's recursive mkdir retries a component that fails with ENOENT
 * by creating its parent, which exists: under /proc that loops forever at 100% CPU, and on a
 * read-only file system it reports ENOENT instead of EROFS.
 *
 * @example makeDirectories('/home/me/runs/a/b'); // creates runs, runs/a, runs/a/b as needed
 */
export const makeDirectories = (dir: string): void => {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      if (fs.statSync(at).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: 'ENOTDIR' });
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw e;
    }
    if (path.dirname(at) === at) break; // the root itself is missing: mkdir below reports why
    missing.push(at);
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      // Another process made it meanwhile: fine, if it is a folder.
      if (errorCode(e) !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw e;
    }
  }
};

/**
 * Refuses a run folder where a run file's name is taken by something other than a regular file
 * (a symbolic link planted there, a FIFO, a folder): every write would be refused later, after
 * the training it was to save.
 */
const checkRunFiles = (dir: string, shown: string): void => {
  for (const name of runFiles) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(path.join(dir, name));
    } catch {
      continue; // missing (or unreadable: the write will say why)
    }
    if (!stat.isFile()) throw new UsageError(`run folder ${shown}: ${name} is ${kindOf(stat)}; foldnet writes its run files only as regular files`);
  }
};

/** The lock a run holds on its folder while it writes there: a file holding the pid of the process. */
export const LOCK_FILE = '.foldnet.lock';

/** The run files whose presence means the folder holds a run's results (a resumable run, or its history). */
const RESULT_FILES: readonly RunFile[] = ['checkpoint.safetensors', 'metrics.jsonl'];

/** What a folder given as a run folder holds. */
export type FolderContents =
  | { readonly kind: 'missing' }
  /** Nothing, or only what foldnet leaves while it works (its lock, temporary files of its writes). */
  | { readonly kind: 'empty' }
  /** A foldnet run folder; `results` names the checkpoint or metrics it holds (regular, not empty). */
  | { readonly kind: 'run'; readonly results: readonly RunFile[] }
  /** Anything else: `example` is one of its entries that foldnet did not write. */
  | { readonly kind: 'foreign'; readonly example: string };

const isRunFile = (name: string): name is RunFile => runFiles.some((f) => f === name);

/** foldnet's own housekeeping names: the lock and the temporary files of atomic writes and of the lock. */
const isHousekeeping = (name: string): boolean =>
  name === LOCK_FILE || (name.endsWith('.tmp') && [...runFiles, LOCK_FILE].some((f) => name.startsWith(`.${f}.`)));

/**
 * Classifies a folder before a run writes into it. A foldnet run folder holds only run files (and
 * foldnet's lock and temporary files), or holds a config.json with a checkpoint or metrics beside
 * it (a run folder a user added notes to). Anything else that is not empty is foreign: `/`, a home
 * folder, a source tree.
 *
 * @example inspectRunFolder('/'); // { kind: 'foreign', example: 'bin' }
 */
export const inspectRunFolder = (dir: string): FolderContents => {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir).sort();
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return { kind: 'missing' };
    throw e;
  }
  // a result is a regular file with something in it (a run killed at start-up leaves empty metrics)
  const holdsData = (name: string): boolean => {
    const stat = fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false });
    return stat !== undefined && stat.isFile() && stat.size > 0;
  };
  const own = entries.filter((e) => !isHousekeeping(e));
  if (own.length === 0) return { kind: 'empty' };
  const results = RESULT_FILES.filter((f) => own.includes(f) && holdsData(f));
  const other = own.find((e) => !isRunFile(e));
  if (other === undefined || (own.includes('config.json') && results.length > 0)) return { kind: 'run', results };
  return { kind: 'foreign', example: other };
};

/** Whether `pid` is a running process: it exists (EPERM: someone else's), and is not a zombie (Linux /proc says). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (errorCode(e) !== 'EPERM') return false;
  }
  // A killed process whose parent died too stays a zombie until a reaper collects it (in a container, maybe never).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill
  }
};

/** The pid a lock file names, or undefined when it holds anything else. */
const lockHolder = (lock: string): number | undefined => {
  let text: string;
  try {
    text = fs.readFileSync(lock, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return /^\d+$/.test(text.trim()) && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
};

/** A run's hold on its folder; `release` removes the lock (only if it is still this process's). */
export interface RunFolderLock {
  readonly release: () => void;
}

/**
 * Takes the lock of a run folder: `.foldnet.lock`, made whole (pid and newline) under a temporary
 * name and linked into place, so it exists only complete and only once (link fails if the name
 * is taken). A lock held by a live process is refused, naming the folder and the pid; a lock left
 * by a process that is gone (killed with SIGKILL) is taken over, and `note` says so.
 *
 * @example const lock = lockRunFolder('/home/me/runs/a', 'runs/a', console.log); ...; lock.release();
 */
export const lockRunFolder = (dir: string, shown: string, note: (line: string) => void): RunFolderLock => {
  const lock = path.join(dir, LOCK_FILE);
  const temp = path.join(dir, `.${LOCK_FILE}.${process.pid}.tmp`);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; ; attempt++) {
    fs.writeFileSync(temp, mine, { flag: 'w', mode: 0o644 });
    try {
      fs.linkSync(temp, lock);
      return {
        release: () => {
          if (lockHolder(lock) === process.pid) fs.rmSync(lock, { force: true });
        },
      };
    } catch (e) {
      if (errorCode(e) !== 'EEXIST') throw new UsageError(`cannot lock the run folder ${shown}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      fs.rmSync(temp, { force: true });
    }
    const stat = fs.lstatSync(lock, { throwIfNoEntry: false });
    if (stat !== undefined && !stat.isFile()) throw new UsageError(`run folder ${shown}: ${LOCK_FILE} is ${kindOf(stat)}; foldnet keeps its lock there as a regular file`);
    const holder = lockHolder(lock);
    if (holder !== undefined && isAlive(holder)) {
      throw new UsageError(`run folder ${shown} is in use by another run (pid ${holder}, in ${LOCK_FILE}); wait for it to end or give another --out`);
    }
    if (attempt >= 3) throw new UsageError(`run folder ${shown}: cannot take over ${LOCK_FILE} (other runs keep taking it)`);
    // The holder is gone: take the lock over, unless another run did so meanwhile (the lock changed).
    if (lockHolder(lock) === holder) {
      fs.rmSync(lock, { force: true });
      note(`run folder ${shown}: ${holder === undefined ? 'an unreadable lock' : `the lock of pid ${holder}, which is no longer running,`} taken over`);
    }
  }
};

/** Where a run writes, as `openRunFolder` resolved it. */
export interface OpenRunFolder extends RunFolderLock {
  /** The folder, absolute. */
  readonly dir: string;
  /** The folder as the user would type it: relative below cwd, absolute elsewhere. */
  readonly shown: string;
  /** Whether the run continues the one whose checkpoint it resumes, in that run's own folder. */
  readonly continuing: boolean;
}

/** What `openRunFolder` needs to know of the run. */
export interface RunFolderRequest {
  /** The directory relative paths start from. */
  readonly cwd: string;
  /** --out, when given. */
  readonly out: string | null;
  /** The checkpoint --resume continues from (absolute), when resuming. */
  readonly resume?: string;
  /** --overwrite: replace the run a folder holds. */
  readonly overwrite: boolean;
  /** The model's short name, for a new folder's name. */
  readonly model: string;
  readonly now: Date;
  /** Prints one line to the user (what is continued, replaced or taken over). */
  readonly note: (line: string) => void;
}

const sameFolder = (a: string, b: string): boolean => {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
};

/**
 * Resolves, creates and locks the folder a run writes into, refusing what would lose or scatter
 * files (exit 2):
 * - `--out` given: that folder; without it, a resumed run continues in its checkpoint's own run
 *   folder, and a new run gets `runs/<timestamp>-<model>/` under `cwd` (`-2`, `-3`, ... when a run
 *   started in the same second);
 * - a folder that is not empty and not a foldnet run folder (`/`, a home folder) is refused;
 * - a run folder holding a run is continued only by `--resume` of its own checkpoint, or replaced
 *   with `--overwrite` (its run files are removed, and `note` says which);
 * - a folder another live run holds is refused naming its pid (see lockRunFolder);
 * - names of run files taken by links, FIFOs or folders are refused; temporary files that killed
 *   runs left are removed; a failure to create names its real cause (EACCES, EROFS, ENOTDIR).
 *
 * @example
 * const run = openRunFolder({ cwd: '/home/me', out: null, overwrite: false, model: 'simple', now: new Date(), note: console.log });
 * run.dir; // '/home/me/runs/20261129-153012-simple'
 */
export const openRunFolder = (r: RunFolderRequest): OpenRunFolder => {
  const { cwd } = r;
  // As the user would type it: relative below cwd, absolute elsewhere (not ../../../proc/x).
  const shownOf = (dir: string): string => shownPath(cwd, dir);
  const make = (dir: string, exclusive: boolean): boolean => {
    try {
      if (exclusive) {
        makeDirectories(path.dirname(dir));
        fs.mkdirSync(dir);
      } else {
        makeDirectories(dir);
      }
      return true;
    } catch (e) {
      if (exclusive && errorCode(e) === 'EEXIST') return false;
      throw new UsageError(`cannot create the run folder ${shownOf(dir)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const refuseForeign = (dir: string, what: string): void => {
    const contents = inspectRunFolder(dir);
    if (contents.kind === 'foreign') {
      throw new UsageError(`${what}: not empty and not a foldnet run folder (it holds ${contents.example}); give a new or empty folder`);
    }
  };
  // A run is continued in place from its folder's own checkpoint; another file there (an older copy)
  // would rewind the folder's history, so it is resumed into a new folder like a checkpoint from elsewhere.
  const resumeDir = r.resume === undefined || path.basename(r.resume) !== 'checkpoint.safetensors' ? undefined : path.dirname(r.resume);
  let dir: string;
  if (r.out !== null) {
    dir = path.resolve(cwd, r.out);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--out ${shownOf(dir)}: exists and is not a directory`);
    refuseForeign(dir, `--out ${shownOf(dir)}`);
    make(dir, false);
  } else if (resumeDir !== undefined && inspectRunFolder(resumeDir).kind === 'run') {
    dir = resumeDir;
  } else {
    if (r.resume !== undefined) r.note(`${shownOf(r.resume)} is not the checkpoint of a run folder: the resumed run writes a new one`);
    const base = path.resolve(cwd, 'runs', `${runTimestamp(r.now)}-${r.model}`);
    for (let i = 1; ; i++) {
      dir = i === 1 ? base : `${base}-${i}`;
      if (make(dir, true)) break;
    }
  }
  const shown = shownOf(dir);
  const continuing = resumeDir !== undefined && sameFolder(dir, resumeDir);
  const lock = lockRunFolder(dir, shown, r.note);
  try {
    checkRunFiles(dir, shown);
    const contents = inspectRunFolder(dir);
    const results = contents.kind === 'run' ? contents.results : [];
    if (continuing && r.overwrite) {
      throw new UsageError(`--overwrite: ${shown} is the run folder of the checkpoint --resume continues from; give --resume alone to continue it, or another --out`);
    }
    if (results.length > 0 && !continuing) {
      if (!r.overwrite) {
        throw new UsageError(
          `run folder ${shown} already holds a run (${results.join(', ')}): continue it with --resume ${path.join(shown, 'checkpoint.safetensors')}, or replace it with --overwrite`,
        );
      }
      const removed = runFiles.filter((f) => {
        const file = path.join(dir, f);
        if (!fs.existsSync(file)) return false;
        fs.rmSync(file);
        return true;
      });
      r.note(`--overwrite: replacing the run in ${shown} (removed ${removed.join(', ')})`);
    }
    for (const name of [...runFiles, LOCK_FILE]) removeStaleTempFiles(dir, name);
    return { dir, shown, continuing, release: lock.release };
  } catch (e) {
    lock.release();
    throw e;
  }
};

/**
 * The file system run-folder writes go through: the real one, with `exitIfOrphaned` before a temporary
 * file is created and before it replaces the old file, so that once the `foldnet` parent of a tuned
 * child is gone, no write begins and none replaces a file (see malloc.ts).
 */
export const runFolderFs: AtomicFs = {
  ...nodeAtomicFs,
  openSync: (p, flags, mode) => {
    exitIfOrphaned();
    return nodeAtomicFs.openSync(p, flags, mode);
  },
  renameSync: (from, to) => {
    exitIfOrphaned();
    nodeAtomicFs.renameSync(from, to);
  },
};

/**
 * Writes one run file (text or bytes) atomically (writeFileAtomic: a crash or a full disk leaves
 * the old file whole, never a truncated one) and never through a link: a name taken by anything
 * but a regular file is refused. Failures are one error line naming the file.
 *
 * @example writeRunFile('/home/me/runs/x', 'metrics.csv', 'step,loss\n'); // '/home/me/runs/x/metrics.csv'
 */
export const writeRunFile = (dir: string, name: RunFile, content: string | Uint8Array): string => {
  const file = path.resolve(dir, name);
  const r = writeFileAtomicWith(runFolderFs, file, typeof content === 'string' ? new TextEncoder().encode(content) : content);
  if (isLeft(r)) throw new UsageError(`cannot write ${file}: ${r.left.message.replace(`writeFileAtomic: ${file}: `, '')}`);
  return file;
};

/**
 * Appends whole lines to a run file during a run (metrics.jsonl, metrics.csv, losses.jsonl), so
 * the folder keeps the history up to each checkpoint without rewriting it: one write call at the
 * end of the file, never through a link (O_NOFOLLOW) and only into a regular file. A crash can cut
 * the last line short; readers skip such a line, and the run that continues rewrites the file whole.
 *
 * @example appendRunFile('/home/me/runs/x', 'losses.jsonl', '{"step":1,"loss":2.3}\n');
 */
export const appendRunFile = (dir: string, name: RunFile, text: string): void => {
  if (text === '') return;
  const file = path.resolve(dir, name);
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  exitIfOrphaned();
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
  } catch (e) {
    const stat = fs.lstatSync(file, { throwIfNoEntry: false });
    const why = stat !== undefined && !stat.isFile() ? `is ${kindOf(stat)}; foldnet writes its run files only as regular files` : e instanceof Error ? e.message : String(e);
    throw new UsageError(`cannot write ${file}: ${why}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new UsageError(`cannot write ${file}: is ${kindOf(stat)}; foldnet writes its run files only as regular files`);
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError(`cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    fs.closeSync(fd);
  }
};

/**
 * Removes the temporary files that atomic writes of `name` in `dir` left when their process was
 * killed mid-write (`.<name>.<pid>.<n>.tmp` whose pid is no longer running); the writes of a live
 * process are left alone. Returns the names removed.
 *
 * @example
 * removeStaleTempFiles('runs/x', 'checkpoint.safetensors'); // ['.checkpoint.safetensors.4242.3.tmp']
 */
export const removeStaleTempFiles = (dir: string, name: string): string[] => {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const prefix = `.${name}.`;
  return entries.filter((entry) => {
    if (!entry.startsWith(prefix) || !entry.endsWith('.tmp')) return false;
    const pid = Number(entry.slice(prefix.length).split('.')[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) return false;
    try {
      fs.unlinkSync(path.join(dir, entry));
      return true;
    } catch {
      return false;
    }
  });
};
