/**
 * The one-hot categorical distribution, torch.distributions.OneHotCategorical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Categorical } from './categorical.js';
import { oneHot, realVector, unnormalizedSimplex, type Constraint } from './constraints.js';
import { Distribution, reportName, type BaseOptions, type DistributionOptions } from './distribution.js';
import { klDivergence, registerKL } from './kl.js';
import { probsOrLogits, stopGradient, type ProbsOrLogits } from './util.js';

/**
 * OneHotCategorical({ probs } | { logits }): a Categorical whose values are one-hot float32
 * vectors of length K (event shape [K]).
 *
 * @example
 * const y = new OneHotCategorical({ logits }); // logits [B, 10]: batch [B], event [10]
 * y.sample();                                  // [B, 10], one 1 per row
 */
export class OneHotCategorical extends Distribution {
  /** The underlying Categorical (owned). */
  readonly categorical: Categorical;

  constructor(params: ProbsOrLogits, options: DistributionOptions = {}) {
    // Messages name this family (or its subclass), not the Categorical it is built on.
    const name = reportName(options, new.target.name);
    probsOrLogits(name, params);
    const categorical = new Categorical(params, { ...options, reportAs: name } as BaseOptions);
    super(categorical.batchShape, [categorical.numEvents], options);
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
    return oneHot;
  }

  expand(batchShape: number[]): OneHotCategorical {
    return this.expandWith(batchShape, (b) => new OneHotCategorical({ logits: b(this.logits, 1) }, this.options()));
  }

  override dispose(): void {
    this.categorical.dispose();
    super.dispose();
  }

  override get hasEnumerateSupport(): boolean {
    return true;
  }
  protected override _enumerateSupport(): tf.Tensor {
    return tf.eye(this.categorical.numEvents);
  }
  protected override _sample(sampleShape: number[]): tf.Tensor {
    return tf.oneHot(this.categorical.sample(sampleShape), this.categorical.numEvents);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return this.categorical.logProb(tf.argMax(x, -1));
  }
  protected override _entropy(): tf.Tensor {
    return this.categorical.entropy();
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.probs);
  }
  protected override _mode(): tf.Tensor {
    return tf.oneHot(tf.argMax(this.probs, -1), this.categorical.numEvents);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul(this.probs, tf.sub(1, this.probs));
  }
}

registerKL(OneHotCategorical, OneHotCategorical, (p, q) => klDivergence(p.categorical, q.categorical));

/**
 * OneHotCategoricalStraightThrough({ probs } | { logits }): a OneHotCategorical whose `rsample`
 * is the straight-through estimator (Bengio et al. 2013): the forward value is a one-hot draw,
 * the gradient that of `probs`, as torch's `sample + probs - probs.detach()`. Biased, but it lets
 * a discrete latent sit inside a reparameterised objective.
 *
 * @example
 * const y = new OneHotCategoricalStraightThrough({ logits }).rsample(); // one-hot, d y / d probs = I
 */
export class OneHotCategoricalStraightThrough extends OneHotCategorical {
  override get hasRsample(): boolean {
    return true;
  }
  override expand(batchShape: number[]): OneHotCategoricalStraightThrough {
    return this.expandWith(batchShape, (b) => new OneHotCategoricalStraightThrough({ logits: b(this.logits, 1) }, this.options()));
  }
  protected override _rsample(sampleShape: number[]): tf.Tensor {
    return tf.add(stopGradient(this._sample(sampleShape)), tf.sub(this.probs, stopGradient(this.probs)));
  }
}
