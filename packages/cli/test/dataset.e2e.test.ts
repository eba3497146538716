import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadCheckpoint, MNIST_FILES } from '@foldnet/train';
import { PNG } from 'pngjs';
import { bin, buildOnce, expectUsageError, foldnet as foldnetIn, type Run } from './built-cli.js';

/*
 * The built CLI on datasets by name and augmentation: --dataset fashion (Debian's
 * dataset-fashion-mnist, which CI installs), --data over it, --augment in flags and configs, a
 * resumed run with augmentation equal to an uninterrupted one, and the one line a machine
 * without the dataset gets.
 */

let tmp = '';
const foldnet = (args: readonly string[]): Promise<Run> => foldnetIn(args, tmp);
const small = ['--iters', '6', '--eval-every', '3', '--batch-size', '20', '--train-size', '200', '--test-size', '100'];

beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-dataset-'));
}, 300_000);

afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

const tensorsOf = (file: string): Record<string, number[]> => {
  const c = loadCheckpoint(file);
  if (c._tag === 'Left') throw new Error(c.left.message);
  return Object.fromEntries(Object.entries(c.right.tensors).map(([k, t]) => [k, Array.from(t.data)]));
};

describe('--dataset fashion', { timeout: 180_000 }, () => {
  it('trains on Fashion-MNIST: the first line names it, config.json keeps it, the report names the classes', async () => {
    const r = await foldnet(['train', '--dataset', 'fashion', ...small, '--out', 'fashion']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^training simple \(433,890 params\) on 200\/100 Fashion-MNIST images: 6 steps of 20/m);
    const config: unknown = JSON.parse(fs.readFileSync(path.join(tmp, 'fashion', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ dataset: 'fashion', augment: 'none', data: null });
    const html = fs.readFileSync(path.join(tmp, 'fashion', 'report.html'), 'utf8');
    for (const name of ['T-shirt/top', 'Trouser', 'Ankle boot']) expect(html).toContain(`>${name}<`);
    expect(html).toContain('Fashion-MNIST: 200 train / 100 test');
  });

  it("eval of a Fashion-MNIST checkpoint uses Fashion-MNIST's test set unless --dataset says otherwise", async () => {
    const ckpt = path.join('fashion', 'checkpoint.safetensors');
    const own = await foldnet(['eval', ckpt, '--test-size', '30', '--json']);
    expect(own.code, own.stderr).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ data: 'Fashion-MNIST', count: 30 });
    const mnist = await foldnet(['eval', ckpt, '--test-size', '30', '--dataset', 'mnist', '--json']);
    expect(mnist.code, mnist.stderr).toBe(0);
    expect(JSON.parse(mnist.stdout)).toMatchObject({ data: 'MNIST (bundled)', count: 30 });
    expectUsageError(await foldnet(['eval', ckpt, '--dataset', 'kmnist']), /^foldnet eval: --dataset: expected one of mnist, fashion, got "kmnist"/);
  });

  it("predict with a Fashion-MNIST checkpoint names the classes by the dataset's names: a test image by --index, a PNG drawn as its digits are", async () => {
    const ckpt = path.join('fashion', 'checkpoint.safetensors');
    const byIndex = await foldnet(['predict', ckpt, '--index', '0', '--json']);
    expect(byIndex.code, byIndex.stderr).toBe(0);
    const parsed = JSON.parse(byIndex.stdout) as { predicted: number; class: string; label: number };
    expect(parsed.class).toBe(FASHION_MNIST_CLASSES[parsed.predicted]);
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 28 * 28; i++) png.data.set(i % 28 > 8 && i % 28 < 20 ? [200, 200, 200, 255] : [0, 0, 0, 255], i * 4);
    fs.writeFileSync(path.join(tmp, 'garment.png'), PNG.sync.write(png));
    const byImage = await foldnet(['predict', ckpt, 'garment.png']);
    expect(byImage.code, byImage.stderr).toBe(0);
    const predicted = Number(byImage.stdout.match(/^predicted (\d) \((.+)\) with probability \d\.\d{4}$/m)?.[1]);
    expect(byImage.stdout).toContain(`predicted ${predicted} (${FASHION_MNIST_CLASSES[predicted]}) with probability`);
    for (const name of FASHION_MNIST_CLASSES) expect(byImage.stdout).toContain(` ${name}`);
  });

  it('--data DIR replaces the dataset\'s own files: a folder of four small IDX files, named with fashion\'s classes', async () => {
    const dir = path.join(tmp, 'mine');
    fs.mkdirSync(dir);
    const images = (n: number) => encodeIdx('ubyte', [n, 28, 28], Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256));
    const labels = (n: number) => encodeIdx('ubyte', [n], Array.from({ length: n }, (_, i) => i % 10));
    fs.writeFileSync(path.join(dir, MNIST_FILES.trainImages), images(40));
    fs.writeFileSync(path.join(dir, MNIST_FILES.trainLabels), labels(40));
    fs.writeFileSync(path.join(dir, MNIST_FILES.testImages), images(20));
    fs.writeFileSync(path.join(dir, MNIST_FILES.testLabels), labels(20));
    const r = await foldnet(['train', '--dataset', 'fashion', '--data', 'mine', '--iters', '2', '--batch-size', '10', '--train-size', '40', '--test-size', '20', '--out', 'mine-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(tmp, 'mine-run', 'report.html'), 'utf8')).toContain(`Fashion-MNIST from ${dir}: 40 train / 20 test`);
  });

  it('an unknown dataset is one line naming the choices, exit 2', async () => {
    expectUsageError(await foldnet(['train', '--dataset', 'cifar']), /^foldnet train: --dataset: expected one of mnist, fashion, got "cifar"/);
  });

  // CI installs the package; a private mount namespace (unshare -rm) hides it under an empty tmpfs, as on a machine without it
  const canUnshare = spawnSync('unshare', ['-rm', 'true']).status === 0;
  it.skipIf(!canUnshare)('without dataset-fashion-mnist installed: one line saying how to get it, exit 2', () => {
    const script = `mount -t tmpfs tmpfs "$1" && exec "$2" "$3" train --dataset fashion --iters 1 --out "$4"`;
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', path.dirname(FASHION_MNIST_DIR), process.execPath, bin, path.join(tmp, 'never')], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, FOLDNET_MALLOC: 'system' },
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `foldnet train: --dataset fashion: ${FASHION_MNIST_DIR}: Fashion-MNIST is not installed here (on Debian: apt-get install dataset-fashion-mnist), or give --data <dir>, a directory holding its four IDX files\n`,
    );
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});

describe('--augment', { timeout: 240_000 }, () => {
  const augmented = ['--augment', 'crop:2,flip,erase:0.5', '--dataset', 'fashion', '--train-size', '200', '--test-size', '100', '--batch-size', '20', '--eval-every', '3'];

  it('resuming a run with augmentation equals never stopping: 0 -> 6 then --resume to 9 vs 0 -> 9, checkpoints and metrics bit for bit', async () => {
    const first = await foldnet(['train', ...augmented, '--iters', '6', '--out', 'aug-first']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/on 200\/100 Fashion-MNIST images augmented crop:2,flip,erase:0\.5: 6 steps/);
    const resumed = await foldnet(['train', '--resume', path.join('aug-first', 'checkpoint.safetensors'), '--iters', '9', '--out', 'aug-resumed']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('augmented crop:2,flip,erase:0.5');
    const straight = await foldnet(['train', ...augmented, '--iters', '9', '--out', 'aug-straight']);
    expect(straight.code, straight.stderr).toBe(0);
    const a = tensorsOf(path.join(tmp, 'aug-resumed', 'checkpoint.safetensors'));
    const b = tensorsOf(path.join(tmp, 'aug-straight', 'checkpoint.safetensors'));
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const name of Object.keys(b)) expect(a[name], name).toEqual(b[name]);
    const rows = (dir: string) => fs.readFileSync(path.join(tmp, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), elapsed_s: 0 }));
    expect(rows('aug-resumed')).toEqual(rows('aug-straight'));
    // and augmentation changes the run: the same without it ends elsewhere
    const plain = await foldnet(['train', ...augmented.slice(2), '--iters', '9', '--out', 'aug-none']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(tensorsOf(path.join(tmp, 'aug-none', 'checkpoint.safetensors'))['conv1.W']).not.toEqual(b['conv1.W']);
  });

  it('a config file takes "augment" and "dataset"; the report lists the augmentation', async () => {
    fs.writeFileSync(path.join(tmp, 'aug.json'), JSON.stringify({ augment: 'shift:2,flip', dataset: 'fashion', iters: 2, batchSize: 10, trainSize: 50, testSize: 20 }));
    const r = await foldnet(['train', '--config', 'aug.json', '--out', 'aug-config']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Fashion-MNIST images augmented shift:2,flip');
    expect(fs.readFileSync(path.join(tmp, 'aug-config', 'report.html'), 'utf8')).toContain("<span>augmentation:</span> shift:2,flip");
  });

  it('a bad recipe as a flag or in a config is one line naming what is wrong, exit 2', async () => {
    expectUsageError(await foldnet(['train', '--augment', 'blur']), /^foldnet train: --augment: "blur" is not an augmentation: expected none, or a comma-separated list of crop:<pad>, flip/);
    expectUsageError(await foldnet(['train', '--augment', 'erase:2']), /^foldnet train: --augment: "erase:2": erase takes a probability from 0 to 1, e.g. erase:0\.25$/);
    fs.writeFileSync(path.join(tmp, 'bad-aug.json'), JSON.stringify({ augment: 'crop' }));
    expectUsageError(await foldnet(['train', '--config', 'bad-aug.json']), /^foldnet train: bad-aug\.json: augment: "crop": crop takes a padding in pixels \(an integer >= 0\), e\.g\. crop:4$/);
  });
});
