/**
 * The Gumbel (type-I extreme value) distribution, torch.distributions.Gumbel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { digamma, lgamma } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, real, type Constraint } from './constraints.js';
import { Beta } from './beta.js';
import { ContinuousBernoulli } from './continuous_bernoulli.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { Exponential } from './exponential.js';
import { Gamma } from './gamma.js';
import { registerKL, type DistributionClass } from './kl.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { EULER_GAMMA, infiniteKL, uniformTiny, type TensorInput } from './util.js';

/**
 * Gumbel(loc, scale): density exp(-(z + exp(-z))) / scale with z = (x - loc) / scale; the law of
 * the maximum of many light-tailed draws, and the noise of the Gumbel-max trick.
 */
export class Gumbel extends Distribution {
  /** Location (the mode), batch shape. */
  readonly loc: tf.Tensor;
  /** Scale > 0, batch shape; the variance is pi^2 scale^2 / 6. */
  readonly scale: tf.Tensor;

  constructor(loc: TensorInput, scale: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Gumbel', { loc, scale });
    super(p.batchShape, [], options);
    this.loc = p.values.loc;
    this.scale = p.values.scale;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: real, scale: positive };
  }
  get support(): Constraint {
    return real;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Gumbel {
    return this.expandWith(batchShape, (b) => new Gumbel(b(this.loc), b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // loc - scale log(-log u), u in [tiny, 1 - eps) as torch's.
    return this._icdf(uniformTiny([...sampleShape, ...this.batchShape], nextSeed()));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    const z = tf.div(tf.sub(x, this.loc), this.scale);
    return tf.neg(tf.add(tf.add(z, tf.exp(tf.neg(z))), tf.log(this.scale)));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return tf.exp(tf.neg(tf.exp(tf.neg(tf.div(tf.sub(x, this.loc), this.scale)))));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.sub(this.loc, tf.mul(this.scale, tf.log(tf.neg(tf.log(p)))));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(tf.log(this.scale), 1 + EULER_GAMMA);
  }
  protected override _mean(): tf.Tensor {
    return tf.add(this.loc, tf.mul(EULER_GAMMA, this.scale));
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul((Math.PI * Math.PI) / 6, tf.square(this.scale));
  }
}

// KL = log(s2/s1) + (m1 - m2)/s2 + gamma s1/s2 + exp((m2 - m1)/s2) Gamma(1 + s1/s2) - 1 - gamma
registerKL(Gumbel, Gumbel, (p, q) => {
  const ratio = tf.div(p.scale, q.scale);
  const shift = tf.div(tf.sub(p.loc, q.loc), q.scale);
  const t1 = tf.add(tf.sub(shift, tf.log(ratio)), tf.mul(EULER_GAMMA, ratio));
  const t2 = tf.exp(tf.sub(lgamma(tf.add(1, ratio)), shift));
  return tf.sub(tf.add(t1, t2), 1 + EULER_GAMMA);
});

// ---- cross pairs with earlier families ----

// KL(p || Gumbel(m, s)) = -H(p) + log s + E_p[z] + E_p[exp(-z)] with z = (x - m) / s.
registerKL(Exponential, Gumbel, (p, q) => {
  // E[exp(-x/s)] = r s / (r s + 1) for x ~ Exponential(r).
  const rs = tf.mul(p.rate, q.scale);
  const m = tf.div(q.loc, q.scale);
  const t1 = tf.sub(tf.log(rs), 1);
  const t2 = tf.div(tf.mul(tf.exp(m), rs), tf.add(rs, 1));
  return tf.add(tf.sub(t1, m), tf.add(t2, tf.reciprocal(rs)));
});
registerKL(Gamma, Gumbel, (p, q) => {
  // E[exp(-x/s)] = (1 + 1/(r s))^(-a) for x ~ Gamma(a, r).
  const a = p.concentration;
  const rs = tf.mul(p.rate, q.scale);
  const m = tf.div(q.loc, q.scale);
  const t1 = tf.sub(tf.sub(tf.mul(tf.sub(a, 1), digamma(a)), lgamma(a)), a);
  const t2 = tf.add(tf.log(rs), tf.div(a, rs));
  const t3 = tf.sub(tf.mul(tf.exp(m), tf.exp(tf.mul(tf.neg(a), tf.log1p(tf.reciprocal(rs))))), m);
  return tf.add(tf.add(t1, t2), t3);
});
registerKL(Normal, Gumbel, (p, q) => {
  // E[exp(-x/s)] = exp(-m/s + v/(2 s^2)) for x ~ Normal(m, v).
  const meanRatio = tf.div(p.loc, q.scale);
  const varRatio = tf.square(tf.div(p.scale, q.scale));
  const locRatio = tf.div(q.loc, q.scale);
  const t3 = tf.exp(tf.add(tf.sub(tf.mul(0.5, varRatio), meanRatio), locRatio));
  return tf.sub(tf.add(tf.sub(tf.sub(meanRatio, locRatio), tf.mul(0.5, tf.log(varRatio))), t3), 0.5 * (1 + Math.log(2 * Math.PI)));
});
registerKL(Uniform, Gumbel, (p, q) => {
  const c = tf.div(q.scale, tf.sub(p.high, p.low));
  const hi = tf.div(tf.sub(p.high, q.loc), q.scale);
  const lo = tf.div(tf.sub(p.low, q.loc), q.scale);
  const t1 = tf.add(tf.log(c), tf.mul(0.5, tf.add(hi, lo)));
  return tf.sub(t1, tf.mul(c, tf.sub(tf.exp(tf.neg(hi)), tf.exp(tf.neg(lo)))));
});
registerKL(Gumbel, Normal, (p, q) => {
  const ratio = tf.div(p.scale, q.scale);
  const t1 = tf.log(tf.div(ratio, Math.sqrt(2 * Math.PI)));
  const t2 = tf.div(tf.square(tf.mul(Math.PI / 2, ratio)), 3);
  const t3 = tf.mul(0.5, tf.square(tf.div(tf.sub(tf.add(p.loc, tf.mul(EULER_GAMMA, p.scale)), q.loc), q.scale)));
  return tf.sub(tf.add(tf.sub(t2, t1), t3), EULER_GAMMA + 1);
});
for (const Q of [Beta, ContinuousBernoulli, Exponential, Gamma, Uniform] as DistributionClass[]) registerKL(Gumbel, Q, infiniteKL);
