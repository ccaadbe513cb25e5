/**
 * Batches of examples against a model's distributions, shared by the objectives and the
 * evaluation: x shaped as p(x|z)'s event, k copies of a batch, the two terms of the ELBO and
 * the parts of k importance weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from '../distributions/distribution.js';
import type { ObjectiveModel } from './contracts.js';
import { hasClosedFormKL, klDivergence, monteCarloKL } from '../distributions/kl.js';

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
 * Draws z ~ q (with `rsample` when `reparameterised`) and decodes them: k draws give z [k, B, M]
 * against k copies of the batch and `logLik` log p(x|z, y) [k, B]; no k, one draw z [B, M] and
 * `logLik` [B].
 */
function decodeDraws(
  model: Pick<ObjectiveModel, 'decoder'>,
  q: Distribution,
  x: tf.Tensor,
  y: tf.Tensor | undefined,
  k: number | undefined,
  reparameterised: boolean,
): { z: tf.Tensor; logLik: tf.Tensor } {
  if (k === undefined) {
    const z = reparameterised ? q.rsample() : q.sample();
    const lik = model.decoder.likelihood(z, y);
    return { z, logLik: lik.logProb(asEvent(x, lik)) };
  }
  const b = x.shape[0]!;
  const z = reparameterised ? q.rsample([k]) : q.sample([k]);
  const lik = model.decoder.likelihood(tf.reshape(z, [k * b, ...z.shape.slice(2)]), y === undefined ? undefined : repeatBatch(y, k));
  return { z, logLik: tf.reshape(lik.logProb(asEvent(repeatBatch(x, k), lik)), [k, b]) };
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
    const { z, logLik } = decodeDraws(model, q, x, y, k, reparameterised);
    return { logLik, logRatio: tf.sub(q.logProb(z), model.prior.distribution().logProb(z)) };
  });
}

/** Options of {@link elboTerms}. */
export interface ElboTermsOptions {
  /** Posterior draws per example (default 1). */
  samples?: number;
  /** Draw with `rsample` (gradients to q's parameters, for training) or `sample` (evaluation). */
  reparameterised: boolean;
  /**
   * Without a closed form for the KL: estimate it from this many fresh draws of q (monteCarloKL)
   * instead of log q(z) - log p(z) at the reconstruction's draws (default).
   */
  klSamples?: number;
}

/**
 * The two terms of the ELBO per example, derived once for the objectives and the evaluation:
 * `reconstruction` E_q[-log p(x|z, y)] (the mean over `samples` draws z ~ q) and `kl`
 * KL(q(z|x) || p(z)), in closed form when the KL registry has the pair (`analytic`), else by
 * Monte Carlo. ELBO = -(reconstruction + kl). All [B].
 */
export function elboTerms(
  model: Pick<ObjectiveModel, 'decoder' | 'prior'>,
  q: Distribution,
  x: tf.Tensor,
  y: tf.Tensor | undefined,
  options: ElboTermsOptions,
): { reconstruction: tf.Tensor; kl: tf.Tensor; analytic: boolean } {
  const s = options.samples ?? 1;
  let analytic = false;
  const out = tf.tidy(() => {
    // One draw: z [B, M] as it comes; s draws: z [s, B, M] against s copies of the batch.
    const { z, logLik } = decodeDraws(model, q, x, y, s === 1 ? undefined : s, options.reparameterised);
    const reconstruction = s === 1 ? tf.neg(logLik) : tf.neg(tf.mean(logLik, 0));
    const p = model.prior.distribution();
    analytic = hasClosedFormKL(q, p);
    const kl = analytic
      ? klDivergence(q, p)
      : options.klSamples !== undefined
        ? monteCarloKL(q, p, options.klSamples)
        : s === 1
          ? tf.sub(q.logProb(z), p.logProb(z))
          : tf.mean(tf.sub(q.logProb(z), p.logProb(z)), 0);
    return { reconstruction, kl };
  });
  return { ...out, analytic };
}
