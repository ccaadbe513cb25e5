/**
 * Batches of examples against a model's distributions, shared by the objectives and the
 * evaluation: x shaped as p(x|z)'s event, k copies of a batch, and the parts of k importance
 * weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from '../distributions/distribution.js';
import type { ObjectiveModel } from './contracts.js';

/** x reshaped to [B, ...eventShape of p(x|z)], so flat [B, D] data meets an image decoder. */
export function asEvent(x: tf.Tensor, likelihood: Distribution): tf.Tensor {
  const want = [x.shape[0]!, ...likelihood.eventShape];
  return tf.util.arraysEqual(x.shape, want) || likelihood.eventShape.length === 0 ? x : tf.reshape(x, want);
}

/** [B, ...] -> [k B, ...]: k copies of the batch, one after the other (matching z [k, B, M] flattened). */
export function repeatBatch(x: tf.Tensor, k: number): tf.Tensor {
  return tf.reshape(tf.broadcastTo(tf.expandDims(x, 0), [k, ...x.shape]), [k * x.shape[0]!, ...x.shape.slice(1)]);
}

/**
 * The parts of k importance weights p(x, z_i | y) / q(z_i) with z_i ~ q (reparameterised with
 * `rsample` when `reparameterised`, for gradients): `logLik` log p(x|z_i, y) and `logRatio`
 * log q(z_i) - log p(z_i), both [k, B]; log w_i = logLik - logRatio.
 */
export function importanceParts(
  model: Pick<ObjectiveModel, 'decoder' | 'prior'>,
  q: Distribution,
  x: tf.Tensor,
  y: tf.Tensor | undefined,
  k: number,
  reparameterised: boolean,
): { logLik: tf.Tensor; logRatio: tf.Tensor } {
  return tf.tidy(() => {
    const b = x.shape[0]!;
    const z = reparameterised ? q.rsample([k]) : q.sample([k]); // [k, B, M]
    const lik = model.decoder.likelihood(tf.reshape(z, [k * b, ...z.shape.slice(2)]), y === undefined ? undefined : repeatBatch(y, k));
    const logLik = tf.reshape(lik.logProb(asEvent(repeatBatch(x, k), lik)), [k, b]);
    return { logLik, logRatio: tf.sub(q.logProb(z), model.prior.distribution().logProb(z)) };
  });
}
