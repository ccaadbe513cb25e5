/**
 * Decoders: networks whose output is the likelihood p(x|z).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { argError } from '../errors.js';
import { Bernoulli } from '../distributions/bernoulli.js';
import { ContinuousBernoulli } from '../distributions/continuous_bernoulli.js';
import type { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { Normal } from '../distributions/normal.js';
import { checkNet, runWith, variablesOf } from './nets_util.js';

/** A decoder's description in a saved model. */
export interface DecoderConfig {
  type: 'BernoulliDecoder' | 'ContinuousBernoulliDecoder' | 'GaussianDecoder';
  itemShape: number[];
  scale?: number;
  variance?: GaussianVariance;
}

/** Shared part of the decoders: a network and the shape of one example. */
export abstract class Decoder {
  readonly net: tfl.LayersModel;
  readonly itemShape: number[];
  constructor(name: string, net: tfl.LayersModel, itemShape: number[]) {
    this.net = checkNet(name, net);
    if (!Array.isArray(itemShape) || !itemShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw argError(name, 'itemShape', 'the shape of one example, e.g. [28, 28]', itemShape);
    }
    this.itemShape = [...itemShape];
  }
  /** The network's output for z [B, M] (and a condition y [B, C]), reshaped to [B, ...itemShape]. */
  protected params(z: tf.Tensor, y?: tf.Tensor): tf.Tensor {
    return tf.reshape(runWith(this.net, z, y), [z.shape[0]!, ...this.itemShape]);
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

/** p(x|z) = Bernoulli(logits = net(z)) per pixel, for binary data. */
export class BernoulliDecoder extends Decoder {
  constructor(net: tfl.LayersModel, itemShape: number[]) {
    super('BernoulliDecoder', net, itemShape);
  }
  likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution {
    return new Independent(new Bernoulli({ logits: this.params(z, y) }, { validateArgs: false }), this.itemShape.length);
  }
  config(): DecoderConfig {
    return { type: 'BernoulliDecoder', itemShape: this.itemShape };
  }
}

/** p(x|z) = ContinuousBernoulli(logits = net(z)) per pixel, for data in [0, 1]. */
export class ContinuousBernoulliDecoder extends Decoder {
  constructor(net: tfl.LayersModel, itemShape: number[]) {
    super('ContinuousBernoulliDecoder', net, itemShape);
  }
  likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution {
    return new Independent(new ContinuousBernoulli({ logits: this.params(z, y) }, { validateArgs: false }), this.itemShape.length);
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
export class GaussianDecoder extends Decoder {
  /** The fixed scale, or the initial one of a learned scale. */
  readonly scale: number;
  readonly variance: GaussianVariance;
  /** Unconstrained learned scale (sigma = softplus(rho)), when `variance` is learned. */
  readonly rho: tf.Variable | null;

  constructor(net: tfl.LayersModel, itemShape: number[], { scale = 1, variance = 'fixed' }: { scale?: number; variance?: GaussianVariance } = {}) {
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
      const out = tf.reshape(runWith(this.net, z, y), [z.shape[0]!, 2, ...this.itemShape]);
      const [mean, raw] = tf.unstack(out, 1) as [tf.Tensor, tf.Tensor];
      return new Independent(new Normal(mean, tf.add(tf.softplus(raw), 1e-4), { validateArgs: false }), this.itemShape.length);
    }
    const sigma = this.rho ? tf.softplus(this.rho) : this.scale;
    return new Independent(new Normal(this.params(z, y), sigma, { validateArgs: false }), this.itemShape.length);
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
