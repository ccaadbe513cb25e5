/**
 * Gaussian mixture models fitted by expectation-maximisation, in float64 on the CPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { Binarize } from '../data/dataset.js';
import { Categorical } from '../distributions/categorical.js';
import { Independent } from '../distributions/independent.js';
import { MixtureSameFamily } from '../distributions/mixture_same_family.js';
import { MultivariateNormal } from '../distributions/multivariate_normal.js';
import { Normal } from '../distributions/normal.js';
import { argError, DlvmError, positiveInteger } from '../errors.js';
import { mulberry32 } from '../random.js';
import { rowsOf, type BaselineData, type Rows } from './data.js';

/** Covariance structure of the components. */
export type CovarianceType = 'full' | 'diag';

/** Parameters of a Gaussian mixture. */
export interface GmmParameters {
  /** Mixture weights [k] (positive, summing to 1). */
  weights: ArrayLike<number>;
  /** Means [k][D]. */
  means: number[][];
  /** Covariances: [k][D][D] (full) or [k][D] variances (diag). */
  covariances: number[][][] | number[][];
}

/** Options of {@link GaussianMixture.fit}. */
export interface GmmFitOptions {
  /** Number of components k. */
  components: number;
  /** 'full' (default) or 'diag'. Full covariances cost O(N k D^2) per iteration. */
  covariance?: CovarianceType;
  /** Most EM iterations (default 100). */
  maxIter?: number;
  /** Stop when the mean log-likelihood changes by less than this (default 1e-3, as scikit-learn). */
  tol?: number;
  /** Added to the covariances' diagonals (default 1e-6, as scikit-learn). */
  regCovar?: number;
  /** Seed of the k-means++ initialisation (default 0). */
  seed?: number;
  /** Start from these parameters instead of k-means. */
  init?: GmmParameters;
  /** Binarisation of an ArrayDataset's images (default 'none'). */
  binarize?: Binarize;
  /** Called after every iteration with its number (1-based) and the mean log-likelihood. */
  onIteration?: (iteration: number, logLikelihood: number) => void;
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * A mixture of k Gaussians, p(x) = sum_j pi_j N(x; mu_j, Sigma_j), with full or diagonal
 * covariances. `GaussianMixture.fit(data, { components })` runs EM from a k-means++ / Lloyd
 * initialisation (or `init`) until the mean log-likelihood changes by less than `tol`; the
 * log-likelihood never decreases (`history`).
 *
 * @example
 * const gmm = await GaussianMixture.fit(points, { components: 3, covariance: 'full' });
 * await gmm.logLikelihood(test); await gmm.responsibilities(test); await gmm.predict(test);
 */
export class GaussianMixture {
  readonly components: number;
  readonly dataDim: number;
  readonly covarianceType: CovarianceType;
  readonly weights: Float64Array;
  /** Means, row-major [k, D]. */
  readonly means: Float64Array;
  /** Covariances, [k, D, D] (full) or [k, D] (diag), row-major. */
  readonly covariances: Float64Array;
  /** Mean log-likelihood before each M-step of the fit (nondecreasing). */
  history: number[] = [];
  /** Whether the fit stopped by `tol` rather than `maxIter`. */
  converged = false;
  /** EM iterations of the fit. */
  iterations = 0;
  /** Cholesky factors (full) or standard deviations (diag), and log-determinants. */
  private chol: Float64Array;
  private logDet: Float64Array;

  constructor(params: GmmParameters, covariance: CovarianceType = 'full') {
    const fn = 'GaussianMixture';
    if (covariance !== 'full' && covariance !== 'diag') throw argError(fn, 'covariance', "'full' or 'diag'", covariance);
    if (params === null || typeof params !== 'object') throw argError(fn, 'params', 'an object { weights, means, covariances }', params);
    const k = params.means?.length ?? 0;
    const d = params.means?.[0]?.length ?? 0;
    if (k < 1 || d < 1 || !params.means.every((m) => Array.isArray(m) && m.length === d && m.every(Number.isFinite))) {
      throw argError(fn, 'params.means', 'k arrays of D finite numbers', params.means);
    }
    const w = Float64Array.from(params.weights ?? []);
    const sum = w.reduce((a, b) => a + b, 0);
    if (w.length !== k || !w.every((v) => v > 0) || Math.abs(sum - 1) > 1e-6)
      throw argError(fn, 'params.weights', `${k} positive weights summing to 1`, params.weights);
    this.components = k;
    this.dataDim = d;
    this.covarianceType = covariance;
    this.weights = w.map((v) => v / sum);
    this.means = Float64Array.from(params.means.flat());
    const cov = params.covariances as unknown[];
    const per = covariance === 'full' ? d * d : d;
    const flat =
      Array.isArray(cov) && cov.length === k
        ? (cov as unknown[]).flatMap((c) => (covariance === 'full' ? ((c as number[][]).flat?.() ?? []) : (c as number[])))
        : [];
    if (flat.length !== k * per || !flat.every(Number.isFinite)) {
      throw argError(
        fn,
        'params.covariances',
        covariance === 'full' ? `k = ${k} matrices ${d} x ${d}` : `k = ${k} arrays of ${d} variances`,
        params.covariances,
      );
    }
    this.covariances = Float64Array.from(flat);
    this.chol = new Float64Array(k * per);
    this.logDet = new Float64Array(k);
    this.factor(fn);
  }

  /** Cholesky factors (or standard deviations) and log-determinants of the covariances. */
  private factor(fn: string): void {
    const { components: k, dataDim: d } = this;
    for (let j = 0; j < k; j++) {
      if (this.covarianceType === 'diag') {
        let ld = 0;
        for (let i = 0; i < d; i++) {
          const v = this.covariances[j * d + i]!;
          if (!(v > 0)) throw new DlvmError(`${fn}: component ${j} has a nonpositive variance ${v} in dimension ${i}; raise regCovar.`);
          this.chol[j * d + i] = Math.sqrt(v);
          ld += Math.log(v);
        }
        this.logDet[j] = ld;
      } else {
        const off = j * d * d;
        let chol: CholeskyDecomposition;
        try {
          chol = new CholeskyDecomposition(
            new Matrix(Array.from({ length: d }, (_, r) => Array.from(this.covariances.subarray(off + r * d, off + (r + 1) * d)))),
          );
        } catch (e) {
          throw new DlvmError(
            `${fn}: the covariance of component ${j} cannot be factorised (${(e as Error).message}); it must be symmetric positive definite.`,
          );
        }
        if (!chol.isPositiveDefinite()) throw new DlvmError(`${fn}: the covariance of component ${j} is not positive definite; raise regCovar.`);
        const L = chol.lowerTriangularMatrix;
        let ld = 0;
        for (let r = 0; r < d; r++) {
          for (let c = 0; c < d; c++) this.chol[off + r * d + c] = L.get(r, c);
          ld += 2 * Math.log(L.get(r, r));
        }
        this.logDet[j] = ld;
      }
    }
  }

  /** log pi_j + log N(x_i; mu_j, Sigma_j), [N, k] row-major. */
  private weightedLogDensities(rows: Rows): Float64Array {
    const { components: k, dataDim: d } = this;
    const { n, values } = rows;
    const out = new Float64Array(n * k);
    const diff = new Float64Array(d);
    for (let j = 0; j < k; j++) {
      const base = Math.log(this.weights[j]!) - 0.5 * (d * LOG_2PI + this.logDet[j]!);
      for (let i = 0; i < n; i++) {
        let m = 0;
        if (this.covarianceType === 'diag') {
          for (let t = 0; t < d; t++) {
            const z = (values[i * d + t]! - this.means[j * d + t]!) / this.chol[j * d + t]!;
            m += z * z;
          }
        } else {
          const off = j * d * d;
          for (let t = 0; t < d; t++) diff[t] = values[i * d + t]! - this.means[j * d + t]!;
          // Forward substitution L y = x - mu; m = |y|^2 (y overwrites diff).
          for (let r = 0; r < d; r++) {
            let s = diff[r]!;
            for (let c = 0; c < r; c++) s -= this.chol[off + r * d + c]! * diff[c]!;
            const y = s / this.chol[off + r * d + r]!;
            diff[r] = y;
            m += y * y;
          }
        }
        out[i * k + j] = base - 0.5 * m;
      }
    }
    return out;
  }

  /** Per-example log p(x) and the responsibilities [N, k] (normalised in place). */
  private eStep(rows: Rows): { logProb: Float64Array; resp: Float64Array } {
    const k = this.components;
    const resp = this.weightedLogDensities(rows);
    const logProb = new Float64Array(rows.n);
    for (let i = 0; i < rows.n; i++) {
      let max = -Infinity;
      for (let j = 0; j < k; j++) max = Math.max(max, resp[i * k + j]!);
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(resp[i * k + j]! - max);
      const lse = max + Math.log(s);
      logProb[i] = lse;
      for (let j = 0; j < k; j++) resp[i * k + j] = Math.exp(resp[i * k + j]! - lse);
    }
    return { logProb, resp };
  }

  private async rows(fn: string, data: BaselineData, binarize: Binarize = 'none'): Promise<Rows> {
    return rowsOf(fn, data, binarize, [this.dataDim]);
  }

  /** log p(x) per example (float64). */
  async logProb(data: BaselineData, options: { binarize?: Binarize } = {}): Promise<Float64Array> {
    return this.eStep(await this.rows('GaussianMixture.logProb', data, options.binarize)).logProb;
  }

  /** Mean log p(x) over the data, in nats per example. */
  async logLikelihood(data: BaselineData, options: { binarize?: Binarize } = {}): Promise<number> {
    const lp = this.eStep(await this.rows('GaussianMixture.logLikelihood', data, options.binarize)).logProb;
    return lp.reduce((a, b) => a + b, 0) / lp.length;
  }

  /** Posterior component probabilities p(j|x_i), row-major [N, k]. */
  async responsibilities(data: BaselineData, options: { binarize?: Binarize } = {}): Promise<Float64Array> {
    return this.eStep(await this.rows('GaussianMixture.responsibilities', data, options.binarize)).resp;
  }

  /** The most probable component of each example. */
  async predict(data: BaselineData, options: { binarize?: Binarize } = {}): Promise<Int32Array> {
    const r = this.eStep(await this.rows('GaussianMixture.predict', data, options.binarize)).resp;
    const k = this.components;
    return Int32Array.from({ length: r.length / k }, (_, i) => {
      let best = 0;
      for (let j = 1; j < k; j++) if (r[i * k + j]! > r[i * k + best]!) best = j;
      return best;
    });
  }

  /** The mixture as a dlvm distribution (float32): MixtureSameFamily of MVNs or of diagonal Normals. */
  distribution(): MixtureSameFamily {
    const { components: k, dataDim: d } = this;
    // Plain arrays: the distributions own (and free) the tensors they make from them.
    const rows = (a: Float64Array, len: number) => Array.from({ length: a.length / len }, (_, i) => Array.from(a.subarray(i * len, (i + 1) * len)));
    const mix = new Categorical({ probs: Array.from(this.weights) });
    const loc = rows(this.means, d);
    const comp =
      this.covarianceType === 'diag'
        ? new Independent(new Normal(loc, rows(this.chol, d)), 1)
        : new MultivariateNormal(loc, { scaleTril: Array.from({ length: k }, (_, j) => rows(this.chol.subarray(j * d * d, (j + 1) * d * d), d)) });
    return new MixtureSameFamily(mix, comp);
  }

  /** n draws [n, D]. */
  sample(n: number): tf.Tensor {
    positiveInteger('GaussianMixture.sample', 'n', n);
    const dist = this.distribution();
    try {
      return dist.sample([n]);
    } finally {
      dist.dispose();
    }
  }

  /** Parameters as plain arrays (for JSON). */
  parameters(): GmmParameters & { covariance: CovarianceType } {
    const { components: k, dataDim: d } = this;
    const rows = (a: Float64Array, len: number) => Array.from({ length: a.length / len }, (_, i) => Array.from(a.subarray(i * len, (i + 1) * len)));
    return {
      covariance: this.covarianceType,
      weights: Array.from(this.weights),
      means: rows(this.means, d),
      covariances:
        this.covarianceType === 'diag'
          ? rows(this.covariances, d)
          : Array.from({ length: k }, (_, j) => rows(this.covariances.subarray(j * d * d, (j + 1) * d * d), d)),
    };
  }

  /** Fits a mixture by EM; see the class documentation. */
  static async fit(data: BaselineData, options: GmmFitOptions): Promise<GaussianMixture> {
    const fn = 'GaussianMixture.fit';
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { components: 10 }', options);
    const { components: k } = options;
    const covariance = options.covariance ?? 'full';
    const maxIter = options.maxIter ?? 100;
    const tol = options.tol ?? 1e-3;
    const reg = options.regCovar ?? 1e-6;
    positiveInteger(fn, 'options.components', k);
    if (covariance !== 'full' && covariance !== 'diag') throw argError(fn, 'options.covariance', "'full' or 'diag'", covariance);
    positiveInteger(fn, 'options.maxIter', maxIter);
    if (!(tol >= 0)) throw argError(fn, 'options.tol', 'a nonnegative number', tol);
    if (!(reg >= 0)) throw argError(fn, 'options.regCovar', 'a nonnegative number', reg);
    const rows = await rowsOf(fn, data, options.binarize ?? 'none');
    if (rows.n < k) throw argError(fn, 'data', `at least k = ${k} examples`, `${rows.n} examples`);
    let model: GaussianMixture;
    if (options.init !== undefined) {
      model = new GaussianMixture(options.init, covariance);
      if (model.components !== k || model.dataDim !== rows.d) {
        throw argError(fn, 'options.init', `parameters of ${k} components in ${rows.d} dimensions`, `${model.components} components in ${model.dataDim}`);
      }
    } else {
      model = mStep(rows, kmeansResponsibilities(rows, k, options.seed ?? 0), k, covariance, reg);
    }
    let prev = -Infinity;
    const history: number[] = [];
    let converged = false;
    let it = 0;
    while (it < maxIter) {
      it++;
      const { logProb, resp } = model.eStep(rows);
      const ll = logProb.reduce((a, b) => a + b, 0) / rows.n;
      history.push(ll);
      options.onIteration?.(it, ll);
      model = mStep(rows, resp, k, covariance, reg);
      if (Math.abs(ll - prev) < tol) {
        converged = true;
        break;
      }
      prev = ll;
    }
    model.history = history;
    model.converged = converged;
    model.iterations = it;
    return model;
  }
}

/** The M-step: weights, means and covariances (+ reg on the diagonal) from responsibilities [N, k]. */
function mStep(rows: Rows, resp: Float64Array, k: number, covariance: CovarianceType, reg: number): GaussianMixture {
  const { n, d, values } = rows;
  const nk = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) nk[j]! += resp[i * k + j]!;
  for (let j = 0; j < k; j++) nk[j]! += 10 * Number.EPSILON; // as scikit-learn: no empty component divides by 0
  const means = Array.from({ length: k }, () => new Float64Array(d));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const r = resp[i * k + j]!;
      if (r === 0) continue;
      const m = means[j]!;
      for (let t = 0; t < d; t++) m[t]! += r * values[i * d + t]!;
    }
  }
  means.forEach((m, j) => m.forEach((v, t) => (m[t] = v / nk[j]!)));
  const diff = new Float64Array(d);
  let covs: number[][] | number[][][];
  if (covariance === 'diag') {
    const v = Array.from({ length: k }, () => new Float64Array(d));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const r = resp[i * k + j]!;
        if (r === 0) continue;
        for (let t = 0; t < d; t++) {
          const e = values[i * d + t]! - means[j]![t]!;
          v[j]![t]! += r * e * e;
        }
      }
    }
    covs = v.map((row, j) => Array.from(row, (s) => s / nk[j]! + reg));
  } else {
    const c = Array.from({ length: k }, () => new Float64Array(d * d));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const r = resp[i * k + j]!;
        if (r === 0) continue;
        for (let t = 0; t < d; t++) diff[t] = values[i * d + t]! - means[j]![t]!;
        const cj = c[j]!;
        for (let a = 0; a < d; a++) {
          const ra = r * diff[a]!;
          for (let b = 0; b <= a; b++) cj[a * d + b]! += ra * diff[b]!;
        }
      }
    }
    covs = c.map((cj, j) =>
      Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => (a >= b ? cj[a * d + b]! : cj[b * d + a]!) / nk[j]! + (a === b ? reg : 0))),
    );
  }
  const sum = nk.reduce((a, b) => a + b, 0);
  return new GaussianMixture({ weights: Array.from(nk, (v) => v / sum), means: means.map((m) => Array.from(m)), covariances: covs }, covariance);
}

/** Hard responsibilities from k-means++ seeding and Lloyd iterations (at most 100). */
function kmeansResponsibilities(rows: Rows, k: number, seed: number): Float64Array {
  const { n, d, values } = rows;
  const u = mulberry32(seed);
  const centers = new Float64Array(k * d);
  const dist2 = (i: number, c: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const e = values[i * d + t]! - centers[c * d + t]!;
      s += e * e;
    }
    return s;
  };
  // k-means++: the first center uniformly, then each proportionally to the squared distance.
  const first = Math.floor(u() * n);
  for (let t = 0; t < d; t++) centers[t] = values[first * d + t]!;
  const best = new Float64Array(n).fill(Infinity);
  for (let c = 1; c <= k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      best[i] = Math.min(best[i]!, dist2(i, c - 1));
      total += best[i]!;
    }
    if (c === k) break;
    let target = u() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= best[i]!;
      if (target <= 0) {
        pick = i;
        break;
      }
    }
    for (let t = 0; t < d; t++) centers[c * d + t] = values[pick * d + t]!;
  }
  const assign = new Int32Array(n).fill(-1);
  for (let iter = 0; iter < 100; iter++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let arg = 0;
      let min = Infinity;
      for (let c = 0; c < k; c++) {
        const s = dist2(i, c);
        if (s < min) [min, arg] = [s, c];
      }
      if (assign[i] !== arg) {
        assign[i] = arg;
        changed++;
      }
    }
    if (changed === 0) break;
    const counts = new Float64Array(k);
    centers.fill(0);
    for (let i = 0; i < n; i++) {
      counts[assign[i]!]!++;
      for (let t = 0; t < d; t++) centers[assign[i]! * d + t]! += values[i * d + t]!;
    }
    for (let c = 0; c < k; c++) if (counts[c]! > 0) for (let t = 0; t < d; t++) centers[c * d + t]! /= counts[c]!;
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) continue;
      // An empty cluster takes the point farthest from its center.
      let far = 0;
      let farD = -1;
      for (let i = 0; i < n; i++) {
        const s = dist2(i, assign[i]!);
        if (s > farD) [farD, far] = [s, i];
      }
      for (let t = 0; t < d; t++) centers[c * d + t] = values[far * d + t]!;
      assign[far] = c;
    }
  }
  const resp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) resp[i * k + assign[i]!] = 1;
  return resp;
}
