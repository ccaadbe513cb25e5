/**
 * Student's t distribution, torch.distributions.StudentT.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { digammaDiff, lbeta } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { TINY, fillWhere, type TensorInput } from './util.js';

/**
 * StudentT(df, loc, scale): density
 * Gamma((df + 1) / 2) / (Gamma(df / 2) sqrt(df pi) scale) (1 + z^2 / df)^(-(df + 1) / 2) with
 * z = (x - loc) / scale. The mean is NaN for df <= 1; the variance is infinite for 1 < df <= 2
 * and NaN for df <= 1 (as torch). `rsample` is reparameterised in all three parameters.
 */
export class StudentT extends Distribution {
  /** Degrees of freedom > 0, batch shape. */
  readonly df: tf.Tensor;
  /** Location, batch shape. */
  readonly loc: tf.Tensor;
  /** Scale > 0, batch shape. */
  readonly scale: tf.Tensor;

  constructor(df: TensorInput, loc: TensorInput = 0, scale: TensorInput = 1, options: DistributionOptions = {}) {
    const p = prepareParams('StudentT', { df, loc, scale });
    super(p.batchShape, [], options);
    this.df = p.values.df;
    this.loc = p.values.loc;
    this.scale = p.values.scale;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { df: positive, loc: real, scale: positive };
  }
  get support(): Constraint {
    return real;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): StudentT {
    return this.expandWith(batchShape, (b) => new StudentT(b(this.df), b(this.loc), b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // loc + scale X / sqrt(V / df) with X ~ Normal(0, 1) and V = 2 G ~ Chi2(df), G ~ Gamma(df / 2).
    const shape = [...sampleShape, ...this.batchShape];
    const x = tf.randomNormal(shape, 0, 1, 'float32', nextSeed());
    const g = tf.maximum(standardGamma(broadcastTo(tf.mul(0.5, this.df), shape)), TINY);
    const y = tf.mul(x, tf.rsqrt(tf.div(tf.mul(2, g), this.df)));
    return tf.add(this.loc, tf.mul(this.scale, y));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -(df + 1)/2 log1p(z^2 / df) - log scale - log(df)/2 - log B(df/2, 1/2), as
    // lgamma((df + 1)/2) - lgamma(df/2) - log(pi)/2 = -log B(df/2, 1/2) (lbeta is stable at large df).
    const df = this.df;
    const z = tf.div(tf.sub(x, this.loc), this.scale);
    const norm = tf.add(tf.add(tf.log(this.scale), tf.mul(0.5, tf.log(df))), lbeta(tf.mul(0.5, df), tf.fill(df.shape, 0.5)));
    return tf.sub(tf.mul(tf.mul(-0.5, tf.add(df, 1)), tf.log1p(tf.div(tf.square(z), df))), norm);
  }
  protected override _entropy(): tf.Tensor {
    // log scale + (df + 1)/2 (psi((df + 1)/2) - psi(df/2)) + log(df)/2 + log B(df/2, 1/2)
    const df = this.df;
    const half = tf.mul(0.5, df);
    const halfPlus = tf.mul(0.5, tf.add(df, 1));
    const t = tf.mul(halfPlus, digammaDiff(half, 0.5));
    return tf.add(tf.add(tf.log(this.scale), t), tf.add(tf.mul(0.5, tf.log(df)), lbeta(half, tf.fill(half.shape, 0.5))));
  }
  protected override _mean(): tf.Tensor {
    return fillWhere(tf.lessEqual(this.df, 1), NaN, this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    const df = this.df;
    const v = tf.div(tf.mul(tf.square(this.scale), df), tf.sub(df, 2));
    return fillWhere(tf.lessEqual(df, 1), NaN, fillWhere(tf.lessEqual(df, 2), Infinity, v));
  }
}
