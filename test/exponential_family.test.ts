/**
 * ExponentialFamily: a family of your own given by its natural parameters and log-normaliser gets
 * entropy and KL (Bregman divergences by automatic differentiation), checked against the closed
 * forms of the same families (Exponential and Normal).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkArgs, constraints, Exponential, ExponentialFamily, klDivergence, Normal, type Constraint } from '../src/index.js';
import { BACKENDS, expectClose, useBackend } from './helpers/backends.js';

/** Exponential(rate) as an exponential family: theta = -rate, A(theta) = -log(-theta), h = 1. */
class NaturalExponential extends ExponentialFamily {
  constructor(readonly rate: tf.Tensor) {
    super(rate.shape, []);
  }
  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    return constraints.positive;
  }
  expand(): NaturalExponential {
    throw new Error('unused');
  }
  get naturalParams(): tf.Tensor[] {
    return [tf.neg(this.rate)];
  }
  logNormalizer(theta: tf.Tensor): tf.Tensor {
    return tf.neg(tf.log(tf.neg(theta)));
  }
  get meanCarrierMeasure(): number {
    return 0;
  }
}

/** Normal(loc, scale): theta = (loc / s^2, -1 / (2 s^2)), A = -theta1^2 / (4 theta2) - log(-2 theta2) / 2, E[log h] = -log(2 pi) / 2. */
class NaturalNormal extends ExponentialFamily {
  constructor(
    readonly loc: tf.Tensor,
    readonly scale: tf.Tensor,
  ) {
    super(loc.shape, []);
  }
  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    return constraints.real;
  }
  expand(): NaturalNormal {
    throw new Error('unused');
  }
  get naturalParams(): tf.Tensor[] {
    const v = tf.square(this.scale);
    return [tf.div(this.loc, v), tf.div(-0.5, v)];
  }
  logNormalizer(t1: tf.Tensor, t2: tf.Tensor): tf.Tensor {
    return tf.sub(tf.div(tf.square(t1), tf.mul(-4, t2)), tf.mul(0.5, tf.log(tf.mul(-2, t2))));
  }
  get meanCarrierMeasure(): number {
    return -0.5 * Math.log(2 * Math.PI);
  }
}

describe.each(BACKENDS)('ExponentialFamily on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('entropy and KL from the log-normaliser match the closed forms (Exponential, Normal); different families are refused', async () => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const [r1, r2] = [tf.tensor1d([0.5, 2, 7]), tf.tensor1d([1.5, 0.3, 7])];
    const [p, q] = [new NaturalExponential(r1), new NaturalExponential(r2)];
    const [pe, qe] = [new Exponential(r1), new Exponential(r2)];
    const take = async (t: tf.Tensor) => {
      const v = Array.from(await t.data());
      t.dispose();
      return v;
    };
    expectClose(await take(p.entropy()), await take(pe.entropy()), { rtol: 1e-5, atol: 1e-6, label: 'Exponential entropy' });
    expectClose(await take(klDivergence(p, q)), await take(klDivergence(pe, qe)), { rtol: 1e-5, atol: 1e-6, label: 'Exponential KL' });
    const [l1, s1, l2, s2] = [tf.tensor1d([0, 1, -2]), tf.tensor1d([1, 0.5, 3]), tf.tensor1d([0.5, 1, 2]), tf.tensor1d([2, 0.5, 1])];
    const [pn, qn] = [new NaturalNormal(l1, s1), new NaturalNormal(l2, s2)];
    const [pr, qr] = [new Normal(l1, s1), new Normal(l2, s2)];
    expectClose(await take(pn.entropy()), await take(pr.entropy()), { rtol: 1e-5, atol: 1e-5, label: 'Normal entropy' });
    expectClose(await take(klDivergence(pn, qn)), await take(klDivergence(pr, qr)), { rtol: 1e-5, atol: 1e-5, label: 'Normal KL' });
    expect(() => klDivergence(p, pn)).toThrow(/between different exponential families has no Bregman form/);
    for (const d of [p, q, pe, qe, pn, qn, pr, qr]) d.dispose();
    tf.dispose([r1, r2, l1, s1, l2, s2]);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });
});
