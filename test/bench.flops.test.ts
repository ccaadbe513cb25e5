/**
 * The profile's FLOP count (bench/flops.ts, used by docs/performance.md) against the count worked
 * out by hand: an MLP VAE step does each dense layer's product three times (forward, weight
 * gradient, input gradient) except the input gradient of the first layer (x needs none), and a
 * convolution's two gradients cost what its forward does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, setDefaultValidateArgs, VAE } from '../src/index.js';
import { kernelFlops } from '../bench/flops.js';
import { useBackend } from './helpers/backends.js';

async function stepFlops(vae: VAE, x: tf.Tensor): Promise<number> {
  const optimizer = tf.train.sgd(0.01);
  const profile = await tf.profile(() => {
    tf.tidy(() => {
      optimizer.minimize(() => vae.loss(x).loss as tf.Scalar, false, vae.trainableVariables);
    });
    return [];
  });
  optimizer.dispose();
  return profile.kernels.reduce((s, k) => s + kernelFlops(k.name, k.inputShapes, k.outputShapes), 0);
}

describe('bench/flops.ts', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    setDefaultValidateArgs(false);
  });

  it('counts 3x the forward products of an MLP VAE step, less the first layer input gradient', async () => {
    manualSeed(0);
    const [b, h, m] = [6, 16, 3];
    const vae = VAE.mlp({ inputShape: [4, 5], latentDim: m, hidden: [h, h] });
    const x = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([b, 4, 5]), 0.5), 'float32'));
    const layers: Array<[number, number]> = [
      [20, h],
      [h, h],
      [h, 2 * m],
      [m, h],
      [h, h],
      [h, 20],
    ];
    const forward = layers.reduce((s, [i, o]) => s + 2 * b * i * o, 0);
    expect(await stepFlops(vae, x)).toBe(3 * forward - 2 * b * 20 * h);
    x.dispose();
    vae.dispose();
  });

  it('counts a convolution and its transposed pair from their shapes', () => {
    // 3x3 conv, 1 -> 8 channels, stride 2 'same', on [2, 8, 8, 1] -> [2, 4, 4, 8].
    const conv = 2 * (2 * 4 * 4 * 8) * (3 * 3 * 1);
    const x = [2, 8, 8, 1];
    const w = [3, 3, 1, 8];
    const y = [2, 4, 4, 8];
    const cases: [string, number[][], number[]][] = [
      ['Conv2D', [x, w], y],
      ['Conv2DBackpropInput', [y, w], x],
      ['Conv2DBackpropFilter', [x, y], w],
    ];
    for (const [name, inputs, output] of cases) expect(kernelFlops(name, inputs, [output]), name).toBe(conv);
    expect(kernelFlops('Add', [[3], [3]], [[3]])).toBe(0);
  });
});
