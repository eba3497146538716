/**
 * A built checkout's packages, for the scripts that run one build or set two side by side (compare-builds, bits,
 * profile-step): each import of another checkout's dist is a build of its own, with its own wasm memory and worker threads.
 *
 *   const { core, layers, train } = await loadBuild('../foldnet-old');
 *   const net = presetNetwork(layers, 'resnet');
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

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
