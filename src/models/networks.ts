/**
 * Network builders (tfjs-layers). Any `tf.LayersModel` of your own works as well.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { argError } from '../errors.js';
import { nextSeed } from '../random.js';

/** Options of {@link mlp}. */
export interface MlpOptions {
  /** Input size (flattened). */
  inputDim: number;
  /** Hidden layer sizes, e.g. [512, 512]. */
  hidden: number[];
  /** Output size. */
  outputDim: number;
  /** Hidden activation (default 'relu'; CS236 uses 'elu'). */
  activation?: 'relu' | 'elu' | 'tanh' | 'sigmoid' | 'selu' | 'softplus';
  /** Layer name prefix. */
  name?: string;
  /**
   * Seed of the weight initialisation (Glorot uniform, as tfjs-layers' default). Default: the
   * next seed of dlvm's `manualSeed` stream, so `manualSeed(s)` makes models reproducible; random
   * when dlvm is unseeded.
   */
  seed?: number;
}

/**
 * A multilayer perceptron: dense layers with `activation`, then a linear output layer.
 *
 * @example
 * const net = mlp({ inputDim: 784, hidden: [512, 512], outputDim: 20 }); // DTU 02460 encoder
 */
export function mlp(options: MlpOptions): tfl.Sequential {
  const fn = 'mlp';
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
  const { inputDim, hidden, outputDim } = options;
  for (const [k, v] of [
    ['inputDim', inputDim],
    ['outputDim', outputDim],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw argError(fn, `options.${k}`, 'a positive integer', v);
  }
  if (!Array.isArray(hidden) || !hidden.every((h) => Number.isInteger(h) && h > 0)) {
    throw argError(fn, 'options.hidden', 'an array of positive integers such as [512, 512]', hidden);
  }
  const activation = options.activation ?? 'relu';
  const seed = options.seed ?? nextSeed();
  if (seed !== undefined && !Number.isInteger(seed)) throw argError(fn, 'options.seed', 'an integer', seed);
  const init = (i: number) => (seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i }) });
  const layers: tfl.layers.Layer[] = [];
  hidden.forEach((units, i) =>
    layers.push(
      tfl.layers.dense({ units, activation, ...init(i), ...(i === 0 ? { inputShape: [inputDim] } : {}), name: options.name ? `${options.name}_dense${i}` : undefined }),
    ),
  );
  layers.push(
    tfl.layers.dense({
      units: outputDim,
      ...init(hidden.length),
      ...(hidden.length === 0 ? { inputShape: [inputDim] } : {}),
      name: options.name ? `${options.name}_out` : undefined,
    }),
  );
  return tfl.sequential({ layers, name: options.name });
}
