import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { layerTypes, registeredLayer, type LayerRegistration } from '@foldnet/layers';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

/*
 * `--plugin <module>`: a module of the user's that registers layer types of its own (`registerLayer` from
 * @foldnet/layers). It is imported before the command decodes any model spec, so those types can be named
 * in specs and read back from checkpoints. Its registrations reach the CLI only when it imports the same
 * @foldnet/layers the CLI runs; a copy of its own keeps a registry of its own, which the CLI never sees.
 */

/** A plugin imported by `loadPlugins`. */
export interface LoadedPlugin {
  /** As the user gave it. */
  readonly given: string;
  /** The file imported. */
  readonly file: string;
  /** The layer types it registered (or registered again). */
  readonly types: readonly string[];
}

const errorCode = (e: unknown): string | undefined => (e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined);

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

// A value is a file when it reads as a path (./x, ../x, /x) or names a file that exists; otherwise a package
// installed where the user is, as `node -e "import('name')"` run there would find it.
const resolvePlugin = (given: string, cwd: string): string => {
  const file = path.resolve(cwd, given);
  const pathLike = given.startsWith('.') || path.isAbsolute(given);
  if (pathLike || fs.existsSync(file)) {
    if (!fs.existsSync(file)) throw new UsageError(`--plugin ${given}: no such file`);
    return file;
  }
  try {
    return createRequire(path.join(cwd, 'package.json')).resolve(given);
  } catch (e) {
    if (errorCode(e) === 'MODULE_NOT_FOUND') throw new UsageError(`--plugin ${given}: no such file, and no package of that name installed in ${cwd}`);
    throw new UsageError(`--plugin ${given}: cannot resolve: ${firstLine(e)}`);
  }
};

// Why an import failed, in one line; a TypeScript plugin gets the hint Node's message lacks.
const importFailure = (given: string, e: unknown): UsageError => {
  const hint = errorCode(e) === 'ERR_UNKNOWN_FILE_EXTENSION' ? ' (a plugin is JavaScript: compile a TypeScript one first)' : '';
  return new UsageError(`--plugin ${given}: failed to load: ${firstLine(e)}${hint}`);
};

// Node evaluates a module once per process: a program that runs the CLI twice with one plugin
// (runCli in tests, an embedding program) registers nothing the second time, and that is no reason to warn.
const importedBefore = new Set<string>();

/**
 * Imports each `--plugin` module, in order and each file once, resolved against `io.cwd` (the user's
 * directory) as every other path the CLI reads. A module that cannot be found or throws while loading is a
 * UsageError (one line, exit 2); one that registers no layer type gets a warning on stderr, since its
 * layers would otherwise be missing later with no word of why.
 *
 * @example
 * await loadPlugins(['./my-layers.js'], nodeIo()); // [{ given: './my-layers.js', file: '/home/me/my-layers.js', types: ['swish'] }]
 */
export const loadPlugins = async (plugins: readonly string[], io: Io): Promise<readonly LoadedPlugin[]> => {
  const loaded: LoadedPlugin[] = [];
  const seen = new Set<string>();
  for (const given of plugins) {
    const file = resolvePlugin(given, io.cwd);
    if (seen.has(file)) continue;
    seen.add(file);
    const again = importedBefore.has(file);
    importedBefore.add(file);
    // registering a type again replaces its registration: compare registrations, not only names
    const before = new Map<string, LayerRegistration | undefined>(layerTypes().map((t) => [t, registeredLayer(t)]));
    try {
      await import(pathToFileURL(file).href);
    } catch (e) {
      throw importFailure(given, e);
    }
    const types = layerTypes().filter((t) => !before.has(t) || before.get(t) !== registeredLayer(t));
    if (types.length === 0 && !again) {
      io.err(`foldnet: warning: --plugin ${given} registered no layer type (its registerLayer must come from the @foldnet/layers this foldnet runs)\n`);
    }
    loaded.push({ given, file, types });
  }
  return loaded;
};
