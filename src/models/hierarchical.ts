/**
 * The two-level hierarchical VAE of DTU 02460 exercise 1.3: p(z2) p(z1|z2) p(x|z1) with the
 * posterior q(z1|x) q(z2|z1).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Distribution } from '../distributions/distribution.js';
import { realVector, type Constraint } from '../distributions/constraints.js';
import { klDivergence } from '../distributions/kl.js';
import { argError, checkExamples, lossOptions, positiveInteger } from '../errors.js';
import { BernoulliDecoder } from './decoders.js';
import { GaussianEncoder } from './encoders.js';
import { mlp, type MlpOptions } from './networks.js';
import type { ObjectiveParts } from './objectives.js';
import type { LossOptions } from './contracts.js';
import { asEvent } from './batch.js';
import { GaussianPrior } from './priors.js';

/**
 * A joint distribution over z = [z1, z2] (concatenated on the last axis) built from a leading
 * distribution and a conditional one: either z1 ~ lead, z2 ~ follow(z1) (`lead: 'z1'`, the
 * posterior q(z1|x) q(z2|z1)) or z2 ~ lead, z1 ~ follow(z2) (`lead: 'z2'`, the prior
 * p(z2) p(z1|z2)). log p(z) = log lead(lead part) + log follow(lead part)(other part).
 * `mean` is the lead's mean and the follower's mean at it (exact for the lead part only).
 */
export class TwoLevelJoint extends Distribution {
  constructor(
    readonly lead: Distribution,
    readonly follow: (v: tf.Tensor) => Distribution,
    readonly leadIs: 'z1' | 'z2',
    readonly dims: [number, number],
  ) {
    super(lead.batchShape, [dims[0] + dims[1]], { validateArgs: false });
  }
  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    return realVector;
  }
  override get hasRsample(): boolean {
    return this.lead.hasRsample;
  }
  private leadDim(): number {
    return this.leadIs === 'z1' ? this.dims[0] : this.dims[1];
  }
  /** The follower's draws (or log-densities) for lead values a [..., ma], via a flat batch. */
  private followOf(a: tf.Tensor): { dist: Distribution; head: number[] } {
    const head = a.shape.slice(0, -1);
    return { dist: this.follow(tf.reshape(a, [-1, this.leadDim()])), head };
  }
  private join(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.leadIs === 'z1' ? tf.concat([a, b], -1) : tf.concat([b, a], -1);
  }
  private draw(sampleShape: number[], reparameterised: boolean): tf.Tensor {
    const a = reparameterised ? this.lead.rsample(sampleShape) : this.lead.sample(sampleShape);
    const { dist, head } = this.followOf(a);
    const b = reparameterised ? dist.rsample() : dist.sample();
    return this.join(a, tf.reshape(b, [...head, -1]));
  }
  protected override _sample(sampleShape: number[]): tf.Tensor {
    return this.draw(sampleShape, false);
  }
  protected override _rsample(sampleShape: number[]): tf.Tensor {
    return this.draw(sampleShape, true);
  }
  protected override _logProb(z: tf.Tensor): tf.Tensor {
    const [z1, z2] = tf.split(z, this.dims, -1) as [tf.Tensor, tf.Tensor];
    const [a, b] = this.leadIs === 'z1' ? [z1, z2] : [z2, z1];
    const { dist, head } = this.followOf(a);
    const flatB = tf.reshape(b, [-1, b.shape[b.rank - 1]!]);
    return tf.add(this.lead.logProb(a), tf.reshape(dist.logProb(flatB), head));
  }
  protected override _mean(): tf.Tensor {
    const a = this.lead.mean;
    const { dist, head } = this.followOf(a);
    return this.join(a, tf.reshape(dist.mean, [...head, -1]));
  }
  expand(): Distribution {
    throw this.notDefined('expand');
  }
  /** Frees the lead distribution too (the joint owns it). */
  override dispose(): void {
    this.lead.dispose();
    super.dispose();
  }
}

/** Options of {@link HierarchicalVAE.mlp}. */
export interface HierarchicalMlpOptions {
  /** Shape of one example, e.g. [28, 28]. */
  inputShape: number[];
  /** [M1, M2]: sizes of z1 (next to x) and z2 (top). */
  latentDims: [number, number];
  /** Hidden sizes of the x <-> z1 networks, e.g. [512, 512]. */
  hidden: number[];
  /** Hidden sizes of the z1 <-> z2 networks (default [hidden[last]]). */
  topHidden?: number[];
  /** Hidden activation (default 'relu'). */
  activation?: MlpOptions['activation'];
}

/**
 * The two-level VAE: p(z2) = N(0, I), p(z1|z2) and q(z2|z1) Gaussian networks, q(z1|x), and a
 * Bernoulli p(x|z1). Its ELBO (DTU 02460 exercise 1.3, corrected):
 *
 *   E_q[log p(x|z1)] - E_q(z1|x)[KL(q(z2|z1) || p(z2))] - E_q(z1|x) q(z2|z1)[log q(z1|x) - log p(z1|z2)].
 *
 * The last term is not a KL divergence (z2 is drawn given z1, so p(z1|z2) depends on the z1 it
 * is evaluated at); it is estimated by Monte Carlo at the sampled (z1, z2), while the middle KL
 * is in closed form. For the evaluation functions and pictures the model presents the latent
 * z = [z1, z2]: `encoder.posterior(x)` is q(z1, z2|x), `prior.distribution()` is p(z1, z2), and
 * `decoder.likelihood(z)` reads z1.
 *
 * @example
 * const hvae = HierarchicalVAE.mlp({ inputShape: [28, 28], latentDims: [10, 5], hidden: [512, 512] });
 * await fit(hvae, train, { epochs: 10, binarize: 'threshold' });
 */
export class HierarchicalVAE {
  /** q(z1|x). */
  readonly encoder1: GaussianEncoder;
  /** q(z2|z1). */
  readonly encoder2: GaussianEncoder;
  /** p(z1|z2), a Gaussian network. */
  readonly conditionalPrior: GaussianEncoder;
  /** p(z2). */
  readonly topPrior: GaussianPrior;
  /** p(x|z1). */
  readonly likelihood: BernoulliDecoder;
  readonly latentDims: [number, number];

  readonly encoder: { posterior(x: tf.Tensor): Distribution };
  readonly prior: { distribution(): Distribution };
  readonly decoder: { likelihood(z: tf.Tensor): Distribution };

  constructor(parts: {
    encoder1: GaussianEncoder;
    encoder2: GaussianEncoder;
    conditionalPrior: GaussianEncoder;
    likelihood: BernoulliDecoder;
    latentDims: [number, number];
  }) {
    const fn = 'HierarchicalVAE';
    for (const k of ['encoder1', 'encoder2', 'conditionalPrior'] as const) {
      if (!(parts?.[k] instanceof GaussianEncoder)) throw argError(fn, `parts.${k}`, 'a GaussianEncoder', parts?.[k]);
    }
    if (!(parts.likelihood instanceof BernoulliDecoder)) throw argError(fn, 'parts.likelihood', 'a BernoulliDecoder', parts.likelihood);
    const dims = parts.latentDims;
    if (!Array.isArray(dims) || dims.length !== 2 || !dims.every((m) => Number.isInteger(m) && m > 0))
      throw argError(fn, 'parts.latentDims', '[M1, M2] positive integers', dims);
    this.encoder1 = parts.encoder1;
    this.encoder2 = parts.encoder2;
    this.conditionalPrior = parts.conditionalPrior;
    this.likelihood = parts.likelihood;
    this.latentDims = [dims[0], dims[1]];
    this.topPrior = new GaussianPrior(dims[1]);
    const [m1] = dims;
    this.encoder = { posterior: (x) => new TwoLevelJoint(this.encoder1.posterior(x), (z1) => this.encoder2.posterior(z1), 'z1', this.latentDims) };
    this.prior = { distribution: () => new TwoLevelJoint(this.topPrior.distribution(), (z2) => this.conditionalPrior.posterior(z2), 'z2', this.latentDims) };
    // p(x|z1) reads the z1 part of z = [z1, z2] (any leading dimensions).
    this.decoder = {
      likelihood: (z) => {
        if (z.shape[z.rank - 1] === m1) return this.likelihood.likelihood(z);
        const z1 = tf.tidy(() => tf.split(z, [m1, dims[1]], -1)[0] as tf.Tensor);
        return Distribution.owning(this.likelihood.likelihood(z1), [z1]);
      },
    };
  }

  /** MLP networks: x -> hidden -> z1, z1 -> topHidden -> z2, and mirrored generative networks. */
  static mlp(options: HierarchicalMlpOptions): HierarchicalVAE {
    const fn = 'HierarchicalVAE.mlp';
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
    const { inputShape, latentDims, hidden } = options;
    if (!Array.isArray(inputShape) || !inputShape.every((v) => Number.isInteger(v) && v > 0))
      throw argError(fn, 'options.inputShape', 'the shape of one example, e.g. [28, 28]', inputShape);
    if (!Array.isArray(latentDims) || latentDims.length !== 2 || !latentDims.every((m) => Number.isInteger(m) && m > 0)) {
      throw argError(fn, 'options.latentDims', '[M1, M2] positive integers', latentDims);
    }
    if (!Array.isArray(hidden) || hidden.length === 0) throw argError(fn, 'options.hidden', 'hidden sizes such as [512, 512]', hidden);
    const d = inputShape.reduce((a, b) => a * b, 1);
    const [m1, m2] = latentDims;
    const activation = options.activation ?? 'relu';
    const top = options.topHidden ?? [hidden[hidden.length - 1]!];
    return new HierarchicalVAE({
      encoder1: new GaussianEncoder(mlp({ inputDim: d, hidden, outputDim: 2 * m1, activation })),
      encoder2: new GaussianEncoder(mlp({ inputDim: m1, hidden: top, outputDim: 2 * m2, activation })),
      conditionalPrior: new GaussianEncoder(mlp({ inputDim: m2, hidden: [...top].reverse(), outputDim: 2 * m1, activation })),
      likelihood: new BernoulliDecoder(mlp({ inputDim: m1, hidden: [...hidden].reverse(), outputDim: d, activation }), inputShape),
      latentDims: [m1, m2],
    });
  }

  /**
   * The shape of one example x (the likelihood's item shape, e.g. [28, 28]). Every method that
   * takes x checks it first: `[B, ...inputShape]`, flat `[B, D]`, or a trailing unit axis more or
   * less; anything else is refused with an error naming the method and both shapes.
   */
  get inputShape(): number[] {
    return [...this.likelihood.itemShape];
  }

  get trainableVariables(): tf.Variable[] {
    return [
      ...this.encoder1.trainableVariables,
      ...this.encoder2.trainableVariables,
      ...this.conditionalPrior.trainableVariables,
      ...this.likelihood.trainableVariables,
    ];
  }

  /**
   * The ELBO per example and its parts, one sample (z1, z2): `reconstruction` = -log p(x|z1),
   * `klTop` = KL(q(z2|z1) || p(z2)) in closed form, `klBottom` = log q(z1|x) - log p(z1|z2) at
   * the sample (a Monte Carlo term, not a KL), `kl` = their sum.
   */
  elboParts(x: tf.Tensor): ObjectiveParts & { klTop: tf.Tensor; klBottom: tf.Tensor } {
    checkExamples('HierarchicalVAE.elboParts', 'x', x, this.inputShape);
    const out = tf.tidy(() => {
      const q1 = this.encoder1.posterior(x);
      const z1 = q1.rsample();
      const q2 = this.encoder2.posterior(z1);
      const z2 = q2.rsample();
      const lik = this.likelihood.likelihood(z1);
      const reconstruction = tf.neg(lik.logProb(asEvent(x, lik)));
      const klTop = klDivergence(q2, this.topPrior.distribution());
      const klBottom = tf.sub(q1.logProb(z1), this.conditionalPrior.posterior(z2).logProb(z1));
      const kl = tf.add(klTop, klBottom);
      const elbo = tf.neg(tf.add(reconstruction, kl));
      return { loss: tf.neg(tf.mean(elbo)) as tf.Scalar, elbo, reconstruction, kl, klTop, klBottom };
    });
    return { ...out, beta: 1, klAnalytic: false };
  }

  /** The loss to minimise (the negative mean ELBO) and its parts, for `fit`. */
  loss(x: tf.Tensor, options: LossOptions = {}): ObjectiveParts {
    lossOptions('HierarchicalVAE.loss', options); // the bound has no schedule: the step is unused
    checkExamples('HierarchicalVAE.loss', 'x', x, this.inputShape);
    const p = this.elboParts(x);
    tf.dispose([p.klTop, p.klBottom]);
    return { loss: p.loss, elbo: p.elbo, reconstruction: p.reconstruction, kl: p.kl, beta: 1, klAnalytic: false };
  }

  /** ELBO per example [B]. */
  elbo(x: tf.Tensor): tf.Tensor {
    checkExamples('HierarchicalVAE.elbo', 'x', x, this.inputShape);
    return tf.tidy(() => this.elboParts(x).elbo);
  }

  /** n draws x ~ p(x|z1), (z1, z2) ~ p(z1, z2) (decoder means with `mean: true`). */
  sample(n: number, { mean = false }: { mean?: boolean } = {}): tf.Tensor {
    positiveInteger('HierarchicalVAE.sample', 'n', n);
    return tf.tidy(() => {
      const p = this.decoder.likelihood(this.prior.distribution().sample([n]));
      return mean ? p.mean : p.sample();
    });
  }

  /** Decoder means at the posterior mean of z1: [B, ...itemShape]. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    checkExamples('HierarchicalVAE.reconstruct', 'x', x, this.inputShape);
    return tf.tidy(() => this.likelihood.likelihood(this.encoder1.posterior(x).mean).mean);
  }

  /** Frees the networks. */
  dispose(): void {
    for (const part of [this.encoder1, this.encoder2, this.conditionalPrior, this.likelihood]) part.net.dispose();
    this.topPrior.dispose();
  }
}
