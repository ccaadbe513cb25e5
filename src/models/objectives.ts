/**
 * Training objectives: the (beta-)ELBO with KL schedules and optional weight decay, and the IWAE
 * bound. Each returns named parts per example and the scalar loss to minimise.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ObjectiveModel } from './contracts.js';
import { argError, positiveInteger } from '../errors.js';
import type { Distribution } from '../distributions/distribution.js';
import { elboTerms, importanceParts } from './batch.js';

/** An objective's value on a batch. */
export interface ObjectiveParts {
  /** The scalar to minimise. */
  loss: tf.Scalar;
  /** ELBO per example [B] (for IWAE: the mean over its k samples of log w). */
  elbo: tf.Tensor;
  /** -E_q[log p(x|z)] per example [B]. */
  reconstruction: tf.Tensor;
  /** KL(q(z|x) || p(z)) per example [B] (closed form, or log q - log p at the sample). */
  kl: tf.Tensor;
  /** The KL weight used at this step. */
  beta: number;
  /** Whether the KL was in closed form. */
  klAnalytic: boolean;
}

/** A training objective. */
export interface Objective {
  readonly name: string;
  /**
   * The objective on batch x at training step `step` (for schedules); conditional models pass
   * their condition y [B, C] (one-hot labels) to the encoder and the decoder.
   */
  parts(model: ObjectiveModel, x: tf.Tensor, step?: number, y?: tf.Tensor): ObjectiveParts;
}

/** A KL weight: a constant or a function of the training step. */
export type BetaSchedule = number | ((step: number) => number);

/** beta rises linearly from `from` to `to` over `steps` steps, then stays (Bowman et al. 2016). */
export function linearWarmup({ steps, from = 0, to = 1 }: { steps: number; from?: number; to?: number }): (step: number) => number {
  positiveInteger('linearWarmup', 'steps', steps);
  return (step) => from + (to - from) * Math.min(1, Math.max(0, step) / steps);
}

/**
 * Cyclical annealing (Fu et al. 2019): every `period` steps beta rises linearly from 0 to `max`
 * during the first `rampFraction` of the period, then stays at `max`.
 */
export function cyclical({ period, rampFraction = 0.5, max = 1 }: { period: number; rampFraction?: number; max?: number }): (step: number) => number {
  positiveInteger('cyclical', 'period', period);
  if (!(rampFraction > 0 && rampFraction <= 1)) throw argError('cyclical', 'rampFraction', 'a number in (0, 1]', rampFraction);
  return (step) => {
    const t = (Math.max(0, step) % period) / period;
    return max * Math.min(1, t / rampFraction);
  };
}

const warned = new Set<string>();

/** Says once per posterior family and prior that the KL term has no closed form (the ELBO's Monte Carlo estimate). */
function warnMonteCarlo(q: Distribution, prior: ObjectiveModel['prior']): void {
  const key = `${q.name}|${prior.constructor.name}`;
  if (warned.has(key)) return;
  warned.add(key);
  const p = prior.distribution();
  console.warn(`ELBO: no closed form for KL(${q.toString()} || ${p.toString()}); using the one-sample Monte Carlo estimate log q(z|x) - log p(z).`);
}

/** Options of {@link ELBO}. */
export interface ElboOptions {
  /** KL weight, constant or scheduled (default 1: the ELBO; beta > 1: beta-VAE). */
  beta?: BetaSchedule;
  /** L2 penalty lambda * sum of squared weights added to the loss (AIML 425's lambda; default 0). */
  weightDecay?: number;
}

/**
 * The (beta-)ELBO: E_q[log p(x|z)] - beta KL(q(z|x) || p(z)) with one reparameterised sample.
 * The loss is its negative batch mean plus the weight decay; `elbo` reports the true ELBO
 * (beta = 1) whatever the weight.
 */
export class ELBO implements Objective {
  readonly name = 'elbo';
  readonly beta: BetaSchedule;
  readonly weightDecay: number;

  constructor(options: ElboOptions = {}) {
    const { beta = 1, weightDecay = 0 } = options ?? {};
    if (!(typeof beta === 'function' || (typeof beta === 'number' && beta >= 0))) {
      throw argError('ELBO', 'options.beta', 'a nonnegative number or a function of the step', beta);
    }
    if (!(typeof weightDecay === 'number' && weightDecay >= 0)) throw argError('ELBO', 'options.weightDecay', 'a nonnegative number', weightDecay);
    this.beta = beta;
    this.weightDecay = weightDecay;
  }

  /** The KL weight at `step`. */
  betaAt(step: number): number {
    return typeof this.beta === 'function' ? this.beta(step) : this.beta;
  }

  parts(model: ObjectiveModel, x: tf.Tensor, step = 0, y?: tf.Tensor): ObjectiveParts {
    const beta = this.betaAt(step);
    let analytic = true;
    const out = tf.tidy(() => {
      const q = model.encoder.posterior(x, y); // q(z|x) (or q(z|x, y)), event [M]
      // One reparameterised draw z ~ q; p(x|z) (or p(x|z, y)) has the data's item shape as event.
      const terms = elboTerms(model, q, x, y, { reparameterised: true });
      analytic = terms.analytic;
      if (!analytic) warnMonteCarlo(q, model.prior);
      const { reconstruction, kl } = terms;
      const elbo = tf.neg(tf.add(reconstruction, kl));
      let loss = tf.mean(tf.add(reconstruction, tf.mul(beta, kl)));
      if (this.weightDecay > 0) {
        const l2 = tf.addN(model.trainableVariables.map((v) => tf.sum(tf.square(v))));
        loss = tf.add(loss, tf.mul(this.weightDecay, l2));
      }
      return { loss: loss as tf.Scalar, elbo, reconstruction, kl };
    });
    return { ...out, beta, klAnalytic: analytic };
  }
}

/**
 * The IWAE bound (Burda et al. 2016): log (1/k) sum_i p(x, z_i) / q(z_i|x) with k reparameterised
 * samples; k = 1 is the ELBO. The loss is its negative batch mean.
 */
export class IWAEBound implements Objective {
  readonly name = 'iwae';
  readonly k: number;

  constructor(k: number) {
    positiveInteger('IWAEBound', 'k', k);
    this.k = k;
  }

  parts(model: ObjectiveModel, x: tf.Tensor, _step = 0, y?: tf.Tensor): ObjectiveParts {
    const out = tf.tidy(() => {
      const q = model.encoder.posterior(x, y);
      const { logLik, logRatio } = importanceParts(model, q, x, y, this.k, true); // [k, B]
      const logW = tf.sub(logLik, logRatio);
      const bound = tf.sub(tf.logSumExp(logW, 0), Math.log(this.k)); // [B]
      return {
        loss: tf.neg(tf.mean(bound)) as tf.Scalar,
        elbo: tf.mean(logW, 0),
        reconstruction: tf.neg(tf.mean(logLik, 0)),
        kl: tf.mean(logRatio, 0),
      };
    });
    return { ...out, beta: 1, klAnalytic: false };
  }
}
