/**
 * The truncated normal distribution (torch has none: pytorch/pytorch#60447 asks for it); its
 * fixtures come from scipy.stats.truncnorm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { log1mExp, logAddExp, logErfcx, logNdtr, logNdtrInverse } from '../math/special.js';
import { nextSeed } from '../random.js';
import { greaterThan, interval, positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { uniformOpen, type TensorInput } from './util.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log(2 Q(t) e^(t^2 / 2)) = log erfcx(t / sqrt 2): the normal survival function without its Gaussian factor. */
function lx(t: tf.Tensor): tf.Tensor {
  return logErfcx(tf.div(tf.maximum(t, 0), Math.SQRT2));
}

/** (s - t)(s + t) / 2 = (s^2 - t^2) / 2 from the difference `d` = s - t (formed where it is exact) and s + t. */
function halfSquareDiff(d: tf.Tensor, s: tf.Tensor, t: tf.Tensor): tf.Tensor {
  // d = 0 with an infinite sum (an infinite bound against itself) contributes 0.
  const prod = tf.mul(tf.mul(0.5, d), tf.add(s, t));
  return tf.where(tf.equal(d, 0), tf.zerosLike(prod), prod);
}

/** Below this the inverse Mills ratio is formed directly, above it by its continued fraction. */
const MILLS_CF_FROM = 2;
/** Depth of the continued fraction: at x = 2, 40 levels are within 5e-9 (more converge faster above). */
const MILLS_CF_DEPTH = 40;

/**
 * D(x) = lambda(x) - x and E(x) = 1 - x D(x) for the inverse Mills ratio lambda = phi / Q: the mean
 * excess of a standard normal beyond x and the second-moment term of the tail. Both tend to 0
 * (as 1/x and 2/x^2) where lambda - x cancels, so for x >= 2 they come from the continued
 * fraction Q / phi = 1 / (x + 1/(x + 2/(x + 3/(x + ...)))): with L = 2/(x + 3/(x + ...)),
 * D = 1 / (x + L) and E = L D exactly. D = E = 0 at x = inf.
 */
function tailMoments(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const cf = tf.greaterEqual(x, MILLS_CF_FROM);
  const xd = tf.where(cf, tf.zerosLike(x), x);
  const lambda = tf.exp(tf.sub(tf.sub(tf.mul(-0.5, tf.square(xd)), HALF_LOG_2PI), logNdtr(tf.neg(xd))));
  const dDirect = tf.sub(lambda, xd);
  const eDirect = tf.sub(1, tf.mul(xd, dDirect));
  const xc = tf.where(cf, x, tf.fill(x.shape, MILLS_CF_FROM));
  let v: tf.Tensor = tf.zerosLike(xc);
  for (let n = MILLS_CF_DEPTH; n >= 3; n--) v = tf.div(n, tf.add(xc, v));
  const l = tf.div(2, tf.add(xc, v));
  const d = tf.reciprocal(tf.add(xc, l));
  return [tf.where(cf, d, dDirect), tf.where(cf, tf.mul(l, d), eDirect)];
}

/** Gauss-Legendre nodes and weights on [-1, 1], 8 points. */
const GL_NODES = [
  -0.9602898564975363, -0.796666477413627, -0.525532409916329, -0.1834346424956498, 0.1834346424956498, 0.525532409916329, 0.796666477413627,
  0.9602898564975363,
];
const GL_WEIGHTS = [
  0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.362683783378362, 0.362683783378362, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763,
];
/**
 * Windows narrower than this (in standard deviations), with width * max(|a|, |b|) below
 * {@link NARROW_TILT}, take their mean and variance by quadrature: there the closed forms
 * difference terms of order 1 / width (the variance is width^2 / 12), while the density is a
 * gently tilted constant that 8 Gauss-Legendre points integrate to 1e-9.
 */
const NARROW_WIDTH = 0.5;
const NARROW_TILT = 2;

/** The 8 Gauss-Legendre points w on [0, d] and the weighted tilted density e^(-(w^2 + 2 a w) / 2) there. */
function glPoints(d: tf.Tensor, a: tf.Tensor): { ws: tf.Tensor[]; fs: tf.Tensor[] } {
  const ws = GL_NODES.map((x) => tf.mul(d, 0.5 * (x + 1)));
  const fs = ws.map((w, i) => tf.mul(GL_WEIGHTS[i]!, tf.exp(tf.mul(-0.5, tf.mul(w, tf.add(w, tf.mul(2, a)))))));
  return { ws, fs };
}

/**
 * int_0^d e^(-(w^2 + 2 a w) / 2) dw by 8-point Gauss-Legendre: the mass of [a, a + d] in units of
 * phi(a), for narrow windows (see {@link NARROW_WIDTH}).
 */
function glIntegral(d: tf.Tensor, a: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(0.5, d), tf.addN(glPoints(d, a).fs));
}

/** Infinite bounds are computed as bounds this many standard deviations out. */
const SPAN = 1e4;

/** Newton steps of the narrow-window quantile (the cdf there is nearly linear). */
const NARROW_NEWTON = 4;

/** rho * t with 0 where rho = 0 (a window open to infinity: t is infinite there). */
function weighted(rho: tf.Tensor, t: tf.Tensor): tf.Tensor {
  const zero = tf.equal(rho, 0);
  return tf.where(zero, tf.zerosLike(t), tf.mul(rho, tf.where(zero, tf.zerosLike(t), t)));
}

/**
 * min(max(x, lo), hi) with the bounds broadcast to the full shape first: tfjs's Maximum / Minimum
 * gradients do not reduce over broadcast dimensions (a [n, 3] gradient for a [3] bound throws).
 */
function clamp(x: tf.Tensor, lo: tf.Tensor | number, hi: tf.Tensor | number): tf.Tensor {
  const shape = [x.shape, typeof lo === 'number' ? [] : lo.shape, typeof hi === 'number' ? [] : hi.shape].reduce((s, t) =>
    tf.broadcast_util.assertAndGetBroadcastShape(s, t),
  );
  const full = (t: tf.Tensor | number) => (typeof t === 'number' ? t : broadcastTo(t, shape));
  return tf.minimum(tf.maximum(broadcastTo(x, shape), full(lo)), full(hi));
}

/**
 * TruncatedNormal(loc, scale, low, high): Normal(loc, scale) conditioned on [low, high]; low may
 * be -Infinity and high Infinity (one-sided truncations). Density phi(z) / (scale Z) with
 * z = (x - loc) / scale and Z = Phi(b) - Phi(a), a and b the standardised bounds. rsample is the
 * icdf of a uniform, so gradients reach all four parameters. Every quantity keeps float32
 * precision in the tails and in narrow windows: densities and cdfs are formed from log Phi and
 * log erfcx relative to the window's near bound (no e^(-a^2/2) to cancel at 30 standard
 * deviations), quantiles are solved in log space, one-sided windows take their moments from the
 * continued fraction of the Mills ratio, and windows narrower than half a standard deviation
 * from Gauss-Legendre quadrature.
 *
 * @example
 * const positiveOnly = new TruncatedNormal(0.5, 1, 0, Infinity);
 */
export class TruncatedNormal extends Distribution {
  /** Mean of the untruncated normal, batch shape. */
  readonly loc: tf.Tensor;
  /** Standard deviation of the untruncated normal, > 0, batch shape. */
  readonly scale: tf.Tensor;
  /** Lower bound (may be -Infinity), batch shape. */
  readonly low: tf.Tensor;
  /** Upper bound > low (may be Infinity), batch shape. */
  readonly high: tf.Tensor;
  /** The bounds with infinite ones replaced by finite ones far out (see the constructor). */
  private readonly lowE: tf.Tensor;
  private readonly highE: tf.Tensor;
  /** Standardised (finite) bounds (lowE - loc) / scale and (highE - loc) / scale. */
  private readonly a: tf.Tensor;
  private readonly b: tf.Tensor;
  /**
   * The shift c: a when a >= 0 (an upper-tail window), b when b <= 0 (a lower-tail one), 0
   * otherwise; and log Z + c^2 / 2. Densities and ratios are formed relative to c, so the
   * Gaussian factor e^(-c^2 / 2) (e^-450 at 30 standard deviations) never has to cancel.
   */
  private readonly c: tf.Tensor;
  private readonly logZc: tf.Tensor;
  /** Windows narrower than {@link NARROW_WIDTH} (and gently tilted), handled by quadrature. */
  private readonly narrow: tf.Tensor;

  constructor(loc: TensorInput, scale: TensorInput, low: TensorInput, high: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('TruncatedNormal', { loc, scale, low, high });
    super(p.batchShape, [], options);
    this.loc = p.values.loc;
    this.scale = p.values.scale;
    this.low = p.values.low;
    this.high = p.values.high;
    this.init(p.created, p.values);
    const [lowE, highE] = tf.tidy(() => {
      // Infinite bounds are replaced by finite ones SPAN standard deviations beyond the other bound
      // (or the mean): the same values in float32 (the normal mass past them is e^-5e7) and no
      // infinity inside the formulas, whose gradients would then be 0 * inf.
      const far = tf.mul(SPAN, this.scale);
      const lowE = tf.where(tf.isFinite(this.low), this.low, tf.sub(tf.minimum(this.loc, this.high), far));
      const highE = tf.where(tf.isFinite(this.high), this.high, tf.add(tf.maximum(this.loc, this.low), far));
      return [lowE, highE];
    });
    this.lowE = this.own(lowE);
    this.highE = this.own(highE);
    const [a, b, c, logZc, narrow] = tf.tidy(() => {
      const a = tf.div(tf.sub(this.lowE, this.loc), this.scale);
      const b = tf.div(tf.sub(this.highE, this.loc), this.scale);
      const width = tf.div(tf.sub(this.highE, this.lowE), this.scale); // b - a
      const upper = tf.greaterEqual(a, 0);
      const lowerTail = tf.logicalAnd(tf.logicalNot(upper), tf.lessEqual(b, 0));
      const c = tf.where(upper, a, tf.where(lowerTail, b, tf.zerosLike(a)));
      // Upper: Z e^(a^2/2) = Q(a) e^(a^2/2) (1 - Q(b) / Q(a)), Q(b) / Q(a) = e^(lx(b) - lx(a) - (b^2 - a^2)/2).
      // (Each branch's argument is replaced by a safe -1 where another applies, so no unused
      // branch has an infinite derivative to multiply by its zero gradient.)
      const up = tf.add(
        tf.add(Math.log(0.5), lx(a)),
        log1mExp(tf.where(upper, tf.minimum(tf.sub(tf.sub(lx(b), lx(a)), halfSquareDiff(width, b, a)), 0), tf.fill(a.shape, -1))),
      );
      // Lower: the mirror image, Phi(t) = Q(-t).
      const na = tf.neg(a);
      const nb = tf.neg(b);
      const down = tf.add(
        tf.add(Math.log(0.5), lx(nb)),
        log1mExp(tf.where(lowerTail, tf.minimum(tf.sub(tf.sub(lx(na), lx(nb)), halfSquareDiff(width, na, nb)), 0), tf.fill(a.shape, -1))),
      );
      // Across 0: 1 - Phi(a) - Q(b), both terms at most 1/2.
      const across = tf.log1p(tf.neg(tf.add(tf.exp(logNdtr(a)), tf.exp(logNdtr(nb)))));
      // Narrow windows: phi(a) times the quadrature of the tilted density, relative to c.
      const narrow = tf.logicalAnd(tf.lessEqual(width, NARROW_WIDTH), tf.lessEqual(tf.mul(width, tf.maximum(tf.abs(a), tf.abs(b))), NARROW_TILT));
      const [dn, an] = [tf.where(narrow, width, tf.onesLike(width)), tf.where(narrow, a, tf.zerosLike(a))];
      const pivot = tf.add(this.loc, tf.mul(c, this.scale));
      const shift = halfSquareDiff(tf.div(tf.sub(this.lowE, pivot), this.scale), an, c); // (a^2 - c^2) / 2
      const quad = tf.sub(tf.sub(tf.log(glIntegral(dn, an)), HALF_LOG_2PI), shift);
      return [a, b, c, tf.where(narrow, quad, tf.where(upper, up, tf.where(lowerTail, down, across))), narrow];
    });
    this.a = this.own(a);
    this.b = this.own(b);
    this.c = this.own(c);
    this.logZc = this.own(logZc);
    this.narrow = this.own(narrow);
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: real, scale: positive, low: real, high: greaterThan(this.low, 'low') };
  }
  get support(): Constraint {
    return interval(this.low, this.high, ['low', 'high']);
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): TruncatedNormal {
    return this.expandWith(batchShape, (b) => new TruncatedNormal(b(this.loc), b(this.scale), b(this.low), b(this.high), this.options()));
  }

  /** The point loc + c scale in x units (low, high or loc), from which differences are exact. */
  private pivot(): tf.Tensor {
    return tf.add(this.loc, tf.mul(this.c, this.scale));
  }
  /** log(phi(t) / Z) at t = (x - loc) / scale, as -(t - c)(t + c)/2 - log(2 pi)/2 - log Z e^(c^2/2). */
  private logPhiOverZ(x: tf.Tensor): tf.Tensor {
    const d = tf.div(tf.sub(x, this.pivot()), this.scale);
    const t = tf.div(tf.sub(x, this.loc), this.scale);
    return tf.sub(tf.neg(tf.add(halfSquareDiff(d, t, this.c), HALF_LOG_2PI)), this.logZc);
  }
  /** phi(a) / Z and phi(b) / Z (0 at infinite bounds). */
  private ratios(): [tf.Tensor, tf.Tensor] {
    return [tf.exp(this.logPhiOverZ(this.lowE)), tf.exp(this.logPhiOverZ(this.highE))];
  }
  /** Which form applies: the window lies above the mean (a >= 0), below it (b <= 0), or across. */
  private regions(): { upper: tf.Tensor; lowerTail: tf.Tensor } {
    const upper = tf.greaterEqual(this.a, 0);
    return { upper, lowerTail: tf.logicalAnd(tf.logicalNot(upper), tf.lessEqual(this.b, 0)) };
  }
  /** log Q(b)/Q(a) (upper windows) and log Phi(a)/Phi(b) (lower windows), each <= 0, without their Gaussian factors. */
  private logTailRatios(): [tf.Tensor, tf.Tensor] {
    const width = tf.div(tf.sub(this.highE, this.lowE), this.scale);
    const [na, nb] = [tf.neg(this.a), tf.neg(this.b)];
    const logRho = tf.minimum(tf.sub(tf.sub(lx(this.b), lx(this.a)), halfSquareDiff(width, this.b, this.a)), 0);
    const logSigma = tf.minimum(tf.sub(tf.sub(lx(na), lx(nb)), halfSquareDiff(width, na, nb)), 0);
    return [logRho, logSigma];
  }
  /**
   * For a window on one side of the mean, the moments of w, the distance from its near bound
   * (w = z - a above the mean, b - z below, by symmetry): with near bound n >= 0, far bound f,
   * width d = f - n and rho = Q(f)/Q(n),
   *   E[w] = (D(n) - rho D(f) - rho d) / (1 - rho),  E[w^2] = (E(n) - rho + rho (n - d) D(f) - rho d^2) / (1 - rho)
   * ({@link tailMoments}): the mean, variance and entropy follow without the cancellation of the
   * untruncated formulas (which lose everything 30 standard deviations out). Returns [E[w], E[w^2]].
   */
  private windowMoments(near: tf.Tensor, far: tf.Tensor, logRho: tf.Tensor): [tf.Tensor, tf.Tensor] {
    const width = tf.div(tf.sub(this.highE, this.lowE), this.scale);
    const rho = tf.exp(logRho);
    const oneMinusRho = tf.neg(tf.expm1(logRho));
    const [dn, en] = tailMoments(near);
    const [df] = tailMoments(far);
    const ew = tf.div(tf.sub(tf.sub(dn, tf.mul(rho, df)), weighted(rho, width)), oneMinusRho);
    const ew2 = tf.div(tf.sub(tf.add(tf.sub(en, rho), weighted(rho, tf.mul(tf.sub(near, width), df))), weighted(rho, tf.square(width))), oneMinusRho);
    return [ew, ew2];
  }
  /** Width and lower bound for the quadrature, with safe values (1, 0) outside narrow windows. */
  private narrowArgs(): [tf.Tensor, tf.Tensor] {
    const width = tf.div(tf.sub(this.highE, this.lowE), this.scale);
    return [tf.where(this.narrow, width, tf.onesLike(width)), tf.where(this.narrow, this.a, tf.zerosLike(this.a))];
  }
  /**
   * Mean and variance of z over narrow windows by 8-point Gauss-Legendre quadrature in w = z - a
   * with the density e^(-(w^2 + 2 a w) / 2) relative to the lower bound's, the variance as the
   * centred second moment (no cancellation); and where that applies.
   */
  private narrowMoments(): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
    const [d, a] = this.narrowArgs();
    const { ws, fs } = glPoints(d, a);
    const s0 = tf.addN(fs);
    const m = tf.div(tf.addN(fs.map((f, i) => tf.mul(f, ws[i]!))), s0);
    const v = tf.div(tf.addN(fs.map((f, i) => tf.mul(f, tf.square(tf.sub(ws[i]!, m))))), s0);
    // log Z + E[z^2] / 2 = log Z e^(c^2/2) + (var + (mean - c)(mean + c)) / 2, mean - c = m + (a - c)
    // with a - c from the x-space bounds (exact).
    const mean = tf.add(a, m);
    const aMinusC = tf.where(this.narrow, tf.div(tf.sub(this.lowE, this.pivot()), this.scale), tf.zerosLike(m));
    const entropyCore = tf.add(this.logZc, tf.mul(0.5, tf.add(v, tf.mul(tf.add(m, aMinusC), tf.add(mean, this.c)))));
    return [this.narrow, mean, v, entropyCore];
  }
  /** Mean, variance and entropy of the standardised variable z, by region. */
  private moments(): { mean: tf.Tensor; variance: tf.Tensor; entropyCore: tf.Tensor } {
    const { upper, lowerTail } = this.regions();
    const [logRhoAll, logSigmaAll] = this.logTailRatios();
    // Safe ratios (e^-1) outside each side's windows and in narrow ones, where 1 - rho may round to 0.
    const wide = tf.logicalNot(this.narrow);
    const logRho = tf.where(tf.logicalAnd(upper, wide), logRhoAll, tf.fill(logRhoAll.shape, -1));
    const logSigma = tf.where(tf.logicalAnd(lowerTail, wide), logSigmaAll, tf.fill(logSigmaAll.shape, -1));
    // Upper windows: w = z - a; lower ones: w = b - z, the mirror image (near bound -b).
    const [ewU, ew2U] = this.windowMoments(tf.maximum(this.a, 0), this.b, logRho);
    const [ewL, ew2L] = this.windowMoments(tf.maximum(tf.neg(this.b), 0), tf.neg(this.a), logSigma);
    // Across the mean: the untruncated formulas, with Z of order 1.
    const [ra, rb] = this.ratios();
    const meanAcross = tf.sub(ra, rb);
    const ez2 = tf.add(1, tf.sub(tf.mul(this.a, ra), tf.mul(this.b, rb)));
    const pick = (u: tf.Tensor, l: tf.Tensor, x: tf.Tensor) => tf.where(upper, u, tf.where(lowerTail, l, x));
    const [narrow, meanNarrow, varianceNarrow, entropyNarrow] = this.narrowMoments();
    const mean = tf.where(narrow, meanNarrow, pick(tf.add(this.a, ewU), tf.sub(this.b, ewL), meanAcross));
    const variance = tf.where(narrow, varianceNarrow, pick(tf.sub(ew2U, tf.square(ewU)), tf.sub(ew2L, tf.square(ewL)), tf.sub(ez2, tf.square(meanAcross))));
    // log Z + E[z^2] / 2 = log Z e^(c^2/2) + |c| E[w] + E[w^2] / 2 on one side (c^2/2 cancels exactly).
    const entropyCore = tf.where(
      narrow,
      entropyNarrow,
      pick(
        tf.add(tf.add(this.logZc, tf.mul(this.a, ewU)), tf.mul(0.5, ew2U)),
        tf.add(tf.sub(this.logZc, tf.mul(this.b, ewL)), tf.mul(0.5, ew2L)),
        tf.add(this.logZc, tf.mul(0.5, ez2)),
      ),
    );
    return { mean, variance, entropyCore };
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    return this._icdf(uniformOpen([...sampleShape, ...this.batchShape], nextSeed()));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    const lp = tf.sub(this.logPhiOverZ(x), tf.log(this.scale));
    // -inf outside [low, high] (reached with validation off).
    const inside = tf.logicalAnd(tf.greaterEqual(x, this.low), tf.lessEqual(x, this.high));
    return tf.where(inside, lp, tf.fill(lp.shape, -Infinity));
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    const { upper, lowerTail } = this.regions();
    const xc = clamp(x, this.lowE, this.highE);
    const z = tf.div(tf.sub(xc, this.loc), this.scale);
    // Upper: Q(a)/Z (1 - Q(z)/Q(a)), Q(a)/Z = e^(log(1/2) + lx(a) - log Z e^(a^2/2)).
    const qz = tf.exp(tf.minimum(tf.sub(tf.sub(lx(z), lx(this.a)), halfSquareDiff(tf.div(tf.sub(xc, this.lowE), this.scale), z, this.a)), 0));
    const up = tf.mul(tf.exp(tf.sub(tf.add(Math.log(0.5), lx(this.a)), this.logZc)), tf.sub(1, qz));
    // Lower: Phi(z)/Z (1 - Phi(a)/Phi(z)), Phi(z)/Z = e^(log(1/2) + lx(-z) - (z^2 - b^2)/2 - log Z e^(b^2/2)).
    const nz = tf.neg(z);
    const logPzOverZ = tf.sub(tf.sub(tf.add(Math.log(0.5), lx(nz)), halfSquareDiff(tf.div(tf.sub(xc, this.highE), this.scale), z, this.b)), this.logZc);
    const pa = tf.exp(tf.minimum(tf.sub(tf.sub(lx(tf.neg(this.a)), lx(nz)), halfSquareDiff(tf.div(tf.sub(this.lowE, xc), this.scale), this.a, z)), 0));
    const down = tf.mul(tf.exp(logPzOverZ), tf.sub(1, pa));
    // Across: (Phi(z) - Phi(a)) / Z with Z of order 1.
    const logPz = logNdtr(z);
    const across = tf.mul(tf.exp(tf.sub(logPz, this.logZc)), tf.neg(tf.expm1(tf.minimum(tf.sub(logNdtr(this.a), logPz), 0))));
    // Narrow: the ratio of two quadratures of the tilted density.
    const [dn, an] = this.narrowArgs();
    const narrowCdf = tf.div(glIntegral(clamp(tf.div(tf.sub(xc, this.lowE), this.scale), 0, dn), an), glIntegral(dn, an));
    return tf.clipByValue(tf.where(this.narrow, narrowCdf, tf.where(upper, up, tf.where(lowerTail, down, across))), 0, 1);
  }
  protected override _icdf(u: tf.Tensor): tf.Tensor {
    // Solved in log space (logNdtrInverse) on the side where the probability is <= 1/2:
    // upper windows Q(z) = Q(a) (1 - u (1 - Q(b)/Q(a))), lower ones Phi(z) = Phi(b) (s + u (1 - s)),
    // s = Phi(a)/Phi(b); across 0 Phi(z) = Phi(a) + u Z or Q(z) = (1 - u) Z + Q(b), whichever is smaller.
    const { upper, lowerTail } = this.regions();
    const [rho, sigma] = this.logTailRatios().map((t) => tf.exp(t)) as [tf.Tensor, tf.Tensor];
    const logQa = tf.sub(tf.add(Math.log(0.5), lx(this.a)), tf.mul(0.5, tf.square(this.a)));
    const logUp = tf.add(logQa, tf.log1p(tf.neg(tf.mul(u, tf.sub(1, rho)))));
    const nb = tf.neg(this.b);
    const logPb = tf.sub(tf.add(Math.log(0.5), lx(nb)), tf.mul(0.5, tf.square(this.b)));
    const logDown = tf.add(logPb, tf.log(tf.add(sigma, tf.mul(u, tf.sub(1, sigma)))));
    const logZ = this.logZc; // c = 0 across
    const logP = logAddExp(logNdtr(this.a), tf.add(tf.log(u), logZ));
    const logQ = logAddExp(tf.add(tf.log1p(tf.neg(u)), logZ), logNdtr(nb));
    const acrossUsesP = tf.lessEqual(logP, -Math.LN2);
    // One inverse for the P side and one for the Q side, each fed a safe value where unused.
    const half = tf.fill(logP.shape, -Math.LN2);
    const pSide = tf.logicalOr(lowerTail, tf.logicalAnd(tf.logicalNot(upper), acrossUsesP));
    const targetP = tf.where(lowerTail, logDown, tf.where(pSide, logP, half));
    const targetQ = tf.where(upper, logUp, tf.where(pSide, half, logQ));
    const zp = logNdtrInverse(tf.minimum(targetP, -Math.LN2));
    const zq = tf.neg(logNdtrInverse(tf.minimum(targetQ, -Math.LN2)));
    const z = clamp(tf.where(pSide, zp, zq), this.a, this.b);
    // Narrow windows: Newton on the quadrature cdf in w = z - a from the uniform guess u d.
    const [dn, an] = this.narrowArgs();
    const total = glIntegral(dn, an);
    let w = tf.mul(u, dn);
    for (let i = 0; i < NARROW_NEWTON; i++) {
      const density = tf.exp(tf.mul(-0.5, tf.mul(w, tf.add(w, tf.mul(2, an)))));
      w = clamp(tf.sub(w, tf.div(tf.sub(glIntegral(w, an), tf.mul(u, total)), density)), 0, dn);
    }
    const fromLow = tf.add(this.lowE, tf.mul(this.scale, w));
    return tf.where(this.narrow, fromLow, tf.add(this.loc, tf.mul(this.scale, z)));
  }
  protected override _entropy(): tf.Tensor {
    // log(sqrt(2 pi) scale) + log Z + E[z^2] / 2
    return tf.add(tf.add(HALF_LOG_2PI, tf.log(this.scale)), this.moments().entropyCore);
  }
  protected override _mean(): tf.Tensor {
    return tf.add(this.loc, tf.mul(this.scale, this.moments().mean));
  }
  protected override _mode(): tf.Tensor {
    return clamp(this.loc, this.low, this.high);
  }
  protected override _variance(): tf.Tensor {
    return tf.mul(tf.square(this.scale), this.moments().variance);
  }
}
