/**
 * Encoders: networks whose output is the posterior q(z|x).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DlvmError } from '../errors.js';
import type { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { Normal } from '../distributions/normal.js';
import { checkNet, runWith, variablesOf } from './nets_util.js';

/**
 * q(z|x) = N(mu(x), diag(sigma(x)^2)) from a network with 2M outputs: the first M are the mean,
 * the last M pass through softplus (+1e-5) to give a positive, smooth scale.
 */
export class GaussianEncoder {
  readonly net: tfl.LayersModel;
  constructor(net: tfl.LayersModel) {
    this.net = checkNet('GaussianEncoder', net);
  }
  /**
   * q(z|x): x [B, ...] -> batch [B], event [M]. The conditional form q(z|x, y) takes a condition
   * y [B, C] (one-hot labels): a two-input network gets [x, y], a one-input network x flattened
   * and concatenated with y.
   */
  posterior(x: tf.Tensor, y?: tf.Tensor): Distribution {
    const out = runWith(this.net, x, y);
    const m = out.shape[1]! / 2;
    if (!Number.isInteger(m)) throw new DlvmError(`GaussianEncoder.posterior: the network must output 2M values (mean and scale), but gives ${out.shape[1]}.`);
    const [mu, raw] = tf.split(out, 2, 1) as [tf.Tensor, tf.Tensor];
    return new Independent(new Normal(mu, tf.add(tf.softplus(raw), 1e-5), { validateArgs: false }), 1);
  }
  get trainableVariables(): tf.Variable[] {
    return variablesOf(this.net);
  }
}
