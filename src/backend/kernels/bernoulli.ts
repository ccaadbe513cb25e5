/**
 * The Bernoulli log-density as one kernel and its gradient as another (cpu and wasm), for
 * `bernoulliLogProb` (src/math/fused.ts, which also holds the composite they replace). The
 * composite is about fourteen launches forward (`Multiply`, `Softplus`, `Sub`, and the `Greater`,
 * `Equal`, `Abs` and `Select` passes that give the limits at infinite logits) and ten backward,
 * each a full pass: in an IWAE-100 chunk of 100 images they were 45% of the time.
 *
 * On wasm they run as SIMD (simd/kernels.c: float32, Cephes' expf and logf, about 1 ulp each);
 * on cpu, and on wasm without SIMD, as JavaScript loops in float64 rounded once. Both compute
 * (x l - max(l, 0)) - log1p(exp(-|l|)), so the log-density keeps the tiny -exp(-l) of a confident
 * logit, which float32's x l - softplus(l) rounds to 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { util, type GradConfig, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { BERNOULLI_LOG_PROB, BERNOULLI_LOG_PROB_GRAD_LOGITS, BERNOULLI_LOG_PROB_SUM } from '../../math/fused.js';
import { HOST_BACKENDS, hostKernel, sameShapes } from './host.js';

const LOG_PROB_INPUTS = ['logits', 'x'];

/** The log-density of one element, in float64. */
function logProbOne(li: number, xi: number): number {
  if (li === Infinity) return xi === 1 ? 0 : -Infinity;
  if (li === -Infinity) return xi === 0 ? 0 : -Infinity;
  return xi * li - (li > 0 ? li : 0) - Math.log1p(Math.exp(-Math.abs(li)));
}

function logProbLoop([l, x]: Float32Array[], [out]: Float32Array[]): void {
  const n = out!.length;
  for (let i = 0; i < n; i++) out![i] = logProbOne(l![i]!, x![i]!);
}

/** Each run of `len` elements' log-densities summed in float64, rounded once. */
function logProbSumLoop([l, x]: Float32Array[], [out]: Float32Array[], attrs: NamedAttrMap): void {
  const len = attrs['len'] as number;
  for (let r = 0; r < out!.length; r++) {
    let s = 0;
    for (let e = r * len; e < (r + 1) * len; e++) s += logProbOne(l![e]!, x![e]!);
    out![r] = s;
  }
}

/** The output shape of the summed kernel: the inputs' shape less the trailing dims that make up `len`. */
function summedShape(infos: TensorInfo[], attrs: NamedAttrMap): number[][] {
  const [shape] = sameShapes(BERNOULLI_LOG_PROB_SUM, LOG_PROB_INPUTS, 1)(infos);
  const len = attrs['len'] as number;
  let keep = shape!.length;
  for (let size = 1; keep > 0 && size < len;) size *= shape![--keep]!;
  if (util.sizeFromShape(shape!.slice(keep)) !== len) {
    throw new Error(`dlvm kernels: ${BERNOULLI_LOG_PROB_SUM}: len ${len} is not the size of trailing dims of [${shape}].`);
  }
  return [shape!.slice(0, keep)];
}

/** dy (x - sigmoid(l)), and 0 at infinite logits (where the density is a constant limit). */
function gradLogitsLoop([dy, l, x]: Float32Array[], [out]: Float32Array[]): void {
  const n = out!.length;
  for (let i = 0; i < n; i++) {
    const li = l![i]!;
    out![i] = li === Infinity || li === -Infinity ? 0 : dy![i]! * (x![i]! - 1 / (1 + Math.exp(-li)));
  }
}

const GRAD_INPUTS = ['dy', 'logits', 'x'];

/** The Bernoulli kernels for cpu and wasm; registered by registerDlvmKernels. */
export const bernoulliLogProbConfigs: KernelConfig[] = HOST_BACKENDS.flatMap((backendName) => [
  hostKernel(BERNOULLI_LOG_PROB, backendName, LOG_PROB_INPUTS, sameShapes(BERNOULLI_LOG_PROB, LOG_PROB_INPUTS, 1), logProbLoop, (k, [l, x], [out], n) =>
    k.bernoulli_log_prob(l!, x!, out!, n),
  ),
  hostKernel(
    BERNOULLI_LOG_PROB_GRAD_LOGITS,
    backendName,
    GRAD_INPUTS,
    sameShapes(BERNOULLI_LOG_PROB_GRAD_LOGITS, GRAD_INPUTS, 1),
    gradLogitsLoop,
    (k, [dy, l, x], [out], n) => k.bernoulli_log_prob_grad_logits(dy!, l!, x!, out!, n),
  ),
  hostKernel(BERNOULLI_LOG_PROB_SUM, backendName, LOG_PROB_INPUTS, summedShape, logProbSumLoop, (k, [l, x], [out], rows, attrs) =>
    k.bernoulli_log_prob_sum(l!, x!, out!, rows, attrs['len'] as number),
  ),
]);

/**
 * The gradient of {@link BERNOULLI_LOG_PROB}: the logits' through the fused kernel, x's (l, 0 at
 * infinite logits) as ops since data rarely needs one. Second derivatives are not registered.
 */
export const bernoulliLogProbGrad: GradConfig = {
  kernelName: BERNOULLI_LOG_PROB,
  inputsToSave: ['logits', 'x'],
  gradFunc: (dy, saved) => {
    const [logits, x] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    return {
      logits: () => tf.engine().runKernel(BERNOULLI_LOG_PROB_GRAD_LOGITS, { dy: g, logits, x }) as tf.Tensor,
      x: () => tf.where(tf.isInf(logits), tf.zerosLike(logits), tf.mul(g, logits)),
    };
  },
};

/**
 * The gradient of {@link BERNOULLI_LOG_PROB_SUM}: dy spread over each run, then as the
 * elementwise kernel's.
 */
export const bernoulliLogProbSumGrad: GradConfig = {
  kernelName: BERNOULLI_LOG_PROB_SUM,
  inputsToSave: ['logits', 'x'],
  gradFunc: (dy, saved) => {
    const [logits, x] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    const spread = (): tf.Tensor => tf.broadcastTo(tf.reshape(g, [...g.shape, ...logits.shape.slice(g.rank).map(() => 1)]), logits.shape);
    return {
      logits: () => tf.engine().runKernel(BERNOULLI_LOG_PROB_GRAD_LOGITS, { dy: spread(), logits, x }) as tf.Tensor,
      x: () => tf.where(tf.isInf(logits), tf.zerosLike(logits), tf.mul(spread(), logits)),
    };
  },
};
