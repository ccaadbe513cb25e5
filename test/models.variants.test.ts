/**
 * Priors, objectives and the VAE variants: formulas checked by hand, schedules, training runs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BetaVAE,
  cyclical,
  ELBO,
  GaussianEncoder,
  GMVAE,
  IWAE,
  IWAEBound,
  LearnableGaussianPrior,
  linearWarmup,
  loadMnist,
  manualSeed,
  mlp,
  MixtureOfGaussiansPrior,
  VAE,
  VampPrior,
  loadModel,
  toyDataset,
} from '../src/index.js';
import { expectClose, useBackend, take } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});
afterEach(() => {
  vi.restoreAllMocks();
  manualSeed(null);
});

describe('priors', () => {
  it('MixtureOfGaussiansPrior: log p(z) = log sum_j pi_j N(z; mu_j, sigma_j^2 I), in float64', () => {
    const prior = new MixtureOfGaussiansPrior(2, { components: 3, seed: 5 });
    expect(prior.trainableVariables.length).toBe(2); // means, scales (weights fixed)
    expect(new MixtureOfGaussiansPrior(2, { components: 3, learnWeights: true }).trainableVariables.length).toBe(3);
    const means = prior.means.arraySync() as number[][];
    const sd = Math.log1p(Math.exp(Math.log(Math.E - 1))); // softplus(rho) = 1 initially
    const zs = [
      [0.3, -0.2],
      [1.5, 2.0],
    ];
    const d = prior.distribution();
    expect(d.eventShape).toEqual([2]);
    const got = take(d.logProb(zs));
    const expected = zs.map((z) => {
      const dens = means.map((m) => Math.exp((-0.5 * ((z[0]! - m[0]!) ** 2 + (z[1]! - m[1]!) ** 2)) / sd ** 2) / (2 * Math.PI * sd ** 2));
      return Math.log(dens.reduce((a, b) => a + b) / 3);
    });
    expectClose(got, expected, { rtol: 1e-5, atol: 1e-5, label: 'mixture prior' });
    d.dispose();
    prior.dispose();
  });

  it('VampPrior: the uniform mixture of the encoder posteriors at the pseudo-inputs', () => {
    const encoder = new GaussianEncoder(mlp({ inputDim: 4, hidden: [], outputDim: 4 }));
    const prior = new VampPrior(2, encoder, { count: 3, itemShape: [4] });
    expect(prior.pseudoInputs.shape).toEqual([3, 4]);
    const z = tf.tensor2d([[0.1, -0.3]]);
    const got = take(prior.distribution().logProb(z));
    const perK = tf.tidy(() => take(encoder.posterior(prior.pseudoInputs).logProb(tf.broadcastTo(z, [3, 2]))));
    const expected = Math.log(perK.reduce((s, lp) => s + Math.exp(lp), 0) / 3);
    expect(got[0]).toBeCloseTo(expected, 5);
    z.dispose();
  });

  it('LearnableGaussianPrior starts at N(0, I) and its variables get gradients', () => {
    const prior = new LearnableGaussianPrior(3);
    const lp = take(prior.distribution().logProb([0, 0, 0]));
    expect(lp[0]).toBeCloseTo(-1.5 * Math.log(2 * Math.PI), 5);
    const { grads } = tf.variableGrads(() => tf.sum(prior.distribution().logProb([[1, 2, 3]])) as tf.Scalar, prior.trainableVariables);
    expect(Object.keys(grads).length).toBe(2);
    tf.dispose(Object.values(grads));
  });
});

describe('objectives', () => {
  it('KL schedules: linear warm-up and cyclical annealing', () => {
    const w = linearWarmup({ steps: 100 });
    expect([0, 50, 100, 500].map(w)).toEqual([0, 0.5, 1, 1]);
    const c = cyclical({ period: 100, rampFraction: 0.5, max: 2 });
    expect([0, 25, 50, 99, 100, 125].map(c)).toEqual([0, 1, 2, 2, 0, 1]);
    expect(() => linearWarmup({ steps: 0 })).toThrow(/linearWarmup: argument 'steps' must be a positive integer, but got 0/);
  });

  it('beta-ELBO loss = mean(reconstruction + beta KL) + lambda |w|^2; elbo stays the true ELBO', () => {
    const vae = VAE.mlp({ inputShape: [6], latentDim: 2, hidden: [5] });
    const x = tf.tensor2d([
      [1, 0, 1, 0, 1, 1],
      [0, 0, 1, 1, 0, 1],
    ]);
    const objective = new ELBO({ beta: linearWarmup({ steps: 10 }), weightDecay: 0.01 });
    manualSeed(3);
    const p = objective.parts(vae, x, 4);
    expect(p.beta).toBeCloseTo(0.4, 12);
    const rec = take(p.reconstruction);
    const kl = take(p.kl);
    const l2 = tf.tidy(() => tf.addN(vae.trainableVariables.map((v) => tf.sum(tf.square(v)))).dataSync()[0]!);
    const expected = (rec[0]! + 0.4 * kl[0]! + rec[1]! + 0.4 * kl[1]!) / 2 + 0.01 * l2;
    expect(take(p.loss)[0]).toBeCloseTo(expected, 4);
    expectClose(take(p.elbo), [-(rec[0]! + kl[0]!), -(rec[1]! + kl[1]!)], { rtol: 1e-6, atol: 1e-5, label: 'elbo' });
    x.dispose();
  });

  it('the IWAE bound rises with k and lies above the ELBO on average', () => {
    manualSeed(9);
    const vae = VAE.mlp({ inputShape: [6], latentDim: 2, hidden: [5] });
    const x = tf.tensor2d(Array.from({ length: 200 }, (_, i) => Array.from({ length: 6 }, (_, j) => ((i * 7 + j * 3) % 5 > 1 ? 1 : 0))));
    manualSeed(9);
    const bound = (k: number) => -take(new IWAEBound(k).parts(vae, x).loss)[0]!;
    const [b1, b10, b100] = [bound(1), bound(10), bound(100)];
    const elbo = take(tf.mean(vae.elbo(x)))[0]!;
    expect(b10).toBeGreaterThan(b1);
    expect(b100).toBeGreaterThan(b10);
    expect(b100).toBeGreaterThan(elbo);
    x.dispose();
  });
});

describe('VAE variants train', () => {
  it('BetaVAE, GMVAE (Monte Carlo KL, said once) and IWAE improve their objective on MNIST digits', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const data = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 500 }, (_, i) => i));
    const x = data.tensor(
      Array.from({ length: 200 }, (_, i) => i),
      { binarize: 'threshold', flatten: true },
    );
    const models = {
      beta: BetaVAE.mlp({ inputShape: [28, 28], latentDim: 4, hidden: [32], beta: 4 }),
      gmvae: GMVAE.mlp({ inputShape: [28, 28], latentDim: 4, hidden: [32], components: 5 }),
      iwae: IWAE.mlp({ inputShape: [28, 28], latentDim: 4, hidden: [32], k: 5 }),
    };
    for (const [name, model] of Object.entries(models)) {
      manualSeed(1);
      const optimizer = tf.train.adam(3e-3);
      const score = () => -take(model.loss(x).loss)[0]!;
      const before = score();
      let step = 0;
      for (let epoch = 0; epoch < 8; epoch++) {
        for (const b of data.batches({ batchSize: 50, seed: epoch, binarize: 'threshold', flatten: true })) {
          tf.tidy(() => {
            optimizer.minimize(() => model.loss(b.x, { step }).loss, false, model.trainableVariables);
          });
          step++;
        }
      }
      const after = score();
      expect(after - before, name).toBeGreaterThan(100);
      if (name === 'gmvae') expect(model.loss(x).klAnalytic).toBe(false);
    }
    expect(warn.mock.calls.filter((c) => /no closed form for KL/.test(String(c[0]))).length).toBe(1);
    Object.values(models).forEach((m) => m.dispose());
    x.dispose();
  });
});

describe('reproducibility', () => {
  it('manualSeed makes the initial weights (and so a whole run) reproducible', () => {
    const weights = () => {
      manualSeed(123);
      const vae = VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] });
      const w = vae.trainableVariables.map((v) => Array.from(v.dataSync()));
      vae.dispose();
      return w;
    };
    const a = weights();
    expect(weights()).toEqual(a);
    manualSeed(124);
    const other = VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] });
    expect(other.trainableVariables.map((v) => Array.from(v.dataSync()))).not.toEqual(a);
    other.dispose();
  });
});

describe('convolutional VAE', () => {
  it('VAE.conv: the PML network shapes, training improves the ELBO, save -> load keeps outputs', async () => {
    await useBackend('wasm');
    manualSeed(11);
    const vae = VAE.conv({ inputShape: [28, 28], latentDim: 4 });
    const enc = (vae.encoder as unknown as { net: { layers: Array<{ outputShape: unknown }> } }).net;
    expect(enc.layers.map((l) => l.outputShape)).toEqual([
      [null, 14, 14, 16],
      [null, 7, 7, 32],
      [null, 1568],
      [null, 8],
    ]);
    const data = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 500 }, (_, i) => i));
    const x = data.tensor(
      Array.from({ length: 100 }, (_, i) => i),
      { binarize: 'threshold' },
    );
    const score = () => take(tf.mean(vae.elbo(x)))[0]!;
    const before = score();
    const optimizer = tf.train.adam(3e-3);
    for (let epoch = 0; epoch < 6; epoch++) {
      for (const b of data.batches({ batchSize: 50, seed: epoch, binarize: 'threshold' })) {
        tf.tidy(() => {
          optimizer.minimize(() => vae.loss(b.x).loss, false, vae.trainableVariables);
        });
      }
    }
    expect(score() - before).toBeGreaterThan(200);
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-conv-'));
    await vae.save(dir);
    const loaded = await loadModel(dir);
    const out = (m: VAE) => tf.tidy(() => Array.from(m.decoder.likelihood(m.encoder.posterior(x).mean).mean.dataSync()));
    expect(out(loaded)).toEqual(out(vae));
    expect(VAE.conv({ inputShape: [28, 28], latentDim: 2, channels: [8, 16], deep: true }).trainableVariables.length).toBe(2 * (2 + 2 + 1) + 2 * (1 + 2 + 2));
    expect(() => VAE.conv({ inputShape: [30, 30], latentDim: 2 })).toThrow(
      /convEncoderNet: argument 'options\.imageShape' must be height and width divisible by 4/,
    );
    [vae, loaded].forEach((m) => m.dispose());
    x.dispose();
  });
});

describe('Gaussian decoder variances (DTU 02460 exercise 1.7)', () => {
  it('fixed, learned (shared or per value) and predicted scales: shapes, learning, save -> load', async () => {
    await useBackend('cpu');
    const square = toyDataset('square', { n: 400, seed: 2 });
    const x = square.tensor();
    const make = (variance: 'fixed' | 'learned-shared' | 'learned-per-value' | 'predicted') => {
      manualSeed(6);
      return VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [16], likelihood: 'gaussian', scale: 1, variance });
    };
    const sd = (m: VAE) => tf.tidy(() => Array.from(m.decoder.likelihood(m.encoder.posterior(x).mean).stddev.dataSync()));
    const fixed = make('fixed');
    expect(sd(fixed).every((v) => v === 1)).toBe(true);
    expect(fixed.trainableVariables.length).toBe(8);
    for (const variance of ['learned-shared', 'learned-per-value', 'predicted'] as const) {
      const m = make(variance);
      expect(m.trainableVariables.length).toBe(variance === 'predicted' ? 8 : 9);
      const optimizer = tf.train.adam(1e-2);
      for (let i = 0; i < 150; i++)
        tf.tidy(() => {
          optimizer.minimize(() => m.loss(x).loss, false, m.trainableVariables);
        });
      // Points of the unit square sit within ~0.3 of any fit; the learned scales fall well below 1.
      const after = sd(m);
      expect(Math.max(...after), variance).toBeLessThan(0.6);
      if (variance === 'learned-shared') expect(new Set(after).size).toBe(1);
      const dir = mkdtempSync(join(tmpdir(), 'dlvm-var-'));
      await m.save(dir);
      const loaded = await loadModel(dir);
      expect(sd(loaded)).toEqual(after);
      [m, loaded].forEach((v) => v.dispose());
    }
    expect(() => VAE.conv({ inputShape: [28, 28], latentDim: 2, likelihood: 'gaussian', variance: 'predicted' })).toThrow(
      /VAE\.conv: argument 'options\.variance'/,
    );
    fixed.dispose();
    x.dispose();
  });
});
