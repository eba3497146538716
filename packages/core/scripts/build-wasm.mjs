// Assembles the fast kernels' WebAssembly text (packages/core/src/fast/*.wat, the source in git) into
// packages/core/dist/fast/*.wasm with the wabt npm package. Runs before `tsc -b` in the root build.
// When tests import the sources without a build, src/fast/wasm.ts assembles the same text at load time;
// both paths use these feature flags, so they produce the same bytes.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const core = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(core, 'src', 'fast');
const outDir = join(core, 'dist', 'fast');
const features = { simd: true, threads: true };

const wabt = await wabtInit();
mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.wat'))) {
  const module = wabt.parseWat(file, readFileSync(join(srcDir, file), 'utf8'), features);
  try {
    module.validate(features);
    const { buffer } = module.toBinary({});
    const out = join(outDir, file.replace(/\.wat$/, '.wasm'));
    writeFileSync(out, buffer);
    console.log(`build-wasm: ${file} -> ${out} (${buffer.length} bytes)`);
  } finally {
    module.destroy();
  }
}
