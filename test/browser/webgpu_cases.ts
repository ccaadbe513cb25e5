/**
 * The computations webgpu.browser.test.ts checks, written once: the page (entry_webgpu.ts) runs
 * them on webgpu in Chromium and the test process runs the same code on Node's cpu backend as the
 * reference. Every value is read with `await t.data()` / `t.array()` (synchronous reads stall or
 * fail on webgpu).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkArgs, klDivergence, manualSeed, Normal, VAE } from '../../src/index.js';

/** A [rows, cols] matrix of deterministic values in [-1, 1] (row-major). */
export function matrix(rows: number, cols: number, phase: number): number[] {
  return Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37 + phase));
}

/** Shapes of the transposed matmul: A^T B^T with A [K, M] and B [N, K], so the product is [M, N]. */
export const MATMUL = { m: 37, k: 129, n: 23 } as const;

/** A^T B^T for {@link MATMUL}'s inputs, on the active backend: [M, N] row-major. */
export async function transposedMatmul(): Promise<number[]> {
  const { m, k, n } = MATMUL;
  const c = tf.tidy(() => tf.matMul(tf.tensor2d(matrix(k, m, 0), [k, m]), tf.tensor2d(matrix(n, k, 1), [n, k]), true, true));
  const out = Array.from(await c.data());
  c.dispose();
  return out;
}

/** Inputs of the Log1p check: small values where log(1 + x) loses digits, and ordinary ones. */
export const LOG1P_X = [1e-7, -1e-7, 3e-6, 1e-4, -1e-3, 0.01, 0.5, 3] as const;

/** tf.log1p of {@link LOG1P_X} on the active backend. */
export async function log1p(): Promise<number[]> {
  const y = tf.tidy(() => tf.log1p(tf.tensor1d([...LOG1P_X])));
  const out = Array.from(await y.data());
  y.dispose();
  return out;
}

/** Parameters of the KL check: KL(N(locP, scaleP) || N(locQ, scaleQ)), elementwise. */
export const KL_PARAMS = {
  locP: [0.5, -1, 3, 0],
  scaleP: [1, 2, 0.1, 1],
  locQ: [0, 0, 2.5, 0],
  scaleQ: [1, 1, 0.5, 1],
} as const;

/** dlvm's registry KL for {@link KL_PARAMS}: [4]. */
export async function klNormal(): Promise<number[]> {
  const { locP, scaleP, locQ, scaleQ } = KL_PARAMS;
  const kl = tf.tidy(() => klDivergence(new Normal([...locP], [...scaleP]), new Normal([...locQ], [...scaleQ])));
  const out = Array.from(await kl.data());
  kl.dispose();
  await checkArgs();
  return out;
}

/**
 * z = Normal(loc, scale).rsample([4]) and the gradient of sum(z^2) with respect to loc and scale,
 * with dlvm's seeded sampler.
 */
export const RSAMPLE = { loc: [0, 1, -2], scale: [0.5, 2, 1], samples: 4, seed: 5 } as const;

export interface RsampleResult {
  z: number[][]; // [S, 3]
  dLoc: number[]; // [3]
  dScale: number[]; // [3]
}

export async function rsampleGradient(): Promise<RsampleResult> {
  manualSeed(RSAMPLE.seed);
  const loc = tf.tensor1d([...RSAMPLE.loc]);
  const scale = tf.tensor1d([...RSAMPLE.scale]);
  const zs: tf.Tensor[] = [];
  const f = (l: tf.Tensor, s: tf.Tensor): tf.Tensor => {
    const z = new Normal(l, s).rsample([RSAMPLE.samples]);
    zs.push(tf.keep(tf.clone(z)));
    return tf.sum(tf.square(z));
  };
  const { value, grads } = tf.valueAndGrads(f as (...args: tf.Tensor[]) => tf.Tensor)([loc, scale]);
  const [z, dLoc, dScale] = await Promise.all([zs[0]!.array() as Promise<number[][]>, grads[0]!.data(), grads[1]!.data()]);
  tf.dispose([loc, scale, value, ...zs, ...grads]);
  manualSeed(null);
  await checkArgs();
  return { z, dLoc: Array.from(dLoc), dScale: Array.from(dScale) };
}

/** The tiny VAE's training run. */
export const TRAIN = { seed: 11, steps: 25, batch: 32, dim: 8, latentDim: 2, hidden: [16], learningRate: 0.05 } as const;

/** Binary training data [batch, dim]: two prototypes (left half on, right half on), one bit flipped per row. */
export function trainingData(): number[] {
  const { batch, dim } = TRAIN;
  const x: number[] = [];
  for (let i = 0; i < batch; i++) {
    const flip = (i * 5) % dim;
    for (let j = 0; j < dim; j++) {
      const on = i % 2 === 0 ? j < dim / 2 : j >= dim / 2;
      x.push(Number(on !== (j === flip)));
    }
  }
  return x;
}

export interface TrainResult {
  /** The ELBO loss (mean negative ELBO) before each Adam step. */
  losses: number[];
  /** tf.memory().numTensors after each step. */
  tensors: number[];
}

/** Trains `VAE.mlp` (Bernoulli likelihood, N(0, I) prior) with Adam for {@link TRAIN}.steps steps. */
export async function trainTinyVae(): Promise<TrainResult> {
  const { seed, steps, batch, dim, latentDim, hidden, learningRate } = TRAIN;
  manualSeed(seed);
  const x = tf.tensor2d(trainingData(), [batch, dim]);
  const vae = VAE.mlp({ inputShape: [dim], latentDim, hidden: [...hidden] });
  const optimizer = tf.train.adam(learningRate);
  const losses: number[] = [];
  const tensors: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = tf.tidy(() => optimizer.minimize(() => vae.loss(x, { step }).loss as tf.Scalar, true, vae.trainableVariables)!);
    losses.push((await loss.data())[0]!);
    loss.dispose();
    await checkArgs();
    tensors.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  vae.dispose();
  x.dispose();
  manualSeed(null);
  return { losses, tensors };
}
