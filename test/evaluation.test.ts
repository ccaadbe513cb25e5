/**
 * Evaluation on a linear-Gaussian model, whose log-likelihood and posterior are known exactly:
 * p(z) = N(0, I_M), p(x|z) = N(W z + b, s^2 I_D), so p(x) = N(b, W W^T + s^2 I) and
 * q*(z|x) = N(S W^T (x - b) / s^2, S) with S = (I + W^T W / s^2)^-1. References are computed in
 * float64 JavaScript, independently of tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkArgs,
  activeUnits,
  ArrayDataset,
  bitsPerDim,
  classificationAccuracy,
  evaluateElbo,
  Independent,
  iwaeLogLikelihood,
  klPerDimension,
  MultivariateNormal,
  Normal,
  reconstructionMse,
  type Distribution,
  type LatentVariableModel,
} from '../src/index.js';
import { BACKENDS, randn, useBackend } from './helpers/backends.js';

const D = 4;
const M = 2;
const S = 0.5; // observation noise sd
const W = [
  [1.0, 0.3],
  [-0.5, 0.8],
  [0.2, -1.1],
  [0.7, 0.4],
];
const B = [0.1, -0.2, 0.3, 0.0];

// ---- float64 references -----------------------------------------------------------------------
const matT = (a: number[][]) => a[0]!.map((_, j) => a.map((r) => r[j]!));
const matMul = (a: number[][], b: number[][]) => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
function cholesky64(a: number[][]): number[][] {
  const n = a.length;
  const l = a.map(() => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = i === j ? Math.sqrt(s) : s / l[j]![j]!;
    }
  }
  return l;
}
function mvnLogPdf(x: number[], mean: number[], cov: number[][]): number {
  const l = cholesky64(cov);
  const y: number[] = [];
  for (let i = 0; i < x.length; i++) {
    let s = x[i]! - mean[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y.push(s / l[i]![i]!);
  }
  const logDet = 2 * l.reduce((s, r, i) => s + Math.log(r[i]!), 0);
  return -0.5 * (x.length * Math.log(2 * Math.PI) + logDet + y.reduce((s, v) => s + v * v, 0));
}
function inverse2(a: number[][]): number[][] {
  const det = a[0]![0]! * a[1]![1]! - a[0]![1]! * a[1]![0]!;
  return [
    [a[1]![1]! / det, -a[0]![1]! / det],
    [-a[1]![0]! / det, a[0]![0]! / det],
  ];
}
const COV_X = matMul(W, matT(W)).map((r, i) => r.map((v, j) => v + (i === j ? S * S : 0)));
const POST_COV = inverse2(matMul(matT(W), W).map((r, i) => r.map((v, j) => v / (S * S) + (i === j ? 1 : 0))));
const postMean = (x: number[]) =>
  matMul(
    POST_COV,
    matMul(
      matT(W),
      x.map((v, i) => [(v - B[i]!) / (S * S)]),
    ),
  ).map((r) => r[0]!);

// Data drawn from the model itself (N = 200).
const N = 200;
function dataset(): number[][] {
  const z = randn(N * M, 11);
  const e = randn(N * D, 12);
  return Array.from({ length: N }, (_, n) => W.map((row, i) => row[0]! * z[n * M]! + row[1]! * z[n * M + 1]! + B[i]! + S * e[n * D + i]!));
}
const X = dataset();
const EXACT = X.reduce((s, x) => s + mvnLogPdf(x, B, COV_X), 0) / N;

// ---- the model in dlvm ------------------------------------------------------------------------
/** The linear-Gaussian model; `posterior` exact ('full'), or diagonal with inflated variances. */
function linearGaussian(posterior: 'full' | 'diagonal', inflate = 1, zeroColumn = false): LatentVariableModel {
  const w = zeroColumn ? W.map((r) => [r[0]!, 0]) : W;
  const cov = zeroColumn ? inverse2(matMul(matT(w), w).map((r, i) => r.map((v, j) => v / (S * S) + (i === j ? 1 : 0)))) : POST_COV;
  const wT = tf.tensor2d(w); // [D, M]
  const b = tf.tensor1d(B);
  // Posterior mean: (x - b) W S / s^2 with S symmetric: x [N, D] -> [N, M].
  const meanMap = tf.div(tf.matMul(wT, tf.tensor2d(cov)), S * S); // [D, M]
  return {
    encoder: {
      posterior: (x: tf.Tensor): Distribution => {
        const mu = tf.matMul(tf.sub(x, b), meanMap);
        if (posterior === 'full') return new MultivariateNormal(mu, { covarianceMatrix: tf.tensor2d(cov) });
        const sd = [Math.sqrt(cov[0]![0]! * inflate), Math.sqrt(cov[1]![1]! * inflate)];
        return new Independent(new Normal(mu, tf.broadcastTo(tf.tensor1d(sd), mu.shape)), 1);
      },
    },
    decoder: {
      likelihood: (z: tf.Tensor) => new Independent(new Normal(tf.add(tf.matMul(z, wT, false, true), b), S), 1),
    },
    prior: { distribution: () => new Independent(new Normal(tf.zeros([M]), 1), 1) },
  };
}

describe.each(BACKENDS)('evaluation on %s', (backend) => {
  let x: tf.Tensor;
  beforeAll(async () => {
    await useBackend(backend);
    x = tf.tensor2d(X);
  });

  it('IWAE with the exact posterior gives log p(x) exactly, already at k = 1', async () => {
    const model = linearGaussian('full');
    const est = await iwaeLogLikelihood(model, x, { k: 1, seed: 1 });
    expect(Math.abs(est - EXACT)).toBeLessThan(2e-3);
  });

  it("ELBO <= IWAE-k <= IWAE-k' <= log p(x) for k < k', and IWAE-5000 converges to log p(x)", async () => {
    const model = linearGaussian('diagonal', 2.5);
    await checkArgs();
    const before = tf.memory().numTensors;
    const { elbo, klAnalytic } = await evaluateElbo(model, x, { seed: 2, samples: 50 });
    const iw: number[] = [];
    for (const k of [1, 10, 100, 1000]) iw.push(await iwaeLogLikelihood(model, x, { k, seed: 3 }));
    const x40 = tf.slice(x, [0, 0], [40, D]);
    const iw5000 = await iwaeLogLikelihood(model, x40, { k: 5000, chunk: 500, seed: 4 });
    x40.dispose();
    const exact40 = X.slice(0, 40).reduce((s, v) => s + mvnLogPdf(v, B, COV_X), 0) / 40;
    expect(klAnalytic).toBe(true);
    // The gaps are large against the Monte Carlo error (0.01-0.02 nats here).
    expect(elbo).toBeLessThan(iw[1]!);
    // IWAE-1 is a one-sample ELBO estimate: log w has sd 2.1 nats here (measured), so its mean over
    // 200 points has a standard error of 0.15; allow 3 of them.
    expect(Math.abs(elbo - iw[0]!)).toBeLessThan(0.45);
    for (let i = 1; i < iw.length; i++) expect(iw[i - 1]!).toBeLessThan(iw[i]! + 1e-3);
    expect(iw[3]!).toBeLessThan(EXACT + 0.01);
    expect(EXACT - elbo).toBeGreaterThan(0.2);
    expect(Math.abs(iw5000 - exact40)).toBeLessThan(0.02);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('evaluateElbo: reconstruction and KL equal their closed forms', async () => {
    const inflate = 1.5;
    const model = linearGaussian('diagonal', inflate);
    const r = await evaluateElbo(model, x, { seed: 5, samples: 400 });
    const sd2 = [POST_COV[0]![0]! * inflate, POST_COV[1]![1]! * inflate];
    let rec = 0;
    let kl = 0;
    for (const v of X) {
      const mu = postMean(v);
      const xhat = W.map((row, i) => row[0]! * mu[0]! + row[1]! * mu[1]! + B[i]!);
      const trace = W.reduce((s, row) => s + row[0]! ** 2 * sd2[0]! + row[1]! ** 2 * sd2[1]!, 0);
      const sq = v.reduce((s, xi, i) => s + (xi - xhat[i]!) ** 2, 0);
      rec += 0.5 * D * Math.log(2 * Math.PI * S * S) + (sq + trace) / (2 * S * S);
      kl += mu.reduce((s, m, d) => s + 0.5 * (sd2[d]! + m * m - 1 - Math.log(sd2[d]!)), 0);
    }
    expect(Math.abs(r.kl - kl / N)).toBeLessThan(1e-4);
    expect(Math.abs(r.reconstruction - rec / N)).toBeLessThan(0.02); // 80000 draws: SE ~0.005
    expect(r.loss).toBeCloseTo(r.reconstruction + r.kl, 10);
    expect(r.n).toBe(N);
    const perDim = await klPerDimension(model, x);
    expect(perDim.length).toBe(M);
    expect(Math.abs(perDim[0]! + perDim[1]! - kl / N)).toBeLessThan(1e-4);
  });

  it('reports progress per batch', async () => {
    const seen: Array<[number, number]> = [];
    await iwaeLogLikelihood(linearGaussian('full'), x, { k: 2, batchSize: 64, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([
      [64, 200],
      [128, 200],
      [192, 200],
      [200, 200],
    ]);
  });

  it('reconstruction MSE and active units', async () => {
    const model = linearGaussian('diagonal');
    const mse = await reconstructionMse(model, x, { batchSize: 64 });
    let ref = 0;
    for (const v of X) {
      const mu = postMean(v);
      W.forEach((row, i) => (ref += (v[i]! - (row[0]! * mu[0]! + row[1]! * mu[1]! + B[i]!)) ** 2));
    }
    expect(Math.abs(mse - ref / (N * D))).toBeLessThan(1e-5);
    expect((await activeUnits(model, x)).count).toBe(2);
    // With W's second column zero, z_2 never depends on x: one active unit.
    const collapsed = await activeUnits(linearGaussian('diagonal', 1, true), x);
    expect(collapsed.count).toBe(1);
    expect(collapsed.variances[1]!).toBeLessThan(1e-10);
  });
});

describe('metrics without a model', () => {
  it('bitsPerDim converts nats per example to bits per dimension', () => {
    expect(bitsPerDim(80, 784)).toBeCloseTo(80 / (784 * Math.LN2), 12);
    expect(() => bitsPerDim(80, 0)).toThrow(/bitsPerDim: argument 'dims' must be a positive integer, but got 0/);
  });

  it('classificationAccuracy counts argmax hits over a labelled dataset', async () => {
    await useBackend('cpu');
    const labels = Int32Array.from({ length: 50 }, (_, i) => i % 3);
    const ds = new ArrayDataset({ name: 'points', itemShape: [1], values: Float32Array.from(labels), labels });
    // Predicts the class stored in x, except for x = 2, which it calls 0: accuracy 1 - 16/50.
    const classify = (xb: tf.Tensor) => tf.oneHot(tf.cast(tf.mod(tf.squeeze(xb, [1]), 2), 'int32'), 3);
    expect(await classificationAccuracy(classify, ds, { batchSize: 7 })).toBeCloseTo(34 / 50, 12);
  });

  it('rejects what is not a model or not data', async () => {
    await expect(evaluateElbo({} as never, tf.zeros([2, 2]))).rejects.toThrow(
      /evaluateElbo: argument 'model' must be a model with encoder\.posterior\(x\), decoder\.likelihood\(z\) and prior\.distribution\(\)/,
    );
    await expect(iwaeLogLikelihood(linearGaussian('full'), tf.zeros([2, D]), { k: 0 })).rejects.toThrow(
      /iwaeLogLikelihood: argument 'options\.k' must be a positive integer, but got 0/,
    );
    await expect(reconstructionMse(linearGaussian('full'), 'x' as never)).rejects.toThrow(
      /reconstructionMse: argument 'data' must be an ArrayDataset or a tensor/,
    );
  });
});
