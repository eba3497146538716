import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childCommand, heavyMallocTunables, wantsTunedMalloc } from '../src/malloc.js';

/*
 * When `foldnet` runs its command in a child started with glibc's malloc tunables (see malloc.ts; the child
 * itself is exercised end to end in reliability.e2e.test.ts).
 */

const glibc = (): string => '2.36';
const noGlibc = (): undefined => undefined;

describe('wantsTunedMalloc', () => {
  it('train, eval and bench on Linux with glibc, when GLIBC_TUNABLES is unset', () => {
    for (const cmd of ['train', 'eval', 'bench']) expect(wantsTunedMalloc([cmd, '--iters', '5'], {}, 'linux', glibc)).toBe(true);
  });

  it('not the quick commands, nor no command (help)', () => {
    for (const args of [['summary'], ['predict', 'x.png'], ['gradcheck'], ['export'], ['--help'], [], ['--version']]) {
      expect(wantsTunedMalloc(args, {}, 'linux', glibc)).toBe(false);
    }
  });

  it('not when GLIBC_TUNABLES is already set (the child itself, or the user choosing), nor with FOLDNET_MALLOC=system', () => {
    expect(wantsTunedMalloc(['train'], { GLIBC_TUNABLES: heavyMallocTunables }, 'linux', glibc)).toBe(false);
    expect(wantsTunedMalloc(['train'], { GLIBC_TUNABLES: '' }, 'linux', glibc)).toBe(false);
    expect(wantsTunedMalloc(['train'], { FOLDNET_MALLOC: 'system' }, 'linux', glibc)).toBe(false);
    expect(wantsTunedMalloc(['train'], { FOLDNET_MALLOC: 'tuned' }, 'linux', glibc)).toBe(true);
  });

  it('not off glibc: another libc (musl), macOS, Windows', () => {
    expect(wantsTunedMalloc(['train'], {}, 'linux', noGlibc)).toBe(false);
    expect(wantsTunedMalloc(['train'], {}, 'darwin', noGlibc)).toBe(false);
    expect(wantsTunedMalloc(['train'], {}, 'win32', noGlibc)).toBe(false);
  });

  it('asks for the glibc version only when everything else holds (finding it costs a diagnostic report)', () => {
    let asked = 0;
    const counting = (): string => {
      asked++;
      return '2.36';
    };
    for (const args of [['summary'], ['--help']]) expect(wantsTunedMalloc(args, {}, 'linux', counting)).toBe(false);
    expect(wantsTunedMalloc(['train'], { GLIBC_TUNABLES: heavyMallocTunables }, 'linux', counting)).toBe(false);
    expect(wantsTunedMalloc(['train'], {}, 'darwin', counting)).toBe(false);
    expect(asked).toBe(0);
    expect(wantsTunedMalloc(['train'], {}, 'linux', counting)).toBe(true);
    expect(asked).toBe(1);
  });

  it('the tunables are three glibc.malloc settings glibc accepts (mmap threshold within its 32 MiB maximum)', () => {
    const settings = Object.fromEntries(heavyMallocTunables.split(':').map((s) => s.split('=')));
    expect(Object.keys(settings).sort()).toEqual(['glibc.malloc.mmap_threshold', 'glibc.malloc.top_pad', 'glibc.malloc.trim_threshold']);
    expect(Number(settings['glibc.malloc.mmap_threshold'])).toBeLessThanOrEqual(32 * 1024 * 1024);
  });
});

const hasSetpriv = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true']).status === 0;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

describe.runIf(process.platform === 'linux' && hasSetpriv)('childCommand (setpriv --pdeathsig KILL)', () => {
  it('a process it starts is killed by the kernel when its parent is (SIGKILL), though it watches for nothing', async () => {
    // parent: a node process that starts the child (a node process that would idle for a minute) and prints its pid
    const { file, args } = childCommand([process.execPath, '-e', 'setTimeout(() => {}, 60000)']);
    const script = `const c = require('node:child_process').spawn(${JSON.stringify(file)}, ${JSON.stringify(args)}, { stdio: 'ignore' }); console.log(c.pid); setTimeout(() => {}, 60000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    await sleep(200); // the child is node by now (setpriv has run it in its place)
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(childPid) && Date.now() < deadline) await sleep(10);
    expect(alive(childPid), 'the child ended with its parent').toBe(false);
  });
});
