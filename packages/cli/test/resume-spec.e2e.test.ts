import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@foldnet/train';
import { buildOnce, foldnet } from './built-cli.js';

/*
 * A checkpoint alone is enough to resume (CHECKPOINTS.md): a run trained from a spec file resumes from the
 * spec stored in its checkpoint when that file is gone or edited; a --model given is used and must fit.
 */

let tmp = '';
const tiny = { input: [1, 28, 28], layers: [{ type: 'conv2d', filters: 3, size: 5 }, { type: 'relu' }, { type: 'maxPool2d', size: 2 }, { type: 'affine', units: 10 }] };
const small = ['--train-size', '100', '--test-size', '50', '--eval-every', '2'];

beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-resume-spec-'));
  fs.writeFileSync(path.join(tmp, 'tiny.json'), JSON.stringify(tiny));
  const first = await foldnet(['train', '--model', 'tiny.json', '--iters', '4', ...small, '--out', 'run'], tmp);
  expect(first.code, first.stderr).toBe(0);
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('--resume rebuilds the network from the checkpoint', () => {
  it('the spec file removed, then edited into another network: resumes the checkpoint\'s own model both times', async () => {
    fs.rmSync(path.join(tmp, 'tiny.json'));
    const resumed = await foldnet(['train', '--resume', 'run/checkpoint.safetensors', '--iters', '6', '--out', 'run'], tmp);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming at step 4');
    fs.writeFileSync(path.join(tmp, 'tiny.json'), JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'affine', units: 10 }] }));
    const edited = await foldnet(['train', '--resume', 'run/checkpoint.safetensors', '--iters', '8', '--out', 'run'], tmp);
    expect(edited.code, edited.stderr).toBe(0);
    const ckpt = loadCheckpoint(path.join(tmp, 'run', 'checkpoint.safetensors'));
    if (ckpt._tag === 'Left') throw ckpt.left;
    expect(ckpt.right.metadata['step']).toBe('8');
    expect(ckpt.right.tensors['conv1.W']?.shape).toEqual([3, 1, 5, 5]);
    expect(ckpt.right.tensors['affine1.W']?.shape).toEqual([432, 10]);
  }, 120_000);

  it('a --model given with --resume is the network used, and a mismatch is refused naming the param', async () => {
    fs.writeFileSync(path.join(tmp, 'other.json'), JSON.stringify({ input: [1, 28, 28], layers: [{ type: 'affine', units: 10 }] }));
    const other = await foldnet(['train', '--resume', 'run/checkpoint.safetensors', '--model', 'other.json', '--iters', '10', '--out', 'run'], tmp);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/affine1\.W: the checkpoint has \[432,10\], the network expects \[784,10\]/);
  }, 120_000);
});
