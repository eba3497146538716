import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@foldnet/train';
import { buildOnce, expectUsageError } from './built-cli.js';

/*
 * The built CLI run as a user runs it: `node packages/cli/dist/bin.js ...` in temporary folders.
 * beforeAll builds the workspace (`tsc -b`, incremental: quick when dist is fresh).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
let tmp = '';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI in `cwd` (the temporary folder) and collects its exit code and output. */
const foldnet = (args: readonly string[], cwd: string = tmp): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

const write = (name: string, content: string): string => {
  fs.writeFileSync(path.join(tmp, name), content);
  return name;
};

const pngSize = (file: string): [number, number] => {
  const png = PNG.sync.read(fs.readFileSync(file));
  return [png.width, png.height];
};

// A tiny spec network: 2 filters 3x3 on 6x6, pool, 3 classes; checks in milliseconds.
const tinySpec = { input: [1, 6, 6], layers: [{ type: 'conv2d', filters: 2, size: 3 }, { type: 'relu' }, { type: 'maxPool2d', size: 2 }, { type: 'affine', units: 3 }] };

beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-cli-'));
}, 300_000);

afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

describe.concurrent('foldnet --help: every command has help with an example', () => {
  for (const cmd of ['train', 'eval', 'predict', 'export', 'summary', 'gradcheck', 'bench', 'compare']) {
    it(`foldnet ${cmd} --help exits 0 and shows an example`, async () => {
      const r = await foldnet([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: foldnet ${cmd}`);
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n  \\$ foldnet ${cmd}`));
    });
  }

  it('foldnet --help lists the eight commands', async () => {
    const r = await foldnet(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['train', 'eval', 'predict', 'export', 'summary', 'gradcheck', 'bench', 'compare']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });
});

describe.concurrent('bad input: one line on stderr naming what is wrong, exit 2', () => {
  it('train --lr fast', async () => expectUsageError(await foldnet(['train', '--lr', 'fast']), 'foldnet train: --lr: expected a positive number, got "fast"'));
  it('train --iters 2.5', async () => expectUsageError(await foldnet(['train', '--iters', '2.5']), 'foldnet train: --iters: expected a positive integer, got "2.5"'));
  it('train --optimizer lion', async () => expectUsageError(await foldnet(['train', '--optimizer', 'lion']), /--optimizer: expected one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, sgd-nesterov, got "lion"/));
  it('train --lrr 1 (unknown flag, with a suggestion)', async () => expectUsageError(await foldnet(['train', '--lrr', '1']), /^foldnet train: unknown option '--lrr' \(Did you mean --lr\?\)/));
  it('train --iters 10 --epochs 2', async () => expectUsageError(await foldnet(['train', '--iters', '10', '--epochs', '2']), /option '--iters <n>' cannot be used with option '--epochs <n>'/));
  it('trian (unknown command)', async () => expectUsageError(await foldnet(['trian']), /^foldnet: unknown command 'trian'/));
  it('summary without its argument', async () => expectUsageError(await foldnet(['summary']), /missing required argument 'model'/));
  it('train --config missing.json', async () => expectUsageError(await foldnet(['train', '--config', 'missing.json']), 'foldnet train: --config missing.json: no such file'));
  it('train --config with broken JSON', async () => expectUsageError(await foldnet(['train', '--config', write('broken.json', '{"iters": 10,')]), /^foldnet train: broken\.json: not valid JSON/));
  it('train --config config.json with optimizer.lr "fast": the path inside the file', async () =>
    expectUsageError(
      await foldnet(['train', '--config', write('config.json', JSON.stringify({ optimizer: { type: 'adam', lr: 'fast' } }))]),
      'foldnet train: config.json: optimizer.lr: expected a positive number, got "fast"',
    ));
  it('train --config with a misspelt key', async () => expectUsageError(await foldnet(['train', '--config', write('typo.json', '{"learningRate": 0.1}')]), /^foldnet train: typo\.json: learningRate: unknown key/));
  it('train --data pointing at a folder without MNIST files', async () => {
    fs.mkdirSync(path.join(tmp, 'empty'), { recursive: true });
    expectUsageError(await foldnet(['train', '--data', 'empty', '--iters', '1', '--out', 'never']), /^foldnet train: .*train-images-idx3-ubyte/);
  });
  it('summary of an unknown model name', async () => expectUsageError(await foldnet(['summary', 'huge']), /^foldnet summary: model "huge": expected simple, double, deep, resnet or a JSON model spec file/));
  it('summary of a spec with a negative filter count names its path', async () =>
    expectUsageError(
      await foldnet(['summary', write('neg.json', JSON.stringify({ input: [1, 6, 6], layers: [{ type: 'conv2d', filters: -2, size: 3 }] }))]),
      /^foldnet summary: neg\.json: layers\[0\]\.filters: expected a positive integer, got -2/,
    ));
  it('eval of a missing checkpoint', async () => expectUsageError(await foldnet(['eval', 'nope.safetensors']), /^foldnet eval: .*nope\.safetensors/));
  it('eval of a file that is not a checkpoint', async () => expectUsageError(await foldnet(['eval', write('junk.safetensors', 'not a checkpoint at all')]), /^foldnet eval: .*junk\.safetensors/));
  it('--debug adds the stack trace', async () => {
    const r = await foldnet(['train', '--config', 'missing.json', '--debug']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^\s+at /m);
  });
});

describe('summary and gradcheck', () => {
  it('summary simple: the SimpleConvNet table, total 433,890 (30*25+30 + 4320*100+100 + 100*10+10)', async () => {
    const r = await foldnet(['summary', 'simple']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/conv1\s+conv2d\s+\[30,24,24\]\s+780/);
    expect(r.stdout).toMatch(/affine1\s+affine\s+\[100\]\s+432,100/);
    expect(r.stdout).toMatch(/total\s+433,890/);
  });

  it('summary --json of a spec file gives the layers and the total', async () => {
    const r = await foldnet(['summary', write('tiny.json', JSON.stringify(tinySpec)), '--json']);
    expect(r.code).toBe(0);
    const parsed: unknown = JSON.parse(r.stdout);
    // conv 2*9+2 = 20, affine (2*2*2)*3+3 = 27
    expect(parsed).toMatchObject({ model: 'tiny', totalParams: 47 });
  });

  it('gradcheck of the tiny spec passes (exit 0); with an impossible tolerance (rtol = atol = 1e-300) it exits 1', async () => {
    write('tiny.json', JSON.stringify(tinySpec));
    const ok = await foldnet(['gradcheck', 'tiny.json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('gradient check passed');
    const bad = await foldnet(['gradcheck', 'tiny.json', '--tolerance', '1e-300', '--atol', '1e-300']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('gradient check FAILED');
    expect(bad.stderr).toMatch(/^foldnet gradcheck: max relative error .* exceeds the tolerance 1e-300\n$/);
  });
});

describe('a short training run, resume, eval, predict', () => {
  const tiny = ['--train-size', '100', '--test-size', '50', '--batch-size', '20', '--eval-every', '3'];
  const runFiles = ['accuracy.png', 'accuracy.svg', 'checkpoint.safetensors', 'config.json', 'loss.png', 'loss.svg', 'losses.jsonl', 'metrics.csv', 'metrics.jsonl', 'report.html'];
  let first = '';

  it('train --config tiny-run.json --iters 6 (the flag overrides the file) writes runs/<timestamp>-simple/ with exactly the ten files', async () => {
    write('tiny-run.json', JSON.stringify({ iters: 50, trainSize: 100, testSize: 50, batchSize: 20, evalEvery: 3, optimizer: 'adam' }));
    const r = await foldnet(['train', '--config', 'tiny-run.json', '--iters', '6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^step 3: train acc \d\.\d{4}, test acc \d\.\d{4}$/m);
    expect(r.stdout).toMatch(/^step 6: train acc \d\.\d{4}, test acc \d\.\d{4}$/m);
    const runs = fs.readdirSync(path.join(tmp, 'runs'));
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^\d{8}-\d{6}-simple$/);
    first = path.join(tmp, 'runs', runs[0] ?? '');
    expect(fs.readdirSync(first).sort()).toEqual(runFiles);
    expect(r.stdout).toContain(`wrote runs${path.sep}${runs[0] ?? ''}${path.sep}`);
    for (const f of runFiles) expect(r.stdout).toContain(path.join('runs', runs[0] ?? '', f));

    const rows = fs.readFileSync(path.join(first, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l): unknown => JSON.parse(l));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ step: 6 });
    for (const row of rows) expect(Object.keys(row ?? {})).toEqual(expect.arrayContaining(['step', 'loss', 'train_acc', 'test_acc']));
    expect(fs.readFileSync(path.join(first, 'metrics.csv'), 'utf8').split('\n')[0]).toBe('step,loss,train_acc,test_acc,test_loss,elapsed_s');
    const config: unknown = JSON.parse(fs.readFileSync(path.join(first, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model: 'simple', iters: 6, batchSize: 20, optimizer: { type: 'adam', lr: 0.001 }, trainSize: 100, testSize: 50, evalEvery: 3, seed: 0 });
    expect(pngSize(path.join(first, 'accuracy.png'))).toEqual([1280, 800]);
    expect(pngSize(path.join(first, 'loss.png'))).toEqual([1280, 800]);
    const html = fs.readFileSync(path.join(first, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|(?:src|href)="(?!data:)/);
    expect([...html.matchAll(/alt="filter \d+"/g)]).toHaveLength(30);
    // the report says what each figure is measured on, and how to train the run again
    expect(html).toMatch(/After step 6: test accuracy \d\.\d{4} and test loss \d\.\d{4} on 50 test images; training accuracy \d\.\d{4} on 100 training images; mean batch loss \d\.\d{4} over 3 training batches of 20 \(steps 4-6\)\./);
    // started as `node <bin.js>` (or as `foldnet` where PATH's foldnet is this build): the line starts as it was typed
    expect(html).toMatch(/<pre>(?:foldnet|node \S+bin\.js) train --iters 6 --batch-size 20 --train-size 100 --test-size 50 --eval-every 3<\/pre>/);
    expect(html).toContain('affine1  affine');
  });

  it('--resume continues the run: resumed 6 -> 9 equals 0 -> 9 without stopping, and keeps the earlier curve', async () => {
    const resumed = await foldnet(['train', '--resume', path.join(first, 'checkpoint.safetensors'), '--iters', '9', '--out', 'resumed']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming at step 6');
    const straight = await foldnet(['train', '--iters', '9', ...tiny, '--out', 'straight']);
    expect(straight.code, straight.stderr).toBe(0);
    const steps = (dir: string): unknown[] => fs.readFileSync(path.join(tmp, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l): unknown => JSON.parse(l));
    const a = steps('resumed');
    const b = steps('straight');
    expect(a.map((r) => (typeof r === 'object' && r !== null && 'step' in r ? r.step : undefined))).toEqual([3, 6, 9]);
    const strip = (r: unknown): unknown => (typeof r === 'object' && r !== null ? { ...r, elapsed_s: 0 } : r);
    expect(a.map(strip)).toEqual(b.map(strip));
    const ca = loadCheckpoint(path.join(tmp, 'resumed', 'checkpoint.safetensors'));
    const cb = loadCheckpoint(path.join(tmp, 'straight', 'checkpoint.safetensors'));
    if (ca._tag === 'Left' || cb._tag === 'Left') throw new Error('checkpoints should load');
    expect(ca.right.metadata['step']).toBe('9');
    for (const [name, t] of Object.entries(cb.right.tensors)) expect(Array.from(ca.right.tensors[name]?.data ?? []), name).toEqual(Array.from(t.data));
  });

  it('eval of the checkpoint prints accuracy, loss and the confusion matrix; --json gives them as one object', async () => {
    const r = await foldnet(['eval', path.join(first, 'checkpoint.safetensors'), '--test-size', '40']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test accuracy \d\.\d{4}, top-5 \d\.\d{4}, test loss \d+\.\d{4}/);
    expect(r.stdout).toMatch(/^accuracy per class\n  0  \d\.\d{4}  \(\d+ of \d+\)$/m);
    // how many images the figures are measured on (the report's 1000 and eval's 10000 differ otherwise without a word)
    expect(r.stdout).toContain('(step 6) on 40 test images of MNIST (bundled)');
    expect(r.stdout).toMatch(/^true\\pred +0 +1 +2/m);
    const j = await foldnet(['eval', path.join(first, 'checkpoint.safetensors'), '--test-size', '40', '--json']);
    const parsed: unknown = JSON.parse(j.stdout);
    expect(parsed).toMatchObject({ step: 6, count: 40 });
  });

  it('predict --index 0 and predict of a dark-on-light PNG (inverted) print a class and ten probabilities', async () => {
    const ckpt = path.join(first, 'checkpoint.safetensors');
    const byIndex = await foldnet(['predict', ckpt, '--index', '0', '--json']);
    expect(byIndex.code, byIndex.stderr).toBe(0);
    const parsed: unknown = JSON.parse(byIndex.stdout);
    expect(parsed).toMatchObject({ label: 7 });
    const png = new PNG({ width: 90, height: 60 });
    for (let i = 0; i < 90 * 60; i++) {
      const x = i % 90;
      const v = x > 40 && x < 50 ? 0 : 255; // a black vertical stroke on white
      png.data.set([v, v, v, 255], i * 4);
    }
    fs.writeFileSync(path.join(tmp, 'stroke.png'), PNG.sync.write(png));
    const byImage = await foldnet(['predict', ckpt, 'stroke.png']);
    expect(byImage.code, byImage.stderr).toBe(0);
    expect(byImage.stdout).toContain('stroke.png (inverted: dark ink on a light background)');
    expect(byImage.stdout).toMatch(/^predicted \d with probability \d\.\d{4}$/m);
    expect(byImage.stdout.split('\n').filter((l) => /^[> ] +\d  \d\.\d{4}/.test(l))).toHaveLength(10);
    expectUsageError(await foldnet(['predict', ckpt]), 'foldnet predict: give an image (PNG or JPEG), a folder of images or --index <i> (a test image)');
  });

  it('predict of a folder of digits and an image: one line each, by path, the class a digit with no name, as predicting each alone gives', async () => {
    const ckpt = path.join(first, 'checkpoint.safetensors');
    fs.mkdirSync(path.join(tmp, 'digits', 'more'), { recursive: true });
    for (const f of ['b.png', path.join('more', 'a.png')]) fs.copyFileSync(path.join(tmp, 'stroke.png'), path.join(tmp, 'digits', f));
    const r = await foldnet(['predict', ckpt, 'digits', 'stroke.png']);
    expect(r.code, r.stderr).toBe(0);
    const alone = (await foldnet(['predict', ckpt, 'stroke.png'])).stdout.match(/^predicted (\d) with probability (\d\.\d{4})$/m);
    const line = (file: string) => `${file.padEnd(path.join('digits', 'more', 'a.png').length)}   ${alone?.[1] ?? '?'}  ${alone?.[2] ?? '?'}  (inverted)`;
    expect(r.stdout).toBe(`${[path.join('digits', 'b.png'), path.join('digits', 'more', 'a.png'), 'stroke.png'].map(line).join('\n')}\n`);
    // through the network two at a time, then the last alone: the same lines
    expect((await foldnet(['predict', ckpt, 'digits', 'stroke.png', '--batch-size', '2'])).stdout).toBe(r.stdout);
    const json = (await foldnet(['predict', ckpt, 'digits', '--json'])).stdout.trim().split('\n').map((l): unknown => JSON.parse(l));
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ image: path.join('digits', 'b.png'), predicted: Number(alone?.[1]), inverted: true });
    expect(json[0]).not.toHaveProperty('class');
  });

  it('export --onnx writes an ONNX ModelProto (field 1 ir_version 7 for opset 13, producer foldnet, conv1.W inside); --softmax too', async () => {
    const ckpt = path.join(first, 'checkpoint.safetensors');
    for (const [args, output] of [[[], 'logits'], [['--softmax'], 'probabilities']] as const) {
      const out = `simple-${output}.onnx`;
      const r = await foldnet(['export', ckpt, '--onnx', out, ...args]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`wrote ${out} (step 6: input [N,1,28,28] -> ${output} [N,10])\n`);
      const bytes = fs.readFileSync(path.join(tmp, out));
      expect([bytes[0], bytes[1]]).toEqual([0x08, 0x07]); // tag (1 << 3 | varint), ir_version 7
      expect(bytes.includes(Buffer.from('foldnet'))).toBe(true);
      expect(bytes.includes(Buffer.from('conv1.W'))).toBe(true);
      expect(bytes.includes(Buffer.from(output))).toBe(true);
      expect(bytes.length).toBeGreaterThan(433_890 * 4); // every parameter as float32
    }
  });

  it('export with a bad path: a missing checkpoint, a folder that does not exist for --onnx, no --onnx: exit 2, one line', async () => {
    const ckpt = path.join(first, 'checkpoint.safetensors');
    expectUsageError(await foldnet(['export', 'missing.safetensors', '--onnx', 'm.onnx']), /^foldnet export: missing\.safetensors: cannot read: ENOENT/);
    expectUsageError(await foldnet(['export', ckpt, '--onnx', path.join('no-such-dir', 'm.onnx')]), /^foldnet export: writeFileAtomic: .*no-such-dir.*m\.onnx: cannot create a temporary file/);
    expectUsageError(await foldnet(['export', ckpt]), /^foldnet export: required option '--onnx <model\.onnx>' not specified/);
    expect(fs.existsSync(path.join(tmp, 'm.onnx'))).toBe(false);
  });
});
