import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModelSpec, predict } from '@foldnet/layers';
import { checkpointWeights, loadCheckpoint, loadImageFolder, loadTrainState, normalizeImages } from '@foldnet/train';
import { jpegBytes, pngBytes, put, type Paint } from '../../train/test/image-files.js';
import { runOrt } from '../../train/test/onnx-check.js';
import { buildOnce, expectUsageError, foldnet as foldnetIn, root, startFoldnet, type Run } from './built-cli.js';

/*
 * Users' own images end to end, through the built CLI: a folder of PNG and JPEG files (grey and
 * RGB, of two sizes) in three class folders, trained with --format folder --image-size --normalize,
 * then eval, predict and export; the ONNX model in ONNX Runtime, given the raw images, predicts what
 * foldnet predicts. Resuming keeps the normalisation, and bad folders are one line and exit 2.
 */

let tmp = '';
const foldnet = (args: readonly string[]): Promise<Run> => foldnetIn(args, tmp);

// Three classes a small network tells apart: flat bright images, horizontal and vertical stripes,
// each image with its own phase and tint, a third of them grey PNGs, a third RGB PNGs, a third RGB JPEGs.
const classes = ['bright', 'horizontal', 'vertical'] as const;
const paintOf = (cls: (typeof classes)[number], i: number): Paint => {
  const tint = [180 + (i % 5) * 15, 160 + (i % 3) * 30, 150 + (i % 4) * 20];
  if (cls === 'bright') return (x, y) => tint.map((v) => v - ((x + y + i) % 3) * 10);
  return (x, y) => (((cls === 'horizontal' ? y : x) + i) % 4 < 2 ? tint : [25, 30, 20]);
};
const perClass = 15;
const trainFlags = ['--format', 'folder', '--image-size', '12x12', '--normalize', '--weight-init', 'he', '--batch-size', '20', '--eval-every', '30', '--seed', '3'];

beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-folder-'));
  for (const cls of classes) {
    for (let i = 0; i < perClass; i++) {
      const size = i % 2 === 0 ? 12 : 16;
      const paint = paintOf(cls, i);
      const kind = i % 3;
      const file = path.join(tmp, 'shapes', cls, `${cls}-${i}.${kind === 2 ? 'jpg' : 'png'}`);
      put(file, kind === 0 ? pngBytes(size, size, paint, 0) : kind === 1 ? pngBytes(size, size, paint, 2) : jpegBytes(size, size, paint));
    }
  }
  put(path.join(tmp, 'shapes', 'bright', 'README.txt'), 'not an image');
}, 300_000);

afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

const lastRow = (run: string): { test_acc: number } => {
  const lines = fs.readFileSync(path.join(tmp, run, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}');
};

const tensorsOf = (file: string): Record<string, number[]> => {
  const c = loadCheckpoint(file);
  if (isLeft(c)) throw c.left;
  return Object.fromEntries(Object.entries(c.right.tensors).map(([k, t]) => [k, Array.from(t.data)]));
};

describe('an image folder: train -> eval -> predict -> export', { timeout: 240_000 }, () => {
  it('train --data shapes --format folder: classes from the folder names, 36/9 images, the README ignored with a note, test accuracy >= 0.9', async () => {
    const r = await foldnet(['train', '--data', 'shapes', ...trainFlags, '--iters', '60', '--out', 'run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('note: ignored 1 entry that is not a .png, .jpg or .jpeg image in a class folder, e.g. bright/README.txt');
    expect(r.stdout).toContain(`\nusing all 36 training images and all 9 test images of shapes${path.sep}\ntraining simple`);
    expect(r.stdout).toMatch(
      /^training simple \([\d,]+ params\) on 36\/9 images of shapes\/ \(3x12x12, classes bright, horizontal, vertical, tested on the held-out 0\.2 of each class\) normalised per channel: 60 steps of 20/m,
    );
    expect(lastRow('run').test_acc).toBeGreaterThanOrEqual(0.9);
    const html = fs.readFileSync(path.join(tmp, 'run', 'report.html'), 'utf8');
    for (const name of classes) expect(html).toContain(`>${name}<`);
    expect(html).toContain('images of shapes/: 36 train / 9 test, normalised per channel');
    // the checkpoint's data metadata says what the inputs need
    const ckpt = loadTrainState(path.join(tmp, 'run', 'checkpoint.safetensors'));
    if (isLeft(ckpt)) throw ckpt.left;
    expect(ckpt.right.data?.classNames).toEqual([...classes]);
    expect(ckpt.right.data?.normalize?.mean).toHaveLength(3);
  });

  it('config.json, the checkpoint\'s config and the report say what was trained on: the folder, its format, size, channels and classes, no dataset name', async () => {
    // the channels the images were read at (3: some are colour), though none was given
    const trainedOn = { dataset: null, data: path.join(tmp, 'shapes'), format: 'folder', imageSize: '12x12', channels: 3, testFraction: 0.2, trainSize: 36, testSize: 9 };
    const config: unknown = JSON.parse(fs.readFileSync(path.join(tmp, 'run', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ ...trainedOn, classNames: [...classes], normalize: true });
    const ckpt = loadTrainState(path.join(tmp, 'run', 'checkpoint.safetensors'));
    if (isLeft(ckpt)) throw ckpt.left;
    expect(ckpt.right.config).toMatchObject(trainedOn);
    const html = fs.readFileSync(path.join(tmp, 'run', 'report.html'), 'utf8');
    expect(html).toContain('<span>images:</span> 3x12x12, classes bright, horizontal, vertical, tested on the held-out 0.2 of each class');
    // the command that trains the run again reads the same images the same way, and names no dataset
    expect(html).toMatch(/<pre>[^<]* train [^<]*--data shapes --format folder --image-size 12x12 --channels 3 --normalize<\/pre>/);
    expect(html).not.toContain('--dataset');
    expect(html).not.toMatch(/mnist/i);
  });

  it("the report's misclassified test images are drawn in colour, as the RGB images were read", async () => {
    // one step: most test images still wrong
    const r = await foldnet(['train', '--data', 'shapes', ...trainFlags, '--iters', '1', '--eval-every', '0', '--out', 'one-step']);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(path.join(tmp, 'one-step', 'report.html'), 'utf8');
    const gallery = html.slice(html.indexOf('<div class="gallery">'));
    const shown = [...gallery.matchAll(/<img alt="test image \d+" src="data:image\/png;base64,([^"]+)"/g)].map((m) => PNG.sync.read(Buffer.from(m[1] ?? '', 'base64')));
    expect(shown.length).toBeGreaterThan(0);
    // a pixel whose red, green and blue differ: colour, not the first channel drawn grey
    const coloured = shown.some((png) => Array.from({ length: png.width * png.height }, (_, p) => p).some((p) => png.data[4 * p] !== png.data[4 * p + 1] || png.data[4 * p + 1] !== png.data[4 * p + 2]));
    expect(coloured).toBe(true);
  });

  it('--dataset with --format folder is refused: one names a dataset, the other trains on --data\'s images', async () => {
    expectUsageError(
      await foldnet(['train', '--data', 'shapes', ...trainFlags, '--dataset', 'fashion', '--out', 'never-fashion']),
      'foldnet train: --dataset names an IDX dataset (mnist, fashion); --format folder trains on the images of --data <dir>: give one or the other',
    );
    expect(fs.existsSync(path.join(tmp, 'never-fashion'))).toBe(false);
  });

  it("eval: the folder's test split, normalised as in training, the accuracy training reported, the classes named", async () => {
    const r = await foldnet(['eval', path.join('run', 'checkpoint.safetensors'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({ count: 9, classNames: [...classes], accuracy: lastRow('run').test_acc });
    const text = await foldnet(['eval', path.join('run', 'checkpoint.safetensors')]);
    expect(text.stdout).toContain('classes: 0 bright, 1 horizontal, 2 vertical');
    expect(text.stdout).toMatch(/^accuracy per class\n {2}bright {6}\d\.\d{4} {2}\(\d of 3\)\n {2}horizontal {2}\d\.\d{4}/m);
  });

  it('eval --data: the folder trained on gives its test split; another folder all its images, or its own test/', async () => {
    const ckpt = path.join('run', 'checkpoint.safetensors');
    const evaluated = async (args: readonly string[]) => {
      const r = await foldnet(['eval', ckpt, ...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const own = await evaluated([]);
    // the same folder, however it is named
    expect(await evaluated(['--data', path.join('.', 'shapes', '.')])).toEqual(own);
    expect(own).toMatchObject({ count: 9, data: `${path.join(tmp, 'shapes')} (the held-out 0.2 of each class)` });
    // the same images in another folder: all 45
    fs.cpSync(path.join(tmp, 'shapes'), path.join(tmp, 'copy'), { recursive: true });
    expect(await evaluated(['--data', 'copy'])).toMatchObject({ count: 45, data: `${path.join(tmp, 'copy')} (all its images)`, classNames: [...classes] });
    expect(await evaluated(['--data', 'copy', '--test-size', '20'])).toMatchObject({ count: 20 });
    // a folder of its own train/ and test/: the test/ images alone
    for (const [split, n] of [['train', 4], ['test', 2]] as const) {
      for (const cls of classes) for (let i = 0; i < n; i++) put(path.join(tmp, 'split', split, cls, `${i}.png`), pngBytes(12, 12, paintOf(cls, i)));
    }
    expect(await evaluated(['--data', 'split'])).toMatchObject({ count: 6, data: `${path.join(tmp, 'split')} (its test/ folder)` });
  });

  it('eval --data of a folder of some of the classes matches them by name: labels are the checkpoint\'s', async () => {
    // the vertical stripes alone: one class, the checkpoint's third
    for (let i = 0; i < perClass; i++) {
      const name = `vertical-${i}.${i % 3 === 2 ? 'jpg' : 'png'}`;
      fs.mkdirSync(path.join(tmp, 'verticals', 'vertical'), { recursive: true });
      fs.copyFileSync(path.join(tmp, 'shapes', 'vertical', name), path.join(tmp, 'verticals', 'vertical', name));
    }
    const r = await foldnet(['eval', path.join('run', 'checkpoint.safetensors'), '--data', 'verticals', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({ count: perClass, classNames: [...classes] });
    expect(e.confusion.map((row: number[]) => row.reduce((a, b) => a + b, 0))).toEqual([0, 0, perClass]);
    // what predict says of the same images, one by one
    const predicted = (await foldnet(['predict', path.join('run', 'checkpoint.safetensors'), 'verticals', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l).predicted);
    expect(e.confusion[2]).toEqual([0, 1, 2].map((k) => predicted.filter((p: number) => p === k).length));
  });

  it('eval --data of a folder holding a class the checkpoint lacks names both lists; --dataset is refused for a folder checkpoint', async () => {
    // two of the three classes, and one the network never saw
    for (const cls of ['bright', 'vertical', 'dotted']) for (let i = 0; i < 5; i++) put(path.join(tmp, 'other', cls, `${i}.png`), pngBytes(12, 12, paintOf('bright', i)));
    expectUsageError(
      await foldnet(['eval', path.join('run', 'checkpoint.safetensors'), '--data', 'other']),
      `foldnet eval: ${path.join(tmp, 'other')}: its class folders (bright, dotted, vertical) are not all classes ${path.join('run', 'checkpoint.safetensors')} was trained on (bright, horizontal, vertical): no class dotted`,
    );
    expectUsageError(
      await foldnet(['eval', path.join('run', 'checkpoint.safetensors'), '--dataset', 'mnist']),
      `foldnet eval: --dataset mnist: ${path.join('run', 'checkpoint.safetensors')} was trained on an image folder (${path.join(tmp, 'shapes')}): give --data <a folder of its classes>, or neither for its own test split`,
    );
  });

  it('predict a PNG and a JPEG of the folder: the class named', async () => {
    for (const [file, expected] of [['shapes/vertical/vertical-1.png', 'vertical'], ['shapes/horizontal/horizontal-2.jpg', 'horizontal']] as const) {
      const r = await foldnet(['predict', path.join('run', 'checkpoint.safetensors'), file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ class: expected, predicted: classes.indexOf(expected) });
    }
    const text = await foldnet(['predict', path.join('run', 'checkpoint.safetensors'), 'shapes/bright/bright-0.png']);
    expect(text.stdout).toMatch(/^predicted 0 \(bright\) with probability/m);
  });

  it('predict of a folder of class folders: one line an image, by path, the class named; --json one object a line; other files noted', async () => {
    const ckpt = path.join('run', 'checkpoint.safetensors');
    const r = await foldnet(['predict', ckpt, 'shapes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`note: ignored 1 file that is not a .png, .jpg or .jpeg image, e.g. ${path.join('shapes', 'bright', 'README.txt')}\n`);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(45);
    const files = lines.map((l) => l.split(/\s+/)[0] ?? '');
    expect(files).toEqual([...files].sort());
    for (const line of lines) expect(line).toMatch(/^shapes\/(bright|horizontal|vertical)\/\S+ +[0-2] (bright|horizontal|vertical) *  \d\.\d{4}$/);
    // the name is the class's: most images are named by their own folder
    const json = (await foldnet(['predict', ckpt, 'shapes', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(json.map((j) => j.image)).toEqual(files);
    for (const j of json) expect(j.class).toBe(classes[j.predicted]);
    expect(json.filter((j) => j.image.split(path.sep)[1] === j.class).length).toBeGreaterThanOrEqual(40);
    // each line is what predicting the image alone says
    const alone = JSON.parse((await foldnet(['predict', ckpt, json[7].image, '--json'])).stdout);
    expect(alone).toEqual(json[7]);
    fs.mkdirSync(path.join(tmp, 'nothing', 'here'), { recursive: true });
    expectUsageError(await foldnet(['predict', ckpt, 'nothing']), 'foldnet predict: nothing: holds no .png, .jpg or .jpeg images (in it or its subfolders)');
  });

  it('predict of a folder in batches: any --batch-size prints the same lines (text and --json); a JPEG that does not decode mid-batch ends it after the lines before it', async () => {
    const ckpt = path.join('run', 'checkpoint.safetensors');
    for (const json of [[], ['--json']]) {
      const one = await foldnet(['predict', ckpt, 'shapes', ...json, '--batch-size', '1']);
      expect(one.code, one.stderr).toBe(0);
      expect(one.stdout.trim().split('\n')).toHaveLength(45);
      expect((await foldnet(['predict', ckpt, 'shapes', ...json, '--batch-size', '7'])).stdout).toBe(one.stdout);
      expect((await foldnet(['predict', ckpt, 'shapes', ...json])).stdout).toBe(one.stdout);
    }
    // the eleventh file in path order cut short: in batches of 7 it is the fourth of the second batch
    fs.cpSync(path.join(tmp, 'shapes'), path.join(tmp, 'cut'), { recursive: true });
    fs.rmSync(path.join(tmp, 'cut', 'bright', 'README.txt'));
    const eleventh = path.join('cut', 'bright', 'bright-5.jpg');
    fs.writeFileSync(path.join(tmp, eleventh), fs.readFileSync(path.join(tmp, eleventh)).subarray(0, 20));
    const whole = (await foldnet(['predict', ckpt, 'shapes', '--batch-size', '7'])).stdout.split('\n');
    for (const n of ['1', '7']) {
      const r = await foldnet(['predict', ckpt, 'cut', '--batch-size', n]);
      expectUsageError(r, `foldnet predict: ${eleventh}: byte 20: a JPEG cut short: it ends at byte 20, before its frame header`);
      expect(r.stdout.replaceAll('cut/', 'shapes/').split('\n').map((l) => l.replace(/^(\S+) +/, '$1 '))).toEqual([...whole.slice(0, 10), ''].map((l) => l.replace(/^(\S+) +/, '$1 ')));
    }
  });

  it('export --onnx: ONNX Runtime on the raw images gives the logits and predictions foldnet gives on the normalised ones', async () => {
    const r = await foldnet(['export', path.join('run', 'checkpoint.safetensors'), '--onnx', 'shapes.onnx']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('the input is normalised per channel inside the graph; classes 0 bright, 1 horizontal, 2 vertical');
    // every image of the folder, raw, as training read them
    const data = loadImageFolder(path.join(tmp, 'shapes'), { size: { height: 12, width: 12 }, testFraction: 0 });
    if (isLeft(data)) throw data.left;
    const images = data.right.train.images;
    expect(images.shape).toEqual([45, 3, 12, 12]);
    const ckpt = loadTrainState(path.join(tmp, 'run', 'checkpoint.safetensors'));
    if (isLeft(ckpt)) throw ckpt.left;
    const net = decodeModelSpec(ckpt.right.model);
    if (isLeft(net)) throw new Error(net.left.message);
    const weights = checkpointWeights(ckpt.right, net.right);
    if (isLeft(weights) || ckpt.right.data?.normalize === undefined) throw new Error('no weights or no normalisation');
    const ours = predict(net.right, weights.right.params, weights.right.layerState, normalizeImages(images, ckpt.right.data.normalize));
    const theirs = (await runOrt(fs.readFileSync(path.join(tmp, 'shapes.onnx')), images)).data;
    const argmax = (xs: ArrayLike<number>, i: number): number => [0, 1, 2].reduce((best, k) => (xs[i * 3 + k] > xs[i * 3 + best] ? k : best), 0);
    let diff = 0;
    for (let i = 0; i < ours.size; i++) diff = Math.max(diff, Math.abs(theirs[i] - ours.data[i]));
    expect(diff).toBeLessThan(1e-4);
    expect(Array.from({ length: 45 }, (_, i) => argmax(theirs, i))).toEqual(Array.from({ length: 45 }, (_, i) => argmax(ours.data, i)));
    // and the network learnt the classes: most of the 45 images right
    const right = Array.from({ length: 45 }, (_, i) => argmax(theirs, i) === data.right.train.labels[i]).filter(Boolean).length;
    expect(right).toBeGreaterThanOrEqual(40);
  });

  it('--resume keeps the normalisation: 30 steps, then resumed to 60, equals the 60-step run bit for bit', async () => {
    const first = await foldnet(['train', '--data', 'shapes', ...trainFlags, '--iters', '30', '--out', 'half']);
    expect(first.code, first.stderr).toBe(0);
    const resumed = await foldnet(['train', '--resume', path.join('half', 'checkpoint.safetensors'), '--iters', '60']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(tensorsOf(path.join(tmp, 'half', 'checkpoint.safetensors'))).toEqual(tensorsOf(path.join(tmp, 'run', 'checkpoint.safetensors')));
    const a = loadTrainState(path.join(tmp, 'half', 'checkpoint.safetensors'));
    const b = loadTrainState(path.join(tmp, 'run', 'checkpoint.safetensors'));
    if (isLeft(a) || isLeft(b)) throw new Error('unreadable checkpoint');
    expect(a.right.data).toEqual(b.right.data);
  });
});

describe('a folder larger than the default --test-size: the run says what it uses and how to use it all', { timeout: 120_000 }, () => {
  it('1002 test images of 2004 split 0.5: 1000 used and --test-size 1002 named; not when the size is given, nor on resume', async () => {
    for (const cls of ['dark', 'light']) for (let i = 0; i < 1002; i++) put(path.join(tmp, 'many', cls, `${i}.png`), pngBytes(8, 8, () => [cls === 'dark' ? i % 50 : 200 + (i % 50)], 0));
    const flags = ['--format', 'folder', '--test-fraction', '0.5', '--batch-size', '50', '--eval-every', '1'];
    const r = await foldnet(['train', '--data', 'many', ...flags, '--iters', '1', '--out', 'many-run']);
    expect(r.code, r.stderr).toBe(0);
    const line = `using all 1002 training images and 1000 of the 1002 test images of many${path.sep}`;
    expect(r.stdout.split('\n')[0]).toBe(`${line}; --test-size is 1000 unless given: --test-size 1002 uses them all`);
    expect(r.stdout).toMatch(/^training simple \([\d,]+ params\) on 1002\/1000 images of many\//m);
    // config.json holds the counts used; the report adds how many the folder holds
    const config = JSON.parse(fs.readFileSync(path.join(tmp, 'many-run', 'config.json'), 'utf8'));
    expect([config.trainSize, config.testSize]).toEqual([1002, 1000]);
    expect(fs.readFileSync(path.join(tmp, 'many-run', 'report.html'), 'utf8')).toContain('all 1002 training images and 1000 of the 1002 test images');
    // a resumed run goes on with the images it started with: the checkpoint gave the size
    const resumed = await foldnet(['train', '--resume', path.join('many-run', 'checkpoint.safetensors'), '--iters', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.split('\n')[0]).toBe(line);
    const given = await foldnet(['train', '--data', 'many', ...flags, '--iters', '1', '--test-size', '500', '--train-size', '2000', '--out', 'many-given']);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout.split('\n')[0]).toBe(`using all 1002 training images and 500 of the 1002 test images of many${path.sep}`);
  });
});

describe('--normalize on MNIST', { timeout: 120_000 }, () => {
  it('the statistics of the training images go in the checkpoint; eval and predict --index apply them (eval reports the accuracy training did)', async () => {
    const r = await foldnet(['train', '--normalize', '--iters', '20', '--eval-every', '20', '--train-size', '500', '--test-size', '200', '--out', 'mnist-normal']);
    expect(r.code, r.stderr).toBe(0);
    const ckpt = loadTrainState(path.join(tmp, 'mnist-normal', 'checkpoint.safetensors'));
    if (isLeft(ckpt)) throw ckpt.left;
    // MNIST's first 500 training images: mean ~0.13, std ~0.31; no class names (MNIST's are its digits)
    const stats = ckpt.right.data?.normalize;
    expect(stats?.mean[0]).toBeCloseTo(0.13, 1);
    expect(stats?.std[0]).toBeCloseTo(0.31, 1);
    expect(ckpt.right.data?.classNames).toBeUndefined();
    const e = await foldnet(['eval', path.join('mnist-normal', 'checkpoint.safetensors'), '--test-size', '200', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).accuracy).toBe(lastRow('mnist-normal').test_acc);
    const p = await foldnet(['predict', path.join('mnist-normal', 'checkpoint.safetensors'), '--index', '0', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ label: 7 });
  });
});

describe('image folders the CLI refuses: one line, exit 2', { timeout: 120_000 }, () => {
  it('a folder of one class, images of two sizes without --image-size, no --data, a bad --image-size or --channels', async () => {
    put(path.join(tmp, 'one', 'only', 'a.png'), pngBytes(4, 4, () => [0]));
    expectUsageError(await foldnet(['train', '--data', 'one', '--format', 'folder']), /^foldnet train: .*one: holds one class folder \(only\): a classifier needs two classes or more$/);
    expectUsageError(
      await foldnet(['train', '--data', 'shapes', '--format', 'folder', '--out', 'never']),
      /^foldnet train: .*shapes\/\w+\/[\w-]+\.(png|jpg): is (12x12|16x16) pixels \(width x height\), .* is (12x12|16x16): images of different sizes need a size to be resized to \(--image-size HxW\)$/,
    );
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
    expectUsageError(await foldnet(['train', '--format', 'folder']), /^foldnet train: --format folder reads the images of --data <dir>, a folder of class folders: give --data$/);
    expectUsageError(await foldnet(['train', '--data', 'shapes', '--format', 'folder', '--image-size', '0x12']), /^foldnet train: --image-size: expected HxW: a height and a width in pixels, 1 to 4096 each \(e\.g\. 32x32\), got "0x12"$/);
    expectUsageError(await foldnet(['train', '--data', 'shapes', '--format', 'folder', '--channels', '2']), /^foldnet train: --channels: expected 1 \(grey\) or 3 \(RGB\), got "2"$/);
    expectUsageError(await foldnet(['train', '--image-size', '32x32']), /^foldnet train: --image-size and --channels say how an image folder is read: give them with --format folder/);
  });

  it('a folder whose images and model do not fit in FOLDNET_MEMORY_LIMIT is refused from the headers, before any image is decoded', async () => {
    const r = await startFoldnet(['train', '--data', 'shapes', '--format', 'folder', '--image-size', '1024x1024', '--out', 'too-big'], tmp, { FOLDNET_MEMORY_LIMIT: '1e8' }).done;
    expectUsageError(r, /^foldnet train: simple with --batch-size 100: needs at least .* of memory \(.*input images: 566\.2 MB\), more than the 100\.0 MB this machine has/);
    expect(fs.existsSync(path.join(tmp, 'too-big'))).toBe(false);
  });

  it('a truncated JPEG names the file and the byte; a model spec that does not take the images names both shapes', async () => {
    fs.cpSync(path.join(tmp, 'shapes'), path.join(tmp, 'broken'), { recursive: true });
    const jpg = fs.readFileSync(path.join(tmp, 'broken', 'vertical', 'vertical-2.jpg'));
    fs.writeFileSync(path.join(tmp, 'broken', 'vertical', 'vertical-2.jpg'), jpg.subarray(0, 40));
    expectUsageError(
      await foldnet(['train', '--data', 'broken', '--format', 'folder', '--image-size', '12x12']),
      /^foldnet train: .*broken\/vertical\/vertical-2\.jpg: byte 40: a JPEG cut short: it ends at byte 40, before its frame header$/,
    );
    expectUsageError(
      await foldnet(['train', '--data', 'shapes', '--format', 'folder', '--image-size', '12x12', '--model', path.join(root, 'examples', 'model-spec.json')]),
      /^foldnet train: .*model-spec\.json: the network takes inputs \[1,28,28\], the images are \[3,12,12\] \(channels, height, width\)/,
    );
  });
});
