import { describe, expect, it } from 'vitest';
import { userDirectory } from '../src/io.js';

describe("the user's directory, where relative paths start", () => {
  it('pnpm foldnet typed in /repo/examples: INIT_CWD, not the workspace root pnpm runs the script in', () => {
    expect(userDirectory({ npm_lifecycle_event: 'foldnet', INIT_CWD: '/repo/examples' }, '/repo')).toBe('/repo/examples');
  });

  it("another script's INIT_CWD (vitest under pnpm test spawning the CLI elsewhere) is not foldnet's: the process's directory", () => {
    expect(userDirectory({ npm_lifecycle_event: 'test', INIT_CWD: '/repo' }, '/tmp/run')).toBe('/tmp/run');
    expect(userDirectory({ INIT_CWD: '/repo' }, '/tmp/run')).toBe('/tmp/run');
  });

  it('a relative or empty INIT_CWD is ignored', () => {
    expect(userDirectory({ npm_lifecycle_event: 'foldnet', INIT_CWD: 'examples' }, '/repo')).toBe('/repo');
    expect(userDirectory({ npm_lifecycle_event: 'foldnet', INIT_CWD: '' }, '/repo')).toBe('/repo');
  });
});
