import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, readIdxFile, readRegularFile, writeFileAtomic } from '@foldnet/train';

/*
 * Issue 18, files: what foldnet reads must be a regular file within a size limit (a FIFO would
 * block the read forever, /dev/zero would never end), and what it writes replaces only a regular
 * file or a missing path (a rename over /dev/full swaps the device for a file; over a planted
 * symbolic link it silently breaks the link). A FIFO is only ever opened in a child process, so
 * that a regression blocks the child, which is killed, and not the test runner.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-hostile-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const fresh = (): string => {
  const d = path.join(tmp, `d${n++}`);
  fs.mkdirSync(d);
  return d;
};

/** A character device of our own (/dev/full's numbers, 1:7) when this process may make one (root with CAP_MKNOD), else undefined. */
const makeDevice = (at: string): string | undefined => {
  try {
    execFileSync('mknod', [at, 'c', '1', '7'], { stdio: 'ignore' });
    return at;
  } catch {
    return undefined;
  }
};

const fifo = (at: string): string => {
  execFileSync('mkfifo', [at]);
  return at;
};

describe('reading: only regular files', () => {
  const readers: [string, (p: string) => string | undefined][] = [
    ['readIdxFile', (p) => {
      const r = readIdxFile(p);
      return r._tag === 'Left' ? r.left.message : undefined;
    }],
    ['loadCheckpoint', (p) => {
      const r = loadCheckpoint(p);
      return r._tag === 'Left' ? r.left.message : undefined;
    }],
    ['readRegularFile', (p) => {
      const r = readRegularFile(p, 1 << 20);
      return r._tag === 'Left' && r.left.kind !== 'io' ? `${p}: ${r.left.detail}` : undefined;
    }],
  ];
  const inputs: [string, string][] = [
    ['/dev/zero', 'a character device'],
    ['/dev/null', 'a character device'],
    [tmp, 'a directory'],
  ];
  for (const [reader, read] of readers) {
    for (const [input, kind] of inputs) {
      it(`${reader}(${input === tmp ? 'a directory' : input}): "is ${kind}, not a regular file", nothing read`, () => {
        expect(read(input)).toBe(`${input}: is ${kind}, not a regular file`);
      });
    }
  }

  it('a FIFO as an IDX file and as a checkpoint: refused at once (the child answers within 25 s instead of blocking; two such children stay under the 60 s test timeout)', () => {
    const pipe = fifo(path.join(fresh(), 'pipe'));
    for (const kind of ['idx', 'checkpoint']) {
      const r = spawnSync(process.execPath, ['--conditions=@foldnet/source', '--import', 'tsx', path.join(here, 'fixtures/read-input.ts'), kind, pipe], {
        cwd: root,
        encoding: 'utf8',
        timeout: 25_000,
      });
      expect(r.signal, `${kind}: the read blocked`).toBeNull();
      expect(r.stdout).toContain(`"message":"${pipe}: is a FIFO (named pipe), not a regular file"`);
    }
  });

  it('size limits: sparse files of random sizes against random limits (200 cases) are read whole when within, refused naming both numbers when over', () => {
    const dir = fresh();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 24 }), fc.integer({ min: 0, max: 1 << 24 }), (size, limit) => {
        const p = path.join(dir, 'f');
        fs.writeFileSync(p, '');
        fs.truncateSync(p, size); // sparse: no disk, no memory
        const r = readRegularFile(p, limit);
        if (size <= limit) expect(r._tag === 'Right' && r.right.length).toBe(size);
        else expect(r._tag === 'Left' && r.left.kind !== 'io' && r.left.detail).toBe(`file holds ${size} bytes, more than the ${limit}-byte limit`);
      }),
      { seed: 180, numRuns: 200 },
    );
  });
});

/** Every kind of non-regular target, made in `dir`; the device only where mknod is allowed. */
const targets = (dir: string): [string, string, () => void][] => {
  const outside = path.join(dir, 'outside.txt');
  fs.writeFileSync(outside, 'precious');
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'keep'), 'kept');
  const made: [string, string, () => void][] = [];
  const linkToFile = path.join(dir, 'link-to-file');
  fs.symlinkSync(outside, linkToFile);
  made.push([linkToFile, 'a symbolic link', () => expect(fs.readlinkSync(linkToFile)).toBe(outside)]);
  const linkToDir = path.join(dir, 'link-to-dir');
  fs.symlinkSync(sub, linkToDir);
  made.push([linkToDir, 'a symbolic link', () => expect(fs.lstatSync(linkToDir).isSymbolicLink()).toBe(true)]);
  const dangling = path.join(dir, 'dangling');
  fs.symlinkSync(path.join(dir, 'nowhere'), dangling);
  made.push([dangling, 'a symbolic link', () => expect(fs.existsSync(path.join(dir, 'nowhere'))).toBe(false)]);
  made.push([sub, 'a directory', () => expect(fs.readFileSync(path.join(sub, 'keep'), 'utf8')).toBe('kept')]);
  const pipe = fifo(path.join(dir, 'pipe'));
  made.push([pipe, 'a FIFO (named pipe)', () => expect(fs.lstatSync(pipe).isFIFO()).toBe(true)]);
  const device = makeDevice(path.join(dir, 'full'));
  if (device !== undefined) made.push([device, 'a character device', () => expect(fs.lstatSync(device).isCharacterDevice()).toBe(true)]);
  return made.map(([p, kind, check]) => [
    p,
    kind,
    () => {
      check();
      expect(fs.readFileSync(outside, 'utf8')).toBe('precious');
    },
  ]);
};

describe('writing: writeFileAtomic replaces only a regular file or a missing path', () => {
  it('links (to a file, to a folder, dangling), a folder, a FIFO, a device: refused naming what it is, left as it was, no temporary file (fast-check over targets and contents, 60 cases)', () => {
    const dir = fresh();
    const all = targets(dir);
    const before = fs.readdirSync(dir).sort();
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.uint8Array({ maxLength: 64 }), ([target, kind, unchanged], bytes) => {
        const r = writeFileAtomic(target, bytes);
        expect(r._tag === 'Left' && r.left.message).toBe(`writeFileAtomic: ${target}: is ${kind}; only a regular file (or a path not yet taken) is replaced`);
        unchanged();
        expect(fs.readdirSync(dir).sort()).toEqual(before);
      }),
      { seed: 1807, numRuns: 60 },
    );
  });

  it('a regular file and a missing path are written as before', () => {
    const dir = fresh();
    const file = path.join(dir, 'f');
    expect(writeFileAtomic(file, new Uint8Array([1]))._tag).toBe('Right');
    expect(writeFileAtomic(file, new Uint8Array([2, 3]))._tag).toBe('Right');
    expect([...fs.readFileSync(file)]).toEqual([2, 3]);
  });
});
