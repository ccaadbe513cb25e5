/**
 * Building blocks whose output is a distribution: priors p(z), encoders q(z|x), decoders p(x|z).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { argError, DlvmError } from '../errors.js';
import { Bernoulli } from '../distributions/bernoulli.js';
import { ContinuousBernoulli } from '../distributions/continuous_bernoulli.js';
import type { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { Normal } from '../distributions/normal.js';

/** A prior p(z) over latent vectors of size `latentDim`. */
export interface Prior {
  readonly latentDim: number;
  /** p(z): batch [], event [latentDim]. */
  distribution(): Distribution;
  /** Trainable variables (none for a fixed prior). */
  readonly trainableVariables: tf.Variable[];
}

/** The standard Gaussian prior N(0, I), fixed. */
export class GaussianPrior implements Prior {
  readonly latentDim: number;
  readonly trainableVariables: tf.Variable[] = [];
  private readonly zeros: tf.Tensor;

  constructor(latentDim: number) {
    if (!Number.isInteger(latentDim) || latentDim < 1) throw argError('GaussianPrior', 'latentDim', 'a positive integer', latentDim);
    this.latentDim = latentDim;
    this.zeros = tf.keep(tf.zeros([latentDim]));
  }
  /** N(0, I) as `Independent(Normal(0, 1), 1)`, event [latentDim]. */
  distribution(): Distribution {
    return new Independent(new Normal(this.zeros, 1, { validateArgs: false }), 1);
  }
  /** Frees the prior's constant tensor. */
  dispose(): void {
    this.zeros.dispose();
  }
}

function checkNet(fn: string, net: unknown): tfl.LayersModel {
  if (!net || typeof (net as tfl.LayersModel).apply !== 'function' || !Array.isArray((net as tfl.LayersModel).trainableWeights)) {
    throw argError(fn, 'net', 'a tfjs-layers model (tf.LayersModel)', net);
  }
  return net as tfl.LayersModel;
}

/** Runs a layers model on x flattened to [B, D]. */
function run(net: tfl.LayersModel, x: tf.Tensor): tf.Tensor {
  const flat = x.rank === 2 ? x : tf.reshape(x, [x.shape[0]!, -1]);
  return net.apply(flat) as tf.Tensor;
}

/**
 * q(z|x) = N(mu(x), diag(sigma(x)^2)) from a network with 2M outputs: the first M are the mean,
 * the last M pass through softplus (+1e-5) to give a positive, smooth scale.
 */
export class GaussianEncoder {
  readonly net: tfl.LayersModel;
  constructor(net: tfl.LayersModel) {
    this.net = checkNet('GaussianEncoder', net);
  }
  /** q(z|x): x [B, ...] -> batch [B], event [M]. */
  posterior(x: tf.Tensor): Distribution {
    const out = run(this.net, x);
    const m = out.shape[1]! / 2;
    if (!Number.isInteger(m)) throw new DlvmError(`GaussianEncoder.posterior: the network must output 2M values (mean and scale), but gives ${out.shape[1]}.`);
    const [mu, raw] = tf.split(out, 2, 1) as [tf.Tensor, tf.Tensor];
    return new Independent(new Normal(mu, tf.add(tf.softplus(raw), 1e-5), { validateArgs: false }), 1);
  }
  get trainableVariables(): tf.Variable[] {
    return this.net.trainableWeights.map((w) => w.read() as tf.Variable);
  }
}

/** Shared part of the decoders: a network and the shape of one example. */
abstract class Decoder {
  readonly net: tfl.LayersModel;
  readonly itemShape: number[];
  constructor(name: string, net: tfl.LayersModel, itemShape: number[]) {
    this.net = checkNet(name, net);
    if (!Array.isArray(itemShape) || !itemShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw argError(name, 'itemShape', 'the shape of one example, e.g. [28, 28]', itemShape);
    }
    this.itemShape = [...itemShape];
  }
  /** The network's output for z [B, M], reshaped to [B, ...itemShape]. */
  protected params(z: tf.Tensor): tf.Tensor {
    return tf.reshape(run(this.net, z), [z.shape[0]!, ...this.itemShape]);
  }
  /** p(x|z): batch [B], event itemShape. */
  abstract likelihood(z: tf.Tensor): Distribution;
  get trainableVariables(): tf.Variable[] {
    return this.net.trainableWeights.map((w) => w.read() as tf.Variable);
  }
}

/** p(x|z) = Bernoulli(logits = net(z)) per pixel, for binary data. */
export class BernoulliDecoder extends Decoder {
  constructor(net: tfl.LayersModel, itemShape: number[]) {
    super('BernoulliDecoder', net, itemShape);
  }
  likelihood(z: tf.Tensor): Distribution {
    return new Independent(new Bernoulli({ logits: this.params(z) }, { validateArgs: false }), this.itemShape.length);
  }
}

/** p(x|z) = ContinuousBernoulli(logits = net(z)) per pixel, for data in [0, 1]. */
export class ContinuousBernoulliDecoder extends Decoder {
  constructor(net: tfl.LayersModel, itemShape: number[]) {
    super('ContinuousBernoulliDecoder', net, itemShape);
  }
  likelihood(z: tf.Tensor): Distribution {
    return new Independent(new ContinuousBernoulli({ logits: this.params(z) }, { validateArgs: false }), this.itemShape.length);
  }
}

/** p(x|z) = N(net(z), sigma^2) per value with a fixed standard deviation `scale`. */
export class GaussianDecoder extends Decoder {
  readonly scale: number;
  constructor(net: tfl.LayersModel, itemShape: number[], { scale = 1 }: { scale?: number } = {}) {
    super('GaussianDecoder', net, itemShape);
    if (!(scale > 0)) throw argError('GaussianDecoder', 'scale', 'a positive number', scale);
    this.scale = scale;
  }
  likelihood(z: tf.Tensor): Distribution {
    return new Independent(new Normal(this.params(z), this.scale, { validateArgs: false }), this.itemShape.length);
  }
}
