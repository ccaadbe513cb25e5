/**
 * Special functions that tfjs-core lacks, written with differentiable tfjs ops so that gradients
 * flow through them: log-gamma, digamma, the inverse error function, `xlogy`.
 *
 * Accuracy (float32, against scipy in test/special.test.ts): lgamma and digamma within 1e-6
 * relative or 1e-6 absolute on (1e-4, 1e6); ndtri within 2e-6 absolute on (1e-6, 1 - 1e-6).
 */
import * as tf from '@tensorflow/tfjs-core';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log Gamma(x) for x > 0, by the Lanczos series with g = 5 and six terms (Numerical Recipes'
 * `gammln`). Its coefficients have little cancellation, which matters in float32. Below x = 1
 * the identity lgamma(x) = lgamma(x + 1) - log(x) keeps the series in its accurate range.
 */
export function lgamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const small = tf.less(x, 1);
    // Evaluate the series at y = x + 1 where x < 1 (stop-gradient of the branch choice is implied:
    // the condition has no gradient).
    const y = tf.where(small, tf.add(x, 1), x);
    const coeffs = [
      76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155,
      0.1208650973866179e-2, -0.5395239384953e-5,
    ];
    let series: tf.Tensor = tf.scalar(1.000000000190015);
    for (let i = 0; i < coeffs.length; i++) {
      series = tf.add(series, tf.div(coeffs[i]!, tf.add(y, i + 1)));
    }
    const t = tf.add(y, 5.5);
    // lgamma(y) = (y + 0.5) log(y + 5.5) - (y + 5.5) + log(sqrt(2 pi) * series / y)
    const value = tf.add(
      tf.sub(tf.mul(tf.add(y, 0.5), tf.log(t)), t),
      tf.add(HALF_LOG_2PI, tf.sub(tf.log(series), tf.log(y))),
    );
    // The shift: lgamma(x) = lgamma(x + 1) - log(x). x is positive here; guard the unused branch.
    const safeX = tf.where(small, x, tf.onesLike(x));
    return tf.where(small, tf.sub(value, tf.log(safeX)), value);
  });
}

/**
 * The digamma function psi(x) = d/dx lgamma(x) for x > 0: six steps of the recurrence
 * psi(x) = psi(x + 1) - 1/x, then the asymptotic series at x + 6 >= 6 (error below 2e-10).
 */
export function digamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let shift: tf.Tensor = tf.zerosLike(x);
    for (let k = 0; k < 6; k++) shift = tf.add(shift, tf.reciprocal(tf.add(x, k)));
    const y = tf.add(x, 6);
    const inv2 = tf.reciprocal(tf.square(y));
    // ln y - 1/(2y) - 1/(12y^2) + 1/(120y^4) - 1/(252y^6) + 1/(240y^8), in Horner form in 1/y^2.
    let poly: tf.Tensor = tf.scalar(1 / 240);
    for (const c of [-1 / 252, 1 / 120, -1 / 12]) poly = tf.add(c, tf.mul(poly, inv2));
    const asymptotic = tf.add(tf.sub(tf.log(y), tf.div(0.5, y)), tf.mul(poly, inv2));
    return tf.sub(asymptotic, shift);
  });
}

/**
 * The standard normal quantile Phi^-1(p) for p in (0, 1): sqrt(2) * erfinv(2p - 1), with
 * erfinv from M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single
 * precision version. Its argument w = -log((1 - x)(1 + x)) is computed as -log(4p(1 - p)), which
 * keeps precision for p near 0 and 1.
 */
export function ndtri(p: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.sub(tf.mul(p, 2), 1);
    const w = tf.neg(tf.log(tf.mul(tf.mul(p, 4), tf.sub(1, p))));
    const central = horner(tf.sub(w, 2.5), [
      2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503,
      -0.00417768164, 0.246640727, 1.50140941,
    ]);
    // sqrt is evaluated on max(w, 5) so the unused branch has a finite gradient.
    const tail = horner(tf.sub(tf.sqrt(tf.maximum(w, 5)), 3), [
      -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
      -0.0076224613, 0.00943887047, 1.00167406, 2.83297682,
    ]);
    const erfinv = tf.mul(tf.where(tf.less(w, 5), central, tail), x);
    return tf.mul(erfinv, Math.SQRT2);
  });
}

/** The standard normal CDF Phi(z) = (1 + erf(z / sqrt 2)) / 2. */
export function ndtr(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))));
}

function horner(w: tf.Tensor, coeffs: number[]): tf.Tensor {
  let p: tf.Tensor = tf.scalar(coeffs[0]!);
  for (const c of coeffs.slice(1)) p = tf.add(c, tf.mul(p, w));
  return p;
}

/** x * log(y), defined as 0 where x = 0 (also for y = 0), as torch.xlogy. */
export function xlogy(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const zero = tf.equal(x, 0);
    const safeY = tf.where(zero, tf.onesLike(y), y);
    return tf.where(zero, tf.zerosLike(tf.mul(x, y)), tf.mul(x, tf.log(safeY)));
  });
}

/** log Beta(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b). */
export function lbeta(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.add(lgamma(a), lgamma(b)), lgamma(tf.add(a, b))));
}

// ---- double-precision scalar versions for samplers written in JavaScript -----------------------

const LANCZOS_G7 = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 in double precision (Lanczos, g = 7, n = 9; about 15 digits). */
export function lgammaNumber(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgammaNumber(1 - x);
  const y = x - 1;
  let a = LANCZOS_G7[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS_G7[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * The regularised lower incomplete gamma function P(a, x) in double precision: the series for
 * x < a + 1, the continued fraction for Q = 1 - P otherwise (Numerical Recipes 6.2).
 */
export function gammaPNumber(a: number, x: number): number {
  if (x <= 0) return 0;
  if (!Number.isFinite(x)) return 1;
  const logPrefix = -x + a * Math.log(x) - lgammaNumber(a);
  if (x < a + 1) {
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-16) break;
    }
    return sum * Math.exp(logPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return 1 - Math.exp(logPrefix) * h;
}
