/**
 * The Cauchy and half-Cauchy distributions, torch.distributions.Cauchy and HalfCauchy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { nonnegative, positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { fillWhere, uniformOpen, type TensorInput } from './util.js';

/**
 * Cauchy(loc, scale): density 1 / (pi scale (1 + ((x - loc) / scale)^2)). Its mean is undefined
 * (NaN) and its variance infinite, as in torch.
 */
export class Cauchy extends Distribution {
  /** Location (median, mode), batch shape. */
  readonly loc: tf.Tensor;
  /** Scale > 0 (half the interquartile range), batch shape. */
  readonly scale: tf.Tensor;

  constructor(loc: TensorInput, scale: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Cauchy', { loc, scale });
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

  expand(batchShape: number[]): Cauchy {
    return this.expandWith(batchShape, (b) => new Cauchy(b(this.loc), b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = uniformOpen([...sampleShape, ...this.batchShape], nextSeed());
    return this._icdf(u);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -log(pi) - log(scale) - log1p(z^2)
    const z = tf.div(tf.sub(x, this.loc), this.scale);
    return tf.sub(tf.neg(tf.add(Math.log(Math.PI), tf.log(this.scale))), tf.log1p(tf.square(z)));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return tf.add(0.5, tf.div(tf.atan(tf.div(tf.sub(x, this.loc), this.scale)), Math.PI));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.add(this.loc, tf.mul(this.scale, tf.tan(tf.mul(Math.PI, tf.sub(p, 0.5)))));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(Math.log(4 * Math.PI), tf.log(this.scale));
  }
  protected override _mean(): tf.Tensor {
    return tf.fill(this.batchShape, NaN);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return tf.fill(this.batchShape, Infinity);
  }
}

/**
 * HalfCauchy(scale): |X| for X ~ Cauchy(0, scale), density 2 / (pi scale (1 + (x / scale)^2)) on
 * x >= 0. Its mean and variance are infinite.
 */
export class HalfCauchy extends Distribution {
  /** Scale > 0 (the median), batch shape. */
  readonly scale: tf.Tensor;

  constructor(scale: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('HalfCauchy', { scale });
    super(p.batchShape, [], options);
    this.scale = p.values.scale;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { scale: positive };
  }
  get support(): Constraint {
    return nonnegative;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): HalfCauchy {
    return this.expandWith(batchShape, (b) => new HalfCauchy(b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = uniformOpen([...sampleShape, ...this.batchShape], nextSeed());
    return this._icdf(u);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log(2 / pi) - log(scale) - log1p((x / scale)^2); -inf below 0 (validation off).
    const lp = tf.sub(tf.sub(Math.log(2 / Math.PI), tf.log(this.scale)), tf.log1p(tf.square(tf.div(x, this.scale))));
    return fillWhere(tf.less(x, 0), -Infinity, lp);
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return tf.mul(2 / Math.PI, tf.atan(tf.div(x, this.scale)));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.mul(this.scale, tf.tan(tf.mul(Math.PI / 2, p)));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(Math.log(2 * Math.PI), tf.log(this.scale));
  }
  protected override _mean(): tf.Tensor {
    return tf.fill(this.batchShape, Infinity);
  }
  protected override _mode(): tf.Tensor {
    return tf.zeros(this.batchShape);
  }
  protected override _variance(): tf.Tensor {
    return tf.fill(this.batchShape, Infinity);
  }
}

// KL = log(((s1 + s2)^2 + (m1 - m2)^2) / (4 s1 s2))  (Chyzak & Nielsen 2019)
registerKL(Cauchy, Cauchy, (p, q) => {
  const num = tf.add(tf.square(tf.add(p.scale, q.scale)), tf.square(tf.sub(p.loc, q.loc)));
  return tf.log(tf.div(num, tf.mul(4, tf.mul(p.scale, q.scale))));
});
