import type { FilePlatform } from './files.js';

/*
 * The browser's side of the file seam (files.ts): a page or a Worker has no file system. Each file call throws an Error
 * saying so, which train's readers already turn into their 'io' Lefts (`loadMnist` in a browser answers "missing", a
 * checkpoint path "cannot read"); the browser reads bytes with fetch, a File or a Blob and hands them to the shared
 * decoders (parseIdx, decodeSafetensors, decodeTrainState), as web/ does. gzip is inflated asynchronously there
 * (DecompressionStream), so the synchronous gunzip refuses too, pointing at it.
 */

const noFileSystem = (what: string) => (): never => {
  throw new Error(`${what}: a browser has no file system: read files with fetch, a File or a Blob (fetchIdx, idxFromBlob, trainStateFromBytes)`);
};

// POSIX paths as strings: they only name things in messages here.
const posixJoin = (...parts: string[]): string => parts.filter((p) => p !== '').join('/').replace(/\/+/g, '/');
const posixDirname = (p: string): string => {
  const cut = p.replace(/\/+$/, '').lastIndexOf('/');
  return cut < 0 ? '.' : cut === 0 ? '/' : p.slice(0, cut);
};
const posixBasename = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? '';

const files: FilePlatform = {
  existsSync: () => false,
  openSync: noFileSystem('open'),
  fstatSync: noFileSystem('fstat'),
  lstatSync: noFileSystem('lstat'),
  readSync: noFileSystem('read'),
  writeSync: noFileSystem('write'),
  fsyncSync: noFileSystem('fsync'),
  closeSync: noFileSystem('close'),
  renameSync: noFileSystem('rename'),
  unlinkSync: noFileSystem('unlink'),
  readOnlyNonBlocking: 0,
  join: posixJoin,
  dirname: posixDirname,
  basename: posixBasename,
  resolve: (p) => p,
  pid: () => 0,
  createRequire: () => ({ resolve: noFileSystem('resolving a package file') }),
  gunzipSync: () => {
    throw new Error('a browser inflates gzip asynchronously: fetchIdx and idxFromBlob decompress .gz files (DecompressionStream) before parsing');
  },
  // zlib's values, for the options a caller passes to gunzipSync
  zlibConstants: { Z_FINISH: 4, Z_SYNC_FLUSH: 2 },
};

/** The browser's file access: none (see files.ts). @example existsSync('/anything') // false */
export const {
  existsSync, openSync, fstatSync, lstatSync, readSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync,
  readOnlyNonBlocking, join, dirname, basename, resolve, pid, createRequire, gunzipSync, zlibConstants,
} = files;
