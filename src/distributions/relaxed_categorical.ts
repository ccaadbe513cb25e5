/**
 * The relaxed one-hot categorical (Concrete / Gumbel-softmax) distribution,
 * torch.distributions.RelaxedOneHotCategorical, and its log-space base ExpRelaxedCategorical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lgammaNumber } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, realVector, simplex, unnormalizedSimplex, type Constraint } from './constraints.js';
import { Distribution, prepareParams, reportName, type BaseOptions, type DistributionOptions } from './distribution.js';
import { ExpTransform } from './transforms.js';
import { TransformedDistribution } from './transformed_distribution.js';
import { categoricalParams, probsOrLogits, uniformOpen, type ProbsOrLogits, type TensorInput } from './util.js';

/**
 * ExpRelaxedCategorical(temperature, { probs } | { logits }): the log of a Concrete variable
 * (Maddison et al. 2017), event shape [K]. Samples are log-softmax((logits + Gumbel) / temperature).
 */
export class ExpRelaxedCategorical extends Distribution {
  /** Temperature > 0. */
  readonly temperature: tf.Tensor;
  /** Normalised logits, `[...batchShape, K]`. */
  readonly logits: tf.Tensor;
  /** Normalised probabilities, `[...batchShape, K]`. */
  readonly probs: tf.Tensor;

  constructor(temperature: TensorInput, params: ProbsOrLogits, options: DistributionOptions = {}) {
    const fn = reportName(options, new.target?.name ?? 'ExpRelaxedCategorical');
    const { kind, value } = probsOrLogits(fn, params);
    const p = prepareParams(fn, { [kind]: value } as Record<'probs' | 'logits', unknown>, { [kind]: 1 });
    const t = prepareParams(fn, { temperature });
    const given = p.values[kind];
    super(p.batchShape, [given.shape[given.rank - 1]!], options);
    this.temperature = t.values.temperature;
    const pl = categoricalParams(kind, given);
    this.probs = pl.probs;
    this.logits = pl.logits;
    this.init([...p.created, ...t.created, ...pl.made], { [kind]: given, temperature: this.temperature });
  }

  get argConstraints(): Record<string, Constraint> {
    return { probs: unnormalizedSimplex, logits: realVector, temperature: positive };
  }
  get support(): Constraint {
    return realVector;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): ExpRelaxedCategorical {
    return this.expandWith(batchShape, (b) => new ExpRelaxedCategorical(this.temperature, { logits: b(this.logits, 1) }, this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = uniformOpen([...sampleShape, ...this.batchShape, ...this.eventShape], nextSeed());
    const gumbel = tf.neg(tf.log(tf.neg(tf.log(u))));
    const scores = tf.div(tf.add(this.logits, gumbel), tf.expandDims(this.temperature, -1));
    return tf.sub(scores, tf.logSumExp(scores, -1, true));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log (K-1)! + (K-1) log t + sum(s) - K logsumexp(s), with s = logits - x t (torch's form).
    const k = this.eventShape[0]!;
    const t = tf.expandDims(this.temperature, -1);
    const logScale = tf.add(lgammaNumber(k), tf.mul(k - 1, tf.log(this.temperature)));
    const score = tf.sub(this.logits, tf.mul(x, t));
    const normalised = tf.sum(tf.sub(score, tf.logSumExp(score, -1, true)), -1);
    return tf.add(normalised, logScale);
  }
}

/**
 * RelaxedOneHotCategorical(temperature, { probs } | { logits }): the Concrete / Gumbel-softmax
 * distribution on the simplex (Jang et al. 2017; Maddison et al. 2017), event shape [K].
 * A reparameterisable stand-in for OneHotCategorical that approaches it as temperature -> 0.
 *
 * @example
 * const y = new RelaxedOneHotCategorical(0.5, { logits }); // logits [B, 10]
 * const soft = y.rsample();                                // [B, 10], rows on the simplex
 */
export class RelaxedOneHotCategorical extends TransformedDistribution {
  constructor(temperature: TensorInput, params: ProbsOrLogits, options: DistributionOptions = {}) {
    super(new ExpRelaxedCategorical(temperature, params, { ...options, reportAs: 'RelaxedOneHotCategorical' } as BaseOptions), [new ExpTransform()], options);
  }
  private get expBase(): ExpRelaxedCategorical {
    return this.base as ExpRelaxedCategorical;
  }
  /** Temperature > 0. */
  get temperature(): tf.Tensor {
    return this.expBase.temperature;
  }
  /** Normalised logits, `[...batchShape, K]`. */
  get logits(): tf.Tensor {
    return this.expBase.logits;
  }
  /** Normalised probabilities, `[...batchShape, K]`. */
  get probs(): tf.Tensor {
    return this.expBase.probs;
  }
  override get argConstraints(): Record<string, Constraint> {
    return { probs: unnormalizedSimplex, logits: realVector, temperature: positive };
  }
  override get support(): Constraint {
    return simplex;
  }
  override expand(batchShape: number[]): RelaxedOneHotCategorical {
    return this.expandWith(batchShape, (b) => new RelaxedOneHotCategorical(this.temperature, { logits: b(this.logits, 1) }, this.options()));
  }
}
