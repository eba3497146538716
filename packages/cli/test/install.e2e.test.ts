import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, buildOnce, root, type Run } from './built-cli.js';

/*
 * `foldnet` itself on PATH, as the README documents it: `./scripts/setup.sh --link DIR` installs,
 * builds, then runs scripts/link-foldnet.sh DIR, which this test runs on the built CLI. The
 * command then works by its name from any folder, and the line it prints to continue an
 * interrupted run names it as the user typed it: `foldnet train --resume ...`.
 */

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-install-')));
const linkDir = path.join(tmp, 'bin');
const user = path.join(tmp, 'home', 'me');
// the linked command first; node (its shebang is `env node`) next; nothing else the machine has named foldnet
const env = { ...process.env, PATH: `${linkDir}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin${path.delimiter}/bin`, FORCE_COLOR: '0' };

beforeAll(async () => {
  await buildOnce();
  fs.mkdirSync(user, { recursive: true });
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `foldnet` found on PATH, as a user types it, standing in `user`. */
const start = (args: readonly string[]) => {
  const child = spawn('foldnet', args, { cwd: user, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => stdout };
};

describe('foldnet on PATH (scripts/setup.sh --link)', () => {
  it('setup.sh hands --link DIR to link-foldnet.sh, which links DIR/foldnet to the built CLI', () => {
    expect(fs.readFileSync(path.join(root, 'scripts', 'setup.sh'), 'utf8')).toMatch(/--link\) .*\n[\s\S]*bash scripts\/link-foldnet\.sh \$\{link_dir:\+"\$link_dir"\}/);
    execFileSync('bash', [path.join(root, 'scripts', 'link-foldnet.sh'), linkDir], { env, stdio: 'pipe' });
    expect(fs.realpathSync(path.join(linkDir, 'foldnet'))).toBe(fs.realpathSync(bin));
    // again: replaces its own link, no error
    execFileSync('bash', [path.join(root, 'scripts', 'link-foldnet.sh'), linkDir], { env, stdio: 'pipe' });
  });

  it('foldnet summary examples/model-spec.json by its name, from a folder outside the repository', async () => {
    const r = await start(['summary', path.join(root, 'examples', 'model-spec.json')]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^total +30,530$/m);
  });

  it('Ctrl-C: the continue-with command is `foldnet train --resume <path as given>`, and it resumes', async () => {
    const run = start(['train', '--train-size', '100', '--test-size', '50', '--batch-size', '10', '--iters', '400', '--eval-every', '0', '--checkpoint-every', '0', '--out', 'mine']);
    for (let waited = 0; !/^step \d+\/400/m.test(run.output()) && waited < 120_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    const m = /\(continue with: (foldnet train --resume (\S+))\)$/m.exec(r.stderr);
    expect(m?.[2], r.stderr).toBe(path.join('mine', 'checkpoint.safetensors'));
    const step = Number(/interrupted at step (\d+)/.exec(r.stderr)?.[1]);
    const resumed = await start([...(m?.[1] ?? '').split(' ').slice(1), '--iters', String(step + 1), '--out', 'resumed']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming at step ${step}`);
  }, 300_000);
});
