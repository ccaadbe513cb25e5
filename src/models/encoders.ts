/**
 * Encoders: networks whose output is the posterior q(z|x).
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { Normal } from '../distributions/normal.js';
import { checkNet, runWith, variablesOf } from './nets_util.js';
import type { Network } from './network.js';

/**
 * How a Gaussian encoder maps its raw outputs to a scale: `'softplus'` (softplus(r) + 1e-5,
 * smooth and never huge; dlvm's default) or `'exp'` (exp(r), as DTU 02460's `vae_bernoulli.py`
 * and many PyTorch ports do).
 */
export type PosteriorScale = 'softplus' | 'exp';

/**
 * q(z|x) = N(mu(x), diag(sigma(x)^2)) from a network with 2M outputs: the first M are the mean,
 * the last M give the scale through `scale`: softplus (+1e-5, the default) or exp.
 *
 * @example
 * new GaussianEncoder(mlp({ inputDim: 784, hidden: [512, 512], outputDim: 2 * 10 }), { scale: 'exp' }); // as vae_bernoulli.py
 */
export class GaussianEncoder {
  readonly net: Network;
  /** How the raw outputs become the scale. */
  readonly scale: PosteriorScale;
  constructor(net: Network, options: { scale?: PosteriorScale } = {}) {
    this.net = checkNet('GaussianEncoder', net);
    if (options === null || typeof options !== 'object') throw argError('GaussianEncoder', 'options', "an object such as { scale: 'exp' }", options);
    const scale = options.scale ?? 'softplus';
    if (scale !== 'softplus' && scale !== 'exp') throw argError('GaussianEncoder', 'options.scale', "'softplus' or 'exp'", scale);
    this.scale = scale;
  }
  /**
   * q(z|x): x [B, ...] -> batch [B], event [M]. The conditional form q(z|x, y) takes a condition
   * y [B, C] (one-hot labels): a two-input network gets [x, y], a one-input network x flattened
   * and concatenated with y.
   */
  posterior(x: tf.Tensor, y?: tf.Tensor): Distribution {
    // The returned distribution owns what is made here: q.dispose() frees it all.
    const [mu, scale] = tf.tidy(() => {
      const out = runWith(this.net, x, y);
      const m = out.shape[1]! / 2;
      if (!Number.isInteger(m))
        throw new DlvmError(`GaussianEncoder.posterior: the network must output 2M values (mean and scale), but gives ${out.shape[1]}.`);
      const [loc, raw] = tf.split(out, 2, 1) as [tf.Tensor, tf.Tensor];
      return [loc, this.scale === 'exp' ? tf.exp(raw) : tf.add(tf.softplus(raw), 1e-5)];
    });
    return Distribution.owning(new Independent(new Normal(mu, scale, { validateArgs: false }), 1), [mu, scale]);
  }
  get trainableVariables(): tf.Variable[] {
    return variablesOf(this.net);
  }
}
