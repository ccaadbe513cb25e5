/**
 * Building blocks and models.
 *
 * @packageDocumentation
 */
export { mlp } from './networks.js';
export type { MlpOptions } from './networks.js';
export { GaussianPrior, GaussianEncoder, BernoulliDecoder, ContinuousBernoulliDecoder, GaussianDecoder } from './blocks.js';
export type { Prior } from './blocks.js';
export { VAE } from './vae.js';
export type { Encoder, Decoder, ElboParts, VaeMlpOptions } from './vae.js';
