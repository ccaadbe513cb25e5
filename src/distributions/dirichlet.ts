/**
 * The Dirichlet distribution, torch.distributions.Dirichlet.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { digamma, lgamma, xlogy } from '../math/special.js';
import { independent, positive, simplex, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { registerKL } from './kl.js';
import type { TensorInput } from './util.js';

/**
 * Dirichlet(concentration) on the probability simplex: concentration `[...batchShape, K]`,
 * event shape [K]. `rsample` normalises reparameterised Gamma draws.
 */
export class Dirichlet extends Distribution {
  /** Concentrations alpha > 0, `[...batchShape, K]`. */
  readonly concentration: tf.Tensor;

  constructor(concentration: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('Dirichlet', { concentration }, { concentration: 1 });
    const c = p.values.concentration;
    super(p.batchShape, [c.shape[c.rank - 1]!], options);
    this.concentration = c;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { concentration: independent(positive, 1) };
  }
  get support(): Constraint {
    return simplex;
  }
  override get hasRsample(): boolean {
    return true;
  }

  expand(batchShape: number[]): Dirichlet {
    return this.expandWith(batchShape, (b) => new Dirichlet(b(this.concentration, 1), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const g = standardGamma(broadcastTo(this.concentration, [...sampleShape, ...this.batchShape, ...this.eventShape]));
    return tf.div(g, tf.sum(g, -1, true));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // sum (a - 1) log x + lgamma(sum a) - sum lgamma(a)
    const a = this.concentration;
    return tf.add(tf.sum(xlogy(tf.sub(a, 1), x), -1), tf.sub(lgamma(tf.sum(a, -1)), tf.sum(lgamma(a), -1)));
  }
  protected override _entropy(): tf.Tensor {
    // log B(a) + (a0 - K) psi(a0) - sum (a - 1) psi(a)
    const a = this.concentration;
    const k = this.eventShape[0]!;
    const a0 = tf.sum(a, -1);
    const logBeta = tf.sub(tf.sum(lgamma(a), -1), lgamma(a0));
    return tf.sub(tf.add(logBeta, tf.mul(tf.sub(a0, k), digamma(a0))), tf.sum(tf.mul(tf.sub(a, 1), digamma(a)), -1));
  }
  protected override _mean(): tf.Tensor {
    return tf.div(this.concentration, tf.sum(this.concentration, -1, true));
  }
  protected override _mode(): tf.Tensor {
    // (a - 1)_+ normalised; where every a < 1 the mode is the vertex of the largest a (as torch).
    const a = this.concentration;
    const k = this.eventShape[0]!;
    const m = tf.relu(tf.sub(a, 1));
    const mode = tf.div(m, tf.sum(m, -1, true));
    const allBelow = tf.all(tf.less(a, 1), -1, true);
    return tf.where(broadcastTo(allBelow, a.shape), tf.cast(tf.oneHot(tf.argMax(a, -1), k), 'float32'), mode);
  }
  protected override _variance(): tf.Tensor {
    const a = this.concentration;
    const a0 = tf.sum(a, -1, true);
    return tf.div(tf.mul(a, tf.sub(a0, a)), tf.mul(tf.square(a0), tf.add(a0, 1)));
  }
}

// KL = lgamma(sum p) - lgamma(sum q) - sum lgamma(p) + sum lgamma(q) + sum (p - q)(psi(p) - psi(sum p))
registerKL(Dirichlet, Dirichlet, (p, q) => {
  const a = p.concentration;
  const b = q.concentration;
  const a0 = tf.sum(a, -1);
  const t1 = tf.sub(lgamma(a0), lgamma(tf.sum(b, -1)));
  const t2 = tf.sum(tf.sub(lgamma(b), lgamma(a)), -1);
  const t3 = tf.sum(tf.mul(tf.sub(a, b), tf.sub(digamma(a), tf.expandDims(digamma(a0), -1))), -1);
  return tf.add(tf.add(t1, t2), t3);
});
