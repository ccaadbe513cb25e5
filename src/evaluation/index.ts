/**
 * Evaluation of latent variable models.
 *
 * @packageDocumentation
 */
export type { LatentVariableModel } from '../models/contracts.js';
export { evaluateElbo, iwaeLogLikelihood, bitsPerDim, reconstructionMse, classificationAccuracy, activeUnits, klPerDimension } from './metrics.js';
export type { EvalData, EvalOptions, ElboResult } from './metrics.js';
export { validationMetrics, bayesAccuracy } from './validation.js';
export type { ValidationMetrics, BayesAccuracyOptions } from './validation.js';
