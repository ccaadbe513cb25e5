/**
 * The two benchmark VAEs, built with tfjs-layers, and one Adam training step on the negative ELBO
 * (Bernoulli likelihood on logits, analytic Gaussian KL). Kept independent of dlvm's model classes
 * so the numbers measure backends and kernels only; bench/torch_vae.py builds the same networks.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export type BenchModel = 'mlp' | 'conv';
export const LATENT = 10;

/** MLP VAE of DTU 02460 `vae_bernoulli.py`: 784-512-512-2x10 / 10-512-512-784, ReLU. */
function mlp(): { encoder: tfl.LayersModel; decoder: tfl.LayersModel } {
  const encoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [784], units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 2 * LATENT }),
    ],
  });
  const decoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [LATENT], units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 784 }),
    ],
  });
  return { encoder, decoder };
}

/** Conv VAE: conv 1->32->64 (3x3, stride 2, same), dense to 2x10; dense to 7x7x64, transposed convs back. */
function conv(): { encoder: tfl.LayersModel; decoder: tfl.LayersModel } {
  const encoder = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 * LATENT }),
    ],
  });
  const decoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [LATENT], units: 7 * 7 * 64, activation: 'relu' }),
      tfl.layers.reshape({ targetShape: [7, 7, 64] }),
      tfl.layers.conv2dTranspose({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.flatten(),
    ],
  });
  return { encoder, decoder };
}

export interface Trainer {
  /** One Adam step on a batch; returns the loss (negative ELBO per example). */
  step(x: tf.Tensor): number;
  inputShape: number[];
  dispose(): void;
}

export function makeTrainer(kind: BenchModel, learningRate = 1e-3): Trainer {
  const { encoder, decoder } = kind === 'mlp' ? mlp() : conv();
  const optimizer = tf.train.adam(learningRate);
  const inputShape = kind === 'mlp' ? [784] : [28, 28, 1];
  const loss = (x: tf.Tensor): tf.Scalar => {
    const h = encoder.apply(x) as tf.Tensor2D; // [B, 2M]
    const [mu, logVar] = tf.split(h, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const eps = tf.randomNormal(mu.shape);
    const z = mu.add(logVar.mul(0.5).exp().mul(eps)); // [B, M]
    const logits = decoder.apply(z) as tf.Tensor2D; // [B, 784]
    const xf = x.reshape([x.shape[0]!, 784]);
    // -log p(x|z) for Bernoulli logits l: softplus(l) - x*l (stable form of BCE).
    const rec = tf.softplus(logits).sub(xf.mul(logits)).sum(1);
    const kl = logVar.exp().add(mu.square()).sub(1).sub(logVar).mul(0.5).sum(1);
    return rec.add(kl).mean() as tf.Scalar;
  };
  const vars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  return {
    inputShape,
    step(x) {
      return tf.tidy(() => {
        const l = optimizer.minimize(() => loss(x), true, vars)!;
        return l.dataSync()[0]!;
      });
    },
    dispose() {
      encoder.dispose();
      decoder.dispose();
      optimizer.dispose();
    },
  };
}
