/**
 * Helpers shared by encoders and decoders.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import type { Network } from './network.js';

/** Checks that `net` is a tfjs-layers model. */
export function checkNet(fn: string, net: unknown): Network {
  if (!net || typeof (net as Network).apply !== 'function' || !Array.isArray((net as Network).trainableWeights)) {
    throw argError(fn, 'net', 'a tfjs-layers model (tf.LayersModel)', net);
  }
  return net as Network;
}

/**
 * Runs a layers model on x reshaped to the model's input shape: [B, D] for dense networks,
 * [B, H, W, C] for convolutional ones (so [B, 28, 28] images meet a [28, 28, 1] input).
 */
export function run(net: Network, x: tf.Tensor): tf.Tensor {
  const want = net.inputs[0]?.shape.slice(1) as number[] | undefined;
  const shaped = want && want.every((d) => typeof d === 'number') ? [x.shape[0]!, ...want] : [x.shape[0]!, -1];
  // In a tidy: only the output outlives the call (a reshaped input would be left behind).
  return tf.tidy(() => net.apply(tf.util.arraysEqual(x.shape, shaped) ? x : tf.reshape(x, shaped)) as tf.Tensor);
}

/**
 * Runs a network on x and, for conditional models, a condition y ([B, C], e.g. one-hot labels):
 * a network with two inputs gets [x, y]; a network with one input gets x flattened and
 * concatenated with y ([B, D + C]).
 */
export function runWith(net: Network, x: tf.Tensor, y?: tf.Tensor): tf.Tensor {
  if (y === undefined) return run(net, x);
  const b = x.shape[0]!;
  if (y.rank !== 2 || y.shape[0] !== b) {
    throw new DlvmError(`the condition y must be [B, C] with B = ${b} (one-hot labels), got [${y.shape.join(', ')}].`);
  }
  if (net.inputs.length === 2) {
    const want = net.inputs[0]!.shape.slice(1) as number[];
    const shaped = want.every((d) => typeof d === 'number') ? [b, ...want] : [b, -1];
    return tf.tidy(() => net.apply([tf.util.arraysEqual(x.shape, shaped) ? x : tf.reshape(x, shaped), y]) as tf.Tensor);
  }
  return tf.tidy(() => run(net, tf.concat([tf.reshape(x, [b, -1]), y], 1)));
}

/** The variables behind a layers model's trainable weights. */
export function variablesOf(net: Network): tf.Variable[] {
  return net.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * The names of the tensors among `named` that hold a NaN or an infinity, found on the device and
 * read with one awaited read (empty when all are finite).
 */
export async function nonFiniteNames(named: Array<[string, tf.Tensor]>): Promise<string[]> {
  if (named.length === 0) return [];
  const flags = tf.tidy(() => tf.stack(named.map(([, t]) => tf.all(tf.isFinite(t)))));
  try {
    const ok = await flags.data();
    return named.filter((_, i) => !ok[i]).map(([name]) => name);
  } finally {
    flags.dispose();
  }
}
