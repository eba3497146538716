import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromData, getThreads, key, setBackend, setThreads, sizeOf, sliceRows, split, startThreads, type Tensor } from '@foldnet/core';
import { deepConvNet, doubleConvNet, memoryNeeds, predict, resnet, simpleConvNet, unwrap, type Network } from '@foldnet/layers';
import { adam, initTrainState, trainStep } from '@foldnet/train';
import { runCli, type Io } from '@foldnet/cli';
import { pngBytes, put, type Paint } from '../../train/test/image-files.js';
import { forwardBatch } from '../src/commands/common.js';

/*
 * predict over images and folders runs them through the network in batches (100, --batch-size, or fewer when the
 * memory limit asks) and prints each batch's lines as it is done. What makes that safe: in evaluation mode a batch's
 * rows are, bit for bit, what each image alone gives, for every preset, at 1 and 2 threads, on both kernel sets. Then
 * the command: the lines are the same for any batch size (text and --json), come batch by batch in the files' order,
 * and a file that cannot be decoded in the middle of a batch ends the command after the lines of the images before it,
 * as it did when images went one at a time.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-predict-batch-'));
const threadsBefore = getThreads();
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  setThreads(threadsBefore);
  setBackend('fast');
});

/** `count` images of `inputDim`, values in [0, 1) from a fixed sequence. */
const imagesOf = (count: number, inputDim: readonly number[]): Tensor => {
  const data = new Float32Array(count * sizeOf(inputDim));
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s >>> 8) / 2 ** 24;
  }
  return fromData([count, ...inputDim], data);
};

const sameBits = (a: Tensor, b: Tensor): boolean => {
  const [x, y] = [new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)];
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

describe("evaluation mode: a batch's rows are each image alone, bit for bit", () => {
  const presets: readonly (readonly [string, (inputDim: readonly number[]) => Network])[] = [
    ['simple', (inputDim) => unwrap(simpleConvNet({ inputDim, outputSize: 3 }))],
    ['double', (inputDim) => unwrap(doubleConvNet({ inputDim, outputSize: 3 }))],
    ['deep', (inputDim) => unwrap(deepConvNet({ inputDim, outputSize: 3 }))],
    ['resnet', (inputDim) => unwrap(resnet({ inputDim, outputSize: 3 }))],
  ];
  // MNIST's digits and an image folder's RGB images; 13 images: batches of 13, of 5 (5, 5, 3) and of 1
  const cases = [
    { backend: 'fast', threads: 1, inputDim: [1, 28, 28] },
    { backend: 'fast', threads: 2, inputDim: [1, 28, 28] },
    { backend: 'fast', threads: 1, inputDim: [3, 16, 16] },
    { backend: 'fast', threads: 2, inputDim: [3, 16, 16] },
    { backend: 'reference', threads: 1, inputDim: [3, 16, 16] },
  ] as const;
  for (const [name, build] of presets) {
    for (const { backend, threads, inputDim } of cases) {
      it(`${name} x=[13,${inputDim.join(',')}], ${backend} kernels, ${threads} thread(s), batch norm's running statistics moved by two steps: batches of 13 and 5 equal each image alone`, () => {
        setBackend(backend);
        setThreads(threads);
        if (threads > 1) expect(startThreads()).toBe(1);
        const net = build(inputDim);
        const opt = adam({ lr: 0.01 });
        const step = trainStep(net, opt);
        let state = initTrainState(net, opt, split(key(3), 2)[0]);
        const x = imagesOf(13, inputDim);
        for (let i = 0; i < 2; i++) state = step(state, { x: sliceRows(x, 4 * i, 4 * i + 4), targets: Int32Array.from([0, 1, 2, i]) });
        const alone = Array.from({ length: 13 }, (_, i) => predict(net, state.params, state.layerState, sliceRows(x, i, i + 1)));
        for (const batchSize of [13, 5]) {
          const batched = predict(net, state.params, state.layerState, x, { batchSize });
          alone.forEach((row, i) => expect(sameBits(sliceRows(batched, i, i + 1), row), `row ${i} of batches of ${batchSize}`).toBe(true));
        }
      });
    }
  }
});

// ----- the command -----

/** A run of the CLI in this process, each write to stdout kept apart: a batch's lines come in one write. */
interface Chunked {
  readonly code: number;
  readonly chunks: readonly string[];
  readonly out: string;
  readonly err: string;
}

const cli = async (args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<Chunked> => {
  const chunks: string[] = [];
  let err = '';
  const io: Io = { out: (s) => void chunks.push(s), err: (s) => (err += s), stdoutIsTTY: false, stdout: new PassThrough(), cwd: tmp, env };
  const code = await runCli(args, io);
  return { code, chunks, out: chunks.join(''), err };
};

const lineCounts = (r: Chunked): number[] => r.chunks.map((c) => c.split('\n').length - 1);
const ckpt = path.join('run', 'checkpoint.safetensors');

// a stroke somewhere else in each image, light on dark, or dark on light paper (inverted) for odd i
const stroke =
  (i: number): Paint =>
  (x, y) => {
    const ink = Math.abs(x - 6 - i) < 2 || Math.abs(y - 20 + i) < 2;
    return [ink === (i % 2 === 0) ? 230 : 10];
  };

beforeAll(async () => {
  const r = await cli(['train', '--iters', '2', '--train-size', '20', '--test-size', '10', '--batch-size', '10', '--eval-every', '0', '--out', 'run']);
  expect(r.code, r.err).toBe(0);
  // ten digits, two of them in a subfolder (predicted in path order); beside them, the same with a file that is no image sixth
  for (let i = 0; i < 10; i++) {
    const file = i < 2 ? path.join('sub', `${i}.png`) : `${i}.png`;
    put(path.join(tmp, 'digits', file), pngBytes(28, 28, stroke(i), 0));
    put(path.join(tmp, 'broken', file), i === 5 ? 'not a picture' : pngBytes(28, 28, stroke(i), 0));
  }
}, 120_000);

describe('predict <checkpoint> <folder>: batch by batch', () => {
  it('any --batch-size prints the same lines, text and --json, in path order; a batch of 4 writes them 4, 4 and 2 at a time', async () => {
    for (const json of [[], ['--json']]) {
      const one = await cli(['predict', ckpt, 'digits', '--batch-size', '1', ...json]);
      expect(one.code, one.err).toBe(0);
      expect(lineCounts(one)).toEqual(Array(10).fill(1));
      const four = await cli(['predict', ckpt, 'digits', '--batch-size', '4', ...json]);
      expect(lineCounts(four)).toEqual([4, 4, 2]);
      const byDefault = await cli(['predict', ckpt, 'digits', ...json]);
      expect(lineCounts(byDefault)).toEqual([10]);
      for (const r of [four, byDefault]) expect(r.out).toBe(one.out);
      const lines = one.out.trim().split('\n');
      const images = lines.map((l) => (json.length > 0 ? (JSON.parse(l) as { image: string }).image : l.split(' ')[0]));
      expect(images).toEqual([...['2', '3', '4', '5', '6', '7', '8', '9'].map((n) => path.join('digits', `${n}.png`)), path.join('digits', 'sub', '0.png'), path.join('digits', 'sub', '1.png')]);
      // each line says whether its own image was inverted
      const inverted = lines.map((l) => (json.length > 0 ? (JSON.parse(l) as { inverted: boolean }).inverted : l.endsWith('(inverted)')));
      expect(inverted).toEqual([false, true, false, true, false, true, false, true, false, true]);
    }
  });

  it('each line is the image predicted alone: its class and every probability, as --json prints them', async () => {
    const batch = (await cli(['predict', ckpt, 'digits', '--json', '--batch-size', '3'])).out.trim().split('\n').map((l): unknown => JSON.parse(l));
    for (const line of batch) {
      const image = (line as { image: string }).image;
      const alone = await cli(['predict', ckpt, image, '--json']);
      expect(JSON.parse(alone.out), image).toEqual(line);
    }
    // rows of a batch mixed up would not go unseen: no two images have the same probabilities
    expect(new Set(batch.map((line) => JSON.stringify((line as { probabilities: number[] }).probabilities))).size).toBe(10);
  });

  it('a file that does not decode in the middle of a batch: the lines of the images before it (its batch too), then its error, exit 2, whatever the batch', async () => {
    const one = await cli(['predict', ckpt, 'broken', '--batch-size', '1']);
    expect(one.code).toBe(2);
    expect(one.err).toBe(`foldnet predict: ${path.join('broken', '5.png')}: byte 0: not a PNG or JPEG image: it starts with 6e 6f 74 20 61 20 70 69 ("not a pi"), though its name ends in .png (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)\n`);
    expect(one.out.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['2', '3', '4'].map((n) => path.join('broken', `${n}.png`)));
    for (const batchSize of ['2', '100']) {
      const r = await cli(['predict', ckpt, 'broken', '--batch-size', batchSize]);
      expect([r.code, r.out, r.err]).toEqual([2, one.out, one.err]);
    }
    // in a batch of 2: 2 and 3 done, then 4 alone (the file after it failed)
    expect(lineCounts(await cli(['predict', ckpt, 'broken', '--batch-size', '2']))).toEqual([2, 1]);
    // the images before it print what they print in a folder without it (a folder's name as long)
    const whole = (await cli(['predict', ckpt, 'digits'])).out.split('\n');
    expect(one.out.replaceAll('broken', 'digits')).toBe(`${whole.slice(0, 3).join('\n')}\n`);
  });

  it('a link to nothing in a folder is an image file that cannot be read, in its turn; an argument naming nothing is refused before any line', async () => {
    fs.cpSync(path.join(tmp, 'digits'), path.join(tmp, 'linked'), { recursive: true });
    fs.rmSync(path.join(tmp, 'linked', '5.png'));
    fs.symlinkSync(path.join(tmp, 'nowhere.png'), path.join(tmp, 'linked', '5.png'));
    const r = await cli(['predict', ckpt, 'linked', '--batch-size', '2']);
    expect([r.code, r.err]).toEqual([2, `foldnet predict: image ${path.join('linked', '5.png')}: no such file\n`]);
    expect(r.out.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['2', '3', '4'].map((n) => path.join('linked', `${n}.png`)));
    const missing = await cli(['predict', ckpt, 'digits', 'nowhere.png']);
    expect([missing.code, missing.out, missing.err]).toEqual([2, '', 'foldnet predict: image nowhere.png: no such file or folder\n']);
  });

  it('--batch-size with --index is refused; a --batch-size that cannot fit is refused naming it', async () => {
    const r = await cli(['predict', ckpt, '--index', '0', '--batch-size', '4']);
    expect([r.code, r.err]).toEqual([2, 'foldnet predict: --batch-size sets how many images go through the network at once: for images and folders, not --index\n']);
    const huge = await cli(['predict', ckpt, 'digits', '--batch-size', '1000000000']);
    expect(huge.code).toBe(2);
    expect(huge.err).toMatch(/^foldnet predict: run\/checkpoint\.safetensors with --batch-size 1000000000: needs at least [\d.]+ [kMGTP]?B of memory/);
    expect(huge.out).toBe('');
  });

  it('under a memory limit a batch of 100 cannot fit in, the images go in batches that fit: the first of 100, 50, 25, 13, 7, 4, ... that does', async () => {
    const net = unwrap(simpleConvNet());
    const bytesAt = (batch: number): number => memoryNeeds(net, { batch, bytesPerValue: 4, paramCopies: 1, backward: false }).totalBytes + batch * 784 * 4;
    expect(forwardBatch(net, 'simple', undefined, 100, 1e12)).toBe(100);
    expect(forwardBatch(net, 'simple', undefined, 100, bytesAt(100) - 1)).toBe(50);
    expect(forwardBatch(net, 'simple', undefined, 100, bytesAt(7) - 1)).toBe(4);
    expect(forwardBatch(net, 'simple', undefined, 100, bytesAt(1))).toBe(1);
    expect(forwardBatch(net, 'simple', 3, 100, bytesAt(3))).toBe(3);
    expect(() => forwardBatch(net, 'simple', 3, 100, bytesAt(3) - 1)).toThrow(/^simple with --batch-size 3: needs at least/);
    // the command: the lines the same, four at a time
    const limited = await cli(['predict', ckpt, 'digits'], { FOLDNET_MEMORY_LIMIT: String(bytesAt(7) - 1) });
    expect(limited.code, limited.err).toBe(0);
    expect(lineCounts(limited)).toEqual([4, 4, 2]);
    expect(limited.out).toBe((await cli(['predict', ckpt, 'digits'])).out);
  });
});
