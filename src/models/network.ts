/**
 * The type dlvm gives networks in its public API.
 */
import type * as tf from '@tensorflow/tfjs-core';

/**
 * A network: a tfjs-layers model, as `tf.sequential`, `tf.model` and dlvm's `mlp`,
 * `convEncoderNet` and `convDecoderNet` make (`tf.LayersModel` and `tf.Sequential` satisfy it).
 * It lists what dlvm and most users need of one, so that dlvm's declarations import only
 * tfjs-core: tfjs-layers' own declarations do not compile under `--strict` without
 * `skipLibCheck` (docs/install.md). A value of this type is a real tfjs-layers model; cast it to
 * `tf.LayersModel` (`import type { LayersModel } from '@tensorflow/tfjs-layers'`) for the rest.
 */
export interface Network {
  readonly name: string;
  /** Symbolic inputs; `inputs[0].shape` is [null, ...the shape of one input]. */
  readonly inputs: ReadonlyArray<{ readonly shape: ReadonlyArray<number | null> }>;
  /** Symbolic outputs. */
  readonly outputs: ReadonlyArray<{ readonly shape: ReadonlyArray<number | null> }>;
  /** The trainable weights; `read()` gives each one's variable. */
  readonly trainableWeights: ReadonlyArray<{ readonly name: string; readonly shape: ReadonlyArray<number | null>; read(): tf.Tensor }>;
  /** Runs the network (in a gradient tape, as layers do). */
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): unknown;
  /** Runs the network for inference. */
  predict(x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[];
  getWeights(trainableOnly?: boolean): tf.Tensor[];
  setWeights(weights: tf.Tensor[]): void;
  countParams(): number;
  /** Prints the layers (tfjs-layers' summary). */
  summary(): void;
  dispose(): unknown;
}
