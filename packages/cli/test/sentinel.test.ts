import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { allFinite, key, split, type Tensor } from '@foldnet/core';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import { adam, initTrainState, loadTrainState } from '@foldnet/train';
import { errorLines, runInProcess, type Captured } from './in-process.js';

/*
 * Issue 18's "nothing non-finite reaches a checkpoint" at the update, through the CLI in-process: a learning rate or
 * weight decay that overflows float32 with finite gradients stops the run at that step (exit 1, the step and the value
 * named) with the last finite state in the checkpoint; --on-nan skip that skips every step fails (exit 1); a spec whose
 * weight init overflows is refused before training (exit 2).
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-sentinel-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: readonly string[]): Promise<Captured> => runInProcess(args, tmp);

const tiny = ['--train-size', '100', '--test-size', '50', '--batch-size', '20', '--iters', '4', '--eval-every', '0'];

/** The checkpoint a run left: it loads (so every value in it is finite) at the step given. */
const checkpointAt = (out: string): { readonly step: number; readonly params: Readonly<Record<string, Tensor>> } => {
  const ckpt = loadTrainState(path.join(tmp, out, 'checkpoint.safetensors'));
  if (isLeft(ckpt)) throw new Error(ckpt.left.message);
  return { step: ckpt.right.step, params: ckpt.right.parts.params };
};

describe('train: an update that overflows float32 stops the run at that step', () => {
  it('--lr 1e39 (Adam): exit 1 at step 0 naming conv1.W; the checkpoint holds the initial params, finite', async () => {
    const r = await cli(['train', ...tiny, '--lr', '1e39', '--out', 'lr']);
    expect(r.code, r.err).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(
      /^foldnet train: training stopped: step 0: non-finite update, not applied: the new parameter conv1\.W holds \d+ non-finite values \(the first, at index \d+, is -?Infinity\); adam lr 1e\+39 may be too large a step \(--on-nan skip skips such steps instead; the checkpoint holds the last finite state\)$/,
    )]);
    const ckpt = checkpointAt('lr');
    expect(ckpt.step).toBe(1);
    // the params the run started from: SimpleConvNet drawn from the seed's model key
    const initial = initTrainState(unwrap(simpleConvNet()), adam(), split(key(0))[0]).params;
    for (const [name, t] of Object.entries(initial)) expect(Array.from(ckpt.params[name]?.data ?? [])).toEqual(Array.from(t.data));
  });

  it('--weight-decay 1e308: exit 1 at step 0 naming the first value that overflowed; the checkpoint is finite', async () => {
    const r = await cli(['train', ...tiny, '--weight-decay', '1e308', '--out', 'wd']);
    expect(r.code, r.err).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^foldnet train: training stopped: step 0: non-finite update, not applied: the new (parameter|adam state) \S+ holds \d+ non-finite values? .*adam lr 0\.001, weight decay 1e\+308 may be too large a step/)]);
    expect(checkpointAt('wd').step).toBe(1);
  });

  it('--on-nan skip with every step skipped: exit 1 saying nothing was trained, the checkpoint holds the state the run started from', async () => {
    const r = await cli(['train', ...tiny, '--lr', '1e39', '--on-nan', 'skip', '--out', 'skip-all']);
    expect(r.code, r.err).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^foldnet train: training failed: all 4 steps were skipped, so nothing was trained \(the last: step 3: non-finite update, not applied: .*\); the checkpoint holds the state the run started from$/)]);
    expect(r.out).toMatch(/warning: step 0: non-finite update, not applied: .*; step skipped/);
    const ckpt = checkpointAt('skip-all');
    expect(ckpt.step).toBe(4);
    for (const t of Object.values(ckpt.params)) expect(allFinite(t)).toBe(true);
  });

  it('a model spec whose weight init overflows float32 (weightInit 1e300): exit 2 naming the param, before any step or file', async () => {
    fs.writeFileSync(path.join(tmp, 'huge-init.json'), JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'affine', units: 10, weightInit: 1e300 }] }));
    const r = await cli(['train', ...tiny, '--model', 'huge-init.json', '--out', 'huge-init']);
    expect(r.code, r.err).toBe(2);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^foldnet train: initTrainState: the initial parameter affine1\.W holds \d+ non-finite values \(the first, at index \d+, is -?Infinity\): its init scale overflows float32, so training cannot start$/)]);
    expect(fs.existsSync(path.join(tmp, 'huge-init'))).toBe(false);
  });
});
