/**
 * The Categorical distribution, torch.distributions.Categorical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { nextSeed } from '../random.js';
import { integerInterval, realVector, unnormalizedSimplex, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { categoricalParams, nanTensor, probsOrLogits, type ProbsOrLogits, uniformOpen } from './util.js';

/**
 * Categorical({ probs } | { logits }) over {0, ..., K - 1}, where K is the size of the last
 * dimension of the parameter (the rest is the batch shape; the event shape is []).
 * `probs` need not sum to 1 (as in torch, they are divided by their sum: nonnegative with a
 * positive sum); `logits` are normalised so logSumExp(logits) = 0. Samples are int32 class
 * indices. With validation off, `logProb` of a value that is not a class (out of 0..K-1, or not
 * an integer) is NaN, never the probability of another class (torch raises an index error).
 *
 * @example
 * const y = new Categorical({ logits: classifierOutput }); // logits [B, 10] -> batch [B]
 * y.logProb(labels);                                        // [B]
 */
export class Categorical extends Distribution {
  /** Normalised probabilities, `[...batchShape, K]`. */
  readonly probs: tf.Tensor;
  /** Normalised log-probabilities, `[...batchShape, K]`. */
  readonly logits: tf.Tensor;
  /** Number of categories K. */
  readonly numEvents: number;
  private readonly given: 'probs' | 'logits';

  constructor(params: ProbsOrLogits, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('Categorical', params);
    const p = prepareParams('Categorical', { [kind]: value } as Record<'probs' | 'logits', unknown>, {
      [kind]: 1,
    });
    const given = p.values[kind];
    super(p.batchShape, [], options);
    this.numEvents = given.shape[given.rank - 1]!;
    this.given = kind;
    const pl = categoricalParams(kind, given);
    this.probs = pl.probs;
    this.logits = pl.logits;
    this.init([...p.created, ...pl.made], { [kind]: given });
  }

  get argConstraints(): Record<string, Constraint> {
    return { probs: unnormalizedSimplex, logits: realVector };
  }
  get support(): Constraint {
    return integerInterval(0, this.numEvents - 1);
  }

  expand(batchShape: number[]): Categorical {
    return this.expandWith(batchShape, (b) =>
      this.given === 'probs' ? new Categorical({ probs: b(this.probs, 1) }, this.options()) : new Categorical({ logits: b(this.logits, 1) }, this.options()),
    );
  }

  override get hasEnumerateSupport(): boolean {
    return true;
  }
  protected override _enumerateSupport(): tf.Tensor {
    return tf.range(0, this.numEvents, 1, 'int32');
  }
  protected override _sample(sampleShape: number[]): tf.Tensor {
    // Gumbel-max: argmax(logits + G) with G = -log(-log(U)) is a draw from the categorical.
    const shape = [...sampleShape, ...this.batchShape, this.numEvents];
    const gumbel = tf.neg(tf.log(tf.neg(tf.log(uniformOpen(shape, nextSeed())))));
    return tf.argMax(tf.add(this.logits, gumbel), -1);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // Select the logit of class x by a one-hot product: broadcasts x against the batch shape.
    const oneHot = tf.oneHot(tf.cast(x, 'int32'), this.numEvents); // [..., K]
    const lp = tf.sum(tf.mul(oneHot, this.logits), -1);
    // Not a class (possible with validation off): NaN, not the 0 of an all-zero one-hot row.
    const xf = tf.cast(x, 'float32');
    const isClass = tf.logicalAnd(tf.equal(xf, tf.floor(xf)), tf.logicalAnd(tf.greaterEqual(xf, 0), tf.lessEqual(xf, this.numEvents - 1)));
    return tf.where(broadcastTo(isClass, lp.shape), lp, tf.fill(lp.shape, NaN));
  }
  protected override _entropy(): tf.Tensor {
    // -sum p log p, with logits clamped so p = 0 contributes 0 rather than 0 * -inf.
    const logits = tf.maximum(this.logits, -3.4028234663852886e38);
    return tf.neg(tf.sum(tf.mul(this.probs, logits), -1));
  }
  protected override _mean(): tf.Tensor {
    return nanTensor(this.batchShape);
  }
  protected override _mode(): tf.Tensor {
    return tf.argMax(this.probs, -1);
  }
  protected override _variance(): tf.Tensor {
    return nanTensor(this.batchShape);
  }
}

// KL = sum_k p_k (log p_k - log q_k); terms with p_k = 0 are 0, terms with q_k = 0 < p_k infinite.
registerKL(Categorical, Categorical, (p, q) => {
  const t = tf.mul(p.probs, tf.sub(p.logits, q.logits));
  const fixed = tf.where(tf.equal(p.probs, 0), tf.zerosLike(t), tf.where(tf.equal(q.probs, 0), tf.fill(t.shape, Infinity), t));
  return tf.sum(fixed, -1);
});
