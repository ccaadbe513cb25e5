/**
 * The exponential-family base class, torch.distributions.ExponentialFamily: entropy and KL from
 * the log-normaliser by automatic differentiation (Bregman divergences).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DlvmError } from '../errors.js';
import { Distribution, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { sumRightmost } from './util.js';

/**
 * A family with density h(x) exp(<theta, T(x)> - A(theta)): subclasses give the natural parameters
 * theta (`naturalParams`), the log-normaliser A (`logNormalizer(...theta)`, differentiable tfjs
 * ops) and E[log h(x)] (`meanCarrierMeasure`). Then, as in torch,
 *   entropy = A(theta) - <theta, grad A(theta)> - E[log h(x)]
 * and for two members of the same family KL(p || q) = A(theta_q) - A(theta_p) - <theta_q - theta_p, grad A(theta_p)>,
 * registered for (ExponentialFamily, ExponentialFamily) with the registry's most-specific dispatch,
 * so a family's own closed form (every built-in one has it) wins. Gradients come from `tf.grads`.
 *
 * @example
 * class MyExponential extends ExponentialFamily {  // rate r: theta = -r, A(theta) = -log(-theta)
 *   get naturalParams() { return [tf.neg(this.rate)]; }
 *   logNormalizer(theta: tf.Tensor) { return tf.neg(tf.log(tf.neg(theta))); }
 *   get meanCarrierMeasure() { return 0; }
 *   ...
 * }
 */
export abstract class ExponentialFamily extends Distribution {
  constructor(batchShape: number[], eventShape: number[], options: DistributionOptions = {}) {
    super(batchShape, eventShape, options);
  }
  /** The natural parameters theta, each `[...batchShape, ...]` (new tensors, owned by the caller). */
  abstract get naturalParams(): tf.Tensor[];
  /** The log-normaliser A(theta), batch shape, from tfjs ops (it is differentiated). */
  abstract logNormalizer(...theta: tf.Tensor[]): tf.Tensor;
  /** E[log h(x)], the expected log carrier measure: a number or a batch-shaped tensor. */
  abstract get meanCarrierMeasure(): number | tf.Tensor;

  /** [A(theta), grad A(theta)] at this distribution's natural parameters. */
  protected logNormalizerAndGradients(): { theta: tf.Tensor[]; value: tf.Tensor; grads: tf.Tensor[] } {
    const theta = this.naturalParams;
    const value = this.logNormalizer(...theta);
    const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(this.logNormalizer(...t)))(theta);
    return { theta, value, grads };
  }

  protected override _entropy(): tf.Tensor {
    const { theta, value, grads } = this.logNormalizerAndGradients();
    let result = tf.sub(value, this.meanCarrierMeasure);
    theta.forEach((t, i) => {
      const prod = tf.mul(t, grads[i]!);
      result = tf.sub(result, sumRightmost(prod, prod.rank - this.batchShape.length));
    });
    return result;
  }
}

// The Bregman divergence of A between theta_q and theta_p; only within one family, as torch.
registerKL(ExponentialFamily, ExponentialFamily, (p, q) => {
  if (p.constructor !== q.constructor) {
    throw new DlvmError(
      `klDivergence: KL(${p.name} || ${q.name}) between different exponential families has no Bregman form (torch raises too); register a closed form with registerKL or estimate it with monteCarloKL.`,
    );
  }
  return tf.tidy(() => {
    const thetaP = p.naturalParams;
    const thetaQ = q.naturalParams;
    const lgP = p.logNormalizer(...thetaP);
    const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(p.logNormalizer(...t)))(thetaP);
    let result = tf.sub(q.logNormalizer(...thetaQ), lgP);
    thetaP.forEach((tp, i) => {
      const term = tf.mul(tf.sub(thetaQ[i]!, tp), grads[i]!);
      result = tf.sub(result, sumRightmost(term, q.eventShape.length));
    });
    return result;
  });
});
