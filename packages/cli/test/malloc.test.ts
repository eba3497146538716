import { describe, expect, it } from 'vitest';
import { heavyMallocTunables, wantsTunedMalloc } from '../src/malloc.js';

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
