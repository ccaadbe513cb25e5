/**
 * What the evaluation functions need from a model: the three distributions of a latent variable
 * model. dlvm's models (VAE, GMVAE, IWAE, ...) have exactly these members; any object with them
 * works.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from '../distributions/distribution.js';

/**
 * A latent variable model p(x, z) = p(z) p(x|z) with an amortised posterior q(z|x).
 *
 * Shapes: x is `[B, ...itemShape]`; `posterior(x)` has batch [B] and event [M];
 * `likelihood(z)` for z `[B, M]` has batch [B] and event `itemShape`; `distribution()` of the
 * prior has event [M] (batch [] or broadcastable).
 */
export interface LatentVariableModel {
  encoder: { posterior(x: tf.Tensor): Distribution };
  decoder: { likelihood(z: tf.Tensor): Distribution };
  prior: { distribution(): Distribution };
}
