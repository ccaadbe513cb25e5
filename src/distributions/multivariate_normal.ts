/**
 * The multivariate normal distribution, torch.distributions.MultivariateNormal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { argError } from '../errors.js';
import { cholesky, diagPart, inverseSpd, solveLowerTriangular } from '../math/linalg.js';
import { nextSeed } from '../random.js';
import { lowerCholesky, positiveDefinite, realVector, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { broadcastShapes, type TensorInput } from './util.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** The matrix argument of MultivariateNormal: exactly one of the three. */
export type MvnMatrix =
  | { covarianceMatrix: TensorInput; scaleTril?: undefined; precisionMatrix?: undefined }
  | { scaleTril: TensorInput; covarianceMatrix?: undefined; precisionMatrix?: undefined }
  | { precisionMatrix: TensorInput; covarianceMatrix?: undefined; scaleTril?: undefined };

/**
 * MultivariateNormal(loc, { covarianceMatrix } | { scaleTril } | { precisionMatrix }):
 * loc `[..., D]`, matrix `[..., D, D]`; batch shape is the broadcast of their leading dims and the
 * event shape [D]. Everything is computed from the lower Cholesky factor `scaleTril` (given, or
 * computed once at construction). Cholesky and triangular solves are tfjs ops looped over D
 * (gradients flow), which suits latent sizes up to a few hundred.
 */
export class MultivariateNormal extends Distribution {
  /** Mean, `[...batchShape, D]`. */
  readonly loc: tf.Tensor;
  /** Lower Cholesky factor L of the covariance (Sigma = L L^T), `[...batchShape, D, D]`. */
  readonly scaleTril: tf.Tensor;

  constructor(loc: TensorInput, matrix: MvnMatrix, options: DistributionOptions = {}) {
    const m = (matrix ?? {}) as Record<string, TensorInput | undefined>;
    const kinds = (['covarianceMatrix', 'scaleTril', 'precisionMatrix'] as const).filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) {
      throw argError('MultivariateNormal', 'matrix', 'an object with exactly one of { covarianceMatrix }, { scaleTril } or { precisionMatrix }', matrix);
    }
    const kind = kinds[0]!;
    const p = prepareParams('MultivariateNormal', { loc, [kind]: m[kind] } as Record<string, unknown>, {
      loc: 1,
      [kind]: 2,
    });
    const l = p.values['loc']!;
    const mat = p.values[kind]!;
    const d = l.shape[l.rank - 1]!;
    if (mat.shape[mat.rank - 1] !== d || mat.shape[mat.rank - 2] !== d) {
      tf.dispose(p.created);
      throw argError('MultivariateNormal', kind, `a matrix of shape [..., ${d}, ${d}] to match loc [..., ${d}]`, mat);
    }
    super(p.batchShape, [d], options);
    this.loc = l;
    this.init(p.created, { [kind]: mat, loc: l });
    if (kind === 'scaleTril') this.scaleTril = mat;
    else if (kind === 'covarianceMatrix') this.scaleTril = this.own(cholesky(mat));
    else this.scaleTril = this.own(tf.tidy(() => cholesky(inverseSpd(mat))));
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: realVector, covarianceMatrix: positiveDefinite, precisionMatrix: positiveDefinite, scaleTril: lowerCholesky };
  }
  get support(): Constraint {
    return realVector;
  }
  override get hasRsample(): boolean {
    return true;
  }
  /** Covariance L L^T, `[...batchShape, D, D]` (a new tensor). */
  get covarianceMatrix(): tf.Tensor {
    return tf.tidy(() => tf.matMul(this.scaleTril, this.scaleTril, false, true));
  }
  /** Precision (inverse covariance), `[...batchShape, D, D]` (a new tensor). */
  get precisionMatrix(): tf.Tensor {
    return tf.tidy(() => {
      const lInv = solveLowerTriangular(this.scaleTril, tf.eye(this.eventShape[0]!));
      return tf.matMul(lInv, lInv, true, false);
    });
  }

  expand(batchShape: number[]): MultivariateNormal {
    return this.expandWith(batchShape, (b) => new MultivariateNormal(b(this.loc, 1), { scaleTril: b(this.scaleTril, 2) }, this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const eps = tf.randomNormal([...sampleShape, ...this.batchShape, ...this.eventShape], 0, 1, 'float32', nextSeed());
    // loc + L eps, as a batched matrix-vector product: [..., D, D] x [..., D, 1].
    const shape = broadcastShapes('MultivariateNormal.rsample', [
      ['eps', eps.shape.slice(0, -1)],
      ['L', this.scaleTril.shape.slice(0, -2)],
    ]);
    const d = this.eventShape[0]!;
    const l = broadcastTo(this.scaleTril, [...shape, d, d]);
    return tf.add(this.loc, tf.squeeze(tf.matMul(l, tf.expandDims(eps, -1)), [-1]));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -(D log 2 pi + |L^-1 (x - loc)|^2) / 2 - sum log diag L
    const d = this.eventShape[0]!;
    const diff = tf.sub(x, this.loc); // [..., D]
    const m = mahalanobisSquared(this.scaleTril, diff);
    const halfLogDet = tf.sum(tf.log(diagPart(this.scaleTril)), -1);
    return tf.sub(tf.mul(-0.5, tf.add(d * LOG_2PI, m)), halfLogDet);
  }
  protected override _entropy(): tf.Tensor {
    const d = this.eventShape[0]!;
    const halfLogDet = tf.sum(tf.log(diagPart(this.scaleTril)), -1);
    return tf.add(0.5 * d * (1 + LOG_2PI), halfLogDet);
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return tf.sum(tf.square(this.scaleTril), -1);
  }
}

/** |L^-1 v|^2 over the last axis; v `[..., D]` broadcasts against L `[..., D, D]`. */
export function mahalanobisSquared(l: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const y = solveLowerTriangular(l, tf.expandDims(v, -1)); // [..., D, 1]
    return tf.sum(tf.square(tf.squeeze(y, [-1])), -1);
  });
}

/**
 * KL between Gaussians from Cholesky factors:
 * sum log diag Lq - sum log diag Lp + (|Lq^-1 Lp|_F^2 + |Lq^-1 (mq - mp)|^2 - D) / 2.
 */
export function gaussianKL(locP: tf.Tensor, lp: tf.Tensor, locQ: tf.Tensor, lq: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = locP.shape[locP.rank - 1]!;
    const halfTerm1 = tf.sub(tf.sum(tf.log(diagPart(lq)), -1), tf.sum(tf.log(diagPart(lp)), -1));
    const term2 = tf.sum(tf.square(solveLowerTriangular(lq, lp)), [-2, -1]);
    const term3 = mahalanobisSquared(lq, tf.sub(locQ, locP));
    return tf.add(halfTerm1, tf.mul(0.5, tf.sub(tf.add(term2, term3), d)));
  });
}

registerKL(MultivariateNormal, MultivariateNormal, (p, q) => gaussianKL(p.loc, p.scaleTril, q.loc, q.scaleTril));
