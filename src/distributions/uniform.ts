/**
 * The continuous uniform distribution, torch.distributions.Uniform.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { greaterThan, halfOpenInterval, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { fillWhere, infiniteKL, nanTensor, type TensorInput } from './util.js';

/**
 * Uniform(low, high) on the half-open interval [low, high).
 *
 * @example
 * new Uniform(0, [1, 2]).sample([5]); // [5, 2]
 */
export class Uniform extends Distribution {
  /** Lower bound (inclusive), batch shape. */
  readonly low: tf.Tensor;
  /** Upper bound (exclusive), batch shape. */
  readonly high: tf.Tensor;

  constructor(low: TensorInput, high: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Uniform', { low, high });
    super(p.batchShape, [], options);
    this.low = p.values.low;
    this.high = p.values.high;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { low: real, high: greaterThan(this.low, 'low') };
  }
  get support(): Constraint {
    return halfOpenInterval(this.low, this.high, ['low', 'high']);
  }
  override get hasRsample(): boolean {
    return true;
  }
  expand(batchShape: number[]): Uniform {
    return this.expandWith(batchShape, (b) => new Uniform(b(this.low), b(this.high), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = tf.randomUniform([...sampleShape, ...this.batchShape], 0, 1, 'float32', nextSeed());
    return tf.add(this.low, tf.mul(u, tf.sub(this.high, this.low)));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log(1[low <= x < high]) - log(high - low): -inf outside the support when not validating.
    const inside = tf.cast(tf.logicalAnd(tf.lessEqual(this.low, x), tf.greater(this.high, x)), 'float32');
    return tf.sub(tf.log(inside), tf.log(tf.sub(this.high, this.low)));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    return tf.clipByValue(tf.div(tf.sub(x, this.low), tf.sub(this.high, this.low)), 0, 1);
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    return tf.add(this.low, tf.mul(p, tf.sub(this.high, this.low)));
  }
  protected override _entropy(): tf.Tensor {
    return tf.log(tf.sub(this.high, this.low));
  }
  protected override _mean(): tf.Tensor {
    return tf.div(tf.add(this.high, this.low), 2);
  }
  protected override _mode(): tf.Tensor {
    return nanTensor(this.batchShape);
  }
  protected override _variance(): tf.Tensor {
    return tf.div(tf.square(tf.sub(this.high, this.low)), 12);
  }
}

// KL(U[a1,b1) || U[a2,b2)) = log((b2 - a2) / (b1 - a1)) if [a1,b1) is inside [a2,b2), else inf.
registerKL(Uniform, Uniform, (p, q) => {
  const result = tf.log(tf.div(tf.sub(q.high, q.low), tf.sub(p.high, p.low)));
  const outside = tf.logicalOr(tf.greater(q.low, p.low), tf.less(q.high, p.high));
  return fillWhere(outside, Infinity, result);
});

// ---- cross pairs with earlier families (Normal < Laplace < Uniform) ----

registerKL(Uniform, Normal, (p, q) => {
  const w = tf.sub(p.high, p.low);
  const t1 = tf.log(tf.div(tf.mul(Math.sqrt(2 * Math.PI), q.scale), w));
  const t2 = tf.div(tf.square(w), 12);
  const t3 = tf.square(tf.div(tf.sub(tf.add(p.high, p.low), tf.mul(2, q.loc)), 2));
  return tf.add(t1, tf.div(tf.mul(0.5, tf.add(t2, t3)), tf.square(q.scale)));
});
registerKL(Normal, Uniform, infiniteKL);
registerKL(Laplace, Uniform, infiniteKL);
