/**
 * Dataset-level evaluation of latent variable models: ELBO and its parts, the IWAE-k estimate of
 * log p(x), bits per dimension, reconstruction error, classification accuracy, active units and
 * KL per latent dimension.
 *
 * Every function works batch by batch (memory bounded by one batch and, for IWAE, one chunk of
 * importance samples), reads results back per batch with awaited reads (never `dataSync`, so
 * they run on WebGPU), settles pending argument checks ({@link checkArgs}) with each read, and
 * leaves no tensors behind. With a `seed` the Monte Carlo parts are reproducible on a given
 * backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, checkExamples, checkLabels, describeValue, DlvmError, positiveInteger } from '../errors.js';
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { klDivergence } from '../distributions/kl.js';
import { readAndFree } from '../distributions/pending_checks.js';
import { withSeed } from '../random.js';
import { checkModel, conditionOf, inputShapeOf } from './model.js';
import type { LatentVariableModel } from '../models/contracts.js';
import { elboTerms, importanceParts } from '../models/batch.js';
import { countCorrect } from '../models/labels.js';

/** Data to evaluate on: a dataset, or a tensor of examples `[N, ...itemShape]`. */
export type EvalData = ArrayDataset | tf.Tensor;

/** Options shared by the evaluation functions. */
export interface EvalOptions {
  /** Examples per batch (default 500). */
  batchSize?: number;
  /** How to binarise dataset images (default 'none'; see ArrayDataset). */
  binarize?: Binarize;
  /** Seed for binarize 'static'. */
  binarizeSeed?: number;
  /** Seeds dlvm's samplers for the evaluation (restored to unseeded afterwards). */
  seed?: number;
  /** Called after every batch with the examples done and the total (for progress lines). */
  onProgress?: (done: number, total: number) => void;
}

/** Dataset means of the ELBO and its parts, in nats per example. */
export interface ElboResult {
  /** E_q[log p(x|z)] - KL(q(z|x) || p(z)), the evidence lower bound. */
  elbo: number;
  /** E_q[-log p(x|z)], the reconstruction term as a loss (positive). */
  reconstruction: number;
  /** KL(q(z|x) || p(z)). */
  kl: number;
  /** -elbo, the negative ELBO (NELBO). */
  loss: number;
  /** Whether the KL was computed in closed form (else Monte Carlo). */
  klAnalytic: boolean;
  /** Number of examples. */
  n: number;
}

/**
 * Iterates over the data in batches of tensors (each freed after `visit` settles). With a
 * `model`, the data are first checked against it, from shapes and host labels alone: examples
 * of the model's input shape, and for a conditional model labels in 0..C-1.
 */
async function forEachBatch(
  fn: string,
  data: EvalData,
  options: EvalOptions,
  model: LatentVariableModel | null,
  visit: (x: tf.Tensor, labels: Int32Array | null) => Promise<void>,
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  positiveInteger(fn, 'options.batchSize', batchSize);
  if (!(data instanceof ArrayDataset) && !(data instanceof tf.Tensor && data.rank >= 1)) {
    throw argError(fn, 'data', 'an ArrayDataset or a tensor [N, ...itemShape]', data);
  }
  if (model !== null) {
    checkExamples(fn, 'data', data, inputShapeOf(model), 'N');
    const c = model.numClasses;
    if (c !== undefined && data instanceof ArrayDataset && data.labels) checkLabels(fn, 'data', data.labels, c, `the model's ${c} classes`);
  }
  let done = 0;
  if (data instanceof ArrayDataset) {
    for (const b of data.batches({ batchSize, shuffle: false, binarize: options.binarize, binarizeSeed: options.binarizeSeed })) {
      await visit(b.x, data.labels ? b.indices.map((i) => data.labels![i]!) : null);
      done += b.indices.length;
      options.onProgress?.(done, data.length);
    }
    return data.length;
  }
  const n = data.shape[0]!;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const x = tf.slice(data, [start, ...data.shape.slice(1).map(() => 0)], [size, ...data.shape.slice(1)]);
    try {
      await visit(x, null);
    } finally {
      x.dispose();
    }
    options.onProgress?.(start + size, n);
  }
  return n;
}

/** Per-example reconstruction and KL terms of a batch (the caller's tidy frees them). */
export type BatchTerms = (x: tf.Tensor, labels: Int32Array | null) => { reconstruction: tf.Tensor; kl: tf.Tensor; analytic: boolean };

/**
 * Dataset means of per-example terms `[B]` -reconstruction and KL of a bound on log p(x), batch
 * by batch: the ELBO of {@link evaluateElbo}, or a model's own bound (SSVAE's, y summed out).
 */
export async function meanTerms(fn: string, model: LatentVariableModel, data: EvalData, options: EvalOptions, terms: BatchTerms): Promise<ElboResult> {
  let rec = 0;
  let kl = 0;
  let analytic = true;
  const n = await withSeed(options.seed, () =>
    forEachBatch(fn, data, options, model, async (x, labels) => {
      const rk = tf.tidy(() => {
        const t = terms(x, labels);
        analytic = analytic && t.analytic;
        return tf.stack([tf.sum(t.reconstruction), tf.sum(t.kl)]);
      });
      const [r, k] = await readAndFree(rk);
      rec += r!;
      kl += k!;
    }),
  );
  const reconstruction = rec / n;
  const klMean = kl / n;
  return { elbo: -(reconstruction + klMean), reconstruction, kl: klMean, loss: reconstruction + klMean, klAnalytic: analytic, n };
}

/**
 * The ELBO over a dataset, with its reconstruction and KL parts (means per example, in nats).
 * One posterior sample per example for the reconstruction term (`samples` to use more); the KL
 * in closed form when the registry has the pair, else by Monte Carlo (`klAnalytic` says which).
 * The terms are the objectives' (models/batch.ts, `elboTerms`).
 *
 * @example
 * const { elbo, reconstruction, kl } = await evaluateElbo(model, test, { binarize: 'dynamic', seed: 0 });
 */
export async function evaluateElbo(model: LatentVariableModel, data: EvalData, options: EvalOptions & { samples?: number } = {}): Promise<ElboResult> {
  const fn = 'evaluateElbo';
  const m = checkModel(fn, model);
  const samples = options.samples ?? 1;
  positiveInteger(fn, 'options.samples', samples);
  return meanTerms(fn, m, data, options, (x, labels) => {
    const y = conditionOf(fn, m, labels);
    return elboTerms(m, m.encoder.posterior(x, y), x, y, { samples, reparameterised: false, klSamples: Math.max(samples, 16) });
  });
}

/**
 * The IWAE-k estimate of log p(x) (Burda et al. 2016), averaged over the data:
 * log (1/k) sum_i p(x, z_i) / q(z_i|x) with z_i ~ q(z|x). It is a lower bound that rises with k
 * toward log p(x). The k samples are drawn in chunks of `chunk` (default 100) and combined with a
 * running log-sum-exp, so memory stays bounded for k in the thousands.
 *
 * @returns the mean estimate in nats per example (the NLL is its negative).
 */
export async function iwaeLogLikelihood(model: LatentVariableModel, data: EvalData, options: EvalOptions & { k: number; chunk?: number }): Promise<number> {
  const fn = 'iwaeLogLikelihood';
  const m = checkModel(fn, model);
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { k: 1000 }', options);
  const { k } = options;
  const chunk = Math.min(options.chunk ?? 100, k);
  positiveInteger(fn, 'options.k', k);
  positiveInteger(fn, 'options.chunk', chunk, options.chunk);
  let total = 0;
  const n = await withSeed(options.seed, () =>
    forEachBatch(fn, data, { batchSize: 100, ...options }, m, async (x, labels) => {
      const b = x.shape[0]!;
      // Running log-sum-exp per example over chunks: max and sum of exp(w - max).
      let runMax = new Float64Array(b).fill(-Infinity);
      let runSum = new Float64Array(b);
      for (let done = 0; done < k; done += chunk) {
        const c = Math.min(chunk, k - done);
        const logW = tf.tidy(() => {
          const y = conditionOf(fn, m, labels);
          const { logLik, logRatio } = importanceParts(m, m.encoder.posterior(x, y), x, y, c, false); // [c, B]
          return tf.sub(logLik, logRatio);
        });
        const w = await readAndFree(logW);
        const nextMax = runMax.slice();
        for (let i = 0; i < c; i++) for (let j = 0; j < b; j++) nextMax[j] = Math.max(nextMax[j]!, w[i * b + j]!);
        const nextSum = new Float64Array(b);
        for (let j = 0; j < b; j++) {
          nextSum[j] = runSum[j]! === 0 ? 0 : runSum[j]! * Math.exp(runMax[j]! - nextMax[j]!);
        }
        for (let i = 0; i < c; i++) for (let j = 0; j < b; j++) nextSum[j]! += Math.exp(w[i * b + j]! - nextMax[j]!);
        runMax = nextMax;
        runSum = nextSum;
      }
      for (let j = 0; j < b; j++) total += runMax[j]! + Math.log(runSum[j]!) - Math.log(k);
    }),
  );
  return total / n;
}

/**
 * Bits per dimension of a negative log-likelihood in nats per example: nll / (D ln 2), with D the
 * number of dimensions of one example (784 for MNIST).
 */
export function bitsPerDim(nllNats: number, dims: number): number {
  if (typeof nllNats !== 'number' || !Number.isFinite(nllNats)) throw argError('bitsPerDim', 'nllNats', 'a finite number', nllNats);
  positiveInteger('bitsPerDim', 'dims', dims);
  return nllNats / (dims * Math.LN2);
}

/**
 * Mean squared reconstruction error per value: x against the mean of p(x|z) at z = the posterior
 * mean (deterministic, as the PML report's Table 1).
 */
export async function reconstructionMse(model: LatentVariableModel, data: EvalData, options: EvalOptions = {}): Promise<number> {
  const fn = 'reconstructionMse';
  const m = checkModel(fn, model);
  let sum = 0;
  let count = 0;
  await forEachBatch(fn, data, options, m, async (x, labels) => {
    const s = tf.tidy(() => {
      const y = conditionOf(fn, m, labels);
      const z = m.encoder.posterior(x, y).mean;
      const xhat = m.decoder.likelihood(z, y).mean;
      return tf.sum(tf.squaredDifference(tf.reshape(xhat, x.shape), x));
    });
    sum += (await readAndFree(s))[0]!;
    count += x.size;
  });
  return sum / count;
}

/**
 * Classification accuracy of `classify` (x -> class probabilities or logits `[B, C]`, or a
 * Categorical) on a labelled dataset. Scores for another number of examples than the batch's,
 * or labels outside the C classes the scores cover, are refused (from shapes and the dataset's
 * labels alone). The data's item shape is checked by `classify`'s model (e.g. `SSVAE.classify`).
 */
export async function classificationAccuracy(
  classify: (x: tf.Tensor) => tf.Tensor | Distribution,
  data: ArrayDataset,
  options: EvalOptions = {},
): Promise<number> {
  const fn = 'classificationAccuracy';
  if (typeof classify !== 'function') throw argError(fn, 'classify', 'a function x -> logits, probabilities or a Categorical', classify);
  return accuracyOf(fn, null, classify, data, options);
}

/**
 * The accuracy of `classify` on a labelled dataset, counted batch by batch (errors name `fn`).
 * With a `model`, the data are first checked against it (item shape, labels in its classes).
 */
export async function accuracyOf(
  fn: string,
  model: LatentVariableModel | null,
  classify: (x: tf.Tensor) => tf.Tensor | Distribution,
  data: ArrayDataset,
  options: EvalOptions,
): Promise<number> {
  if (!(data instanceof ArrayDataset) || !data.labels) throw argError(fn, 'data', 'a labelled ArrayDataset', data);
  let correct = 0;
  await forEachBatch(fn, data, options, model, async (x, labels) => {
    const pred = tf.tidy(() => {
      const out = classify(x);
      const scores = out instanceof Distribution ? (out as unknown as { logits: tf.Tensor }).logits : out;
      const b = x.shape[0]!;
      if (!(scores instanceof tf.Tensor) || scores.rank !== 2 || scores.shape[0] !== b) {
        const found = scores instanceof tf.Tensor ? describeValue(scores) : String(scores);
        throw new DlvmError(`${fn}: classify must return [B, C] scores or a Categorical, for a batch of B = ${b} examples, but returned ${found}.`);
      }
      // Labels the scores cannot name are an error, not a silent miss (host labels, shapes only).
      checkLabels(fn, 'data', labels!, scores.shape[1]!, `classify returns ${scores.shape[1]} class scores`);
      return tf.argMax(scores, -1);
    });
    const p = await readAndFree(pred);
    correct += countCorrect(p, labels!);
  });
  return correct / data.length;
}

/**
 * Active units (Burda et al. 2016): a latent dimension is active when the variance over the data
 * of its posterior mean, Cov_x(E_q[z]), exceeds `threshold` (default 0.01).
 *
 * @returns the count and the variance of each dimension.
 */
export async function activeUnits(
  model: LatentVariableModel,
  data: EvalData,
  options: EvalOptions & { threshold?: number } = {},
): Promise<{ count: number; variances: number[] }> {
  const fn = 'activeUnits';
  const m = checkModel(fn, model);
  const threshold = options.threshold ?? 0.01;
  let sum: Float64Array | null = null;
  let sumSq: Float64Array | null = null;
  const n = await forEachBatch(fn, data, options, m, async (x, labels) => {
    const mu = tf.tidy(() => m.encoder.posterior(x, conditionOf(fn, m, labels)).mean); // [B, M]
    const dim = mu.shape[mu.rank - 1]!;
    const v = await readAndFree(mu);
    sum ??= new Float64Array(dim);
    sumSq ??= new Float64Array(dim);
    for (let i = 0; i < v.length; i++) {
      sum[i % dim]! += v[i]!;
      sumSq[i % dim]! += v[i]! * v[i]!;
    }
  });
  const variances = Array.from(sum!, (s, d) => sumSq![d]! / n - (s / n) ** 2);
  return { count: variances.filter((v) => v > threshold).length, variances };
}

/**
 * Mean KL(q(z_d|x) || p(z_d)) per latent dimension d, for factorised posteriors and priors
 * (`Independent` over one dimension, e.g. diagonal Gaussians). The sum over d is the ELBO's KL.
 */
export async function klPerDimension(model: LatentVariableModel, data: EvalData, options: EvalOptions = {}): Promise<number[]> {
  const fn = 'klPerDimension';
  const m = checkModel(fn, model);
  let sum: Float64Array | null = null;
  const n = await forEachBatch(fn, data, options, m, async (x, labels) => {
    const kl = tf.tidy(() => {
      const q = m.encoder.posterior(x, conditionOf(fn, m, labels));
      const p = m.prior.distribution();
      if (!(q instanceof Independent) || !(p instanceof Independent) || q.reinterpretedBatchNdims !== 1 || p.reinterpretedBatchNdims !== 1) {
        throw new DlvmError(`${fn}: needs factorised posterior and prior (Independent over one dimension), got ${q.toString()} and ${p.toString()}.`);
      }
      return tf.sum(klDivergence(q.base, p.base), 0); // [M]
    });
    const v = await readAndFree(kl);
    sum ??= new Float64Array(v.length);
    v.forEach((a, i) => (sum![i]! += a));
  });
  return Array.from(sum!, (s) => s / n);
}
