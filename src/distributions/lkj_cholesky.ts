/**
 * The LKJ distribution over Cholesky factors of correlation matrices, torch.distributions.LKJCholesky.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { diagPart } from '../math/linalg.js';
import { lgamma, mvlgamma } from '../math/special.js';
import { nextSeed } from '../random.js';
import { corrCholesky, positive, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { TINY, unsqueeze, type TensorInput } from './util.js';

/**
 * LKJCholesky(dim, concentration = 1): the Cholesky factor L of a dim x dim correlation matrix
 * C = L L^T with density proportional to det(C)^(concentration - 1) (Lewandowski, Kurowicka and
 * Joe, 2009), as torch's: concentration 1 is uniform over correlation matrices, larger values
 * favour the identity. Event shape [dim, dim]; samples by the onion method (Beta draws and
 * uniform directions) on the device, with the paper's Beta parameters (torch 1.13's sampler is off
 * for rows past the second; the test checks the correlations' Beta marginals). Like torch, no
 * rsample, entropy or moments.
 *
 * @example
 * const L = new LKJCholesky(3, 2).sample(); // [3, 3], rows of unit norm
 */
export class LKJCholesky extends Distribution {
  /** Size of the correlation matrices. */
  readonly dim: number;
  /** Concentration > 0, batch shape. */
  readonly concentration: tf.Tensor;

  constructor(dim: number, concentration: TensorInput = 1, options: DistributionOptions = {}) {
    if (!Number.isInteger(dim) || dim < 2) throw argError('LKJCholesky', 'dim', 'an integer >= 2', dim);
    const p = prepareParams('LKJCholesky', { concentration });
    super(p.batchShape, [dim, dim], options);
    this.dim = dim;
    this.concentration = p.values.concentration;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { concentration: positive };
  }
  get support(): Constraint {
    return corrCholesky;
  }

  expand(batchShape: number[]): LKJCholesky {
    return this.expandWith(batchShape, (b) => new LKJCholesky(this.dim, b(this.concentration), this.options()));
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    // Onion method (Lewandowski et al. 2009, sec. 3.2), vectorised over rows: row k's squared
    // off-diagonal length is y_k ~ Beta(k/2, eta + (D - 2)/2 - (k - 1)/2) (row 0 has none), its
    // direction uniform. (torch 1.13 draws Beta((k + 1)/2, ...) for k >= 2: its correlations of
    // rows past the second have variance 0.375 instead of 1/3 at D = 3, eta = 1/2.)
    const d = this.dim;
    const shape = [...sampleShape, ...this.batchShape];
    const offset = [0, ...Array.from({ length: d - 1 }, (_, i) => i)]; // k - 1 for row k >= 1
    const eta = unsqueeze(tf.broadcastTo(this.concentration, shape), -1); // [..., 1]
    const conc1 = tf.broadcastTo(tf.tensor1d(offset.map((o, k) => (k === 0 ? 0.5 : 0.5 * (o + 1)))), [...shape, d]);
    const conc0 = tf.sub(tf.add(eta, 0.5 * (d - 2)), tf.tensor1d(offset.map((o) => 0.5 * o)));
    const g1 = standardGamma(conc1);
    const g0 = standardGamma(tf.broadcastTo(conc0, [...shape, d]));
    const y = tf.div(g1, tf.add(g1, g0)); // [..., D]
    const strict = tf.sub(tf.linalg.bandPart(tf.ones([d, d]), -1, 0), tf.eye(d));
    const u = tf.mul(tf.randomNormal([...shape, d, d], 0, 1, 'float32', nextSeed()), strict);
    const norm = tf.norm(u, 'euclidean', -1, true);
    const direction = tf.div(u, tf.where(tf.equal(norm, 0), tf.onesLike(norm), norm)); // row 0 stays 0
    const w = tf.mul(tf.sqrt(unsqueeze(y, -1)), direction);
    const diag = tf.sqrt(tf.maximum(tf.sub(1, tf.sum(tf.square(w), -1)), TINY));
    return tf.add(w, tf.mul(unsqueeze(diag, -1), tf.eye(d)));
  }
  protected override _logProb(l: tf.Tensor): tf.Tensor {
    // sum_(i=2..D) (2 (eta - 1) + D - i) log L_ii - log normaliser, the normaliser
    // (D - 1)/2 log pi + log Gamma_(D-1)(alpha - 1/2) - (D - 1) lgamma(alpha), alpha = eta + (D - 1)/2.
    const d = this.dim;
    const eta = this.concentration;
    const diag = tf.slice(
      diagPart(l),
      Array.from({ length: l.rank - 1 }, (_, i) => (i === l.rank - 2 ? 1 : 0)),
      Array.from({ length: l.rank - 1 }, (_, i) => (i === l.rank - 2 ? d - 1 : -1)),
    );
    const order = tf.add(unsqueeze(tf.mul(2, tf.sub(eta, 1)), -1), tf.tensor1d(Array.from({ length: d - 1 }, (_, i) => d - (i + 2))));
    const unnormalised = tf.sum(tf.mul(order, tf.log(diag)), -1);
    const alpha = tf.add(eta, 0.5 * (d - 1));
    const normaliser = tf.sub(tf.add(0.5 * (d - 1) * Math.log(Math.PI), mvlgamma(tf.sub(alpha, 0.5), d - 1)), tf.mul(d - 1, lgamma(alpha)));
    return tf.sub(unnormalised, normaliser);
  }
}
