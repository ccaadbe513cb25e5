/**
 * The device samplers of Gamma (shared by Beta, Dirichlet and Chi2), Poisson, Binomial,
 * NegativeBinomial, Multinomial, VonMises, VonMisesFisher and LKJCholesky, and the implicit
 * reparameterisation gradient of Gamma draws, against independent double-precision references:
 * the closed-form moments, Kolmogorov-Smirnov against P(a, x) (gammaPNumber) and chi-square
 * against the Poisson pmf, and dz/da against a five-point central difference of gammaPNumber.
 *
 * Runs on cpu and wasm, and on webgpu in Node (Dawn over its OpenGL ES backend, Mesa's llvmpipe
 * by default; `DLVM_DAWN_FLAGS` picks another) where an adapter can be had, with fewer draws
 * there (shaders compile slowly on a software adapter). Values are read with `await t.data()`
 * only. Seeds are fixed; every tolerance is stated where it is used. Set DLVM_SAMPLER_REPORT=1 to
 * print the statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Beta,
  Binomial,
  checkArgs,
  Dirichlet,
  Gamma,
  initBackend,
  LKJCholesky,
  manualSeed,
  Multinomial,
  NegativeBinomial,
  Poisson,
  VonMises,
  VonMisesFisher,
  type BackendName,
} from '../src/index.js';
import { standardGamma } from '../src/distributions/gamma.js';
import { gammaPNumber, lgammaNumber, standardGammaGrad } from '../src/math/special.js';
import { BACKENDS, expectNoLeak, rng, useBackend } from './helpers/backends.js';

const webgpuOptions = process.env['DLVM_DAWN_FLAGS'] ? {} : { dawnFlags: ['backend=opengles'] };
const webgpu = await initBackend('webgpu', webgpuOptions).then(
  () => true,
  () => false,
);
const TARGETS: BackendName[] = webgpu ? [...BACKENDS, 'webgpu'] : BACKENDS;

const REPORT = process.env['DLVM_SAMPLER_REPORT'] !== undefined;
function report(...parts: unknown[]): void {
  if (REPORT) console.log(...parts);
}

/** Smallest normal float32, the clamp of Gamma draws. */
const TINY = 1.1754943508222875e-38;

async function values(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

/** Column j of a row-major [n, m] array. */
function column(v: number[], m: number, j: number): number[] {
  const out: number[] = [];
  for (let i = j; i < v.length; i += m) out.push(v[i]!);
  return out;
}

function meanVar(x: number[]): [number, number] {
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  return [m, x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1)];
}

/**
 * Kolmogorov-Smirnov distance between the sample and the CDF `F`. A value repeated in the sample
 * is one step of the empirical CDF; at the float32 clamp TINY the distribution itself has an atom
 * (everything below is clamped to it), so its CDF's left limit there is 0.
 */
function ksDistance(sample: number[], F: (x: number) => number): number {
  const x = [...sample].sort((a, b) => a - b);
  const n = x.length;
  let d = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && x[j + 1] === x[i]) j++;
    const f = F(x[i]!);
    const left = x[i] === TINY ? 0 : f;
    d = Math.max(d, Math.abs((j + 1) / n - f), Math.abs(i / n - left));
    i = j + 1;
  }
  return d;
}

/** KS critical value at level 1e-4: P(sqrt(n) D > t) ~ 2 exp(-2 t^2) (Kolmogorov's limit). */
const ksCritical = (n: number) => Math.sqrt(Math.log(2 / 1e-4) / 2) / Math.sqrt(n);

/** The q-quantile of Gamma(a, 1) by bisection of gammaPNumber in log x. */
function gammaQuantile(a: number, q: number): number {
  let lo = Math.log(1e-300);
  let hi = Math.log(a + 60 * Math.sqrt(a) + 60);
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (gammaPNumber(a, Math.exp(mid)) < q) lo = mid;
    else hi = mid;
  }
  return Math.exp(0.5 * (lo + hi));
}

/** The (1 - level) quantile of chi-square with `df` degrees of freedom: P(df/2, x/2) by bisection. */
function chiSquareCritical(df: number, level = 1e-4): number {
  let lo = 0;
  let hi = df + 100 * Math.sqrt(df) + 100;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (gammaPNumber(df / 2, mid / 2) < 1 - level) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Pearson's chi-square of integer draws against a pmf on 0..kMax (float64), on bins of consecutive
 * counts holding at least 5 expected draws each (the outer bins take the tails).
 */
function countChiSquare(sample: number[], pmf: (k: number) => number, kMax: number): { stat: number; df: number } {
  const n = sample.length;
  const edges: number[] = []; // upper count of each bin
  let acc = 0;
  for (let k = 0; k <= kMax; k++) {
    acc += pmf(k) * n;
    if (acc >= 5) {
      edges.push(k);
      acc = 0;
    }
  }
  edges[edges.length - 1] = Infinity; // leftover mass joins the last bin
  const expected = edges.map(() => 0);
  let b = 0;
  for (let k = 0; k <= kMax; k++) {
    while (k > edges[b]!) b++;
    expected[b]! += pmf(k) * n;
  }
  // The last bin is the upper tail: n - the rest, so the expectations sum to n.
  expected[expected.length - 1] = n - expected.slice(0, -1).reduce((s, v) => s + v, 0);
  const observed = edges.map(() => 0);
  for (const k of sample) {
    let i = 0;
    while (k > edges[i]!) i++;
    observed[i]!++;
  }
  const stat = observed.reduce((s, o, i) => s + (o - expected[i]!) ** 2 / expected[i]!, 0);
  return { stat, df: edges.length - 1 };
}

/** Chi-square against Poisson(rate). */
function poissonChiSquare(sample: number[], rate: number): { stat: number; df: number } {
  const pmf = (k: number) => Math.exp(k * Math.log(rate) - rate - lgammaNumber(k + 1));
  return countChiSquare(sample, pmf, Math.ceil(rate + 30 * Math.sqrt(rate) + 30));
}

/** log C(n, k) p^k (1 - p)^(n - k) in float64 (0 log 0 = 0). */
function binomialLogPmf(k: number, n: number, p: number): number {
  const xlogy = (x: number, y: number) => (x === 0 ? 0 : x * Math.log(y));
  return lgammaNumber(n + 1) - lgammaNumber(k + 1) - lgammaNumber(n - k + 1) + xlogy(k, p) + xlogy(n - k, 1 - p);
}

/**
 * The reference dz/da = -(dP/da)(a, z) / f(z; a) in double precision: dP/da by the five-point
 * central difference of gammaPNumber with h = 1e-4 a (truncation O(h^4); against mpmath at 40
 * digits this reference is within 4e-8 relative over the grid below, alpha 0.01-10000, quantiles
 * 1e-4 to 0.9999), f from lgammaNumber.
 */
function referenceGrad(a: number, z: number): number {
  const h = 1e-4 * a;
  const P = (s: number) => gammaPNumber(a + s * h, z);
  const dP = (-P(2) + 8 * P(1) - 8 * P(-1) + P(-2)) / (12 * h);
  return -dP / Math.exp((a - 1) * Math.log(z) - z - lgammaNumber(a));
}

/** Which expansion standardGammaGrad uses at (a, z) (for the per-region report). */
function gradRegion(a: number, z: number): 'series' | 'continued fraction' | 'temme' {
  if (a >= 8) return 'temme';
  return z < Math.max(a, 2) ? 'series' : 'continued fraction';
}

const GRID_ALPHAS = [0.05, 0.3, 1, 2.5, 7, 9, 30, 200, 5000];
const GRID_QUANTILES = [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999];

describe.each(TARGETS)('device samplers on %s', (backend) => {
  let tensorsBefore = 0;
  beforeAll(async () => {
    await useBackend(backend);
    await checkArgs();
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(async () => {
    // Every test frees what it makes.
    await checkArgs();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
  // Fewer draws on the software GPU adapter; the tests scale their tolerances with n.
  const n = backend === 'webgpu' ? 4000 : 20000;

  it('Gamma draws: mean and variance within 6 standard errors, KS against P(a, x)', async () => {
    // Gamma(a, 2) for a across the boost (< 1), small, moderate and large regimes: mean a/2 and
    // variance a/4, the variance's standard error from the fourth central moment 3a^2 + 6a of
    // Gamma(a, 1): sqrt((2a^2 + 6a) / n) / 4. KS at level 1e-4 against P(a, 2x).
    const alphas = [0.05, 0.3, 1, 2.5, 9, 200, 5000];
    manualSeed(11);
    const gamma = new Gamma(alphas, 2);
    const z = await values(gamma.sample([n])); // [n, 7]
    gamma.dispose();
    manualSeed(null);
    const ks: string[] = [];
    alphas.forEach((a, j) => {
      const x = column(z, alphas.length, j);
      const [m, v] = meanVar(x);
      expect(Math.abs(m - a / 2), `mean, a = ${a}`).toBeLessThanOrEqual(6 * Math.sqrt(a / 4 / n));
      expect(Math.abs(v - a / 4), `variance, a = ${a}`).toBeLessThanOrEqual((6 * Math.sqrt((2 * a * a + 6 * a) / n)) / 4);
      const d = ksDistance(x, (t) => gammaPNumber(a, 2 * t));
      ks.push(`a=${a}: D=${d.toFixed(4)}`);
      expect(d, `KS, a = ${a}`).toBeLessThan(ksCritical(n));
      expect(Math.min(...x)).toBeGreaterThanOrEqual(TINY / 2);
    });
    report(`${backend} Gamma KS (n=${n}, critical ${ksCritical(n).toFixed(4)}):`, ks.join(', '));
  });

  it('Beta and Dirichlet draws (through standardGamma): moments within 6 standard errors', async () => {
    manualSeed(12);
    // Beta(0.4, 2.5): mean a/(a+b), variance ab/((a+b)^2 (a+b+1)); the draws lie in [0, 1], so
    // their variance's standard error is at most sqrt(var / n).
    const [a, b] = [0.4, 2.5];
    const beta = new Beta(a, b);
    const x = await values(beta.sample([n]));
    beta.dispose();
    const [m, v] = meanVar(x);
    const mean = a / (a + b);
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    expect(Math.abs(m - mean)).toBeLessThanOrEqual(6 * Math.sqrt(variance / n));
    expect(Math.abs(v - variance)).toBeLessThanOrEqual(6 * Math.sqrt(variance / n));
    // Dirichlet(0.5, 3, 40): component means a_i / A, variances a_i (A - a_i) / (A^2 (A + 1)).
    const alpha = [0.5, 3, 40];
    const A = alpha.reduce((s, t) => s + t, 0);
    const dirichlet = new Dirichlet(alpha);
    const d = await values(dirichlet.sample([n]));
    dirichlet.dispose();
    alpha.forEach((ai, j) => {
      const [mj, vj] = meanVar(column(d, 3, j));
      const varj = (ai * (A - ai)) / (A * A * (A + 1));
      expect(Math.abs(mj - ai / A), `Dirichlet mean ${j}`).toBeLessThanOrEqual(6 * Math.sqrt(varj / n));
      expect(Math.abs(vj - varj), `Dirichlet variance ${j}`).toBeLessThanOrEqual(6 * Math.sqrt(varj / n));
    });
    manualSeed(null);
  });

  it('Poisson draws: integers, mean and variance within 6 standard errors, chi-square against the pmf', async () => {
    // Rates on both sides of the switch at 10 (inversion below, PTRS above) and large ones.
    // Variance's standard error from the fourth central moment rate + 3 rate^2: sqrt((rate +
    // 2 rate^2) / n). Chi-square at level 1e-4 on bins of >= 5 expected draws.
    const rates = [0, 0.05, 1, 4, 9.99, 10, 30, 1000, 1e5];
    manualSeed(13);
    const poisson = new Poisson(rates);
    const k = await values(poisson.sample([n])); // [n, 9]
    poisson.dispose();
    manualSeed(null);
    expect(k.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
    const chi: string[] = [];
    rates.forEach((r, j) => {
      const x = column(k, rates.length, j);
      if (r === 0) {
        expect(x.every((v) => v === 0)).toBe(true);
        return;
      }
      const [m, v] = meanVar(x);
      expect(Math.abs(m - r), `mean, rate = ${r}`).toBeLessThanOrEqual(6 * Math.sqrt(r / n));
      expect(Math.abs(v - r), `variance, rate = ${r}`).toBeLessThanOrEqual(6 * Math.sqrt((r + 2 * r * r) / n));
      const { stat, df } = poissonChiSquare(x, r);
      const critical = chiSquareCritical(df);
      chi.push(`rate=${r}: X2=${stat.toFixed(1)} df=${df} (crit ${critical.toFixed(1)})`);
      expect(stat, `chi-square, rate = ${r}`).toBeLessThan(critical);
    });
    report(`${backend} Poisson chi-square (n=${n}):`, chi.join(', '));
  });

  it('Binomial draws: integers in 0..n, mean and variance within 6 standard errors, chi-square against the pmf', async () => {
    // Both methods (inversion for n min(p, q) < 10, BTRS above), the reflection for p > 1/2, and
    // the edges p = 0, p = 1, n = 0. Variance's standard error from the fourth central moment
    // mu4 = npq (1 + 3 (n - 2) pq). Chi-square at level 1e-4.
    const cases: Array<[number, number]> = [
      [0, 0.3],
      [1, 0.5],
      [10, 0.05],
      [19, 0.5],
      [20, 0.5],
      [100, 0.9],
      [1000, 0.999],
      [400, 0.3],
      [1e5, 0.3],
      [50, 1],
      [7, 0],
    ];
    manualSeed(17);
    const d = new Binomial({ totalCount: cases.map((c) => c[0]), probs: cases.map((c) => c[1]) });
    const k = await values(d.sample([n]));
    d.dispose();
    manualSeed(null);
    const chi: string[] = [];
    cases.forEach(([total, p], j) => {
      const x = column(k, cases.length, j);
      expect(
        x.every((v) => Number.isInteger(v) && v >= 0 && v <= total),
        `range, n = ${total}, p = ${p}`,
      ).toBe(true);
      if (p === 0 || p === 1 || total === 0) {
        expect(x.every((v) => v === total * p)).toBe(true);
        return;
      }
      const [m, v] = meanVar(x);
      const pq = p * (1 - p);
      const variance = total * pq;
      const mu4 = variance * (1 + 3 * (total - 2) * pq);
      expect(Math.abs(m - total * p), `mean, n = ${total}, p = ${p}`).toBeLessThanOrEqual(6 * Math.sqrt(variance / n));
      // Var(s^2) = (mu4 - var^2 (n - 3) / (n - 1)) / n, exact for the unbiased sample variance.
      const seVar = Math.sqrt((mu4 - (variance ** 2 * (n - 3)) / (n - 1)) / n);
      expect(Math.abs(v - variance), `variance, n = ${total}, p = ${p}`).toBeLessThanOrEqual(6 * seVar);
      const { stat, df } = countChiSquare(x, (i) => Math.exp(binomialLogPmf(i, total, p)), total);
      const critical = chiSquareCritical(df);
      chi.push(`n=${total} p=${p}: X2=${stat.toFixed(1)} df=${df} (crit ${critical.toFixed(1)})`);
      expect(stat, `chi-square, n = ${total}, p = ${p}`).toBeLessThan(critical);
    });
    report(`${backend} Binomial chi-square (n=${n}):`, chi.join(', '));
  });

  it('NegativeBinomial draws (Gamma-Poisson): mean and variance within 6 standard errors, chi-square against the pmf', async () => {
    // P(k) = Gamma(k + r) / (Gamma(r) k!) p^k q^r; mean r p / q, variance r p / q^2, and the
    // variance's standard error sqrt((mu4 - var^2) / n) = var sqrt((2 + g2) / n) from the excess
    // kurtosis g2 = 6 / r + q^2 / (r p). r = 0 is the point mass at 0.
    const cases: Array<[number, number]> = [
      [0.5, 0.3],
      [3, 0.6],
      [50, 0.2],
      [1000, 0.9],
      [0, 0.5],
    ];
    manualSeed(19);
    const d = new NegativeBinomial({ totalCount: cases.map((c) => c[0]), probs: cases.map((c) => c[1]) });
    const k = await values(d.sample([n]));
    d.dispose();
    manualSeed(null);
    const chi: string[] = [];
    cases.forEach(([r, p], j) => {
      const x = column(k, cases.length, j);
      expect(x.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
      if (r === 0) {
        expect(x.every((v) => v === 0)).toBe(true);
        return;
      }
      const q = 1 - p;
      const mean = (r * p) / q;
      const variance = mean / q;
      const [m, v] = meanVar(x);
      expect(Math.abs(m - mean), `mean, r = ${r}, p = ${p}`).toBeLessThanOrEqual(6 * Math.sqrt(variance / n));
      const excessKurtosis = 6 / r + (q * q) / (r * p);
      expect(Math.abs(v - variance), `variance, r = ${r}, p = ${p}`).toBeLessThanOrEqual(6 * variance * Math.sqrt((2 + excessKurtosis) / n));
      const pmf = (i: number) => Math.exp(lgammaNumber(i + r) - lgammaNumber(i + 1) - lgammaNumber(r) + i * Math.log(p) + r * Math.log(q));
      const { stat, df } = countChiSquare(x, pmf, Math.ceil(mean + 40 * Math.sqrt(variance) + 40));
      const critical = chiSquareCritical(df);
      chi.push(`r=${r} p=${p}: X2=${stat.toFixed(1)} df=${df} (crit ${critical.toFixed(1)})`);
      expect(stat, `chi-square, r = ${r}, p = ${p}`).toBeLessThan(critical);
    });
    report(`${backend} NegativeBinomial chi-square (n=${n}):`, chi.join(', '));
  });

  it('Multinomial draws: counts sum to totalCount, each class is Binomial(n, p_i) by chi-square', async () => {
    const probs = [0.05, 0.15, 0.3, 0.5];
    const total = 30;
    manualSeed(23);
    const d = new Multinomial({ totalCount: total, probs });
    const draws = Math.min(n, 8000);
    const x = await values(d.sample([draws]));
    d.dispose();
    manualSeed(null);
    for (let i = 0; i < draws; i++) expect(x.slice(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0)).toBe(total);
    probs.forEach((p, j) => {
      const c = column(x, 4, j);
      const { stat, df } = countChiSquare(c, (i) => Math.exp(binomialLogPmf(i, total, p)), total);
      expect(stat, `class ${j}`).toBeLessThan(chiSquareCritical(df));
    });
  });

  it('VonMises draws: in [-pi, pi), circular mean and E[cos] = I1/I0 within 6 standard errors, KS against the numerical cdf', async () => {
    // Concentrations across the range, to 1e8 (where 1 - cos(x - loc) is 1e-8)
    // and locations near the wrap. The cdf of the angle d = x - loc (wrapped) by the trapezoid
    // rule on 2e5 intervals of exp(kappa (cos t - 1)), in float64; KS at level 1e-4.
    const kappas = [1e-3, 0.5, 1, 4, 30, 1000, 5e4, 1e8];
    const locs = [0.3, -3, 3.1, 1, -0.5, 2, -3.14, 0];
    manualSeed(29);
    const d = new VonMises(locs, kappas);
    const x = await values(d.sample([n]));
    const cv = await values(d.variance); // 1 - I1 / I0
    d.dispose();
    manualSeed(null);
    const pi32 = Math.fround(Math.PI); // pi as the float32 the draws are compared with
    const outside = x.filter((v) => !(v >= -pi32 && v < pi32));
    expect(outside, 'draws outside [-pi, pi)').toEqual([]);
    const ks: string[] = [];
    kappas.forEach((kappa, j) => {
      const dev = column(x, kappas.length, j).map((v) => Math.atan2(Math.sin(v - locs[j]!), Math.cos(v - locs[j]!)));
      const cosMean = dev.reduce((a, t) => a + Math.cos(t), 0) / n;
      const sinMean = dev.reduce((a, t) => a + Math.sin(t), 0) / n;
      const r = 1 - cv[j]!;
      // Var[cos d] = (1 + I2/I0) / 2 - r^2 <= 1, Var[sin d] = (1 - I2/I0) / 2 <= 1/2 (bounded by 1 here).
      expect(Math.abs(cosMean - r), `E[cos], kappa = ${kappa}`).toBeLessThanOrEqual(6 / Math.sqrt(n) + 1e-6);
      expect(Math.abs(sinMean), `E[sin], kappa = ${kappa}`).toBeLessThanOrEqual(6 / Math.sqrt(n));
      const m = 200000;
      const grid = Array.from({ length: m + 1 }, (_, i) => -Math.PI + (2 * Math.PI * i) / m);
      const cdf = new Float64Array(m + 1);
      for (let i = 1; i <= m; i++) {
        const f = (t: number) => Math.exp(kappa * (Math.cos(t) - 1));
        cdf[i] = cdf[i - 1]! + 0.5 * (f(grid[i - 1]!) + f(grid[i]!));
      }
      const total = cdf[m]!;
      const F = (t: number) => {
        const u = ((t + Math.PI) / (2 * Math.PI)) * m;
        const i = Math.min(m - 1, Math.max(0, Math.floor(u)));
        return (cdf[i]! + (u - i) * (cdf[i + 1]! - cdf[i]!)) / total;
      };
      const dist = ksDistance(dev, F);
      ks.push(`kappa=${kappa}: D=${dist.toFixed(4)}`);
      expect(dist, `KS, kappa = ${kappa}`).toBeLessThan(ksCritical(n));
    });
    report(`${backend} VonMises KS (n=${n}, crit ${ksCritical(n).toFixed(4)}):`, ks.join(', '));
  });

  it('VonMisesFisher draws: unit vectors, E[loc^T z] = A_m(kappa) within 6 standard errors, KS of the angle to loc against its numerical cdf', async () => {
    // The angle t = acos(loc^T z) has density proportional to e^(kappa cos t) sin^(m-2) t on [0, pi]
    // (smooth for every m >= 2); its cdf by the trapezoid rule on 2e5 intervals, in float64.
    // m = 3 is drawn by exact inversion, the others by Wood's rejection sampler (m = 2 with arcsine
    // Beta draws, 5 and 10 with chi-square sums, 40 from Gamma draws).
    const draws = backend === 'webgpu' ? 2000 : 8000;
    const configs: Array<[number, number]> = [
      [2, 30],
      [3, 0.5],
      [3, 1e4],
      [5, 10],
      [10, 1],
      [10, 300],
      [40, 60],
    ];
    const ks: string[] = [];
    for (const [m, kappa] of configs) {
      const loc = Array.from({ length: m }, (_, i) => (i === m - 1 ? 0.6 : i === 0 ? -0.8 : 0));
      manualSeed(31 + m);
      const d = new VonMisesFisher(loc, kappa);
      const z = await values(d.sample([draws]));
      const mean = await values(d.mean);
      d.dispose();
      manualSeed(null);
      const a = mean.reduce((acc, v, i) => acc + v * loc[i]!, 0); // A_m(kappa)
      const dots: number[] = [];
      for (let r = 0; r < draws; r++) {
        const row = z.slice(r * m, (r + 1) * m);
        expect(Math.abs(Math.hypot(...row) - 1), `unit norm, m = ${m}`).toBeLessThan(1e-5);
        dots.push(row.reduce((acc, v, i) => acc + v * loc[i]!, 0));
      }
      const [mw, vw] = meanVar(dots);
      expect(Math.abs(mw - a), `E[loc^T z], m = ${m}, kappa = ${kappa}`).toBeLessThanOrEqual(6 * Math.sqrt(vw / draws) + 1e-6);
      const n = 200000;
      const cdf = new Float64Array(n + 1);
      const f = (t: number) => Math.exp(kappa * (Math.cos(t) - 1) + (m - 2) * Math.log(Math.max(Math.sin(t), 1e-300)));
      for (let i = 1; i <= n; i++) cdf[i] = cdf[i - 1]! + 0.5 * (f((Math.PI * (i - 1)) / n) + f((Math.PI * i) / n));
      const F = (t: number) => {
        const u = (t / Math.PI) * n;
        const i = Math.min(n - 1, Math.max(0, Math.floor(u)));
        return (cdf[i]! + (u - i) * (cdf[i + 1]! - cdf[i]!)) / cdf[n]!;
      };
      // The angle from the distance |z - loc| (exact near 0, where acos of a dot product near 1 is not).
      const angles = dots.map((c, r) => {
        const row = z.slice(r * m, (r + 1) * m);
        const chord = Math.hypot(...row.map((v, i) => v - loc[i]!));
        return c > 0 ? 2 * Math.asin(Math.min(1, chord / 2)) : Math.acos(Math.max(-1, c));
      });
      const dist = ksDistance(angles, F);
      ks.push(`m=${m} kappa=${kappa}: D=${dist.toFixed(4)}`);
      expect(dist, `KS, m = ${m}, kappa = ${kappa}`).toBeLessThan(ksCritical(draws));
    }
    report(`${backend} VonMisesFisher KS (n=${draws}, crit ${ksCritical(draws).toFixed(4)}):`, ks.join(', '));
  });

  it('LKJCholesky draws: L L^T has unit diagonal, and each correlation is 2 Beta(b, b) - 1 with b = eta - 1 + D/2 (mean 0, variance 1/(2b + 1))', async () => {
    const draws = backend === 'webgpu' ? 2000 : 8000;
    for (const [dim, eta] of [
      [2, 1],
      [3, 0.5],
      [4, 3],
    ] as const) {
      manualSeed(41 + dim);
      const d = new LKJCholesky(dim, eta);
      const l = d.sample([draws]);
      const c = await values(tf.matMul(l, l, false, true));
      l.dispose();
      d.dispose();
      manualSeed(null);
      const b = eta - 1 + dim / 2;
      for (let i = 0; i < dim; i++) {
        for (let j = 0; j <= i; j++) {
          const r = Array.from({ length: draws }, (_, k) => c[k * dim * dim + i * dim + j]!);
          if (i === j) {
            expect(
              r.every((v) => Math.abs(v - 1) < 1e-5),
              `diagonal, D = ${dim}`,
            ).toBe(true);
            continue;
          }
          const [m, v] = meanVar(r);
          const variance = 1 / (2 * b + 1);
          // Var of the sample variance from the fourth moment of 2 Beta(b, b) - 1: 3 / ((2b + 1)(2b + 3)).
          const m4 = 3 / ((2 * b + 1) * (2 * b + 3));
          expect(Math.abs(m), `mean of r_${i}${j}, D = ${dim}, eta = ${eta}`).toBeLessThanOrEqual(6 * Math.sqrt(variance / draws));
          expect(Math.abs(v - variance), `variance of r_${i}${j}, D = ${dim}, eta = ${eta}`).toBeLessThanOrEqual(6 * Math.sqrt((m4 - variance ** 2) / draws));
        }
      }
    }
  });

  it('dz/da on a grid of (a, quantile) matches the float64 central difference of P(a, z)', async () => {
    // Grid: a in GRID_ALPHAS, z at the quantiles GRID_QUANTILES (rounded to float32; those below
    // 1e-30, which occur only for a = 0.05, are skipped). Tolerance 1e-5 relative in every
    // region (measured on cpu and wasm: at most ~1.5e-6).
    const pts: [number, number][] = [];
    for (const a0 of GRID_ALPHAS) {
      const a = Math.fround(a0);
      for (const q of GRID_QUANTILES) {
        const z = Math.fround(gammaQuantile(a, q));
        if (z >= 1e-30) pts.push([a, z]);
      }
    }
    const [alpha, z] = [tf.tensor1d(pts.map((p) => p[0])), tf.tensor1d(pts.map((p) => p[1]))];
    const g = await values(standardGammaGrad(alpha, z));
    tf.dispose([alpha, z]);
    const worst: Record<string, { err: number; at: string }> = {};
    pts.forEach(([a, z], i) => {
      const ref = referenceGrad(a, z);
      const err = Math.abs(g[i]! / ref - 1);
      const region = gradRegion(a, z);
      if (!(worst[region] !== undefined && worst[region]!.err >= err)) worst[region] = { err, at: `a=${a} z=${z.toPrecision(4)}` };
      expect(err, `dz/da at a = ${a}, z = ${z}: ${g[i]} vs ${ref}`).toBeLessThan(1e-5);
    });
    expect(Object.keys(worst).sort()).toEqual(['continued fraction', 'series', 'temme']);
    report(
      `${backend} dz/da max rel. error (${pts.length} points):`,
      Object.entries(worst)
        .map(([r, w]) => `${r} ${w.err.toExponential(2)} (${w.at})`)
        .join('; '),
    );
  });

  it('dz/da is finite and >= 0 far outside the grid (a 1e-4..1e6, z from the float32 clamp to 1e7)', async () => {
    // Gamma draws increase with a, so dz/da > 0; in the far tails float32 may round it to 0.
    const u = rng(3);
    const a = Array.from({ length: 2000 }, () => 10 ** (-4 + 10 * u()));
    const z = Array.from({ length: 2000 }, () => Math.max(TINY, 10 ** (-38 + 45 * u())));
    const [ta, tz] = [tf.tensor1d(a), tf.tensor1d(z)];
    const g = await values(standardGammaGrad(ta, tz));
    tf.dispose([ta, tz]);
    g.forEach((v, i) => expect(Number.isFinite(v) && v >= 0, `a = ${a[i]}, z = ${z[i]}: ${v}`).toBe(true));
  });

  it('E[dz/da] for Gamma(a, rate) = d/da E[z] = 1/rate by Monte Carlo, and tf.grad through rsample agrees', async () => {
    // Per-draw gradients g_i = dz_i/da: their mean within 6 standard errors of 1/rate; and the
    // gradient of mean(rsample) (same seed, so the same draws) equals mean(g_i) to 1e-4.
    const alphas = [0.05, 0.3, 2.5, 30, 5000];
    const rate = 2;
    manualSeed(14);
    const alpha = tf.tensor1d(alphas);
    const zRaw = tf.tidy(() => standardGamma(tf.broadcastTo(alpha, [n, alphas.length]))); // [n, 5]
    const z = await values(zRaw.clone());
    const perDraw = await values(tf.tidy(() => tf.div(standardGammaGrad(alpha, zRaw), rate)));
    tf.dispose([alpha, zRaw]);
    manualSeed(14);
    const conc = tf.tensor1d(alphas);
    const viaGrad = await values(tf.grad((c: tf.Tensor) => tf.sum(tf.mean(tf.mul(standardGamma(tf.broadcastTo(c, [n, alphas.length])), 1 / rate), 0)))(conc));
    conc.dispose();
    manualSeed(null);
    expect(z.every((v) => v > 0)).toBe(true);
    alphas.forEach((a, j) => {
      const [m, v] = meanVar(column(perDraw, alphas.length, j));
      report(`${backend} E[dz/da] a=${a}: ${m.toFixed(5)} +- ${Math.sqrt(v / n).toFixed(5)} (expect ${1 / rate})`);
      expect(Math.abs(m - 1 / rate), `E[dz/da], a = ${a}`).toBeLessThanOrEqual(6 * Math.sqrt(v / n));
      expect(Math.abs(viaGrad[j]! - m), `tf.grad, a = ${a}`).toBeLessThanOrEqual(1e-4 * Math.abs(m));
    });
    // The same through the public Gamma(concentration, rate).rsample.
    manualSeed(15);
    const conc2 = tf.tensor1d([0.5, 3]);
    const gradA = await values(tf.grad((c: tf.Tensor) => tf.sum(tf.mean(new Gamma(c, rate).rsample([n]), 0)))(conc2));
    // (the Gamma made inside tf.grad is freed with the gradient's intermediates)
    conc2.dispose();
    manualSeed(null);
    expect(Math.abs(gradA[0]! - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(gradA[1]! - 0.5)).toBeLessThan(0.05);
  });

  it('manualSeed makes Gamma, Beta and Poisson draws reproducible', async () => {
    const dists = [new Gamma([0.3, 4, 300], 1), new Beta(0.7, 2), new Poisson([0.5, 7, 50, 2e4])];
    const draw = async (seed: number) => {
      manualSeed(seed);
      const out: number[][] = [];
      for (const d of dists) out.push(await values(d.sample([64])));
      manualSeed(null);
      return out;
    };
    const a = await draw(5);
    const b = await draw(5);
    const c = await draw(6);
    dists.forEach((d) => d.dispose());
    expect(b).toEqual(a);
    a.forEach((x, i) => expect(c[i]).not.toEqual(x));
  });

  it('shapes, and no tensors leaked by sampling and gradients', async () => {
    await expectNoLeak(async () => {
      const concentration = tf.tensor2d([
        [0.5, 2, 9],
        [30, 0.1, 1],
      ]);
      const g = new Gamma(concentration, 1.5);
      const s = g.rsample([4]);
      expect(s.shape).toEqual([4, 2, 3]);
      const rates = tf.tensor2d([
        [0, 3],
        [12, 500],
      ]);
      const p = new Poisson(rates);
      const k = p.sample([5]);
      expect(k.shape).toEqual([5, 2, 2]);
      const conc = tf.tensor1d([0.5, 12]);
      const gr = tf.grad((c: tf.Tensor) => tf.sum(new Gamma(c, 1).rsample([8])))(conc);
      expect(gr.shape).toEqual([2]);
      const [alpha, z] = [tf.scalar(3), tf.tensor1d([0.5, 2, 9])];
      const grad = standardGammaGrad(alpha, z);
      expect(grad.shape).toEqual([3]);
      for (const t of [s, k, gr, grad]) expect((await values(t)).every(Number.isFinite)).toBe(true);
      tf.dispose([concentration, rates, conc, alpha, z]);
      g.dispose();
      p.dispose();
    });
  });
});
