/**
 * Formulas that dlvm computes in one fused kernel where it has one, and as tfjs ops elsewhere.
 * The kernels themselves live in src/backend/kernels (registered for cpu and wasm); this module
 * names them and holds the composite each one replaces, so the distributions use the fused form
 * without depending on the backends: the result is the same formula either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from './ops.js';

/** Kernel: the Bernoulli log-density x l - softplus(l) with its limits (inputs logits, x). */
export const BERNOULLI_LOG_PROB = 'DlvmBernoulliLogProb';
/** Kernel: its gradient with respect to the logits (inputs dy, logits, x). */
export const BERNOULLI_LOG_PROB_GRAD_LOGITS = 'DlvmBernoulliLogProbGradLogits';

/**
 * log Bernoulli(x | logits) elementwise, broadcasting `x` against `logits`:
 *
 *   x l - softplus(l)                         for finite l,
 *   0 if x is the sure outcome, else -inf     for l = +inf (outcome 1) or -inf (outcome 0).
 *
 * The formula's inf - inf would give NaN at infinite logits, as torch 1.13 does. The gradient
 * is x - sigmoid(l) with respect to l and l with respect to x (0 at infinite logits).
 *
 * One kernel launch (and one for its gradient) on cpu and wasm, where the composite below is
 * about fourteen: the log-likelihood of a VAE's decoder is the largest elementwise pass of a
 * training step and most of an IWAE evaluation that is not a matrix product.
 */
export function bernoulliLogProb(logits: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(logits.shape, x.shape);
    const fused = tf.util.sizeFromShape(shape) > 0 && logits.dtype === 'float32' && tf.getKernel(BERNOULLI_LOG_PROB, tf.getBackend()) != null;
    if (!fused) return bernoulliLogProbOps(logits, x);
    // broadcastTo to the same shape would still copy (an Identity launch).
    const to = (t: tf.Tensor): tf.Tensor => (tf.util.arraysEqual(t.shape, shape) ? t : broadcastTo(t, shape));
    const l = to(logits);
    const xs = to(x.dtype === 'float32' ? x : tf.cast(x, 'float32'));
    return tf.engine().runKernel(BERNOULLI_LOG_PROB, { logits: l, x: xs }) as tf.Tensor;
  });
}

/** {@link bernoulliLogProb} as tfjs ops: the path of backends without the kernel. */
export function bernoulliLogProbOps(logits: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const infinite = tf.isInf(logits);
    // x times the finite logits only, so that x has gradient 0 (not 0 * inf) at infinite ones.
    const lp = tf.sub(tf.mul(x, tf.where(infinite, tf.zerosLike(logits), logits)), tf.softplus(logits));
    const l = broadcastTo(logits, lp.shape);
    const certain = tf.where(tf.greater(l, 0), tf.onesLike(l), tf.zerosLike(l)); // the sure outcome
    const limit = tf.where(tf.equal(broadcastTo(x, lp.shape), certain), tf.zerosLike(lp), tf.fill(lp.shape, -Infinity));
    return tf.where(broadcastTo(infinite, lp.shape), limit, lp);
  });
}
