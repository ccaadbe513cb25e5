/**
 * The benchmark VAEs are dlvm's own presets, so `npm run bench` measures what users run:
 * `VAE.mlp` (DTU 02460 `vae_bernoulli.py`: 784-512-512, M = 10, ReLU, batch 128), the CS236 HW2
 * VAE (784-300-300, M = 10, ELU, batch 97) and `VAE.conv` with 32 and 64 channels (3x3 stride-2
 * convolutions mirrored by transposed ones, batch 128), each with a Bernoulli likelihood, the
 * closed-form KL from the registry and one Adam step on `vae.loss(x).loss`; and IWAE-k
 * evaluation (`iwaeLogLikelihood`) of the CS236 network. bench/torch_vae.py builds the same
 * networks and the same loss in PyTorch.
 *
 * The step reads its loss with an awaited read (never `dataSync`, which throws on WebGPU in Node),
 * once per step as PyTorch's reference does with `loss.item()`. Argument validation is off: the
 * benchmark's inputs are valid by construction, and the PyTorch reference computes its loss
 * directly, without distribution objects or their checks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adam, manualSeed, setDefaultValidateArgs, VAE } from 'dlvm';

export type BenchModel = 'mlp' | 'conv' | 'cs236';
export const LATENT = 10;

/** The batch size each benchmark model trains with (its course's setting). */
export const BENCH_BATCH: Record<BenchModel, number> = { mlp: 128, conv: 128, cs236: 97 };

/** The network of a benchmark model, a dlvm preset, with seed 0 and argument validation off. */
export function benchVae(kind: BenchModel): VAE {
  manualSeed(0);
  setDefaultValidateArgs(false);
  if (kind === 'conv') return VAE.conv({ inputShape: [28, 28], latentDim: LATENT, channels: [32, 64] });
  if (kind === 'cs236') return VAE.mlp({ inputShape: [28, 28], latentDim: LATENT, hidden: [300, 300], activation: 'elu' });
  return VAE.mlp({ inputShape: [28, 28], latentDim: LATENT, hidden: [512, 512] });
}

export interface Trainer {
  /** One Adam step on a batch `x` ([B, 28, 28]); resolves to the loss (negative ELBO per example). */
  step(x: tf.Tensor): Promise<number>;
  inputShape: number[];
  dispose(): void;
}

export function makeTrainer(kind: BenchModel, learningRate = 1e-3): Trainer {
  const vae = benchVae(kind);
  const optimizer = adam(learningRate); // fit's default
  const vars = vae.trainableVariables;
  return {
    inputShape: [28, 28],
    async step(x) {
      const loss = tf.tidy(() => optimizer.minimize(() => vae.loss(x).loss, true, vars)!);
      try {
        return (await loss.data())[0]!;
      } finally {
        loss.dispose();
      }
    },
    dispose() {
      vae.dispose();
      optimizer.dispose();
    },
  };
}

/** A random binary batch, [batch, ...inputShape]. */
export function binaryBatch(batch: number, inputShape: number[]): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([batch, ...inputShape]), 0.5), 'float32'));
}
