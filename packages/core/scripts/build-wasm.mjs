// Assembles the fast kernels' WebAssembly text (the part files of packages/core/src/fast/wasm/, the source in git)
// into packages/core/dist/fast/kernels.wasm with the wabt npm package. Runs before `tsc -b` in the root build.
// When tests import the sources without a build, src/fast/wasm.ts assembles the same text at load time. Both read
// the order of the parts from wasm/manifest.txt, put their text between "(module" and ")" the same way and use the
// same feature flags, so they produce the same bytes (test/wasm-parts.test.ts checks it).
//   options: --src DIR (the parts and their manifest; default src/fast/wasm)  --out DIR (default dist/fast)
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const core = join(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const srcDir = option('--src', join(core, 'src', 'fast', 'wasm'));
const outDir = option('--out', join(core, 'dist', 'fast'));
const features = { simd: true, threads: true };

// manifest.txt: one part file a line, "#" starts a comment
const names = readFileSync(join(srcDir, 'manifest.txt'), 'utf8')
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter((line) => line !== '');
const parts = names.map((name) => readFileSync(join(srcDir, name), 'utf8'));
const text = ['(module', ...parts, ')'].join('\n');

// wabt counts lines in the whole text: name the part file and its own line instead (part i starts at line 2 + the
// lines of the parts before it; the last start is the closing ")")
const starts = parts.reduce((s, part, i) => [...s, s[i] + part.split('\n').length], [2]);
const where = (message) =>
  message.replace(/kernels\.wat:(\d+):/g, (at, line) => {
    const i = starts.filter((s) => s <= Number(line)).length - 1;
    return i >= 0 && i < names.length ? `${names[i]}:${Number(line) - starts[i] + 1}:` : at;
  });

const wabt = await wabtInit();
let buffer;
try {
  const module = wabt.parseWat('kernels.wat', text, features);
  try {
    module.validate(features);
    // with the name section: V8's stack traces and CPU profiles then name each function ($winogradMultiply) where
    // they said wasm-function[67]
    buffer = module.toBinary({ write_debug_names: true }).buffer;
  } finally {
    module.destroy();
  }
} catch (e) {
  console.error(`build-wasm: ${where(e instanceof Error ? e.message : String(e))}`);
  process.exit(1);
}
// Written only when the bytes change, and then whole (a rename): the end-to-end tests build while other test files may
// already be starting the built CLI, which must never read a half-written module.
mkdirSync(outDir, { recursive: true });
const out = join(outDir, 'kernels.wasm');
const same = existsSync(out) && Buffer.compare(readFileSync(out), buffer) === 0;
if (!same) {
  writeFileSync(`${out}.${process.pid}`, buffer);
  renameSync(`${out}.${process.pid}`, out);
}
console.log(`build-wasm: ${names.length} parts of ${srcDir} -> ${out} (${buffer.length} bytes${same ? ', unchanged' : ''})`);
