/**
 * Formulas that dlvm computes in one fused kernel where it has one, and as tfjs ops elsewhere.
 * The kernels themselves live in src/backend/kernels (registered for cpu and wasm); this module
 * names them and holds the composite each one replaces, so the distributions use the fused form
 * without depending on the backends: the result is the same formula either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo, sum } from './ops.js';

/** Kernel: the Bernoulli log-density x l - softplus(l) with its limits (inputs logits, x). */
export const BERNOULLI_LOG_PROB = 'DlvmBernoulliLogProb';
/** Kernel: its gradient with respect to the logits (inputs dy, logits, x). */
export const BERNOULLI_LOG_PROB_GRAD_LOGITS = 'DlvmBernoulliLogProbGradLogits';
/**
 * Kernel: the Bernoulli log-density summed over the trailing `len` elements (inputs logits, x of
 * one shape, attribute `len`; the output drops the dims that make up `len`).
 */
export const BERNOULLI_LOG_PROB_SUM = 'DlvmBernoulliLogProbSum';

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

/**
 * {@link bernoulliLogProb} summed over the rightmost `n` dims of the broadcast shape (an
 * Independent Bernoulli's logProb, the decoder likelihood of a binary-image VAE), in one kernel
 * that never writes the elementwise values where the backend has it: in an IWAE-1000 chunk the
 * elementwise values are 78 million floats written and read again by `Sum`. Elsewhere, and for
 * n = 0, the sum of {@link bernoulliLogProb}. Its gradient is the same as that composite's.
 */
export function bernoulliLogProbSum(logits: tf.Tensor, x: tf.Tensor, n: number): tf.Tensor {
  return tf.tidy(() => {
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(logits.shape, x.shape);
    const len = tf.util.sizeFromShape(shape.slice(shape.length - n));
    const fused = n > 0 && tf.util.sizeFromShape(shape) > 0 && logits.dtype === 'float32' && tf.getKernel(BERNOULLI_LOG_PROB_SUM, tf.getBackend()) != null;
    if (!fused)
      return n > 0
        ? sum(
            bernoulliLogProb(logits, x),
            Array.from({ length: n }, (_, i) => shape.length - 1 - i),
          )
        : bernoulliLogProb(logits, x);
    const to = (t: tf.Tensor): tf.Tensor => (tf.util.arraysEqual(t.shape, shape) ? t : broadcastTo(t, shape));
    const l = to(logits);
    const xs = to(x.dtype === 'float32' ? x : tf.cast(x, 'float32'));
    return tf.engine().runKernel(BERNOULLI_LOG_PROB_SUM, { logits: l, x: xs }, { len }) as tf.Tensor;
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
