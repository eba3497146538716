import * as path from 'node:path';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { key, sizeOf } from '@foldnet/core';
import { deepConvNet, doubleConvNet, simpleConvNet, type Network, type ShapeError } from '@foldnet/layers';
import { UsageError } from './errors.js';
import { readUserJson } from './io.js';

/*
 * `--model` and the <model> arguments: a preset name or a JSON model spec file.
 */

/** The built-in models. */
export const presetNames = ['simple', 'double', 'deep'] as const;
export type PresetName = (typeof presetNames)[number];

const presets: Readonly<Record<PresetName, () => Either<ShapeError, Network>>> = {
  simple: () => simpleConvNet(),
  double: () => doubleConvNet(),
  deep: () => deepConvNet(),
};

/** Whether `model` names a preset. */
export const isPreset = (model: string): model is PresetName => presetNames.some((p) => p === model);

/** A built network and a short name for it (run folder names, report titles). */
export interface LoadedModel {
  readonly network: Network;
  /** 'simple', 'double', 'deep', or the spec file's base name. */
  readonly name: string;
}

/**
 * Builds the network a `--model` value names: a preset, or a JSON spec file (relative to `cwd`).
 * Every failure is a UsageError naming the model: a missing file, bad JSON, a shape that does not
 * fit.
 *
 * @example
 * loadModel('simple', process.cwd()).network.outputShape; // [10]
 */
export const loadModel = (model: string, cwd: string): LoadedModel => {
  if (isPreset(model)) {
    const built = presets[model]();
    if (isLeft(built)) throw new UsageError(`model ${model}: ${built.left.message}`);
    return { network: built.right, name: model };
  }
  if (!model.endsWith('.json')) {
    throw new UsageError(`model ${JSON.stringify(model)}: expected ${presetNames.join(', ')} or a JSON model spec file (*.json)`);
  }
  readUserJson(cwd, model, 'model spec');
  throw new UsageError(`${model}: JSON model specs are not supported yet by @foldnet/layers (decodeModelSpec)`);
};

/** A run-folder-safe short name: the spec file's base name without .json. */
export const modelShortName = (model: string): string =>
  isPreset(model) ? model : path.basename(model, '.json').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'model';

/** One row of the layer table. */
export interface SummaryRow {
  readonly name: string;
  readonly kind: string;
  /** Per-sample output shape. */
  readonly outputShape: readonly number[];
  readonly params: number;
}

/** The layer table of a network: rows, total parameter count, input shape. */
export interface ModelSummary {
  readonly input: readonly number[];
  readonly rows: readonly SummaryRow[];
  readonly totalParams: number;
}

/**
 * The layer table: every layer's output shape and parameter count (params are counted from an
 * init, grouped by the layer prefix of their names: `conv1.W`, `conv1.b` -> conv1).
 *
 * @example
 * summarize(loadModel('simple', '.').network).totalParams; // 433890
 */
export const summarize = (network: Network): ModelSummary => {
  const { params } = network.init(key(0));
  const perLayer = new Map<string, number>();
  for (const [name, t] of Object.entries(params)) {
    const layer = name.slice(0, name.indexOf('.'));
    perLayer.set(layer, (perLayer.get(layer) ?? 0) + sizeOf(t.shape));
  }
  const rows = network.layers.map((l, i) => ({ name: l.name, kind: l.kind, outputShape: [...(network.layerShapes[i] ?? [])], params: perLayer.get(l.name) ?? 0 }));
  return { input: [...network.inputShape], rows, totalParams: rows.reduce((a, r) => a + r.params, 0) };
};

const withCommas = (n: number): string => n.toLocaleString('en-US');

/**
 * The table as text.
 *
 * @example
 * formatSummary(summarize(net));
 * // layer    kind       output       params
 * // conv1    conv2d     [30,24,24]      780 ...
 */
export const formatSummary = (s: ModelSummary): string => {
  const shape = (sh: readonly number[]): string => `[${sh.join(',')}]`;
  const table = [
    ['layer', 'kind', 'output shape', 'params'],
    ['input', '', shape(s.input), ''],
    ...s.rows.map((r) => [r.name, r.kind, shape(r.outputShape), withCommas(r.params)]),
    ['total', '', '', withCommas(s.totalParams)],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (c === 3 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 6);
  const [header, input, ...rest] = table;
  const body = rest.slice(0, -1);
  const total = rest[rest.length - 1] ?? [];
  return [line(header ?? []), rule, line(input ?? []), ...body.map(line), rule, line(total)].join('\n');
};
