/**
 * The Poisson distribution, torch.distributions.Poisson.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { deviance, lgamma, stirlingRemainder, xlogy } from '../math/special.js';
import { nextSeed } from '../random.js';
import { nonnegative, nonnegativeInteger, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Bernoulli } from './bernoulli.js';
import { countByTail, firstAccepted, infiniteKL, type TensorInput } from './util.js';

/** Rates below this are drawn by inversion, the others by PTRS (Hormann's method needs rate >= 10). */
const INVERSION_MAX_RATE = 10;
/**
 * Terms of the inversion: a draw is at most this. P(X >= 40) < 7.4e-13 for every rate < 10, which
 * bounds both the truncation of the tail sums and the chance of a capped draw.
 */
const INVERSION_TERMS = 40;
/**
 * Rounds of PTRS. Its acceptance probability is about 1 / alpha (Hormann's alpha = 1.1239 +
 * 1.1328 / (b - 3.4)): 0.7526 at rate 10, 0.85 at 100, 0.889 for large rates (by numerical
 * integration over the proposal), so an element is left without an accepted candidate after 20
 * rounds with probability below (1 - 0.7526)^20 = 7.6e-13.
 */
const PTRS_ROUNDS = 20;

/**
 * Draws for rates in [0, 10) by inversion (see {@link countByTail}), p_j = p_(j-1) rate / j from
 * p_0 = e^-rate.
 */
function poissonInversion(rate: tf.Tensor): tf.Tensor {
  const p: tf.Tensor[] = [tf.exp(tf.neg(rate))];
  for (let j = 1; j <= INVERSION_TERMS; j++) p.push(tf.mul(p[j - 1]!, tf.div(rate, j)));
  return countByTail(tf.randomUniform(rate.shape, 0, 1, 'float32', nextSeed()), p);
}

/**
 * log P(X = k) for Poisson(rate), rate > 0, k >= 0 integer-valued, in Loader's form without the
 * cancellation of k log(rate) - rate - lgamma(k + 1) (three terms of size ~rate):
 *   log P(X = k) = -bd0(k, rate) - log(2 pi k) / 2 - w(k) for k >= 1, -rate at k = 0
 * ({@link deviance} bd0, {@link stirlingRemainder} w).
 */
function logPoissonPmf(k: tf.Tensor, rate: tf.Tensor): tf.Tensor {
  const zero = tf.equal(k, 0);
  const kk = tf.where(zero, tf.onesLike(k), k);
  const interior = tf.sub(tf.neg(deviance(kk, rate)), tf.add(tf.mul(0.5, tf.log(tf.mul(kk, 2 * Math.PI))), stirlingRemainder(kk)));
  return tf.where(zero, tf.neg(broadcastTo(rate, k.shape)), interior);
}

/**
 * Draws for rates >= 10 by Hormann's transformed rejection with squeeze (PTRS, 1993), vectorised:
 * {@link PTRS_ROUNDS} rounds are drawn at once, [K, ...shape], and each element takes its first
 * accepted candidate; with none accepted (probability < 7.6e-13) it takes floor(rate), the mode.
 * Counts are exact in float32 up to 2^24, so rates up to about 1e7.
 */
function poissonPtrs(rate: tf.Tensor): tf.Tensor {
  const shape = [PTRS_ROUNDS, ...rate.shape];
  const uu = tf.randomUniform(shape, -0.5, 0.5, 'float32', nextSeed()); // [K, ...shape]
  const v = tf.randomUniform(shape, 0, 1, 'float32', nextSeed()); // [K, ...shape]
  const b = tf.add(0.931, tf.mul(2.53, tf.sqrt(rate)));
  const a = tf.add(-0.059, tf.mul(0.02483, b));
  const invAlpha = tf.add(1.1239, tf.div(1.1328, tf.sub(b, 3.4)));
  const vr = tf.sub(0.9277, tf.div(3.6224, tf.sub(b, 2)));
  const us = tf.sub(0.5, tf.abs(uu));
  const k = tf.floor(tf.add(tf.mul(tf.add(tf.div(tf.mul(a, 2), us), b), uu), tf.add(rate, 0.43)));
  const quick = tf.logicalAnd(tf.greaterEqual(us, 0.07), tf.lessEqual(v, vr));
  const reject = tf.logicalOr(tf.less(k, 0), tf.logicalAnd(tf.less(us, 0.013), tf.greater(v, us)));
  // Rejected proposals (k < 0; the infinite k of us = 0 fails the us < 0.013 test) are evaluated at 0.
  const kSafe = tf.where(reject, tf.zerosLike(k), k);
  const logHat = tf.sub(tf.add(tf.log(v), tf.log(invAlpha)), tf.log(tf.add(tf.div(a, tf.square(us)), b)));
  const slow = tf.logicalAnd(tf.logicalNot(reject), tf.lessEqual(logHat, logPoissonPmf(kSafe, rate)));
  return firstAccepted(tf.logicalOr(quick, slow), kSafe, tf.floor(rate));
}

/**
 * Draws of Poisson(rate), one per element of `rate` (>= 0, any shape), as float32 counts. Both
 * methods run on every element (with a safe rate where the other applies) and the result is
 * chosen per element, so nothing is read back: inversion below rate 10, PTRS above.
 */
export function samplePoisson(rate: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const small = tf.less(rate, INVERSION_MAX_RATE);
    const byInversion = poissonInversion(tf.where(small, rate, tf.zerosLike(rate)));
    const byRejection = poissonPtrs(tf.where(small, tf.fill(rate.shape, INVERSION_MAX_RATE), rate));
    return tf.where(small, byInversion, byRejection);
  });
}

/**
 * Poisson(rate): P(k) = rate^k exp(-rate) / k! on k = 0, 1, 2, ... Samples are float32 counts.
 */
export class Poisson extends Distribution {
  /** Rate >= 0, batch shape. */
  readonly rate: tf.Tensor;

  constructor(rate: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Poisson', { rate });
    super(p.batchShape, [], options);
    this.rate = p.values.rate;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { rate: nonnegative };
  }
  get support(): Constraint {
    return nonnegativeInteger;
  }

  expand(batchShape: number[]): Poisson {
    return this.expandWith(batchShape, (b) => new Poisson(b(this.rate), this.options()));
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    return samplePoisson(broadcastTo(this.rate, [...sampleShape, ...this.batchShape]));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // k log(rate) - rate - lgamma(k + 1), with 0 log 0 = 0 for rate = 0.
    return tf.sub(tf.sub(xlogy(x, this.rate), this.rate), lgamma(tf.add(x, 1)));
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.rate);
  }
  protected override _mode(): tf.Tensor {
    return tf.floor(this.rate);
  }
  protected override _variance(): tf.Tensor {
    return tf.clone(this.rate);
  }
}

// KL = r1 (log r1 - log r2) - (r1 - r2)
registerKL(Poisson, Poisson, (p, q) => tf.sub(tf.mul(p.rate, tf.sub(tf.log(p.rate), tf.log(q.rate))), tf.sub(p.rate, q.rate)));

// ---- cross pairs (Bernoulli < Poisson) ----

// KL(Bernoulli(p) || Poisson(r)) = -H(p) - (p log r - r): the Poisson also puts mass on 0 and 1.
registerKL(Bernoulli, Poisson, (p, q) => tf.sub(tf.neg(p.entropy()), tf.sub(tf.mul(p.probs, tf.log(q.rate)), q.rate)));
// A Poisson puts mass on 2, 3, ..., where a Bernoulli has none.
registerKL(Poisson, Bernoulli, infiniteKL);
