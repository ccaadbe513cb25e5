/**
 * The half-normal distribution, torch.distributions.HalfNormal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ndtri } from '../math/special.js';
import { nextSeed } from '../random.js';
import { nonnegative, positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { fillWhere, type TensorInput } from './util.js';

const HALF_LOG_PI_OVER_2 = 0.5 * Math.log(Math.PI / 2);

/**
 * HalfNormal(scale): |X| for X ~ Normal(0, scale), density sqrt(2 / pi) / scale
 * exp(-x^2 / (2 scale^2)) on x >= 0. `scale` is the scale of X, not the standard deviation of |X|.
 */
export class HalfNormal extends Distribution {
  /** Scale of the underlying Normal (> 0), batch shape. */
  readonly scale: tf.Tensor;

  constructor(scale: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('HalfNormal', { scale });
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

  expand(batchShape: number[]): HalfNormal {
    return this.expandWith(batchShape, (b) => new HalfNormal(b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const eps = tf.randomNormal([...sampleShape, ...this.batchShape], 0, 1, 'float32', nextSeed());
    return tf.abs(tf.mul(this.scale, eps));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -x^2 / (2 scale^2) - log(scale) - log(pi / 2) / 2; -inf below 0 (validation off).
    const lp = tf.sub(tf.sub(tf.mul(-0.5, tf.square(tf.div(x, this.scale))), tf.log(this.scale)), HALF_LOG_PI_OVER_2);
    return fillWhere(tf.less(x, 0), -Infinity, lp);
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // 2 Phi(x / scale) - 1 = erf(x / (scale sqrt 2)), exact near 0.
    return tf.erf(tf.div(x, tf.mul(Math.SQRT2, this.scale)));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.mul(this.scale, ndtri(tf.div(tf.add(p, 1), 2)));
  }
  protected override _entropy(): tf.Tensor {
    // Normal's entropy minus log 2.
    return tf.add(0.5 + HALF_LOG_PI_OVER_2, tf.log(this.scale));
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(Math.sqrt(2 / Math.PI), this.scale);
  }
  protected override _mode(): tf.Tensor {
    return tf.zeros(this.batchShape);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul(1 - 2 / Math.PI, tf.square(this.scale));
  }
}

// As KL(Normal(0, s1) || Normal(0, s2)) = (r - 1 - log r) / 2 with r = (s1 / s2)^2.
registerKL(HalfNormal, HalfNormal, (p, q) => {
  const r = tf.square(tf.div(p.scale, q.scale));
  return tf.mul(0.5, tf.sub(tf.sub(r, 1), tf.log(r)));
});
