/**
 * A built checkout's packages, for the scripts that run one build or set two side by side (compare-builds, bits,
 * profile-step): each import of another checkout's dist is a build of its own, with its own wasm memory and worker threads.
 *
 *   const { core, layers, train } = await loadBuild('../foldnet-old');
 *   const net = presetNetwork(layers, 'resnet');
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The presets' names, as `foldnet --model` takes them. */
export const PRESETS = ['simple', 'double', 'deep', 'resnet'];

/** @foldnet/core, layers and train as built in the checkout at `root` (its packages' dist). */
export const loadBuild = async (root) => {
  const dist = (pkg) => import(pathToFileURL(path.resolve(root, 'packages', pkg, 'dist', 'index.js')).href);
  const [core, layers, train] = await Promise.all([dist('core'), dist('layers'), dist('train')]);
  return { core, layers, train };
};

/** The preset `name` (one of PRESETS) as that build's layers make it. */
export const presetNetwork = (layers, name) =>
  layers.unwrap({ simple: layers.simpleConvNet, double: layers.doubleConvNet, deep: layers.deepConvNet, resnet: layers.resnet }[name]());

/** This checkout's root (the build a comparison measures against `--base`). */
export const THIS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The @foldnet/core of the build at `base` and of this checkout, in that order, each at `threads` threads with its
 * workers started: the two sides of a kernel comparison (compare-conv-layers, compare-bn-backward).
 */
export const coresSideBySide = async (base, threads) =>
  Promise.all([base, THIS_ROOT].map(async (root) => {
    const core = await import(pathToFileURL(path.resolve(root, 'packages', 'core', 'dist', 'index.js')).href);
    core.setThreads(threads);
    if (threads > 1) core.startThreads();
    return core;
  }));

/** A reader of milliseconds: the wall clock, or (`cpu`) the process's CPU time, every thread's added. */
export const clockOf = (kind) => (kind === 'cpu' ? () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; } : () => performance.now());

/** The median of a list of timings (the upper one of an even count). */
export const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
