import { formatShape, key, opKind, paramShapesOf, sizeOf, type Shape } from '@foldnet/core';
import { GRAPH_INPUT, shapeAt, type GraphNode } from './graph/build.js';
import type { Network } from './types.js';

/** One row of a network summary. */
export interface SummaryRow {
  /** The layer's name, or a node's path inside a composite layer (`res1.conv1`). */
  readonly name: string;
  readonly kind: string;
  /** Per-sample output shape. */
  readonly outputShape: Shape;
  /** Trainable parameters of the layer. */
  readonly params: number;
  /** 0 for the network's layers, 1 for the nodes inside a composite layer (residual, parallel, ...). */
  readonly depth: number;
}

// A node's trainable parameter count from its op's shape rule; a custom layer's own init says for its kind.
const nodeParams = (net: Network, n: GraphNode): number => {
  const inShape = shapeAt(net.graph, n.inputs[0] ?? GRAPH_INPUT);
  const shapes = paramShapesOf(n.op, inShape);
  if (shapes !== undefined) return Object.values(shapes.params).reduce((a, s) => a + sizeOf(s), 0);
  if (n.layer === undefined) return 0;
  return Object.values(n.layer.init(key(0), inShape).params).reduce((a, t) => a + t.size, 0);
};

/**
 * The layers of a network with their output shapes and parameter counts, each composite layer followed by
 * its nodes (depth 1). Counts come from the ops' shape rules: nothing is allocated for built-in layers.
 *
 * @example summaryRows(unwrap(simpleConvNet()))[0] // { name: 'conv1', kind: 'conv2d', outputShape: [30,24,24], params: 780, depth: 0 }
 */
export const summaryRows = (net: Network): SummaryRow[] => {
  const perNode = net.graph.nodes.map((n) => nodeParams(net, n));
  return net.layers.flatMap((l, i) => {
    const inner = net.graph.nodes.flatMap((n, j) => (n.top === i ? [{ node: n, params: perNode[j] }] : []));
    const row: SummaryRow = { name: l.name, kind: l.kind, outputShape: net.layerShapes[i], params: inner.reduce((a, r) => a + r.params, 0), depth: 0 };
    if (l.body === undefined) return [row];
    return [row, ...inner.map((r) => ({ name: r.node.name, kind: opKind(r.node.op), outputShape: r.node.shape, params: r.params, depth: 1 }))];
  });
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
  const total = rows.reduce((a, r) => a + (r.depth === 0 ? r.params : 0), 0);
  const table: string[][] = [
    ['layer', 'kind', 'output shape', 'params'],
    ['input', '', formatShape(net.inputShape), ''],
    ...rows.map((r) => ['  '.repeat(r.depth) + r.name, r.kind, formatShape(r.outputShape), group(r.params)]),
    ['total', '', '', group(total)],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((row) => row[c].length)));
  return table
    .map((row) => [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[2].padEnd(widths[2]), row[3].padStart(widths[3])].join('  ').trimEnd())
    .join('\n');
};
