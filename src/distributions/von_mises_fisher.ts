/**
 * The von Mises-Fisher distribution on the unit sphere and the uniform distribution there, with
 * the closed-form KL between them: the parts of a hyperspherical VAE (Davidson et al., 2018).
 * torch has neither (pytorch/pytorch#13811).
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { broadcastTo } from '../math/ops.js';
import { besselIveRatioComplement, lgammaNumber, logBesselIve } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, sphere, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { registerKL } from './kl.js';
import { firstAccepted, unsqueeze, type TensorInput } from './util.js';

/**
 * Rounds of Wood's rejection sampler. Its acceptance probability, measured by simulation (4e5
 * proposals per point) over dimensions 2 to 200 and concentrations 1e-3 to 1e4, is lowest, 0.658,
 * on the circle at large concentration, so an element is left without an accepted candidate
 * after 26 rounds with probability below 0.342^26 = 7.6e-13 (it then takes the envelope's mode).
 */
const WOOD_ROUNDS = 26;

/** log of the area of the unit sphere in R^m, 2 pi^(m/2) / Gamma(m/2). */
function logSphereArea(m: number): number {
  return Math.log(2) + (m / 2) * Math.log(Math.PI) - lgammaNumber(m / 2);
}

/**
 * log C_m(kappa) + kappa = v log kappa - (m/2) log(2 pi) - log(I_v(kappa) e^-kappa), v = m/2 - 1: the
 * log-normaliser without the kappa that the density's kappa loc^T x cancels (1e5 at kappa = 1e5).
 */
function shiftedLogNormalizer(m: number, kappa: tf.Tensor): tf.Tensor {
  const v = m / 2 - 1;
  return tf.sub(tf.sub(tf.mul(v, tf.log(kappa)), (m / 2) * Math.log(2 * Math.PI)), logBesselIve(v, kappa));
}

/**
 * VonMisesFisher(loc, concentration): density C_m(kappa) exp(kappa loc^T x) on the unit sphere in
 * R^m, with C_m(kappa) = kappa^(m/2 - 1) / ((2 pi)^(m/2) I_(m/2 - 1)(kappa)). `loc` is a unit vector
 * `[..., m]` (event shape [m], m >= 2), `concentration` kappa > 0 has the batch shape. rsample is
 * Wood's (1994) algorithm on the device (exact inversion on the 2-sphere, m = 3) with a
 * Householder reflection onto `loc`: the gradient reaches `loc` through the reflection and
 * `concentration` through the implicit derivative of the draw's cdf (exact, unlike the proposal's
 * reparameterisation alone, which is 18% low at m = 5; test/distributions.identities.test.ts).
 * Bessel functions are dlvm's float32 forms of log I_v
 * (series and Debye's expansion), so logProb stays finite at kappa = 1e5.
 *
 * @example
 * const q = new VonMisesFisher(mu, kappa);                  // mu [B, M] unit rows, kappa [B]
 * const kl = klDivergence(q, new HypersphericalUniform(M)); // [B]
 */
export class VonMisesFisher extends Distribution {
  /** Mean direction, unit vectors `[...batch, m]`. */
  readonly loc: tf.Tensor;
  /** Concentration kappa > 0, batch shape. */
  readonly concentration: tf.Tensor;
  /** The dimension m of the ambient space (the event size). */
  readonly dim: number;

  constructor(loc: TensorInput, concentration: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('VonMisesFisher', { loc, concentration }, { loc: 1 });
    const m = p.values.loc.shape[p.values.loc.rank - 1]!;
    if (m < 2) {
      tf.dispose(p.created);
      throw argError('VonMisesFisher', 'loc', 'unit vectors of size >= 2 (the last dimension)', p.values.loc);
    }
    super(p.batchShape, [m], options);
    this.loc = p.values.loc;
    this.concentration = p.values.concentration;
    this.dim = m;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: sphere, concentration: positive };
  }
  get support(): Constraint {
    return sphere;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): VonMisesFisher {
    return this.expandWith(batchShape, (b) => new VonMisesFisher(b(this.loc, 1), b(this.concentration), this.options()));
  }

  /** log C_m(kappa) + kappa (see {@link shiftedLogNormalizer}). */
  private logNormalizerShifted(): tf.Tensor {
    return shiftedLogNormalizer(this.dim, this.concentration);
  }
  /** 1 - A_m(kappa), A_m = I_(m/2)(kappa) / I_(m/2 - 1)(kappa) = E[loc^T x], batch shape. */
  private meanLengthComplement(): tf.Tensor {
    return besselIveRatioComplement(this.dim / 2 - 1, this.concentration);
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const m = this.dim;
    const shape = [...sampleShape, ...this.batchShape];
    const kappa = broadcastTo(this.concentration, shape);
    // w = loc^T z, as its distance 1 - w from 1: exact inversion on the 2-sphere, Wood's sampler
    // with the implicit gradient otherwise.
    const distance = m === 3 ? distanceSphere3(kappa) : woodDistanceWithGradient(m, kappa);
    const wChosen = tf.sub(1, distance);
    // A uniform direction orthogonal to e1, scaled by sqrt(1 - w^2) = sqrt((1 - w)(1 + w)).
    const v = tf.randomNormal([...shape, m - 1], 0, 1, 'float32', nextSeed());
    const vUnit = tf.div(v, tf.norm(v, 'euclidean', -1, true));
    const radius = tf.sqrt(tf.mul(distance, tf.sub(2, distance)));
    const zPrime = tf.concat([unsqueeze(wChosen, -1), tf.mul(unsqueeze(radius, -1), vUnit)], -1); // [..., m]
    return householder(this.loc, zPrime);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // kappa loc^T x + log C = kappa (loc^T x - 1) + (log C + kappa), with loc^T x - 1 = -|x - loc|^2 / 2
    // for unit vectors (no 1 - 1 to cancel near the mode).
    const d2 = tf.sum(tf.square(tf.sub(x, this.loc)), -1);
    return tf.add(tf.mul(tf.mul(-0.5, this.concentration), d2), this.logNormalizerShifted());
  }
  protected override _entropy(): tf.Tensor {
    // -kappa A - log C = kappa (1 - A) - (log C + kappa)
    return tf.sub(tf.mul(this.concentration, this.meanLengthComplement()), this.logNormalizerShifted());
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(unsqueeze(tf.sub(1, this.meanLengthComplement()), -1), this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
}

/**
 * 1 - w for m = 3 by exact inversion of its cdf (the density of w is kappa e^(kappa w) / (2 sinh kappa)):
 * 1 - w = -log1p(-(1 - u)(1 - e^(-2 kappa))) / kappa, no rejection and a pathwise gradient in kappa.
 */
function distanceSphere3(kappa: tf.Tensor): tf.Tensor {
  const u = tf.randomUniform(kappa.shape, 0, 1, 'float32', nextSeed());
  return tf.div(tf.neg(tf.log1p(tf.mul(tf.sub(u, 1), tf.neg(tf.expm1(tf.mul(-2, kappa)))))), kappa);
}

/** Below this many degrees of freedom the Beta draws are ratios of sums of squared normals (no rejection). */
const CHI_SQUARE_SUMS_MAX = 16;

/**
 * Draws of Beta(k/2, k/2), k = m - 1, of shape `shape`: sin^2(pi u / 2) for k = 1 (the arcsine law),
 * X / (X + Y) with X, Y ~ chi^2_k as sums of k squared normals for k <= 16, else from Gamma draws.
 */
function symmetricBeta(k: number, shape: number[]): tf.Tensor {
  if (k === 1) return tf.square(tf.sin(tf.mul(0.5 * Math.PI, tf.randomUniform(shape, 0, 1, 'float32', nextSeed()))));
  if (k <= CHI_SQUARE_SUMS_MAX) {
    const squares = tf.sum(tf.square(tf.randomNormal([...shape, 2, k], 0, 1, 'float32', nextSeed())), -1); // [..., 2]
    const [x, y] = tf.unstack(squares, -1) as [tf.Tensor, tf.Tensor];
    return tf.div(x, tf.add(x, y));
  }
  const half = tf.fill(shape, k / 2);
  const g1 = standardGamma(half);
  const g2 = standardGamma(half);
  return tf.div(g1, tf.add(g1, g2));
}

/**
 * 1 - w by Wood's (1994) rejection sampler, {@link WOOD_ROUNDS} rounds at once: the envelope
 * w = (1 - (1 + b) e) / (1 - (1 - b) e), e ~ Beta((m-1)/2, (m-1)/2), accepted when
 * kappa w + (m - 1) log(1 - x0 w) - c >= log u. Near w = 1 everything is carried as a distance from
 * 1 (1 - w = 2 b e / (1 - (1 - b) e), 1 - x0 = 2b / (1 + b)), so float32 keeps the draws of large
 * concentrations; the first accepted round is taken (the envelope's mode when none is).
 */
function woodDistance(m: number, kappa: tf.Tensor): tf.Tensor {
  // b = (m - 1) / (2 kappa + sqrt(4 kappa^2 + (m - 1)^2)) (Wood's, without its cancellation).
  const b = tf.div(m - 1, tf.add(tf.mul(2, kappa), tf.sqrt(tf.add(tf.mul(4, tf.square(kappa)), (m - 1) ** 2))));
  const oneMinusX0 = tf.div(tf.mul(2, b), tf.add(1, b));
  const x0 = tf.sub(1, oneMinusX0);
  const rounds = [WOOD_ROUNDS, ...kappa.shape];
  const e = symmetricBeta(m - 1, rounds);
  const denom = tf.sub(1, tf.mul(tf.sub(1, b), e));
  const oneMinusW = tf.div(tf.mul(tf.mul(2, b), e), denom);
  // kappa (w - x0) + (m - 1) log((1 - x0 w) / (1 - x0^2)), with w - x0 = (1 - x0) - (1 - w).
  const oneMinusX0W = tf.add(oneMinusX0, tf.mul(x0, oneMinusW));
  const logRatio = tf.add(tf.mul(kappa, tf.sub(oneMinusX0, oneMinusW)), tf.mul(m - 1, tf.sub(tf.log(oneMinusX0W), tf.log(tf.mul(oneMinusX0, tf.add(1, x0))))));
  const u = tf.randomUniform(rounds, 0, 1, 'float32', nextSeed());
  // firstAccepted keeps candidates >= 0: 1 - w lies in [0, 2].
  return firstAccepted(tf.greaterEqual(logRatio, tf.log(u)), oneMinusW, oneMinusX0);
}

/** Gauss-Legendre nodes and weights on [0, 1] (n points), by Newton's method on P_n (float64). */
function gaussLegendre01(n: number): { nodes: number[]; weights: number[] } {
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= n; i++) {
    let x = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    nodes.push(0.5 * (1 - x));
    weights.push(1 / ((1 - x * x) * dp * dp));
  }
  return { nodes, weights };
}
/** Points of the quadrature of the implicit gradient (its integrand is smooth after t = 1 - (1 - w) y^2). */
const IMPLICIT_QUADRATURE = gaussLegendre01(24);

/**
 * d(1 - w)/dkappa for draws w of the marginal of loc^T z, density proportional to
 * e^(kappa w) (1 - w^2)^((m-3)/2), by implicit differentiation of its cdf F (Figurnov et al.,
 * 2018): dw/dkappa = -(dF/dkappa) / p(w) = int_w^1 (t - A) p(t) dt / p(w), as d log p / dkappa = t - A,
 * A = E[w]. With the distance delta = 1 - w and t = 1 - delta y^2 the integral is
 *   2 delta int_0^1 ((1 - A) - delta y^2) e^(kappa delta (1 - y^2)) y^(m-2) ((2 - delta y^2) / (2 - delta))^((m-3)/2) dy,
 * smooth in y for every m (24-point Gauss-Legendre). This is the exact pathwise derivative that
 * Wood's rejection step otherwise hides (the proposal's own reparameterisation is biased by 18%
 * at m = 5, kappa = 4).
 */
function woodDistanceGrad(m: number, kappa: tf.Tensor, delta: tf.Tensor): tf.Tensor {
  const oneMinusA = besselIveRatioComplement(m / 2 - 1, kappa);
  const gap = tf.maximum(tf.sub(2, delta), 1e-6); // 2 - delta = 1 + w
  const logGap = tf.log(gap);
  const terms = IMPLICIT_QUADRATURE.nodes.map((y, j) => {
    const dy2 = tf.mul(delta, y * y);
    const logWeight = tf.add(
      tf.mul(tf.mul(kappa, delta), 1 - y * y),
      tf.add((m - 2) * Math.log(y), tf.mul((m - 3) / 2, tf.sub(tf.log(tf.sub(2, dy2)), logGap))),
    );
    return tf.mul(IMPLICIT_QUADRATURE.weights[j]!, tf.mul(tf.sub(oneMinusA, dy2), tf.exp(tf.minimum(logWeight, 80))));
  });
  const dwdk = tf.mul(tf.mul(2, delta), tf.addN(terms));
  return tf.neg(dwdk);
}

/** Wood's draws of 1 - w (forward) with the implicit gradient of {@link woodDistanceGrad} in kappa. */
function woodDistanceWithGradient(m: number, kappa: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((k: tf.Tensor, save: tf.GradSaveFunc) => {
    const delta = woodDistance(m, k);
    save([k, delta]);
    return {
      value: delta,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sk, sd] = saved as [tf.Tensor, tf.Tensor];
        return tf.tidy(() => tf.mul(dy, woodDistanceGrad(m, sk, sd)));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (k: tf.Tensor) => tf.Tensor;
  return op(kappa);
}

/**
 * The reflection that maps e1 to `loc`, applied to `z` ([..., m]): z - 2 u (u^T z) / (u^T u) with
 * u = e1 - loc; the identity where loc is e1 (u = 0).
 */
function householder(loc: tf.Tensor, z: tf.Tensor): tf.Tensor {
  const m = loc.shape[loc.rank - 1]!;
  const e1 = tf.oneHot(tf.scalar(0, 'int32'), m).reshape([m]).cast('float32');
  const u = tf.sub(e1, loc);
  const uu = tf.sum(tf.square(u), -1, true);
  const tiny = tf.less(uu, 1e-12);
  const safe = tf.where(tiny, tf.onesLike(uu), uu);
  const reflected = tf.sub(z, tf.mul(u, tf.div(tf.mul(2, tf.sum(tf.mul(u, z), -1, true)), safe)));
  return tf.where(broadcastTo(tiny, reflected.shape), broadcastTo(z, reflected.shape), reflected);
}

/**
 * HypersphericalUniform(dim, batchShape = []): the uniform distribution on the unit sphere in
 * R^dim (event shape [dim], dim >= 2), density 1 / |S^(dim-1)| = Gamma(dim/2) / (2 pi^(dim/2)).
 * The prior of a hyperspherical VAE. (`dim` is the ambient dimension, the size of the vectors;
 * Davidson et al.'s code counts the sphere's own dimension, dim - 1.)
 */
export class HypersphericalUniform extends Distribution {
  /** The dimension of the ambient space (the event size). */
  readonly dim: number;

  constructor(dim: number, batchShape: number[] = [], options: DistributionOptions = {}) {
    if (!Number.isInteger(dim) || dim < 2) throw argError('HypersphericalUniform', 'dim', 'an integer >= 2 (the size of the unit vectors)', dim);
    if (!Array.isArray(batchShape) || !batchShape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw argError('HypersphericalUniform', 'batchShape', 'an array of nonnegative integers', batchShape);
    }
    super(batchShape, [dim], options);
    this.dim = dim;
    this.init([], {});
  }

  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    return sphere;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): HypersphericalUniform {
    return this.expandWith(batchShape, () => new HypersphericalUniform(this.dim, batchShape, this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const g = tf.randomNormal([...sampleShape, ...this.batchShape, this.dim], 0, 1, 'float32', nextSeed());
    return tf.div(g, tf.norm(g, 'euclidean', -1, true));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return tf.fill(tf.broadcast_util.assertAndGetBroadcastShape(x.shape.slice(0, -1), this.batchShape), -logSphereArea(this.dim));
  }
  protected override _entropy(): tf.Tensor {
    return tf.fill(this.batchShape, logSphereArea(this.dim));
  }
  protected override _mean(): tf.Tensor {
    return tf.zeros([...this.batchShape, this.dim]);
  }
  protected override _variance(): tf.Tensor {
    // E[x_i^2] = 1 / dim by symmetry.
    return tf.fill([...this.batchShape, this.dim], 1 / this.dim);
  }
}

/** Refuses a KL between distributions on spheres of different dimensions. */
function sameDim(pair: string, p: { dim: number }, q: { dim: number }): void {
  if (p.dim !== q.dim) throw argError(`klDivergence(${pair})`, 'q', `a distribution on the sphere in R^${p.dim}`, `one in R^${q.dim}`);
}

// KL(vMF || uniform) = -H(vMF) + log |S^(m-1)|.
registerKL(VonMisesFisher, HypersphericalUniform, (p, q) => {
  sameDim('VonMisesFisher, HypersphericalUniform', p, q);
  return tf.add(tf.neg(p.entropy()), logSphereArea(p.dim));
});
// KL(vMF_p || vMF_q) = log C_p - log C_q + A_p (kappa_p - kappa_q mu_q^T mu_p), written with the
// shifted normalisers L = log C + kappa and 1 - mu_q^T mu_p = |mu_p - mu_q|^2 / 2 as
//   L_p - L_q + (kappa_q - kappa_p)(1 - A_p) + kappa_q A_p |mu_p - mu_q|^2 / 2  (exactly 0 for p = q).
registerKL(VonMisesFisher, VonMisesFisher, (p, q) => {
  sameDim('VonMisesFisher, VonMisesFisher', p, q);
  const oneMinusA = besselIveRatioComplement(p.dim / 2 - 1, p.concentration);
  const d2 = tf.sum(tf.square(tf.sub(p.loc, q.loc)), -1);
  const spread = tf.mul(tf.sub(q.concentration, p.concentration), oneMinusA);
  const angle = tf.mul(tf.mul(0.5, q.concentration), tf.mul(tf.sub(1, oneMinusA), d2));
  return tf.add(tf.add(tf.sub(shiftedLogNormalizer(p.dim, p.concentration), shiftedLogNormalizer(q.dim, q.concentration)), spread), angle);
});
// KL(uniform || vMF_q) = -log |S| - log C_q (E_uniform[x] = 0); KL(uniform || uniform) = 0.
registerKL(HypersphericalUniform, VonMisesFisher, (p, q) => {
  sameDim('HypersphericalUniform, VonMisesFisher', p, q);
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(p.batchShape, q.batchShape);
  return broadcastTo(tf.sub(tf.sub(q.concentration, shiftedLogNormalizer(q.dim, q.concentration)), logSphereArea(p.dim)), shape);
});
registerKL(HypersphericalUniform, HypersphericalUniform, (p, q) => {
  sameDim('HypersphericalUniform, HypersphericalUniform', p, q);
  return tf.zeros(tf.broadcast_util.assertAndGetBroadcastShape(p.batchShape, q.batchShape));
});
