import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fromData, getThreads, key } from '@foldnet/core';
import { decodeModelSpec, type Network } from '@foldnet/layers';
import { encodeIdx, MAX_TEXT_BYTES, saveCheckpoint, saveTrainState, sgd, initTrainState, loadTrainState, packTensors } from '@foldnet/train';
import { decodeTrainConfigFile, defaultTrainConfig, greyToPng, machineCores, readUserJson, resolveTrainConfig } from '@foldnet/cli';
import { decodeGreyImage } from '../src/digit.js';
import { parseDecimal, positiveNumberFlag, threadsFlag } from '../src/flags.js';
import { makeDirectories, runFiles, writeRunFile } from '../src/runfolder.js';
import { buildOnce, root } from './built-cli.js';
import { runInProcess, type Captured } from './in-process.js';

/*
 * Issue 18 through the CLI, in-process (runInProcess, which records what runCli prints): text inputs are
 * regular files of at most MAX_TEXT_BYTES, read by one JSON rule; flags are decimal numbers;
 * --threads is capped at the cores; eval reads only the test files, refuses an empty test set and
 * a checkpoint holding NaN or Infinity; run-folder files are written atomically and never through
 * a link; a PNG is refused from its header when it is too large to decode. Every failure is one
 * line on stderr with a non-zero exit.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-cli-hostile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: readonly string[]): Promise<Captured> => runInProcess(args, tmp);

/** One line on stderr, the exit code given, no stack trace, never "internal error". */
const expectOneLine = (r: Captured, code: number, line: string | RegExp): void => {
  expect(r.code, r.err).toBe(code);
  const lines = r.err.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.err).not.toMatch(/internal error|^\s+at /m);
};

const write = (name: string, content: string | Uint8Array): string => {
  fs.writeFileSync(path.join(tmp, name), content);
  return name;
};

const sparse = (name: string, size: number): string => {
  write(name, '');
  fs.truncateSync(path.join(tmp, name), size);
  return name;
};

// A 28x28 network small enough to evaluate in milliseconds.
const spec = { input: [1, 28, 28], layers: [{ type: 'affine', units: 10 }] };
const decoded = decodeModelSpec(spec);
if (decoded._tag === 'Left') throw new Error(decoded.left.message);
const net: Network = decoded.right;
const optimizer = sgd();
const state = initTrainState(net, optimizer, key(1));
const checkpoint = 'tiny.safetensors';
if (saveTrainState(path.join(tmp, checkpoint), { network: net, optimizer, state, config: defaultTrainConfig })._tag === 'Left') throw new Error('cannot write the checkpoint');

/** A data folder holding only the test files: `n` images of 28x28 and their labels. */
const testOnlyData = (dir: string, n: number): string => {
  fs.mkdirSync(path.join(tmp, dir));
  fs.writeFileSync(path.join(tmp, dir, 't10k-images-idx3-ubyte'), encodeIdx('ubyte', [n, 28, 28], new Uint8Array(n * 784).map((_, i) => i % 251)));
  fs.writeFileSync(path.join(tmp, dir, 't10k-labels-idx1-ubyte'), encodeIdx('ubyte', [n], new Uint8Array(n).map((_, i) => i % 10)));
  return dir;
};

describe('text inputs: regular files of at most 4 MiB', () => {
  const cases: [string, (file: string) => string[], string][] = [
    ['--config', (f) => ['train', '--config', f], '--config'],
    ['a model spec', (f) => ['summary', f], 'model spec'],
  ];
  for (const [what, args, named] of cases) {
    it(`${what}: a 5 MiB file, /dev/null, a folder: one line naming it and what is wrong, exit 2, nothing parsed`, async () => {
      const big = sparse(`big-${named.replace(/\W/g, '')}.json`, 5 << 20);
      expectOneLine(await cli(args(big)), 2, `${named} ${big}: file holds ${5 << 20} bytes, more than the ${MAX_TEXT_BYTES}-byte limit`);
      expectOneLine(await cli(args('/dev/null')), 2, what === 'a model spec' ? /expected simple, double, deep, resnet or a JSON model spec file/ : `${named} /dev/null: is a character device, not a regular file`);
      fs.mkdirSync(path.join(tmp, `dir-${named.replace(/\W/g, '')}.json`), { recursive: true });
      expectOneLine(await cli(args(`dir-${named.replace(/\W/g, '')}.json`)), 2, `${named} dir-${named.replace(/\W/g, '')}.json: is a directory, not a regular file`);
    });
  }

  it('a file of exactly 4 MiB is read (the limit is inclusive)', async () => {
    const text = `{"seed": 1}${' '.repeat(MAX_TEXT_BYTES - 11)}`;
    write('edge.json', text);
    const r = await cli(['train', '--config', 'edge.json', '--data', 'no-such-dir']);
    expect(r.err).not.toMatch(/limit/);
  });
});

describe('one JSON rule for configs, model specs and checkpoint headers', () => {
  it('a config: a leading BOM is read as without it, a repeated key is refused naming it (fast-check over config keys and values, 100 cases)', () => {
    const entry = fc.constantFrom<[string, unknown]>(['seed', 3], ['iters', 20], ['lr', 0.5], ['batchSize', 10], ['optimizer', 'sgd'], ['evalEvery', 0], ['backend', 'reference']);
    fc.assert(
      fc.property(fc.uniqueArray(entry, { minLength: 1, maxLength: 5, selector: ([k]) => k }), fc.nat(), (entries, pick) => {
        const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
        const plain = readUserJson(tmp, write('rule.json', text), '--config');
        expect(decodeTrainConfigFile(plain)._tag).toBe('Right');
        expect(readUserJson(tmp, write('rule-bom.json', `\ufeff${text}`), '--config')).toEqual(plain);
        const [k, v] = entries[pick % entries.length];
        const twice = write('rule-twice.json', `${text.slice(0, -1)}, ${JSON.stringify(k)}: ${JSON.stringify(v)}}`);
        expect(() => readUserJson(tmp, twice, '--config')).toThrow(`rule-twice.json: the key ${JSON.stringify(k)} appears twice (each key may appear once in an object)`);
      }),
      { seed: 181, numRuns: 100 },
    );
  });

  it('config, model spec and checkpoint alike: BOM accepted, repeated key refused with its name, one line, exit 2', async () => {
    write('bom-config.json', '\ufeff{"seed": 1, "data": "no-such-dir"}');
    const bomConfig = await cli(['train', '--config', 'bom-config.json']);
    expectOneLine(bomConfig, 2, /--data no-such-dir: no such directory|no-such-dir/);
    expect(bomConfig.err).not.toMatch(/JSON/);
    write('twice-config.json', '{"optimizer": {"type": "sgd", "lr": 0.1, "lr": 10}}');
    expectOneLine(await cli(['train', '--config', 'twice-config.json']), 2, 'foldnet train: twice-config.json: the key "lr" appears twice in optimizer (each key may appear once in an object)');

    write('bom-spec.json', `\ufeff${JSON.stringify(spec)}`);
    const bomSpec = await cli(['summary', 'bom-spec.json']);
    expect(bomSpec.code, bomSpec.err).toBe(0);
    write('twice-spec.json', '{"input": [1, 28, 28], "layers": [{"type": "affine", "units": 10, "units": 3}]}');
    expectOneLine(await cli(['summary', 'twice-spec.json']), 2, 'foldnet summary: twice-spec.json: the key "units" appears twice in layers[0] (each key may appear once in an object)');

    // A checkpoint whose model spec repeats a key: refused the same way.
    const ckpt = loadTrainState(path.join(tmp, checkpoint));
    if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
    const model = '{"input": [1, 28, 28], "input": [1, 28, 28], "layers": [{"type": "affine", "units": 10}]}';
    saveCheckpoint(path.join(tmp, 'twice.safetensors'), { tensors: packTensors(ckpt.right.parts), metadata: { ...ckpt.right.metadata, model } });
    expectOneLine(await cli(['eval', 'twice.safetensors', '--test-size', '10']), 2, 'foldnet eval: twice.safetensors: metadata "model": the key "input" appears twice (each key may appear once in an object)');
  });
});

describe('flags: decimal numbers only', () => {
  it('any string (fast-check, 1,000 cases of decimal-like, hex, binary, octal, Infinity, blanks, junk): accepted exactly when it is a positive decimal number, as Number reads it', () => {
    const decimal = fc
      .tuple(fc.constantFrom('', '+', '-'), fc.stringMatching(/^\d{1,4}$/), fc.constantFrom('', '.', '.5', '.25'), fc.constantFrom('', 'e3', 'e-2', 'E+1'))
      .map((parts) => parts.join(''));
    const other = fc.oneof(
      fc.nat().map((n) => `0x${n.toString(16)}`),
      fc.nat().map((n) => `0b${n.toString(2)}`),
      fc.nat().map((n) => `0o${n.toString(8)}`),
      fc.constantFrom('Infinity', '-Infinity', 'NaN', '', ' ', '1_000', '1,5', '5 ', ' 5', '1e', '.', '+', 'e3'),
      fc.string({ maxLength: 8 }),
    );
    const flag = positiveNumberFlag('--lr');
    fc.assert(
      fc.property(fc.oneof(decimal, other), (text) => {
        const isDecimal = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(text);
        const n = Number(text);
        expect(Number.isNaN(parseDecimal(text))).toBe(!isDecimal);
        if (isDecimal && Number.isFinite(n) && n > 0) expect(flag(text)).toBe(n);
        else expect(() => flag(text)).toThrow(/^--lr: expected a positive number, got /);
      }),
      { seed: 182, numRuns: 1000 },
    );
  });

  it('--lr 0x10 is refused with what it would have been, one line, exit 2', async () => {
    expectOneLine(await cli(['train', '--lr', '0x10']), 2, 'foldnet train: --lr: expected a positive number, got "0x10" (numbers are read in decimal notation only: write 16)');
    expectOneLine(await cli(['train', '--iters', '0b11']), 2, 'foldnet train: --iters: expected a positive integer, got "0b11" (numbers are read in decimal notation only: write 3)');
  });
});

describe('--threads: capped at the cores', () => {
  it('any count against any number of cores (200 cases): min(count, cores), and one warning exactly when lowered', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 256 }), (n, cores) => {
        const warnings: string[] = [];
        expect(threadsFlag('--threads', cores, (l) => warnings.push(l))(String(n))).toBe(Math.min(n, cores));
        expect(warnings).toHaveLength(n > cores ? 1 : 0);
      }),
      { seed: 183, numRuns: 200 },
    );
  });

  it('eval --threads 256 on this machine: a warning line naming the cores, the cores used, the result printed', async () => {
    const cores = machineCores();
    const r = await cli(['eval', checkpoint, '--test-size', '10', '--threads', String(cores + 254)]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(`foldnet eval: warning: --threads ${cores + 254}: this machine has ${cores} core${cores === 1 ? '' : 's'}; using ${cores} thread${cores === 1 ? '' : 's'} (more would only wait for a core, each with its own memory)\n`);
    expect(getThreads()).toBe(cores);
  });

  it('a config file (or a resumed checkpoint) asking for 256 threads resolves to the cores', () => {
    expect(resolveTrainConfig({ threads: 256 }, tmp, {}, tmp).threads).toBe(Math.min(256, machineCores()));
  });
});

describe('eval reads only what it uses', () => {
  it('--data with only the test files (no training files at all): evaluated', async () => {
    const dir = testOnlyData('test-only', 30);
    const r = await cli(['eval', checkpoint, '--data', dir, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ count: 30 });
  });

  it('--data whose training files are garbage: evaluated (they are not opened)', async () => {
    const dir = testOnlyData('garbage-train', 20);
    fs.writeFileSync(path.join(tmp, dir, 'train-images-idx3-ubyte'), 'not an IDX file');
    fs.writeFileSync(path.join(tmp, dir, 'train-labels-idx1-ubyte'), 'not one either');
    expect((await cli(['eval', checkpoint, '--data', dir])).code).toBe(0);
  });

  it('an empty test set: "the test set holds no images", exit 2 (not "test accuracy NaN", exit 0)', async () => {
    const dir = testOnlyData('empty', 0);
    expectOneLine(await cli(['eval', checkpoint, '--data', dir]), 2, `foldnet eval: ${dir}: the test set holds no images, so there is nothing to evaluate`);
  });
});

describe('a checkpoint holding NaN or Infinity: eval and export say so, exit 1', () => {
  it('affine1.W with 3 infinite weights: one line naming the tensor and the count; export writes no file', async () => {
    const ckpt = loadTrainState(path.join(tmp, checkpoint));
    if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
    const params = Object.fromEntries(
      Object.entries(ckpt.right.parts.params).map(([name, t]) => {
        if (!name.endsWith('.W')) return [name, t];
        const data = Float32Array.from(t.data);
        data.fill(Number.POSITIVE_INFINITY, 5, 8);
        return [name, fromData(t.shape, data)];
      }),
    );
    const weightName = Object.keys(params).find((n) => n.endsWith('.W')) ?? '';
    saveCheckpoint(path.join(tmp, 'inf.safetensors'), { tensors: packTensors({ ...ckpt.right.parts, params }), metadata: ckpt.right.metadata });
    const line = `inf.safetensors: parameter ${weightName} holds 3 non-finite values (the first, at index 5, is Infinity): a network with NaN or Infinity in it cannot be evaluated, exported or trained on`;
    expectOneLine(await cli(['eval', 'inf.safetensors', '--test-size', '10']), 1, `foldnet eval: ${line}`);
    expectOneLine(await cli(['export', 'inf.safetensors', '--onnx', 'inf.onnx']), 1, `foldnet export: ${line}`);
    expect(fs.existsSync(path.join(tmp, 'inf.onnx'))).toBe(false);
  });
});

describe('run folders: files written atomically, never through a link', () => {
  it('a link planted under any run file name (fast-check over the names, 9 cases): train refuses the folder before training, naming the file; the link and its target are untouched', async () => {
    const outside = path.join(tmp, 'outside.txt');
    fs.writeFileSync(outside, 'precious');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...runFiles), async (name) => {
        const out = fs.mkdtempSync(path.join(tmp, 'run-'));
        fs.symlinkSync(outside, path.join(out, name));
        const shown = path.relative(tmp, out);
        const r = await cli(['train', '--out', shown, '--iters', '1', '--train-size', '20', '--test-size', '20', '--batch-size', '10', '--eval-every', '0']);
        expectOneLine(r, 2, `foldnet train: run folder ${shown}: ${name} is a symbolic link; foldnet writes its run files only as regular files`);
        expect(fs.readFileSync(outside, 'utf8')).toBe('precious');
        expect(fs.readlinkSync(path.join(out, name))).toBe(outside);
        expect(fs.readdirSync(out)).toEqual([name]);
      }),
      { seed: 184, numRuns: 9 },
    );
  });

  it('writeRunFile: replaces a regular file whole, refuses a link planted meanwhile, leaves no temporary file', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'write-'));
    writeRunFile(dir, 'metrics.csv', 'old');
    writeRunFile(dir, 'metrics.csv', 'new, longer');
    expect(fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8')).toBe('new, longer');
    fs.symlinkSync(path.join(tmp, 'outside.txt'), path.join(dir, 'loss.png'));
    expect(() => writeRunFile(dir, 'loss.png', new Uint8Array([1]))).toThrow(`cannot write ${path.join(dir, 'loss.png')}: is a symbolic link; only a regular file (or a path not yet taken) is replaced`);
    expect(fs.readdirSync(dir).sort()).toEqual(['loss.png', 'metrics.csv']);
  });

  it('makeDirectories: nested folders made one by one; a file in the way is ENOTDIR, named', () => {
    makeDirectories(path.join(tmp, 'a', 'b', 'c'));
    expect(fs.statSync(path.join(tmp, 'a', 'b', 'c')).isDirectory()).toBe(true);
    makeDirectories(path.join(tmp, 'a', 'b', 'c')); // existing: nothing to do
    write('plain', 'x');
    expect(() => makeDirectories(path.join(tmp, 'plain', 'sub'))).toThrow(/^ENOTDIR: not a directory, \w+ '.*plain/);
  });

  it('a folder without write permission: the real cause, EACCES (not ENOENT)', async () => {
    const locked = path.join(tmp, 'locked');
    fs.mkdirSync(locked, { mode: 0o555 });
    const target = path.join(locked, 'x', 'y');
    if (process.getuid?.() !== 0) {
      expect(() => makeDirectories(target)).toThrow(/^EACCES/);
      return;
    }
    // root may write anywhere: the same call in a child running as an unprivileged user (nobody), on the built module
    await buildOnce();
    fs.chmodSync(tmp, 0o755);
    const module = pathToFileURL(path.join(root, 'packages/cli/dist/runfolder.js')).href;
    const script = `import { makeDirectories } from ${JSON.stringify(module)}; try { makeDirectories(${JSON.stringify(target)}); console.log('made'); } catch (e) { console.log(e.message); }`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^EACCES/);
  });
});

/** A PNG signature and IHDR chunk for `width` x `height` (8-bit grey, `interlace`), then `idat` and IEND; CRCs are not checked before the size is. */
const pngHeader = (width: number, height: number, interlace = 0, idat = new Uint8Array(0)): Uint8Array => {
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length, false);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    return out;
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width, false);
  v.setUint32(4, height, false);
  ihdr.set([8, 0, 0, 0, interlace], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
};

describe('predict: a PNG is checked for size before it is decoded', () => {
  it('any declared width and height up to 2^32-1 (fast-check, 300 cases): refused naming the cap exactly when over 4096x4096 pixels', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 8192 }), fc.integer({ min: 1, max: 0xffffffff })), fc.oneof(fc.integer({ min: 1, max: 8192 }), fc.integer({ min: 1, max: 0xffffffff })), (w, h) => {
        const over = w * h > 4096 * 4096; // the documented cap, written out: the test must not follow the constant
        let message = '';
        try {
          decodeGreyImage(pngHeader(w, h), 'x.png');
        } catch (e) {
          message = e instanceof Error ? e.message : String(e);
        }
        if (over) expect(message).toBe(`x.png: a PNG of ${w}x${h} pixels; predict reads at most 16777216 pixels (4096x4096): scale it down first`);
        else expect(message).not.toMatch(/at most/);
      }),
      { seed: 185, numRuns: 300 },
    );
  });

  it('an interlaced 1000x1000 PNG whose data inflates past its size (50 MB of zeros in 50 KB) is refused before the decoder inflates it without limit', () => {
    const bomb = pngHeader(1000, 1000, 1, deflateSync(new Uint8Array(50 << 20)));
    expect(() => decodeGreyImage(bomb, 'bomb.png')).toThrow(/^bomb\.png: its image data inflates to more than the \d+ bytes a 1000x1000 PNG holds$/);
  });

  it('a real 28x28 and a real 300x200 PNG still decode', () => {
    for (const [w, h] of [[28, 28], [300, 200]]) {
      const png = greyToPng({ width: w, height: h, pixels: new Float64Array(w * h).fill(0.5) });
      expect(decodeGreyImage(png, 'ok.png')).toMatchObject({ width: w, height: h });
    }
  });
});
