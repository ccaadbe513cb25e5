/**
 * The Poisson distribution, torch.distributions.Poisson.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lgamma, lgammaNumber, xlogy } from '../math/special.js';
import { uniformSource } from '../random.js';
import { nonnegative, nonnegativeInteger, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Bernoulli } from './bernoulli.js';
import { infiniteKL, type TensorInput } from './util.js';

/**
 * One Poisson draw: multiplication of uniforms for small rates, Hormann's transformed rejection
 * (PTRS, 1993) for rate >= 10.
 */
function poissonNumber(lam: number, u: () => number): number {
  if (lam === 0) return 0;
  if (lam < 10) {
    const limit = Math.exp(-lam);
    let k = 0;
    let prod = u();
    while (prod > limit) {
      k++;
      prod *= u();
    }
    return k;
  }
  const slam = Math.sqrt(lam);
  const loglam = Math.log(lam);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = u() - 0.5;
    const V = u();
    const us = 0.5 - Math.abs(U);
    const k = Math.floor(((2 * a) / us + b) * U + lam + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (Math.log(V) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lam + k * loglam - lgammaNumber(k + 1)) {
      return k;
    }
  }
}

/**
 * Poisson(rate): P(k) = rate^k exp(-rate) / k! on k = 0, 1, 2, ... Samples are float32 counts.
 */
export class Poisson extends Distribution {
  /** Rate >= 0, batch shape. */
  readonly rate: tf.Tensor;

  constructor(rate: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Poisson', { rate });
    super(p.batchShape, [], options);
    this.rate = p.values.rate;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { rate: nonnegative };
  }
  get support(): Constraint {
    return nonnegativeInteger;
  }

  expand(batchShape: number[]): Poisson {
    return this.expandWith(batchShape, (b) => new Poisson(b(this.rate), this.options()));
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    const shape = [...sampleShape, ...this.batchShape];
    const rates = tf.broadcastTo(this.rate, shape).dataSync();
    const u = uniformSource();
    const out = new Float32Array(rates.length);
    for (let i = 0; i < rates.length; i++) out[i] = poissonNumber(rates[i]!, u);
    return tf.tensor(out, shape, 'float32');
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // k log(rate) - rate - lgamma(k + 1), with 0 log 0 = 0 for rate = 0.
    return tf.sub(tf.sub(xlogy(x, this.rate), this.rate), lgamma(tf.add(x, 1)));
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.rate);
  }
  protected override _mode(): tf.Tensor {
    return tf.floor(this.rate);
  }
  protected override _variance(): tf.Tensor {
    return tf.clone(this.rate);
  }
}

// KL = r1 (log r1 - log r2) - (r1 - r2)
registerKL(Poisson, Poisson, (p, q) =>
  tf.sub(tf.mul(p.rate, tf.sub(tf.log(p.rate), tf.log(q.rate))), tf.sub(p.rate, q.rate)),
);

// ---- cross pairs (Bernoulli < Poisson) ----

// KL(Bernoulli(p) || Poisson(r)) = -H(p) - (p log r - r): the Poisson also puts mass on 0 and 1.
registerKL(Bernoulli, Poisson, (p, q) =>
  tf.sub(tf.neg(p.entropy()), tf.sub(tf.mul(p.probs, tf.log(q.rate)), q.rate)),
);
// A Poisson puts mass on 2, 3, ..., where a Bernoulli has none.
registerKL(Poisson, Bernoulli, infiniteKL);
