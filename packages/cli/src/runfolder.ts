import * as fs from 'node:fs';
import * as path from 'node:path';
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

/**
 * Creates the run folder: `out` when given, else `runs/<timestamp>-<model>/` under `cwd` (with
 * `-2`, `-3`, ... when a run started in the same second). Returns its absolute path.
 *
 * @example
 * createRunFolder('/home/me', null, 'simple', new Date()); // '/home/me/runs/20261129-153012-simple'
 */
export const createRunFolder = (cwd: string, out: string | null, model: string, now: Date): string => {
  const make = (dir: string, exclusive: boolean): boolean => {
    try {
      if (exclusive) {
        fs.mkdirSync(path.dirname(dir), { recursive: true });
        fs.mkdirSync(dir);
      } else {
        fs.mkdirSync(dir, { recursive: true });
      }
      return true;
    } catch (e) {
      if (exclusive && e instanceof Error && 'code' in e && e.code === 'EEXIST') return false;
      throw new UsageError(`cannot create the run folder ${path.relative(cwd, dir) || dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if (out !== null) {
    const dir = path.resolve(cwd, out);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory`);
    make(dir, false);
    return dir;
  }
  const base = path.resolve(cwd, 'runs', `${runTimestamp(now)}-${model}`);
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    if (make(dir, true)) return dir;
  }
};

/** Writes one run file (text or bytes); failures are one error line naming the file. */
export const writeRunFile = (dir: string, name: RunFile, content: string | Uint8Array): string => {
  const file = path.join(dir, name);
  try {
    fs.writeFileSync(file, content);
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
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
