/**
 * Priors p(z): fixed and learnable Gaussians, a mixture of Gaussians (GMVAE), and the VampPrior.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, positiveInteger } from '../errors.js';
import { Categorical } from '../distributions/categorical.js';
import { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { MixtureSameFamily } from '../distributions/mixture_same_family.js';
import { Normal } from '../distributions/normal.js';
import { mulberry32 } from '../random.js';
import type { Prior } from './contracts.js';

/** dlvm's own priors: a {@link Prior} that describes itself for `saveModel`. */
export interface BuiltinPrior extends Prior {
  dispose(): void;
  /** What `loadModel` needs to rebuild the prior (JSON). */
  config(): PriorConfig;
  /** The prior's variables by name (saved with the model). */
  state(): Record<string, tf.Variable>;
}

/** A prior's description in a saved model. */
export type PriorConfig =
  | { type: 'GaussianPrior'; latentDim: number }
  | { type: 'LearnableGaussianPrior'; latentDim: number }
  | { type: 'MixtureOfGaussiansPrior'; latentDim: number; components: number; learnWeights: boolean }
  | { type: 'VampPrior'; latentDim: number; count: number; itemShape: number[] };

function checkLatentDim(fn: string, latentDim: unknown): number {
  positiveInteger(fn, 'latentDim', latentDim);
  return latentDim as number;
}

/** Standard-normal values from a seeded stream (variable initialisation). */
function randnArray(n: number, seed: number, scale: number): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

/** The standard Gaussian prior N(0, I), fixed. */
export class GaussianPrior implements BuiltinPrior {
  readonly latentDim: number;
  readonly trainableVariables: tf.Variable[] = [];
  private readonly zeros: tf.Tensor;

  constructor(latentDim: number) {
    this.latentDim = checkLatentDim('GaussianPrior', latentDim);
    this.zeros = tf.keep(tf.zeros([latentDim]));
  }
  /** N(0, I) as `Independent(Normal(0, 1), 1)`, event [latentDim]. */
  distribution(): Distribution {
    return new Independent(new Normal(this.zeros, 1, { validateArgs: false }), 1);
  }
  dispose(): void {
    this.zeros.dispose();
  }
  config(): PriorConfig {
    return { type: 'GaussianPrior', latentDim: this.latentDim };
  }
  state(): Record<string, tf.Variable> {
    return {};
  }
}

/** N(mu, diag(sigma^2)) with learnable mu and sigma = softplus(rho) (initially N(0, I)). */
export class LearnableGaussianPrior implements BuiltinPrior {
  readonly latentDim: number;
  readonly mean: tf.Variable;
  /** Unconstrained scale parameter: sigma = softplus(rho). */
  readonly rho: tf.Variable;

  constructor(latentDim: number) {
    this.latentDim = checkLatentDim('LearnableGaussianPrior', latentDim);
    this.mean = tf.tidy(() => tf.variable(tf.zeros([latentDim]), true, undefined, 'float32'));
    // softplus(rho) = 1 at rho = log(e - 1).
    this.rho = tf.tidy(() => tf.variable(tf.fill([latentDim], Math.log(Math.E - 1)), true, undefined, 'float32'));
  }
  get trainableVariables(): tf.Variable[] {
    return [this.mean, this.rho];
  }
  distribution(): Distribution {
    const scale = tf.softplus(this.rho);
    return Distribution.owning(new Independent(new Normal(this.mean, scale, { validateArgs: false }), 1), [scale]);
  }
  dispose(): void {
    tf.dispose([this.mean, this.rho]);
  }
  config(): PriorConfig {
    return { type: 'LearnableGaussianPrior', latentDim: this.latentDim };
  }
  state(): Record<string, tf.Variable> {
    return { mean: this.mean, rho: this.rho };
  }
}

/** Options of {@link MixtureOfGaussiansPrior}. */
export interface MixturePriorOptions {
  /** Number of components k. */
  components: number;
  /** Learn the mixture weights (DTU 02460 exercise 1.6); default false: uniform, as CS236. */
  learnWeights?: boolean;
  /** Standard deviation of the initial component means (default 1). */
  initSpread?: number;
  /** Seed of the initial means (default 0). */
  seed?: number;
}

/**
 * The GMVAE prior: a mixture of k Gaussians with diagonal covariances,
 * p(z) = sum_j pi_j N(z; mu_j, diag(sigma_j^2)), with learnable means and scales
 * (sigma = softplus(rho)) and fixed uniform or learnable weights.
 */
export class MixtureOfGaussiansPrior implements BuiltinPrior {
  readonly latentDim: number;
  readonly components: number;
  readonly means: tf.Variable;
  readonly rho: tf.Variable;
  readonly logits: tf.Variable;
  private readonly learnWeights: boolean;

  constructor(latentDim: number, options: MixturePriorOptions) {
    const fn = 'MixtureOfGaussiansPrior';
    this.latentDim = checkLatentDim(fn, latentDim);
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { components: 10 }', options);
    const k = options.components;
    positiveInteger(fn, 'options.components', k);
    this.components = k;
    this.learnWeights = options.learnWeights ?? false;
    this.means = tf.tidy(() => tf.variable(tf.tensor2d(randnArray(k * latentDim, options.seed ?? 0, options.initSpread ?? 1), [k, latentDim]), true));
    this.rho = tf.tidy(() => tf.variable(tf.fill([k, latentDim], Math.log(Math.E - 1)), true));
    this.logits = tf.tidy(() => tf.variable(tf.zeros([k]), this.learnWeights));
  }
  get trainableVariables(): tf.Variable[] {
    return this.learnWeights ? [this.means, this.rho, this.logits] : [this.means, this.rho];
  }
  /** MixtureSameFamily(Categorical(logits), Independent(Normal(means, scales), 1)), event [M]. */
  distribution(): Distribution {
    const scales = tf.softplus(this.rho);
    return Distribution.owning(
      new MixtureSameFamily(
        new Categorical({ logits: this.logits }, { validateArgs: false }),
        new Independent(new Normal(this.means, scales, { validateArgs: false }), 1),
      ),
      [scales],
    );
  }
  dispose(): void {
    tf.dispose([this.means, this.rho, this.logits]);
  }
  config(): PriorConfig {
    return { type: 'MixtureOfGaussiansPrior', latentDim: this.latentDim, components: this.components, learnWeights: this.learnWeights };
  }
  state(): Record<string, tf.Variable> {
    return { means: this.means, rho: this.rho, logits: this.logits };
  }
}

/**
 * The VampPrior (Tomczak & Welling 2018): p(z) = (1/K) sum_k q(z | u_k), the encoder's posterior
 * at K learnable pseudo-inputs u_k (initialised near 0.5 with small noise, or from data).
 */
export class VampPrior implements BuiltinPrior {
  readonly latentDim: number;
  readonly pseudoInputs: tf.Variable;
  private readonly encoder: { posterior(x: tf.Tensor): Distribution };

  /**
   * @param encoder the model's encoder (shared, so the prior moves with it).
   * @param pseudoInputs K initial pseudo-inputs `[K, ...itemShape]`, or `{ count, itemShape }` to
   *   start at 0.5 + 0.01 N(0, 1).
   */
  constructor(
    latentDim: number,
    encoder: { posterior(x: tf.Tensor): Distribution },
    pseudoInputs: tf.Tensor | { count: number; itemShape: number[]; seed?: number },
  ) {
    const fn = 'VampPrior';
    this.latentDim = checkLatentDim(fn, latentDim);
    if (!encoder || typeof encoder.posterior !== 'function') throw argError(fn, 'encoder', 'an encoder with posterior(x)', encoder);
    this.encoder = encoder;
    if (pseudoInputs instanceof tf.Tensor) {
      this.pseudoInputs = tf.tidy(() => tf.variable(tf.cast(pseudoInputs, 'float32'), true));
    } else {
      const { count, itemShape } = pseudoInputs ?? ({} as never);
      if (!Number.isInteger(count) || count < 1 || !Array.isArray(itemShape)) {
        throw argError(fn, 'pseudoInputs', 'a tensor [K, ...itemShape] or { count, itemShape }', pseudoInputs);
      }
      const size = itemShape.reduce((a, b) => a * b, 1);
      const init = randnArray(count * size, pseudoInputs.seed ?? 0, 0.01).map((v) => v + 0.5);
      this.pseudoInputs = tf.tidy(() => tf.variable(tf.tensor(init, [count, ...itemShape]), true));
    }
  }
  get trainableVariables(): tf.Variable[] {
    return [this.pseudoInputs];
  }
  /** Uniform mixture of the posteriors at the pseudo-inputs, event [M]. */
  distribution(): Distribution {
    const k = this.pseudoInputs.shape[0]!;
    const components = this.encoder.posterior(this.pseudoInputs); // batch [K], event [M]
    const logits = tf.zeros([k]);
    return Distribution.owning(new MixtureSameFamily(new Categorical({ logits }, { validateArgs: false }), components), [logits]);
  }
  dispose(): void {
    this.pseudoInputs.dispose();
  }
  config(): PriorConfig {
    return { type: 'VampPrior', latentDim: this.latentDim, count: this.pseudoInputs.shape[0]!, itemShape: this.pseudoInputs.shape.slice(1) };
  }
  state(): Record<string, tf.Variable> {
    return { pseudoInputs: this.pseudoInputs };
  }
}

/** dlvm's priors by the type their config names (saved models), the one place it is mapped. */
const PRIORS: { [T in PriorConfig['type']]: (config: Extract<PriorConfig, { type: T }>, encoder: { posterior(x: tf.Tensor): Distribution }) => BuiltinPrior } =
  {
    GaussianPrior: (c) => new GaussianPrior(c.latentDim),
    LearnableGaussianPrior: (c) => new LearnableGaussianPrior(c.latentDim),
    MixtureOfGaussiansPrior: (c) => new MixtureOfGaussiansPrior(c.latentDim, { components: c.components, learnWeights: c.learnWeights }),
    VampPrior: (c, encoder) => new VampPrior(c.latentDim, encoder, { count: c.count, itemShape: c.itemShape }),
  };

/** Rebuilds one of dlvm's priors from its config (`prior.config()`; the VampPrior on `encoder`); null for an unknown type. */
export function priorFromConfig(config: PriorConfig, encoder: { posterior(x: tf.Tensor): Distribution }): BuiltinPrior | null {
  if (!Object.prototype.hasOwnProperty.call(PRIORS, config.type)) return null;
  return (PRIORS[config.type] as (c: PriorConfig, e: typeof encoder) => BuiltinPrior)(config, encoder);
}
