import { left, right, type Either } from 'fp-ts/lib/Either.js';
import { renameLayer } from './layer.js';
import type { Layer } from './types.js';

/*
 * Layer names, lesson style (Conv1, Relu1, Pool1, Affine1): the kind's prefix and a counter per prefix.
 */

// Name prefixes by kind, as the lesson names its layers (Conv1, Relu1, Pool1, Affine1).
const PREFIX: Readonly<Record<string, string>> = {
  conv2d: 'conv',
  maxPool2d: 'pool',
  avgPool2d: 'pool',
  globalAvgPool2d: 'gap',
  batchNorm: 'bn',
  sequential: 'seq',
  residual: 'res',
  parallel: 'par',
};

/** The auto-name prefix of a kind: `conv2d` -> `conv`, `affine` -> `affine`. */
export const namePrefix = (kind: string): string => PREFIX[kind] ?? kind;

/** Why a list of layers cannot be named: the position of the offending layer and what was expected. */
export interface NameIssue {
  readonly index: number;
  readonly expected: string;
}

/**
 * Gives every unnamed layer a name: the kind's prefix and a counter per prefix (conv1, relu1, pool1, affine1,
 * relu2, affine2; conv1x1_1 for a kind ending in a digit), skipping names the user took (and `reserved`).
 * Names must be unique and free of '.'.
 *
 * @example nameLayers([conv2d({ filters: 2, size: 3 }), relu()]) // right([conv1, relu1])
 */
export const nameLayers = (layers: readonly Layer[], reserved: readonly string[] = []): Either<NameIssue, Layer[]> => {
  const taken = new Set<string>(reserved);
  for (const [i, l] of layers.entries()) {
    if (!l.name) continue;
    if (l.name.includes('.')) return left({ index: i, expected: `a layer name without '.', got '${l.name}'` });
    if (taken.has(l.name)) {
      return left({ index: i, expected: reserved.includes(l.name) ? `a name other than '${l.name}', which names a part of this block` : `a unique layer name, '${l.name}' is used twice` });
    }
    taken.add(l.name);
  }
  const counters = new Map<string, number>();
  return right(layers.map((l) => (l.name ? l : renameLayer(l, freshName(namePrefix(l.kind), taken, counters)))));
};

/**
 * The next free `<prefix><n>` (counting on from `counters`), which joins `taken`.
 *
 * @example freshName('add', new Set(['add1']), new Map()) // 'add2'
 */
export const freshName = (prefix: string, taken: Set<string>, perPrefix: Map<string, number>): string => {
  // a kind ending in a digit gets a separator, so `conv1x1` numbers as conv1x1_1, not conv1x11
  const stem = /\d$/.test(prefix) ? `${prefix}_` : prefix;
  let n = perPrefix.get(prefix) ?? 0;
  let name: string;
  do name = `${stem}${++n}`;
  while (taken.has(name));
  perPrefix.set(prefix, n);
  taken.add(name);
  return name;
};
