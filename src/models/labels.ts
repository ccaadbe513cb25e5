/**
 * Class labels, one home for what the conditional models, SSVAE, the evaluation and the pictures
 * do with them: one-hot rows, and counting correct predictions.
 */
import * as tf from '@tensorflow/tfjs-core';

/** One-hot rows [B, C] (float32) of B class indices in 0..C-1 (an integer tensor [B], or numbers). */
export function oneHotRows(labels: tf.Tensor | ArrayLike<number>, numClasses: number): tf.Tensor {
  return tf.tidy(() => {
    const indices = labels instanceof tf.Tensor ? tf.cast(labels, 'int32') : tf.tensor1d(Array.from(labels), 'int32');
    return tf.cast(tf.oneHot(indices, numClasses), 'float32');
  });
}

/** How many predicted classes equal their labels: `predicted[j]` against `labels[indices[j]]` (or `labels[j]`). */
export function countCorrect(predicted: ArrayLike<number>, labels: ArrayLike<number>, indices?: ArrayLike<number>): number {
  let correct = 0;
  for (let j = 0; j < predicted.length; j++) if (predicted[j] === labels[indices ? indices[j]! : j]) correct++;
  return correct;
}
