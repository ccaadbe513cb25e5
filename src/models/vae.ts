/**
 * The variational autoencoder (Kingma & Welling 2014): a prior, an encoder and a decoder; the
 * ELBO reads like the math.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { hasClosedFormKL, klDivergence } from '../distributions/kl.js';
import type { Distribution } from '../distributions/distribution.js';
import { BernoulliDecoder, ContinuousBernoulliDecoder, GaussianDecoder, GaussianEncoder, GaussianPrior, type Prior } from './blocks.js';
import { mlp, type MlpOptions } from './networks.js';

/** An encoder: x -> q(z|x). */
export interface Encoder {
  posterior(x: tf.Tensor): Distribution;
  readonly trainableVariables: tf.Variable[];
}
/** A decoder: z -> p(x|z). */
export interface Decoder {
  likelihood(z: tf.Tensor): Distribution;
  readonly trainableVariables: tf.Variable[];
}

/** The ELBO's parts per example, and the loss to minimise. */
export interface ElboParts {
  /** Mean negative ELBO over the batch (a scalar): what training minimises. */
  loss: tf.Scalar;
  /** ELBO per example [B]. */
  elbo: tf.Tensor;
  /** -E_q[log p(x|z)] per example [B] (one sample). */
  reconstruction: tf.Tensor;
  /** KL(q(z|x) || p(z)) per example [B]. */
  kl: tf.Tensor;
}

const warned = new Set<string>();
function warnMonteCarlo(q: Distribution, p: Distribution): void {
  const key = `${q.name}|${p.name}`;
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(`VAE: no closed form for KL(${q.toString()} || ${p.toString()}); using the one-sample Monte Carlo estimate log q(z|x) - log p(z).`);
}

/** Options of {@link VAE.mlp}. */
export interface VaeMlpOptions {
  /** Shape of one example, e.g. [28, 28]. */
  inputShape: number[];
  /** Latent size M. */
  latentDim: number;
  /** Hidden sizes of the encoder (mirrored in the decoder), e.g. [512, 512]. */
  hidden: number[];
  /** 'bernoulli' (binary data), 'continuous-bernoulli' ([0, 1] data) or 'gaussian' (fixed scale). */
  likelihood?: 'bernoulli' | 'continuous-bernoulli' | 'gaussian';
  /** Hidden activation (default 'relu'). */
  activation?: MlpOptions['activation'];
  /** Standard deviation of the Gaussian likelihood (default 1). */
  scale?: number;
}

/**
 * A VAE: p(z) p(x|z) with an amortised Gaussian posterior q(z|x).
 *
 * @example
 * const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 10, hidden: [512, 512] });
 * optimizer.minimize(() => vae.loss(x).loss);
 */
export class VAE {
  readonly prior: Prior;
  readonly encoder: Encoder;
  readonly decoder: Decoder;

  constructor({ prior, encoder, decoder }: { prior: Prior; encoder: Encoder; decoder: Decoder }) {
    for (const [k, v, m] of [
      ['prior', prior, 'distribution'],
      ['encoder', encoder, 'posterior'],
      ['decoder', decoder, 'likelihood'],
    ] as const) {
      if (!v || typeof (v as unknown as Record<string, unknown>)[m] !== 'function') throw argError('VAE', k, `an object with ${m}()`, v);
    }
    this.prior = prior;
    this.encoder = encoder;
    this.decoder = decoder;
  }

  /** The MLP VAE of the DTU 02460 course (and CS236 with activation 'elu'). */
  static mlp(options: VaeMlpOptions): VAE {
    const fn = 'VAE.mlp';
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
    const { inputShape, latentDim, hidden } = options;
    if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw argError(fn, 'options.inputShape', 'the shape of one example, e.g. [28, 28]', inputShape);
    }
    const d = inputShape.reduce((a, b) => a * b, 1);
    const activation = options.activation ?? 'relu';
    const encoder = new GaussianEncoder(mlp({ inputDim: d, hidden, outputDim: 2 * latentDim, activation }));
    const decNet = mlp({ inputDim: latentDim, hidden: [...hidden].reverse(), outputDim: d, activation });
    const likelihood = options.likelihood ?? 'bernoulli';
    const decoder =
      likelihood === 'bernoulli'
        ? new BernoulliDecoder(decNet, inputShape)
        : likelihood === 'continuous-bernoulli'
          ? new ContinuousBernoulliDecoder(decNet, inputShape)
          : likelihood === 'gaussian'
            ? new GaussianDecoder(decNet, inputShape, { scale: options.scale ?? 1 })
            : (() => {
                throw argError(fn, 'options.likelihood', "'bernoulli', 'continuous-bernoulli' or 'gaussian'", likelihood);
              })();
    return new VAE({ prior: new GaussianPrior(latentDim), encoder, decoder });
  }

  /** Every trainable variable (encoder, decoder, prior). */
  get trainableVariables(): tf.Variable[] {
    return [...this.encoder.trainableVariables, ...this.decoder.trainableVariables, ...this.prior.trainableVariables];
  }

  /**
   * The ELBO and its parts for a batch x [B, ...]: one reparameterised sample z ~ q(z|x), the KL
   * from the registry (Monte Carlo with the same sample when no closed form exists).
   */
  elboParts(x: tf.Tensor): ElboParts {
    return tf.tidy(() => {
      const q = this.encoder.posterior(x); // q(z|x), event [M]
      const z = q.rsample(); // [B, M]
      const reconstruction = tf.neg(this.decoder.likelihood(z).logProb(x)); // [B]
      const p = this.prior.distribution();
      // The registry's closed form; without one (a mixture prior), log q(z|x) - log p(z) at the
      // same sample, an unbiased one-sample estimate (said once on the console).
      let kl: tf.Tensor;
      if (hasClosedFormKL(q, p)) {
        kl = klDivergence(q, p);
      } else {
        warnMonteCarlo(q, p);
        kl = tf.sub(q.logProb(z), p.logProb(z));
      }
      const elbo = tf.neg(tf.add(reconstruction, kl));
      return { loss: tf.neg(tf.mean(elbo)) as tf.Scalar, elbo, reconstruction, kl };
    });
  }

  /** ELBO per example [B]. */
  elbo(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.elboParts(x).elbo);
  }

  /** q(z|x). */
  encode(x: tf.Tensor): Distribution {
    return this.encoder.posterior(x);
  }

  /** p(x|z). */
  decode(z: tf.Tensor): Distribution {
    return this.decoder.likelihood(z);
  }

  /** n draws of x ~ p(x|z), z ~ p(z); with `mean: true` the decoder means instead. [n, ...itemShape]. */
  sample(n: number, { mean = false }: { mean?: boolean } = {}): tf.Tensor {
    if (!Number.isInteger(n) || n < 1) throw argError('VAE.sample', 'n', 'a positive integer', n);
    return tf.tidy(() => {
      const p = this.decoder.likelihood(this.prior.distribution().sample([n]));
      return mean ? p.mean : p.sample();
    });
  }

  /** Decoder means at the posterior means: [B, ...itemShape]. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.decoder.likelihood(this.encoder.posterior(x).mean).mean);
  }
}

