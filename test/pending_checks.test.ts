/**
 * Argument checks without synchronous reads: host values are checked at construction, device
 * values on the device with the verdict read at the next awaited read (checkArgs, fit,
 * evaluation), with the same message; queued checks are freed and bounded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bernoulli, checkArgs, evaluateElbo, fit, Independent, Normal, pendingArgChecks, toyDataset, Uniform } from '../src/index.js';
import { MAX_PENDING, discardArgChecks } from '../src/distributions/pending_checks.js';
import { BACKENDS, expectNoLeak, useBackend } from './helpers/backends.js';

const SCALE_MESSAGE =
  /^Normal: argument 'scale' \(Tensor of shape \[3\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values -2\.$/;

for (const backend of BACKENDS) {
  describe(`argument checks on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterEach(() => discardArgChecks());

    it('host values are checked at construction, with the offending values', () => {
      expect(() => new Normal(0, [1, -2, 3])).toThrow(SCALE_MESSAGE);
      expect(() => new Uniform([0, 2], [1, 1])).toThrow(/Uniform: argument 'high' .*GreaterThan\(lower_bound=low\).* found invalid values 1\./);
      expect(pendingArgChecks()).toBe(0);
    });

    it('device values are checked on the device and throw the same message at checkArgs()', async () => {
      await expectNoLeak(async () => {
        const scale = tf.tensor1d([1, -2, 3]);
        const d = new Normal(0, scale); // no read here
        expect(pendingArgChecks()).toBe(1);
        await expect(checkArgs()).rejects.toThrow(SCALE_MESSAGE);
        expect(pendingArgChecks()).toBe(0);
        d.dispose();
        scale.dispose();
      });
    });

    it('valid device values pass, and every queued tensor is freed', async () => {
      await expectNoLeak(async () => {
        const loc = tf.tensor2d([
          [0, 1],
          [2, 3],
        ]);
        const scale = tf.tensor2d([
          [1, 2],
          [3, 4],
        ]);
        const d = new Independent(new Normal(loc, scale), 1);
        const value = tf.zeros([2, 2]);
        const lp = d.logProb(value);
        expect(pendingArgChecks()).toBe(4); // loc, scale, and the value (checked by Independent and by its base)
        await checkArgs();
        tf.dispose([lp, value, loc, scale]);
        d.dispose();
      });
    });

    it('a value outside the support is named with its entries, not whole events', async () => {
      const b = new Independent(new Bernoulli({ logits: tf.zeros([2, 3]) }), 1);
      const x = tf.tensor2d([
        [0, 1, 0.5],
        [1, 0.25, 0],
      ]);
      tf.dispose(b.logProb(x));
      await expect(checkArgs()).rejects.toThrow(
        /Independent\.logProb: argument 'value' \(Tensor of shape \[2, 3\]\) must be within the support IndependentConstraint\(Boolean\(\), 1\) of Independent \(values are 0 or 1; grey images need binarising first: binarize 'threshold', 'dynamic' or 'static' \(fit, the evaluation functions, ArrayDataset\.batches; --binarize in the dlvm command\), or a ContinuousBernoulli likelihood for grey levels\), but found invalid values 0\.5, 0\.25\.$/,
      );
      tf.dispose(x);
      b.dispose();
    });

    it(`more than ${MAX_PENDING} queued checks are folded into one verdict; tensors stay bounded`, async () => {
      const good = tf.ones([2]);
      const bad = tf.tensor1d([1, -1]);
      const before = tf.memory().numTensors;
      const made: Normal[] = [];
      for (let i = 0; i < MAX_PENDING + 50; i++) made.push(new Normal(0, i === MAX_PENDING + 10 ? bad : good));
      // Two tensors per kept check (verdicts and value), one for the folded verdict.
      expect(tf.memory().numTensors - before).toBe(2 * MAX_PENDING + 1 + 2 * made.length); // + each Normal's loc and its broadcast
      expect(pendingArgChecks()).toBe(MAX_PENDING + 50);
      await expect(checkArgs()).rejects.toThrow(
        /Normal: argument 'scale' \(Tensor of shape \[2\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values \(or one of the 49 checks queued after it did; their values were not kept/,
      );
      made.forEach((d) => d.dispose());
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([good, bad]);
    });

    it('an evaluation function reports a bad device parameter met on the way', async () => {
      const model = {
        encoder: { posterior: (x: tf.Tensor) => new Independent(new Normal(tf.zeros([x.shape[0]!, 2]), tf.fill([x.shape[0]!, 2], -1)), 1) },
        decoder: { likelihood: (z: tf.Tensor) => new Independent(new Normal(z, 1), 1) },
        prior: { distribution: () => new Independent(new Normal(tf.zeros([2]), 1), 1) },
      };
      const x = tf.zeros([4, 2]);
      await expect(evaluateElbo(model, x)).rejects.toThrow(
        /^Normal: argument 'scale' \(Tensor of shape \[4, 2\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values -1, -1, -1, -1, \.\.\.\.$/,
      );
      x.dispose();
    });

    it('fit stops at the step that met a bad device parameter, undoes its update and says so', async () => {
      const v = tf.variable(tf.tensor1d([1, 1]));
      const model = {
        encoder: null,
        decoder: null,
        prior: null,
        trainableVariables: [v],
        loss: () => {
          const d = new Normal(tf.zeros([2]), tf.sub(v, 2)); // scale -1: invalid
          const lp = tf.sum(d.logProb(tf.zeros([2])));
          return { loss: tf.neg(lp) as tf.Scalar, elbo: tf.reshape(lp, [1]), reconstruction: tf.reshape(tf.neg(lp), [1]), kl: tf.zeros([1]) };
        },
      };
      const data = toyDataset('square', { n: 20, seed: 0 });
      await expect(fit(model as never, data, { epochs: 1, batchSize: 10, progress: false, log: () => undefined, learningRate: 0.1 })).rejects.toThrow(
        /^Normal: argument 'scale' \(Tensor of shape \[2\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values -1, -1\. \(fit: stopped at step 0, epoch 1; the weights were restored from step 0\.\)$/,
      );
      expect(Array.from(await v.data())).toEqual([1, 1]);
      v.dispose();
    });
  });
}
