import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { heavyMallocTunables } from '../../packages/cli/src/malloc.js';
import { buildOnce, root } from '../../packages/cli/test/built-cli.js';
import { buildApp, launchChromium, runPage, serve } from './harness.js';
import type { StepBenchResult } from './step-bench.js';

/*
 * `pnpm bench:browser`: SimpleConvNet's training step (batch 100, Adam) in headless Chromium, in a dedicated Worker of a
 * cross-origin isolated page, against Node, at 1 and 2 threads, side by side in one run: each round measures the four
 * in turn (which of Node and Chromium goes first alternates), each measurement in a fresh process or page (warm-up
 * steps, then timed steps: their median), and the table gives the median over the rounds. A benchmark, not a test.
 * Node runs as `foldnet bench` runs it, with the CLI's glibc malloc settings.
 *   options: --rounds 5  --warmup 5  --steps 30
 */

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '5' }, steps: { type: 'string', default: '30' } } });
const [rounds, warmup, steps] = [values.rounds, values.warmup, values.steps].map(Number);
if (![rounds, warmup, steps].every((n) => n !== undefined && Number.isInteger(n) && n >= 1)) {
  console.error('bench:browser: --rounds, --warmup and --steps take positive integers');
  process.exit(2);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

const isStepBenchResult = (v: unknown): v is StepBenchResult => typeof v === 'object' && v !== null && 'stepMs' in v && Array.isArray(v.stepMs);

const nodeBench = fileURLToPath(new URL('./bench-node.ts', import.meta.url));
const inNode = (threads: number): StepBenchResult => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', nodeBench, String(threads), String(warmup), String(steps)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, GLIBC_TUNABLES: heavyMallocTunables },
  });
  const parsed: unknown = r.status === 0 ? JSON.parse(r.stdout) : undefined;
  if (!isStepBenchResult(parsed)) throw new Error(`bench-node.ts ${threads} failed (exit ${r.status}): ${r.stderr}`);
  return parsed;
};

await buildOnce();
const outDir = mkdtempSync(join(tmpdir(), 'foldnet-bench-browser-'));
await buildApp(outDir, ['bench.html']);
const server = await serve(outDir);
const browser = await launchChromium();
const inChromium = async (threads: number): Promise<StepBenchResult> => {
  const { value } = await runPage(browser, server.url(true, `bench.html?threads=${threads}&warmup=${warmup}&steps=${steps}`), 'foldnetBench', 600_000);
  if (!isStepBenchResult(value)) throw new Error(`the bench page left ${JSON.stringify(value)}`);
  return value;
};

const configs = [1, 2].flatMap((threads) => [
  { where: 'Node', threads, run: async () => inNode(threads) },
  { where: 'Chromium', threads, run: () => inChromium(threads) },
]);
const medians = new Map<string, number[]>(configs.map((c) => [`${c.where} ${c.threads}`, []]));
try {
  console.log(`bench:browser: SimpleConvNet training step, batch 100, Adam; ${rounds} rounds of ${warmup} warm-up + ${steps} timed steps; node ${process.version}, ${browser.version()}`);
  for (let round = 0; round < (rounds ?? 0); round++) {
    // alternate which goes first, so neither always pays for the other's leftovers
    const order = round % 2 === 0 ? configs : [...configs].reverse();
    for (const c of order) {
      const r = await c.run();
      if (r.threads !== c.threads) throw new Error(`${c.where} ran ${r.threads} threads, asked for ${c.threads}`);
      medians.get(`${c.where} ${c.threads}`)?.push(median(r.stepMs));
    }
    console.log(`round ${round + 1}: ${[...medians].map(([k, v]) => `${k} ${(v[v.length - 1] ?? NaN).toFixed(1)}`).join(', ')} ms`);
  }
  console.log('\n| threads | Node, ms per step | Chromium Worker, ms per step | Chromium / Node |');
  console.log('|---|---|---|---|');
  for (const threads of [1, 2]) {
    const node = medians.get(`Node ${threads}`) ?? [];
    const chromium = medians.get(`Chromium ${threads}`) ?? [];
    const range = (xs: number[]): string => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
    console.log(`| ${threads} | ${range(node)} | ${range(chromium)} | ${(median(chromium) / median(node)).toFixed(2)}x |`);
  }
  console.log("\nfor scale: TensorFlow.js 4.22's wasm backend, 189 ms per step on this machine (README, Speed)");
} finally {
  await browser.close();
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
}
