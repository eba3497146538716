import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { key } from '@foldnet/core';
import { decodeModelSpec } from '@foldnet/layers';
import { encodeIdx, initTrainState, saveTrainState, sgd } from '@foldnet/train';
import { greyToPng } from '@foldnet/cli';
import { bin, buildOnce, startFoldnet, type Run } from './built-cli.js';

/*
 * Issue 18 with the built CLI, where a failure would hang or eat memory: a FIFO or a device given as
 * a config, a checkpoint, a data file or an image; `--out /proc/x` (Node's recursive mkdir loops
 * there at 100% CPU); a read-only `--out` (the real cause, EROFS, not ENOENT); `export --onnx` over
 * a device; a PNG that claims 30000x30000 pixels (peak memory measured in the process itself).
 * Each run is killed after KILL_AFTER_MS: a run that blocks fails its test instead of hanging the suite. A refusal takes
 * ~1 s alone; the limit leaves room for nine of them at once on a loaded 2-core machine (20 s was once too short there)
 * and stays under the suite's 60 s test timeout.
 */

let tmp = '';
const CHECKPOINT = 'tiny.safetensors';

beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-hostile-e2e-'));
  const net = decodeModelSpec({ input: [1, 28, 28], layers: [{ type: 'affine', units: 10 }] });
  if (net._tag === 'Left') throw new Error(net.left.message);
  const optimizer = sgd();
  const saved = saveTrainState(path.join(tmp, CHECKPOINT), { network: net.right, optimizer, state: initTrainState(net.right, optimizer, key(0)) });
  if (saved._tag === 'Left') throw new Error(saved.left.message);
  execFileSync('mkfifo', [path.join(tmp, 'pipe')]);
  fs.mkdirSync(path.join(tmp, 'fifo-data'));
  execFileSync('mkfifo', [path.join(tmp, 'fifo-data', 't10k-images-idx3-ubyte')]);
  fs.writeFileSync(path.join(tmp, 'fifo-data', 't10k-labels-idx1-ubyte'), encodeIdx('ubyte', [1], [0]));
}, 300_000);

afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

const KILL_AFTER_MS = 45_000;

/** Runs the built CLI in tmp, killed after KILL_AFTER_MS (then `signal` is SIGKILL). */
const run = async (args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<Run> => {
  const started = startFoldnet(args, tmp, { FOLDNET_MALLOC: 'system', ...env });
  const timer = setTimeout(() => started.child.kill('SIGKILL'), KILL_AFTER_MS);
  try {
    return await started.done;
  } finally {
    clearTimeout(timer);
  }
};

/** Not killed, the exit code given, one line on stderr matching `line`, no stack trace, no "internal error". */
const expectOneLine = (r: Run, code: number, line: string | RegExp): void => {
  expect(r.signal, `killed after ${KILL_AFTER_MS / 1000} s: ${r.stderr}`).toBeNull();
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
};

describe.concurrent('a FIFO or a device given as an input: one line at once, never a read that blocks or never ends', () => {
  const cases: [string, string[], string | RegExp][] = [
    ['--config FIFO', ['train', '--config', 'pipe'], 'foldnet train: --config pipe: is a FIFO (named pipe), not a regular file'],
    ['--config /dev/zero', ['train', '--config', '/dev/zero'], 'foldnet train: --config /dev/zero: is a character device, not a regular file'],
    ['--config /dev/urandom', ['train', '--config', '/dev/urandom'], 'foldnet train: --config /dev/urandom: is a character device, not a regular file'],
    ['model spec FIFO', ['summary', 'pipe.json'], 'foldnet summary: model spec pipe.json: is a FIFO (named pipe), not a regular file'],
    ['eval FIFO', ['eval', 'pipe'], 'foldnet eval: pipe: is a FIFO (named pipe), not a regular file'],
    ['--resume FIFO', ['train', '--resume', 'pipe'], 'foldnet train: pipe: is a FIFO (named pipe), not a regular file'],
    ['export /dev/zero', ['export', '/dev/zero', '--onnx', 'x.onnx'], 'foldnet export: /dev/zero: is a character device, not a regular file'],
    ['--data with a FIFO as its test images', ['eval', CHECKPOINT, '--data', 'fifo-data'], /^foldnet eval: \/.*\/fifo-data\/t10k-images-idx3-ubyte: is a FIFO \(named pipe\), not a regular file$/],
    ['predict FIFO image', ['predict', CHECKPOINT, 'pipe'], 'foldnet predict: image pipe: is a FIFO (named pipe), not a regular file'],
  ];
  beforeAll(() => fs.symlinkSync(path.join(tmp, 'pipe'), path.join(tmp, 'pipe.json')));
  for (const [what, args, line] of cases) {
    it(what, async () => expectOneLine(await run(args), 2, line));
  }
});

describe('run folders the file system refuses', () => {
  it('--out /proc/x: one line with the real cause, not killed (Node\'s recursive mkdir loops forever there)', async () => {
    expectOneLine(await run(['train', '--out', '/proc/x', '--iters', '1', '--train-size', '10', '--test-size', '10']), 2, "foldnet train: cannot create the run folder /proc/x: ENOENT: no such file or directory, mkdir '/proc/x'");
  });

  const canUnshare = spawnSync('unshare', ['-rm', 'true']).status === 0;
  it.skipIf(!canUnshare)('--out on a read-only file system: EROFS named, not ENOENT (a private mount namespace: unshare -rm, a tmpfs mounted read-only)', () => {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro);
    const script = `mount -t tmpfs -o ro tmpfs "$1" && exec "$2" "$3" train --out "$1/run/a" --iters 1 --train-size 10 --test-size 10`;
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', ro, process.execPath, bin], { cwd: tmp, encoding: 'utf8', timeout: KILL_AFTER_MS, env: { ...process.env, FOLDNET_MALLOC: 'system' } });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(`foldnet train: cannot create the run folder ro/run/a: EROFS: read-only file system, mkdir '${ro}/run'\n`);
  });
});

describe('export --onnx over a device', () => {
  const device = path.join(os.tmpdir(), `foldnet-full-${process.pid}`);
  const made = spawnSync('mknod', [device, 'c', '1', '7']).status === 0;
  afterAll(() => fs.rmSync(device, { force: true }));
  it.skipIf(!made)('a character device (/dev/full\'s numbers, made with mknod) is refused and stays a device; a regular file is replaced as before', async () => {
    expectOneLine(await run(['export', CHECKPOINT, '--onnx', device]), 2, `foldnet export: writeFileAtomic: ${device}: is a character device; only a regular file (or a path not yet taken) is replaced`);
    expect(fs.lstatSync(device).isCharacterDevice()).toBe(true);
    const ok = await run(['export', CHECKPOINT, '--onnx', 'ok.onnx']);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('predict: a PNG too large to decode is refused from its header', () => {
  /** A PNG signature and IHDR of width x height (8-bit grey) and an empty IDAT: a few dozen bytes. */
  const claim = (width: number, height: number): Uint8Array => {
    const png = greyToPng({ width: 1, height: 1, pixels: [0] });
    const out = Uint8Array.from(png);
    const view = new DataView(out.buffer);
    view.setUint32(16, width, false);
    view.setUint32(20, height, false);
    return out;
  };
  // The peak RSS (KiB) of the process itself, written at exit: predict runs in the foldnet process.
  const preload = `data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(process.env.RSS_FILE,String(process.resourceUsage().maxRSS)))`;
  const peak = async (image: string): Promise<{ readonly run: Run; readonly kib: number }> => {
    const rssFile = path.join(tmp, `${image}.rss`);
    const started = startFoldnet(['predict', CHECKPOINT, image], tmp, { RSS_FILE: rssFile, NODE_OPTIONS: `--import=${preload}` });
    const r = await started.done;
    return { run: r, kib: Number(fs.readFileSync(rssFile, 'utf8')) };
  };

  it('30000x30000 pixels (10 GB decoded): one line naming the cap, exit 2, and less than 64 MiB more peak memory than predicting a 28x28 PNG', async () => {
    fs.writeFileSync(path.join(tmp, 'small.png'), greyToPng({ width: 28, height: 28, pixels: new Float64Array(784) }));
    fs.writeFileSync(path.join(tmp, 'huge.png'), claim(30000, 30000));
    const small = await peak('small.png');
    expect(small.run.code, small.run.stderr).toBe(0);
    const huge = await peak('huge.png');
    expectOneLine(huge.run, 2, 'foldnet predict: huge.png: a PNG of 30000x30000 pixels; predict reads at most 16777216 pixels (4096x4096): scale it down first');
    expect(huge.kib - small.kib).toBeLessThan(64 * 1024);
  });
});
