/**
 * The Kumaraswamy distribution, torch.distributions.Kumaraswamy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { digamma, lgamma } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { EULER_GAMMA, fillWhere, uniformOpen, type TensorInput } from './util.js';

/**
 * Kumaraswamy(concentration1, concentration0): density a b x^(a - 1) (1 - x^a)^(b - 1) on
 * [0, 1], with a = concentration1 and b = concentration0. Like Beta(a, b) in shape, but with a
 * closed-form cdf and inverse, so `rsample` is a plain transform of a uniform draw.
 *
 * The mode is ((a - 1) / (a b - 1))^(1 / a) for a >= 1 and b >= 1 (not both 1), and NaN otherwise,
 * where the density is unbounded or flat. torch 1.13 returns ((b - 1) / (a b - 1))^(1 / b), which
 * swaps the parameters; the fixture checks this mode against a numerical maximisation.
 */
export class Kumaraswamy extends Distribution {
  /** a > 0, batch shape. */
  readonly concentration1: tf.Tensor;
  /** b > 0, batch shape. */
  readonly concentration0: tf.Tensor;

  constructor(concentration1: TensorInput, concentration0: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Kumaraswamy', { concentration1, concentration0 });
    super(p.batchShape, [], options);
    this.concentration1 = p.values.concentration1;
    this.concentration0 = p.values.concentration0;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { concentration1: positive, concentration0: positive };
  }
  get support(): Constraint {
    return unitInterval;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Kumaraswamy {
    return this.expandWith(batchShape, (b) => new Kumaraswamy(b(this.concentration1), b(this.concentration0), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    return this._icdf(uniformOpen([...sampleShape, ...this.batchShape], nextSeed()));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log a + log b + (a - 1) log x + (b - 1) log1p(-x^a)
    const a = this.concentration1;
    const b = this.concentration0;
    const logX = tf.log(x);
    const t = tf.add(tf.log(tf.mul(a, b)), tf.mul(tf.sub(a, 1), logX));
    return tf.add(t, tf.mul(tf.sub(b, 1), tf.log1p(tf.neg(tf.exp(tf.mul(a, logX))))));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // 1 - (1 - x^a)^b
    const xa = tf.pow(x, this.concentration1);
    return tf.neg(tf.expm1(tf.mul(this.concentration0, tf.log1p(tf.neg(xa)))));
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    // (1 - (1 - p)^(1/b))^(1/a)
    const inner = tf.neg(tf.expm1(tf.div(tf.log1p(tf.neg(p)), this.concentration0)));
    return tf.pow(inner, tf.reciprocal(this.concentration1));
  }
  protected override _entropy(): tf.Tensor {
    // (1 - 1/b) + (1 - 1/a) H_b - log(a b), with the harmonic number H_b = psi(b + 1) + gamma.
    const a = this.concentration1;
    const b = this.concentration0;
    const hb = tf.add(digamma(tf.add(b, 1)), EULER_GAMMA);
    return tf.sub(tf.add(tf.sub(1, tf.reciprocal(b)), tf.mul(tf.sub(1, tf.reciprocal(a)), hb)), tf.log(tf.mul(a, b)));
  }
  /** The n-th raw moment b B(1 + n/a, b). */
  private moment(n: number): tf.Tensor {
    const b = this.concentration0;
    const t = tf.add(1, tf.div(n, this.concentration1));
    return tf.exp(tf.sub(tf.add(tf.log(b), tf.add(lgamma(t), lgamma(b))), lgamma(tf.add(t, b))));
  }
  protected override _mean(): tf.Tensor {
    return this.moment(1);
  }
  protected override _mode(): tf.Tensor {
    const a = this.concentration1;
    const b = this.concentration0;
    // log mode = (log(a - 1) - log(a b - 1)) / a
    const mode = tf.exp(tf.div(tf.sub(tf.log(tf.sub(a, 1)), tf.log(tf.sub(tf.mul(a, b), 1))), a));
    const undefinedHere = tf.logicalOr(tf.logicalOr(tf.less(a, 1), tf.less(b, 1)), tf.logicalAnd(tf.equal(a, 1), tf.equal(b, 1)));
    return fillWhere(undefinedHere, NaN, mode);
  }
  protected override _variance(): tf.Tensor {
    return tf.sub(this.moment(2), tf.square(this.moment(1)));
  }
}
