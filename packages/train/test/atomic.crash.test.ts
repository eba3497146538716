import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '@foldnet/train';

/*
 * A real crash: a child process rewrites one file in a loop with writeFileAtomic and is killed
 * with SIGKILL right after it reports a completed write, i.e. while the next write is under way.
 * The file on disk must then be one complete version, never a torn one.
 *
 * The child runs the TypeScript sources through tsx (a root devDependency), resolving workspace
 * packages to their sources as vitest does, so it tests exactly the code in this checkout.
 */

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const root = fs.mkdtempSync(join(tmpdir(), 'foldnet-crash-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const atomicUrl = pathToFileURL(join(here, '..', 'src', 'checkpoint', 'atomic.ts')).href;

// Version v: 4 MiB, the version in the first 4 bytes and v mod 251 in every other byte. Filling is
// cheap, so the child spends its time writing and the kill lands mid-write. (Checked once: with
// plain writeFileSync in place of writeFileAtomic, this test finds empty and short files.)
const SIZE = 4 << 20;
fs.writeFileSync(
  join(root, 'child.mjs'),
  `import { writeFileAtomic } from '${atomicUrl}';
const target = process.argv[2];
const bytes = new Uint8Array(${SIZE});
for (let v = 1; ; v++) {
  bytes.fill(v % 251, 4);
  new DataView(bytes.buffer).setUint32(0, v, true);
  const r = writeFileAtomic(target, bytes);
  if (r._tag === 'Left') { console.error(r.left.message); process.exit(2); }
  process.stdout.write(v + '\\n');
}
`,
);

/** The version a file holds if it is complete and consistent, else a description of the damage. */
const versionOf = (path: string): number | string => {
  const b = fs.readFileSync(path);
  if (b.length !== SIZE) return `torn: ${b.length} bytes`;
  const v = b.readUInt32LE(0);
  for (let i = 4; i < b.length; i++) if (b[i] !== v % 251) return `torn at byte ${i}`;
  return v;
};

/** Runs the child until it has reported `writes` completed writes, then SIGKILLs it. */
const crashAfter = (target: string, writes: number): Promise<number> =>
  new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--conditions=@foldnet/source', '--import', 'tsx', join(root, 'child.mjs'), target], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = 0;
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) last = Number(line);
      if (last >= writes) child.kill('SIGKILL');
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? done(last) : fail(new Error(`child exited with ${code}`))));
  });

describe('writeFileAtomic under SIGKILL', () => {
  it('a child killed mid-rewrite of an 4 MiB file leaves a complete version, at least the last one reported', async () => {
    const dir = join(root, 'run');
    fs.mkdirSync(dir);
    const target = join(dir, 'ckpt.bin');
    for (const writes of [1, 2, 3, 1]) {
      const reported = await crashAfter(target, writes);
      const found = versionOf(target);
      expect(typeof found === 'number' ? 'complete' : found).toBe('complete');
      expect(found).toBeGreaterThanOrEqual(reported);
      // A leftover temporary file is allowed; the next write still succeeds.
      for (const name of fs.readdirSync(dir)) expect(name === 'ckpt.bin' || name.endsWith('.tmp')).toBe(true);
    }
    expect(writeFileAtomic(target, new Uint8Array([1]))._tag).toBe('Right');
    expect(fs.readFileSync(target).length).toBe(1);
  });
});
