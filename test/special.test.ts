/**
 * lgamma, digamma and the normal quantile (tfjs lacks them) against torch's float64 values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  besselI1I0Complement,
  besselIveRatioComplement,
  deviance,
  digamma,
  digammaDiff,
  gammaP,
  gammaPNumber,
  gammaQ,
  gammaQNumber,
  lbeta,
  lgamma,
  lgammaNumber,
  log1mExp,
  logAddExp,
  logBesselIe,
  logBesselIve,
  logGammaKernel,
  logMinusDigamma,
  logNdtr,
  logNdtrInverse,
  ndtri,
  stirlingRemainder,
} from '../src/math/special.js';
import { cholesky, inverseSpd, solveLowerTriangular } from '../src/math/linalg.js';
import { BACKENDS, expectClose, expectNoLeak, useBackend } from './helpers/backends.js';
import { fixtures, flat } from './helpers/fixtures.js';

const x = flat(fixtures.special.x);
const p = flat(fixtures.special.p);

describe.each(BACKENDS)('special functions on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const run = (f: (t: tf.Tensor) => tf.Tensor, input: number[]) => tf.tidy(() => Array.from(f(tf.tensor1d(input)).dataSync()));
  const run2 = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, pairs: Array<[number, number]>) =>
    tf.tidy(() => Array.from(f(tf.tensor1d(pairs.map((q) => q[0])), tf.tensor1d(pairs.map((q) => q[1]))).dataSync()));

  it('lgamma on (1e-4, 1e6) within 1e-6 relative or absolute', async () => {
    await expectNoLeak(() => expectClose(run(lgamma, x), flat(fixtures.special.lgamma), { rtol: 1e-6, atol: 1e-6, label: 'lgamma' }));
  });
  it('digamma on (1e-4, 1e6) within 1e-6 relative or absolute', async () => {
    await expectNoLeak(() => expectClose(run(digamma, x), flat(fixtures.special.digamma), { rtol: 1e-6, atol: 1e-6, label: 'digamma' }));
  });
  it('ndtri on (1e-6, 1 - 1e-6) within 2e-6 absolute', async () => {
    await expectNoLeak(() => expectClose(run(ndtri, p), flat(fixtures.special.ndtri), { rtol: 1e-6, atol: 2e-6, label: 'ndtri' }));
  });
  it('lbeta and digammaDiff over (1e-3, 1e6)^2 without the cancellation of lgamma / digamma differences', async () => {
    const a = flat(fixtures.special.lbetaA);
    const b = flat(fixtures.special.lbetaB);
    const two = (f: (u: tf.Tensor, v: tf.Tensor) => tf.Tensor) => tf.tidy(() => Array.from(f(tf.tensor1d(a), tf.tensor1d(b)).dataSync()));
    await expectNoLeak(() => {
      // Relative to the size of the answer (log B reaches -1.4e7 at a = b = 1e6): float32's own
      // resolution of the result, plus 2e-6 absolute.
      expectClose(two(lbeta), flat(fixtures.special.lbeta), { rtol: 2e-6, atol: 2e-6, label: 'lbeta' });
      // psi(a + b) - psi(a) ranges from 1e-9 (b << a) to 1e3; relative 1e-5 throughout.
      expectClose(two(digammaDiff), flat(fixtures.special.digammaDiff), { rtol: 1e-5, atol: 1e-6, label: 'digammaDiff' });
    });
  });
  it('gammaP matches the float64 P(a, x) over a in (0.05, 500) and x around a, with gradient in x', async () => {
    const as = [0.05, 0.5, 1, 2.5, 10, 60, 500];
    const pairs = as.flatMap((a) => [0, 0.01, 0.3, 0.9, 1, 1.1, 2, 5].map((f) => [a, f * a + (f === 0 ? 0 : 1e-3)] as const));
    const got = tf.tidy(() => Array.from(gammaP(tf.tensor1d(pairs.map((q) => q[0])), tf.tensor1d(pairs.map((q) => q[1]))).dataSync()));
    expectClose(
      got,
      pairs.map(([a, x]) => gammaPNumber(a, x)),
      { rtol: 1e-5, atol: 1e-5, label: 'gammaP' },
    );
    // d/dx P(2, x) = x e^-x; d/da against central differences of the float64 P(a, x).
    const xs = [0.2, 1, 3];
    const [ga, gx] = tf.tidy(() =>
      tf
        .grads((a: tf.Tensor, x: tf.Tensor) => tf.sum(gammaP(a, x)))([tf.fill([3], 2), tf.tensor1d(xs)])
        .map((g) => Array.from(g.dataSync())),
    );
    expectClose(
      gx!,
      xs.map((x) => x * Math.exp(-x)),
      { rtol: 1e-5, atol: 1e-6, label: 'd/dx gammaP' },
    );
    const h = 1e-5;
    expectClose(
      ga!,
      xs.map((x) => (gammaPNumber(2 + h, x) - gammaPNumber(2 - h, x)) / (2 * h)),
      { rtol: 1e-3, atol: 1e-5, label: 'd/da gammaP' },
    );
    await expectNoLeak(() => tf.tidy(() => gammaP(tf.scalar(3), tf.tensor1d([0, 1, Infinity]))).dispose());
  });
  it('gammaQ keeps relative precision in the upper tail (Q down to 1e-30) and has the negated gradients of gammaP', async () => {
    const pairs: Array<[number, number]> = [
      [0.5, 0.01],
      [0.5, 3],
      [0.5, 40],
      [2, 0.5],
      [2, 20],
      [2, 70],
      [30, 10],
      [30, 30],
      [30, 90],
      [300, 250],
      [300, 420],
    ];
    const got = tf.tidy(() => Array.from(gammaQ(tf.tensor1d(pairs.map((q) => q[0])), tf.tensor1d(pairs.map((q) => q[1]))).dataSync()));
    const want = pairs.map(([a, x]) => gammaQNumber(a, x));
    expect(Math.min(...want)).toBeLessThan(1e-25);
    expectClose(got, want, { rtol: 1e-4, atol: 0, label: 'gammaQ' });
    const [ga, gx] = tf.tidy(() =>
      tf
        .grads((a: tf.Tensor, x: tf.Tensor) => tf.sum(gammaQ(a, x)))([tf.fill([3], 2), tf.tensor1d([0.2, 1, 3])])
        .map((g) => Array.from(g.dataSync())),
    );
    expectClose(
      gx!,
      [0.2, 1, 3].map((x) => -x * Math.exp(-x)),
      { rtol: 1e-5, atol: 1e-6, label: 'd/dx gammaQ' },
    );
    const h = 1e-5;
    expectClose(
      ga!,
      [0.2, 1, 3].map((x) => (gammaQNumber(2 + h, x) - gammaQNumber(2 - h, x)) / (2 * h)),
      { rtol: 1e-3, atol: 1e-5, label: 'd/da gammaQ' },
    );
  });
  it('deviance, stirlingRemainder, logGammaKernel and logMinusDigamma against float64 forms', async () => {
    // bd0(x, mu) = x log(x / mu) + mu - x, near and far from mu, at x = 0 and for mu -> 0.
    const dev: Array<[number, number]> = [
      [10, 10],
      [10.5, 10],
      [1e5, 100000.5],
      [1e5, 99000],
      [3, 10],
      [0, 4],
      [40, 3.7e-12],
      [1, 1e-30],
      [1e6, 2e6],
    ];
    const bd0 = (x: number, mu: number) => {
      if (x === 0) return mu;
      const t = (x - mu) / mu;
      // float64 series near mu (x log(x/mu) cancels to ~t^2 mu / 2 there)
      if (Math.abs(t) < 0.1) {
        let s = 0;
        for (let j = 0; j < 30; j++) s += (-t) ** j / ((j + 1) * (j + 2));
        return mu * t * t * s;
      }
      return x * Math.log(x / mu) + mu - x;
    };
    const f32 = (v: number) => Math.fround(v);
    expectClose(
      run2(deviance, dev),
      dev.map(([x, mu]) => bd0(f32(x), f32(mu))),
      { rtol: 1e-5, atol: 1e-6, label: 'deviance' },
    );
    const xs = [0.01, 0.5, 1, 3, 7.9, 8, 20, 1e3, 1e6];
    const w = (x: number) => lgammaNumber(x) - ((x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI));
    expectClose(
      run(stirlingRemainder, xs),
      xs.map((x) => w(f32(x))),
      { rtol: 1e-4, atol: 2e-6, label: 'stirlingRemainder' },
    );
    // log(x^a e^-x / Gamma(a)) at a = 500 has terms of 3e3 that cancel to O(1).
    const ka: Array<[number, number]> = [
      [0.5, 0.2],
      [2, 3],
      [500, 480],
      [500, 500],
      [1e5, 1e5 + 300],
      [7, 0.01],
    ];
    expectClose(
      run2(logGammaKernel, ka),
      ka.map(([a, x]) => {
        const [af, xf] = [f32(a), f32(x)];
        return -bd0(af, xf) + 0.5 * Math.log(af / (2 * Math.PI)) - w(af);
      }),
      { rtol: 1e-5, atol: 1e-5, label: 'logGammaKernel' },
    );
    // log x - psi(x) ~ 1/(2x): relative precision where the difference would cancel.
    const digamma64 = (x: number) => {
      let shift = 0;
      let y = x;
      while (y < 20) {
        shift += 1 / y;
        y += 1;
      }
      const i2 = 1 / (y * y);
      return Math.log(y) - 0.5 / y - i2 * (1 / 12 - i2 * (1 / 120 - i2 * (1 / 252 - i2 / 240))) - shift;
    };
    const ds = [0.3, 2, 7.9, 8, 50, 1e4, 1e6];
    expectClose(
      run(logMinusDigamma, ds),
      ds.map((x) => Math.log(f32(x)) - digamma64(f32(x))),
      { rtol: 1e-5, atol: 1e-7, label: 'logMinusDigamma' },
    );
  });
  it('logBesselIe (orders 0 and 1) and 1 - I1/I0 against scipy i0e / i1e on (0, 1e7), across the series / asymptotic switch at 12', async () => {
    const bx = flat(fixtures.special.besselX);
    expectClose(
      run((t) => logBesselIe(0, t), bx),
      flat(fixtures.special.logI0e),
      { rtol: 1e-6, atol: 3e-7, label: 'log i0e' },
    );
    expectClose(
      run((t) => logBesselIe(1, t), bx),
      flat(fixtures.special.logI1e),
      { rtol: 1e-6, atol: 3e-7, label: 'log i1e' },
    );
    // Relative precision of the circular variance, down to 5e-8 at x = 1e7.
    expectClose(run(besselI1I0Complement, bx), flat(fixtures.special.i1i0Complement), { rtol: 1e-5, atol: 1e-9, label: '1 - I1/I0' });
  });
  it('logNdtr over both tails (to log Phi(-40) = -804.6) and logNdtrInverse from log-probabilities down to -700, against scipy', async () => {
    expectClose(run(logNdtr, flat(fixtures.special.ndtrX)), flat(fixtures.special.logNdtr), { rtol: 1e-6, atol: 3e-7, label: 'log_ndtr' });
    expectClose(run(logNdtrInverse, flat(fixtures.special.ndtriExpL)), flat(fixtures.special.ndtriExp), { rtol: 2e-6, atol: 2e-6, label: 'ndtri_exp' });
    // log(1 - e^d) on both sides of the switch at -log 2, and log(e^a + e^b) with infinities.
    const ds = [-1e-8, -0.01, -0.69, -0.7, -5, -50];
    expectClose(
      run(log1mExp, ds),
      ds.map((d) => Math.log(-Math.expm1(d))),
      { rtol: 1e-6, atol: 1e-7, label: 'log1mExp' },
    );
    expectClose(
      run2(logAddExp, [
        [0, 0],
        [-Infinity, 3],
        [-1000, -1001],
        [5, -Infinity],
      ]),
      [Math.LN2, 3, -1000 + Math.log1p(Math.exp(-1)), 5],
      { rtol: 1e-6, atol: 1e-6, label: 'logAddExp' },
    );
    expect(run2(logAddExp, [[-Infinity, -Infinity]])).toEqual([-Infinity]);
  });
  it('gradients pass masks combined with logicalAnd / logicalOr / logicalNot, and tf.maximum / tf.minimum against a broadcast tensor', async () => {
    const x = tf.tensor1d([-1, 0.5, 1.5, 3]);
    const g = tf.grad((v: tf.Tensor) => {
      const inside = tf.logicalAnd(tf.greater(v, 0), tf.logicalNot(tf.logicalOr(tf.greater(v, 2), tf.equal(v, 1))));
      return tf.sum(tf.where(inside, tf.square(v), tf.zerosLike(v)));
    })(x);
    expect(Array.from(await g.data())).toEqual([0, 1, 3, 0]);
    // d/db sum(max(x, b)) for a [2] bound against [3, 2] values: the count of rows where b wins.
    const values = tf.tensor2d([
      [0, 5],
      [2, 1],
      [3, -1],
    ]);
    const [gx, gb] = tf.grads((v: tf.Tensor, b: tf.Tensor) => tf.sum(tf.add(tf.maximum(v, b), tf.minimum(v, b))))([values, tf.tensor1d([1, 2])]);
    expect(gb!.shape).toEqual([2]);
    expect(Array.from(await gb!.data())).toEqual([3, 3]); // max + min = v + b: d/db = 1 per row
    expect(Array.from(await gx!.data())).toEqual([1, 1, 1, 1, 1, 1]);
    const [gm] = tf.grads((b: tf.Tensor) => tf.sum(tf.maximum(values, b)))([tf.tensor1d([1, 2])]);
    expect(Array.from(await gm!.data())).toEqual([1, 2]);
    tf.dispose([x, g, values, gx!, gb!, gm!]);
  });
  it('logBesselIve (real orders 0 to 99) and 1 - I_(v+1)/I_v against scipy ive, across the series / Debye / Hankel switches', async () => {
    const orders = flat(fixtures.special.ivOrder);
    const xs = flat(fixtures.special.ivX);
    const want = flat(fixtures.special.logIve);
    const wantRatio = flat(fixtures.special.ivRatioComplement);
    const got: number[] = [];
    const gotRatio: number[] = [];
    for (const v of [...new Set(orders)]) {
      const idx = orders.flatMap((o, i) => (o === v ? [i] : []));
      got.push(
        ...run(
          (t) => logBesselIve(v, t),
          idx.map((i) => xs[i]!),
        ),
      );
      gotRatio.push(
        ...run(
          (t) => besselIveRatioComplement(v, t),
          idx.map((i) => xs[i]!),
        ),
      );
    }
    const order = [...new Set(orders)].flatMap((v) => orders.flatMap((o, i) => (o === v ? [i] : [])));
    expectClose(
      got,
      order.map((i) => want[i]!),
      { rtol: 1e-6, atol: 5e-7, label: 'log ive' },
    );
    expectClose(
      gotRatio,
      order.map((i) => wantRatio[i]!),
      { rtol: 2e-5, atol: 1e-7, label: '1 - I(v+1)/I(v)' },
    );
  });
  it('gradients of lgamma and digamma follow the identities d lgamma = digamma, d digamma ~ trigamma', () => {
    const xs = [0.3, 1, 2.5, 10, 100];
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((t: tf.Tensor) => tf.sum(lgamma(t)))(tf.tensor1d(xs))
          .dataSync(),
      ),
    );
    expectClose(g, run(digamma, xs), { rtol: 2e-5, atol: 1e-5, label: 'd lgamma' });
  });
  it('Cholesky, triangular solve and SPD inverse reconstruct their inputs', () => {
    const a = [
      [4, 2, 0.6],
      [2, 5, 1.5],
      [0.6, 1.5, 3],
    ];
    const [llt, solved, prod] = tf.tidy(() => {
      const m = tf.tensor2d(a);
      const l = cholesky(m);
      const b = tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const xsol = solveLowerTriangular(l, b);
      return [
        Array.from(tf.matMul(l, l, false, true).dataSync()),
        Array.from(tf.matMul(l, xsol).dataSync()),
        Array.from(tf.matMul(inverseSpd(m), m).dataSync()),
      ];
    });
    expectClose(llt, a.flat(), { rtol: 1e-5, atol: 1e-5, label: 'L L^T' });
    expectClose(solved, [1, 2, 3, 4, 5, 6], { rtol: 1e-5, atol: 1e-5, label: 'L X' });
    expectClose(prod, [1, 0, 0, 0, 1, 0, 0, 0, 1], { rtol: 1e-5, atol: 1e-5, label: 'A^-1 A' });
  });
});

describe('double-precision scalar helpers', () => {
  it('lgammaNumber matches torch to 1e-12 relative', () => {
    expectClose(x.map(lgammaNumber), flat(fixtures.special.lgamma), { rtol: 1e-7, atol: 1e-9, label: 'lgammaNumber' });
  });
  it('gammaPNumber: P(1, x) = 1 - exp(-x) and P(a, x) + Q(a, x) is continuous across the branch switch', () => {
    for (const v of [0.01, 0.5, 1, 2, 7, 30]) expect(gammaPNumber(1, v)).toBeCloseTo(-Math.expm1(-v), 12);
    // P(3, x) = 1 - e^-x (1 + x + x^2/2)
    for (const v of [0.5, 3.9, 4, 4.1, 12]) {
      expect(gammaPNumber(3, v)).toBeCloseTo(1 - Math.exp(-v) * (1 + v + (v * v) / 2), 12);
    }
  });
});
