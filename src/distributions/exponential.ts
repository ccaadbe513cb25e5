/**
 * The exponential distribution, torch.distributions.Exponential.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { nonnegative, positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { fillWhere, infiniteKL, uniformOpen, type TensorInput } from './util.js';

/**
 * Exponential(rate): density rate exp(-rate x) on x >= 0.
 */
export class Exponential extends Distribution {
  /** Rate (inverse scale) > 0, batch shape. */
  readonly rate: tf.Tensor;

  constructor(rate: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Exponential', { rate });
    super(p.batchShape, [], options);
    this.rate = p.values.rate;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { rate: positive };
  }
  get support(): Constraint {
    return nonnegative;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Exponential {
    return this.expandWith(batchShape, (b) => new Exponential(b(this.rate), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = uniformOpen([...sampleShape, ...this.batchShape], nextSeed());
    return tf.div(tf.neg(tf.log(u)), this.rate);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return tf.sub(tf.log(this.rate), tf.mul(this.rate, x));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return tf.neg(tf.expm1(tf.neg(tf.mul(this.rate, x))));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.div(tf.neg(tf.log1p(tf.neg(p))), this.rate);
  }
  protected override _entropy(): tf.Tensor {
    return tf.sub(1, tf.log(this.rate));
  }
  protected override _mean(): tf.Tensor {
    return tf.reciprocal(this.rate);
  }
  protected override _mode(): tf.Tensor {
    return tf.zerosLike(this.rate);
  }
  protected override _variance(): tf.Tensor {
    return tf.reciprocal(tf.square(this.rate));
  }
}

// KL = log(r1 / r2) + r2 / r1 - 1
registerKL(Exponential, Exponential, (p, q) => {
  const ratio = tf.div(q.rate, p.rate);
  return tf.sub(tf.sub(ratio, tf.log(ratio)), 1);
});

// ---- cross pairs with earlier families (Normal < Laplace < Uniform < Exponential) ----

registerKL(Exponential, Normal, (p, q) => {
  const varN = tf.square(q.scale);
  const r2 = tf.square(p.rate);
  const t1 = tf.mul(0.5, tf.log(tf.mul(tf.mul(r2, varN), 2 * Math.PI)));
  const quad = tf.add(tf.sub(tf.reciprocal(r2), tf.div(q.loc, p.rate)), tf.mul(0.5, tf.square(q.loc)));
  return tf.add(tf.sub(t1, 1), tf.div(quad, varN));
});
registerKL(Uniform, Exponential, (p, q) => {
  const result = tf.sub(tf.div(tf.mul(q.rate, tf.add(p.high, p.low)), 2), tf.log(tf.mul(tf.sub(p.high, p.low), q.rate)));
  return fillWhere(tf.less(p.low, 0), Infinity, result);
});
registerKL(Normal, Exponential, infiniteKL);
registerKL(Laplace, Exponential, infiniteKL);
registerKL(Exponential, Uniform, infiniteKL);
