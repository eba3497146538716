import type { Stats } from 'node:fs';
import { basename, closeSync, dirname, fsyncSync, join, lstatSync, openSync, pid, renameSync, resolve, unlinkSync, writeSync } from '#files';
import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { FoldnetError } from '@foldnet/core';
import { kindOf } from '../input/regular-file.js';

/*
 * An atomic replace on POSIX: write a temporary file in the target's directory (rename only is
 * atomic within one file system), fsync it (its bytes are on disk before its name is), rename
 * it over the target (readers see the old file or the new one, never a mix), then fsync the
 * directory (the rename itself survives a power cut). A crash at any point leaves the old
 * target intact; at worst a `.<name>.<pid>.<n>.tmp` file is left beside it.
 *
 * Only a regular file or a missing path is replaced. A rename puts a regular file in the place of
 * whatever the name held: `export --onnx /dev/full` would swap a device for a file (as root,
 * /dev/null next), and a symbolic link planted in a run folder would silently stop pointing where
 * its owner meant. So the target is lstat'ed first and anything else is refused, naming what it is.
 */

/** The few file-system calls an atomic write makes; tests substitute failing ones. @example writeFileAtomicWith({ ...fs, renameSync: () => { throw new Error('EIO'); } }, p, b) */
export interface AtomicFs {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

/** The real file system, as writeFileAtomic uses it; wrap it to add a check before a call (`{ ...nodeAtomicFs, renameSync }`). */
export const nodeAtomicFs: AtomicFs = {
  openSync: (p, flags, mode) => openSync(p, flags, mode),
  writeSync: (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length),
  fsyncSync: (fd) => fsyncSync(fd),
  closeSync: (fd) => closeSync(fd),
  renameSync: (from, to) => renameSync(from, to),
  unlinkSync: (p) => unlinkSync(p),
};

/**
 * Whether `name` (a directory entry) is a temporary file an atomic write of `target` may leave after a crash.
 * @example isAtomicTempFile('.ckpt.safetensors.4242.0.tmp', 'run/ckpt.safetensors'); // true
 */
export const isAtomicTempFile = (name: string, target: string): boolean =>
  name.startsWith(`.${basename(target)}.`) && name.endsWith('.tmp');

let counter = 0;

const errorCode = (e: unknown): string | undefined =>
  e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;

// 'wx' fails if the name exists: a name left by a crashed process (same pid reused) is skipped.
const openTemp = (fs: AtomicFs, dir: string, base: string): { fd: number; path: string } => {
  for (let attempt = 0; ; attempt++) {
    const path = join(dir, `.${base}.${pid()}.${counter++}.tmp`);
    try {
      return { fd: fs.openSync(path, 'wx', 0o644), path };
    } catch (e) {
      if (errorCode(e) !== 'EEXIST' || attempt >= 100) throw e;
    }
  }
};

/** writeFileAtomic with an injectable file system (for fault-injection tests). @example writeFileAtomicWith(faultyFs, 'x', bytes) */
export const writeFileAtomicWith = (fs: AtomicFs, path: string, bytes: Uint8Array): Either<FoldnetError, string> => {
  const target = resolve(path);
  const dir = dirname(target);
  let tmp: string | undefined;
  let fd: number | undefined;
  const kind = targetKind(target);
  if (kind !== undefined) {
    return left(new FoldnetError('io', `writeFileAtomic: ${target}: is ${kind}; only a regular file (or a path not yet taken) is replaced`));
  }
  let step = 'create a temporary file';
  try {
    const opened = openTemp(fs, dir, basename(target));
    tmp = opened.path;
    fd = opened.fd;
    step = 'write';
    // writeSync may write less than asked: loop until every byte is out.
    for (let done = 0; done < bytes.length; ) {
      const n = fs.writeSync(opened.fd, bytes, done, bytes.length - done);
      if (!(n > 0)) throw new Error(`write returned ${n} with ${bytes.length - done} bytes left`);
      done += n;
    }
    step = 'fsync';
    fs.fsyncSync(opened.fd);
    step = 'close';
    fd = undefined;
    fs.closeSync(opened.fd);
    step = 'rename the temporary file over';
    fs.renameSync(opened.path, target);
    tmp = undefined;
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    if (tmp !== undefined) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // the temporary file may not exist; nothing else to clean
      }
    }
    const reason = e instanceof Error ? e.message : String(e);
    return left(new FoldnetError('io', `writeFileAtomic: ${target}: cannot ${step}: ${reason}`));
  }
  syncDirectory(fs, dir);
  return right(target);
};

// What the target is when it is neither missing nor a regular file (lstat: a link is judged as a
// link, not by what it points to); undefined when it may be replaced. A failing lstat other than
// ENOENT is left to the write itself to report.
const targetKind = (target: string): string | undefined => {
  let stat: Stats;
  try {
    stat = lstatSync(target);
  } catch {
    return undefined;
  }
  return stat.isFile() ? undefined : kindOf(stat);
};

// fsync of a directory makes the rename durable on Linux; some systems refuse to open or sync a
// directory (Windows: EPERM/EISDIR). The new file is already in place then, so this is best effort.
const syncDirectory = (fs: AtomicFs, dir: string): void => {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort, see above
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // nothing to do: the descriptor is gone either way
      }
    }
  }
};

/**
 * Replaces the file at `path` with `bytes` atomically: a temporary file in the same directory,
 * fsync, rename over the target, fsync of the directory. If anything fails the old file is
 * untouched and the temporary file is removed; a crash (SIGKILL, power loss) leaves either the
 * old file or the new one, never a truncated one. Returns the absolute path written. A target
 * that exists and is not a regular file (a device, a FIFO, a directory, a symbolic link) is
 * refused before anything is written.
 *
 * @example
 * writeFileAtomic('run/ckpt.safetensors', bytes); // right('/abs/run/ckpt.safetensors')
 * writeFileAtomic('/no/such/dir/x', bytes);       // left(FoldnetError io: "writeFileAtomic: /no/such/dir/x: cannot create ...")
 * writeFileAtomic('/dev/full', bytes);            // left(FoldnetError io: "writeFileAtomic: /dev/full: is a character device; ...")
 */
export const writeFileAtomic = (path: string, bytes: Uint8Array): Either<FoldnetError, string> =>
  writeFileAtomicWith(nodeAtomicFs, path, bytes);
