/**
 * Decoders: networks whose output is the likelihood p(x|z).
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { Bernoulli } from '../distributions/bernoulli.js';
import { ContinuousBernoulli } from '../distributions/continuous_bernoulli.js';
import { Distribution } from '../distributions/distribution.js';
import { deferWarning } from '../distributions/pending_checks.js';
import { Independent } from '../distributions/independent.js';
import { Normal } from '../distributions/normal.js';
import { checkNet, runWith, variablesOf } from './nets_util.js';
import type { Network } from './network.js';

/** A decoder's description in a saved model. */
export interface DecoderConfig {
  type: 'BernoulliDecoder' | 'ContinuousBernoulliDecoder' | 'GaussianDecoder';
  itemShape: number[];
  scale?: number;
  variance?: GaussianVariance;
}

/** The base of dlvm's decoders: a decoder (models/contracts.ts) built on one network, with the shape of one example. */
export abstract class NetworkDecoder {
  readonly net: Network;
  readonly itemShape: number[];
  constructor(name: string, net: Network, itemShape: number[]) {
    this.net = checkNet(name, net);
    if (!Array.isArray(itemShape) || !itemShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw argError(name, 'itemShape', 'the shape of one example, e.g. [28, 28]', itemShape);
    }
    this.itemShape = [...itemShape];
  }
  /** The network's output for z [B, M] (and a condition y [B, C]), reshaped to [B, ...itemShape]. */
  protected params(z: tf.Tensor, y?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.reshape(runWith(this.net, z, y), [z.shape[0]!, ...this.itemShape]));
  }
  /**
   * p(x|z): batch [B], event itemShape. The conditional form p(x|z, y) takes y [B, C] (one-hot
   * labels), concatenated with z at the network's input.
   */
  abstract likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution;
  /** What `loadModel` needs besides the network (JSON). */
  abstract config(): DecoderConfig;
  get trainableVariables(): tf.Variable[] {
    return variablesOf(this.net);
  }
  /** Variables outside the network (saved with the model); none by default. */
  state(): Record<string, tf.Variable> {
    return {};
  }
}

/** Likelihood calls of a BernoulliDecoder whose logits are looked at for probabilities. */
const SIGMOID_CHECKS = 3;

/**
 * p(x|z) = Bernoulli(logits = net(z)) per pixel, for binary data. The network outputs logits,
 * so it ends without a sigmoid; on its first calls the decoder warns once (at the next awaited
 * read) when every output (at least 64 of them) lies in [0, 1] and they vary, which looks like probabilities passed as
 * logits (a sigmoid at the end trains silently to a far worse ELBO).
 */
export class BernoulliDecoder extends NetworkDecoder {
  private checksLeft = SIGMOID_CHECKS;
  constructor(net: Network, itemShape: number[]) {
    super('BernoulliDecoder', net, itemShape);
  }
  likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution {
    const logits = this.params(z, y);
    // With fewer than 64 outputs in [0, 1] by chance is too likely (a tiny untrained network).
    if (this.checksLeft > 0 && logits.size >= 64) {
      this.checksLeft--;
      // All in [0, 1] and not all equal (a network fed zeros gives its constant bias).
      deferWarning(
        SIGMOID_WARNING,
        tf.tidy(() => {
          const [lo, hi] = [tf.min(logits), tf.max(logits)];
          return tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(lo, 0), tf.lessEqual(hi, 1)), tf.greater(tf.sub(hi, lo), 1e-3));
        }),
      );
    }
    return Distribution.owning(new Independent(new Bernoulli({ logits: logits }, { validateArgs: false }), this.itemShape.length), [logits]);
  }
  config(): DecoderConfig {
    return { type: 'BernoulliDecoder', itemShape: this.itemShape };
  }
}

const SIGMOID_WARNING =
  'dlvm: BernoulliDecoder: every output of its network lies in [0, 1], which looks like probabilities, but a BernoulliDecoder reads logits: ' +
  'end the network without a sigmoid (p(x|z) = Bernoulli(logits = net(z))). With a sigmoid at the end a VAE trains to a far worse ELBO.';

/** p(x|z) = ContinuousBernoulli(logits = net(z)) per pixel, for data in [0, 1]. */
export class ContinuousBernoulliDecoder extends NetworkDecoder {
  constructor(net: Network, itemShape: number[]) {
    super('ContinuousBernoulliDecoder', net, itemShape);
  }
  likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution {
    const logits = this.params(z, y);
    return Distribution.owning(new Independent(new ContinuousBernoulli({ logits: logits }, { validateArgs: false }), this.itemShape.length), [logits]);
  }
  config(): DecoderConfig {
    return { type: 'ContinuousBernoulliDecoder', itemShape: this.itemShape };
  }
}

/** How a Gaussian decoder's standard deviation is set (DTU 02460 exercise 1.7). */
export type GaussianVariance =
  /** A fixed `scale`. */
  | 'fixed'
  /** One learned scale for every value. */
  | 'learned-shared'
  /** A learned scale per value (per pixel). */
  | 'learned-per-value'
  /** Predicted by the network: it outputs 2D values, means then raw scales (softplus + 1e-4). */
  | 'predicted';

const VARIANCES: GaussianVariance[] = ['fixed', 'learned-shared', 'learned-per-value', 'predicted'];

/**
 * p(x|z) = N(mean(z), sigma^2) per value, with sigma fixed (`scale`), learned (shared or per
 * value, sigma = softplus(rho) starting at `scale`) or predicted by the network.
 */
export class GaussianDecoder extends NetworkDecoder {
  /** The fixed scale, or the initial one of a learned scale. */
  readonly scale: number;
  readonly variance: GaussianVariance;
  /** Unconstrained learned scale (sigma = softplus(rho)), when `variance` is learned. */
  readonly rho: tf.Variable | null;

  constructor(net: Network, itemShape: number[], { scale = 1, variance = 'fixed' }: { scale?: number; variance?: GaussianVariance } = {}) {
    super('GaussianDecoder', net, itemShape);
    if (!(scale > 0)) throw argError('GaussianDecoder', 'scale', 'a positive number', scale);
    if (!VARIANCES.includes(variance)) throw argError('GaussianDecoder', 'variance', VARIANCES.map((v) => `'${v}'`).join(', '), variance);
    this.scale = scale;
    this.variance = variance;
    // softplus(rho) = scale at rho = log(exp(scale) - 1).
    const rho0 = Math.log(Math.expm1(scale));
    this.rho =
      variance === 'learned-shared'
        ? tf.tidy(() => tf.variable(tf.scalar(rho0), true))
        : variance === 'learned-per-value'
          ? tf.tidy(() => tf.variable(tf.fill(itemShape, rho0), true))
          : null;
  }
  likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution {
    if (this.variance === 'predicted') {
      const [mean, scale] = tf.tidy(() => {
        const out = tf.reshape(runWith(this.net, z, y), [z.shape[0]!, 2, ...this.itemShape]);
        const [m, raw] = tf.unstack(out, 1) as [tf.Tensor, tf.Tensor];
        return [m, tf.add(tf.softplus(raw), 1e-4)];
      });
      return Distribution.owning(new Independent(new Normal(mean, scale, { validateArgs: false }), this.itemShape.length), [mean, scale]);
    }
    const mean = this.params(z, y);
    const sigma = this.rho ? tf.softplus(this.rho) : null;
    const made = sigma ? [mean, sigma] : [mean];
    return Distribution.owning(new Independent(new Normal(mean, sigma ?? this.scale, { validateArgs: false }), this.itemShape.length), made);
  }
  override get trainableVariables(): tf.Variable[] {
    return this.rho ? [...variablesOf(this.net), this.rho] : variablesOf(this.net);
  }
  override state(): Record<string, tf.Variable> {
    return this.rho ? { rho: this.rho } : {};
  }
  config(): DecoderConfig {
    return { type: 'GaussianDecoder', itemShape: this.itemShape, scale: this.scale, variance: this.variance };
  }
}

/** dlvm's decoders by the type their config names (saved models), the one place it is mapped. */
const DECODERS: Record<DecoderConfig['type'], (net: Network, config: DecoderConfig) => NetworkDecoder> = {
  BernoulliDecoder: (net, c) => new BernoulliDecoder(net, c.itemShape),
  ContinuousBernoulliDecoder: (net, c) => new ContinuousBernoulliDecoder(net, c.itemShape),
  GaussianDecoder: (net, c) => new GaussianDecoder(net, c.itemShape, { scale: c.scale, variance: c.variance }),
};

/** Rebuilds one of dlvm's decoders from its config (`decoder.config()`) and its network; null for an unknown type. */
export function decoderFromConfig(net: Network, config: DecoderConfig): NetworkDecoder | null {
  const make = Object.prototype.hasOwnProperty.call(DECODERS, config.type) ? DECODERS[config.type] : undefined;
  return make ? make(net, config) : null;
}
