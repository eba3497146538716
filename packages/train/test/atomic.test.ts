import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '@foldnet/train';
import { writeFileAtomicWith, type AtomicFs } from '../src/checkpoint/atomic.js';

const root = fs.mkdtempSync(join(tmpdir(), 'foldnet-atomic-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const bytesOf = (s: string) => new TextEncoder().encode(s);
const read = (p: string) => fs.readFileSync(p, 'utf8');
let n = 0;
const freshDir = (): string => {
  const d = join(root, `d${n++}`);
  fs.mkdirSync(d);
  return d;
};

describe('writeFileAtomic on the real file system', () => {
  it('writes a new file, then replaces it, leaving no temporary file behind', () => {
    const dir = freshDir();
    const target = join(dir, 'ckpt.safetensors');
    const first = writeFileAtomic(target, bytesOf('first'));
    expect(first).toEqual({ _tag: 'Right', right: target });
    expect(writeFileAtomic(target, bytesOf('second, longer'))._tag).toBe('Right');
    expect(read(target)).toBe('second, longer');
    expect(fs.readdirSync(dir)).toEqual(['ckpt.safetensors']);
  });

  it('writes 0 bytes and 3 MB files exactly', () => {
    const dir = freshDir();
    expect(writeFileAtomic(join(dir, 'empty'), new Uint8Array(0))._tag).toBe('Right');
    expect(fs.statSync(join(dir, 'empty')).size).toBe(0);
    const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
    expect(writeFileAtomic(join(dir, 'big'), big)._tag).toBe('Right');
    expect(fs.readFileSync(join(dir, 'big')).equals(big)).toBe(true);
  });

  it('into a missing directory: an io error naming the path, nothing created', () => {
    const target = join(root, 'no-such-dir', 'ckpt');
    const r = writeFileAtomic(target, bytesOf('x'));
    expect(r._tag === 'Left' && r.left.code).toBe('io');
    expect(r._tag === 'Left' && r.left.message).toMatch(/^writeFileAtomic: .*no-such-dir\/ckpt: cannot create a temporary file: ENOENT/);
    expect(fs.existsSync(join(root, 'no-such-dir'))).toBe(false);
  });

  it('where a directory is the target: refused before any write, the directory and its content stay, no temp file is left', () => {
    const dir = freshDir();
    const target = join(dir, 'sub');
    fs.mkdirSync(target);
    fs.writeFileSync(join(target, 'keep'), 'kept');
    const r = writeFileAtomic(target, bytesOf('x'));
    expect(r._tag === 'Left' && r.left.message).toMatch(/sub: is a directory; only a regular file \(or a path not yet taken\) is replaced$/);
    expect(read(join(target, 'keep'))).toBe('kept');
    expect(fs.readdirSync(dir)).toEqual(['sub']);
  });

  it('through a path whose "directory" is a file: ENOTDIR, the file is untouched', () => {
    const dir = freshDir();
    fs.writeFileSync(join(dir, 'plain'), 'old');
    const r = writeFileAtomic(join(dir, 'plain', 'ckpt'), bytesOf('x'));
    expect(r._tag === 'Left' && r.left.message).toMatch(/ENOTDIR/);
    expect(read(join(dir, 'plain'))).toBe('old');
  });
});

describe('writeFileAtomic with a fault injected at each step: the old file survives, no temp file stays', () => {
  const faulty = (failAt: keyof AtomicFs, partialWrite = false): AtomicFs => {
    let writes = 0;
    const boom = (): never => {
      throw Object.assign(new Error(`injected ${failAt} failure`), { code: 'EIO' });
    };
    return {
      openSync: (p, flags, mode) => (failAt === 'openSync' && flags === 'wx' ? boom() : fs.openSync(p, flags, mode)),
      writeSync: (fd, buf, off, len) => {
        writes++;
        if (failAt !== 'writeSync') return fs.writeSync(fd, buf, off, len);
        // First a short write of half the bytes (as a full disk does), then the failure.
        if (partialWrite && writes === 1) return fs.writeSync(fd, buf, off, Math.ceil(len / 2));
        return boom();
      },
      fsyncSync: (fd) => (failAt === 'fsyncSync' ? boom() : fs.fsyncSync(fd)),
      closeSync: (fd) => {
        fs.closeSync(fd);
        if (failAt === 'closeSync') boom();
      },
      renameSync: (a, b) => (failAt === 'renameSync' ? boom() : fs.renameSync(a, b)),
      unlinkSync: (p) => fs.unlinkSync(p),
    };
  };

  const steps: [keyof AtomicFs, boolean, RegExp][] = [
    ['openSync', false, /cannot create a temporary file: injected/],
    ['writeSync', false, /cannot write: injected/],
    ['writeSync', true, /cannot write: injected/],
    ['fsyncSync', false, /cannot fsync: injected/],
    ['closeSync', false, /cannot close: injected/],
    ['renameSync', false, /cannot rename the temporary file over: injected/],
  ];
  for (const [step, partial, message] of steps) {
    it(`failure in ${step}${partial ? ' after a short write' : ''}: error "${message.source}", old content kept`, () => {
      const dir = freshDir();
      const target = join(dir, 'ckpt.safetensors');
      fs.writeFileSync(target, 'old checkpoint');
      const r = writeFileAtomicWith(faulty(step, partial), target, bytesOf('new checkpoint, much longer than the old one'));
      expect(r._tag === 'Left' && r.left.message).toMatch(message);
      expect(read(target)).toBe('old checkpoint');
      expect(fs.readdirSync(dir)).toEqual(['ckpt.safetensors']);
    });
  }

  it('a failing directory fsync (as on Windows) does not fail the write: the new file is in place', () => {
    const dir = freshDir();
    const target = join(dir, 'f');
    const noDirSync: AtomicFs = {
      ...faulty('unlinkSync'),
      openSync: (p, flags, mode) => {
        if (flags === 'r') throw Object.assign(new Error('EISDIR: illegal operation on a directory'), { code: 'EISDIR' });
        return fs.openSync(p, flags, mode);
      },
    };
    expect(writeFileAtomicWith(noDirSync, target, bytesOf('new'))._tag).toBe('Right');
    expect(read(target)).toBe('new');
  });

  it('a temporary name taken by a crashed run (EEXIST) is skipped', () => {
    const dir = freshDir();
    const target = join(dir, 'f');
    let taken = 0;
    const crowded: AtomicFs = {
      ...faulty('unlinkSync'),
      openSync: (p, flags, mode) => {
        if (flags === 'wx' && taken++ < 3) throw Object.assign(new Error('EEXIST: file already exists'), { code: 'EEXIST' });
        return fs.openSync(p, flags, mode);
      },
    };
    expect(writeFileAtomicWith(crowded, target, bytesOf('ok'))._tag).toBe('Right');
    expect(read(target)).toBe('ok');
    expect(taken).toBe(4);
  });
});
