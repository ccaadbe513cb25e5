/**
 * Validation figures of a model over a dataset (what `fit` records after every epoch), and the
 * semi-supervised VAE's accuracy by Bayes' rule. Both are dataset loops over the per-batch
 * methods of the models (`SSVAE.unlabelledParts`, `classify`, `bayesClassify`), built on the
 * evaluation functions of metrics.ts.
 */
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { argError, positiveInteger } from '../errors.js';
import { withSeed } from '../random.js';
import { SSVAE } from '../models/ssvae.js';
import type { LatentVariableModel } from '../models/contracts.js';
import { accuracyOf, evaluateElbo, meanTerms, type ElboResult, type EvalOptions } from './metrics.js';
import { checkModel } from './model.js';

/** What {@link validationMetrics} returns: the bound's means and, for models that classify, the accuracy. */
export interface ValidationMetrics extends ElboResult {
  /** The accuracy of the model's classifier q(y|x) (SSVAE). */
  accuracy?: number;
}

/**
 * The validation figures of a model on a dataset, as `fit` records them: the ELBO and its parts
 * ({@link evaluateElbo}), and for an SSVAE its own bound on log p(x) with y summed out
 * (`unlabelledParts` with y enumerated; M1+M2: on log p(z1) at M1's mean z1) and the accuracy of
 * its classifier q(y|x) on the dataset's labels (the SSVAE's figures are seeded, default seed 0).
 *
 * @example
 * const { elbo, accuracy } = await validationMetrics(ssvae, test, { binarize: 'threshold' });
 */
export async function validationMetrics(model: SSVAE, data: ArrayDataset, options?: EvalOptions): Promise<ValidationMetrics & { accuracy: number }>;
export async function validationMetrics(model: LatentVariableModel, data: ArrayDataset, options?: EvalOptions): Promise<ValidationMetrics>;
export async function validationMetrics(model: LatentVariableModel, data: ArrayDataset, options: EvalOptions = {}): Promise<ValidationMetrics> {
  const fn = 'validationMetrics';
  if (!(model instanceof SSVAE)) return evaluateElbo(checkModel(fn, model), data, options);
  if (!(data instanceof ArrayDataset) || !data.labels) throw argError(fn, 'data', 'a labelled ArrayDataset', data);
  const seeded = { ...options, seed: options.seed ?? 0 };
  const bound = await meanTerms(fn, model, data, seeded, (x) => ({ ...model.unlabelledParts(x, 'enumerate'), analytic: true }));
  const accuracy = await withSeed(seeded.seed, () => accuracyOf(fn, model, (x) => model.classify(x), data, seeded));
  return { ...bound, accuracy };
}

/** Options of {@link bayesAccuracy}. */
export interface BayesAccuracyOptions {
  /** Importance samples per class for each log p(x|y) (default 100). */
  samples?: number;
  binarize?: Binarize;
  /** Seed of the importance samples (default 0). */
  seed?: number;
  /** Examples per batch (default 100). */
  batchSize?: number;
  /** Called after every batch with the examples done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The accuracy of an SSVAE on a labelled dataset when it classifies by Bayes' rule under its
 * generative model (`SSVAE.bayesClassify`, log p(x|y) by IWAE-k per class with `samples`
 * importance samples) instead of its classifier q(y|x).
 *
 * @example
 * const accuracy = await bayesAccuracy(ssvae, test, { samples: 100, binarize: 'threshold' });
 */
export async function bayesAccuracy(model: SSVAE, data: ArrayDataset, options: BayesAccuracyOptions = {}): Promise<number> {
  const fn = 'bayesAccuracy';
  if (!(model instanceof SSVAE)) throw argError(fn, 'model', 'an SSVAE', model);
  if (!(data instanceof ArrayDataset) || !data.labels) throw argError(fn, 'data', 'a labelled ArrayDataset', data);
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { samples: 100 }', options);
  const batchSize = options.batchSize ?? 100;
  positiveInteger(fn, 'options.batchSize', batchSize, options.batchSize);
  const samples = options.samples ?? 100;
  positiveInteger(fn, 'options.samples', samples, options.samples);
  const { binarize, onProgress } = options;
  return withSeed(options.seed ?? 0, () => accuracyOf(fn, model, (x) => model.bayesClassify(x, { samples }), data, { batchSize, binarize, onProgress }));
}
