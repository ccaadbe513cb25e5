/**
 * Network builders (tfjs-layers). Any `tf.LayersModel` of your own works as well.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { argError, positiveInteger } from '../errors.js';
import { nextSeed } from '../random.js';
import { ensureBackend } from '../backend/ready.js';
import type { Network } from './network.js';

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
export function mlp(options: MlpOptions): Network {
  const fn = 'mlp';
  ensureBackend(fn);
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
  const { inputDim, hidden, outputDim } = options;
  for (const [k, v] of [
    ['inputDim', inputDim],
    ['outputDim', outputDim],
  ] as const) {
    positiveInteger(fn, `options.${k}`, v);
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
      tfl.layers.dense({
        units,
        activation,
        ...init(i),
        ...(i === 0 ? { inputShape: [inputDim] } : {}),
        name: options.name ? `${options.name}_dense${i}` : undefined,
      }),
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

/** Options of {@link convEncoderNet} and {@link convDecoderNet}. */
export interface ConvOptions {
  /** Image shape [H, W] or [H, W, C]; H and W divisible by 2^(number of strided layers). */
  imageShape: number[];
  /** Encoder outputs (2M for a Gaussian encoder) or decoder inputs (M). */
  size: number;
  /**
   * Channels of the stride-2 3x3 convolutions, e.g. [16, 32] (the PML report) or [32, 64]; the
   * decoder mirrors them with transposed convolutions.
   */
  channels?: number[];
  /** Add a stride-1 3x3 convolution after each strided one (a deeper pair). Default false. */
  deep?: boolean;
  /** Hidden activation (default 'relu'). */
  activation?: MlpOptions['activation'];
  /** Seed of the weight initialisation (default: dlvm's manualSeed stream). */
  seed?: number;
  /**
   * Size C of a condition y (e.g. 10 one-hot classes) for conditional models. The encoder then
   * has two inputs, the image and y, joined after the convolutions; the decoder takes z and y
   * concatenated ([size + C]). Default 0: unconditional.
   */
  conditionDim?: number;
}

function conditionDimOf(fn: string, options: ConvOptions): number {
  const c = options.conditionDim ?? 0;
  if (!Number.isInteger(c) || c < 0) throw argError(fn, 'options.conditionDim', 'a nonnegative integer', options.conditionDim);
  return c;
}

function convShape(fn: string, options: ConvOptions): { h: number; w: number; c: number; channels: number[] } {
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
  const [h, w, c = 1] = options.imageShape ?? [];
  const channels = options.channels ?? [16, 32];
  if (!Number.isInteger(h) || !Number.isInteger(w) || !Number.isInteger(c)) throw argError(fn, 'options.imageShape', '[H, W] or [H, W, C]', options.imageShape);
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((k) => Number.isInteger(k) && k > 0)) {
    throw argError(fn, 'options.channels', 'an array of positive integers such as [16, 32]', channels);
  }
  const f = 2 ** channels.length;
  if (h! % f !== 0 || w! % f !== 0)
    throw argError(fn, 'options.imageShape', `height and width divisible by ${f} (${channels.length} stride-2 layers)`, options.imageShape);
  positiveInteger(fn, 'options.size', options.size);
  return { h: h!, w: w!, c, channels };
}

/**
 * A convolutional encoder network: stride-2 3x3 convolutions with `channels` filters ('same'
 * padding), then a dense layer with `size` outputs. Input [H, W, C].
 *
 * @example
 * convEncoderNet({ imageShape: [28, 28], size: 2 * 10 }); // the PML report: 16 and 32 channels
 */
export function convEncoderNet(options: ConvOptions): Network {
  ensureBackend('convEncoderNet');
  const { h, w, c, channels } = convShape('convEncoderNet', options);
  const cond = conditionDimOf('convEncoderNet', options);
  const activation = options.activation ?? 'relu';
  const seed = options.seed ?? nextSeed();
  const init = (i: number) => (seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i }) });
  const layers: tfl.layers.Layer[] = [];
  let k = 0;
  channels.forEach((filters, i) => {
    layers.push(
      tfl.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', activation, ...init(k++), ...(i === 0 ? { inputShape: [h, w, c] } : {}) }),
    );
    if (options.deep) layers.push(tfl.layers.conv2d({ filters, kernelSize: 3, strides: 1, padding: 'same', activation, ...init(k++) }));
  });
  layers.push(tfl.layers.flatten());
  const out = tfl.layers.dense({ units: options.size, ...init(k++) });
  if (cond === 0) return tfl.sequential({ layers: [...layers, out] });
  // Conditional: image -> convolutions -> flatten, joined with y, then the dense output layer.
  const image = tfl.input({ shape: [h, w, c] });
  const y = tfl.input({ shape: [cond] });
  const features = layers.reduce<tfl.SymbolicTensor>((t, layer) => layer.apply(t) as tfl.SymbolicTensor, image);
  const joined = tfl.layers.concatenate().apply([features, y]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [image, y], outputs: out.apply(joined) as tfl.SymbolicTensor });
}

/**
 * The mirrored decoder network: a dense layer to [H / 2^n, W / 2^n, last channels], then stride-2
 * 3x3 transposed convolutions back to [H, W, C] (the last one linear). Input [size] (or
 * [size + conditionDim] for a conditional decoder: z and y concatenated).
 */
export function convDecoderNet(options: ConvOptions): Network {
  ensureBackend('convDecoderNet');
  const { h, w, c, channels } = convShape('convDecoderNet', options);
  const cond = conditionDimOf('convDecoderNet', options);
  const activation = options.activation ?? 'relu';
  const seed = options.seed ?? nextSeed();
  const init = (i: number) => (seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i }) });
  const f = 2 ** channels.length;
  const reversed = [...channels].reverse();
  const layers: tfl.layers.Layer[] = [];
  let k = 0;
  layers.push(tfl.layers.dense({ inputShape: [options.size + cond], units: (h / f) * (w / f) * reversed[0]!, activation, ...init(k++) }));
  layers.push(tfl.layers.reshape({ targetShape: [h / f, w / f, reversed[0]!] }));
  reversed.forEach((filters, i) => {
    if (options.deep) layers.push(tfl.layers.conv2d({ filters, kernelSize: 3, strides: 1, padding: 'same', activation, ...init(k++) }));
    const last = i === reversed.length - 1;
    const out = last ? c : reversed[i + 1]!;
    layers.push(tfl.layers.conv2dTranspose({ filters: out, kernelSize: 3, strides: 2, padding: 'same', ...(last ? {} : { activation }), ...init(k++) }));
  });
  return tfl.sequential({ layers });
}
