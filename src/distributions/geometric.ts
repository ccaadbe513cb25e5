/**
 * The geometric distribution, torch.distributions.Geometric.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { nonnegativeInteger, real, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { binaryLogs, binaryParams, probsOrLogits, uniformTiny, type ProbsOrLogits } from './util.js';

/**
 * Geometric({ probs } | { logits }): the number of failures before the first success of
 * Bernoulli(probs) trials, P(k) = (1 - p)^k p for k = 0, 1, 2, ...
 */
export class Geometric extends Distribution {
  /** Success probability in (0, 1], batch shape. */
  readonly probs: tf.Tensor;
  /** log(probs / (1 - probs)), batch shape. */
  readonly logits: tf.Tensor;
  private readonly given: 'probs' | 'logits';

  constructor(params: ProbsOrLogits, options: DistributionOptions = {}) {
    const { kind, value } = probsOrLogits('Geometric', params);
    const p = prepareParams('Geometric', { [kind]: value } as Record<'probs' | 'logits', unknown>);
    super(p.batchShape, [], options);
    const given = p.values[kind];
    const pl = binaryParams(kind, given, false);
    this.probs = pl.probs;
    this.logits = pl.logits;
    this.given = kind;
    this.init([...p.created, ...pl.made], { [kind]: given });
  }

  get argConstraints(): Record<string, Constraint> {
    return { probs: unitInterval, logits: real };
  }
  get support(): Constraint {
    return nonnegativeInteger;
  }

  expand(batchShape: number[]): Geometric {
    return this.expandWith(batchShape, (b) =>
      this.given === 'probs' ? new Geometric({ probs: b(this.probs) }, this.options()) : new Geometric({ logits: b(this.logits) }, this.options()),
    );
  }

  private logs(): [tf.Tensor, tf.Tensor] {
    return binaryLogs(this.given, this.probs, this.logits);
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    // floor(log u / log(1 - p)), u in [tiny, 1): 0 when p = 1.
    const u = uniformTiny([...sampleShape, ...this.batchShape], nextSeed());
    return tf.floor(tf.div(tf.log(u), this.logs()[1]));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // k log(1 - p) + log p, with 0 log(1 - p) = 0 at k = 0 (also when p = 1).
    const [logP, log1mP] = this.logs();
    const t = tf.mul(x, log1mP);
    return tf.add(tf.where(tf.equal(x, 0), tf.zerosLike(t), t), logP);
  }
  protected override _entropy(): tf.Tensor {
    // (-(1 - p) log(1 - p) - p log p) / p = (softplus(l) - p l) / p
    return tf.div(tf.sub(tf.softplus(this.logits), tf.mul(this.probs, this.logits)), this.probs);
  }
  /** (1 - p) / p: exp(-logits) when logits were given (1 - p rounds to 0 near p = 1). */
  private odds(): tf.Tensor {
    return this.given === 'probs' ? tf.div(tf.sub(1, this.probs), this.probs) : tf.exp(tf.neg(this.logits));
  }
  protected override _mean(): tf.Tensor {
    return this.odds();
  }
  protected override _mode(): tf.Tensor {
    return tf.zeros(this.batchShape);
  }
  protected override _variance(): tf.Tensor {
    return tf.div(this.odds(), this.probs);
  }
}

// KL = -H(p) - E_p[k] log(1 - q) - log q = -H(p) - log(1 - q) / p - logit(q)
registerKL(Geometric, Geometric, (p, q) => {
  const log1mQ = tf.neg(tf.softplus(q.logits));
  return tf.sub(tf.sub(tf.neg(p.entropy()), tf.div(log1mQ, p.probs)), q.logits);
});
