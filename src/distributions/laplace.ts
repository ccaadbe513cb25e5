/**
 * The Laplace distribution, torch.distributions.Laplace.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Normal } from './normal.js';
import { EPS, type TensorInput } from './util.js';

/**
 * Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale).
 */
export class Laplace extends Distribution {
  /** Location (mean, median, mode), batch shape. */
  readonly loc: tf.Tensor;
  /** Scale b > 0, batch shape; the variance is 2 b^2. */
  readonly scale: tf.Tensor;

  constructor(loc: TensorInput, scale: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Laplace', { loc, scale });
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

  expand(batchShape: number[]): Laplace {
    return this.expandWith(batchShape, (b) => new Laplace(b(this.loc), b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // Inverse CDF of u in (-1, 1): loc - scale sign(u) log(1 - |u|).
    const u = tf.randomUniform([...sampleShape, ...this.batchShape], EPS - 1, 1, 'float32', nextSeed());
    return tf.sub(this.loc, tf.mul(this.scale, tf.mul(tf.sign(u), tf.log1p(tf.neg(tf.abs(u))))));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return tf.sub(tf.neg(tf.log(tf.mul(2, this.scale))), tf.div(tf.abs(tf.sub(x, this.loc)), this.scale));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // 1/2 - sign(x - loc) expm1(-|x - loc| / scale) / 2
    const d = tf.sub(x, this.loc);
    return tf.sub(0.5, tf.mul(0.5, tf.mul(tf.sign(d), tf.expm1(tf.neg(tf.div(tf.abs(d), this.scale))))));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    const t = tf.sub(p, 0.5);
    return tf.sub(this.loc, tf.mul(this.scale, tf.mul(tf.sign(t), tf.log1p(tf.mul(-2, tf.abs(t))))));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(1, tf.log(tf.mul(2, this.scale)));
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul(2, tf.square(this.scale));
  }
}

// KL = log(b2/b1) + |m1 - m2| / b2 + (b1 / b2) exp(-|m1 - m2| / b1) - 1
registerKL(Laplace, Laplace, (p, q) => {
  const ratio = tf.div(p.scale, q.scale);
  const d = tf.abs(tf.sub(p.loc, q.loc));
  const t2 = tf.div(d, q.scale);
  const t3 = tf.mul(ratio, tf.exp(tf.neg(tf.div(d, p.scale))));
  return tf.sub(tf.add(tf.add(tf.neg(tf.log(ratio)), t2), t3), 1);
});

// ---- cross pairs with Normal (Normal < Laplace in the family order of docs/distributions.md) ----

registerKL(Laplace, Normal, (p, q) => {
  const varN = tf.square(q.scale);
  const ratio = tf.div(tf.square(p.scale), varN);
  const t1 = tf.mul(0.5, tf.log(tf.div(tf.mul(2, ratio), Math.PI)));
  const quad = tf.add(tf.sub(tf.mul(0.5, tf.square(p.loc)), tf.mul(p.loc, q.loc)), tf.mul(0.5, tf.square(q.loc)));
  return tf.sub(tf.add(tf.sub(ratio, t1), tf.div(quad, varN)), 1);
});

registerKL(Normal, Laplace, (p, q) => {
  const diff = tf.sub(p.loc, q.loc);
  const t1 = tf.log(tf.div(p.scale, q.scale));
  const t2 = tf.mul(Math.sqrt(2 / Math.PI), tf.mul(p.scale, tf.exp(tf.mul(-0.5, tf.square(tf.div(diff, p.scale))))));
  const t3 = tf.mul(diff, tf.erf(tf.mul(Math.SQRT1_2, tf.div(diff, p.scale))));
  return tf.sub(tf.sub(tf.div(tf.add(t2, t3), q.scale), t1), 0.5 * (1 + Math.log(0.5 * Math.PI)));
});
