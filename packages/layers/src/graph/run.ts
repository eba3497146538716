import { add, backendNames, FoldnetError, foldIn, isMergeOp, kernels, sameShape, split, withBackend, type Kernels, type Key, type Tensor } from '@foldnet/core';
import type { ForwardResult, Gradients, InitOptions, Layer, LayerState, Params, RunOptions } from '../types.js';
import { opRunOf, type ExecContext } from '../layer.js';
import { consumersOf, GRAPH_INPUT, shapeAt, type Graph } from './build.js';
import { residualEndForward } from '../batchnorm.js';
import { foldedBatchNormAt, fusedRunAt, poolsBeforeRelu, reluAfterAdd, residualEndAt, type FoldedBatchNorm, type FusedRun, type ResidualEnd } from './fusion.js';
import { checkAddInputs, runMerge } from './merge.js';

/*
 * Running a graph: each node's forward in topological order, then the pullbacks in reverse, a value read by
 * several nodes receiving the sum of their gradients. Where nobody needs dL/dx (a network's default), nodes
 * with no params above them are not differentiated at all, and the first nodes with params skip their input
 * gradient.
 */

/** The execution decisions made once per graph: the fused chain starting at each node, and where pooling may run first. */
export interface Plan {
  readonly fused: readonly (FusedRun | undefined)[];
  /** For a ReLU node, the max pooling that alone reads it (see poolsBeforeRelu). */
  readonly poolFirst: readonly (number | undefined)[];
  /** For an add merge, the ReLU that alone reads it and runs in the sum's pass (see reluAfterAdd). */
  readonly addRelu: readonly (number | undefined)[];
  /** For a conv2d, the batch norm (and ReLU) folded into it in evaluation without gradients (see foldedBatchNormAt). */
  readonly folded: readonly (FoldedBatchNorm | undefined)[];
  /** For an add merge, the residual end it closes: its batch norm's pass adds the shortcut and applies ReLU (see residualEndAt). */
  readonly residualEnd: readonly (ResidualEnd | undefined)[];
}

/** The plan of a graph: its fusions, found by pattern once. @example planOf(net.graph).fused[0]?.length // 3 for the lesson's conv1 */
export const planOf = (graph: Graph): Plan => {
  const readers = consumersOf(graph);
  return {
    fused: graph.nodes.map((_, i) => fusedRunAt(graph, i, readers)),
    poolFirst: graph.nodes.map((_, i) => poolsBeforeRelu(graph, i, readers)),
    addRelu: graph.nodes.map((_, i) => reluAfterAdd(graph, i, readers)),
    folded: graph.nodes.map((_, i) => foldedBatchNormAt(graph, i, readers)),
    residualEnd: graph.nodes.map((_, i) => residualEndAt(graph, i, readers)),
  };
};

/** The entries of a record under `prefix.`, with the prefix removed: scope({ "conv1.W": w }, "conv1") = { W: w }. */
export const scope = (record: Readonly<Record<string, Tensor>>, prefix: string): Record<string, Tensor> => {
  const out: Record<string, Tensor> = {};
  const p = `${prefix}.`;
  for (const [k, v] of Object.entries(record)) if (k.startsWith(p)) out[k.slice(p.length)] = v;
  return out;
};

/**
 * scope(record, name) for each of `names` at once, in one pass over the record (a name's entries in the record's order):
 * each key is looked up at its dots, where scope looked at every key for every name (~1 ms a forward of resnet's 45
 * nodes, per batch of an evaluation).
 *
 * @example scopes({ "conv1.W": w, "res1.conv1.W": v }, new Set(["conv1", "res1.conv1"])).get("res1.conv1") // { W: v }
 */
export const scopes = (record: Readonly<Record<string, Tensor>>, names: ReadonlySet<string>): Map<string, Record<string, Tensor>> => {
  const out = new Map<string, Record<string, Tensor>>();
  for (const k of Object.keys(record)) {
    const v = record[k];
    for (const [name, rest] of splitsOf(k)) {
      if (!names.has(name)) continue;
      let group = out.get(name);
      if (group === undefined) out.set(name, (group = {}));
      group[rest] = v;
    }
  }
  return out;
};

// A key's splits at each of its dots ("res1.conv1.W": ["res1", "conv1.W"], ["res1.conv1", "W"]), made once: the same
// keys come back every step and every batch, and a part sliced anew is looked up among the property names each time
// it keys a record
const splits = new Map<string, readonly (readonly [string, string])[]>();

const splitsOf = (key: string): readonly (readonly [string, string])[] => {
  let known = splits.get(key);
  if (known === undefined) {
    const found: (readonly [string, string])[] = [];
    for (let dot = key.indexOf('.'); dot > 0; dot = key.indexOf('.', dot + 1)) found.push([key.slice(0, dot), key.slice(dot + 1)]);
    splits.set(key, (known = found));
  }
  return known;
};

// `prefix.name` for each prefix and name met, made once: a name built anew is hashed and looked up among the
// property names each time it keys a record (twice a training step for every node: its new state, its gradients)
const prefixedNames = new Map<string, Map<string, string>>();

const prefixedName = (prefix: string, name: string): string => {
  let names = prefixedNames.get(prefix);
  if (names === undefined) prefixedNames.set(prefix, (names = new Map()));
  let full = names.get(name);
  if (full === undefined) names.set(name, (full = `${prefix}.${name}`));
  return full;
};

/** Copies `record` into `into` with every name prefixed `prefix.`. */
export const prefixed = (record: Readonly<Record<string, Tensor>>, prefix: string, into: Record<string, Tensor>): void => {
  for (const k of Object.keys(record)) into[prefixedName(prefix, k)] = record[k];
};

const keyAt = (k: Key | undefined, path: readonly number[]): Key | undefined => (k === undefined ? undefined : path.reduce((a, i) => foldIn(a, i), k));

/**
 * What a node's op is told: the run's decisions, whether its dx is needed, and its key, folded from the run's key along
 * the node's path when a layer first reads it (dropout, a user's layer): most nodes never do, and folding every node's
 * key took ~1-2 µs a node of every step. The key is an own getter, so a layer that passes on `{ ...ctx, ... }` passes
 * the folded key too.
 */
const nodeContext = (ctx: Omit<ExecContext, 'needInputGrad'>, needInputGrad: boolean, keyPath: readonly number[]): ExecContext => {
  let key: Key | undefined;
  let folded = false;
  return {
    mode: ctx.mode,
    kernels: ctx.kernels,
    needGrad: ctx.needGrad,
    needInputGrad,
    get key(): Key | undefined {
      if (!folded) {
        key = keyAt(ctx.key, keyPath);
        folded = true;
      }
      return key;
    },
  };
};

// The names of a graph's layer nodes (what scopes looks params and state up by), made once per graph
const layerNames = new WeakMap<Graph, ReadonlySet<string>>();

const layerNamesOf = (graph: Graph): ReadonlySet<string> => {
  let names = layerNames.get(graph);
  if (names === undefined) layerNames.set(graph, (names = new Set(graph.nodes.flatMap((n) => (n.layer === undefined ? [] : [n.name])))));
  return names;
};

/**
 * One forward step: the node whose value it gives, the node it started at, whose grads it returns, what it read. A stage
 * that `takesPair` is handed its value's latest gradient apart (dyMore) from the sum of the others (dy) and adds it
 * itself, in a pass it makes anyway (a residual end's pullback: the next block reads its value twice, its body and its
 * shortcut), where the runner would add it in a pass of its own.
 */
interface Stage {
  readonly node: number;
  readonly first: number;
  readonly owner: string;
  readonly inputs: readonly number[];
  readonly pullback: (dy: Tensor, dyMore?: Tensor) => { readonly dxs: readonly (Tensor | undefined)[]; readonly grads: Params };
  readonly takesPair?: boolean;
}

const EMPTY: Readonly<Record<string, Tensor>> = Object.freeze({});

// A user's own layer runs with the run's kernel set as the current backend (core's ops then use it), when that set is registered.
const underBackend = <T>(k: Kernels, f: () => T): T => (backendNames().includes(k.name) && kernels(k.name) === k ? withBackend(k.name, f) : f());

/**
 * Runs one layer as a network's runner would: a built-in op told the options (default: dx and a pullback wanted),
 * any other layer with the options' kernel set as the current backend.
 *
 * @example runLayer(conv2d({ filters: 2, size: 3 }), params, {}, x, { mode: 'eval', needGrad: false, kernels: kernels('reference') })
 */
export const runLayer = (layer: Layer, params: Params, state: LayerState, x: Tensor, opts: RunOptions): ForwardResult =>
  runSettled(layer, params, state, x, { mode: opts.mode, key: opts.key, kernels: opts.kernels ?? kernels(), needInputGrad: opts.needInputGrad ?? true, needGrad: opts.needGrad ?? true });

// A built-in op gets every decision; any other layer only the mode and its key, under the run's kernel set.
const runSettled = (layer: Layer, params: Params, state: LayerState, x: Tensor, exec: ExecContext): ForwardResult => {
  const run = opRunOf(layer);
  return run !== undefined ? run(params, state, x, exec) : underBackend(exec.kernels, () => layer.forward(params, state, x, { mode: exec.mode, key: exec.key }));
};

// A one-input stage's pullback in the form the graph's backward reads: its input gradient as the only one.
const oneInput = (pullback: (dy: Tensor) => Gradients) => (dy: Tensor): { readonly dxs: readonly (Tensor | undefined)[]; readonly grads: Params } => {
  const g = pullback(dy);
  return { dxs: [g.dx], grads: g.grads };
};

// Two gradients of one value, summed by the run's kernels; operands that disagree go to core's add, which says how.
const sumOf = (k: Kernels, a: Tensor, b: Tensor): Tensor => (sameShape(a.shape, b.shape) && a.dtype === b.dtype ? k.add(a, b) : add(a, b));

/**
 * Runs a graph forward on a batch x [N, ...inputShape] and returns its output, the new state and the pullback.
 * `opts.needInputGrad` (default true) says whether the pullback must give dL/dx; built-in ops get the run's
 * decisions (kernels, what the pullback needs), a user's own layer only the mode and its key.
 */
export const runGraph = (graph: Graph, plan: Plan, params: Params, state: LayerState, x: Tensor, opts: RunOptions): ForwardResult => {
  const ctx = { mode: opts.mode, key: opts.key, kernels: opts.kernels ?? kernels(), needGrad: opts.needGrad ?? true };
  const needInputGrad = opts.needInputGrad ?? true;
  const { nodes } = graph;
  const names = layerNamesOf(graph);
  const [paramsOf, stateOf] = [scopes(params, names), scopes(state, names)];
  const scoped = nodes.map((n) => (n.layer === undefined ? { params: EMPTY, state: EMPTY } : { params: paramsOf.get(n.name) ?? {}, state: stateOf.get(n.name) ?? {} }));
  // needDx[i]: the gradient of node i's input is needed (the graph input's is, or an input node is differentiated);
  // differentiated[i]: node i's pullback runs (it has params, or a needed gradient passes through it)
  const needDx: boolean[] = [];
  const differentiated: boolean[] = [];
  nodes.forEach((n, i) => {
    needDx[i] = n.inputs.some((j) => (j === GRAPH_INPUT ? needInputGrad : differentiated[j]));
    differentiated[i] = needDx[i] || Object.keys(scoped[i].params).length > 0;
  });
  const values: Tensor[] = [];
  const valueOf = (j: number): Tensor => (j === GRAPH_INPUT ? x : values[j]);
  const done: boolean[] = [];
  const stages: Stage[] = [];
  const newState: Record<string, Tensor> = {};
  const sub = (i: number): ExecContext => nodeContext(ctx, needDx[i], nodes[i].keyPath);
  const runNode = (i: number, input: Tensor): Tensor => {
    const n = nodes[i];
    const layer = n.layer;
    if (layer === undefined || isMergeOp(n.op)) throw new FoldnetError('value', `${n.name}: a merge has no single input`);
    const r = runSettled(layer, scoped[i].params, scoped[i].state, input, sub(i));
    prefixed(r.state, n.name, newState);
    stages.push({ node: i, first: i, owner: n.name, inputs: n.inputs, pullback: oneInput(r.pullback) });
    return r.y;
  };
  // the backend decides: a set with fused kernels runs the plan's fused chains, the reference one op at a time
  const fuse = opts.fuse !== false && ctx.kernels.fused !== undefined;
  const foldsBatchNorm = fuse && !ctx.needGrad && ctx.mode === 'eval';
  // A residual end runs at its add, where the shortcut is ready: its batch norm (and the convolution folded with it)
  // wait there. waitsFor[j]: the end node j waits for; bnGrads[j]: a waiting batch norm's gradients, which the end's
  // pullback works out with the sum's (one kernel) before the batch norm's stage comes.
  const waitsFor: (ResidualEnd | undefined)[] = [];
  const bnGrads: Gradients[] = [];
  const foldsEnd = (e: ResidualEnd): e is ResidualEnd & { readonly folded: FoldedBatchNorm } => foldsBatchNorm && e.folded !== undefined;
  if (fuse) {
    for (const e of plan.residualEnd) {
      if (e === undefined) continue;
      waitsFor[e.bn] = e;
      if (foldsEnd(e)) waitsFor[e.folded.nodes[0]] = e;
    }
  }
  for (let i = 0; i < nodes.length; i++) {
    if (done[i]) continue;
    const n = nodes[i];
    const fused = fuse ? plan.fused[i] : undefined;
    const poolFirst = fuse ? plan.poolFirst[i] : undefined;
    const folded = foldsBatchNorm ? plan.folded[i] : undefined;
    const waiting = waitsFor[i];
    const end = fuse ? plan.residualEnd[i] : undefined;
    if (waiting !== undefined) {
      // in its place: the batch norm's state key (its value set when it runs) and, unfolded, its stage, which gives its
      // gradients where the unfused order does (its dy, the sum's gradient it was worked out from, is its one reader's)
      if (i === waiting.bn) {
        prefixed(scoped[i].state, n.name, newState);
        if (!foldsEnd(waiting)) stages.push({ node: i, first: i, owner: n.name, inputs: n.inputs, pullback: oneInput(() => bnGrads[i]) });
      }
    } else if (end !== undefined) {
      const shortcut = valueOf(n.inputs[1]);
      const bn = nodes[end.bn];
      if (foldsEnd(end)) {
        const conv = end.folded.nodes[0];
        values[end.relu] = end.folded.forward(scoped[conv].params, scoped[end.bn].params, scoped[end.bn].state, valueOf(nodes[conv].inputs[0]), sub(conv), shortcut);
      } else {
        const x = valueOf(bn.inputs[0]);
        checkAddInputs(n.name, [x, shortcut]);
        const r = residualEndForward(bn.name, end.bnOp, scoped[end.bn].params, scoped[end.bn].state, x, shortcut, sub(end.bn));
        prefixed(r.state, bn.name, newState);
        values[end.relu] = r.y;
        const pullback = (dy: Tensor, dyMore?: Tensor) => {
          const g = r.pullback(dy, dyMore);
          bnGrads[end.bn] = g.bn;
          return { dxs: n.inputs.map(() => g.dsum), grads: EMPTY };
        };
        stages.push({ node: end.relu, first: i, owner: n.name, inputs: n.inputs, pullback, takesPair: r.takesPair });
      }
      done[end.relu] = true;
    } else if (isMergeOp(n.op)) {
      // a fused ReLU after an add gives the value of its own node
      const relu = fuse ? plan.addRelu[i] : undefined;
      const r = runMerge(n.op, n.name, n.inputs.map(valueOf), ctx.kernels, relu !== undefined);
      const node = relu ?? i;
      values[node] = r.y;
      done[node] = true;
      stages.push({ node, first: i, owner: n.name, inputs: n.inputs, pullback: (dy) => ({ dxs: r.pullback(dy), grads: EMPTY }) });
    } else if (folded !== undefined) {
      // evaluation without gradients: the batch norm folded into the convolution; its state passes through unchanged
      const bn = folded.nodes[1];
      values[folded.nodes[folded.nodes.length - 1]] = folded.forward(scoped[i].params, scoped[bn].params, scoped[bn].state, valueOf(n.inputs[0]), sub(i));
      prefixed(scoped[bn].state, nodes[bn].name, newState);
      for (const j of folded.nodes) done[j] = true;
    } else if (fused !== undefined) {
      const r = fused.forward(scoped[i].params, valueOf(n.inputs[0]), sub(i), scoped[i].state);
      if (r.state !== undefined) prefixed(r.state, n.name, newState);
      const last = fused.nodes[fused.nodes.length - 1];
      values[last] = r.y;
      for (const j of fused.nodes) done[j] = true;
      stages.push({ node: last, first: i, owner: n.name, inputs: n.inputs, pullback: oneInput(r.pullback) });
    } else if (!ctx.needGrad && poolFirst !== undefined) {
      // nobody differentiates this forward: pool the ReLU's input, then ReLU (see poolsBeforeRelu)
      values[poolFirst] = runNode(i, runNode(poolFirst, valueOf(n.inputs[0])));
      done[poolFirst] = true;
    } else {
      values[i] = runNode(i, valueOf(n.inputs[0]));
    }
  }
  const pullback = (dy: Tensor): Gradients => {
    if (!ctx.needGrad) throw new FoldnetError('value', 'backward: pullback called on a forward run with needGrad false');
    const grads: Record<string, Tensor> = {};
    const dys: (Tensor | undefined)[] = [];
    // a node's latest gradient, kept apart for the stage that takes pairs (takesPair) when it agrees with the sum in shape and dtype
    const more: (Tensor | undefined)[] = [];
    const takesPair: boolean[] = [];
    for (const st of stages) if (st.takesPair === true) takesPair[st.node] = true;
    const from: string[] = []; // who gave each node's gradient, for errors
    let dInput: Tensor | undefined = graph.output === GRAPH_INPUT ? dy : undefined;
    if (graph.output !== GRAPH_INPUT) dys[graph.output] = dy;
    for (let s = stages.length - 1; s >= 0; s--) {
      const st = stages[s];
      if (!differentiated[st.first]) continue;
      const d = dys[st.node];
      if (d === undefined) throw new FoldnetError('value', `backward: layer ${from[st.node] ?? st.owner} gave no input gradient`);
      const dMore = more[st.node];
      const g = dMore === undefined ? st.pullback(d) : st.pullback(d, dMore);
      prefixed(g.grads, st.owner, grads);
      st.inputs.forEach((j, k) => {
        const dx = g.dxs[k];
        if (dx === undefined) return;
        if (j === GRAPH_INPUT) dInput = dInput === undefined ? dx : sumOf(ctx.kernels, dInput, dx);
        else {
          const [prev, second] = [dys[j], more[j]];
          // the gradients so far summed in the order they came ((a + b) + c ...), the last one kept apart for a stage that
          // takes pairs: it adds it in that same order
          const sofar = prev === undefined || second === undefined ? prev : sumOf(ctx.kernels, prev, second);
          const apart = sofar !== undefined && takesPair[j] === true && sameShape(sofar.shape, dx.shape) && sofar.dtype === dx.dtype;
          dys[j] = sofar === undefined ? dx : apart ? sofar : sumOf(ctx.kernels, sofar, dx);
          more[j] = apart ? dx : undefined;
        }
      });
      for (const j of st.inputs) if (j !== GRAPH_INPUT) from[j] = st.owner;
    }
    return { dx: needInputGrad ? dInput : undefined, grads: Object.freeze(grads) };
  };
  return { y: valueOf(graph.output), state: Object.freeze(newState), pullback };
};

/**
 * Fresh params and state for every layer node of a graph, named `<node>.<param>`. Each node's key is split
 * from `k` level by level along its init path (as nested layers split their key among their children), so a
 * layer gets the same key whether its network was built flat or from nested blocks of the same structure.
 *
 * @example initGraph(net.graph, key(0)) // { params: { 'conv1.W': ..., 'conv1.b': ... }, state: {} }
 */
export const initGraph = (graph: Graph, k: Key, opts: InitOptions = {}): { readonly params: Params; readonly state: LayerState } => {
  const params: Record<string, Tensor> = {};
  const state: Record<string, Tensor> = {};
  for (const n of graph.nodes) {
    if (n.layer === undefined) continue;
    const nodeKey = n.initPath.reduce((a, s) => split(a, Math.max(s.count, 1))[s.index], k);
    const r = n.layer.init(nodeKey, shapeAt(graph, n.inputs[0] ?? GRAPH_INPUT), opts);
    prefixed(r.params, n.name, params);
    prefixed(r.state, n.name, state);
  }
  return { params: Object.freeze(params), state: Object.freeze(state) };
};
