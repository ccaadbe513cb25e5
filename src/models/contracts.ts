/**
 * The model layer's contracts, declared once: what a prior, an encoder and a decoder are, what
 * the evaluation functions and the pictures need of a model (a {@link LatentVariableModel}), and
 * what an objective trains (an {@link ObjectiveModel}). dlvm's parts and models satisfy them, and
 * so does any object of the right shape (docs/models.md, "Parts of your own").
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from '../distributions/distribution.js';

/**
 * A prior p(z) over latent vectors of size `latentDim`: what a model needs of one. A prior of
 * your own is any object of this shape (no cast needed); to save and load it with the model,
 * register it with `registerPart` (docs/models.md, "Parts of your own").
 *
 * @example
 * const prior: Prior = { latentDim: 2, trainableVariables: [], distribution: () => new Independent(new Normal(tf.zeros([2]), 1), 1) };
 */
export interface Prior {
  readonly latentDim: number;
  /** p(z): batch [], event [latentDim]. The caller owns (and disposes) it. */
  distribution(): Distribution;
  /** Trainable variables (none for a fixed prior). */
  readonly trainableVariables: tf.Variable[];
  /** Frees the prior's tensors (called by the model's dispose()). */
  dispose?(): void;
}

/**
 * An encoder: x -> q(z|x) (conditional models: (x, y) -> q(z|x, y), y one-hot [B, C]). An
 * encoder of your own is any object of this shape; `registerPart` saves it with the model.
 */
export interface Encoder {
  /** q(z|x), batch [B], event [M]; the caller owns (and disposes) it (see `Distribution.owning`). */
  posterior(x: tf.Tensor, y?: tf.Tensor): Distribution;
  readonly trainableVariables: tf.Variable[];
  /** Frees the encoder (called by the model's dispose()); without it, its `net` is disposed. */
  dispose?(): void;
}
/**
 * A decoder: z -> p(x|z) (conditional models: (z, y) -> p(x|z, y)). A decoder of your own is any
 * object of this shape; `registerPart` saves it with the model.
 */
export interface Decoder {
  /** p(x|z), batch [B], event the shape of one example; the caller owns (and disposes) it. */
  likelihood(z: tf.Tensor, y?: tf.Tensor): Distribution;
  readonly trainableVariables: tf.Variable[];
  /** The shape of one example (the model's `inputShape`; inputs are checked against it when given). */
  readonly itemShape?: readonly number[];
  /** Frees the decoder (called by the model's dispose()); without it, its `net` is disposed. */
  dispose?(): void;
}

/**
 * A latent variable model p(x, z) = p(z) p(x|z) with an amortised posterior q(z|x).
 *
 * Shapes: x is `[B, ...itemShape]`; `posterior(x)` has batch [B] and event [M];
 * `likelihood(z)` for z `[B, M]` has batch [B] and event `itemShape`; `distribution()` of the
 * prior has event [M] (batch [] or broadcastable).
 */
export interface LatentVariableModel {
  encoder: Pick<Encoder, 'posterior'>;
  decoder: Pick<Decoder, 'likelihood'>;
  prior: Pick<Prior, 'distribution'>;
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

/** What an objective (ELBO, IWAE) trains: a latent variable model with trainable variables. */
export interface ObjectiveModel extends LatentVariableModel {
  readonly trainableVariables: tf.Variable[];
}

/**
 * The options of every model's `loss(x, options)`: the training step (for KL schedules), the
 * batch's labels `y` (conditional models: class indices or one-hot rows), and for semi-supervised
 * models a labelled batch `labelled` (x is then the unlabelled batch).
 */
export interface LossOptions<Y = tf.Tensor | ArrayLike<number> | number> {
  step?: number;
  y?: Y;
  labelled?: { x: tf.Tensor; y: Y };
}
