/**
 * tfjs ops that follow torch on empty tensors (a 0 in a shape). tfjs 4.22 gets them wrong:
 * `broadcastTo(x, [0, 2, 1])` returns shape [1, 2, 1]; `all` over no values gives false (the
 * conjunction of nothing is true); `sum` over an empty axis reads uninitialised memory on wasm and
 * asks WebGPU for a zero-size buffer. dlvm's distributions use these instead, so an empty batch
 * flows through every family with torch's shapes.
 */
import * as tf from '@tensorflow/tfjs-core';

/** `tf.broadcastTo`, also to (and from) shapes with a 0 (then zeros of the target shape). */
export function broadcastTo(x: tf.Tensor, shape: number[]): tf.Tensor {
  if (x.size > 0 && shape.every((d) => d > 0)) return tf.broadcastTo(x, shape);
  // Checks that the shapes broadcast (throws tfjs's message otherwise), then makes the empty result.
  tf.broadcast_util.assertAndGetBroadcastShape(x.shape, shape);
  return tf.zeros(shape, x.dtype);
}

/** Normalised, sorted axes of `x` (all of them when `axis` is undefined). */
function axesOf(x: tf.Tensor, axis: number | number[] | undefined): number[] {
  const axes = axis === undefined ? x.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis];
  return axes.map((a) => (a < 0 ? a + x.rank : a)).sort((a, b) => a - b);
}

/** The shape of a reduction of `x` over `axes`. */
function reducedShape(x: tf.Tensor, axes: number[], keepDims: boolean): number[] {
  return keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
}

/** `tf.all`, with the conjunction of no values true (as torch's `all`). */
export function allTrue(x: tf.Tensor, axis?: number | number[], keepDims = false): tf.Tensor {
  if (x.size > 0) return tf.all(x, axis, keepDims);
  return tf.fill(reducedShape(x, axesOf(x, axis), keepDims), 1, 'bool');
}

/** `tf.sum`, with the sum of no values 0 (as torch's `sum`) on every backend. */
export function sum(x: tf.Tensor, axis?: number | number[], keepDims = false): tf.Tensor {
  if (x.size > 0) return tf.sum(x, axis, keepDims);
  return tf.zeros(reducedShape(x, axesOf(x, axis), keepDims), x.dtype === 'bool' ? 'int32' : x.dtype);
}

/**
 * The broadcast of `shapes` when it has no values (a 0 in it), else null; null too when the
 * shapes do not broadcast (the computation then reports it). What an empty result's shape is.
 */
export function emptyShape(shapes: number[][]): number[] | null {
  let shape: number[] = [];
  try {
    for (const s of shapes) shape = tf.broadcast_util.assertAndGetBroadcastShape(shape, s);
  } catch {
    return null;
  }
  return shape.includes(0) ? shape : null;
}

/** `tf.transpose`, also of empty tensors (tfjs's wasm kernel divides by zero there). */
export function transpose(x: tf.Tensor, perm?: number[]): tf.Tensor {
  if (x.size > 0) return tf.transpose(x, perm);
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  return tf.zeros(
    p.map((i) => x.shape[i]!),
    x.dtype,
  );
}
