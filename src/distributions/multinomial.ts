/**
 * The multinomial distribution, torch.distributions.Multinomial.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { deviance, lgammaNumber, stirlingRemainder } from '../math/special.js';
import { logBinomialPmf } from './binomial.js';
import { Categorical } from './categorical.js';
import { multinomial, realVector, unnormalizedSimplex, type Constraint } from './constraints.js';
import { Distribution, type BaseOptions, type DistributionOptions } from './distribution.js';
import { probsOrLogits, type ProbsOrLogits } from './util.js';

/** Draws per chunk of the sampler are capped so one chunk holds at most this many one-hot entries. */
const SAMPLE_CHUNK_ENTRIES = 1 << 22;

/**
 * Multinomial({ totalCount, probs } | { totalCount, logits }): the counts of each of K classes in
 * `totalCount` independent Categorical draws, P(x) = n! / prod_i x_i! prod_i p_i^(x_i), event
 * shape [K]. `totalCount` is one nonnegative integer for the batch (a JavaScript number, as
 * torch's int), default 1; probs need not be normalised. As in torch, logProb takes n = sum_i x_i
 * from the value, so it also scores counts of fewer trials.
 *
 * @example
 * const votes = new Multinomial({ totalCount: 100, probs: [0.5, 0.3, 0.2] });
 * votes.sample([4]); // [4, 3] counts, each row summing to 100
 */
export class Multinomial extends Distribution {
  /** Number of trials. */
  readonly totalCount: number;
  /** The Categorical of one draw (owned). */
  readonly categorical: Categorical;

  constructor(params: ProbsOrLogits & { totalCount?: number }, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('Multinomial', params);
    const totalCount = (params as { totalCount?: unknown }).totalCount ?? 1;
    if (typeof totalCount !== 'number' || !Number.isInteger(totalCount) || totalCount < 0) {
      throw argError('Multinomial', 'totalCount', 'a nonnegative integer (a number: one count for the whole batch, as torch)', totalCount);
    }
    const categorical = new Categorical(kind === 'probs' ? { probs: value } : { logits: value }, { ...options, reportAs: 'Multinomial' } as BaseOptions);
    super(categorical.batchShape, [categorical.numEvents], options);
    this.totalCount = totalCount;
    this.categorical = categorical;
  }

  /** Normalised probabilities, `[...batchShape, K]`. */
  get probs(): tf.Tensor {
    return this.categorical.probs;
  }
  /** Normalised log-probabilities, `[...batchShape, K]`. */
  get logits(): tf.Tensor {
    return this.categorical.logits;
  }
  get argConstraints(): Record<string, Constraint> {
    return { probs: unnormalizedSimplex, logits: realVector };
  }
  get support(): Constraint {
    return multinomial(this.totalCount);
  }

  expand(batchShape: number[]): Multinomial {
    return this.expandWith(batchShape, (b) => new Multinomial({ totalCount: this.totalCount, logits: b(this.logits, 1) }, this.options()));
  }

  override dispose(): void {
    this.categorical.dispose();
    super.dispose();
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    // The counts of n categorical draws, summed over chunks of draws (bounded memory).
    const k = this.categorical.numEvents;
    const perDraw = Math.max(1, [...sampleShape, ...this.batchShape].reduce((a, b) => a * b, 1) * k);
    const chunk = Math.max(1, Math.floor(SAMPLE_CHUNK_ENTRIES / perDraw));
    let counts: tf.Tensor = tf.zeros([...sampleShape, ...this.batchShape, k]);
    for (let done = 0; done < this.totalCount; done += chunk) {
      const m = Math.min(chunk, this.totalCount - done);
      const next = tf.tidy(() => tf.add(counts, tf.sum(tf.oneHot(this.categorical.sample([m, ...sampleShape]), k), 0)));
      counts.dispose();
      counts = next;
    }
    return counts;
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log n! - sum_i log x_i! + sum_i x_i log p_i with n = sum_i x_i, in Loader's form: Stirling's
    // series for each factorial and sum_i p_i = 1 turn it into
    //   w(n) - sum_(x_i > 0) w(x_i) + log(2 pi n) / 2 - sum_(x_i > 0) log(2 pi x_i) / 2 - sum_i bd0(x_i, n p_i),
    // which keeps its precision where the direct terms (lgamma(201) = 863) cancel; 0 at n = 0.
    const n = tf.sum(x, -1, true);
    const pos = tf.greater(x, 0);
    const xs = tf.where(pos, x, tf.onesLike(x));
    const perClass = tf.where(pos, tf.add(stirlingRemainder(xs), tf.mul(0.5, tf.log(tf.mul(xs, 2 * Math.PI)))), tf.zerosLike(x));
    const ns = tf.where(tf.greater(n, 0), n, tf.onesLike(n));
    const whole = tf.squeeze(tf.add(stirlingRemainder(ns), tf.mul(0.5, tf.log(tf.mul(ns, 2 * Math.PI)))), [-1]);
    const lp = tf.sub(tf.sub(whole, tf.sum(perClass, -1)), tf.sum(deviance(x, tf.mul(ns, this.probs)), -1));
    return tf.where(tf.equal(tf.squeeze(n, [-1]), 0), tf.zerosLike(lp), lp);
  }
  protected override _entropy(): tf.Tensor {
    // torch's H = n H(p) - lgamma(n + 1) + sum_i E[lgamma(X_i + 1)], X_i ~ Binomial(n, p_i), cancels
    // (terms of 1e3 to an entropy of 3 at n = 200). With Stirling's series for every factorial and
    // mu_i = n p_i it is
    //   H = sum_i E[bd0(X_i, mu_i) + g(X_i)] - log(2 pi n) / 2 - w(n),  g(k) = log(2 pi k) / 2 + w(k), g(0) = 0,
    // a sum of moderate terms (E[bd0(X, mu)] is about (1 - p) / 2); 0 at n = 0.
    const n = this.totalCount;
    if (n === 0) return tf.zeros(this.batchShape);
    const p = this.probs;
    const logs: [tf.Tensor, tf.Tensor] = [this.logits, tf.log1p(tf.neg(p))];
    const k = tf.reshape(tf.range(0, n + 1, 1, 'float32'), [n + 1, ...p.shape.map(() => 1)]); // [n + 1, 1, ..., 1]
    const pmf = tf.exp(logBinomialPmf(k, tf.scalar(n), logs, p, tf.sub(1, p))); // [n + 1, ...batch, K]
    const ks = tf.where(tf.greater(k, 0), k, tf.onesLike(k));
    const g = tf.where(tf.greater(k, 0), tf.add(stirlingRemainder(ks), tf.mul(0.5, tf.log(tf.mul(ks, 2 * Math.PI)))), tf.zerosLike(k));
    const f = tf.add(deviance(k, tf.mul(n, p)), g);
    const terms = tf.where(tf.equal(pmf, 0), tf.zerosLike(pmf), tf.mul(pmf, f));
    const whole = lgammaNumber(n + 1) - n * Math.log(n) + n; // log(2 pi n) / 2 + w(n), in float64
    return tf.sub(tf.sum(terms, [0, p.rank]), whole);
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(this.probs, this.totalCount);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul(tf.mul(this.probs, tf.sub(1, this.probs)), this.totalCount);
  }
}
