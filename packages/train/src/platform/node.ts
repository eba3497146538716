import * as fs from 'node:fs';
import * as nodeModule from 'node:module';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { FilePlatform } from './files.js';

// Node's side of the file seam (files.ts): Node's own functions.
const files: FilePlatform = {
  existsSync: (p) => fs.existsSync(p),
  openSync: (p, flags, mode) => fs.openSync(p, flags, mode),
  fstatSync: (fd) => fs.fstatSync(fd),
  lstatSync: (p) => fs.lstatSync(p),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (p) => fs.unlinkSync(p),
  // Windows has no O_NONBLOCK and no FIFOs of this kind
  readOnlyNonBlocking: fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0),
  join: (...parts) => path.join(...parts),
  dirname: (p) => path.dirname(p),
  basename: (p) => path.basename(p),
  resolve: (p) => path.resolve(p),
  pid: () => process.pid,
  createRequire: (url) => nodeModule.createRequire(url),
  gunzipSync: (bytes, options) => zlib.gunzipSync(bytes, options),
  zlibConstants: zlib.constants,
};

/** Node's file access (see files.ts). @example existsSync('/usr/share/datasets/fashion-mnist') */
export const {
  existsSync, openSync, fstatSync, lstatSync, readSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync,
  readOnlyNonBlocking, join, dirname, basename, resolve, pid, createRequire, gunzipSync, zlibConstants,
} = files;
