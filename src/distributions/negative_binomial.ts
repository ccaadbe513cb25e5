/**
 * The negative binomial distribution, torch.distributions.NegativeBinomial.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { halfOpenInterval, nonnegative, nonnegativeInteger, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { logBinomialPmf, type CountParams } from './binomial.js';
import { standardGamma } from './gamma.js';
import { samplePoisson } from './poisson.js';
import { binaryComplement, binaryLogs, binaryParams, probsOrLogits, type TensorInput } from './util.js';

/**
 * NegativeBinomial({ totalCount, probs } | { totalCount, logits }): the number of successes of
 * Bernoulli(probs) trials before `totalCount` failures, with torch's convention (probs is the
 * success probability): P(k) = Gamma(k + r) / (Gamma(r) k!) p^k (1 - p)^r for k = 0, 1, ...
 * `totalCount` r >= 0 is real (r = 0 is the point mass at 0). Samples are Poisson(Gamma(r) p / (1 - p))
 * counts, drawn on the device. Like torch, no entropy (it has no closed form).
 *
 * @example
 * // Over-dispersed counts: mean r p / (1 - p) = 6, variance 6 / (1 - p) = 15.
 * const reads = new NegativeBinomial({ totalCount: 4, probs: 0.6 });
 */
export class NegativeBinomial extends Distribution {
  /** Number of failures r >= 0 (real), batch shape. */
  readonly totalCount: tf.Tensor;
  /** Success probability in [0, 1), batch shape. */
  readonly probs: tf.Tensor;
  /** log(probs / (1 - probs)), batch shape. */
  readonly logits: tf.Tensor;
  private readonly given: 'probs' | 'logits';

  constructor(params: CountParams & { totalCount: TensorInput }, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('NegativeBinomial', params);
    const p = prepareParams('NegativeBinomial', { totalCount: params.totalCount, [kind]: value } as Record<'totalCount' | 'probs' | 'logits', unknown>);
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
    return { totalCount: nonnegative, probs: halfOpenInterval(0, 1), logits: real };
  }
  get support(): Constraint {
    return nonnegativeInteger;
  }

  expand(batchShape: number[]): NegativeBinomial {
    return this.expandWith(batchShape, (b) => {
      const totalCount = b(this.totalCount);
      return this.given === 'probs'
        ? new NegativeBinomial({ totalCount, probs: b(this.probs) }, this.options())
        : new NegativeBinomial({ totalCount, logits: b(this.logits) }, this.options());
    });
  }

  /** p / (1 - p): from probs, or exp(logits) (1 - p rounds to 0 near p = 1 in float32). */
  private odds(): tf.Tensor {
    return this.given === 'probs' ? tf.div(this.probs, tf.sub(1, this.probs)) : tf.exp(this.logits);
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    // X | L ~ Poisson(L), L ~ Gamma(r, rate (1 - p) / p): a Gamma-Poisson mixture; L = 0 at r = 0.
    const shape = [...sampleShape, ...this.batchShape];
    const r = broadcastTo(this.totalCount, shape);
    const g = standardGamma(tf.where(tf.equal(r, 0), tf.onesLike(r), r));
    const rate = tf.where(tf.equal(r, 0), tf.zerosLike(r), tf.mul(g, this.odds()));
    return samplePoisson(rate);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // C(k + r - 1, k) = r / (k + r) C(k + r, k), so log P(k) = log(r / (k + r)) + log Bin(k; k + r, p),
    // the binomial term in Loader's stable form (lgamma(k + r) - lgamma(r) cancels at large r);
    // r log(1 - p) at k = 0 (0 when r = 0).
    const r = this.totalCount;
    const logs = binaryLogs(this.given, this.probs, this.logits);
    const zero = tf.equal(x, 0);
    const k = tf.where(zero, tf.onesLike(x), x);
    const n = tf.add(k, r);
    const positive = tf.add(tf.log(tf.div(r, n)), logBinomialPmf(k, n, logs, this.probs, binaryComplement(this.given, this.probs, this.logits)));
    const rLogQ = tf.mul(r, logs[1]);
    const atZero = tf.where(tf.equal(r, 0), tf.zerosLike(rLogQ), rLogQ);
    return tf.where(zero, broadcastTo(atZero, positive.shape), positive);
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(this.totalCount, this.odds());
  }
  protected override _mode(): tf.Tensor {
    return tf.relu(tf.floor(tf.mul(tf.sub(this.totalCount, 1), this.odds())));
  }
  protected override _variance(): tf.Tensor {
    return tf.div(tf.mul(this.totalCount, this.odds()), binaryComplement(this.given, this.probs, this.logits));
  }
}
