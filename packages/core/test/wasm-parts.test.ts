import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assembleKernels, kernelParts } from '../src/fast/assemble.js';

/*
 * The fast kernels' WebAssembly is assembled in two places from the part files of src/fast/wasm/: by the build
 * (scripts/build-wasm.mjs -> dist/fast/kernels.wasm) and at load time by src/fast/assemble.ts (Node's platform) when the
 * sources run without a build. Both follow wasm/manifest.txt; these tests keep them giving the same module, and keep a new part
 * file from being left out of it.
 */

const partsDir = new URL('../src/fast/wasm/', import.meta.url);
const buildScript = fileURLToPath(new URL('../scripts/build-wasm.mjs', import.meta.url));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Runs the build's assembly on the parts in `src` into a fresh folder; its exit status, stderr and the bytes it wrote. */
const build = (src: string): { status: number | null; stderr: string; bytes: Uint8Array | undefined } => {
  const out = mkdtempSync(join(tmpdir(), 'foldnet-wasm-'));
  try {
    const run = spawnSync(process.execPath, [buildScript, '--src', src, '--out', out], { encoding: 'utf8' });
    const written = readdirSync(out).includes('kernels.wasm') ? readFileSync(join(out, 'kernels.wasm')) : undefined;
    return { status: run.status, stderr: run.stderr, bytes: written };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
};

describe('the kernels module from its WebAssembly parts', () => {
  it('manifest.txt lists every .wat file of src/fast/wasm once, and only those', () => {
    const listed = kernelParts(partsDir);
    const present = readdirSync(partsDir).filter((f) => f.endsWith('.wat'));
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...present].sort());
    // the prelude opens the module: it imports the memory every other part uses
    expect(listed[0]).toBe('prelude.wat');
  });

  it('build-wasm.mjs and wasm.ts assemble the same bytes', async () => {
    const built = build(fileURLToPath(partsDir));
    expect(built.status, built.stderr).toBe(0);
    const loaded = await assembleKernels(partsDir);
    expect(built.bytes === undefined ? undefined : sha256(built.bytes)).toBe(sha256(loaded));
  });

  it('an error in a part names that part and its own line, in both assemblers (relu.wat line 20 reads an undefined local)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foldnet-wasm-parts-'));
    try {
      cpSync(fileURLToPath(partsDir), dir, { recursive: true });
      const relu = join(dir, 'relu.wat');
      const lines = readFileSync(relu, 'utf8').split('\n');
      lines[19] = '    (drop (local.get $undefinedLocal))';
      writeFileSync(relu, lines.join('\n'));
      const built = build(dir);
      expect(built.status).toBe(1);
      expect(built.stderr).toContain('relu.wat:20:');
      expect(built.bytes).toBeUndefined();
      await expect(assembleKernels(pathToFileURL(`${dir}/`))).rejects.toThrow(/relu\.wat:20:.*undefinedLocal/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
