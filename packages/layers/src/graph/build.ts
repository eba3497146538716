import { formatShape, opKind, outputShapeOf, type MergeOp, type Op, type Shape } from '@foldnet/core';
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { opRunOf } from '../layer.js';
import type { Layer, ShapeError } from '../types.js';

/*
 * A model as a directed acyclic graph of ops. Composite layers (sequential, residual, parallel, graph) are
 * expanded in place, so every node is one op: a layer of one input, or a merge (add, concat) of several.
 * Nodes are kept in a topological order (each node's inputs come before it), named by their path
 * (`res1.conv1`), which is also the prefix of their params (`res1.conv1.W`).
 */

/** The index that stands for the graph's input among a node's inputs. */
export const GRAPH_INPUT = -1;

/** One op of a graph. */
export interface GraphNode {
  /** The path of names from the network down (`conv1`, `res1.conv1`): the prefix of its params and state. */
  readonly name: string;
  /** What it computes. A user's own layer is `{ type: 'custom', kind }`. */
  readonly op: Op;
  /** The layer that runs it; undefined for a merge (add, concat), which the graph runs itself. */
  readonly layer: Layer | undefined;
  /** The nodes it reads, by index (GRAPH_INPUT for the graph's input); one for a layer, two or more for a merge. */
  readonly inputs: readonly number[];
  /** Where its PRNG key comes from: the key of a forward is folded with each index in turn. */
  readonly keyPath: readonly number[];
  /** Where its init key comes from: the key of init is split into `count` keys and the `index`th taken, level by level. */
  readonly initPath: readonly InitStep[];
  /** Its per-sample output shape. */
  readonly shape: Shape;
  /** The index of the top-level layer it belongs to (for errors and layer-by-layer views). */
  readonly top: number;
}

/** A checked graph: nodes in topological order and the one whose value is the output. */
export interface Graph {
  /** Per-sample input shape. */
  readonly inputShape: Shape;
  readonly nodes: readonly GraphNode[];
  /** The output node's index; GRAPH_INPUT for a graph without nodes (the identity). */
  readonly output: number;
}

/** One level of an init key's derivation: split the key into `count` and take the `index`th. */
export interface InitStep {
  readonly index: number;
  readonly count: number;
}

/** Where a layer is placed: its path, its key paths, and the top-level layer it belongs to. */
export interface Site {
  readonly path: string;
  readonly keyPath: readonly number[];
  readonly initPath: readonly InitStep[];
  readonly top: number;
}

/** Why a node refused its inputs. */
export interface GraphIssue {
  readonly path: string;
  readonly kind: string;
  readonly top: number;
  readonly inputShapes: readonly Shape[];
  readonly expected: string;
}

/** What composite layers add their nodes through. */
export interface GraphBuilder {
  /** The per-sample shape of a node's value (GRAPH_INPUT: the input). */
  shapeOf(node: number): Shape;
  /** Places `layer` at `site`, fed by node `input`: a composite adds its own nodes, any other layer one node. Returns the output node. */
  layer(layer: Layer, site: Site, input: number): Either<GraphIssue, number>;
  /** Adds a merge of `inputs` (two or more nodes) named `site.path`. */
  merge(op: MergeOp, site: Site, inputs: readonly number[]): Either<GraphIssue, number>;
}

/** A composite layer's nodes: placed at `site`, fed by node `input`; returns its output node. */
export interface LayerBody {
  expand(b: GraphBuilder, site: Site, input: number): Either<GraphIssue, number>;
}

/**
 * The op of a layer as the graph sees it: a built-in layer's own op, or `custom` for a user's layer (and
 * for any layer object not made by the built-in constructors, so a copy of `relu()` with another forward is
 * never mistaken for ReLU).
 */
export const opOf = (layer: Layer): Op =>
  layer.op !== undefined && opRunOf(layer) !== undefined ? layer.op : { type: 'custom', kind: layer.kind, outputShape: (s) => layer.outputShape(s) };

/**
 * The site of child `index` of `count` named `name`: path `path.name`, one more level of keys.
 *
 * @example child(site, 'conv1', 0, 5) // res1.conv1 when site.path is 'res1'
 */
export const child = (site: Site, name: string, index: number, count: number): Site => ({
  path: site.path ? `${site.path}.${name}` : name,
  keyPath: [...site.keyPath, index],
  initPath: [...site.initPath, { index, count }],
  top: site.top,
});

/** A sub-scope of a site (`res1.shortcut`) that is no layer of its own: the path grows, the keys do not. */
export const scopeOf = (site: Site, name: string): Site => ({ ...site, path: site.path ? `${site.path}.${name}` : name });

/** The root site of a composite layer's own graph: its nodes are named relative to it. */
export const ROOT: Site = Object.freeze({ path: '', keyPath: [], initPath: [], top: 0 });

/**
 * Builds a graph by running `place` with a builder fed by the graph input. Node names must be unique
 * (a merge named like a layer beside it is refused).
 */
export const buildGraph = (inputShape: Shape, place: (b: GraphBuilder, input: number) => Either<GraphIssue, number>): Either<GraphIssue, Graph> => {
  const nodes: GraphNode[] = [];
  const names = new Set<string>();
  const shapeOf = (i: number): Shape => (i === GRAPH_INPUT ? inputShape : nodes[i].shape);
  const push = (node: Omit<GraphNode, 'shape'>, inputShapes: readonly Shape[], shape: Either<{ expected: string }, Shape>): Either<GraphIssue, number> => {
    const issue = (expected: string): Either<GraphIssue, number> => left({ path: node.name, kind: opKind(node.op), top: node.top, inputShapes, expected });
    if (isLeft(shape)) return issue(shape.left.expected);
    if (names.has(node.name)) return issue(`a unique name, '${node.name}' is used twice`);
    names.add(node.name);
    nodes.push(Object.freeze({ ...node, shape: Object.freeze([...shape.right]) }));
    return right(nodes.length - 1);
  };
  const builder: GraphBuilder = {
    shapeOf,
    layer: (layer, site, input) => {
      if (layer.body !== undefined) return layer.body.expand(builder, site, input);
      const inShape = shapeOf(input);
      return push({ name: site.path, op: opOf(layer), layer, inputs: [input], keyPath: site.keyPath, initPath: site.initPath, top: site.top }, [inShape], layer.outputShape(inShape));
    },
    merge: (op, site, inputs) => {
      const inputShapes = inputs.map(shapeOf);
      return push({ name: site.path, op, layer: undefined, inputs, keyPath: site.keyPath, initPath: site.initPath, top: site.top }, inputShapes, outputShapeOf(op, inputShapes));
    },
  };
  const out = place(builder, GRAPH_INPUT);
  if (isLeft(out)) return out;
  return right(Object.freeze({ inputShape: Object.freeze([...inputShape]), nodes: Object.freeze(nodes), output: out.right }));
};

/** A GraphIssue as a network's ShapeError: `layer 2 (res1.conv2: conv2d): input [16,8,8], expected ...`. */
export const shapeErrorOf = (issue: GraphIssue): ShapeError => {
  const inputs = issue.inputShapes.length === 1 ? `input ${formatShape(issue.inputShapes[0])}` : `inputs ${issue.inputShapes.map(formatShape).join(' and ')}`;
  return {
    _tag: 'ShapeError',
    layerIndex: issue.top,
    layerName: issue.path,
    inputShape: issue.inputShapes[0] ?? [],
    expected: issue.expected,
    message: `layer ${issue.top} (${issue.path || issue.kind}: ${issue.kind}): ${inputs}, expected ${issue.expected}`,
  };
};

/** The per-sample shape of node `i`'s value in a graph; GRAPH_INPUT: the input's. @example shapeAt(net.graph, net.graph.output) // [10] */
export const shapeAt = (graph: Graph, i: number): Shape => (i === GRAPH_INPUT ? graph.inputShape : graph.nodes[i].shape);

/** For each node, the nodes that read it, in order. */
export const consumersOf = (graph: Graph): readonly (readonly number[])[] => {
  const out: number[][] = graph.nodes.map(() => []);
  graph.nodes.forEach((n, i) => {
    for (const j of n.inputs) if (j !== GRAPH_INPUT) out[j].push(i);
  });
  return out;
};
