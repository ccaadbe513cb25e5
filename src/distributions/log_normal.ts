/**
 * The log-normal distribution, torch.distributions.LogNormal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { positive, real, type Constraint } from './constraints.js';
import type { BaseOptions, DistributionOptions } from './distribution.js';
import { Normal } from './normal.js';
import { ExpTransform } from './transforms.js';
import { TransformedDistribution } from './transformed_distribution.js';
import type { TensorInput } from './util.js';

/**
 * LogNormal(loc, scale): exp(X) for X ~ Normal(loc, scale). `loc` and `scale` are the mean and
 * standard deviation of log(x), not of x.
 */
export class LogNormal extends TransformedDistribution {
  constructor(loc: TensorInput, scale: TensorInput, options: DistributionOptions = {}) {
    super(new Normal(loc, scale, { ...options, reportAs: 'LogNormal' } as BaseOptions), [new ExpTransform()], options);
  }
  private get normal(): Normal {
    return this.base as Normal;
  }
  /** Mean of log(x), batch shape. */
  get loc(): tf.Tensor {
    return this.normal.loc;
  }
  /** Standard deviation of log(x), batch shape. */
  get scale(): tf.Tensor {
    return this.normal.scale;
  }
  override get argConstraints(): Record<string, Constraint> {
    return { loc: real, scale: positive };
  }
  override expand(batchShape: number[]): LogNormal {
    return this.expandWith(batchShape, (b) => new LogNormal(b(this.loc), b(this.scale), this.options()));
  }

  protected override _mean(): tf.Tensor {
    return tf.exp(tf.add(this.loc, tf.div(tf.square(this.scale), 2)));
  }
  protected override _mode(): tf.Tensor {
    return tf.exp(tf.sub(this.loc, tf.square(this.scale)));
  }
  protected override _variance(): tf.Tensor {
    const s2 = tf.square(this.scale);
    return tf.mul(tf.expm1(s2), tf.exp(tf.add(tf.mul(2, this.loc), s2)));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(this.normal.entropy(), this.loc);
  }
}
