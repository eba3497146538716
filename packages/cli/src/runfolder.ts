import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { kindOf, writeFileAtomic } from '@foldnet/train';
import { UsageError } from './errors.js';

/** The files of a run folder, exactly these names (scripts rely on them). */
export const runFiles = [
  'config.json',
  'metrics.jsonl',
  'metrics.csv',
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

/**
 * Creates the run folder: `out` when given, else `runs/<timestamp>-<model>/` under `cwd` (with
 * `-2`, `-3`, ... when a run started in the same second). Returns its absolute path. A failure
 * names its real cause (EACCES, EROFS, ENOTDIR); a folder whose run-file names are taken by
 * links or other non-regular files is refused; temporary files that killed runs left in it
 * are removed.
 *
 * @example
 * createRunFolder('/home/me', null, 'simple', new Date()); // '/home/me/runs/20261129-153012-simple'
 */
export const createRunFolder = (cwd: string, out: string | null, model: string, now: Date): string => {
  // As the user would type it: relative below cwd, absolute elsewhere (not ../../../proc/x).
  const shownOf = (dir: string): string => {
    const rel = path.relative(cwd, dir);
    return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
  };
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
  let dir: string;
  if (out !== null) {
    dir = path.resolve(cwd, out);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory`);
    make(dir, false);
  } else {
    const base = path.resolve(cwd, 'runs', `${runTimestamp(now)}-${model}`);
    for (let i = 1; ; i++) {
      dir = i === 1 ? base : `${base}-${i}`;
      if (make(dir, true)) break;
    }
  }
  checkRunFiles(dir, shownOf(dir));
  for (const name of runFiles) removeStaleTempFiles(dir, name);
  return dir;
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
  const r = writeFileAtomic(file, typeof content === 'string' ? new TextEncoder().encode(content) : content);
  if (isLeft(r)) throw new UsageError(`cannot write ${file}: ${r.left.message.replace(`writeFileAtomic: ${file}: `, '')}`);
  return file;
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return e instanceof Error && 'code' in e && e.code === 'EPERM';
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
