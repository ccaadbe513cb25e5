/**
 * The Bernoulli distribution, torch.distributions.Bernoulli.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bernoulliLogProb, bernoulliLogProbSum } from '../math/fused.js';
import { nextSeed } from '../random.js';
import { boolean, real, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { binaryParams, probsOrLogits, type ProbsOrLogits } from './util.js';

/**
 * Bernoulli({ probs } | { logits }): P(x = 1) = probs = sigmoid(logits). Both `probs` and
 * `logits` are available whichever was given; computations use logits (finite for any logit).
 *
 * @example
 * const px = new Bernoulli({ logits: decoderOutput }); // [B, 784]
 * const ll = px.logProb(x);                             // [B, 784]
 */
export class Bernoulli extends Distribution {
  /** log(probs / (1 - probs)), batch shape. */
  readonly logits: tf.Tensor;
  /** probs as given, or sigmoid(logits) once something has used it (a decoder's logProb never does). */
  private probsTensor: tf.Tensor | null;

  constructor(params: ProbsOrLogits, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('Bernoulli', params);
    const p = prepareParams('Bernoulli', { [kind]: value } as Record<'probs' | 'logits', unknown>);
    super(p.batchShape, [], options);
    const given = p.values[kind];
    this.given = kind;
    if (kind === 'probs') {
      const pl = binaryParams(kind, given, false);
      this.probsTensor = pl.probs;
      this.logits = pl.logits;
      this.init([...p.created, ...pl.made], { [kind]: given });
    } else {
      this.probsTensor = null;
      this.logits = given;
      this.init(p.created, { [kind]: given });
    }
  }

  /**
   * P(x = 1), batch shape. Given logits, sigmoid(logits) is computed on first use (as torch's
   * lazy_property), so a decoder's logProb, which uses the logits alone, spends no pass on it (6 ms
   * of a 112 ms IWAE-1000 chunk). The tensor belongs to the distribution; made inside a
   * `tf.tidy` it is freed with that scope and made again on the next use.
   */
  get probs(): tf.Tensor {
    if (this.given === 'logits' && (this.probsTensor == null || this.probsTensor.isDisposed)) this.probsTensor = tf.sigmoid(this.logits);
    return this.probsTensor!;
  }

  override dispose(): void {
    if (this.given === 'logits') this.probsTensor?.dispose();
    super.dispose();
  }

  /** Which parameter the user gave ('probs' or 'logits'). */
  private readonly given: 'probs' | 'logits';

  get argConstraints(): Record<string, Constraint> {
    return { probs: unitInterval, logits: real };
  }

  /**
   * Where `outcome` has no mass by construction: probs given as exactly 1 - outcome, or logits
   * of -inf (outcome 1) / +inf (outcome 0). Boolean, batch shape.
   */
  massless(outcome: 0 | 1): tf.Tensor {
    return tf.tidy(() => (this.given === 'probs' ? tf.equal(this.probs, 1 - outcome) : tf.equal(this.logits, outcome === 1 ? -Infinity : Infinity)));
  }
  get support(): Constraint {
    return boolean;
  }

  expand(batchShape: number[]): Bernoulli {
    return this.expandWith(batchShape, (b) =>
      this.given === 'probs' ? new Bernoulli({ probs: b(this.probs) }, this.options()) : new Bernoulli({ logits: b(this.logits) }, this.options()),
    );
  }

  override get hasEnumerateSupport(): boolean {
    return true;
  }
  protected override _enumerateSupport(): tf.Tensor {
    return tf.tensor1d([0, 1]);
  }
  protected override _sample(sampleShape: number[]): tf.Tensor {
    const u = tf.randomUniform([...sampleShape, ...this.batchShape], 0, 1, 'float32', nextSeed());
    return tf.cast(tf.less(u, this.probs), 'float32');
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // x * l - softplus(l), with the limits at infinite logits: src/math/fused.ts.
    return bernoulliLogProb(this.logits, x);
  }
  protected override _logProbSumRightmost(x: tf.Tensor, n: number): tf.Tensor {
    return bernoulliLogProbSum(this.logits, x, n);
  }
  protected override _entropy(): tf.Tensor {
    // softplus(l) - p * l; 0 at infinite logits (a sure outcome), not inf - inf.
    const h = tf.sub(tf.softplus(this.logits), tf.mul(this.probs, this.logits));
    return tf.where(tf.equal(tf.abs(this.logits), Infinity), tf.zerosLike(h), h);
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.probs);
  }
  protected override _mode(): tf.Tensor {
    // 1 where probs > 1/2, 0 where below, NaN at exactly 1/2 (as torch).
    const mode = tf.cast(tf.greaterEqual(this.probs, 0.5), 'float32');
    return tf.where(tf.equal(this.probs, 0.5), tf.fill(this.batchShape, NaN), mode);
  }
  protected override _variance(): tf.Tensor {
    // From logits: sigmoid(l) sigmoid(-l) keeps the tiny variance of extreme logits, where
    // 1 - p rounds to 0 in float32; from probs: p (1 - p) exactly (0 at p = 0 or 1).
    if (this.given === 'probs') return tf.mul(this.probs, tf.sub(1, this.probs));
    return tf.mul(tf.sigmoid(this.logits), tf.sigmoid(tf.neg(this.logits)));
  }
}

// KL = p log(p/q) + (1-p) log((1-p)/(1-q)); log p = -softplus(-l) and log(1-p) = -softplus(l)
// keep every term finite for finite logits. An outcome has zero mass only when it was given so
// (probs exactly 0 or 1, or infinite logits), not when sigmoid rounds to 0 or 1: then a q without
// mass where p has some gives +inf, and p's own zero-mass terms are 0 (as torch).
registerKL(Bernoulli, Bernoulli, (p, q) => {
  let t1 = tf.mul(p.probs, tf.sub(tf.softplus(tf.neg(q.logits)), tf.softplus(tf.neg(p.logits))));
  t1 = tf.where(p.massless(1), tf.zerosLike(t1), tf.where(q.massless(1), tf.fill(t1.shape, Infinity), t1));
  let t2 = tf.mul(tf.sub(1, p.probs), tf.sub(tf.softplus(q.logits), tf.softplus(p.logits)));
  t2 = tf.where(p.massless(0), tf.zerosLike(t2), tf.where(q.massless(0), tf.fill(t2.shape, Infinity), t2));
  return tf.add(t1, t2);
});
