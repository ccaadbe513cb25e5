/**
 * What the evaluation functions need from a model: the three distributions of a latent variable
 * model. dlvm's models (VAE, GMVAE, IWAE, ...) have exactly these members; any object with them
 * works.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
export { asEvent } from '../models/objectives.js';
import type { Distribution } from '../distributions/distribution.js';

/**
 * A latent variable model p(x, z) = p(z) p(x|z) with an amortised posterior q(z|x).
 *
 * Shapes: x is `[B, ...itemShape]`; `posterior(x)` has batch [B] and event [M];
 * `likelihood(z)` for z `[B, M]` has batch [B] and event `itemShape`; `distribution()` of the
 * prior has event [M] (batch [] or broadcastable).
 */
export interface LatentVariableModel {
  encoder: { posterior(x: tf.Tensor, y?: tf.Tensor): Distribution };
  decoder: { likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution };
  prior: { distribution(): Distribution };
  /**
   * Set by conditional models (ConditionalVAE): the number of classes C. The evaluation functions
   * then pass the dataset's labels, one-hot [B, C], to the encoder and the decoder, and the
   * figures are of log p(x|y).
   */
  readonly numClasses?: number;
  /**
   * The shape of one example x, when the model knows it (dlvm's models and PPCA do). The
   * evaluation functions then check the data against it before the first batch: examples of
   * this shape, flat ([D]) or with a trailing unit axis more or less are accepted, anything else
   * is refused with an error naming the function, the expected and the found shape.
   */
  readonly inputShape?: readonly number[] | null;
}

/** The model's {@link LatentVariableModel.inputShape}, or null when it does not say. */
export function inputShapeOf(model: LatentVariableModel): readonly number[] | null {
  const s = model.inputShape;
  return Array.isArray(s) && s.length > 0 && s.every((d) => Number.isInteger(d) && d > 0) ? s : null;
}

/**
 * The condition of a batch for a conditional model (one-hot labels [B, C], inside the caller's
 * tidy), or undefined for an unconditional one. Errors name `fn` when labels are missing.
 */
export function conditionOf(fn: string, model: LatentVariableModel, labels: ArrayLike<number> | null): tf.Tensor | undefined {
  const c = model.numClasses;
  if (c === undefined) return undefined;
  if (labels === null) {
    throw new DlvmError(`${fn}: the model is conditional (p(x|z, y) with ${c} classes) and needs labelled data, but the data has no labels.`);
  }
  return tfc.cast(tfc.oneHot(tfc.tensor1d(Array.from(labels), 'int32'), c), 'float32');
}

/** Checks that `model` has the three members; returns it typed. Errors name `fn`. */
export function checkModel(fn: string, model: unknown): LatentVariableModel {
  const m = model as LatentVariableModel | null;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    typeof m.encoder?.posterior === 'function' &&
    typeof m.decoder?.likelihood === 'function' &&
    typeof m.prior?.distribution === 'function';
  if (!ok) {
    throw argError(fn, 'model', 'a model with encoder.posterior(x), decoder.likelihood(z) and prior.distribution()', model);
  }
  return m;
}
