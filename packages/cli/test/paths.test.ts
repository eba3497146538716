import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTrainState } from '@foldnet/train';
import { shellWord, shownPath, typedCommand } from '../src/io.js';
import { runInProcess } from './in-process.js';

/*
 * Paths the CLI prints can be pasted back where the user stands: `wrote ...`, and the Ctrl-C line's
 * command, which is the command as the user types it (`pnpm foldnet` in the repository, `foldnet`
 * when installed). In-process runs (runCli with an Io that records output).
 */

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-paths-')));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = runInProcess;

const tiny = ['--iters', '2', '--train-size', '20', '--test-size', '10', '--batch-size', '10', '--eval-every', '0'];

/** The words bash reads from `line`: what pasting it into a terminal passes to the command. */
const shellWords = (line: string): string[] => execFileSync('bash', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' }).split('\n').slice(0, -1);

describe('shownPath: a path as printed, to be pasted back', () => {
  it('an absolute --out stays absolute (it printed ../../tmp/x); a relative one stays relative, ../ included', () => {
    expect(shownPath('/repo/examples', '/tmp/x', '/tmp/x')).toBe('/tmp/x');
    expect(shownPath('/repo', '/repo/runs/a', '/repo/runs/a')).toBe('/repo/runs/a');
    expect(shownPath('/repo/examples', '/repo/runs/a', '../runs/a')).toBe('../runs/a');
    expect(shownPath('/repo', '/repo/runs/a', 'runs/a')).toBe('runs/a');
  });

  it("a path foldnet chose: relative below where the user stands, absolute elsewhere; '.' for that folder itself", () => {
    expect(shownPath('/repo', '/repo/runs/20260101-simple')).toBe('runs/20260101-simple');
    expect(shownPath('/repo/examples', '/repo/runs/a')).toBe('/repo/runs/a');
    expect(shownPath('/repo', '/repo')).toBe('.');
  });

  it('shellWord quotes what a shell would split or expand, and only that', () => {
    expect(shellWord('runs/a-1/checkpoint.safetensors')).toBe('runs/a-1/checkpoint.safetensors');
    for (const text of ['a b', "it's", '$HOME', 'x*', 'a;b', '~/x', '']) expect(shellWords(`x ${shellWord(text)} y`), text).toEqual(['x', text, 'y']);
  });
});

describe('typedCommand: the command as the user types it again', () => {
  const bin = path.join(tmp, 'cli', 'bin.js');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.writeFileSync(bin, '');

  it('as the workspace script: pnpm foldnet from the root or a folder without a package.json, pnpm -w foldnet inside a package', () => {
    const workspace = path.join(tmp, 'workspace');
    for (const dir of ['examples/mine', 'packages/cli/src']) fs.mkdirSync(path.join(workspace, dir), { recursive: true });
    for (const dir of ['', 'packages/cli']) fs.writeFileSync(path.join(workspace, dir, 'package.json'), '{}');
    const asScript = { npm_lifecycle_event: 'foldnet', PATH: '' };
    expect(typedCommand(asScript, bin, workspace, workspace)).toBe('pnpm foldnet');
    expect(typedCommand(asScript, bin, path.join(workspace, 'examples', 'mine'), workspace)).toBe('pnpm foldnet');
    expect(typedCommand(asScript, bin, path.join(workspace, 'packages', 'cli', 'src'), workspace)).toBe('pnpm -w foldnet');
  });

  it('when the foldnet on PATH is this executable (a link, as scripts/setup.sh makes): foldnet', () => {
    const binDir = path.join(tmp, 'bin');
    fs.mkdirSync(binDir, { recursive: true });
    fs.symlinkSync(bin, path.join(binDir, 'foldnet'));
    expect(typedCommand({ PATH: `/nonexistent${path.delimiter}${binDir}` }, bin, '/')).toBe('foldnet');
  });

  it('otherwise node and the script, as a path from where the user stands', () => {
    expect(typedCommand({ PATH: '/nonexistent' }, bin, tmp)).toBe(`node ${path.join('cli', 'bin.js')}`);
    expect(typedCommand({ PATH: '' }, bin, '/somewhere/else')).toBe(`node ${bin}`);
  });
});

describe('paths foldnet train prints', () => {
  it('--out given absolute from another folder: wrote /abs/dir/ and each file under it, absolute (it printed ../../ paths)', async () => {
    const user = path.join(tmp, 'user', 'stands', 'here');
    fs.mkdirSync(user, { recursive: true });
    const out = path.join(tmp, 'absolute-out');
    const r = await cli(['train', ...tiny, '--out', out], user);
    expect(r.code, r.err).toBe(0);
    const wrote = r.out.slice(r.out.indexOf('wrote ')).trimEnd().split('\n');
    expect(wrote[0]).toBe(`wrote ${out}${path.sep}`);
    expect(wrote.slice(1).map((l) => l.trim())).toContain(path.join(out, 'checkpoint.safetensors'));
    for (const line of wrote.slice(1)) expect(fs.existsSync(line.trim()), line).toBe(true);
  });

  it('foldnet compare --out given absolute: wrote /abs/dir/ and its files under it', async () => {
    for (const run of ['c1', 'c2']) expect((await cli(['train', ...tiny, '--out', run], tmp)).code).toBe(0);
    const out = path.join(tmp, 'compared');
    const r = await cli(['compare', 'c1', 'c2', '--out', out], path.join(tmp));
    expect(r.code, r.err).toBe(0);
    const wrote = r.out.slice(r.out.indexOf('wrote ')).trimEnd().split('\n');
    expect(wrote[0]).toBe(`wrote ${out}${path.sep}`);
    for (const line of wrote.slice(1)) expect(line.trim().startsWith(`${out}${path.sep}`) && fs.existsSync(line.trim()), line).toBe(true);
  });

  it('under pnpm, the report\'s command that trains the run again starts as the user types foldnet', async () => {
    const r = await cli(['train', ...tiny, '--seed', '3', '--out', 'typed'], tmp, { command: 'pnpm foldnet' });
    expect(r.code, r.err).toBe(0);
    const html = fs.readFileSync(path.join(tmp, 'typed', 'report.html'), 'utf8');
    expect(/<h2>Command<\/h2>\n<pre>([^<]*)<\/pre>/.exec(html)?.[1]).toMatch(/^pnpm foldnet train .*--seed 3/);
  });

  it('Ctrl-C under pnpm, --out with a space and a plugin: the continue-with line is a command that, pasted, resumes from the checkpoint', async () => {
    const out = path.join(tmp, 'a run');
    const plugin = path.resolve(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'swish-plugin.mjs');
    const r = await cli(['train', ...tiny, '--iters', '50', '--out', out, '--plugin', plugin], tmp, { command: 'pnpm foldnet', interrupt: 'SIGINT' });
    expect(r.code).toBe(130);
    const continueWith = /\(continue with: (.*)\)\n$/.exec(r.err)?.[1] ?? '';
    const checkpoint = path.join(out, 'checkpoint.safetensors');
    expect(shellWords(continueWith)).toEqual(['pnpm', 'foldnet', 'train', '--resume', checkpoint, '--plugin', plugin]);
    const saved = loadTrainState(checkpoint);
    expect(saved._tag === 'Right' && saved.right.step).toBe(1);
  });
});
