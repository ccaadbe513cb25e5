/**
 * The Normal (Gaussian) distribution, torch.distributions.Normal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ndtr, ndtri } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, reportName, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import type { TensorInput } from './util.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Normal(loc, scale): density exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi)).
 * `loc` and `scale` broadcast; their shape is the batch shape; the event shape is [].
 *
 * @example
 * const q = new Normal(mu, sigma);   // mu, sigma: [B, M]
 * const z = q.rsample();             // [B, M], differentiable in mu and sigma
 * const lp = q.logProb(z);           // [B, M]
 */
export class Normal extends Distribution {
  /** Mean, broadcast to the batch shape. */
  readonly loc: tf.Tensor;
  /** Standard deviation (> 0), broadcast to the batch shape. */
  readonly scale: tf.Tensor;

  constructor(loc: TensorInput, scale: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams(reportName(options, 'Normal'), { loc, scale });
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

  expand(batchShape: number[]): Normal {
    return this.expandWith(batchShape, (b) => new Normal(b(this.loc), b(this.scale), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const eps = tf.randomNormal([...sampleShape, ...this.batchShape], 0, 1, 'float32', nextSeed());
    return tf.add(this.loc, tf.mul(this.scale, eps));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -(x - loc)^2 / (2 scale^2) - log(scale) - log(2 pi) / 2
    const z = tf.div(tf.sub(x, this.loc), this.scale);
    return tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), tf.log(this.scale)), HALF_LOG_2PI);
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return ndtr(tf.div(tf.sub(x, this.loc), this.scale));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.add(this.loc, tf.mul(this.scale, ndtri(p)));
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(0.5 + HALF_LOG_2PI, tf.log(this.scale));
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return tf.square(this.scale);
  }
}

// KL(N(m1, s1) || N(m2, s2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
registerKL(Normal, Normal, (p, q) => {
  const varRatio = tf.square(tf.div(p.scale, q.scale));
  const t1 = tf.square(tf.div(tf.sub(p.loc, q.loc), q.scale));
  return tf.mul(0.5, tf.sub(tf.sub(tf.add(varRatio, t1), 1), tf.log(varRatio)));
});
