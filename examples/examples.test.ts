/**
 * Runs every example program as a user would (TypeScript through tsx, packages by name), in quick
 * mode (FOLDNET_EXAMPLE_QUICK=1: fewer steps, smaller data), and checks what each one prints.
 * The packages resolve to their sources (the `@foldnet/source` condition), as in every test here.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJsonLines, runCli, type Io } from '@foldnet/cli';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

const runExample = async (file: string, args: readonly string[] = []): Promise<string> => {
  const { stdout } = await run(process.execPath, ['--conditions=@foldnet/source', '--import', 'tsx', join('examples', file), ...args], {
    cwd: root,
    env: { ...process.env, FOLDNET_EXAMPLE_QUICK: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
};

// The number after `label` in the output, or NaN when the line is missing.
const numberAfter = (out: string, label: string): number => {
  const m = new RegExp(`${label}\\s*([0-9.]+)`).exec(out);
  return m === null ? Number.NaN : Number(m[1]);
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// Each example takes 5-12 s alone; on 2 cores shared with the rest of the suite it can take a few times that.
describe('examples run as written (quick mode)', { timeout: 180_000 }, () => {
  it('quickstart.ts: summary of a 4-layer network, 30 steps on MNIST with progress lines, test accuracy above 0.5', async () => {
    const out = await runExample('quickstart.ts');
    expect(out).toMatch(/^step 3\/30 \(10%\)  loss \d+\.\d{4}  \d+\.\d steps\/s  ETA .+$/m);
    expect(out).toMatch(/^step 30\/30 \(100%\)  loss \d+\.\d{4}  \d+\.\d steps\/s  ETA 0\.0 s$/m);
    expect(out).toMatch(/conv1\s+conv2d\s+\[16,24,24\]\s+416/);
    expect(out).toMatch(/total\s+23,466/);
    expect(numberAfter(out, 'test accuracy after 30 steps:')).toBeGreaterThan(0.5);
  });

  it('lenet5.ts: LeNet-5 summary (tanh, avgPool2d), 40 steps, checkpoint saved, reloaded with the same loss, resumed for 10 steps bit-identical to uninterrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foldnet-example-'));
    dirs.push(dir);
    const out = await runExample('lenet5.ts', [dir]);
    expect(out).toMatch(/pool1\s+avgPool2d\s+\[6,14,14\]/);
    expect(out).toMatch(/tanh4\s+tanh\s+\[84\]/);
    expect(out).toMatch(/total\s+61,706/);
    expect(out).toMatch(/step 40: batch loss [0-9.]+/);
    const trained = numberAfter(out, 'test accuracy');
    expect(trained).toBeGreaterThan(0.5);
    expect(existsSync(join(dir, 'lenet5.safetensors'))).toBe(true);
    expect(out).toContain(`saved ${join(dir, 'lenet5.safetensors')}`);
    expect(numberAfter(out, 'loaded step 40: test accuracy')).toBe(trained);
    expect(out).toMatch(/^resumed at step 40 with adam, now at step 50: test accuracy [0-9.]+$/m);
    expect(out).toContain("resumed params equal uninterrupted training's, bit for bit: true");
  });

  it('custom-layer.ts: leakyRelu and conv1x1 alone, then inside a network with sequential blocks, pass checkGradients; then trains 20 steps', async () => {
    const out = await runExample('custom-layer.ts');
    expect(out.match(/gradient check passed/g)?.length).toBe(3);
    expect(out).not.toMatch(/gradient check failed/);
    expect(out).toMatch(/^ {2}W\s+\[4,3\]/m);
    expect(out).toMatch(/seq1\.conv1\.W\s+\[8,1,3,3\]/);
    expect(out).toMatch(/mix1\.W\s+\[8,16\]/);
    expect(out).toMatch(/seq2\s+sequential\s+\[16,14,14\]\s+1,168/);
    expect(out).toMatch(/mix1\s+conv1x1\s+\[8,14,14\]\s+136/);
    expect(numberAfter(out, 'after 20 steps: test accuracy')).toBeGreaterThan(0.2);
  });

  it('training-fold.ts: a log line every 50 steps, then an early stop on the validation plateau before the 5000-step budget', async () => {
    const out = await runExample('training-fold.ts');
    const logged = [...out.matchAll(/^step (\d+): mean batch loss ([0-9.]+), validation loss ([0-9.]+)$/gm)].map((m) => Number(m[1]));
    const stop = /^early stop at step (\d+): validation loss [0-9.]+ at step (\d+)/m.exec(out);
    expect(stop).not.toBeNull();
    const stoppedAt = Number(stop?.[1]);
    expect(stoppedAt).toBeLessThan(5000);
    // every 50 steps up to the stop, none missing, none after it
    expect(logged).toEqual(Array.from({ length: stoppedAt / 50 }, (_, i) => 50 * (i + 1)));
    // the patience: three evaluations after the best one
    expect(stoppedAt - Number(stop?.[2])).toBe(150);
    expect(numberAfter(out, 'test accuracy')).toBeGreaterThan(0.5);
  });

  it('run-folder.ts: writeRunFolder writes the folder foldnet train writes, and foldnet train --resume continues it there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foldnet-example-'));
    dirs.push(dir);
    const folder = join(dir, 'from-api');
    const out = await runExample('run-folder.ts', [folder]);
    expect(numberAfter(out, 'step 40: test accuracy')).toBeGreaterThan(0.5);
    const files = ['config.json', 'metrics.jsonl', 'metrics.csv', 'losses.jsonl', 'checkpoint.safetensors', 'accuracy.svg', 'accuracy.png', 'loss.svg', 'loss.png', 'report.html'];
    for (const f of files) expect(out).toContain(`  ${join(folder, f)}\n`);
    expect(readdirSync(folder).sort()).toEqual([...files].sort());
    expect(parseJsonLines(readFileSync(join(folder, 'metrics.jsonl'), 'utf8')).map((r) => r.step)).toEqual([10, 20, 30, 40]);
    // the CLI takes the folder as its own: --resume continues it in place, appending to its history
    let said = '';
    const io: Io = { out: (t) => (said += t), err: (t) => (said += t), stdoutIsTTY: false, stdout: new PassThrough(), cwd: dir, env: {} };
    expect(await runCli(['train', '--resume', join('from-api', 'checkpoint.safetensors'), '--iters', '60'], io), said).toBe(0);
    expect(said).toContain(`continuing the run in from-api${sep}`);
    expect(parseJsonLines(readFileSync(join(folder, 'metrics.jsonl'), 'utf8')).map((r) => r.step)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('every example type-checks (strict, as the packages)', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '-p', join('examples', 'tsconfig.json')], { cwd: root }).then(
      () => '',
      (e: unknown) => (typeof e === 'object' && e !== null && 'stdout' in e ? String(e.stdout) : String(e)),
    );
    expect(r).toBe('');
  });
});
