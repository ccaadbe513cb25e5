/**
 * The Weibull distribution, torch.distributions.Weibull.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lgamma } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { EULER_GAMMA, TINY, uniformOpen, type TensorInput } from './util.js';

/**
 * Weibull(scale, concentration): density (k / s) (x / s)^(k - 1) exp(-(x / s)^k) on x > 0, with
 * scale s and concentration (shape) k. k = 1 is Exponential(1 / s).
 *
 * The mode is s ((k - 1) / k)^(1 / k) for k > 1 and 0 for k <= 1, where the density is largest at
 * 0 (torch 1.13 returns NaN for k < 1).
 */
export class Weibull extends Distribution {
  /** Scale s > 0, batch shape. */
  readonly scale: tf.Tensor;
  /** Concentration (shape) k > 0, batch shape. */
  readonly concentration: tf.Tensor;

  constructor(scale: TensorInput, concentration: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Weibull', { scale, concentration });
    super(p.batchShape, [], options);
    this.scale = p.values.scale;
    this.concentration = p.values.concentration;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { scale: positive, concentration: positive };
  }
  get support(): Constraint {
    return positive;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Weibull {
    return this.expandWith(batchShape, (b) => new Weibull(b(this.scale), b(this.concentration), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // s E^(1/k) with E = -log(u) ~ Exponential(1), kept at or above the smallest normal float32
    // (E^(1/k) underflows to 0 for small k, outside the support x > 0).
    const e = tf.neg(tf.log(uniformOpen([...sampleShape, ...this.batchShape], nextSeed())));
    return tf.maximum(tf.mul(this.scale, tf.pow(e, tf.reciprocal(this.concentration))), TINY);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log k - log s + (k - 1) log(x / s) - (x / s)^k
    const k = this.concentration;
    const logT = tf.log(tf.div(x, this.scale));
    return tf.sub(tf.add(tf.log(tf.div(k, this.scale)), tf.mul(tf.sub(k, 1), logT)), tf.exp(tf.mul(k, logT)));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return tf.neg(tf.expm1(tf.neg(tf.pow(tf.div(x, this.scale), this.concentration))));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.mul(this.scale, tf.pow(tf.neg(tf.log1p(tf.neg(p))), tf.reciprocal(this.concentration)));
  }
  protected override _entropy(): tf.Tensor {
    // gamma (1 - 1/k) + log(s / k) + 1
    const k = this.concentration;
    return tf.add(tf.add(tf.mul(EULER_GAMMA, tf.sub(1, tf.reciprocal(k))), tf.log(tf.div(this.scale, k))), 1);
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(this.scale, tf.exp(lgamma(tf.add(1, tf.reciprocal(this.concentration)))));
  }
  protected override _mode(): tf.Tensor {
    const k = this.concentration;
    const inner = tf.pow(tf.div(tf.relu(tf.sub(k, 1)), k), tf.reciprocal(k));
    return tf.mul(this.scale, inner);
  }
  protected override _variance(): tf.Tensor {
    // s^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2) = s^2 Gamma(1 + 1/k)^2 expm1(lg2 - 2 lg1): no
    // cancellation for large k, where both terms approach 1.
    const inv = tf.reciprocal(this.concentration);
    const lg1 = lgamma(tf.add(1, inv));
    const lg2 = lgamma(tf.add(1, tf.mul(2, inv)));
    return tf.mul(tf.mul(tf.square(this.scale), tf.exp(tf.mul(2, lg1))), tf.expm1(tf.sub(lg2, tf.mul(2, lg1))));
  }
}
