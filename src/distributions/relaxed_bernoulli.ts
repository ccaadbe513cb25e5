/**
 * The relaxed Bernoulli (binary Concrete) distribution, torch.distributions.RelaxedBernoulli,
 * and its logit-space base, torch.distributions.LogitRelaxedBernoulli.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../random.js';
import { positive, real, unitInterval, type Constraint } from './constraints.js';
import { Distribution, prepareParams, reportName, type BaseOptions, type DistributionOptions } from './distribution.js';
import { SigmoidTransform } from './transforms.js';
import { TransformedDistribution } from './transformed_distribution.js';
import { binaryParams, probsOrLogits, uniformOpen, type ProbsOrLogits, type TensorInput } from './util.js';

/**
 * LogitRelaxedBernoulli(temperature, { probs } | { logits }) on the reals: the logit of a
 * binary Concrete variable (Maddison et al. 2017): (logits + log u - log(1 - u)) / temperature.
 */
export class LogitRelaxedBernoulli extends Distribution {
  /** Temperature > 0 (scalar or broadcastable). */
  readonly temperature: tf.Tensor;
  /** P(x = 1) of the Bernoulli being relaxed, batch shape. */
  readonly probs: tf.Tensor;
  /** Its logits, batch shape. */
  readonly logits: tf.Tensor;
  private readonly given: 'probs' | 'logits';

  constructor(temperature: TensorInput, params: ProbsOrLogits, options: DistributionOptions = {}) {
    const fn = reportName(options, new.target?.name ?? 'LogitRelaxedBernoulli');
    const { kind, value } = probsOrLogits(fn, params);
    const p = prepareParams(fn, { [kind]: value } as Record<'probs' | 'logits', unknown>);
    const t = prepareParams(fn, { temperature });
    super(p.batchShape, [], options);
    this.temperature = t.values.temperature;
    const given = p.values[kind];
    const pl = binaryParams(kind, given, true);
    this.probs = pl.probs;
    this.logits = pl.logits;
    this.given = kind;
    this.init([...p.created, ...t.created, ...pl.made], { [kind]: given, temperature: this.temperature });
  }

  get argConstraints(): Record<string, Constraint> {
    return { probs: unitInterval, logits: real, temperature: positive };
  }
  get support(): Constraint {
    return real;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): LogitRelaxedBernoulli {
    return this.expandWith(batchShape, (b) =>
      this.given === 'probs'
        ? new LogitRelaxedBernoulli(this.temperature, { probs: b(this.probs) }, this.options())
        : new LogitRelaxedBernoulli(this.temperature, { logits: b(this.logits) }, this.options()),
    );
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const u = uniformOpen([...sampleShape, ...this.batchShape], nextSeed());
    return tf.div(tf.add(this.logits, tf.sub(tf.log(u), tf.log1p(tf.neg(u)))), this.temperature);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log t + d - 2 softplus(d) with d = logits - x t (the logistic density, rescaled).
    const diff = tf.sub(this.logits, tf.mul(x, this.temperature));
    return tf.sub(tf.add(tf.log(this.temperature), diff), tf.mul(2, tf.softplus(diff)));
  }
}

/**
 * RelaxedBernoulli(temperature, { probs } | { logits }) on (0, 1): sigmoid of a
 * LogitRelaxedBernoulli. A reparameterisable stand-in for Bernoulli(probs) that approaches it as
 * the temperature goes to 0.
 *
 * @example
 * const c = new RelaxedBernoulli(0.5, { logits }); // logits [B, K]
 * const soft = c.rsample();                        // [B, K] in (0, 1), differentiable
 */
export class RelaxedBernoulli extends TransformedDistribution {
  constructor(temperature: TensorInput, params: ProbsOrLogits, options: DistributionOptions = {}) {
    super(new LogitRelaxedBernoulli(temperature, params, { ...options, reportAs: 'RelaxedBernoulli' } as BaseOptions), [new SigmoidTransform()], options);
  }
  private get logitBase(): LogitRelaxedBernoulli {
    return this.base as LogitRelaxedBernoulli;
  }
  /** Temperature > 0. */
  get temperature(): tf.Tensor {
    return this.logitBase.temperature;
  }
  /** P(x = 1) of the Bernoulli being relaxed. */
  get probs(): tf.Tensor {
    return this.logitBase.probs;
  }
  /** Its logits. */
  get logits(): tf.Tensor {
    return this.logitBase.logits;
  }
  override get argConstraints(): Record<string, Constraint> {
    return { probs: unitInterval, logits: real, temperature: positive };
  }
  override get support(): Constraint {
    return unitInterval;
  }
  override expand(batchShape: number[]): RelaxedBernoulli {
    return this.expandWith(batchShape, (b) => new RelaxedBernoulli(this.temperature, { logits: b(this.logits) }, this.options()));
  }
}
