/**
 * The generalised Pareto distribution (torch 2's GeneralizedPareto; torch 1.13 lacks it, so its
 * fixtures come from scipy.stats.genpareto).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { interval, positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { fillWhere, uniformOpen, type TensorInput } from './util.js';

/**
 * GeneralizedPareto(loc, scale, concentration): the law of exceedances over a high threshold
 * (peaks over threshold in extreme value theory). With z = (x - loc) / scale and xi = concentration,
 * cdf 1 - (1 + xi z)^(-1/xi) (1 - e^-z at xi = 0), on x >= loc, and x <= loc - scale / xi when
 * xi < 0. xi = 0 is the Exponential, xi > 0 a Pareto-like heavy tail (mean infinite for xi >= 1,
 * variance for xi >= 1/2), xi < 0 a bounded support. rsample, cdf and icdf are exact.
 *
 * @example
 * const exceedance = new GeneralizedPareto(0, 2, 0.25);
 */
export class GeneralizedPareto extends Distribution {
  /** Location (the lower end of the support), batch shape. */
  readonly loc: tf.Tensor;
  /** Scale > 0, batch shape. */
  readonly scale: tf.Tensor;
  /** Shape xi (the tail index), any real, batch shape. */
  readonly concentration: tf.Tensor;
  /** The upper end of the support (inf unless concentration < 0), batch shape. */
  readonly upper: tf.Tensor;

  constructor(loc: TensorInput, scale: TensorInput, concentration: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('GeneralizedPareto', { loc, scale, concentration });
    super(p.batchShape, [], options);
    this.loc = p.values.loc;
    this.scale = p.values.scale;
    this.concentration = p.values.concentration;
    this.init(p.created, p.values);
    // The upper end of the support: loc - scale / xi for xi < 0, inf otherwise.
    this.upper = this.own(tf.tidy(() => fillWhere(tf.greaterEqual(this.concentration, 0), Infinity, tf.sub(this.loc, tf.div(this.scale, this.safeXi())))));
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: real, scale: positive, concentration: real };
  }
  get support(): Constraint {
    return interval(this.loc, this.upper, ['loc', 'loc - scale / concentration']);
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): GeneralizedPareto {
    return this.expandWith(batchShape, (b) => new GeneralizedPareto(b(this.loc), b(this.scale), b(this.concentration), this.options()));
  }

  /** xi, with 1 where xi = 0 (for the branches that divide by it). */
  private safeXi(): tf.Tensor {
    return fillWhere(tf.equal(this.concentration, 0), 1, this.concentration);
  }
  /** log1p(xi z) / xi, z at xi = 0; the cumulative hazard at z. */
  private hazard(z: tf.Tensor): tf.Tensor {
    const xi = this.concentration;
    return tf.where(tf.equal(xi, 0), z, tf.div(tf.log1p(tf.mul(xi, z)), this.safeXi()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    return this.quantile(uniformOpen([...sampleShape, ...this.batchShape], nextSeed()));
  }
  /** loc + scale expm1(-xi log1p(-u)) / xi (loc - scale log1p(-u) at xi = 0). */
  private quantile(u: tf.Tensor): tf.Tensor {
    const xi = this.concentration;
    const e = tf.neg(tf.log1p(tf.neg(u))); // -log(1 - u), an Exponential(1) quantile
    const z = tf.where(tf.equal(xi, 0), e, tf.div(tf.expm1(tf.mul(xi, e)), this.safeXi()));
    return tf.add(this.loc, tf.mul(this.scale, z));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -log(scale) - (1 + xi) H(z), H(z) = log1p(xi z) / xi: -log(scale) - (1 / xi + 1) log1p(xi z).
    const z = tf.div(tf.sub(x, this.loc), this.scale);
    return tf.sub(tf.neg(tf.log(this.scale)), tf.mul(tf.add(1, this.concentration), this.hazard(z)));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // 1 - exp(-H(z)) = -expm1(-H(z)), clamped to [0, 1] outside the support.
    const z = tf.maximum(tf.div(tf.sub(x, this.loc), this.scale), 0);
    const c = tf.neg(tf.expm1(tf.neg(this.hazard(z))));
    return tf.where(tf.isNaN(c), tf.onesLike(c), c); // past the upper end for xi < 0 (log1p of < -1)
  }
  protected override _icdf(u: tf.Tensor): tf.Tensor {
    return this.quantile(u);
  }
  protected override _entropy(): tf.Tensor {
    return tf.add(tf.log(this.scale), tf.add(this.concentration, 1));
  }
  protected override _mean(): tf.Tensor {
    // loc + scale / (1 - xi); infinite for xi >= 1 (torch 2 gives NaN there).
    const xi = this.concentration;
    return fillWhere(tf.greaterEqual(xi, 1), Infinity, tf.add(this.loc, tf.div(this.scale, tf.sub(1, xi))));
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    // scale^2 / ((1 - xi)^2 (1 - 2 xi)); infinite for xi >= 1/2, where the second moment diverges
    // (with an infinite mean from xi = 1, as InverseGamma's; scipy and torch 2 give NaN).
    const xi = this.concentration;
    const v = tf.div(tf.square(this.scale), tf.mul(tf.square(tf.sub(1, xi)), tf.sub(1, tf.mul(2, xi))));
    return fillWhere(tf.greaterEqual(xi, 0.5), Infinity, v);
  }
}
