import { foldIn, key, normal, split, type Tensor } from '@foldnet/core';
import { bitwiseEqual } from '@foldnet/core/testing';
import { lossAndGrad, resnet, simpleConvNet, unwrap, type Network } from '@foldnet/layers';
import { describe, expect, it } from 'vitest';
import { initTrainState, optimizerFromName, optimizerNames, trainStep, type AnyOptimizer } from '../src/index.js';

/*
 * trainStep runs in a resultScope scope (core's fast/scope.ts): the step's activations and gradients are views of the fast
 * kernels' memory, and only the new state is copied out. The state must be the one the same step gives outside any
 * scope, for every optimizer, and none of it may still point into the kernels' memory: the tests run with scopes
 * poisoned (vitest's setup file), so anything left there would read NaN at the next step.
 */

const inMemory = (t: Tensor): boolean => t.data.buffer instanceof SharedArrayBuffer;

const nets: readonly [string, Network][] = [
  // batch norm, residual sums, a stride-2 stage with its shortcut
  ['resnet', unwrap(resnet({ blocks: [1, 1], width: 8, inputDim: [1, 12, 12] }))],
  // the lesson's fused convolution, ReLU and pool
  ['simple', unwrap(simpleConvNet({ inputDim: [1, 12, 12] }))],
];

const optimizerOf = (name: string): AnyOptimizer => {
  const r = optimizerFromName(name);
  if (r._tag === 'Left') throw r.left;
  return r.right;
};

describe('trainStep in its scope', () => {
  for (const [netName, net] of nets) {
    it(`gives ${netName}'s state bit for bit as the same step outside a scope, every optimizer, none of it left in the kernels' memory`, () => {
      const [kx, kinit] = split(key(3), 2);
      const x = normal(kx, [8, 1, 12, 12]);
      const targets = Int32Array.from({ length: 8 }, (_, i) => i % 10);
      for (const name of optimizerNames) {
        const opt = optimizerOf(name);
        const step = trainStep(net, opt);
        let scoped = initTrainState(net, opt, kinit);
        let [params, layerState, optState] = [scoped.params, scoped.layerState, scoped.opt];
        for (let i = 0; i < 3; i++) {
          const r = lossAndGrad(net, params, layerState, x, targets, { mode: 'train', key: foldIn(scoped.key, i) });
          const u = opt.update(r.grads, optState, params);
          [params, layerState, optState] = [u.params, r.state, u.state];
          scoped = step(scoped, { x, targets });
          expect(scoped.fault, name).toBeUndefined();
          expect(scoped.loss, name).toBe(r.loss);
          const pairs: [string, Tensor, Tensor][] = [
            ...Object.keys(params).map((k): [string, Tensor, Tensor] => [k, scoped.params[k], params[k]]),
            ...Object.keys(layerState).map((k): [string, Tensor, Tensor] => [`state ${k}`, scoped.layerState[k], layerState[k]]),
            ...Object.entries(opt.stateToTensors(optState).tensors).map(([k, t]): [string, Tensor, Tensor] => [`opt ${k}`, opt.stateToTensors(scoped.opt).tensors[k], t]),
          ];
          for (const [what, got, want] of pairs) {
            expect(inMemory(got), `${name} step ${i}: ${what}`).toBe(false);
            expect(bitwiseEqual(got, want), `${name} step ${i}: ${what}`).toBe(true);
          }
        }
      }
    });
  }
});
