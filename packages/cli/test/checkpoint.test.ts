import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { key, split } from '@foldnet/core';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import { adam, initTrainState, loadTrainState, packTensors, saveCheckpoint, saveTrainState } from '@foldnet/train';
import { defaultTrainConfig, removeStaleTempFiles, type InterruptSignal } from '@foldnet/cli';
import { runInProcess, type Captured } from './in-process.js';

/*
 * Checkpoints through the CLI, in-process (runCli with an Io that records output): a weights-only
 * checkpoint is evaluated and exported but refused for --resume with the reason; a checkpoint
 * resumed into another architecture names the tensor and both shapes; Ctrl-C saves and exits 130.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-cli-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in-process in `tmp` (see runInProcess). */
const cli = (args: readonly string[], interrupt?: InterruptSignal): Promise<Captured> => runInProcess(args, tmp, interrupt === undefined ? {} : { interrupt });

const net = unwrap(simpleConvNet());
const [modelKey] = split(key(0));
const state = initTrainState(net, adam(), modelKey);
const config = { ...defaultTrainConfig, iters: 4, trainSize: 40, testSize: 20, batchSize: 10, evalEvery: 0 };

describe('checkpoints through the CLI', () => {
  it('a weights-only checkpoint (no optimizer state): eval works, export works, --resume is refused saying why', async () => {
    const file = path.join(tmp, 'weights.safetensors');
    expect(saveTrainState(file, { network: net, state, config })._tag).toBe('Right');
    const e = await cli(['eval', 'weights.safetensors', '--test-size', '20', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ step: 0, count: 20 });
    const x = await cli(['export', 'weights.safetensors', '--onnx', 'weights.onnx']);
    expect(x.code, x.err).toBe(0);
    expect(fs.statSync(path.join(tmp, 'weights.onnx')).size).toBeGreaterThan(433_890 * 4);
    const r = await cli(['train', '--resume', 'weights.safetensors', '--iters', '4', '--out', 'never']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'foldnet train: weights.safetensors: cannot resume training: the checkpoint holds no optimizer state (no "optimizer" in its metadata); its weights can still be evaluated\n',
    );
  });

  it('--resume of a SimpleConvNet checkpoint with --model double names conv1.W and both shapes', async () => {
    const file = path.join(tmp, 'simple.safetensors');
    expect(saveTrainState(file, { network: net, optimizer: adam(), state, config })._tag).toBe('Right');
    const r = await cli(['train', '--resume', 'simple.safetensors', '--model', 'double', '--iters', '4', '--out', 'never2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^foldnet train: simple\.safetensors: parameter conv1\.W: the checkpoint has \[30,1,5,5\], the network expects \[\d+,1,\d+,\d+\]\n$/);
  });

  it('a model spec in the metadata that is missing: eval says the network cannot be rebuilt', async () => {
    const file = path.join(tmp, 'nomodel.safetensors');
    const full = loadTrainState(path.join(tmp, 'weights.safetensors'));
    if (full._tag === 'Left') throw new Error(full.left.message);
    const { model: _dropped, ...metadata } = full.right.metadata;
    saveCheckpoint(file, { tensors: packTensors(full.right.parts), metadata });
    const r = await cli(['eval', 'nomodel.safetensors']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('foldnet eval: nomodel.safetensors: no model spec in its metadata ("model"), so its network cannot be rebuilt\n');
  });

  it('Ctrl-C during train: the checkpoint of step 1 is saved, the message says where, exit 130', async () => {
    const r = await cli(['train', '--iters', '50', '--train-size', '40', '--test-size', '20', '--batch-size', '10', '--eval-every', '0', '--out', 'interrupted'], 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.err).toBe(
      `foldnet train: interrupted at step 1 of 50: saved ${path.join('interrupted', 'checkpoint.safetensors')} (continue with: foldnet train --resume ${path.join('interrupted', 'checkpoint.safetensors')})\n`,
    );
    const ckpt = loadTrainState(path.join(tmp, 'interrupted', 'checkpoint.safetensors'));
    expect(ckpt._tag === 'Right' && ckpt.right.step).toBe(1);
    expect(fs.existsSync(path.join(tmp, 'interrupted', 'metrics.jsonl'))).toBe(true);
  });

  it('SIGTERM and SIGHUP during train are treated as Ctrl-C: the checkpoint of step 1 is saved, exit 143 and 129', async () => {
    for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const out = `stopped-${signal}`;
      const r = await cli(['train', '--iters', '50', '--train-size', '40', '--test-size', '20', '--batch-size', '10', '--eval-every', '0', '--out', out], signal);
      expect(r.code, r.err).toBe(code);
      const saved = path.join(out, 'checkpoint.safetensors');
      expect(r.err).toBe(`foldnet train: stopped by ${signal} at step 1 of 50: saved ${saved} (continue with: foldnet train --resume ${saved})\n`);
      const ckpt = loadTrainState(path.join(tmp, saved));
      expect(ckpt._tag === 'Right' && ckpt.right.step).toBe(1);
    }
  });

  it('stale temporary files: a dead pid\'s .checkpoint.safetensors.<pid>.<n>.tmp is removed; a live process\'s and other files stay', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'stale-'));
    const dead = '.checkpoint.safetensors.999999999.0.tmp'; // above Linux's largest pid (2^22)
    const live = `.checkpoint.safetensors.${process.pid}.3.tmp`;
    for (const f of [dead, live, 'checkpoint.safetensors', '.other.999999999.0.tmp']) fs.writeFileSync(path.join(dir, f), 'x');
    expect(removeStaleTempFiles(dir, 'checkpoint.safetensors')).toEqual([dead]);
    expect(fs.readdirSync(dir).sort()).toEqual([live, '.other.999999999.0.tmp', 'checkpoint.safetensors'].sort());
  });
});
