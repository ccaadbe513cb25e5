/**
 * Classical baselines against independent references: PPCA's maximum-likelihood solution and
 * log-densities (numpy / scipy / scikit-learn fixtures), its optimality against perturbed
 * parameters (DTU 02460 exercise 1.1); Gaussian mixtures' EM iterates against scikit-learn from
 * the same start, monotone log-likelihood, the log-sum-exp formula.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkArgs, evaluateElbo, GaussianMixture, iwaeLogLikelihood, loadMnist, PPCA, reconstructionMse } from '../src/index.js';
import { mulberry32 } from '../src/random.js';
import { expectClose, useBackend, take } from './helpers/backends.js';

interface GmmRun {
  iterations: number;
  weights: number[];
  means: number[][];
  covariances: number[][][] | number[][];
  lowerBound: number;
  testLogProb: number[];
  testResponsibilities: number[][];
  trainLogLikelihood: number;
}
const fixtures = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'baselines.json'), 'utf8')) as {
  ppca: {
    latentDim: number;
    train: number[][];
    test: number[][];
    mean: number[];
    sigma2: number;
    eigenvalues: number[];
    WWt: number[][];
    testLogProb: number[];
    trainLogLikelihood: number;
    testReconstruction: number[][];
    posteriorCovarianceEigenvalues: number[];
  };
  gmm: {
    train: number[][];
    test: number[][];
    initWeights: number[];
    initMeans: number[][];
    full: { initCovariances: number[][][]; runs: GmmRun[] };
    diag: { initCovariances: number[][]; runs: GmmRun[] };
  };
};

beforeAll(async () => {
  await useBackend('cpu');
});

describe('PPCA', () => {
  const f = fixtures.ppca;

  it('the maximum-likelihood solution and exact log-likelihood match numpy / scipy / scikit-learn', async () => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const ppca = await PPCA.fit(f.train, { latentDim: f.latentDim });
    expectClose(Array.from(ppca.mean), f.mean, { rtol: 1e-9, atol: 1e-9, label: 'b = data mean' });
    expect(ppca.sigma2).toBeCloseTo(f.sigma2, 9);
    expectClose(Array.from(ppca.eigenvalues!), f.eigenvalues, { rtol: 1e-8, atol: 1e-9, label: 'eigenvalues' });
    const q = f.latentDim;
    const d = f.mean.length;
    const wwt = Array.from({ length: d * d }, (_, k) => {
      const [i, j] = [Math.floor(k / d), k % d];
      let s = 0;
      for (let c = 0; c < q; c++) s += ppca.W[i * q + c]! * ppca.W[j * q + c]!;
      return s;
    });
    expectClose(wwt, f.WWt.flat(), { rtol: 1e-8, atol: 1e-9, label: 'W W^T' });
    const x = tf.tensor2d(f.test);
    expectClose(take(ppca.logProb(x)), f.testLogProb, { rtol: 1e-5, atol: 1e-4, label: 'log p(x)' });
    expect(await ppca.logLikelihood(f.train)).toBeCloseTo(f.trainLogLikelihood, 9);
    expectClose(Array.from(await ppca.logProbValues(f.test)), f.testLogProb, { rtol: 1e-10, atol: 1e-10, label: 'log p(x), float64' });
    expectClose(take(ppca.reconstruct(x)), f.testReconstruction.flat(), { rtol: 1e-5, atol: 1e-4, label: 'W E[z|x] + b' });
    // The exact posterior's covariance sigma^2 M^-1.
    // (The encoder's tensors are freed by the caller's tidy, as in the evaluation functions.)
    const c = take(tf.tidy(() => tf.slice((ppca.encoder.posterior(x) as unknown as { covarianceMatrix: tf.Tensor }).covarianceMatrix, [0, 0, 0], [1, q, q])));
    const tr = c[0]! + c[3]!;
    const det = c[0]! * c[3]! - c[1]! * c[2]!;
    const eig = [(tr - Math.sqrt(tr * tr - 4 * det)) / 2, (tr + Math.sqrt(tr * tr - 4 * det)) / 2];
    expectClose(eig, f.posteriorCovarianceEigenvalues, { rtol: 1e-5, atol: 1e-7, label: 'posterior covariance' });
    x.dispose();
    ppca.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('no perturbed (W, b, sigma^2) has a higher training log-likelihood (DTU 02460 exercise 1.1)', async () => {
    const ppca = await PPCA.fit(f.train, { latentDim: f.latentDim });
    const best = await ppca.logLikelihood(f.train);
    const u = mulberry32(7);
    const noise = (scale: number) => (u() - 0.5) * 2 * scale;
    for (let trial = 0; trial < 30; trial++) {
      const which = trial % 3;
      const scale = [0.3, 0.03, 0.003][Math.floor(trial / 3) % 3]!;
      const other = new PPCA({
        mean: Array.from(ppca.mean, (v) => v + (which === 0 ? noise(scale) : 0)),
        W: Array.from(ppca.W, (v) => v + (which === 1 ? noise(scale) : 0)),
        sigma2: ppca.sigma2 * (which === 2 ? Math.exp(noise(scale)) : 1),
        latentDim: ppca.latentDim,
      });
      expect(await other.logLikelihood(f.train), `trial ${trial}`).toBeLessThan(best);
      other.dispose();
    }
    // A rotation of W (W R) leaves the likelihood unchanged: the solution is unique up to R.
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    const W = ppca.W;
    const rotated = new PPCA({
      mean: ppca.mean,
      W: Array.from({ length: W.length }, (_, k) => (k % 2 === 0 ? c * W[k]! + s * W[k + 1]! : -s * W[k - 1]! + c * W[k]!)),
      sigma2: ppca.sigma2,
      latentDim: 2,
    });
    expect(await rotated.logLikelihood(f.train)).toBeCloseTo(best, 9);
    rotated.dispose();
    ppca.dispose();
  });

  it('works with the evaluation functions: IWAE-1 with the exact posterior is the exact log-likelihood, the ELBO below it', async () => {
    const ppca = await PPCA.fit(f.train, { latentDim: f.latentDim });
    const x = tf.tensor2d(f.test);
    const exact = f.testLogProb.reduce((a, b) => a + b, 0) / f.testLogProb.length;
    expect(await iwaeLogLikelihood(ppca, x, { k: 1, seed: 0 })).toBeCloseTo(exact, 3);
    const elbo = await evaluateElbo(ppca, x, { samples: 200, seed: 0 });
    expect(elbo.klAnalytic).toBe(true);
    expect(elbo.elbo).toBeLessThan(exact + 0.05);
    expect(elbo.elbo).toBeGreaterThan(exact - 0.2);
    x.dispose();
    ppca.dispose();
  });

  it('on MNIST: b is the pixel mean, reconstructions improve with q, samples have the image shape', async () => {
    const data = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 2000 }, (_, i) => i));
    const values = data.values();
    const pixelMean = Array.from({ length: 784 }, (_, j) => {
      let s = 0;
      for (let i = 0; i < 2000; i++) s += values[i * 784 + j]!;
      return s / 2000;
    });
    const small = await PPCA.fit(data, { latentDim: 2 });
    const large = await PPCA.fit(data, { latentDim: 30 });
    expectClose(Array.from(small.mean), pixelMean, { rtol: 1e-6, atol: 1e-7, label: 'pixel mean' });
    expect(large.sigma2).toBeLessThan(small.sigma2);
    const mseSmall = await reconstructionMse(small, data);
    const mseLarge = await reconstructionMse(large, data);
    console.log(
      `PPCA on 2000 MNIST digits: sigma^2 ${small.sigma2.toFixed(4)} (q = 2), ${large.sigma2.toFixed(4)} (q = 30); MSE ${mseSmall.toFixed(4)} -> ${mseLarge.toFixed(4)}`,
    );
    expect(mseLarge).toBeLessThan(mseSmall * 0.6);
    expect(await large.logLikelihood(data)).toBeGreaterThan(await small.logLikelihood(data));
    const s = small.sample(3);
    expect(s.shape).toEqual([3, 28, 28]);
    s.dispose();
    small.dispose();
    large.dispose();
  });

  it('rejects bad input', async () => {
    await expect(PPCA.fit(fixtures.ppca.train, { latentDim: 6 })).rejects.toThrow(/PPCA\.fit: argument 'options\.latentDim' must be an integer in \[1, 5\]/);
    await expect(PPCA.fit('x' as never, { latentDim: 1 })).rejects.toThrow(/PPCA\.fit: argument 'data' must be an ArrayDataset, a tensor/);
    await expect(
      PPCA.fit(
        [
          [1, 0],
          [2, 0],
          [3, 0],
        ],
        { latentDim: 1 },
      ),
    ).rejects.toThrow(/PPCA\.fit: the data lie in a subspace of dimension <= 1/);
    expect(() => new PPCA({ mean: [0, 0], W: [[1], [0]], sigma2: 0 })).toThrow(/PPCA: argument 'params\.sigma2' must be a positive number, but got 0/);
    const ppca = new PPCA({ mean: [0, 0], W: [[1], [0]], sigma2: 0.5 });
    expect(() => ppca.logProb(tf.zeros([2, 3]))).toThrow(
      /PPCA\.logProb: argument 'x' must be a tensor \[B, 2\] \(or any shape with 2 values per example\), but got Tensor of shape \[2, 3\]/,
    );
    ppca.dispose();
  });
});

describe('GaussianMixture', () => {
  const g = fixtures.gmm;

  for (const type of ['full', 'diag'] as const) {
    it(`${type} covariances: EM iterates from the same start equal scikit-learn's after 1, 2, 5 and 20 iterations`, async () => {
      for (const run of g[type].runs) {
        const gmm = await GaussianMixture.fit(g.train, {
          components: 3,
          covariance: type,
          maxIter: run.iterations,
          tol: 0,
          init: { weights: g.initWeights, means: g.initMeans, covariances: g[type].initCovariances },
        });
        const label = `${type}, ${run.iterations} iterations`;
        expect(gmm.iterations).toBe(run.iterations);
        const p = gmm.parameters();
        expectClose(p.weights as number[], run.weights, { rtol: 1e-8, atol: 1e-10, label: `${label}: weights` });
        expectClose(p.means.flat(), run.means.flat(), { rtol: 1e-8, atol: 1e-9, label: `${label}: means` });
        expectClose((p.covariances as number[][]).flat(2) as number[], (run.covariances as number[][]).flat(2) as number[], {
          rtol: 1e-8,
          atol: 1e-9,
          label: `${label}: covariances`,
        });
        expect(gmm.history.at(-1)).toBeCloseTo(run.lowerBound, 9);
        expectClose(Array.from(await gmm.logProb(g.test)), run.testLogProb, { rtol: 1e-9, atol: 1e-9, label: `${label}: log p(x)` });
        expectClose(Array.from(await gmm.responsibilities(g.test)), run.testResponsibilities.flat(), {
          rtol: 1e-7,
          atol: 1e-9,
          label: `${label}: responsibilities`,
        });
        expect(await gmm.logLikelihood(g.train)).toBeCloseTo(run.trainLogLikelihood, 9);
      }
    });
  }

  it('EM never decreases the log-likelihood, from k-means++ and converges to the optimum found by scikit-learn', async () => {
    for (const type of ['full', 'diag'] as const) {
      const gmm = await GaussianMixture.fit(g.train, { components: 3, covariance: type, maxIter: 200, tol: 1e-10, seed: 3 });
      const h = gmm.history;
      for (let i = 1; i < h.length; i++) expect(h[i]! - h[i - 1]!, `${type}, iteration ${i}`).toBeGreaterThanOrEqual(-1e-10);
      expect(gmm.converged).toBe(true);
      expect(await gmm.logLikelihood(g.train)).toBeGreaterThanOrEqual(g[type].runs.at(-1)!.trainLogLikelihood - 1e-4);
    }
    // Also on random data with more components than clusters (harder, still monotone).
    const u = mulberry32(11);
    const rows = Array.from({ length: 400 }, () => [u() * 4, u() * 2 + u(), u()]);
    const seen: number[] = [];
    await GaussianMixture.fit(rows, { components: 6, covariance: 'full', maxIter: 60, tol: 0, onIteration: (_, ll) => seen.push(ll) });
    for (let i = 1; i < seen.length; i++) expect(seen[i]! - seen[i - 1]!).toBeGreaterThanOrEqual(-1e-10);
  });

  it('log p(x) is the log-sum-exp of log pi_j + log N(x; mu_j, Sigma_j); the dlvm distribution agrees', async () => {
    const gmm = await GaussianMixture.fit(g.train, { components: 3, covariance: 'full', seed: 1 });
    const p = gmm.parameters();
    const expected = g.test.map((x) => {
      const terms = p.means.map((m, j) => {
        const [[a, b], [c, d]] = (p.covariances as number[][][])[j]! as [[number, number], [number, number]];
        const det = a * d - b * c;
        const [e0, e1] = [x[0]! - m[0]!, x[1]! - m[1]!];
        const quad = (d * e0 * e0 - (b + c) * e0 * e1 + a * e1 * e1) / det;
        return Math.log(p.weights[j]! as number) - Math.log(2 * Math.PI) - 0.5 * Math.log(det) - 0.5 * quad;
      });
      const max = Math.max(...terms);
      return max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
    });
    expectClose(Array.from(await gmm.logProb(g.test)), expected, { rtol: 1e-12, atol: 1e-12, label: 'log-sum-exp formula' });
    await checkArgs();
    const before = tf.memory().numTensors;
    const dist = gmm.distribution();
    const x = tf.tensor2d(g.test);
    expectClose(take(dist.logProb(x)), expected, { rtol: 1e-5, atol: 1e-5, label: 'MixtureSameFamily' });
    x.dispose();
    dist.dispose();
    const s = gmm.sample(5);
    expect(s.shape).toEqual([5, 2]);
    s.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    const resp = await gmm.responsibilities(g.test);
    for (let i = 0; i < g.test.length; i++) expect(resp[i * 3]! + resp[i * 3 + 1]! + resp[i * 3 + 2]!).toBeCloseTo(1, 12);
    expect(Array.from(await gmm.predict(g.train)).filter((c, i, all) => all.indexOf(c) === i).length).toBe(3);
  });

  it('rejects bad input', async () => {
    await expect(GaussianMixture.fit(g.train, { components: 0 })).rejects.toThrow(
      /GaussianMixture\.fit: argument 'options\.components' must be a positive integer, but got 0/,
    );
    await expect(GaussianMixture.fit(g.train, { components: 2, covariance: 'spherical' as never })).rejects.toThrow(
      /GaussianMixture\.fit: argument 'options\.covariance' must be 'full' or 'diag'/,
    );
    await expect(GaussianMixture.fit([[1, 2]], { components: 2 })).rejects.toThrow(/GaussianMixture\.fit: argument 'data' must be at least k = 2 examples/);
    expect(() => new GaussianMixture({ weights: [0.5, 0.6], means: [[0], [1]], covariances: [[1], [1]] }, 'diag')).toThrow(
      /GaussianMixture: argument 'params\.weights' must be 2 positive weights summing to 1/,
    );
    expect(
      () =>
        new GaussianMixture({
          weights: [1],
          means: [[0, 0]],
          covariances: [
            [
              [1, 2],
              [2, 1],
            ],
          ],
        }),
    ).toThrow(/GaussianMixture: the covariance of component 0 is not positive definite/);
    expect(
      () =>
        new GaussianMixture({
          weights: [1],
          means: [[0, 0]],
          covariances: [
            [
              [1, 0.5],
              [0, 1],
            ],
          ],
        }),
    ).toThrow(/GaussianMixture: the covariance of component 0 cannot be factorised .*symmetric positive definite/);
    const gmm = new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[1, 1]] }, 'diag');
    await expect(gmm.logProb([[1, 2, 3]])).rejects.toThrow(/GaussianMixture\.logProb: argument 'data' must be rows of 2 values, but got rows of 3 values\./);
  });
});
