/**
 * The F distribution, torch.distributions.FisherSnedecor.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { lgamma } from '../math/special.js';
import { positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { TINY, fillWhere, type TensorInput } from './util.js';

/**
 * FisherSnedecor(df1, df2): the law of (U1 / df1) / (U2 / df2) for independent U1 ~ Chi2(df1),
 * U2 ~ Chi2(df2), on x > 0. The mean is NaN for df2 <= 2 and the mode for df1 <= 2 (as torch).
 * The variance is NaN for df2 <= 2 and infinite for 2 < df2 <= 4, where the second moment
 * diverges (torch 1.13 returns NaN there too).
 */
export class FisherSnedecor extends Distribution {
  /** Numerator degrees of freedom > 0, batch shape. */
  readonly df1: tf.Tensor;
  /** Denominator degrees of freedom > 0, batch shape. */
  readonly df2: tf.Tensor;

  constructor(df1: TensorInput, df2: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('FisherSnedecor', { df1, df2 });
    super(p.batchShape, [], options);
    this.df1 = p.values.df1;
    this.df2 = p.values.df2;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { df1: positive, df2: positive };
  }
  get support(): Constraint {
    return positive;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): FisherSnedecor {
    return this.expandWith(batchShape, (b) => new FisherSnedecor(b(this.df1), b(this.df2), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // U / df = G / (df / 2) for G ~ Gamma(df / 2): each ratio has mean 1.
    const shape = [...sampleShape, ...this.batchShape];
    const ratio = (df: tf.Tensor) => {
      const half = broadcastTo(tf.mul(0.5, df), shape);
      return tf.div(standardGamma(half), half);
    };
    const x1 = ratio(this.df1);
    const x2 = tf.maximum(ratio(this.df2), TINY);
    return tf.maximum(tf.div(x1, x2), TINY);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    const h1 = tf.mul(0.5, this.df1);
    const h2 = tf.mul(0.5, this.df2);
    const r = tf.div(this.df1, this.df2);
    const t1 = tf.sub(lgamma(tf.add(h1, h2)), tf.add(lgamma(h1), lgamma(h2)));
    const t2 = tf.add(tf.mul(h1, tf.log(r)), tf.mul(tf.sub(h1, 1), tf.log(x)));
    const t3 = tf.mul(tf.add(h1, h2), tf.log1p(tf.mul(r, x)));
    return tf.sub(tf.add(t1, t2), t3);
  }
  protected override _mean(): tf.Tensor {
    const df2 = this.df2;
    return fillWhere(tf.lessEqual(df2, 2), NaN, tf.div(df2, tf.sub(df2, 2)));
  }
  protected override _mode(): tf.Tensor {
    const mode = tf.mul(tf.div(tf.sub(this.df1, 2), this.df1), tf.div(this.df2, tf.add(this.df2, 2)));
    return fillWhere(tf.lessEqual(this.df1, 2), NaN, mode);
  }
  protected override _variance(): tf.Tensor {
    const d1 = this.df1;
    const d2 = this.df2;
    const num = tf.mul(tf.mul(2, tf.square(d2)), tf.sub(tf.add(d1, d2), 2));
    const den = tf.mul(tf.mul(d1, tf.square(tf.sub(d2, 2))), tf.sub(d2, 4));
    return fillWhere(tf.lessEqual(d2, 2), NaN, fillWhere(tf.lessEqual(d2, 4), Infinity, tf.div(num, den)));
  }
}
