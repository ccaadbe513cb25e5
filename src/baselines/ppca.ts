/**
 * Probabilistic PCA (Tipping & Bishop 1999): x = W z + b + eps, z ~ N(0, I_q),
 * eps ~ N(0, sigma^2 I_D), so p(x) = N(b, W W^T + sigma^2 I). Fitted in closed form.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Binarize } from '../data/dataset.js';
import { Distribution } from '../distributions/distribution.js';
import { Independent } from '../distributions/independent.js';
import { LowRankMultivariateNormal } from '../distributions/lowrank_multivariate_normal.js';
import { MultivariateNormal } from '../distributions/multivariate_normal.js';
import { Normal } from '../distributions/normal.js';
import { argError, checkExamples, DlvmError, positiveInteger } from '../errors.js';
import { rowsOf, type BaselineData } from './data.js';

/** Options of {@link PPCA.fit}. */
export interface PpcaFitOptions {
  /** Latent size q (1 <= q < D). */
  latentDim: number;
  /** Binarisation of an ArrayDataset's images before fitting (default 'none': continuous values). */
  binarize?: Binarize;
}

/** The parameters of a PPCA model. */
export interface PpcaParameters {
  /** b, the data mean at the maximum-likelihood solution: [D]. */
  mean: ArrayLike<number>;
  /** W, [D][q] as rows (D arrays of q numbers) or row-major values with `latentDim`. */
  W: ArrayLike<number> | number[][];
  /** sigma^2 > 0. */
  sigma2: number;
  /** q, needed when W is row-major values. */
  latentDim?: number;
  /** Shape of one example (default [D]). */
  itemShape?: number[];
}

/**
 * Probabilistic PCA. `PPCA.fit(data, { latentDim })` gives the maximum-likelihood solution:
 * b = the data mean; with S = (1/N) sum (x - b)(x - b)^T and its eigenvalues
 * lambda_1 >= ... >= lambda_D (eigenvectors U), sigma^2 = mean(lambda_{q+1..D}) and
 * W = U_q (Lambda_q - sigma^2 I)^(1/2).
 *
 * It has the members of a latent variable model (`prior`, `encoder` with the exact posterior
 * p(z|x) = N(M^-1 W^T (x - b), sigma^2 M^-1), M = W^T W + sigma^2 I, and `decoder`
 * p(x|z) = N(W z + b, sigma^2 I)), so `evaluateElbo`, `iwaeLogLikelihood`, `reconstructionMse`,
 * `aggregatePosterior` and `reconstructionGrid` work on it; `logLikelihood` is exact.
 *
 * @example
 * const ppca = await PPCA.fit(train, { latentDim: 2 });
 * await ppca.logLikelihood(test); // mean log p(x) in nats
 */
export class PPCA {
  readonly latentDim: number;
  readonly dataDim: number;
  readonly itemShape: number[];
  /** b [D]. */
  readonly mean: Float64Array;
  /** W, row-major [D, q]. */
  readonly W: Float64Array;
  readonly sigma2: number;
  /** Eigenvalues of the sample covariance, descending (set by `fit`). */
  eigenvalues: Float64Array | null = null;

  readonly prior: { distribution(): Distribution };
  readonly encoder: { posterior(x: tf.Tensor): Distribution };
  readonly decoder: { likelihood(z: tf.Tensor): Distribution };

  /** M^-1 (row-major [q, q]) and log det M, in float64. */
  private readonly small: { Minv: Float64Array; logDetM: number };
  private readonly tensors: { b: tf.Tensor1D; w: tf.Tensor2D; proj: tf.Tensor2D; postCov: tf.Tensor2D; zeros: tf.Tensor1D; eye: tf.Tensor2D };

  constructor(params: PpcaParameters) {
    const fn = 'PPCA';
    if (params === null || typeof params !== 'object') throw argError(fn, 'params', 'an object { mean, W, sigma2 }', params);
    const mean = Float64Array.from(params.mean ?? []);
    const d = mean.length;
    if (d < 1 || !mean.every(Number.isFinite)) throw argError(fn, 'params.mean', 'a nonempty array of finite numbers', params.mean);
    let W: Float64Array;
    let q: number;
    if (Array.isArray(params.W) && Array.isArray(params.W[0])) {
      const rows = params.W as number[][];
      q = rows[0]!.length;
      if (rows.length !== d || !rows.every((r) => r.length === q)) throw argError(fn, 'params.W', `${d} rows of q numbers`, params.W);
      W = Float64Array.from(rows.flat());
    } else {
      W = Float64Array.from(params.W as ArrayLike<number>);
      q = params.latentDim ?? W.length / d;
      if (!Number.isInteger(q) || W.length !== d * q)
        throw argError(fn, 'params.W', `D x q = ${d} x q values (row-major) with latentDim q`, `${W.length} values`);
    }
    if (q < 1 || !W.every(Number.isFinite)) throw argError(fn, 'params.W', 'finite values with q >= 1 columns', params.W);
    if (!(params.sigma2 > 0) || !Number.isFinite(params.sigma2)) throw argError(fn, 'params.sigma2', 'a positive number', params.sigma2);
    const itemShape = params.itemShape ?? [d];
    if (itemShape.reduce((a, b) => a * b, 1) !== d) throw argError(fn, 'params.itemShape', `a shape with ${d} values`, itemShape);
    this.mean = mean;
    this.W = W;
    this.sigma2 = params.sigma2;
    this.latentDim = q;
    this.dataDim = d;
    this.itemShape = [...itemShape];

    // M = W^T W + sigma^2 I (q x q, float64); the posterior mean is (x - b) W M^-1, its covariance sigma^2 M^-1.
    const Wm = new Matrix(d, q);
    for (let i = 0; i < d; i++) for (let j = 0; j < q; j++) Wm.set(i, j, W[i * q + j]!);
    const M = Wm.transpose().mmul(Wm).add(Matrix.eye(q).mul(this.sigma2));
    const { inverse: Minv, logDet: logDetM } = inverseSpd(M);
    this.small = { Minv: Float64Array.from(Minv.to1DArray()), logDetM };
    const proj = Wm.mmul(Minv); // [D, q]
    const postCov = Minv.mul(this.sigma2);
    this.tensors = {
      b: tf.keep(tf.tensor1d(Float32Array.from(mean))),
      w: tf.keep(tf.tensor2d(Float32Array.from(W), [d, q])),
      proj: tf.keep(tf.tensor2d(Float32Array.from(proj.to1DArray()), [d, q])),
      postCov: tf.keep(tf.tensor2d(Float32Array.from(postCov.to1DArray()), [q, q])),
      zeros: tf.keep(tf.zeros([q])),
      eye: tf.keep(tf.eye(q) as tf.Tensor2D),
    };
    const t = this.tensors;
    const flat = (x: tf.Tensor) => (x.rank === 2 && x.shape[1] === d ? x : tf.reshape(x, [x.shape[0]!, d]));
    this.prior = { distribution: () => new MultivariateNormal(t.zeros, { scaleTril: t.eye }, { validateArgs: false }) };
    this.encoder = {
      posterior: (x: tf.Tensor) => {
        checkExamples('PPCA.encoder.posterior', 'x', x, this.itemShape);
        const loc = tf.tidy(() => tf.matMul(tf.sub(flat(x), t.b), t.proj));
        return Distribution.owning(new MultivariateNormal(loc, { covarianceMatrix: t.postCov }, { validateArgs: false }), [loc]);
      },
    };
    this.decoder = {
      likelihood: (z: tf.Tensor) => {
        const mean = tf.tidy(() => tf.add(tf.matMul(z, t.w, false, true), t.b));
        return Distribution.owning(new Independent(new Normal(mean, Math.sqrt(this.sigma2), { validateArgs: false }), 1), [mean]);
      },
    };
  }

  /**
   * The maximum-likelihood PPCA of `data` (Tipping & Bishop 1999, eqs. 7-8), from the
   * eigendecomposition of the sample covariance (1/N normalisation).
   */
  static async fit(data: BaselineData, options: PpcaFitOptions): Promise<PPCA> {
    const fn = 'PPCA.fit';
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { latentDim: 2 }', options);
    const rows = await rowsOf(fn, data, options.binarize ?? 'none');
    const { n, d, values } = rows;
    const q = options.latentDim;
    if (!Number.isInteger(q) || q < 1 || q >= d) throw argError(fn, 'options.latentDim', `an integer in [1, ${d - 1}] (below the data dimension)`, q);
    if (n < 2) throw argError(fn, 'data', 'at least 2 examples', n);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += values[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= n;
    const S = await covariance(values, n, d, mean);
    const evd = new EigenvalueDecomposition(S, { assumeSymmetric: true });
    const order = evd.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    const lambdas = Float64Array.from(order, ([v]) => Math.max(v, 0));
    let rest = 0;
    for (let i = q; i < d; i++) rest += lambdas[i]!;
    const sigma2 = rest / (d - q);
    if (!(sigma2 > 0)) {
      throw new DlvmError(
        `${fn}: the data lie in a subspace of dimension <= ${q} (the discarded eigenvalues are all 0), so sigma^2 = 0 and the likelihood is unbounded; use a smaller latentDim.`,
      );
    }
    const U = evd.eigenvectorMatrix;
    const W = new Float64Array(d * q);
    for (let k = 0; k < q; k++) {
      const col = order[k]![1];
      const s = Math.sqrt(Math.max(lambdas[k]! - sigma2, 0));
      // Fix the sign so that the largest entry of each direction is positive (reproducible W).
      let sign = 1;
      let big = 0;
      for (let i = 0; i < d; i++) if (Math.abs(U.get(i, col)) > big) [big, sign] = [Math.abs(U.get(i, col)), Math.sign(U.get(i, col)) || 1];
      for (let i = 0; i < d; i++) W[i * q + k] = sign * U.get(i, col) * s;
    }
    const model = new PPCA({ mean, W, sigma2, latentDim: q, itemShape: rows.itemShape });
    model.eigenvalues = lambdas;
    return model;
  }

  /**
   * The shape of one example (`itemShape`). `logProb`, `encode`, `reconstruct`, the encoder and
   * `logProbValues` check their data against it (see `checkExamples`): examples of this shape,
   * flat ([D]) or with a trailing unit axis more or less; a PPCA of flat data ([D]) takes any
   * shape with D values.
   */
  get inputShape(): number[] {
    return [...this.itemShape];
  }

  /** p(x) = N(b, W W^T + sigma^2 I), event [D] (a LowRankMultivariateNormal). */
  distribution(): LowRankMultivariateNormal {
    const t = this.tensors;
    return new LowRankMultivariateNormal(t.b, t.w, new Array<number>(this.dataDim).fill(this.sigma2), { validateArgs: false });
  }

  /** log p(x) per example, exact (Woodbury), for x [B, ...]: [B]. */
  logProb(x: tf.Tensor): tf.Tensor {
    checkExamples('PPCA.logProb', 'x', x, this.itemShape);
    return tf.tidy(() => this.distribution().logProb(tf.reshape(x, [x.shape[0]!, this.dataDim])));
  }

  /**
   * log p(x) per example in float64, exact: with e = x - b and M = W^T W + sigma^2 I,
   * e^T C^-1 e = (|e|^2 - e^T W M^-1 W^T e) / sigma^2 and log det C = (D - q) log sigma^2 + log det M.
   */
  async logProbValues(data: BaselineData, { binarize = 'none' }: { binarize?: Binarize } = {}): Promise<Float64Array> {
    return this.logProbsOf('PPCA.logProbValues', data, binarize);
  }

  /** {@link logProbValues}, with errors naming `fn`. */
  private async logProbsOf(fn: string, data: BaselineData, binarize: Binarize = 'none'): Promise<Float64Array> {
    const { n, values } = await rowsOf(fn, data, binarize, this.itemShape);
    const d = this.dataDim;
    const q = this.latentDim;
    const { Minv, logDetM } = this.small;
    const logDetC = (d - q) * Math.log(this.sigma2) + logDetM;
    const out = new Float64Array(n);
    const e = new Float64Array(d);
    const wte = new Float64Array(q);
    for (let i = 0; i < n; i++) {
      let ee = 0;
      for (let j = 0; j < d; j++) {
        e[j] = values[i * d + j]! - this.mean[j]!;
        ee += e[j]! * e[j]!;
      }
      wte.fill(0);
      for (let j = 0; j < d; j++) {
        const ej = e[j]!;
        if (ej !== 0) for (let c = 0; c < q; c++) wte[c]! += this.W[j * q + c]! * ej;
      }
      let quad = 0;
      for (let a = 0; a < q; a++) for (let c = 0; c < q; c++) quad += wte[a]! * Minv[a * q + c]! * wte[c]!;
      out[i] = -0.5 * (d * Math.log(2 * Math.PI) + logDetC + (ee - quad) / this.sigma2);
    }
    return out;
  }

  /** Mean log p(x) over `data` in nats per example (float64, exact). */
  async logLikelihood(data: BaselineData, options: { binarize?: Binarize } = {}): Promise<number> {
    const lp = await this.logProbsOf('PPCA.logLikelihood', data, options.binarize);
    return lp.reduce((a, b) => a + b, 0) / lp.length;
  }

  /** The posterior means E[z|x] = M^-1 W^T (x - b), the latent projection: [B, q]. */
  encode(x: tf.Tensor): tf.Tensor {
    checkExamples('PPCA.encode', 'x', x, this.itemShape);
    return tf.tidy(() => this.encoder.posterior(x).mean);
  }

  /** W E[z|x] + b, shaped like x. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    checkExamples('PPCA.reconstruct', 'x', x, this.itemShape);
    return tf.tidy(() => tf.reshape(this.decoder.likelihood(this.encode(x)).mean, x.shape));
  }

  /** n draws of x ~ p(x), [n, ...itemShape]. */
  sample(n: number): tf.Tensor {
    positiveInteger('PPCA.sample', 'n', n);
    return tf.tidy(() => tf.reshape(this.distribution().sample([n]), [n, ...this.itemShape]));
  }

  /** Frees the tensors. */
  dispose(): void {
    tf.dispose(Object.values(this.tensors));
  }
}

/**
 * (1/n) sum (x - m)(x - m)^T as a float64 Matrix: in float64 when small, else with the products
 * in float32 chunks on the backend (sums of at most a few thousand terms each) added in float64.
 */
async function covariance(values: Float32Array, n: number, d: number, mean: Float64Array): Promise<Matrix> {
  const S = new Float64Array(d * d);
  if (n * d * d <= 2e8) {
    const xc = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) xc[j] = values[r * d + j]! - mean[j]!;
      for (let i = 0; i < d; i++) {
        const a = xc[i]!;
        if (a === 0) continue;
        for (let j = i; j < d; j++) S[i * d + j]! += a * xc[j]!;
      }
    }
    const out = new Matrix(d, d);
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) out.set(i, j, S[i * d + j]! / n).set(j, i, S[i * d + j]! / n);
    return out;
  }
  const chunk = Math.max(1, Math.floor(4e6 / d));
  const m32 = tf.tensor1d(Float32Array.from(mean));
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const part = tf.tidy(() => {
      const xc = tf.sub(tf.tensor2d(values.subarray(start * d, (start + size) * d), [size, d]), m32);
      return tf.matMul(xc, xc, true, false);
    });
    let p: Float32Array;
    try {
      p = (await part.data()) as Float32Array;
    } finally {
      part.dispose();
    }
    for (let i = 0; i < d * d; i++) S[i]! += p[i]!;
  }
  m32.dispose();
  const out = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out.set(i, j, (S[i * d + j]! + S[j * d + i]!) / (2 * n));
  return out;
}

/** Inverse and log-determinant of a small symmetric positive-definite matrix (float64, Cholesky). */
function inverseSpd(m: Matrix): { inverse: Matrix; logDet: number } {
  const chol = new CholeskyDecomposition(m);
  const L = chol.lowerTriangularMatrix;
  let logDet = 0;
  for (let i = 0; i < m.rows; i++) logDet += 2 * Math.log(L.get(i, i));
  return { inverse: chol.solve(Matrix.eye(m.rows)), logDet };
}
