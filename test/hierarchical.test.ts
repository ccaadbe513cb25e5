/**
 * The two-level hierarchical VAE (DTU 02460 exercise 1.3): its ELBO estimator (closed-form top
 * KL + Monte Carlo bottom term) against a brute-force Monte Carlo estimate of the same bound
 * log p(x, z1, z2) - log q(z1, z2|x); the exercise's formula (the bottom term as a KL) is a
 * different quantity; training, evaluation and pictures work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkArgs, evaluateElbo, fit, HierarchicalVAE, iwaeLogLikelihood, klDivergence, loadMnist, manualSeed, sampleGrid, decodePng } from '../src/index.js';
import { repeatBatch } from '../src/models/batch.js';
import { useBackend } from './helpers/backends.js';

const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, se: sd / Math.sqrt(v.length) };
};

beforeAll(async () => {
  await useBackend('wasm');
});
afterEach(() => manualSeed(null));

describe('HierarchicalVAE', () => {
  it('the ELBO estimator matches a brute-force Monte Carlo estimate of the same bound; the KL-only formula does not', async () => {
    const data = await loadMnist({ split: 'test', download: false });
    manualSeed(6);
    const hvae = HierarchicalVAE.mlp({ inputShape: [28, 28], latentDims: [4, 2], hidden: [32], topHidden: [16] });
    // Train briefly so the networks are not at their symmetric start.
    const train = data.subset(Array.from({ length: 500 }, (_, i) => i));
    await fit(hvae, train, { epochs: 2, batchSize: 50, binarize: 'threshold', learningRate: 3e-3, seed: 0, progress: false, log: () => undefined });
    const x1 = data.tensor([600], { binarize: 'threshold' }); // one digit
    const S = 10000;
    const xs = repeatBatch(x1, S);
    const [ours, brute, naive] = tf.tidy(() => {
      // Our estimator, S independent one-sample draws.
      const est = hvae.elbo(xs);
      // Brute force: log p(x|z1) + log p(z1, z2) - log q(z1, z2|x) at z ~ q(z1, z2|x).
      const q = hvae.encoder.posterior(xs);
      const z = q.sample();
      const lik = hvae.decoder.likelihood(z);
      const bf = tf.sub(tf.add(lik.logProb(tf.reshape(xs, [S, 28, 28])), hvae.prior.distribution().logProb(z)), q.logProb(z));
      // The exercise's formula: the bottom term replaced by KL(q(z1|x) || p(z1|z2)) at z2 ~ q(z2|z1).
      const [z1, z2] = tf.split(z, [4, 2], -1) as [tf.Tensor, tf.Tensor];
      const wrong = tf.neg(
        tf.addN([
          tf.neg(hvae.likelihood.likelihood(z1).logProb(tf.reshape(xs, [S, 28, 28]))),
          klDivergence(hvae.encoder2.posterior(z1), hvae.topPrior.distribution()),
          klDivergence(hvae.encoder1.posterior(xs), hvae.conditionalPrior.posterior(z2)),
        ]),
      );
      return [est, bf, wrong].map((t) => Array.from(t.dataSync()));
    });
    const a = stats(ours!);
    const b = stats(brute!);
    const c = stats(naive!);
    const se = Math.sqrt(a.se ** 2 + b.se ** 2);
    console.log(
      `ELBO of one digit: estimator ${a.mean.toFixed(3)} ± ${a.se.toFixed(3)}, brute force ${b.mean.toFixed(3)} ± ${b.se.toFixed(3)}, KL-only formula ${c.mean.toFixed(3)} ± ${c.se.toFixed(3)}`,
    );
    expect(Math.abs(a.mean - b.mean)).toBeLessThan(4 * se);
    expect(Math.abs(c.mean - b.mean)).toBeGreaterThan(6 * Math.sqrt(c.se ** 2 + b.se ** 2));
    tf.dispose([x1, xs]);
    hvae.dispose();
  });

  it('trains with fit, works with the evaluation functions (IWAE above the ELBO) and pictures; no leaks', async () => {
    const data = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 1200 }, (_, i) => i));
    const train = data.subset(Array.from({ length: 1000 }, (_, i) => i));
    const valid = data.subset(Array.from({ length: 200 }, (_, i) => 1000 + i));
    manualSeed(1);
    const hvae = HierarchicalVAE.mlp({ inputShape: [28, 28], latentDims: [8, 4], hidden: [128] });
    const opts = { binarize: 'threshold' as const, seed: 0 };
    const before = (await evaluateElbo(hvae, valid, opts)).elbo;
    const counts: number[] = [];
    await fit(hvae, train, {
      epochs: 5,
      batchSize: 50,
      binarize: 'threshold',
      learningRate: 3e-3,
      seed: 0,
      progress: false,
      log: () => undefined,
      callbacks: { onStepEnd: (s) => s > 3 && counts.push(tf.memory().numTensors) },
    });
    expect(new Set(counts).size).toBe(1);
    await checkArgs();
    const tensors = tf.memory().numTensors;
    const after = await evaluateElbo(hvae, valid, opts);
    const iwae = await iwaeLogLikelihood(hvae, valid, { k: 50, ...opts });
    console.log(`hierarchical VAE: ELBO ${before.toFixed(1)} -> ${after.elbo.toFixed(1)}, IWAE-50 ${iwae.toFixed(1)}`);
    expect(after.elbo - before).toBeGreaterThan(200);
    expect(after.klAnalytic).toBe(false);
    expect(iwae).toBeGreaterThan(after.elbo);
    const png = await decodePng(await sampleGrid(hvae, { n: 16, mean: true, pad: 0 }));
    expect([png.width, png.height]).toEqual([4 * 28, 4 * 28]);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => HierarchicalVAE.mlp({ inputShape: [28, 28], latentDims: [8] as never, hidden: [16] })).toThrow(
      /HierarchicalVAE\.mlp: argument 'options\.latentDims' must be \[M1, M2\] positive integers/,
    );
    hvae.dispose();
  });
});
