/**
 * The Poisson distribution, torch.distributions.Poisson.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { lgamma, xlogy } from '../math/special.js';
import { nextSeed } from '../random.js';
import { nonnegative, nonnegativeInteger, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Bernoulli } from './bernoulli.js';
import { firstAccepted, infiniteKL, type TensorInput } from './util.js';

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
 * Draws for rates in [0, 10) by inversion: X = #{n < N : S(n) > U} with U ~ U[0, 1) and the tail
 * S(n) = P(X > n) = sum_(j = n+1..N) p_j. The tail is summed upwards from the smallest term, so it
 * keeps its relative precision in float32 where 1 - F(n) would round to 0 (a CDF compared with
 * U near 1 would lose the upper tail); p_j = p_(j-1) rate / j from p_0 = e^-rate.
 */
function poissonInversion(rate: tf.Tensor): tf.Tensor {
  const u = tf.randomUniform(rate.shape, 0, 1, 'float32', nextSeed());
  const p: tf.Tensor[] = [tf.exp(tf.neg(rate))];
  for (let j = 1; j <= INVERSION_TERMS; j++) p.push(tf.mul(p[j - 1]!, tf.div(rate, j)));
  let tail: tf.Tensor = tf.zerosLike(rate);
  let count: tf.Tensor = tf.zerosLike(rate);
  for (let n = INVERSION_TERMS - 1; n >= 0; n--) {
    tail = tf.add(tail, p[n + 1]!);
    count = tf.add(count, tf.cast(tf.greater(tail, u), 'float32'));
  }
  return count;
}

/**
 * log P(X = k) for Poisson(rate), rate >= 10, k >= 0 integer-valued, in a form without the
 * cancellation of k log(rate) - rate - lgamma(k + 1) (three terms of size ~rate): for k >= 10,
 * with Stirling's series lgamma(k + 1) = k log k - k + log(2 pi k) / 2 + s(k),
 *   log P(X = k) = -rate phi(t) - log(2 pi k) / 2 - s(k),  t = (k - rate) / rate,
 *   phi(t) = (1 + t) log(1 + t) - t = t^2 sum_j (-t)^j / ((j + 1)(j + 2)),
 * the series for |t| < 0.25 (12 terms, error < 1e-9 relative), s(k) = 1/(12k) - 1/(360k^3) +
 * 1/(1260k^5) (error < 1e-11); for k < 10 the direct form.
 */
function logPoissonPmf(k: tf.Tensor, rate: tf.Tensor): tf.Tensor {
  const big = tf.greaterEqual(k, 10);
  const kBig = tf.where(big, k, tf.fill(k.shape, 10));
  const t = tf.div(tf.sub(kBig, rate), rate);
  const near = tf.less(tf.abs(t), 0.25);
  const tNear = tf.where(near, t, tf.zerosLike(t));
  let series: tf.Tensor = tf.scalar(1 / (12 * 13));
  for (let j = 10; j >= 0; j--) series = tf.add(1 / ((j + 1) * (j + 2)), tf.mul(tf.neg(tNear), series));
  const ratio = tf.div(kBig, rate);
  const phi = tf.where(near, tf.mul(tf.square(tNear), series), tf.sub(tf.mul(ratio, tf.log(ratio)), t));
  const r = tf.reciprocal(kBig);
  const r2 = tf.square(r);
  const stirling = tf.mul(r, tf.sub(1 / 12, tf.mul(r2, tf.sub(1 / 360, tf.mul(r2, 1 / 1260)))));
  const logBig = tf.sub(tf.sub(tf.neg(tf.mul(rate, phi)), tf.mul(0.5, tf.log(tf.mul(kBig, 2 * Math.PI)))), stirling);
  const kSmall = tf.where(big, tf.zerosLike(k), k);
  const logSmall = tf.sub(tf.sub(tf.mul(kSmall, tf.log(rate)), rate), lgamma(tf.add(kSmall, 1)));
  return tf.where(big, logBig, logSmall);
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
    // Both methods run on every element (with a safe rate where the other applies) and the
    // result is chosen per element, so nothing is read back: inversion below rate 10, PTRS above.
    return tf.tidy(() => {
      const rate = broadcastTo(this.rate, [...sampleShape, ...this.batchShape]);
      const small = tf.less(rate, INVERSION_MAX_RATE);
      const byInversion = poissonInversion(tf.where(small, rate, tf.zerosLike(rate)));
      const byRejection = poissonPtrs(tf.where(small, tf.fill(rate.shape, INVERSION_MAX_RATE), rate));
      return tf.where(small, byInversion, byRejection);
    });
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
