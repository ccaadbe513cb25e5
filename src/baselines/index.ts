/**
 * Classical baselines: probabilistic PCA (closed form) and Gaussian mixtures (EM).
 *
 * @packageDocumentation
 */
export { PPCA } from './ppca.js';
export type { PpcaFitOptions, PpcaParameters } from './ppca.js';
export { GaussianMixture } from './gmm.js';
export type { GmmFitOptions, GmmParameters, CovarianceType } from './gmm.js';
export type { BaselineData } from './data.js';
