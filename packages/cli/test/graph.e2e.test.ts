import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@foldnet/train';
import { buildOnce, expectUsageError, foldnet as foldnetIn, root, startFoldnet, type Run } from './built-cli.js';

/*
 * The built CLI on networks that are graphs: the ResNet-style example spec (residual blocks, projection
 * shortcuts, global average pooling) and a layer of one's own loaded with --plugin, through train, summary,
 * gradcheck, eval, predict, export and bench. Runs in a temporary folder, as a user would.
 */

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'swish-plugin.mjs');
const resnet = path.join(root, 'examples', 'resnet.json');
let tmp = '';

const foldnet = (args: readonly string[], cwd: string = tmp): Promise<Run> => foldnetIn(args, cwd);

const write = (name: string, content: string): string => {
  fs.writeFileSync(path.join(tmp, name), content);
  return name;
};

const metricsRows = (dir: string): { step: number; loss: number }[] =>
  fs
    .readFileSync(path.join(tmp, dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const row: unknown = JSON.parse(l);
      const field = (k: string): number => (typeof row === 'object' && row !== null && k in row ? Number(Object.getOwnPropertyDescriptor(row, k)?.value) : Number.NaN);
      return { step: field('step'), loss: field('loss') };
    });

/** `export --onnx` wrote the model: the line, and the file holds each of `names` (ops, initializers). */
const expectExported = (r: Run, out: string, wrote: string, names: readonly string[]): void => {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(wrote);
  const bytes = fs.readFileSync(path.join(tmp, out));
  for (const name of names) expect(bytes.includes(Buffer.from(name)), name).toBe(true);
};

beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-graph-'));
}, 300_000);

afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

describe('examples/resnet.json: stem, three stages of two residual blocks (16/32/64), global average pooling, affine 10', { timeout: 180_000 }, () => {
  it('summary examples/resnet.json (from the repository root) lists the blocks and their nodes by path, total 175,530', async () => {
    const r = await foldnet(['summary', 'examples/resnet.json'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^res1 +residual +\[16,28,28\] +4,704$/m);
    for (const node of ['res1.conv1', 'res1.bn1', 'res1.relu1', 'res1.conv2', 'res1.bn2', 'res1.add', 'res3.shortcut.conv1', 'res3.shortcut.bn1', 'res6.add']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${node.replace(/\./g, '\\.')} `, 'm'));
    }
    // the first block of stages 2 and 3 halves the size, with a projection shortcut; the others keep it
    expect(r.stdout).toMatch(/^ {2}res3\.conv1 +conv2d +\[32,14,14\] +4,640$/m);
    expect(r.stdout).toMatch(/^ {2}res5\.shortcut\.conv1 +conv2d +\[64,7,7\] +2,112$/m);
    expect(r.stdout).not.toMatch(/res[246]\.shortcut/);
    expect(r.stdout).toMatch(/^gap1 +globalAvgPool2d +\[64\] +0$/m);
    expect(r.stdout).toMatch(/^affine1 +affine +\[10\] +650$/m);
    expect(r.stdout).toMatch(/^total +175,530$/m);
  });

  it('summary resnet (the preset) lists the layers and shapes of summary examples/resnet.json, without its 560 conv biases', async () => {
    const preset = await foldnet(['summary', 'resnet'], root);
    const spec = await foldnet(['summary', 'examples/resnet.json'], root);
    expect(preset.code, preset.stderr).toBe(0);
    expect(preset.stdout).toMatch(/^total +174,970$/m);
    expect(spec.stdout).toMatch(/^total +175,530$/m);
    // name, type and output shape of every row; the params column differs by the biases
    const layout = (text: string) => text.split('\n').map((line) => line.trim().split(/ {2,}/).slice(0, 3).join(' | '));
    expect(layout(preset.stdout).slice(1, -2)).toEqual(layout(spec.stdout).slice(1, -2));
  });

  let run = '';
  it('train --model examples/resnet.json: 12 steps of 20 images, the loss falls; the report pictures the stem filters', async () => {
    const r = await foldnet(['train', '--model', resnet, '--iters', '12', '--eval-every', '4', '--batch-size', '20', '--train-size', '200', '--test-size', '100', '--out', 'resnet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^training resnet \(175,530 params\)/m);
    const rows = metricsRows('resnet');
    expect(rows.map((row) => row.step)).toEqual([4, 8, 12]);
    const [first, , last] = rows;
    expect(last?.loss).toBeLessThan((first?.loss ?? 0) - 0.05);
    run = path.join(tmp, 'resnet');
    const ckpt = loadCheckpoint(path.join(run, 'checkpoint.safetensors'));
    if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
    expect(Object.keys(ckpt.right.tensors)).toEqual(expect.arrayContaining(['res3.shortcut.conv1.W', 'state.res3.shortcut.bn1.mean', 'res6.conv2.W']));
    const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
    expect([...html.matchAll(/alt="filter \d+"/g)]).toHaveLength(16);
  });

  it('eval, predict and export of its checkpoint', async () => {
    const ckpt = path.join(run, 'checkpoint.safetensors');
    const e = await foldnet(['eval', ckpt, '--test-size', '50', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ step: 12, count: 50 });
    const p = await foldnet(['predict', ckpt, '--index', '0', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ label: 7 });
    const x = await foldnet(['export', ckpt, '--onnx', 'resnet.onnx']);
    expectExported(x, 'resnet.onnx', 'wrote resnet.onnx (step 12: input [N,1,28,28] -> logits [N,10])\n', ['Add', 'GlobalAveragePool', 'res3.shortcut.conv1.W']);
  });

  it('gradcheck examples/resnet.json passes: every tensor along a random direction, float64 (entry by entry takes minutes: --elements 0)', async () => {
    const r = await foldnet(['gradcheck', resnet, '--elements', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^resnet: gradient check passed/);
    expect(r.stdout).toMatch(/^ {2}res3\.shortcut\.conv1\.W +\[32,16,1,1\]/m);
    expect(r.stdout).toMatch(/^ {2}res6\.bn2\.gamma +\[64\]/m);
  });
});

describe('--plugin: a layer of one\'s own (swish with a learnable slope) in specs and checkpoints', { timeout: 180_000 }, () => {
  // swish at the top level and inside a residual block, each with its own param beta
  const spec = {
    input: [1, 28, 28],
    layers: [
      { type: 'conv2d', filters: 4, size: 5, stride: 2 },
      { type: 'swish' },
      { type: 'residual', block: [{ type: 'conv2d', filters: 4, size: 3, pad: 1 }, { type: 'swish', beta: 0.5 }] },
      { type: 'maxPool2d', size: 2 },
      { type: 'affine', units: 10 },
    ],
  };
  // relative to the folder the CLI runs in, as a user types it
  const plugin = (): string => path.relative(tmp, fixture);
  const noPlugin = /\.type: expected one of conv2d, .*, got "swish" \(a layer type of your own\? load the module that registers it with --plugin <module>\)$/;

  it('without --plugin the spec is refused, naming the type and the flag', async () => {
    expectUsageError(await foldnet(['summary', write('swish-net.json', JSON.stringify(spec))]), /^foldnet summary: swish-net\.json: layers\[1\]/);
    expectUsageError(await foldnet(['summary', 'swish-net.json']), noPlugin);
  });

  it('summary and gradcheck of the spec with --plugin', async () => {
    write('swish-net.json', JSON.stringify(spec));
    const s = await foldnet(['summary', 'swish-net.json', '--plugin', plugin()]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toBe('');
    expect(s.stdout).toMatch(/^swish1 +swish +\[4,12,12\] +1$/m);
    expect(s.stdout).toMatch(/^ {2}res1\.swish1 +swish +\[4,12,12\] +1$/m);
    const g = await foldnet(['gradcheck', 'swish-net.json', '--plugin', plugin()]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/gradient check passed/);
    expect(g.stdout).toMatch(/^ {2}res1\.swish1\.beta +\[1\]/m);
  });

  it('train 2 steps with --plugin; its checkpoint holds both betas and is read by eval, predict and bench with --plugin, refused without', async () => {
    write('swish-net.json', JSON.stringify(spec));
    const t = await foldnet(['train', '--model', 'swish-net.json', '--plugin', plugin(), '--iters', '2', '--eval-every', '2', '--batch-size', '10', '--train-size', '40', '--test-size', '20', '--out', 'swish']);
    expect(t.code, t.stderr).toBe(0);
    const file = path.join('swish', 'checkpoint.safetensors');
    const ckpt = loadCheckpoint(path.join(tmp, file));
    if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
    expect(ckpt.right.tensors['swish1.beta']?.shape).toEqual([1]);
    // trained: beta moved from its initial value
    expect(ckpt.right.tensors['res1.swish1.beta']?.data[0]).not.toBe(0.5);

    const e = await foldnet(['eval', file, '--test-size', '30', '--plugin', plugin()]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^test accuracy \d\.\d{4}, top-5 \d\.\d{4}, test loss \d+\.\d{4}$/m);
    expectUsageError(await foldnet(['eval', file, '--test-size', '30']), /^foldnet eval: swish.checkpoint\.safetensors: model spec: layers\[1\]\.type: .*--plugin <module>\)$/);

    const p = await foldnet(['predict', file, '--index', '0', '--json', '--plugin', plugin()]);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ label: 7 });

    const b = await foldnet(['bench', '--model', 'swish-net.json', '--plugin', plugin(), '--steps', '1', '--warmup', '0', '--batch-size', '4', '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ model: 'swish-net', batch: 4, steps: 1 });

    // the plugin's ONNX mapping: Mul(x, beta) -> Sigmoid -> Mul, beta an initializer
    const x = await foldnet(['export', file, '--onnx', 'swish.onnx', '--plugin', plugin()]);
    expectExported(x, 'swish.onnx', 'wrote swish.onnx (step 2: input [N,1,28,28] -> logits [N,10])\n', ['Sigmoid', 'Mul', 'swish1.beta', 'res1.swish1.beta']);
  });

  it('the same plugin twice is imported once; a plugin that registers nothing gets a warning', async () => {
    write('swish-net.json', JSON.stringify(spec));
    const twice = await foldnet(['summary', 'swish-net.json', '--plugin', plugin(), '--plugin', fixture]);
    expect(twice.code, twice.stderr).toBe(0);
    expect(twice.stderr).toBe('');
    const r = await foldnet(['summary', 'simple', '--plugin', write('nothing.mjs', 'export const answer = 42;\n')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('foldnet: warning: --plugin nothing.mjs registered no layer type (its registerLayer must come from the @foldnet/layers this foldnet runs)\n');
  });

  it('a plugin that cannot be found or fails to load: one line naming it, exit 2', async () => {
    expectUsageError(await foldnet(['summary', 'simple', '--plugin', './missing.mjs']), 'foldnet summary: --plugin ./missing.mjs: no such file');
    expectUsageError(await foldnet(['train', '--plugin', 'no-such-foldnet-plugin']), `foldnet train: --plugin no-such-foldnet-plugin: no such file, and no package of that name installed in ${tmp}`);
    write('throws.mjs', "throw new Error('swish needs a GPU');\n");
    expectUsageError(await foldnet(['eval', 'none.safetensors', '--plugin', './throws.mjs']), 'foldnet eval: --plugin ./throws.mjs: failed to load: swish needs a GPU');
    write('broken.mjs', 'export const = 1;\n');
    expectUsageError(await foldnet(['gradcheck', 'simple', '--plugin', './broken.mjs']), /^foldnet gradcheck: --plugin \.\/broken\.mjs: failed to load: /);
    write('layers.ts', 'export const n: number = 1;\n');
    expectUsageError(await foldnet(['summary', 'simple', '--plugin', './layers.ts']), /failed to load: .*\(a plugin is JavaScript: compile a TypeScript one first\)$/);
    expectUsageError(await foldnet(['export', 'x.safetensors', '--onnx', 'x.onnx', '--plugin', '']), /^foldnet export: --plugin: expected a non-empty value/);
  });

  it('pnpm foldnet typed in another folder: the plugin and the spec are found relative to it (INIT_CWD), not to the workspace root', async () => {
    write('swish-net.json', JSON.stringify(spec));
    const r = await startFoldnet(['summary', 'swish-net.json', '--plugin', plugin()], root, { npm_lifecycle_event: 'foldnet', INIT_CWD: tmp }).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}res1\.swish1 +swish/m);
  });

  it('every command takes --plugin and says so in its help', async () => {
    for (const cmd of ['train', 'eval', 'predict', 'export', 'summary', 'gradcheck', 'bench']) {
      const r = await foldnet([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout, cmd).toMatch(/^ {2}--plugin <module> /m);
    }
  });
});
