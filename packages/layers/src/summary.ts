import { formatShape, key, sizeOf, type Shape } from '@foldnet/core';
import type { Network } from './types.js';

/** One row of a network summary. */
export interface SummaryRow {
  readonly name: string;
  readonly kind: string;
  /** Per-sample output shape. */
  readonly outputShape: Shape;
  /** Trainable parameters of the layer. */
  readonly params: number;
}

/**
 * The layers of a network with their output shapes and parameter counts (the counts come from
 * init's shapes).
 *
 * @example summaryRows(unwrap(simpleConvNet()))[0] // { name: 'conv1', kind: 'conv2d', outputShape: [30,24,24], params: 780 }
 */
export const summaryRows = (net: Network): SummaryRow[] => {
  const { params } = net.init(key(0));
  const counts = new Map<string, number>();
  for (const [name, t] of Object.entries(params)) {
    const layer = name.slice(0, name.indexOf('.'));
    counts.set(layer, (counts.get(layer) ?? 0) + sizeOf(t.shape));
  }
  return net.layers.map((l, i) => ({ name: l.name, kind: l.kind, outputShape: net.layerShapes[i], params: counts.get(l.name) ?? 0 }));
};

const group = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * A text table of the layers, output shapes and parameter counts, and the total.
 *
 * @example
 * console.log(summary(unwrap(simpleConvNet())));
 * // layer    kind       output shape   params
 * // input               [1,28,28]
 * // conv1    conv2d     [30,24,24]        780
 * // ...
 * // total                             433,890
 */
export const summary = (net: Network): string => {
  const rows = summaryRows(net);
  const total = rows.reduce((a, r) => a + r.params, 0);
  const table: string[][] = [
    ['layer', 'kind', 'output shape', 'params'],
    ['input', '', formatShape(net.inputShape), ''],
    ...rows.map((r) => [r.name, r.kind, formatShape(r.outputShape), group(r.params)]),
    ['total', '', '', group(total)],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((row) => row[c].length)));
  return table
    .map((row) => [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[2].padEnd(widths[2]), row[3].padStart(widths[3])].join('  ').trimEnd())
    .join('\n');
};
