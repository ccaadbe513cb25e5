/**
 * The Beta distribution, torch.distributions.Beta.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { digamma, lbeta, lgamma, xlogy } from '../math/special.js';
import { positive, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';

import { registerKL } from './kl.js';
import { Exponential } from './exponential.js';
import { Gamma, standardGamma } from './gamma.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { fillWhere, infiniteKL, xLogX, type TensorInput } from './util.js';

/**
 * Beta(concentration1, concentration0): density x^(a-1) (1-x)^(b-1) / B(a, b) on [0, 1], with
 * a = concentration1 and b = concentration0 (torch's names). `rsample` is X / (X + Y) for
 * reparameterised X ~ Gamma(a), Y ~ Gamma(b).
 */
export class Beta extends Distribution {
  /** a > 0 (the exponent of x), batch shape. */
  readonly concentration1: tf.Tensor;
  /** b > 0 (the exponent of 1 - x), batch shape. */
  readonly concentration0: tf.Tensor;

  constructor(concentration1: TensorInput, concentration0: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Beta', { concentration1, concentration0 });
    super(p.batchShape, [], options);
    this.concentration1 = p.values.concentration1;
    this.concentration0 = p.values.concentration0;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { concentration1: positive, concentration0: positive };
  }
  get support(): Constraint {
    return unitInterval;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Beta {
    return this.expandWith(batchShape, (b) => new Beta(b(this.concentration1), b(this.concentration0), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const shape = [...sampleShape, ...this.batchShape];
    const x = standardGamma(broadcastTo(this.concentration1, shape));
    const y = standardGamma(broadcastTo(this.concentration0, shape));
    return tf.div(x, tf.add(x, y));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    const a = this.concentration1;
    const b = this.concentration0;
    return tf.sub(tf.add(xlogy(tf.sub(a, 1), x), xlogy(tf.sub(b, 1), tf.sub(1, x))), lbeta(a, b));
  }
  protected override _entropy(): tf.Tensor {
    // log B(a, b) - (a - 1) psi(a) - (b - 1) psi(b) + (a + b - 2) psi(a + b)
    const a = this.concentration1;
    const b = this.concentration0;
    const ab = tf.add(a, b);
    return tf.add(tf.sub(tf.sub(lbeta(a, b), tf.mul(tf.sub(a, 1), digamma(a))), tf.mul(tf.sub(b, 1), digamma(b))), tf.mul(tf.sub(ab, 2), digamma(ab)));
  }
  protected override _mean(): tf.Tensor {
    return tf.div(this.concentration1, tf.add(this.concentration1, this.concentration0));
  }
  protected override _mode(): tf.Tensor {
    // The Dirichlet([a, b]) mode's first entry (torch): (a - 1)_+ / ((a - 1)_+ + (b - 1)_+),
    // and where a < 1 and b < 1 the vertex of the larger concentration.
    const a = this.concentration1;
    const b = this.concentration0;
    const ma = tf.relu(tf.sub(a, 1));
    const mode = tf.div(ma, tf.add(ma, tf.relu(tf.sub(b, 1))));
    const both = tf.logicalAnd(tf.less(a, 1), tf.less(b, 1));
    return tf.where(both, tf.cast(tf.greaterEqual(a, b), 'float32'), mode);
  }
  protected override _variance(): tf.Tensor {
    const a = this.concentration1;
    const b = this.concentration0;
    const ab = tf.add(a, b);
    return tf.div(tf.mul(a, b), tf.mul(tf.square(ab), tf.add(ab, 1)));
  }
}

// KL = log B(a2,b2) - log B(a1,b1) + (a1-a2) psi(a1) + (b1-b2) psi(b1) + (a2-a1+b2-b1) psi(a1+b1)
registerKL(Beta, Beta, (p, q) => {
  const [a1, b1, a2, b2] = [p.concentration1, p.concentration0, q.concentration1, q.concentration0];
  const s1 = tf.add(a1, b1);
  const t1 = tf.sub(lbeta(a2, b2), lbeta(a1, b1));
  const t2 = tf.add(tf.mul(tf.sub(a1, a2), digamma(a1)), tf.mul(tf.sub(b1, b2), digamma(b1)));
  const t3 = tf.mul(tf.sub(tf.add(a2, b2), s1), digamma(s1));
  return tf.add(tf.add(t1, t2), t3);
});

// ---- cross pairs with earlier families (... < Exponential < Gamma < Beta) ----

/** E_Beta[x] = a / (a + b). */
const betaMean = (p: Beta) => tf.div(p.concentration1, tf.add(p.concentration1, p.concentration0));

registerKL(Beta, Normal, (p, q) => {
  const e = betaMean(p);
  const varN = tf.square(q.scale);
  const t1 = tf.neg(p.entropy());
  const t2 = tf.mul(0.5, tf.log(tf.mul(varN, 2 * Math.PI)));
  const second = tf.add(tf.div(tf.mul(e, tf.sub(1, e)), tf.add(tf.add(p.concentration1, p.concentration0), 1)), tf.square(e));
  const t3 = tf.mul(second, 0.5);
  const t4 = tf.mul(q.loc, e);
  const t5 = tf.mul(tf.square(q.loc), 0.5);
  return tf.add(tf.add(t1, t2), tf.div(tf.add(tf.sub(t3, t4), t5), varN));
});
registerKL(Beta, Uniform, (p, q) => {
  const result = tf.add(tf.neg(p.entropy()), tf.log(tf.sub(q.high, q.low)));
  const outside = tf.logicalOr(tf.greater(q.low, 0), tf.less(q.high, 1));
  return fillWhere(outside, Infinity, result);
});
registerKL(Uniform, Beta, (p, q) => {
  const w = tf.sub(p.high, p.low);
  const t1 = tf.log(w);
  const t2 = tf.div(tf.mul(tf.sub(q.concentration1, 1), tf.sub(tf.sub(xLogX(p.high), xLogX(p.low)), w)), w);
  const t3 = tf.div(tf.mul(tf.sub(q.concentration0, 1), tf.add(tf.sub(xLogX(tf.sub(1, p.high)), xLogX(tf.sub(1, p.low))), w)), w);
  const t4 = lbeta(q.concentration1, q.concentration0);
  const result = tf.sub(tf.sub(tf.add(t3, t4), t1), t2);
  const outside = tf.logicalOr(tf.greater(p.high, 1), tf.less(p.low, 0));
  return fillWhere(outside, Infinity, result);
});
registerKL(Beta, Exponential, (p, q) => tf.add(tf.sub(tf.neg(p.entropy()), tf.log(q.rate)), tf.mul(q.rate, betaMean(p))));
registerKL(Beta, Gamma, (p, q) => {
  const t1 = tf.neg(p.entropy());
  const t2 = tf.sub(lgamma(q.concentration), tf.mul(q.concentration, tf.log(q.rate)));
  const t3 = tf.mul(tf.sub(q.concentration, 1), tf.sub(digamma(p.concentration1), digamma(tf.add(p.concentration1, p.concentration0))));
  const t4 = tf.mul(q.rate, betaMean(p));
  return tf.add(tf.sub(tf.add(t1, t2), t3), t4);
});
registerKL(Normal, Beta, infiniteKL);
registerKL(Laplace, Beta, infiniteKL);
registerKL(Exponential, Beta, infiniteKL);
registerKL(Gamma, Beta, infiniteKL);
