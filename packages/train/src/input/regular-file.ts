import type { Stats } from 'node:fs';
import * as fs from '#files';
import { left, right, type Either } from 'fp-ts/lib/Either.js';

/*
 * Every file foldnet reads because a user named it (a config, a model spec, a checkpoint, an IDX
 * file, a PNG) is opened here. Two hostile cases are answered before a byte is read:
 *
 *  - not a regular file: a FIFO would block the read until a writer comes (forever if none does),
 *    /dev/zero or /dev/urandom never end, a directory has no bytes. The file is opened with
 *    O_NONBLOCK (so opening a FIFO cannot wait either) and fstat'ed: the descriptor, not the
 *    name, is checked, so a file swapped between a stat and the open cannot slip through;
 *  - too large: the size fstat reports is compared with the caller's limit first, so the memory a
 *    read takes is bounded by that limit, not by the file.
 */

/**
 * Why a file was not read. 'io': the open or a read failed (callers word `error` their way, e.g.
 * "no such file"); 'not-regular' and 'too-large': `detail` is a phrase that follows the file's
 * name ("is a FIFO (named pipe), not a regular file").
 *
 * @example
 * const r = readRegularFile('/dev/zero', 1 << 20);
 * if (r._tag === 'Left' && r.left.kind !== 'io') r.left.detail; // 'is a character device, not a regular file'
 */
export type FileRefusal =
  | { readonly kind: 'io'; readonly error: unknown }
  | { readonly kind: 'not-regular'; readonly detail: string }
  | { readonly kind: 'too-large'; readonly detail: string };

/** An open regular file: its descriptor (the caller closes it) and its size when it was opened. @example { fd: 21, size: 47040016 } */
export interface OpenedFile {
  readonly fd: number;
  readonly size: number;
}

// O_NONBLOCK matters only for FIFOs (opening one for reading otherwise waits for a writer); it
// changes nothing for regular files.
const READ_FLAGS = fs.readOnlyNonBlocking;

/**
 * What a file-system entry is, as the end of "x is ...": used in every refusal of a
 * non-regular file. @example kindOf(fs.statSync('/dev/null')) // 'a character device'
 */
export const kindOf = (s: Stats): string =>
  s.isDirectory()
    ? 'a directory'
    : s.isFIFO()
      ? 'a FIFO (named pipe)'
      : s.isCharacterDevice()
        ? 'a character device'
        : s.isBlockDevice()
          ? 'a block device'
          : s.isSocket()
            ? 'a socket'
            : s.isSymbolicLink()
              ? 'a symbolic link'
              : 'not a regular file';

const closeQuietly = (fd: number): void => {
  try {
    fs.closeSync(fd);
  } catch {
    // the descriptor is gone either way; the error being reported is the one that matters
  }
};

/**
 * Opens `path` for reading if it is a regular file (symbolic links are followed, as any reader
 * does) of at most `maxBytes` bytes. The caller owns the descriptor and closes it.
 *
 * @example
 * const r = openRegularFile('data/train-images-idx3-ubyte', 2 ** 31 - 1);
 * if (r._tag === 'Right') { ...; fs.closeSync(r.right.fd); }
 */
export const openRegularFile = (path: string, maxBytes: number): Either<FileRefusal, OpenedFile> => {
  let fd: number;
  try {
    fd = fs.openSync(path, READ_FLAGS);
  } catch (error) {
    return left({ kind: 'io', error });
  }
  let stat: Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch (error) {
    closeQuietly(fd);
    return left({ kind: 'io', error });
  }
  if (!stat.isFile()) {
    closeQuietly(fd);
    return left({ kind: 'not-regular', detail: `is ${kindOf(stat)}, not a regular file` });
  }
  if (stat.size > maxBytes) {
    closeQuietly(fd);
    return left({ kind: 'too-large', detail: `file holds ${stat.size} bytes, more than the ${maxBytes}-byte limit` });
  }
  return right({ fd, size: stat.size });
};

/**
 * Reads up to `length` bytes at `position` into a fresh array (readSync may return fewer at a
 * time; a file that shrank gives a shorter array). Throws what readSync throws.
 *
 * @example readAt(fd, 16, 0) // the first 16 bytes
 */
export const readAt = (fd: number, length: number, position: number): Uint8Array => {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
};

/**
 * Reads a whole regular file of at most `maxBytes` bytes (see `openRegularFile`). The bytes are a
 * fresh array of their own (no pooled Buffer).
 *
 * @example
 * readRegularFile('cfg.json', MAX_TEXT_BYTES); // right(Uint8Array), or left({ kind: 'not-regular', ... })
 */
export const readRegularFile = (path: string, maxBytes: number): Either<FileRefusal, Uint8Array> => {
  const opened = openRegularFile(path, maxBytes);
  if (opened._tag === 'Left') return opened;
  const { fd, size } = opened.right;
  try {
    return right(readAt(fd, size, 0));
  } catch (error) {
    return left({ kind: 'io', error });
  } finally {
    closeQuietly(fd);
  }
};

/**
 * The phrase for a refusal, `ioText` wording open and read failures.
 *
 * @example
 * refusalText(r.left, (e) => `cannot read: ${String(e)}`); // 'is a FIFO (named pipe), not a regular file'
 */
export const refusalText = (refusal: FileRefusal, ioText: (error: unknown) => string): string =>
  refusal.kind === 'io' ? ioText(refusal.error) : refusal.detail;
