/**
 * The binomial distribution, torch.distributions.Binomial, and the log-density of counts that
 * NegativeBinomial and Multinomial share.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DlvmError } from '../errors.js';
import { broadcastTo } from '../math/ops.js';
import { deviance, stirlingRemainder } from '../math/special.js';
import { nextSeed } from '../random.js';
import { integerInterval, nonnegativeInteger, real, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { Bernoulli } from './bernoulli.js';
import { klDivergence, registerKL } from './kl.js';
import { Poisson } from './poisson.js';
import {
  binaryComplement,
  binaryLogs,
  binaryParams,
  countByTail,
  firstAccepted,
  hostValuesOf,
  infiniteKL,
  probsOrLogits,
  type ProbsOrLogits,
  type TensorInput,
} from './util.js';

/** n * x with 0 * x = 0 (also for x = -inf: no trials, no log-probability). */
function timesCount(n: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const t = tf.mul(n, x);
  return tf.where(tf.equal(n, 0), tf.zerosLike(t), t);
}

/**
 * log P(X = k) of Binomial(n, p) for 0 <= k <= n, in C. Loader's saddle-point form ("Fast and
 * accurate computation of binomial probabilities", 2000): for 0 < k < n,
 *   log P = w(n) - w(k) - w(n - k) - log(2 pi k (n - k) / n) / 2 - bd0(k, n p) - bd0(n - k, n q)
 * ({@link stirlingRemainder} w, {@link deviance} bd0), which has none of the cancellation of
 * lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k log p + (n - k) log q (terms of 8e4 at
 * n = 1e4 that cancel to a few units, 1e-3 lost in float32); (n - k) log q at k = 0 and k log p
 * at k = n. Real n and k are allowed (NegativeBinomial uses n = k + r). `logP`, `log1mP`, `p`,
 * `q` are log p, log(1 - p), p and 1 - p, each exact from the given parameter.
 */
export function logBinomialPmf(k: tf.Tensor, n: tf.Tensor, logs: [tf.Tensor, tf.Tensor], p: tf.Tensor, q: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [logP, log1mP] = logs;
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(k.shape, tf.broadcast_util.assertAndGetBroadcastShape(n.shape, p.shape));
    const kb = broadcastTo(k, shape);
    const nb = broadcastTo(n, shape);
    const atZero = tf.equal(kb, 0);
    const atN = tf.equal(kb, nb);
    const interior = tf.logicalNot(tf.logicalOr(atZero, atN));
    // Safe arguments where the other branch is taken (finite values and gradients).
    const kk = tf.where(interior, kb, tf.onesLike(kb));
    const nn = tf.where(interior, nb, tf.fill(shape, 2));
    const nk = tf.sub(nn, kk);
    const w = tf.sub(stirlingRemainder(nn), tf.add(stirlingRemainder(kk), stirlingRemainder(nk)));
    const gauss = tf.mul(0.5, tf.log(tf.div(tf.mul(tf.mul(kk, nk), 2 * Math.PI), nn)));
    const dev = tf.add(deviance(kk, tf.mul(nn, p)), deviance(nk, tf.mul(nn, q)));
    const middle = tf.sub(tf.sub(w, gauss), dev);
    const edge = tf.where(atZero, timesCount(nb, log1mP), timesCount(kb, logP));
    return tf.where(interior, middle, edge);
  });
}

/** Draws with n p below this are made by inversion, the others by BTRS (Hormann's method needs n p >= 10). */
const INVERSION_MAX_MEAN = 10;
/**
 * Terms of the inversion: a draw is at most this. For a sum of Bernoulli trials with mean
 * mu < 10, Chernoff's bound P(X >= 40) <= e^-mu (e mu / 40)^40 < 9e-12 bounds both the mass
 * left out and the chance of a capped draw.
 */
const INVERSION_TERMS = 40;
/**
 * Rounds of BTRS. Its acceptance probability, measured by simulation over n p >= 10 with p <= 1/2
 * (2e6 proposals per point), is lowest at the boundary: 0.709 at n = 20, p = 1/2 (0.74 at n p = 10
 * with small p, 0.87 and more for n p >= 1e3), so an element is left without an accepted
 * candidate after 24 rounds with probability below 0.291^24 = 1.4e-13.
 */
const BTRS_ROUNDS = 24;

/** Inversion for n p < 10, p <= 1/2: p_j = p_(j-1) (n - j + 1) / j * p / q from p_0 = q^n. */
function binomialInversion(n: tf.Tensor, p: tf.Tensor): tf.Tensor {
  const odds = tf.div(p, tf.sub(1, p));
  const terms: tf.Tensor[] = [tf.exp(tf.mul(n, tf.log1p(tf.neg(p))))];
  for (let j = 1; j <= INVERSION_TERMS; j++) terms.push(tf.mul(terms[j - 1]!, tf.mul(tf.div(tf.relu(tf.sub(n, j - 1)), j), odds)));
  return countByTail(tf.randomUniform(n.shape, 0, 1, 'float32', nextSeed()), terms);
}

/**
 * Hormann's transformed rejection with squeeze for n p >= 10, p <= 1/2 (BTRS, "The generation of
 * binomial random variates", 1993), vectorised as Poisson's PTRS: {@link BTRS_ROUNDS} rounds at
 * once, each element takes its first accepted candidate, or the mode floor((n + 1) p) when none
 * is. The acceptance test compares with log P(k) - log P(m) in the stable form above.
 */
function binomialBtrs(n: tf.Tensor, p: tf.Tensor): tf.Tensor {
  const q = tf.sub(1, p);
  const spq = tf.sqrt(tf.mul(n, tf.mul(p, q)));
  const b = tf.add(1.15, tf.mul(2.53, spq));
  const a = tf.add(tf.add(-0.0873, tf.mul(0.0248, b)), tf.mul(0.01, p));
  const c = tf.add(tf.mul(n, p), 0.5);
  const vr = tf.sub(0.92, tf.div(4.2, b));
  const alpha = tf.mul(tf.add(2.83, tf.div(5.1, b)), spq);
  const m = tf.floor(tf.mul(tf.add(n, 1), p));
  const shape = [BTRS_ROUNDS, ...n.shape];
  const u = tf.randomUniform(shape, -0.5, 0.5, 'float32', nextSeed());
  const v = tf.randomUniform(shape, 0, 1, 'float32', nextSeed());
  const us = tf.sub(0.5, tf.abs(u));
  const k = tf.floor(tf.add(tf.mul(tf.add(tf.div(tf.mul(a, 2), us), b), u), c));
  const inRange = tf.logicalAnd(tf.greaterEqual(k, 0), tf.lessEqual(k, n));
  const kSafe = tf.where(inRange, k, broadcastTo(m, shape));
  const quick = tf.logicalAnd(tf.greaterEqual(us, 0.07), tf.lessEqual(v, vr));
  const logs: [tf.Tensor, tf.Tensor] = [tf.log(p), tf.log1p(tf.neg(p))];
  const logRatio = tf.sub(logBinomialPmf(kSafe, n, logs, p, q), logBinomialPmf(m, n, logs, p, q));
  const logHat = tf.sub(tf.add(tf.log(v), tf.log(alpha)), tf.log(tf.add(tf.div(a, tf.square(us)), b)));
  const accept = tf.logicalAnd(inRange, tf.logicalOr(quick, tf.lessEqual(logHat, logRatio)));
  return firstAccepted(accept, kSafe, m);
}

/** The largest entry of a totalCount with host values, for sums over the support; throws without them. */
export function hostMaxCount(fn: string, totalCount: tf.Tensor): { max: number; min: number } {
  const h = hostValuesOf(totalCount);
  if (h === undefined) {
    throw new DlvmError(
      `${fn}: needs totalCount on the host, to size the sum over the support: give totalCount as numbers or nested arrays, ` +
        'not as a Tensor (for a Tensor t, pass await t.array(): dlvm does not read device values synchronously).',
    );
  }
  let max = 0;
  let min = Infinity;
  for (const x of h.values) {
    max = Math.max(max, x);
    min = Math.min(min, x);
  }
  return { max, min: h.values.length === 0 ? 0 : min };
}

/** Options of Binomial and NegativeBinomial: the number of trials (failures) with probs or logits. */
export type CountParams = ProbsOrLogits & { totalCount?: TensorInput };

/**
 * Binomial({ totalCount, probs } | { totalCount, logits }): the number of successes in
 * `totalCount` independent Bernoulli(probs) trials, P(k) = C(n, k) p^k (1 - p)^(n - k) for
 * k = 0, ..., n. `totalCount` defaults to 1, as in torch. Samples are float32 counts, drawn on the
 * device (inversion below n p = 10, BTRS above), exact in float32 up to 2^24 trials.
 *
 * @example
 * const clicks = new Binomial({ totalCount: 20, probs: 0.3 });
 * clicks.logProb(tf.tensor([0, 6, 20])); // log P(k)
 */
export class Binomial extends Distribution {
  /** Number of trials, a nonnegative integer, batch shape. */
  readonly totalCount: tf.Tensor;
  /** Success probability in [0, 1], batch shape. */
  readonly probs: tf.Tensor;
  /** log(probs / (1 - probs)), batch shape. */
  readonly logits: tf.Tensor;
  /** Which of probs and logits was given (the other is derived from it). */
  readonly given: 'probs' | 'logits';

  constructor(params: CountParams, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('Binomial', params);
    const p = prepareParams('Binomial', { totalCount: params.totalCount ?? 1, [kind]: value } as Record<'totalCount' | 'probs' | 'logits', unknown>);
    super(p.batchShape, [], options);
    const given = p.values[kind];
    const pl = binaryParams(kind, given, false);
    this.totalCount = p.values.totalCount;
    this.probs = pl.probs;
    this.logits = pl.logits;
    this.given = kind;
    this.init([...p.created, ...pl.made], { totalCount: this.totalCount, [kind]: given });
  }

  get argConstraints(): Record<string, Constraint> {
    return { totalCount: nonnegativeInteger, probs: unitInterval, logits: real };
  }
  get support(): Constraint {
    return integerInterval(0, this.totalCount, 'totalCount');
  }
  override get hasEnumerateSupport(): boolean {
    return true;
  }

  expand(batchShape: number[]): Binomial {
    return this.expandWith(batchShape, (b) => {
      const totalCount = b(this.totalCount);
      return this.given === 'probs'
        ? new Binomial({ totalCount, probs: b(this.probs) }, this.options())
        : new Binomial({ totalCount, logits: b(this.logits) }, this.options());
    });
  }

  /** [log p, log(1 - p)], exact from the given parameter. */
  logs(): [tf.Tensor, tf.Tensor] {
    return binaryLogs(this.given, this.probs, this.logits);
  }
  /** 1 - probs, exact from the given parameter. */
  complement(): tf.Tensor {
    return binaryComplement(this.given, this.probs, this.logits);
  }

  protected override _enumerateSupport(): tf.Tensor {
    const { max, min } = hostMaxCount(`${this.name}.enumerateSupport`, this.totalCount);
    if (max !== min) {
      throw new DlvmError(
        `${this.name}.enumerateSupport: totalCount must be the same across the batch to enumerate one support, found ${min} to ${max} (as in torch).`,
      );
    }
    return tf.range(0, max + 1, 1, 'float32');
  }
  protected override _sample(sampleShape: number[]): tf.Tensor {
    // Draws of min(p, q) by the method its mean n min(p, q) calls for, reflected (n - X) where
    // p > 1/2; both methods run on every element with safe parameters where the other applies.
    const shape = [...sampleShape, ...this.batchShape];
    const n = broadcastTo(this.totalCount, shape);
    const q = this.complement();
    const flip = broadcastTo(tf.greater(this.probs, q), shape);
    const pp = broadcastTo(tf.minimum(this.probs, q), shape);
    const small = tf.less(tf.mul(n, pp), INVERSION_MAX_MEAN);
    const byInversion = binomialInversion(tf.where(small, n, tf.zerosLike(n)), tf.where(small, pp, tf.zerosLike(pp)));
    const byRejection = binomialBtrs(tf.where(small, tf.fill(shape, 2 * INVERSION_MAX_MEAN), n), tf.where(small, tf.fill(shape, 0.5), pp));
    const x = tf.where(small, byInversion, byRejection);
    return tf.where(flip, tf.sub(n, x), x);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return logBinomialPmf(x, this.totalCount, this.logs(), this.probs, this.complement());
  }
  protected override _entropy(): tf.Tensor {
    // -sum_k P(k) log P(k) over k = 0, ..., max n (terms past an element's own n are 0); torch
    // enumerates the support and so needs one totalCount for the batch, this does not.
    return supportSum(`${this.name}.entropy`, this, (lp) => tf.neg(tf.mul(tf.exp(lp), lp)));
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(this.totalCount, this.probs);
  }
  protected override _mode(): tf.Tensor {
    return tf.minimum(tf.floor(tf.mul(tf.add(this.totalCount, 1), this.probs)), this.totalCount);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul(tf.mul(this.totalCount, this.probs), this.complement());
  }
}

/**
 * sum_(k = 0..n) term(log P(k), k) per batch element of a Binomial, over k up to the largest
 * totalCount (host values needed), with the terms past each element's own n left out.
 */
function supportSum(fn: string, d: Binomial, term: (logProb: tf.Tensor, k: tf.Tensor) => tf.Tensor): tf.Tensor {
  const { max } = hostMaxCount(fn, d.totalCount);
  const k = tf.reshape(tf.range(0, max + 1, 1, 'float32'), [max + 1, ...d.batchShape.map(() => 1)]);
  const inSupport = tf.lessEqual(k, d.totalCount); // [max + 1, ...batch]
  const kSafe = tf.minimum(k, d.totalCount);
  const lp = logBinomialPmf(kSafe, d.totalCount, d.logs(), d.probs, d.complement());
  const t = term(lp, kSafe);
  // P(k) = 0 terms (p = 0 or 1) contribute 0, not 0 * inf.
  return tf.sum(tf.where(tf.logicalAnd(inSupport, tf.greater(lp, -Infinity)), t, tf.zerosLike(t)), 0);
}

// KL(Bin(n, p) || Bin(m, q)): n KL(Bernoulli(p) || Bernoulli(q)) when n = m; +inf when n > m (p has
// mass past m); for n < m, which torch does not implement, the sum over p's support
// sum_k P(k) (log P(k) - log Q(k)), which needs p's totalCount on the host (NaN there without it).
registerKL(Binomial, Binomial, (p, q) => {
  const asBernoulli = (d: Binomial) => new Bernoulli(d.given === 'probs' ? { probs: d.probs } : { logits: d.logits }, { validateArgs: false });
  const bp = asBernoulli(p);
  const bq = asBernoulli(q);
  try {
    const same = tf.mul(p.totalCount, klDivergence(bp, bq));
    const more = tf.greater(p.totalCount, q.totalCount);
    const fewer = tf.less(p.totalCount, q.totalCount);
    const hostP = hostValuesOf(p.totalCount);
    const hostQ = hostValuesOf(q.totalCount);
    const noneFewer = hostP && hostQ && hostP.values.length === hostQ.values.length && hostP.values.every((n, i) => n >= hostQ.values[i]!);
    let fewerValue: tf.Tensor;
    if (noneFewer) fewerValue = tf.zerosLike(same);
    else if (hostP) {
      fewerValue = supportSum('klDivergence(Binomial, Binomial)', p, (lp, k) =>
        tf.sub(tf.mul(tf.exp(lp), lp), tf.mul(tf.exp(lp), logBinomialPmf(k, q.totalCount, q.logs(), q.probs, q.complement()))),
      );
    } else fewerValue = tf.fill(same.shape, NaN);
    return tf.where(more, tf.fill(same.shape, Infinity), tf.where(fewer, fewerValue, same));
  } finally {
    bp.dispose();
    bq.dispose();
  }
});
// A Poisson puts mass on every count, a Binomial none past its totalCount.
registerKL(Poisson, Binomial, infiniteKL);
