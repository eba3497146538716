import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chromiumMissing } from './harness.js';

/*
 * Without Chromium the browser tests must fail saying how to install it, never skip: the harness names the command
 * before any build, and scripts/setup-chromium.sh (run by .ci/run) installs it as root or says the same.
 */

const script = fileURLToPath(new URL('../../scripts/setup-chromium.sh', import.meta.url));

/** Runs setup-chromium.sh with FOLDNET_CHROMIUM=`chromium`, as nobody when this process is root (no apt-get then). */
const setupChromium = (chromium: string): { readonly status: number | null; readonly stderr: string } => {
  const env = { ...process.env, FOLDNET_CHROMIUM: chromium };
  const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const [command = 'bash', ...args] = [...asNobody, 'bash', script];
  const r = spawnSync(command, args, { encoding: 'utf8', env });
  return { status: r.status, stderr: r.stderr };
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Chromium for the browser tests', () => {
  it('a missing Chromium is named with its path and the apt-get command that installs it', () => {
    vi.stubEnv('FOLDNET_CHROMIUM', '/nonexistent/chromium');
    expect(chromiumMissing()).toMatch(/Chromium at \/nonexistent\/chromium, which is missing: install it with `(sudo )?apt-get install -y chromium/);
  });

  it('one that is there is not missing', () => {
    vi.stubEnv('FOLDNET_CHROMIUM', process.execPath);
    expect(chromiumMissing()).toBeUndefined();
  });

  it('setup-chromium.sh without root and without Chromium fails, naming `sudo apt-get install -y chromium`', () => {
    const r = setupChromium('/nonexistent/chromium');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/Chromium at \/nonexistent\/chromium: install it with `sudo apt-get install -y chromium`/)]);
  });

  it('setup-chromium.sh does nothing, and succeeds, when Chromium is already there', () => {
    const r = setupChromium(process.execPath);
    expect(r).toEqual({ status: 0, stderr: '' });
  });
});
