/**
 * Identities every distribution must satisfy, independent of any reference implementation:
 * shapes, sample moments, KL(p, p) = 0, analytic KL = Monte Carlo KL, mixture and Independent
 * log-probabilities as formulas, rsample gradients = derivatives of closed-form expectations,
 * no tensor leaks. Fixed seeds; each tolerance is stated where it is used.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  constraints,
  checkArgs,
  Beta,
  Categorical,
  Cauchy,
  Chi2,
  FisherSnedecor,
  Gumbel,
  HalfCauchy,
  HalfNormal,
  Kumaraswamy,
  Pareto,
  StudentT,
  Weibull,
  InverseGamma,
  TruncatedNormal,
  VonMisesFisher,
  Wishart,
  GeneralizedPareto,
  OneHotCategoricalStraightThrough,
  ContinuousBernoulli,
  Dirichlet,
  Distribution,
  Exponential,
  Gamma,
  Independent,
  Laplace,
  LowRankMultivariateNormal,
  manualSeed,
  MixtureSameFamily,
  monteCarloKL,
  MultivariateNormal,
  Normal,
  Uniform,
  klDivergence,
} from '../src/index.js';
import { BACKENDS, expectClose, expectNoLeak, useBackend, take } from './helpers/backends.js';
import { build, fixtures, flat } from './helpers/fixtures.js';

/**
 * Cases whose sample moments are checked (finite mean and variance, light enough tails; not the
 * circular VonMises, whose variance is the circular one: test/samplers.device.test.ts).
 */
const MOMENT_CASES = fixtures.cases.filter(
  (c) =>
    c.mean !== undefined &&
    c.variance !== undefined &&
    flat(c.mean).every(Number.isFinite) &&
    !/extreme|LogNormal|Poisson random|Transformed|VonMises/.test(c.name),
);

describe.each(BACKENDS)('distribution identities on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(fixtures.cases.map((c) => [c.name, c] as const))('shapes and no leaks: %s', async (_n, c) => {
    await expectNoLeak(() => {
      const d = build(c.spec);
      const full = [...d.batchShape, ...d.eventShape];
      const s0 = d.sample();
      const s = d.sample([4, 2]);
      expect(s0.shape).toEqual(full);
      expect(s.shape).toEqual([4, 2, ...full]);
      const lp = d.logProb(s);
      expect(lp.shape).toEqual([4, 2, ...d.batchShape]);
      expect(take(lp).every((v) => !Number.isNaN(v))).toBe(true);
      if (d.hasRsample) expect(take(d.rsample([3])).length).toBe(3 * full.reduce((a, b) => a * b, 1));
      else expect(() => d.rsample()).toThrow(/no reparameterised sampler/);
      const e = d.expand([5, ...d.batchShape]);
      expect(e.batchShape).toEqual([5, ...d.batchShape]);
      expect(e.eventShape).toEqual(d.eventShape);
      const le = e.logProb(s0);
      expect(le.shape).toEqual([5, ...d.batchShape]);
      // Every copy in the expanded batch gives the original log-probability.
      const lp0 = take(d.logProb(s0));
      expectClose(take(le), Array.from({ length: 5 }, () => lp0).flat(), { rtol: 1e-6, atol: 1e-6, label: 'expand' });
      e.dispose();
      tf.dispose([s0, s]);
      d.dispose();
    });
  });

  it.each(MOMENT_CASES.map((c) => [c.name, c] as const))('sample moments: %s', (_n, c) => {
    // 20000 draws: means within 6 standard errors, variances within 6 standard errors of the
    // sample variance, sqrt((m4 - v^2) / n) with m4 the sample's fourth central moment (+1e-4).
    manualSeed(1234);
    const n = 20000;
    const d = build(c.spec);
    const x = d.sample([n]);
    const m = take(tf.mean(x, 0));
    const v = take(tf.moments(x, 0).variance);
    const m4 = take(tf.mean(tf.pow(tf.sub(x, tf.mean(x, 0)), 4), 0));
    const mean = flat(c.mean!);
    const variance = flat(c.variance!);
    for (let i = 0; i < mean.length; i++) {
      const se = Math.sqrt(variance[i]! / n);
      expect(Math.abs(m[i]! - mean[i]!), `${c.name} mean[${i}]`).toBeLessThanOrEqual(6 * se + 1e-4);
      const seVar = Math.sqrt(Math.max(m4[i]! - v[i]! ** 2, 0) / n);
      expect(Math.abs(v[i]! - variance[i]!), `${c.name} variance[${i}]`).toBeLessThanOrEqual(6 * seVar + 1e-4);
    }
    x.dispose();
    d.dispose();
    manualSeed(null);
  });

  it.each(fixtures.kl.map((k, i) => [`${i} ${k.p.family} || ${k.q.family}`, k] as const))(
    'KL(p, p) = 0, and analytic KL = Monte Carlo KL: %s',
    async (_n, k) => {
      manualSeed(99);
      await checkArgs();
      const before = tf.memory().numTensors;
      const p = build(k.p);
      const q = build(k.q);
      const self = take(klDivergence(p, p));
      expectClose(
        self,
        self.map(() => 0),
        { rtol: 0, atol: 2e-5, label: 'KL(p, p)' },
      );
      const analytic = take(klDivergence(p, q));
      expect(analytic.every((v) => v >= -1e-5)).toBe(true);
      // Monte Carlo needs finite log-ratios on p's draws: not for the extreme-parameter pairs, whose
      // draws round to the edge of the support in float32 (Beta(0.1, 0.2) gives exact 0s and 1s).
      const extreme = k.note?.startsWith('extreme') ?? false;
      if (!extreme && analytic.every(Number.isFinite) && p.batchShape.length > 0) {
        // log p(x) - log q(x) for 20000 draws of p: within 6 standard errors (+2e-3).
        const n = 20000;
        const [mean, variance] = tf.tidy(() => {
          const x = p.sample([n]);
          const mo = tf.moments(tf.sub(p.logProb(x), q.logProb(x)), 0);
          return [mo.mean, mo.variance];
        });
        const m = take(mean!);
        const se = take(variance!).map((s) => Math.sqrt(s / n));
        analytic.forEach((a, i) => expect(Math.abs(m[i]! - a), `KL[${i}]`).toBeLessThanOrEqual(6 * se[i]! + 2e-3));
        const est = take(monteCarloKL(p, q, n));
        analytic.forEach((a, i) => expect(Math.abs(est[i]! - a), `monteCarloKL[${i}]`).toBeLessThanOrEqual(6 * se[i]! + 2e-3));
      }
      p.dispose();
      q.dispose();
      // klDivergence, monteCarloKL, sample and logProb leave nothing behind.
      await checkArgs();
      expect(tf.memory().numTensors).toBe(before);
      manualSeed(null);
    },
  );

  it('MixtureSameFamily.logProb = log sum_k pi_k p_k(x), computed in float64', () => {
    const logits = [0.3, -1.2, 0.8];
    const loc = [-2, 0.5, 3];
    const scale = [0.7, 1.5, 0.4];
    const xs = [-3, -1, 0, 0.7, 2.9, 6];
    const mix = new MixtureSameFamily(new Categorical({ logits }), new Normal(loc, scale));
    const got = take(mix.logProb(xs));
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    const expected = xs.map((x) =>
      Math.log(
        logits.reduce((s, l, k) => {
          const d = (x - loc[k]!) / scale[k]!;
          return s + ((Math.exp(l) / z) * Math.exp(-0.5 * d * d)) / (scale[k]! * Math.sqrt(2 * Math.PI));
        }, 0),
      ),
    );
    expectClose(got, expected, { rtol: 1e-5, atol: 1e-5, label: 'mixture logProb' });
    mix.dispose();
  });

  it('Independent.logProb sums the reinterpreted rightmost dimensions', () => {
    const base = new Normal(
      tf.tensor3d([
        [
          [0, 1],
          [2, 3],
        ],
        [
          [-1, 0.5],
          [0, 0],
        ],
      ]),
      1.5,
    );
    const x = tf.tensor3d([
      [
        [0.1, 0.2],
        [0.3, 0.4],
      ],
      [
        [0.5, 0.6],
        [0.7, 0.8],
      ],
    ]);
    const lpBase = take(base.logProb(x));
    const one = new Independent(base.expand([2, 2, 2]), 1);
    const two = new Independent(base.expand([2, 2, 2]), 2);
    expect(one.batchShape).toEqual([2, 2]);
    expect(two.eventShape).toEqual([2, 2]);
    expectClose(
      take(one.logProb(x)),
      [0, 2, 4, 6].map((i) => lpBase[i]! + lpBase[i + 1]!),
      { label: 'n = 1' },
    );
    expectClose(
      take(two.logProb(x)),
      [0, 4].map((i) => lpBase.slice(i, i + 4).reduce((a, b) => a + b)),
      {
        label: 'n = 2',
      },
    );
    tf.dispose(x);
    [base, one, two].forEach((d) => d.dispose());
  });
  it('Wishart draws barely above df = p - 1 are positive definite as stored (float64 Cholesky of every float32 draw) and have a finite log-density', async () => {
    // Without the diagonal shift 4% (p = 2) to 30% (p = 4) of the draws at df = p - 1 + 0.05 round to indefinite.
    for (const [p, df, n] of [
      [2, 1.05, 20000],
      [4, 3.05, 5000],
    ] as const) {
      await expectNoLeak(async () => {
        const l = tf.tidy(() => tf.linalg.bandPart(tf.add(tf.eye(p), tf.abs(tf.randomNormal([p, p], 0, 0.3, 'float32', 7))), -1, 0));
        const w = new Wishart(df, { scaleTril: l }, { validateArgs: false });
        const x = w.sample([n]);
        const ok = constraints.positiveDefinite.checkHost!((await x.data()) as Float32Array, [n, p, p])!;
        expect(
          ok.every((v) => v === 1),
          `Wishart p = ${p}, df = ${df}: every draw positive definite`,
        ).toBe(true);
        const lp = await take(w.logProb(x));
        expect(lp.every(Number.isFinite), `Wishart p = ${p}, df = ${df}: finite log-density`).toBe(true);
        x.dispose();
        w.dispose();
        l.dispose();
      });
    }
  });
});

/**
 * Gradient of E[f(z)] through rsample (mean over n draws) against the derivative of its
 * closed form. Tolerance: 5% relative plus `atol`.
 */
function checkGradient(
  label: string,
  params: tf.Tensor[],
  make: (...p: tf.Tensor[]) => Distribution,
  f: (z: tf.Tensor) => tf.Tensor,
  expected: number[][],
  { n = 40000, atol = 0.02 }: { n?: number; atol?: number } = {},
): void {
  manualSeed(7);
  const grads = tf.tidy(() =>
    tf
      .grads((...p: tf.Tensor[]) => tf.mean(f(make(...p).rsample([n])), 0).sum())(params)
      .map((g) => Array.from(g.dataSync())),
  );
  grads.forEach((g, i) => expectClose(g, expected[i]!, { rtol: 0.05, atol, label: `${label} d/dparam${i}` }));
  manualSeed(null);
}

/**
 * Gradient of E[f(z)] through rsample against central finite differences of the same Monte Carlo
 * estimate with common random numbers (the seed is reset for every evaluation, so each draw moves
 * smoothly with the parameter). For samplers that invert a cdf; rejection samplers (Gamma and its
 * relatives) can switch candidates between the two evaluations and are checked against closed forms.
 * Tolerance: 1% relative plus `atol` (float32 sums of n draws, differenced over 2h).
 */
function checkFiniteDifference(
  label: string,
  params: number[][],
  make: (...p: tf.Tensor[]) => Distribution,
  f: (z: tf.Tensor) => tf.Tensor,
  { n = 20000, h = 1e-2, atol = 2e-3 }: { n?: number; h?: number; atol?: number } = {},
): void {
  const estimate = (ps: tf.Tensor[]) => tf.sum(tf.mean(f(make(...ps).rsample([n])), 0));
  manualSeed(11);
  const grads = tf.tidy(() =>
    tf
      .grads((...p: tf.Tensor[]) => estimate(p))(params.map((v) => tf.tensor1d(v)))
      .map((g) => Array.from(g.dataSync())),
  );
  params.forEach((values, i) => {
    const fd = values.map((_, j) => {
      const at = (delta: number) => {
        manualSeed(11);
        return tf.tidy(() => estimate(params.map((v, k) => tf.tensor1d(k === i ? v.map((x, m) => (m === j ? x + delta : x)) : v))).dataSync()[0]!);
      };
      return (at(h) - at(-h)) / (2 * h);
    });
    expectClose(grads[i]!, fd, { rtol: 0.01, atol, label: `${label} d/dparam${i}` });
  });
  manualSeed(null);
}

describe.each(BACKENDS)('rsample gradients on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const sq = (z: tf.Tensor) => tf.square(z);
  const id = (z: tf.Tensor) => z;

  it('Normal: d/d(mu, sigma) E[z^2] = (2 mu, 2 sigma)', () => {
    checkGradient('Normal', [tf.tensor1d([0.5, -1]), tf.tensor1d([1, 0.3])], (m, s) => new Normal(m!, s!), sq, [
      [1, -2],
      [2, 0.6],
    ]);
  });
  it('Laplace: d/d(mu, b) E[z^2] = (2 mu, 4 b)', () => {
    checkGradient('Laplace', [tf.tensor1d([0.5]), tf.tensor1d([0.8])], (m, b) => new Laplace(m!, b!), sq, [[1], [3.2]]);
  });
  it('Uniform: d/d(low, high) E[z] = (1/2, 1/2)', () => {
    checkGradient('Uniform', [tf.tensor1d([0]), tf.tensor1d([2])], (l, h) => new Uniform(l!, h!), id, [[0.5], [0.5]]);
  });
  it('Exponential: d/d rate E[z] = -1 / rate^2', () => {
    checkGradient('Exponential', [tf.tensor1d([2])], (r) => new Exponential(r!), id, [[-0.25]], { atol: 0.005 });
  });
  it('Gamma (implicit reparameterisation): d/d(a, b) E[z] = (1/b, -a/b^2)', () => {
    checkGradient(
      'Gamma',
      [tf.tensor1d([0.5, 3]), tf.tensor1d([2, 1])],
      (a, b) => new Gamma(a!, b!),
      id,
      [
        [0.5, 1],
        [-0.125, -3],
      ],
      { n: 20000 },
    );
  });
  it('Beta: d/d(a, b) E[z] = (b, -a) / (a + b)^2', () => {
    checkGradient('Beta', [tf.tensor1d([2]), tf.tensor1d([3])], (a, b) => new Beta(a!, b!), id, [[3 / 25], [-2 / 25]], {
      n: 20000,
      atol: 0.005,
    });
  });
  it('Dirichlet: d/d alpha E[z_0] = (A - a_0, -a_0, -a_0) / A^2', () => {
    const a = [1.5, 2, 0.5];
    const A = 4;
    checkGradient(
      'Dirichlet',
      [tf.tensor1d(a)],
      (c) => new Dirichlet(c!),
      (z) => tf.slice(z, [0, 0], [-1, 1]),
      [[(A - a[0]!) / A ** 2, -a[0]! / A ** 2, -a[0]! / A ** 2]],
      { n: 20000, atol: 0.005 },
    );
  });
  it('ContinuousBernoulli: d/d lambda E[z] = Var[z] (exponential family)', () => {
    const lam = [-3, 0.4, 2];
    const v = take(new ContinuousBernoulli({ logits: lam }).variance);
    checkGradient('ContinuousBernoulli', [tf.tensor1d(lam)], (l) => new ContinuousBernoulli({ logits: l! }), id, [v], {
      atol: 0.003,
    });
  });
  it('MultivariateNormal: d/dL E[|z|^2] = 2 L, d/d mu = 2 mu', () => {
    const L = [
      [1, 0],
      [0.5, 0.8],
    ];
    checkGradient(
      'MVN',
      [tf.tensor1d([0.3, -0.2]), tf.tensor2d(L)],
      (m, l) => new MultivariateNormal(m!, { scaleTril: l! }),
      (z) => tf.sum(tf.square(z), -1),
      [
        [0.6, -0.4],
        [2, 0, 1, 1.6],
      ],
    );
  });
  it('LowRankMultivariateNormal: d/dW E[|z|^2] = 2 W, d/dd = 1', () => {
    const W = [[0.5], [-1]];
    checkGradient(
      'LowRankMVN',
      [tf.tensor2d(W), tf.tensor1d([0.3, 0.6])],
      (w, d) => new LowRankMultivariateNormal([0, 0], w!, d!),
      (z) => tf.sum(tf.square(z), -1),
      [
        [1, -2],
        [1, 1],
      ],
    );
  });

  it('MixtureSameFamily of Normals (beyond torch): gradients reach logits, locs and scales', () => {
    // E[z^2] = sum_k pi_k g_k with g_k = mu_k^2 + s_k^2:
    // d/dmu_k = 2 pi_k mu_k, d/ds_k = 2 pi_k s_k, d/dlogit_k = pi_k (g_k - sum_j pi_j g_j).
    const logits = [0.2, -0.5, 1];
    const mu = [-1.5, 0.5, 2];
    const s = [0.5, 1, 0.7];
    const e = logits.map(Math.exp);
    const pi = e.map((v) => v / e.reduce((a, b) => a + b));
    const g = mu.map((m, k) => m * m + s[k]! ** 2);
    const eg = pi.reduce((acc, p, k) => acc + p * g[k]!, 0);
    checkGradient(
      'MixtureSameFamily',
      [tf.tensor1d(logits), tf.tensor1d(mu), tf.tensor1d(s)],
      (l, m, sc) => new MixtureSameFamily(new Categorical({ logits: l! }), new Normal(m!, sc!)),
      sq,
      [pi.map((p, k) => p * (g[k]! - eg)), pi.map((p, k) => 2 * p * mu[k]!), pi.map((p, k) => 2 * p * s[k]!)],
      { n: 60000, atol: 0.03 },
    );
  });

  it('MixtureSameFamily of Independent Normals in 2-D: gradient of E[z1 z2 + z1^2]', () => {
    // E = sum_k pi_k (m_k1 m_k2 + m_k1^2 + s_k1^2)
    const logits = [0.5, -0.3];
    const m = [
      [1, -1],
      [-0.5, 2],
    ];
    const sd = [
      [0.6, 0.9],
      [1.1, 0.4],
    ];
    const e = logits.map(Math.exp);
    const pi = e.map((v) => v / (e[0]! + e[1]!));
    const h = m.map((mk, k) => mk[0]! * mk[1]! + mk[0]! ** 2 + sd[k]![0]! ** 2);
    const eh = pi[0]! * h[0]! + pi[1]! * h[1]!;
    const dm = m.map((mk, k) => [pi[k]! * (mk[1]! + 2 * mk[0]!), pi[k]! * mk[0]!]).flat();
    const ds = sd.map((sk, k) => [2 * pi[k]! * sk[0]!, 0]).flat();
    checkGradient(
      'MixtureSameFamily 2-D',
      [tf.tensor1d(logits), tf.tensor2d(m), tf.tensor2d(sd)],
      (l, mm, ss) => new MixtureSameFamily(new Categorical({ logits: l! }), new Independent(new Normal(mm!, ss!), 1)),
      (z) => {
        const z1 = tf.slice(z, [0, 0], [-1, 1]);
        const z2 = tf.slice(z, [0, 1], [-1, 1]);
        return tf.add(tf.mul(z1, z2), tf.square(z1));
      },
      [pi.map((p, k) => p * (h[k]! - eh)), dm, ds],
      { n: 60000, atol: 0.03 },
    );
  });

  // The families added for torch's full set. Closed forms: E of the draw or its square.
  it('HalfNormal: d/d sigma E[z] = sqrt(2 / pi)', () => {
    checkGradient('HalfNormal', [tf.tensor1d([0.7, 2])], (sc) => new HalfNormal(sc!), id, [[Math.sqrt(2 / Math.PI), Math.sqrt(2 / Math.PI)]], { atol: 0.005 });
  });
  it('Gumbel: d/d(mu, beta) E[z] = (1, Euler gamma)', () => {
    checkGradient('Gumbel', [tf.tensor1d([0.5]), tf.tensor1d([1.3])], (m, b) => new Gumbel(m!, b!), id, [[1], [0.5772156649]], { atol: 0.005 });
  });
  it('Weibull: d/d(lambda, k) E[z] = (Gamma(1 + 1/k), -lambda Gamma(1 + 1/k) psi(1 + 1/k) / k^2)', () => {
    // k = 2, lambda = 1.5: Gamma(1.5) = 0.886227, psi(1.5) = 0.0364900.
    checkGradient('Weibull', [tf.tensor1d([1.5]), tf.tensor1d([2])], (l, k) => new Weibull(l!, k!), id, [[0.886227], [(-1.5 * 0.886227 * 0.03649) / 4]], {
      atol: 0.005,
    });
  });
  it('Pareto: d/d(s, alpha) E[z] = (alpha / (alpha - 1), -s / (alpha - 1)^2)', () => {
    checkGradient('Pareto', [tf.tensor1d([2]), tf.tensor1d([4])], (sc, a) => new Pareto(sc!, a!), id, [[4 / 3], [-2 / 9]], { atol: 0.01 });
  });
  it('Chi2 (implicit reparameterisation): d/d df E[z] = 1', () => {
    checkGradient('Chi2', [tf.tensor1d([0.5, 4])], (d) => new Chi2(d!), id, [[1, 1]], { n: 20000, atol: 0.01 });
  });
  it('StudentT: d/d(df, loc, scale) E[z^2] = (-2 s^2 / (df - 2)^2, 2 loc, 2 s df / (df - 2))', () => {
    checkGradient(
      'StudentT',
      [tf.tensor1d([10]), tf.tensor1d([0.5]), tf.tensor1d([1.5])],
      (d, l, sc) => new StudentT(d!, l!, sc!),
      sq,
      [[(-2 * 2.25) / 64], [1], [(2 * 1.5 * 10) / 8]],
      { n: 40000, atol: 0.02 },
    );
  });
  it('FisherSnedecor: d/d(df1, df2) E[z] = (0, -2 / (df2 - 2)^2)', () => {
    checkGradient('FisherSnedecor', [tf.tensor1d([4]), tf.tensor1d([10])], (a, b) => new FisherSnedecor(a!, b!), id, [[0], [-2 / 64]], {
      n: 40000,
      atol: 0.01,
    });
  });
  // Against finite differences with common random numbers (smooth inverse-cdf samplers).
  it('Cauchy: gradient of E[atan(z)] against finite differences', () => {
    checkFiniteDifference(
      'Cauchy',
      [
        [0.3, -1],
        [0.5, 2],
      ],
      (m, sc) => new Cauchy(m!, sc!),
      (z) => tf.atan(z),
    );
  });
  it('HalfCauchy: gradient of E[atan(z)] against finite differences', () => {
    checkFiniteDifference(
      'HalfCauchy',
      [[0.5, 2]],
      (sc) => new HalfCauchy(sc!),
      (z) => tf.atan(z),
    );
  });
  it('Kumaraswamy: gradient of E[z^2] against finite differences', () => {
    checkFiniteDifference(
      'Kumaraswamy',
      [
        [0.7, 2],
        [3, 1.5],
      ],
      (a, b) => new Kumaraswamy(a!, b!),
      sq,
    );
  });
  it('Gumbel and Weibull: gradients of E[tanh(z)] against finite differences', () => {
    checkFiniteDifference(
      'Gumbel',
      [[0.2], [0.8]],
      (m, b) => new Gumbel(m!, b!),
      (z) => tf.tanh(z),
    );
    checkFiniteDifference(
      'Weibull',
      [[1.2], [0.7]],
      (l, k) => new Weibull(l!, k!),
      (z) => tf.tanh(z),
    );
  });

  it('InverseGamma (through the Gamma draw): d/d(a, rate) E[z] = (-rate / (a - 1)^2, 1 / (a - 1))', () => {
    checkGradient(
      'InverseGamma',
      [tf.tensor1d([4, 6]), tf.tensor1d([2, 1])],
      (a, r) => new InverseGamma(a!, r!),
      id,
      [
        [-2 / 9, -1 / 25],
        [1 / 3, 1 / 5],
      ],
      { n: 40000, atol: 0.01 },
    );
  });
  it('GeneralizedPareto: d/d(loc, scale, xi) E[z] = (1, 1 / (1 - xi), scale / (1 - xi)^2), and E[tanh(z)] against finite differences', () => {
    checkGradient(
      'GeneralizedPareto',
      [tf.tensor1d([0.5]), tf.tensor1d([1.5]), tf.tensor1d([-0.3])],
      (l, sc, xi) => new GeneralizedPareto(l!, sc!, xi!),
      id,
      [[1], [1 / 1.3], [1.5 / 1.69]],
      { n: 40000, atol: 0.01 },
    );
    checkFiniteDifference(
      'GeneralizedPareto',
      [
        [0.2, -0.5],
        [0.8, 1.5],
        [0.3, -0.2],
      ],
      (l, sc, xi) => new GeneralizedPareto(l!, sc!, xi!),
      (z) => tf.tanh(z),
    );
  });
  it('TruncatedNormal: gradients of E[tanh(z)] to all four parameters against finite differences (two-sided, one-sided, a far-tail window)', () => {
    checkFiniteDifference(
      'TruncatedNormal',
      [
        [0.2, -0.5, 0],
        [0.8, 1.5, 1],
        [-0.5, 0, 4],
        [1.5, 2, 4.5],
      ],
      (l, sc, lo, hi) => new TruncatedNormal(l!, sc!, lo!, hi!),
      (z) => tf.tanh(z),
      { h: 1e-2, atol: 3e-3 },
    );
  });
  it("VonMisesFisher: d/dkappa E[loc^T z] = A' = 1 - A^2 - (m - 1) A / kappa (exact inversion for m = 3, Wood for m = 5); tangential d/dloc E[c^T z] = A (I - loc loc^T) c", () => {
    // A_m(kappa) = I_(m/2) / I_(m/2 - 1) in float64 by the power series (kappa <= 10 here).
    const ratio = (m: number, k: number) => {
      const series = (v: number) => {
        let term = 1;
        let sum = 1;
        for (let j = 1; j < 80; j++) {
          term *= (k * k) / 4 / (j * (j + v));
          sum += term;
        }
        return sum;
      };
      const v = m / 2 - 1;
      return (k / (2 * (v + 1))) * (series(v + 1) / series(v));
    };
    for (const [m, kappas] of [
      [3, [0.5, 2, 8]],
      [5, [1, 4, 10]],
    ] as const) {
      const loc = Array.from({ length: m }, (_, i) => (i === 1 ? 1 : 0));
      const expected = kappas.map((k) => {
        const a = ratio(m, k);
        return 1 - a * a - ((m - 1) * a) / k;
      });
      const locT = tf.tensor2d(kappas.map(() => loc));
      const dot = (z: tf.Tensor) => tf.sum(tf.mul(z, locT), -1);
      checkGradient(`VonMisesFisher m=${m}`, [tf.tensor1d([...kappas])], (k) => new VonMisesFisher(locT, k!), dot, [expected], { n: 40000, atol: 0.01 });
      locT.dispose();
    }
    // Tangential gradient in loc: for f = c^T z, E[f] = A c^T loc, so (I - loc loc^T) grad = A (I - loc loc^T) c.
    const m = 4;
    const kappa = 3;
    const c = [0.3, -1, 0.5, 2];
    const loc = [0.5, 0.5, 0.5, 0.5];
    manualSeed(7);
    const g = tf.tidy(() => {
      const ct = tf.tensor1d(c);
      return Array.from(
        tf
          .grad((l: tf.Tensor) => tf.mean(tf.sum(tf.mul(new VonMisesFisher(l, kappa).rsample([40000]), ct), -1)))(tf.tensor1d(loc))
          .dataSync(),
      );
    });
    manualSeed(null);
    const a = ratio(m, kappa);
    const proj = (v: number[]) => {
      const d = v.reduce((acc, x, i) => acc + x * loc[i]!, 0);
      return v.map((x, i) => x - d * loc[i]!);
    };
    expectClose(
      proj(g),
      proj(c).map((x) => a * x),
      { rtol: 0.05, atol: 0.02, label: 'tangential d/dloc' },
    );
  });
  it('Wishart (Bartlett, through the implicit Gamma gradient): d/d df E[sum X] = sum V, d/dL E[X_00] = 2 df L_00', () => {
    // V = L L^T = [[2, 0.6], [0.6, 1]], whose entries sum to 4.2.
    const l = tf.tensor2d([
      [Math.sqrt(2), 0],
      [0.6 / Math.sqrt(2), Math.sqrt(1 - 0.18)],
    ]);
    checkGradient(
      'Wishart df',
      [tf.tensor1d([4])],
      (df) => new Wishart(df!, { scaleTril: l }),
      (x) => tf.reshape(tf.sum(x, [-2, -1]), [-1, 1]),
      [[4.2]],
      {
        n: 20000,
        atol: 0.05,
      },
    );
    manualSeed(5);
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((lt: tf.Tensor) => tf.mean(tf.slice(tf.reshape(new Wishart(4, { scaleTril: lt }).rsample([20000]), [20000, 4]), [0, 0], [-1, 1])))(l)
          .dataSync(),
      ),
    );
    manualSeed(null);
    // E[X] = df L L^T: d E[X_00] / d L_00 = 2 df L_00, d / d L_01 (above the diagonal, unused) = 0.
    expectClose([g[0]!, g[1]!], [2 * 4 * Math.sqrt(2), 0], { rtol: 0.05, atol: 0.05, label: 'd/dL' });
    l.dispose();
  });
  it('OneHotCategoricalStraightThrough: one-hot forward values, the gradient of probs: d/dl_j sum_i w_i p_i = p_j (w_j - sum_i w_i p_i)', async () => {
    const logits = [0.3, -1.2, 0.8, 0.1];
    const w = [1.5, -0.5, 2, 0.25];
    const n = 16;
    const z = Math.log(logits.map(Math.exp).reduce((a, b) => a + b, 0));
    const p = logits.map((l) => Math.exp(l - z));
    const mean = p.reduce((a, pi, i) => a + pi * w[i]!, 0);
    const wt = tf.tensor1d(w);
    const draws: number[][] = [];
    const g = tf.grad((l: tf.Tensor) => {
      const y = new OneHotCategoricalStraightThrough({ logits: l }).rsample([n]);
      draws.push(Array.from(y.dataSync()));
      return tf.sum(tf.mul(y, wt));
    })(tf.tensor1d(logits));
    const grad = Array.from(await g.data());
    expectClose(
      grad,
      p.map((pj, j) => n * pj * (w[j]! - mean)),
      { rtol: 1e-5, atol: 1e-5, label: 'straight-through gradient' },
    );
    const rows = draws[0]!;
    for (let i = 0; i < n; i++) {
      const row = rows.slice(i * 4, i * 4 + 4);
      expect(row.filter((v) => v === 1).length + row.filter((v) => v === 0).length, 'one-hot rows').toBe(4);
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
    }
    tf.dispose([wt, g]);
  });

  it('sample() carries no gradient', () => {
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((m: tf.Tensor) => tf.sum(new Normal(m, 1).sample([5])))(tf.tensor1d([1, 2]))
          .dataSync(),
      ),
    );
    expect(g).toEqual([0, 0]);
  });
});
