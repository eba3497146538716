// Kernel benchmark: GFLOP/s of the fast GEMM on SimpleConvNet's own GEMM shapes (batch 100), and the
// per-kernel times of fast vs reference measured side by side in one run (medians), at 1 and n threads.
// A benchmark, not a test. Run after a build:  pnpm run build && node packages/core/bench/kernels.mjs
//   options: --runs N (default 7)  --threads 1,2 (default 1 and the core count)  --no-reference
//            --ab-only (only the threads A/B at the end)
import { availableParallelism } from 'node:os';
import * as core from '../dist/index.js';


const { fastKernels: fast, referenceKernels: reference, fromData, convGeometry, setThreads, startThreads, threadStats } = core;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg('--runs', '7'));
const threadList = arg('--threads', [...new Set([1, availableParallelism()])].join(',')).split(',').map(Number);
const abOnly = process.argv.includes('--ab-only');
const withReference = !abOnly && !process.argv.includes('--no-reference');

// a deterministic fill (benchmarks need no PRNG keys; values in [-0.5, 0.5))
const fill = (n, seed) => {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
};
const t = (shape, seed) => fromData(shape, fill(shape.reduce((p, q) => p * q, 1), seed));
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
// median and min of n timed runs after a warm-up (JIT, workspace growth, worker start); on a shared machine
// the min is the better estimate of the uncontended time, the median of what a run sees
// The process CPU time per run (all threads) is printed too: unlike wall time it does not count waiting for
// a core, which on a busy shared machine is most of the spread.
const minOf = new Map();
const cpuOf = new Map();
const time = (f, n, label) => {
  f();
  const ms = [];
  const cpu = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  if (label) {
    minOf.set(label, Math.min(...ms));
    cpuOf.set(label, median(cpu));
  }
  return median(ms);
};
const fmtMin = (label) => `(min ${minOf.get(label).toFixed(2)}, cpu ${cpuOf.get(label).toFixed(2)})`;

// SimpleConvNet, batch 100: conv 30 x 5x5 on 1x28x28 -> [100,30,24,24]; pool 2x2/2 -> 4320 features; affine 4320 -> 100 -> 10
const B = 100;
const gConv = convGeometry('bench', { inH: 28, inW: 28, filterH: 5 });
const gPool = convGeometry('bench', { inH: 24, inW: 24, filterH: 2, stride: 2 });
const R = B * 24 * 24;
const gemms = [
  ['conv forward      col[57600,25] x W^T[25,30]', [R, 25], [30, 25], false, true],
  ['conv filter grad  dY^T[30,57600] x col[57600,25]', [R, 30], [R, 25], true, false],
  ['conv input grad   dY[57600,30] x W[30,25]', [R, 30], [30, 25], false, false],
  ['affine forward    x[100,4320] x W[4320,100]', [100, 4320], [4320, 100], false, false],
  ['affine input grad dY[100,100] x W^T[100,4320]', [100, 100], [4320, 100], false, true],
  ['affine weight grad x^T[4320,100] x dY[100,100]', [100, 4320], [100, 100], true, false],
];

const x = t([B, 1, 28, 28], 1);
const w = t([30, 1, 5, 5], 2);
const b = t([30], 3);
const conv = fast.conv2d(x, w, b, gConv);
const dy = t([B, 30, 24, 24], 4);
const act = t([B, 30, 24, 24], 5);
const pooled = fast.maxPool2d(act, gPool);
const dPool = t([B, 30, 12, 12], 6);
const kernelsToTime = [
  ['conv2d [100,1,28,28] * [30,1,5,5]', (k) => k.conv2d(x, w, b, gConv)],
  ['conv2dOut (no col kept: evaluation)', (k) => k.conv2dOut(x, w, b, gConv)],
  ['conv2dBackward needDx=false', (k) => k.conv2dBackward(dy, conv.col, w, x.shape, gConv, false)],
  ['conv2dBackward needDx=true', (k) => k.conv2dBackward(dy, conv.col, w, x.shape, gConv, true)],
  ['im2col [100,1,28,28] 5x5', (k) => k.im2col(x, gConv)],
  ['col2im [57600,25] -> [100,1,28,28]', (k) => k.col2im(conv.col, x.shape, gConv)],
  ['maxPool2d [100,30,24,24] 2x2/2', (k) => k.maxPool2d(act, gPool)],
  ['maxPool2dOut (no argmax kept: evaluation)', (k) => k.maxPool2dOut(act, gPool)],
  ['maxPool2dBackward', (k) => k.maxPool2dBackward(dPool, pooled.argmax, act.shape)],
  ['relu [100,30,24,24]', (k) => k.relu(act)],
  ['reluBackward [100,30,24,24]', (k) => k.reluBackward(act, dy)],
  ['avgPool2d [100,30,24,24] 2x2/2', (k) => k.avgPool2d(act, gPool)],
  ['avgPool2dBackward', (k) => k.avgPool2dBackward(dPool, act.shape, gPool)],
];

// The kernels of one SimpleConvNet training step (batch 100) in order, ReLU included, without the element-wise
// work (softmax, bias, Adam) the layers and optimizers add: a floor for `foldnet bench`'s step time.
const w1 = t([4320, 100], 9);
const w2 = t([100, 10], 10);
const dOut = t([B, 10], 11);
const stepKernels = (k) => {
  const c = k.conv2d(x, w, b, gConv); // [100,30,24,24]
  const r = k.relu(c.out);
  const p = k.maxPool2d(r, gPool); // [100,30,12,12]
  const flat = fromData([B, 4320], p.out.data);
  const h = k.matmul(flat, w1, false, false); // [100,100]
  k.matmul(h, w2, false, false); // [100,10]
  const dh = k.matmul(dOut, w2, false, true); // [100,100]
  k.matmul(h, dOut, true, false); // dW2 [100,10]
  k.matmul(flat, dh, true, false); // dW1 [4320,100]
  const dFlat = k.matmul(dh, w1, false, true); // [100,4320]
  const dRelu = k.maxPool2dBackward(fromData([B, 30, 12, 12], dFlat.data), p.argmax, c.out.shape);
  k.conv2dBackward(k.reluBackward(c.out, dRelu), c.col, w, x.shape, gConv, false);
};

console.log(`foldnet kernel bench: node ${process.version}, ${availableParallelism()} cores, median of ${runs} runs (wall ms; min and median process CPU ms in brackets)`);
if (!process.env.GLIBC_TUNABLES) {
  console.log('note: fresh output buffers page-fault; on some VMs that costs more than the kernel. Compare with');
  console.log('      GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295:glibc.malloc.top_pad=67108864 (what foldnet train, eval and bench use)');
}
let refTimes;
if (withReference) {
  refTimes = new Map();
  for (const [name, a, bb, tA, tB] of gemms) refTimes.set(name, time(() => reference.matmul(t(a, 7), t(bb, 8), tA, tB), 3));
  for (const [name, f] of kernelsToTime) refTimes.set(name, time(() => f(reference), 3));
  refTimes.set('step', time(() => stepKernels(reference), 3));
}
for (const threads of abOnly ? [] : threadList) {
  setThreads(threads);
  console.log(`\n-- fast, ${threads} thread(s)${withReference ? ' vs reference (1 thread, median of 3)' : ''}`);
  for (const [name, a, bb, tA, tB] of gemms) {
    const A = t(a, 7);
    const Bm = t(bb, 8);
    const M = tA ? a[1] : a[0];
    const K = tA ? a[0] : a[1];
    const N = tB ? bb[0] : bb[1];
    const ms = time(() => fast.matmul(A, Bm, tA, tB), runs, name);
    const gf = (2 * M * N * K) / ms / 1e6;
    const gfMin = (2 * M * N * K) / minOf.get(name) / 1e6;
    const ref = refTimes?.get(name);
    console.log(`GEMM ${name.padEnd(50)} ${ms.toFixed(2).padStart(7)} ms ${fmtMin(name)} ${gf.toFixed(1).padStart(6)} GFLOP/s (best ${gfMin.toFixed(1)})${ref ? `  reference ${ref.toFixed(1)} ms  x${(ref / ms).toFixed(0)}` : ''}`);
  }
  {
    const ms = time(() => stepKernels(fast), runs, 'step');
    const ref = refTimes?.get('step');
    console.log(`${'SimpleConvNet step, kernels only (batch 100)'.padEnd(55)} ${ms.toFixed(2).padStart(7)} ms ${fmtMin('step')}${ref ? `  reference ${ref.toFixed(2)} ms  x${(ref / ms).toFixed(1)}` : ''}`);
  }
  for (const [name, f] of kernelsToTime) {
    const ms = time(() => f(fast), runs, name);
    const ref = refTimes?.get(name);
    console.log(`${name.padEnd(55)} ${ms.toFixed(2).padStart(7)} ms ${fmtMin(name)}${ref ? `  reference ${ref.toFixed(2)} ms  x${(ref / ms).toFixed(1)}` : ''}`);
  }
}

// Threads A/B: the step's kernels alternating 1 and n threads, so both see the same machine load.
const most = Math.max(...threadList);
if (most > 1) {
  const pairs = Math.max(5, runs);
  const times = { 1: [], [most]: [] };
  for (let i = 0; i < pairs; i++)
    for (const n of [1, most]) {
      setThreads(n);
      if (n > 1) startThreads();
      stepKernels(fast);
      const t0 = performance.now();
      stepKernels(fast);
      times[n].push(performance.now() - t0);
    }
  const one = median(times[1]);
  const many = median(times[most]);
  console.log(`\n-- threads A/B, step kernels, ${pairs} alternating pairs: 1 thread ${one.toFixed(2)} ms, ${most} threads ${many.toFixed(2)} ms, speed-up x${(one / many).toFixed(2)} (worker chunks ${threadStats().workerChunks})`);
}
