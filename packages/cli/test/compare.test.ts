import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareChartSpec, renderSvg, toJsonLines, type MetricsRow } from '@foldnet/cli';
import { compareLine, formatCompareTable, readRunFolder, runLabels } from '../src/commands/compare.js';
import { buildOnce, expectUsageError, foldnet } from './built-cli.js';

// A run's evaluations: accuracies rising, losses falling, `evals` rows `every` steps apart.
const curve = (evals: number, every: number, rate: number): MetricsRow[] =>
  Array.from({ length: evals }, (_, i) => {
    const step = (i + 1) * every;
    return { step, loss: 2.3 * Math.exp(-step * rate), train_acc: 1 - 0.9 * Math.exp(-step * rate), test_acc: 0.97 - 0.87 * Math.exp(-step * rate), test_loss: 2.3 * Math.exp(-step * rate * 0.8), elapsed_s: step / 20 };
  });

let tmp = '';
const writeRun = (name: string, rows: readonly MetricsRow[], config?: unknown): string => {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), toJsonLines(rows));
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-compare-'));
  writeRun('runs/adam', curve(20, 10, 0.02), { model: 'simple', optimizer: { type: 'adam', lr: 0.001 }, seed: 0 });
  writeRun('runs/sgd', curve(10, 20, 0.005), { model: '/home/me/nets/wide.json', optimizer: { type: 'sgd', lr: 0.1 }, seed: 3 });
  writeRun('runs/bare', curve(3, 100, 0.01));
  fs.mkdirSync(path.join(tmp, 'not-a-run'));
  writeRun('runs/empty', []);
  await buildOnce();
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('compare: the table', () => {
  it('a line per run: final test and training accuracy, best test accuracy with its step, losses, steps, time, setup from config.json', () => {
    const adam = { ...readRunFolder(tmp, 'runs/adam'), label: 'adam' };
    const line = compareLine(adam);
    expect(line).toEqual({
      run: 'adam',
      setup: 'simple, adam 0.001, seed 0',
      steps: '200',
      testAcc: (0.97 - 0.87 * Math.exp(-4)).toFixed(4),
      bestTestAcc: `${(0.97 - 0.87 * Math.exp(-4)).toFixed(4)} (200)`,
      trainAcc: (1 - 0.9 * Math.exp(-4)).toFixed(4),
      testLoss: (2.3 * Math.exp(-3.2)).toFixed(4),
      meanBatchLoss: (2.3 * Math.exp(-4)).toFixed(4),
      seconds: '10.0',
    });
    // a folder without config.json: an empty setup, the curves all the same
    expect(compareLine({ ...readRunFolder(tmp, 'runs/bare'), label: 'bare' }).setup).toBe('');
    const text = formatCompareTable([line, compareLine({ ...readRunFolder(tmp, 'runs/sgd'), label: 'sgd' })]);
    expect(text.split('\n')[0]).toMatch(/^run\s+setup\s+steps\s+test acc\s+best test acc \(step\)\s+train acc\s+test loss\s+mean batch loss\s+time \(s\)$/);
    expect(text).toContain('wide.json, sgd 0.1, seed 3');
  });

  it('runs are named by their folder, or by the path given where two folders share a name', () => {
    expect(runLabels(['runs/a', 'b/x', 'c/x', 'x/'])).toEqual(['a', 'b/x', 'c/x', 'x/']);
  });

  it('a file inside a run folder (its checkpoint) stands for the folder', () => {
    fs.writeFileSync(path.join(tmp, 'runs/adam/checkpoint.safetensors'), '');
    expect(readRunFolder(tmp, 'runs/adam/checkpoint.safetensors').shown).toBe('runs/adam');
  });

  it('a config.json that is a device, or not JSON, leaves the setup empty and is never read whole', () => {
    const dev = writeRun('runs/dev', curve(3, 10, 0.5));
    fs.symlinkSync('/dev/zero', path.join(dev, 'config.json'));
    expect(readRunFolder(tmp, 'runs/dev').setup).toBe('');
    const bad = writeRun('runs/bad', curve(3, 10, 0.5));
    fs.writeFileSync(path.join(bad, 'config.json'), '{"model": ');
    expect(readRunFolder(tmp, 'runs/bad').setup).toBe('');
  });
});

describe('compare: the chart', () => {
  it('two panels, one colour per run, test curves solid and training curves dashed', async () => {
    const svg = await renderSvg(compareChartSpec([{ label: 'adam', rows: curve(20, 10, 0.02) }, { label: 'sgd', rows: curve(10, 20, 0.005) }]));
    for (const text of ['>accuracy<', '>loss<', '>adam<', '>sgd<', '>test set<', '>training set<']) expect(svg).toContain(text);
    expect(svg).toMatch(/stroke-dasharray="5,3"/);
  });

  it('3 runs of 700,000 evaluations each draw in a bounded number of points', async () => {
    const runs = ['a', 'b', 'c'].map((label, k) => ({ label, rows: curve(700_000, 1, 1e-5 * (k + 1)) }));
    const svg = await renderSvg(compareChartSpec(runs));
    const points = [...svg.matchAll(/<path[^>]* d="(M[^"]*)"/g)].reduce((n, m) => n + (m[1].match(/[ML]/g)?.length ?? 0), 0);
    // 3 runs x 4 series x at most 4 points per pixel column, plus axes
    expect(points).toBeLessThan(3 * 4 * 4 * 640 + 400);
  }, 120_000);
});

describe('foldnet compare (the built CLI)', () => {
  it('writes compare.svg, .png, .md and .csv into --out and prints the table and the paths', async () => {
    const r = await foldnet(['compare', 'runs/adam', 'runs/sgd', 'runs/bare', '--out', 'cmp/one'], tmp);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run\s+setup/);
    expect(r.stdout).toMatch(/^adam\s+simple, adam 0\.001, seed 0\s+200\s/m);
    expect(r.stdout).toContain(`wrote cmp${path.sep}one${path.sep}\n`);
    for (const f of ['compare.svg', 'compare.png', 'compare.md', 'compare.csv']) {
      expect(r.stdout).toContain(`  ${path.join('cmp', 'one', f)}\n`);
      expect(fs.statSync(path.join(tmp, 'cmp', 'one', f)).size).toBeGreaterThan(0);
    }
    const png = PNG.sync.read(fs.readFileSync(path.join(tmp, 'cmp/one/compare.png')));
    expect(png.width).toBeGreaterThan(png.height);
    const md = fs.readFileSync(path.join(tmp, 'cmp/one/compare.md'), 'utf8').split('\n');
    expect(md[0]).toBe('| run | setup | steps | test acc | best test acc (step) | train acc | test loss | mean batch loss | time (s) |');
    expect(md).toHaveLength(2 + 3 + 1);
    expect(fs.readFileSync(path.join(tmp, 'cmp/one/compare.csv'), 'utf8')).toMatch(/^run,setup,steps,testAcc,bestTestAcc,trainAcc,testLoss,meanBatchLoss,seconds\nadam,"simple, adam 0.001, seed 0",200,/);
  });

  it('without --out: a new runs/compare-<timestamp> folder', async () => {
    const r = await foldnet(['compare', 'runs/adam', 'runs/sgd'], tmp);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`wrote runs\\${path.sep}compare-\\d{8}-\\d{6}\\${path.sep}\\n`));
  });

  it('bad input: one line naming the folder, exit 2', async () => {
    expectUsageError(await foldnet(['compare', 'runs/adam', 'not-a-run'], tmp), /^foldnet compare: not-a-run: not a run folder \(no metrics\.jsonl in it/);
    expectUsageError(await foldnet(['compare', 'runs/nowhere'], tmp), /^foldnet compare: runs\/nowhere: no such run folder$/);
    expectUsageError(await foldnet(['compare', 'runs/empty'], tmp), /^foldnet compare: runs\/empty\/metrics\.jsonl: holds no evaluation rows$/);
    fs.writeFileSync(path.join(tmp, 'a-file'), 'x');
    expectUsageError(await foldnet(['compare', 'runs/adam', '--out', 'a-file'], tmp), /^foldnet compare: --out a-file: exists and is not a directory$/);
    expectUsageError(await foldnet(['compare'], tmp), /missing required argument 'runs'/);
  });

  it('--help shows an example', async () => {
    const r = await foldnet(['compare', '--help'], tmp);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('$ foldnet compare runs/adam runs/sgd --out runs/adam-vs-sgd');
  });
});
