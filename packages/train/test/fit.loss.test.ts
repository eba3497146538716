import { describe, expect, test } from 'vitest';
import { fromNested, key, toArray } from '@foldnet/core';
import { affine, crossEntropy, lossAndGrad, meanSquaredError, network, relu, unwrap, type Loss } from '@foldnet/layers';
import { initTrainState, sgd, trainStep } from '@foldnet/train';

// affine 4 -> relu -> affine 3 on a batch of 3, float64: small enough that every figure is exact.
const net = unwrap(network([2], [affine({ units: 4, weightInit: 'he' }), relu(), affine({ units: 3, weightInit: 'he' })]));
const x = fromNested([[0.5, -1], [2, 0.25], [-0.75, 1.5]], 'float64');
const labels = Int32Array.of(0, 2, 1);
const s0 = initTrainState(net, sgd({ lr: 0.1 }), key(3), { dtype: 'float64' });

describe('trainStep takes a loss', () => {
  test.each<[string, Loss]>([['ce:smooth=0.1', crossEntropy({ smoothing: 0.1 })], ['mse', meanSquaredError()]])(
    '%s: the step records that loss and descends its gradient (p - 0.1 g)',
    (_text, loss) => {
      const s1 = trainStep(net, sgd({ lr: 0.1 }), { loss })(s0, { x, targets: labels });
      const r = lossAndGrad(net, s0.params, s0.layerState, x, labels, { mode: 'train', key: s0.key }, loss);
      expect(s1.loss).toBe(r.loss);
      const w = toArray(s0.params['affine2.W']);
      const g = toArray(r.grads['affine2.W']);
      expect(toArray(s1.params['affine2.W'])).toEqual(w.map((p, i) => p - 0.1 * g[i]));
    },
  );

  test('without a loss it is the lesson softmax cross-entropy, bit for bit; another loss moves the params elsewhere', () => {
    const plain = trainStep(net, sgd({ lr: 0.1 }))(s0, { x, targets: labels });
    const ce = trainStep(net, sgd({ lr: 0.1 }), { loss: crossEntropy() })(s0, { x, targets: labels });
    const mse = trainStep(net, sgd({ lr: 0.1 }), { loss: meanSquaredError() })(s0, { x, targets: labels });
    expect(toArray(ce.params['affine1.W'])).toEqual(toArray(plain.params['affine1.W']));
    expect(ce.loss).toBe(plain.loss);
    expect(mse.loss).not.toBe(plain.loss);
    expect(toArray(mse.params['affine2.W'])).not.toEqual(toArray(plain.params['affine2.W']));
  });
});
