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
import { checkNet, run, variablesOf } from './nets_util.js';

/** A decoder's description in a saved model. */
export interface DecoderConfig {
  type: 'BernoulliDecoder' | 'ContinuousBernoulliDecoder' | 'GaussianDecoder';
  itemShape: number[];
  scale?: number;
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
  /** The network's output for z [B, M], reshaped to [B, ...itemShape]. */
  protected params(z: tf.Tensor): tf.Tensor {
    return tf.reshape(run(this.net, z), [z.shape[0]!, ...this.itemShape]);
  }
  /** p(x|z): batch [B], event itemShape. */
  abstract likelihood(z: tf.Tensor): Distribution;
  /** What `loadModel` needs besides the network (JSON). */
  abstract config(): DecoderConfig;
  get trainableVariables(): tf.Variable[] {
    return variablesOf(this.net);
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
  config(): DecoderConfig {
    return { type: 'BernoulliDecoder', itemShape: this.itemShape };
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
  config(): DecoderConfig {
    return { type: 'ContinuousBernoulliDecoder', itemShape: this.itemShape };
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
  config(): DecoderConfig {
    return { type: 'GaussianDecoder', itemShape: this.itemShape, scale: this.scale };
  }
}
