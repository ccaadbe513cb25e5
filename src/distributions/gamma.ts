/**
 * The Gamma distribution, torch.distributions.Gamma, and the standard-gamma sampler that Beta
 * and Dirichlet share.
 */
import * as tf from '@tensorflow/tfjs-core';
import { digamma, gammaPNumber, lgamma, lgammaNumber, xlogy } from '../math/special.js';
import { uniformSource } from '../random.js';
import { nonnegative, positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { Exponential } from './exponential.js';
import { Laplace } from './laplace.js';
import { Normal } from './normal.js';
import { Uniform } from './uniform.js';
import { EULER_GAMMA, infiniteKL, xLogX, type TensorInput } from './util.js';

/** Smallest positive normal float32; torch clamps gamma samples to it. */
const TINY = 1.1754943508222875e-38;

/** One draw of Gamma(alpha, 1) (Marsaglia & Tsang 2000, with the alpha < 1 boost). */
function standardGammaNumber(alpha: number, u: () => number): number {
  const boost = alpha < 1 ? Math.pow(u(), 1 / alpha) : 1;
  const a = alpha < 1 ? alpha + 1 : alpha;
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      // Box-Muller standard normal.
      x = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const w = u();
    if (w < 1 - 0.0331 * x ** 4 || Math.log(w) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
      return Math.max(d * v * boost, TINY);
    }
  }
}

/**
 * dz/dalpha for z ~ Gamma(alpha, 1) drawn by inverting the CDF: -dP(alpha, z)/dalpha / f(z; alpha)
 * (implicit reparameterisation, Figurnov et al. 2018). dP/dalpha by a central difference of the
 * double-precision incomplete gamma function.
 */
function standardGammaGradNumber(alpha: number, z: number): number {
  const h = 1e-5 * Math.min(1, alpha);
  const dP = (gammaPNumber(alpha + h, z) - gammaPNumber(alpha - h, z)) / (2 * h);
  const logDensity = (alpha - 1) * Math.log(z) - z - lgammaNumber(alpha);
  const grad = -dP / Math.exp(logDensity);
  return Number.isFinite(grad) ? grad : 0;
}

/**
 * Reparameterised draws of Gamma(alpha, 1) with the shape of `alpha`: the draw is made in
 * JavaScript, its gradient with respect to alpha is the implicit one above.
 */
export function standardGamma(alpha: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    const data = a.dataSync();
    const u = uniformSource();
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = standardGammaNumber(data[i]!, u);
    const z = tf.tensor(out, a.shape, 'float32');
    save([a, z]);
    return {
      value: z,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sz] = saved as [tf.Tensor, tf.Tensor];
        const av = sa.dataSync();
        const zv = sz.dataSync();
        const g = new Float32Array(av.length);
        for (let i = 0; i < av.length; i++) g[i] = standardGammaGradNumber(av[i]!, zv[i]!);
        return tf.mul(dy, tf.tensor(g, sa.shape, 'float32'));
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
    const z = standardGamma(tf.broadcastTo(this.concentration, shape));
    return tf.maximum(tf.div(z, this.rate), TINY);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // a log(rate) + (a - 1) log(x) - rate x - lgamma(a), with 0 log 0 = 0 at x = 0.
    const a = this.concentration;
    return tf.sub(
      tf.sub(tf.add(xlogy(a, this.rate), xlogy(tf.sub(a, 1), x)), tf.mul(this.rate, x)),
      lgamma(a),
    );
  }
  protected override _entropy(): tf.Tensor {
    const a = this.concentration;
    return tf.add(
      tf.add(tf.sub(a, tf.log(this.rate)), lgamma(a)),
      tf.mul(tf.sub(1, a), digamma(a)),
    );
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
  return tf.where(tf.less(p.low, 0), tf.fill(result.shape, Infinity), result);
});
registerKL(Exponential, Gamma, (p, q) => {
  const ratio = tf.div(q.rate, p.rate);
  const t1 = tf.mul(tf.neg(q.concentration), tf.log(ratio));
  return tf.sub(tf.add(tf.add(tf.add(t1, ratio), lgamma(q.concentration)), tf.mul(q.concentration, EULER_GAMMA)), 1 + EULER_GAMMA);
});
registerKL(Gamma, Exponential, (p, q) =>
  tf.add(tf.sub(tf.neg(p.entropy()), tf.log(q.rate)), tf.div(tf.mul(q.rate, p.concentration), p.rate)),
);
registerKL(Normal, Gamma, infiniteKL);
registerKL(Laplace, Gamma, infiniteKL);
registerKL(Gamma, Uniform, infiniteKL);
