/**
 * The Gamma distribution, torch.distributions.Gamma, and the standard-gamma sampler that Beta
 * and Dirichlet share.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { digamma, gammaP, lgamma, logGammaKernel, logMinusDigamma, standardGammaGrad, stirlingRemainder, xlogy } from '../math/special.js';
import { nextSeed } from '../random.js';
import { nonnegative, positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Exponential } from './exponential.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { EULER_GAMMA, TINY, fillWhere, firstAccepted, infiniteKL, xLogX, type TensorInput } from './util.js';

/**
 * Rejection rounds of the device Gamma sampler. Marsaglia & Tsang's proposal is accepted with
 * probability at least 0.9516 (its minimum, at alpha' = 1; 0.98 at 2, 0.997 at 10, by numerical
 * integration), so an element finds no accepted candidate in 10 independent rounds with
 * probability below (1 - 0.9516)^10 = 7e-14.
 */
const GAMMA_ROUNDS = 10;

/**
 * log of Marsaglia & Tsang's acceptance bound, 0.5 x^2 + d (1 - v + log v) with v = (1 + y)^3,
 * y = c x, c = 1 / sqrt(9 d). Expanding log(1 + y), the x^2 terms cancel exactly (9 d c^2 = 1):
 *   0.5 x^2 + d (1 - v + log v) = 3 d sum_(n>=4) (-1)^(n+1) y^n / n = -(x^4 / (27 d)) sum_k (-y)^k / (k + 4),
 * which is used for |y| < 0.25 (13 terms, error < 4e-9 relative); there the direct form loses most
 * digits for large d (at alpha = 5000 and x = 2 its two terms, 2 and -2, cancel to -3e-5).
 */
function logAcceptBound(x: tf.Tensor, y: tf.Tensor, d: tf.Tensor): tf.Tensor {
  const small = tf.less(tf.abs(y), 0.25);
  const ySmall = tf.where(small, y, tf.zerosLike(y));
  let series: tf.Tensor = tf.scalar(1 / 16);
  for (let k = 11; k >= 0; k--) series = tf.add(1 / (k + 4), tf.mul(tf.neg(ySmall), series));
  const x4 = tf.square(tf.square(x));
  const near = tf.neg(tf.mul(tf.div(x4, tf.mul(d, 27)), series));
  const onePlusY = tf.maximum(tf.add(1, y), TINY);
  const v = tf.mul(tf.square(onePlusY), onePlusY);
  const far = tf.add(tf.mul(0.5, tf.square(x)), tf.mul(d, tf.add(tf.sub(1, v), tf.mul(3, tf.log(onePlusY)))));
  return tf.where(small, near, far);
}

/**
 * Draws of Gamma(alpha, 1), the shape of `alpha`, entirely with tfjs ops (the random numbers come
 * from tfjs's seeded random ops, each seeded by {@link nextSeed}; nothing is read back).
 *
 * Marsaglia & Tsang (2000), vectorised: for alpha' = alpha (alpha' = alpha + 1 when alpha < 1),
 * d = alpha' - 1/3, c = 1/sqrt(9d), each round proposes d (1 + c x)^3 with x ~ N(0, 1) and accepts
 * it when 1 + c x > 0 and u < 1 - 0.0331 x^4 (the squeeze) or log u < 0.5 x^2 + d (1 - v + log v).
 * {@link GAMMA_ROUNDS} rounds are drawn at once, [K, ...shape], and each element takes its first
 * accepted candidate. If none is accepted (probability < 7e-14 per element) it takes d, the
 * approximate median of Gamma(alpha'). For alpha < 1 the draw is boosted, z = z' U^(1/alpha)
 * (Marsaglia & Tsang's section 6), computed as z' exp(log(U) / alpha). Draws are clamped to the
 * smallest normal float32, as torch does.
 */
function sampleStandardGamma(alpha: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const shape = alpha.shape;
    const boost = tf.less(alpha, 1);
    const d = tf.sub(tf.where(boost, tf.add(alpha, 1), alpha), 1 / 3);
    const c = tf.rsqrt(tf.mul(d, 9));
    const x = tf.randomNormal([GAMMA_ROUNDS, ...shape], 0, 1, 'float32', nextSeed()); // [K, ...shape]
    const u = tf.randomUniform([GAMMA_ROUNDS, ...shape], 0, 1, 'float32', nextSeed()); // [K, ...shape]
    const boostU = tf.randomUniform(shape, 0, 1, 'float32', nextSeed());
    const y = tf.mul(c, x);
    const onePlusY = tf.add(1, y);
    const squeeze = tf.less(u, tf.sub(1, tf.mul(0.0331, tf.square(tf.square(x)))));
    const exact = tf.less(tf.log(tf.maximum(u, TINY)), logAcceptBound(x, y, d));
    const accept = tf.logicalAnd(tf.greater(onePlusY, 0), tf.logicalOr(squeeze, exact));
    const candidate = tf.mul(d, tf.mul(tf.square(onePlusY), onePlusY)); // [K, ...shape]
    const z = firstAccepted(accept, candidate, d);
    const boosted = tf.mul(z, tf.exp(tf.div(tf.log(tf.maximum(boostU, TINY)), alpha)));
    return tf.maximum(tf.where(boost, boosted, z), TINY);
  });
}

/**
 * Reparameterised draws of Gamma(alpha, 1) with the shape of `alpha` (float32). The draw and its
 * gradient with respect to alpha, the implicit one of {@link standardGammaGrad}, both run on the
 * device; `manualSeed` makes draws reproducible on a backend.
 *
 * @param alpha concentration > 0, any shape.
 * @returns draws of the shape of `alpha`, differentiable in `alpha`.
 */
export function standardGamma(alpha: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    const z = sampleStandardGamma(a);
    save([a, z]);
    return {
      value: z,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sz] = saved as [tf.Tensor, tf.Tensor];
        return tf.tidy(() => tf.mul(dy, standardGammaGrad(sa, sz)));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor) => tf.Tensor;
  return op(alpha);
}

/**
 * Gamma(concentration, rate): density rate^a x^(a-1) exp(-rate x) / Gamma(a) on x >= 0.
 * `rsample` is reparameterised by implicit differentiation of the CDF (as torch's).
 */
export class Gamma extends Distribution {
  /** Shape parameter a > 0, batch shape. */
  readonly concentration: tf.Tensor;
  /** Rate (inverse scale) > 0, batch shape. */
  readonly rate: tf.Tensor;

  constructor(concentration: TensorInput, rate: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Gamma', { concentration, rate });
    super(p.batchShape, [], options);
    this.concentration = p.values.concentration;
    this.rate = p.values.rate;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { concentration: positive, rate: positive };
  }
  get support(): Constraint {
    return nonnegative;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Gamma {
    return this.expandWith(batchShape, (b) => new Gamma(b(this.concentration), b(this.rate), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const shape = [...sampleShape, ...this.batchShape];
    const z = standardGamma(broadcastTo(this.concentration, shape));
    return tf.maximum(tf.div(z, this.rate), TINY);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log(u^a e^-u / Gamma(a)) - log x with u = rate x, in the stable form of logGammaKernel
    // (a log(rate) + (a - 1) log(x) - rate x - lgamma(a) cancels at large a); that direct form,
    // with 0 log 0 = 0, where u is 0 (x = 0) or not finite.
    const a = this.concentration;
    const u = tf.mul(this.rate, x);
    const ok = tf.logicalAnd(tf.greater(u, 0), tf.less(u, Infinity));
    const uSafe = tf.where(ok, u, tf.onesLike(u));
    const stable = tf.sub(logGammaKernel(a, uSafe), tf.log(tf.div(uSafe, this.rate)));
    const direct = tf.sub(tf.sub(tf.add(xlogy(a, this.rate), xlogy(tf.sub(a, 1), x)), u), lgamma(a));
    return tf.where(ok, stable, direct);
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    // P(a, rate x), the regularised lower incomplete gamma function (torch 1.13 has no Gamma.cdf).
    return gammaP(this.concentration, tf.mul(this.rate, x));
  }
  protected override _entropy(): tf.Tensor {
    // a - log(rate) + lgamma(a) + (1 - a) psi(a), with Stirling's lgamma and D = log a - psi(a):
    // log(2 pi a) / 2 - log(rate) + w(a) + (a - 1) D, free of the cancellation at large a.
    const a = this.concentration;
    const core = tf.add(stirlingRemainder(a), tf.mul(tf.sub(a, 1), logMinusDigamma(a)));
    return tf.add(tf.sub(tf.mul(0.5, tf.log(tf.mul(a, 2 * Math.PI))), tf.log(this.rate)), core);
  }
  protected override _mean(): tf.Tensor {
    return tf.div(this.concentration, this.rate);
  }
  protected override _mode(): tf.Tensor {
    return tf.relu(tf.div(tf.sub(this.concentration, 1), this.rate));
  }
  protected override _variance(): tf.Tensor {
    return tf.div(this.concentration, tf.square(this.rate));
  }
}

// KL = a2 log(r1/r2) + lgamma(a2) - lgamma(a1) + (a1 - a2) psi(a1) + (r2 - r1) a1 / r1
registerKL(Gamma, Gamma, (p, q) => {
  const t1 = tf.mul(q.concentration, tf.log(tf.div(p.rate, q.rate)));
  const t2 = tf.sub(lgamma(q.concentration), lgamma(p.concentration));
  const t3 = tf.mul(tf.sub(p.concentration, q.concentration), digamma(p.concentration));
  const t4 = tf.mul(tf.sub(q.rate, p.rate), tf.div(p.concentration, p.rate));
  return tf.add(tf.add(t1, t2), tf.add(t3, t4));
});

// ---- cross pairs with earlier families (Normal < Laplace < Uniform < Exponential < Gamma) ----

registerKL(Gamma, Normal, (p, q) => {
  const a = p.concentration;
  const varN = tf.square(q.scale);
  const b2 = tf.square(p.rate);
  const t1 = tf.sub(tf.sub(tf.mul(0.5, tf.log(tf.mul(tf.mul(b2, varN), 2 * Math.PI))), a), lgamma(a));
  const t2 = tf.div(tf.mul(0.5, tf.add(tf.square(a), a)), b2);
  const t3 = tf.div(tf.mul(q.loc, a), p.rate);
  const t4 = tf.mul(0.5, tf.square(q.loc));
  return tf.add(tf.add(t1, tf.mul(tf.sub(a, 1), digamma(a))), tf.div(tf.add(tf.sub(t2, t3), t4), varN));
});
registerKL(Uniform, Gamma, (p, q) => {
  const w = tf.sub(p.high, p.low);
  const t1 = tf.log(w);
  const t2 = tf.sub(lgamma(q.concentration), tf.mul(q.concentration, tf.log(q.rate)));
  const t3 = tf.div(tf.mul(tf.sub(1, q.concentration), tf.sub(tf.sub(xLogX(p.high), xLogX(p.low)), w)), w);
  const t4 = tf.div(tf.mul(q.rate, tf.add(p.high, p.low)), 2);
  const result = tf.add(tf.add(tf.neg(t1), t2), tf.add(t3, t4));
  return fillWhere(tf.less(p.low, 0), Infinity, result);
});
registerKL(Exponential, Gamma, (p, q) => {
  const ratio = tf.div(q.rate, p.rate);
  const t1 = tf.mul(tf.neg(q.concentration), tf.log(ratio));
  return tf.sub(tf.add(tf.add(tf.add(t1, ratio), lgamma(q.concentration)), tf.mul(q.concentration, EULER_GAMMA)), 1 + EULER_GAMMA);
});
registerKL(Gamma, Exponential, (p, q) => tf.add(tf.sub(tf.neg(p.entropy()), tf.log(q.rate)), tf.div(tf.mul(q.rate, p.concentration), p.rate)));
registerKL(Normal, Gamma, infiniteKL);
registerKL(Laplace, Gamma, infiniteKL);
registerKL(Gamma, Uniform, infiniteKL);
