import { FoldnetError, type MergeOp, type Shape } from '@foldnet/core';
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { buildGraph, child, GRAPH_INPUT, ROOT, scopeOf, shapeAt, shapeErrorOf, type Graph, type GraphBuilder, type GraphIssue, type LayerBody, type Site } from './graph/build.js';
import { initGraph, planOf, runGraph, type Plan } from './graph/run.js';
import { defineLayer, nameField } from './layer.js';
import { freshName, nameLayers } from './naming.js';
import type { Layer, LayerSpecJson } from './types.js';

/*
 * Combinators: layers made of layers. Each is itself a layer (it can be checked, nested and saved like any
 * other) whose body places its children into the graph of the network that holds it, so a network runs,
 * fuses and differentiates through them as if written flat. Children are named as in a network (conv1,
 * relu1, ...) inside their combinator, and their params carry its name: `res1.conv1.W`.
 */

/** Places `layers` in a chain from node `input`; child i of the chain is child `offset + i` of `count`. */
const chain = (b: GraphBuilder, site: Site, layers: readonly Layer[], input: number, offset = 0, count = layers.length): Either<GraphIssue, number> => {
  let at = input;
  for (const [i, l] of layers.entries()) {
    const r = b.layer(l, child(site, l.name, offset + i, count), at);
    if (isLeft(r)) return r;
    at = r.right;
  }
  return right(at);
};

/**
 * A layer from a body: its shape, init and forward are those of the graph the body builds on its own
 * (built once per input shape), so a combinator used alone behaves as it does inside a network.
 */
const composite = (kind: string, name: string, spec: LayerSpecJson, body: LayerBody): Layer => {
  const graphs = new Map<string, Either<GraphIssue, { readonly graph: Graph; readonly plan: Plan }>>();
  const own = (inShape: Shape) => {
    const id = inShape.join(',');
    let g = graphs.get(id);
    if (g === undefined) {
      const built = buildGraph(inShape, (b, input) => body.expand(b, ROOT, input));
      g = isLeft(built) ? built : right({ graph: built.right, plan: planOf(built.right) });
      graphs.set(id, g);
    }
    return g;
  };
  const label = name || kind;
  const checked = (inShape: Shape) => {
    const g = own(inShape);
    if (isLeft(g)) throw new FoldnetError('shape', `${label}: ${shapeErrorOf(g.left).message}`);
    return g.right;
  };
  return {
    name,
    kind,
    spec,
    body,
    outputShape: (inShape) => {
      const g = own(inShape);
      if (isLeft(g)) return left({ expected: `a shape every inner layer accepts (${shapeErrorOf(g.left).message})` });
      const { graph } = g.right;
      return right(shapeAt(graph, graph.output));
    },
    init: (k, inShape, opts = {}) => initGraph(checked(inShape).graph, k, opts),
    forward: (params, state, x, ctx) => {
      const { graph, plan } = checked(x.shape.slice(1));
      return runGraph(graph, plan, params, state, x, ctx);
    },
  };
};

const named = (what: string, layers: readonly Layer[], reserved: readonly string[] = []): Layer[] => {
  const r = nameLayers(layers, reserved);
  if (isLeft(r)) throw new FoldnetError('value', `${what}: layer ${r.left.index}: expected ${r.left.expected}`);
  return r.right;
};

/**
 * Several layers as one layer (kind 'sequential'): shapes are inferred through them, params are
 * named `<inner>.<param>` inside it (so `seq1.conv1.W` in a network). Unnamed inner layers are
 * named as in a network.
 *
 * @example
 * const block = sequential(conv2d({ filters: 16, size: 3, pad: 1 }), relu());
 * network([1, 28, 28], [block, maxPool2d({ size: 2 }), affine(10)]);
 */
export const sequential = (...layers: Layer[]): Layer => {
  const ls = named('sequential', layers);
  return defineLayer('', (name) =>
    composite('sequential', name, { type: 'sequential', ...nameField(name), layers: ls.map((l) => l.spec) }, {
      expand: (b, site, input) => chain(b, site, ls, input),
    }),
  );
};

/** Options of `residual`. */
export interface ResidualOptions {
  /** The shortcut's layers (a projection where the block changes the shape: a 1x1 convolution with the block's stride, batch norm); default the identity. */
  readonly shortcut?: readonly Layer[];
  readonly name?: string;
}

/**
 * A residual block (He et al. 2015): y = block(x) + shortcut(x), the shortcut the identity unless given.
 * The block's layers are named inside it (`res1.conv1`), the shortcut's under `shortcut` (`res1.shortcut.conv1`),
 * the sum is the node `res1.add`. The gradient of x is the sum of both paths'.
 *
 * @example
 * residual([conv2d({ filters: 16, size: 3, pad: 1 }), batchNorm(), relu(), conv2d({ filters: 16, size: 3, pad: 1 }), batchNorm()]);
 * residual([conv2d({ filters: 32, size: 3, stride: 2, pad: 1 }), batchNorm()], { shortcut: [conv2d({ filters: 32, size: 1, stride: 2 }), batchNorm()] });
 */
export const residual = (block: readonly Layer[], opts: ResidualOptions = {}): Layer => {
  const inner = named('residual', block, ['shortcut', 'add']);
  const short = named('residual shortcut', opts.shortcut ?? []);
  const count = inner.length + short.length;
  return defineLayer(opts.name ?? '', (name) =>
    composite(
      'residual',
      name,
      { type: 'residual', ...nameField(name), block: inner.map((l) => l.spec), ...(short.length ? { shortcut: short.map((l) => l.spec) } : {}) },
      {
        expand: (b, site, input) => {
          const main = chain(b, site, inner, input, 0, count);
          if (isLeft(main)) return main;
          const side = chain(b, scopeOf(site, 'shortcut'), short, input, inner.length, count);
          if (isLeft(side)) return side;
          return b.merge({ type: 'add' }, scopeOf(site, 'add'), [main.right, side.right]);
        },
      },
    ),
  );
};

/** Options of `parallel`. */
export interface ParallelOptions {
  /** How the branches' outputs are combined: summed ('add', one shape) or stacked along channels ('concat'). */
  readonly merge: MergeOp['type'];
  readonly name?: string;
}

/**
 * Branches that read the same input, merged (Inception): each branch is a list of layers, named inside
 * `branch1`, `branch2`, ... (`par1.branch2.conv1.W`); the merge is the node `par1.add` or `par1.concat`.
 *
 * @example
 * parallel([[conv2d({ filters: 8, size: 1 })], [conv2d({ filters: 8, size: 3, pad: 1 })]], { merge: 'concat' }); // [C,H,W] -> [16,H,W]
 */
export const parallel = (branches: readonly (readonly Layer[])[], opts: ParallelOptions): Layer => {
  if (branches.length < 2) throw new FoldnetError('value', `parallel: expected two or more branches, got ${branches.length}`);
  if (opts.merge !== 'add' && opts.merge !== 'concat') throw new FoldnetError('value', `parallel: merge must be 'add' or 'concat', got ${String(opts.merge)}`);
  const bs = branches.map((br, i) => named(`parallel branch ${i + 1}`, br));
  const merge = opts.merge;
  return defineLayer(opts.name ?? '', (name) =>
    composite('parallel', name, { type: 'parallel', ...nameField(name), branches: bs.map((br) => br.map((l) => l.spec)), merge }, {
      expand: (b, site, input) => {
        const outs: number[] = [];
        for (const [i, br] of bs.entries()) {
          const r = chain(b, child(site, `branch${i + 1}`, i, bs.length), br, input);
          if (isLeft(r)) return r;
          outs.push(r.right);
        }
        return b.merge({ type: merge }, scopeOf(site, merge), outs);
      },
    }),
  );
};

/** A value inside a `graph` definition: the graph's input or a node's output. */
export interface GraphValue {
  /** The value after `layer`: `x.then(conv2d(...)).then(relu())`. */
  then(layer: Layer): GraphValue;
}

/** What a `graph` definition merges values with. */
export interface GraphOps {
  /** The element-wise sum of values of one shape. */
  add(...values: GraphValue[]): GraphValue;
  /** Values stacked along channels (they differ only in their first per-sample axis). */
  concat(...values: GraphValue[]): GraphValue;
}

/** One recorded node of a graph definition. */
export type GraphEntry =
  | { readonly kind: 'layer'; readonly layer: Layer; readonly input: number }
  | { readonly kind: 'merge'; readonly op: MergeOp; readonly name: string; readonly inputs: readonly number[] };

/** A graph definition's nodes as recorded (inputs by entry index, GRAPH_INPUT for the input), layers named, and its output. */
export interface GraphDefinition {
  readonly entries: readonly GraphEntry[];
  readonly output: number;
}

/** The name of an entry, or 'input'. */
const entryName = (d: GraphDefinition, i: number): string => {
  if (i === GRAPH_INPUT) return 'input';
  const e = d.entries[i];
  return e.kind === 'layer' ? e.layer.name : e.name;
};

/**
 * A layer from named nodes and their inputs: what combinators cannot say, such as an early feature map
 * concatenated with a later one (U-Net) or a value read by three nodes. Single input, single output.
 * Nodes are named as in a network (`conv1`, `add1`); a node nobody reads on the way to the output is refused.
 *
 * @example
 * graph((x, g) => {
 *   const a = x.then(conv2d({ filters: 8, size: 3, pad: 1 })).then(relu());
 *   const b = a.then(conv2d({ filters: 8, size: 3, pad: 1 }));
 *   return g.concat(g.add(a, b), x).then(globalAvgPool2d());
 * });
 */
export const graph = (define: (input: GraphValue, ops: GraphOps) => GraphValue, opts: { readonly name?: string } = {}): Layer => {
  const raw: GraphEntry[] = [];
  const ids = new WeakMap<GraphValue, number>();
  const value = (id: number): GraphValue => {
    const v: GraphValue = { then: (layer) => value(raw.push({ kind: 'layer', layer, input: id }) - 1) };
    ids.set(v, id);
    return v;
  };
  const idOf = (v: GraphValue): number => {
    const id = ids.get(v);
    if (id === undefined) throw new FoldnetError('value', 'graph: a value from another graph definition was used');
    return id;
  };
  const merge = (type: MergeOp['type']) => (...vs: GraphValue[]): GraphValue => {
    if (vs.length < 2) throw new FoldnetError('value', `graph: ${type} needs two or more values, got ${vs.length}`);
    return value(raw.push({ kind: 'merge', op: { type }, name: '', inputs: vs.map(idOf) }) - 1);
  };
  const output = idOf(define(value(GRAPH_INPUT), { add: merge('add'), concat: merge('concat') }));
  return graphOf({ entries: raw, output }, opts.name ?? '');
};

/**
 * A graph layer from recorded entries (what `graph` records and a model spec's `graph` decodes to): names
 * the unnamed nodes, refuses nodes that do not reach the output.
 */
export const graphOf = (definition: GraphDefinition, name = ''): Layer => {
  const { output } = definition;
  const layers = named('graph', definition.entries.flatMap((e) => (e.kind === 'layer' ? [e.layer] : [])), definition.entries.flatMap((e) => (e.kind === 'merge' && e.name ? [e.name] : [])));
  const taken = new Set<string>(layers.map((l) => l.name));
  const counters = new Map<string, number>();
  let next = 0;
  const entries: GraphEntry[] = definition.entries.map((e) => {
    if (e.kind === 'layer') return { ...e, layer: layers[next++] };
    if (e.name && e.name !== '') return e;
    return { ...e, name: freshName(e.op.type, taken, counters) };
  });
  const d: GraphDefinition = { entries, output };
  // every node must be read on the way to the output
  const used = new Set<number>([output]);
  for (let i = entries.length - 1; i >= 0; i--) {
    if (!used.has(i)) continue;
    const e = entries[i];
    for (const j of e.kind === 'layer' ? [e.input] : e.inputs) used.add(j);
  }
  const dead = entries.findIndex((_, i) => !used.has(i));
  if (dead >= 0) throw new FoldnetError('value', `graph: node ${entryName(d, dead)} does not lead to the output ${entryName(d, output)}`);
  const layerCount = layers.length;
  const spec: LayerSpecJson = {
    type: 'graph',
    ...nameField(name),
    nodes: entries.map((e) =>
      e.kind === 'layer' ? { ...e.layer.spec, inputs: [entryName(d, e.input)] } : { type: e.op.type, name: e.name, inputs: e.inputs.map((j) => entryName(d, j)) },
    ),
    output: entryName(d, output),
  };
  return defineLayer(name, (own) =>
    composite('graph', own, { ...spec, ...nameField(own) }, {
      expand: (b, site, input) => {
        const at: number[] = [];
        const nodeOf = (j: number): number => (j === GRAPH_INPUT ? input : at[j]);
        let li = 0;
        for (const e of entries) {
          const r = e.kind === 'layer' ? b.layer(e.layer, child(site, e.layer.name, li++, layerCount), nodeOf(e.input)) : b.merge(e.op, scopeOf(site, e.name), e.inputs.map(nodeOf));
          if (isLeft(r)) return r;
          at.push(r.right);
        }
        return right(nodeOf(output));
      },
    }),
  );
};
