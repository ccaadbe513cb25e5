/**
 * The continuous Bernoulli distribution (Loaiza-Ganem & Cunningham 2019),
 * torch.distributions.ContinuousBernoulli.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { real, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Beta } from './beta.js';
import { Exponential } from './exponential.js';
import { Gamma } from './gamma.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { binaryParams, fillWhere, infiniteKL, probsOrLogits, type ProbsOrLogits } from './util.js';

/**
 * ContinuousBernoulli({ probs } | { logits }) on [0, 1]: density C(probs) probs^x (1-probs)^(1-x),
 * the right likelihood for [0, 1]-valued pixels (Loaiza-Ganem & Cunningham 2019).
 *
 * Everything is computed from the natural parameter lambda = logits, with the density
 * lambda e^(lambda x) / expm1(lambda): expm1/log1p forms that stay exact in float32 for every
 * lambda, and Taylor series for |lambda| < 1 where the closed forms cancel. torch 1.13 computes
 * from clamped probabilities instead, so its values drift for |logits| above ~36 (float64) and
 * its cdf/icdf are the uniform ones on probs in (0.499, 0.501]; docs/distributions.md lists the
 * differences, and the tests compare those cases with numerical integration.
 */
export class ContinuousBernoulli extends Distribution {
  /** Parameter in (0, 1) (not the mean), batch shape. */
  readonly probs: tf.Tensor;
  /** Natural parameter lambda = log(probs / (1 - probs)), batch shape. */
  readonly logits: tf.Tensor;
  private readonly given: 'probs' | 'logits';

  constructor(params: ProbsOrLogits, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('ContinuousBernoulli', params);
    const p = prepareParams('ContinuousBernoulli', { [kind]: value } as Record<'probs' | 'logits', unknown>);
    super(p.batchShape, [], options);
    const given = p.values[kind];
    const pl = binaryParams(kind, given, true);
    this.probs = pl.probs;
    this.logits = pl.logits;
    this.given = kind;
    this.init([...p.created, ...pl.made], { [kind]: given });
  }

  get argConstraints(): Record<string, Constraint> {
    return { probs: unitInterval, logits: real };
  }
  get support(): Constraint {
    return unitInterval;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): ContinuousBernoulli {
    return this.expandWith(batchShape, (b) =>
      this.given === 'probs'
        ? new ContinuousBernoulli({ probs: b(this.probs) }, this.options())
        : new ContinuousBernoulli({ logits: b(this.logits) }, this.options()),
    );
  }

  /** |lambda| < 1, where the Taylor series are used. */
  private small(): tf.Tensor {
    return tf.less(tf.abs(this.logits), 1);
  }
  /** lambda moved away from 0 where small, so unused closed-form branches stay finite. */
  private safeLogits(): tf.Tensor {
    return tf.where(this.small(), tf.onesLike(this.logits), this.logits);
  }

  /**
   * log N(lambda) = log(lambda / expm1(lambda)), the log normaliser of e^(lambda x) on [0, 1]:
   * log|lambda| - log|expm1(lambda)| for lambda < 0 and log(lambda) - lambda - log(-expm1(-lambda))
   * for lambda > 0 (no overflow); its Taylor series near 0.
   */
  logNormalizer(): tf.Tensor {
    return tf.tidy(() => {
      const l = this.safeLogits();
      const neg = tf.sub(tf.log(tf.neg(l)), tf.log(tf.neg(tf.expm1(l))));
      const pos = tf.sub(tf.sub(tf.log(tf.abs(l)), tf.abs(l)), tf.log(tf.neg(tf.expm1(tf.neg(tf.abs(l))))));
      const closed = tf.where(tf.less(l, 0), neg, pos);
      const x = this.logits;
      const x2 = tf.square(x);
      // -(x/2 + x^2/24 - x^4/2880 + x^6/181440), the series of -log(expm1(x)/x).
      const inner = tf.add(-1 / 24, tf.mul(x2, tf.sub(1 / 2880, tf.div(x2, 181440))));
      const taylor = tf.add(tf.mul(-0.5, x), tf.mul(x2, inner));
      return tf.where(this.small(), taylor, closed);
    });
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = tf.randomUniform([...sampleShape, ...this.batchShape], 0, 1, 'float32', nextSeed());
    return this._icdf(u);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(x, this.logits), this.logNormalizer());
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // F(x) = expm1(lambda x) / expm1(lambda); for lambda > 0 as e^(lambda (x - 1)) expm1(-lambda x) / expm1(-lambda).
    const l = tf.where(tf.equal(this.logits, 0), tf.onesLike(this.logits), this.logits);
    const xc = tf.clipByValue(x, 0, 1);
    const neg = tf.div(tf.expm1(tf.mul(l, xc)), tf.expm1(l));
    const pos = tf.mul(tf.exp(tf.mul(l, tf.sub(xc, 1))), tf.div(tf.expm1(tf.neg(tf.mul(l, xc))), tf.expm1(tf.neg(l))));
    const f = tf.where(tf.less(l, 0), neg, pos);
    return tf.where(tf.equal(this.logits, 0), xc, f);
  }
  protected override _icdf(u: tf.Tensor): tf.Tensor {
    // x = log1p(u expm1(lambda)) / lambda, or 1 + log1p((1 - u) expm1(-lambda)) / lambda for lambda > 0.
    const l = tf.where(tf.equal(this.logits, 0), tf.onesLike(this.logits), this.logits);
    const neg = tf.div(tf.log1p(tf.mul(u, tf.expm1(l))), l);
    const pos = tf.add(1, tf.div(tf.log1p(tf.mul(tf.sub(1, u), tf.expm1(tf.neg(l)))), l));
    const x = tf.where(tf.less(l, 0), neg, pos);
    return tf.where(tf.equal(this.logits, 0), u, x);
  }
  protected override _entropy(): tf.Tensor {
    // H = -E[lambda x + log N] = -lambda mean - log N
    return tf.neg(tf.add(tf.mul(this.logits, this._mean()), this.logNormalizer()));
  }
  protected override _mean(): tf.Tensor {
    // -1/expm1(-lambda) - 1/lambda; 1/2 + lambda/12 - lambda^3/720 + lambda^5/30240 near 0.
    const l = this.safeLogits();
    const closed = tf.sub(tf.neg(tf.reciprocal(tf.expm1(tf.neg(l)))), tf.reciprocal(l));
    const x = this.logits;
    const x2 = tf.square(x);
    const taylor = tf.add(0.5, tf.mul(x, tf.add(1 / 12, tf.mul(x2, tf.add(-1 / 720, tf.div(x2, 30240))))));
    return tf.where(this.small(), taylor, closed);
  }
  protected override _variance(): tf.Tensor {
    // 1/lambda^2 - 1/(4 sinh^2(lambda/2)); near 0 the series
    // 1/12 - l^2/240 + l^4/6048 - l^6/172800 + l^8/5322240 (error below 1e-8 for |l| < 1).
    const l = this.safeLogits();
    const closed = tf.sub(tf.reciprocal(tf.square(l)), tf.reciprocal(tf.mul(4, tf.square(tf.sinh(tf.div(l, 2))))));
    const x2 = tf.square(this.logits);
    let taylor: tf.Tensor = tf.scalar(1 / 5322240);
    for (const c of [-1 / 172800, 1 / 6048, -1 / 240, 1 / 12]) taylor = tf.add(c, tf.mul(taylor, x2));
    return tf.where(this.small(), taylor, closed);
  }
  protected override _mode(): tf.Tensor {
    throw this.notDefined('mode');
  }

  /** Mean parameter, used by the KL pairs. */
  meanValue(): tf.Tensor {
    return tf.tidy(() => this._mean());
  }
}

// KL(p || q) = E_p[log p - log q] = (lambda_p - lambda_q) mean_p + log N_p - log N_q
registerKL(ContinuousBernoulli, ContinuousBernoulli, (p, q) =>
  tf.add(tf.mul(p.meanValue(), tf.sub(p.logits, q.logits)), tf.sub(p.logNormalizer(), q.logNormalizer())),
);

// ---- cross pairs with earlier families (... < Gamma < Beta < ContinuousBernoulli) ----
// The uniform pairs use the mathematical support conditions (strict inequalities); torch 1.13
// also returns +inf when an interval merely touches [0, 1] (e.g. KL(CB || Uniform(0, 1))).

registerKL(ContinuousBernoulli, Normal, (p, q) => {
  const mean = p.meanValue();
  const t1 = tf.neg(p.entropy());
  const t2 = tf.add(tf.mul(0.5, tf.add(Math.log(2 * Math.PI), tf.square(tf.div(q.loc, q.scale)))), tf.log(q.scale));
  const num = tf.sub(tf.add(p.variance, tf.square(mean)), tf.mul(tf.mul(2, q.loc), mean));
  return tf.add(tf.add(t1, t2), tf.div(num, tf.mul(2, tf.square(q.scale))));
});
registerKL(ContinuousBernoulli, Uniform, (p, q) => {
  const result = tf.add(tf.neg(p.entropy()), tf.log(tf.sub(q.high, q.low)));
  const outside = tf.logicalOr(tf.greater(q.low, 0), tf.less(q.high, 1));
  return fillWhere(outside, Infinity, result);
});
/** -H(p) - E_p[x] lambda_q - log N_q: KL to a continuous Bernoulli from any p on [0, 1]. */
function klToContinuousBernoulli(p: Distribution, q: ContinuousBernoulli): tf.Tensor {
  return tf.sub(tf.sub(tf.neg(p.entropy()), tf.mul(p.mean, q.logits)), q.logNormalizer());
}
registerKL(Uniform, ContinuousBernoulli, (p, q) => {
  const result = klToContinuousBernoulli(p, q);
  const outside = tf.logicalOr(tf.greater(p.high, 1), tf.less(p.low, 0));
  return fillWhere(outside, Infinity, result);
});
registerKL(Beta, ContinuousBernoulli, klToContinuousBernoulli);
registerKL(ContinuousBernoulli, Exponential, (p, q) => tf.add(tf.sub(tf.neg(p.entropy()), tf.log(q.rate)), tf.mul(q.rate, p.meanValue())));
registerKL(Normal, ContinuousBernoulli, infiniteKL);
registerKL(Laplace, ContinuousBernoulli, infiniteKL);
registerKL(Exponential, ContinuousBernoulli, infiniteKL);
registerKL(Gamma, ContinuousBernoulli, infiniteKL);
