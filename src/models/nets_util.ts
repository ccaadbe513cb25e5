/**
 * Helpers shared by encoders and decoders.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { argError } from '../errors.js';

/** Checks that `net` is a tfjs-layers model. */
export function checkNet(fn: string, net: unknown): tfl.LayersModel {
  if (!net || typeof (net as tfl.LayersModel).apply !== 'function' || !Array.isArray((net as tfl.LayersModel).trainableWeights)) {
    throw argError(fn, 'net', 'a tfjs-layers model (tf.LayersModel)', net);
  }
  return net as tfl.LayersModel;
}

/** Runs a layers model on x flattened to [B, D]. */
export function run(net: tfl.LayersModel, x: tf.Tensor): tf.Tensor {
  const flat = x.rank === 2 ? x : tf.reshape(x, [x.shape[0]!, -1]);
  return net.apply(flat) as tf.Tensor;
}

/** The variables behind a layers model's trainable weights. */
export function variablesOf(net: tfl.LayersModel): tf.Variable[] {
  return net.trainableWeights.map((w) => w.read() as tf.Variable);
}
