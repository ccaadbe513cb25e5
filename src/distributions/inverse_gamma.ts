/**
 * The inverse gamma distribution (torch 2's InverseGamma; torch 1.13 lacks it, so its fixtures
 * come from scipy.stats.invgamma).
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { gammaQ, logGammaKernel, logMinusDigamma, stirlingRemainder } from '../math/special.js';
import { positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { fillWhere, TINY, type TensorInput } from './util.js';

/**
 * InverseGamma(concentration, rate): the law of 1 / X for X ~ Gamma(concentration, rate),
 * density rate^a / Gamma(a) x^(-a - 1) exp(-rate / x) on x > 0. The conjugate prior of a Normal
 * variance. The mean is infinite for a <= 1 and the variance for a <= 2; rsample is
 * reparameterised through the Gamma draw (gradients to both parameters).
 *
 * @example
 * const variance = new InverseGamma(3, 2); // mean 1, mode 0.5
 */
export class InverseGamma extends Distribution {
  /** Shape a > 0, batch shape. */
  readonly concentration: tf.Tensor;
  /** Rate of the Gamma that 1 / x follows, the scale of x, > 0, batch shape. */
  readonly rate: tf.Tensor;

  constructor(concentration: TensorInput, rate: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('InverseGamma', { concentration, rate });
    super(p.batchShape, [], options);
    this.concentration = p.values.concentration;
    this.rate = p.values.rate;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { concentration: positive, rate: positive };
  }
  get support(): Constraint {
    return positive;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): InverseGamma {
    return this.expandWith(batchShape, (b) => new InverseGamma(b(this.concentration), b(this.rate), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // rate / Z with Z ~ Gamma(a, 1) (clamped at the smallest normal float, as Gamma's draws).
    const z = standardGamma(broadcastTo(this.concentration, [...sampleShape, ...this.batchShape]));
    return tf.div(this.rate, tf.maximum(z, TINY));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // a log(rate) - lgamma(a) - (a + 1) log x - rate / x = log(u^a e^-u / Gamma(a)) - log x with
    // u = rate / x, in the stable form of logGammaKernel (the direct one cancels at large a).
    return tf.sub(logGammaKernel(this.concentration, tf.div(this.rate, x)), tf.log(x));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // P(1 / X' <= x) = P(X' >= 1 / x) = Q(a, rate / x), by the upper function itself (1 - P would
    // lose the small values of the lower tail).
    return gammaQ(this.concentration, tf.div(this.rate, x));
  }
  protected override _entropy(): tf.Tensor {
    // a + log(rate) + lgamma(a) - (1 + a) psi(a), with Stirling's lgamma and D = log a - psi(a):
    // log(rate) - 3/2 log(a) + log(2 pi) / 2 + w(a) + (1 + a) D, free of the cancellation at large a.
    const a = this.concentration;
    const core = tf.add(stirlingRemainder(a), tf.mul(tf.add(a, 1), logMinusDigamma(a)));
    return tf.add(tf.add(tf.sub(tf.log(this.rate), tf.mul(1.5, tf.log(a))), 0.5 * Math.log(2 * Math.PI)), core);
  }
  protected override _mean(): tf.Tensor {
    const a = this.concentration;
    return fillWhere(tf.lessEqual(a, 1), Infinity, tf.div(this.rate, tf.sub(a, 1)));
  }
  protected override _mode(): tf.Tensor {
    return tf.div(this.rate, tf.add(this.concentration, 1));
  }
  protected override _variance(): tf.Tensor {
    const a = this.concentration;
    const am1 = tf.sub(a, 1);
    return fillWhere(tf.lessEqual(a, 2), Infinity, tf.div(tf.square(this.rate), tf.mul(tf.square(am1), tf.sub(a, 2))));
  }
}
