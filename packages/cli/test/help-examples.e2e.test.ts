import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, foldnet } from './built-cli.js';

/*
 * Every training example `foldnet train --help` shows must learn: each one that starts from nothing (not from a
 * config file or a checkpoint the reader does not have) runs shortened to 100 steps on 1000 images, and its
 * training loss must end well below ln 10 = 2.30, the loss of a network that guesses.
 */

let tmp = '';
beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-help-examples-'));
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The example's flags with its length (--iters, --epochs) and run folder (--out) taken out. */
const shortened = (line: string): string[] => {
  const words = line.trim().split(/\s+/).slice(2); // after `foldnet train`
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (['--iters', '--epochs', '--out'].includes(words[i])) i++;
    else kept.push(words[i]);
  }
  return kept;
};

describe('foldnet train --help: every example learns', () => {
  it('each example without --config or --resume, shortened, ends with a training loss below 1.15 (half of ln 10)', async () => {
    const help = await foldnet(['train', '--help'], tmp);
    const examples = help.stdout.split('\n').filter((l) => /^\s*\$ foldnet train\b/.test(l)).map((l) => l.replace(/^\s*\$\s*/, ''));
    const runnable = examples.filter((l) => !l.includes('--config') && !l.includes('--resume'));
    expect(runnable.length).toBeGreaterThanOrEqual(2);
    expect(runnable.some((l) => l.includes('--optimizer sgd'))).toBe(true);
    for (const [i, line] of runnable.entries()) {
      const out = `run${i}`;
      const r = await foldnet(['train', ...shortened(line), '--iters', '100', '--eval-every', '50', '--train-size', '1000', '--test-size', '200', '--out', out], tmp);
      expect(r.code, `${line}: ${r.stderr}`).toBe(0);
      expect(r.stdout).not.toContain('warning: the training loss has stayed');
      const rows = fs.readFileSync(path.join(tmp, out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l): unknown => JSON.parse(l));
      const last = rows[rows.length - 1];
      const loss = typeof last === 'object' && last !== null ? Reflect.get(last, 'loss') : undefined;
      expect(typeof loss === 'number' && loss < Math.log(10) / 2, `${line}: final loss ${String(loss)}`).toBe(true);
    }
  }, 300_000);

  it('a stalled run says so once and goes on: SGD from the lesson\'s std 0.01 stays at ln 10', async () => {
    const r = await foldnet(['train', '--model', 'double', '--optimizer', 'sgd', '--lr', '0.1', '--iters', '200', '--eval-every', '100', '--train-size', '1000', '--test-size', '200', '--out', 'stalled'], tmp);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: the training loss has stayed within 1% of its first value'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/for steps 1-100: the weights may start too small for this optimizer \(try --weight-init he\) or the learning rate may be off \(--lr\)$/);
    const rows = fs.readFileSync(path.join(tmp, 'stalled', 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(rows.map((l) => Reflect.get(JSON.parse(l), 'step'))).toEqual([100, 200]);
  }, 120_000);

  it('--weight-init: the presets only, one of he | xavier | glorot | a std', async () => {
    fs.writeFileSync(path.join(tmp, 'net.json'), JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'affine', units: 10 }] }));
    const spec = await foldnet(['train', '--model', 'net.json', '--weight-init', 'he', '--iters', '1'], tmp);
    expect(spec.code).toBe(2);
    expect(spec.stderr).toBe(`foldnet train: --weight-init applies to the presets; the model spec ${path.join(tmp, 'net.json')} sets weightInit on each layer\n`);
    const bad = await foldnet(['train', '--weight-init', 'hee', '--iters', '1'], tmp);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('foldnet train: --weight-init: expected \'he\', \'xavier\', \'glorot\' or a positive std, got "hee"\n');
  }, 120_000);
});
