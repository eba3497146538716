import { readFileSync } from 'node:fs';
import { FoldnetError } from '../errors.js';

/*
 * Assembling the fast kernels' WebAssembly from its part files (wasm/, the source in git) with wabt, as
 * scripts/build-wasm.mjs does for the build: Node's platform (platform/node.ts) does it at load when the sources run
 * without a build. Node-only (it reads files), so only platform/node.ts imports it.
 */

const features = { simd: true, threads: true };

/**
 * The part files of the kernels module in `dir`, in the order its manifest.txt lists them (one name a line, "#"
 * starts a comment), which is the order of their text in the module.
 *
 * @example kernelParts(new URL('./wasm/', import.meta.url)) // ['prelude.wat', 'gemm.wat', ...]
 */
export const kernelParts = (dir: URL): string[] =>
  readFileSync(new URL('manifest.txt', dir), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');

/**
 * The kernels module assembled from the part files in `dir` (see kernelParts): their text between "(module" and ")",
 * as scripts/build-wasm.mjs assembles it for the build.
 *
 * @example await assembleKernels(new URL('./wasm/', import.meta.url)) // the bytes of dist/fast/kernels.wasm
 */
export const assembleKernels = async (dir: URL): Promise<Uint8Array> => {
  const names = kernelParts(dir);
  const parts = names.map((name) => readFileSync(new URL(name, dir), 'utf8'));
  // wabt counts lines in the whole text: errors name the part file and its own line instead (part i starts at
  // line 2 + the lines of the parts before it; the last start is the closing ")")
  const starts = parts.reduce((s, part, i) => [...s, s[i] + part.split('\n').length], [2]);
  const where = (message: string): string =>
    message.replace(/kernels\.wat:(\d+):/g, (at: string, line: string) => {
      const i = starts.filter((s) => s <= Number(line)).length - 1;
      return i >= 0 && i < names.length ? `${names[i]}:${Number(line) - starts[i] + 1}:` : at;
    });
  let wabtInit;
  try {
    wabtInit = (await import('wabt')).default;
  } catch (e) {
    throw new FoldnetError('io', `fast kernels: assembling ${dir.pathname} needs the wabt package (run the build instead): ${String(e)}`);
  }
  const wabt = await wabtInit();
  try {
    const m = wabt.parseWat('kernels.wat', ['(module', ...parts, ')'].join('\n'), features);
    try {
      // wabt's typings omit validate's feature argument, but without it shared memory is refused
      Reflect.apply(m.validate, m, [features]);
      // with the name section, as the build writes it (stack traces and CPU profiles name the functions)
      return m.toBinary({ write_debug_names: true }).buffer;
    } finally {
      m.destroy();
    }
  } catch (e) {
    throw new FoldnetError('format', `fast kernels: ${where(e instanceof Error ? e.message : String(e))}`);
  }
};
