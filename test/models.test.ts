/**
 * VAE building blocks: the ELBO against a hand computation with fixed weights and fixed noise,
 * training improves it, the tensor count stays flat, bad input is named.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BernoulliDecoder, checkArgs, GaussianEncoder, GaussianPrior, loadMnist, manualSeed, mlp, VAE } from '../src/index.js';
import { nextSeed } from '../src/random.js';
import { BACKENDS, useBackend } from './helpers/backends.js';

const softplus = (v: number) => (v > 30 ? v : Math.log1p(Math.exp(v)));

describe.each(BACKENDS)('VAE on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('elboParts equals the ELBO computed by hand for fixed weights and noise', () => {
    // Linear nets: encoder x [2, 3] -> [mu, raw] (M = 1); decoder z -> 3 logits.
    const encNet = mlp({ inputDim: 3, hidden: [], outputDim: 2 });
    const decNet = mlp({ inputDim: 1, hidden: [], outputDim: 3 });
    const We = [
      [0.5, -0.3],
      [0.2, 0.1],
      [-0.4, 0.6],
    ];
    const be = [0.1, -0.2];
    const Wd = [[1.5, -0.7, 0.3]];
    const bd = [0.2, 0.0, -0.5];
    encNet.setWeights([tf.tensor2d(We), tf.tensor1d(be)]);
    decNet.setWeights([tf.tensor2d(Wd), tf.tensor1d(bd)]);
    const vae = new VAE({ prior: new GaussianPrior(1), encoder: new GaussianEncoder(encNet), decoder: new BernoulliDecoder(decNet, [3]) });
    const X = [
      [1, 0, 1],
      [0, 1, 1],
    ];
    const x = tf.tensor2d(X);
    manualSeed(42);
    const parts = vae.elboParts(x);
    manualSeed(42);
    const eps = tf.randomNormal([2, 1], 0, 1, 'float32', nextSeed()).dataSync();
    manualSeed(null);
    X.forEach((row, b) => {
      const out = [0, 1].map((j) => row.reduce((s, v, i) => s + v * We[i]![j]!, be[j]!));
      const mu = out[0]!;
      const sigma = softplus(out[1]!) + 1e-5;
      const z = mu + sigma * eps[b]!;
      const logits = Wd[0]!.map((w, i) => z * w + bd[i]!);
      const rec = -row.reduce((s, v, i) => s + v * logits[i]! - softplus(logits[i]!), 0);
      const kl = 0.5 * (sigma * sigma + mu * mu - 1) - Math.log(sigma);
      expect(parts.reconstruction.dataSync()[b]).toBeCloseTo(rec, 5);
      expect(parts.kl.dataSync()[b]).toBeCloseTo(kl, 5);
      expect(parts.elbo.dataSync()[b]).toBeCloseTo(-(rec + kl), 5);
    });
    tf.dispose([parts.loss, parts.elbo, parts.reconstruction, parts.kl, x]);
  });

  it('training on 1000 MNIST digits for 200 steps raises the ELBO by more than 300 nats; tensor count flat', async () => {
    const train = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 1000 }, (_, i) => i));
    manualSeed(1);
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 8, hidden: [64] });
    const optimizer = tf.train.adam(3e-3);
    const evalX = train.tensor(
      Array.from({ length: 200 }, (_, i) => i),
      { binarize: 'threshold' },
    );
    const score = () => tf.tidy(() => tf.mean(vae.elbo(evalX)).dataSync()[0]!);
    const before = score();
    let steps = 0;
    let counts: number[] = [];
    for (let epoch = 0; steps < 200; epoch++) {
      for (const { x } of train.batches({ batchSize: 50, seed: epoch, binarize: 'threshold' })) {
        tf.tidy(() => {
          optimizer.minimize(() => vae.elboParts(x).loss, false, vae.trainableVariables);
        });
        // A hand-written loop reads the step's argument checks (fit does this itself).
        await checkArgs();
        if (steps >= 5) counts.push(tf.memory().numTensors);
        if (++steps >= 200) break;
      }
    }
    const after = score();
    manualSeed(null);
    console.log(`ELBO ${before.toFixed(1)} -> ${after.toFixed(1)}`);
    expect(after - before).toBeGreaterThan(300);
    expect(new Set(counts).size).toBe(1);
    evalX.dispose();
    counts = [];
  });

  it('sample and reconstruct give [n, ...itemShape] in [0, 1]', () => {
    const vae = VAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [8] });
    const s = vae.sample(5);
    const m = vae.sample(5, { mean: true });
    const r = vae.reconstruct(tf.ones([3, 4, 4]));
    expect(s.shape).toEqual([5, 4, 4]);
    expect(Array.from(s.dataSync()).every((v) => v === 0 || v === 1)).toBe(true);
    expect(Array.from(m.dataSync()).every((v) => v > 0 && v < 1)).toBe(true);
    expect(r.shape).toEqual([3, 4, 4]);
    tf.dispose([s, m, r]);
  });

  it('rejects bad construction', () => {
    expect(() => VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [8], likelihood: 'poisson' as never })).toThrow(
      /VAE\.mlp: argument 'options\.likelihood' must be 'bernoulli', 'continuous-bernoulli' or 'gaussian', but got "poisson"/,
    );
    expect(() => new GaussianEncoder({} as never)).toThrow(/GaussianEncoder: argument 'net' must be a tfjs-layers model/);
    expect(() => new GaussianPrior(0)).toThrow(/GaussianPrior: argument 'latentDim' must be a positive integer, but got 0/);
    expect(() => mlp({ inputDim: 3, hidden: [0], outputDim: 1 })).toThrow(/mlp: argument 'options\.hidden' must be an array of positive integers/);
  });
});
