/**
 * The Pareto (type I) distribution, torch.distributions.Pareto.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lgamma } from '../math/special.js';
import { nextSeed } from '../random.js';
import { greaterThanEq, positive, type Constraint } from './constraints.js';
import { Beta } from './beta.js';
import { ContinuousBernoulli } from './continuous_bernoulli.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { Exponential } from './exponential.js';
import { Gamma } from './gamma.js';
import { Gumbel } from './gumbel.js';
import { registerKL, type DistributionClass } from './kl.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { fillWhere, infiniteKL, uniformOpen, xLogX, type TensorInput } from './util.js';

/**
 * Pareto(scale, alpha): density alpha scale^alpha / x^(alpha + 1) on x >= scale. The mean is
 * infinite for alpha <= 1 and the variance for alpha <= 2.
 */
export class Pareto extends Distribution {
  /** Scale (the minimum value) > 0, batch shape. */
  readonly scale: tf.Tensor;
  /** Tail index alpha > 0, batch shape. */
  readonly alpha: tf.Tensor;

  constructor(scale: TensorInput, alpha: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Pareto', { scale, alpha });
    super(p.batchShape, [], options);
    this.scale = p.values.scale;
    this.alpha = p.values.alpha;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { scale: positive, alpha: positive };
  }
  get support(): Constraint {
    return greaterThanEq(this.scale, 'scale');
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Pareto {
    return this.expandWith(batchShape, (b) => new Pareto(b(this.scale), b(this.alpha), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // scale exp(E / alpha) with E = -log(u) ~ Exponential(1).
    const e = tf.neg(tf.log(uniformOpen([...sampleShape, ...this.batchShape], nextSeed())));
    return tf.mul(this.scale, tf.exp(tf.div(e, this.alpha)));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log alpha + alpha log scale - (alpha + 1) log x; -inf below scale (validation off).
    const a = this.alpha;
    const lp = tf.sub(tf.add(tf.log(a), tf.mul(a, tf.log(this.scale))), tf.mul(tf.add(a, 1), tf.log(x)));
    return fillWhere(tf.less(x, this.scale), -Infinity, lp);
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // 1 - (scale / x)^alpha
    return tf.neg(tf.expm1(tf.mul(this.alpha, tf.log(tf.div(this.scale, x)))));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.mul(this.scale, tf.exp(tf.div(tf.neg(tf.log1p(tf.neg(p))), this.alpha)));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(tf.add(tf.log(tf.div(this.scale, this.alpha)), tf.reciprocal(this.alpha)), 1);
  }
  protected override _mean(): tf.Tensor {
    const a = this.alpha;
    return fillWhere(tf.lessEqual(a, 1), Infinity, tf.div(tf.mul(a, this.scale), tf.sub(a, 1)));
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.scale);
  }
  protected override _variance(): tf.Tensor {
    const a = this.alpha;
    const v = tf.div(tf.mul(tf.square(this.scale), a), tf.mul(tf.square(tf.sub(a, 1)), tf.sub(a, 2)));
    return fillWhere(tf.lessEqual(a, 2), Infinity, v);
  }
}

// KL = alpha2 log(s1 / s2) - log(alpha2 / alpha1) + alpha2 / alpha1 - 1, +inf where s1 < s2.
registerKL(Pareto, Pareto, (p, q) => {
  const alphaRatio = tf.div(q.alpha, p.alpha);
  const result = tf.sub(tf.add(tf.sub(tf.mul(q.alpha, tf.log(tf.div(p.scale, q.scale))), tf.log(alphaRatio)), alphaRatio), 1);
  return fillWhere(tf.less(p.scale, q.scale), Infinity, result);
});

// ---- cross pairs with earlier families ----

// E_p[log x] = log s + 1/alpha and E_p[x] = alpha s / (alpha - 1) (finite for alpha > 1).
registerKL(Pareto, Exponential, (p, q) => {
  const sr = tf.mul(p.scale, q.rate);
  const result = tf.sub(tf.add(tf.sub(tf.log(tf.div(p.alpha, sr)), tf.reciprocal(p.alpha)), tf.div(tf.mul(p.alpha, sr), tf.sub(p.alpha, 1))), 1);
  return fillWhere(tf.lessEqual(p.alpha, 1), Infinity, result);
});
registerKL(Pareto, Gamma, (p, q) => {
  const meanLog = tf.add(tf.log(p.scale), tf.reciprocal(p.alpha));
  const t1 = tf.sub(tf.log(p.alpha), meanLog);
  const t2 = tf.sub(lgamma(q.concentration), tf.mul(q.concentration, tf.log(q.rate)));
  const t3 = tf.mul(tf.sub(1, q.concentration), meanLog);
  const t4 = tf.div(tf.mul(tf.mul(q.rate, p.alpha), p.scale), tf.sub(p.alpha, 1));
  return fillWhere(tf.lessEqual(p.alpha, 1), Infinity, tf.sub(tf.add(tf.add(t1, t2), tf.add(t3, t4)), 1));
});
registerKL(Pareto, Normal, (p, q) => {
  // E_p[(x - m)^2] = Var + (E x - m)^2, finite for alpha > 2.
  const twoVar = tf.mul(2, tf.square(q.scale));
  const c = tf.div(p.scale, tf.sub(p.alpha, 1));
  const t1 = tf.log(tf.div(tf.mul(tf.mul(Math.sqrt(2 * Math.PI), q.scale), p.alpha), p.scale));
  const t3 = tf.div(tf.mul(p.alpha, tf.square(c)), tf.sub(p.alpha, 2));
  const t4 = tf.square(tf.sub(tf.mul(p.alpha, c), q.loc));
  const result = tf.sub(tf.add(tf.sub(t1, tf.reciprocal(p.alpha)), tf.div(tf.add(t3, t4), twoVar)), 1);
  return fillWhere(tf.lessEqual(p.alpha, 2), Infinity, result);
});
registerKL(Uniform, Pareto, (p, q) => {
  // -H(p) - E_p[log q] with E_p[log x] = (h log h - l log l) / (h - l) - 1.
  const w = tf.sub(p.high, p.low);
  const t1 = tf.log(tf.mul(tf.mul(q.alpha, tf.pow(q.scale, q.alpha)), w));
  const t2 = tf.div(tf.sub(tf.sub(xLogX(p.high), xLogX(p.low)), w), w);
  return fillWhere(tf.less(p.low, q.scale), Infinity, tf.sub(tf.mul(t2, tf.add(q.alpha, 1)), t1));
});
for (const P of [Beta, ContinuousBernoulli, Exponential, Gamma, Gumbel, Laplace, Normal] as DistributionClass[]) registerKL(P, Pareto, infiniteKL);
for (const Q of [Beta, ContinuousBernoulli, Uniform] as DistributionClass[]) registerKL(Pareto, Q, infiniteKL);
