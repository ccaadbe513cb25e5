/**
 * The multivariate normal with low-rank plus diagonal covariance,
 * torch.distributions.LowRankMultivariateNormal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { argError, Described } from '../errors.js';
import { cholesky, diagPart, solveLowerTriangular } from '../math/linalg.js';
import { nextSeed } from '../random.js';
import { independent, positive, real, realVector, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { registerKL } from './kl.js';
import { gaussianKL, MultivariateNormal } from './multivariate_normal.js';
import type { TensorInput } from './util.js';

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * LowRankMultivariateNormal(loc, covFactor, covDiag): covariance W W^T + diag(d) with
 * loc `[..., D]`, covFactor W `[..., D, R]`, covDiag d `[..., D]` (> 0). logProb and entropy use
 * the R x R capacitance matrix C = I + W^T D^-1 W (Woodbury identity and the matrix determinant
 * lemma), so their cost grows with R, not D.
 */
export class LowRankMultivariateNormal extends Distribution {
  /** Mean, `[...batchShape, D]`. */
  readonly loc: tf.Tensor;
  /** W, `[...batchShape, D, R]`. */
  readonly covFactor: tf.Tensor;
  /** d, `[...batchShape, D]`. */
  readonly covDiag: tf.Tensor;
  /** Lower Cholesky factor of the capacitance matrix, `[...batchShape, R, R]`. */
  private readonly capacitanceTril: tf.Tensor;

  constructor(loc: TensorInput, covFactor: TensorInput, covDiag: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('LowRankMultivariateNormal', { loc, covFactor, covDiag }, { loc: 1, covFactor: 2, covDiag: 1 });
    const { loc: l, covFactor: w, covDiag: dg } = p.values;
    const d = l.shape[l.rank - 1]!;
    if (w.shape[w.rank - 2] !== d || dg.shape[dg.rank - 1] !== d) {
      tf.dispose(p.created);
      throw argError(
        'LowRankMultivariateNormal',
        'covFactor',
        `shape [..., ${d}, R] with covDiag [..., ${d}] to match loc [..., ${d}]`,
        new Described(`covFactor [${w.shape.join(', ')}] and covDiag [${dg.shape.join(', ')}]`),
      );
    }
    super(p.batchShape, [d], options);
    this.loc = l;
    this.covFactor = w;
    this.covDiag = dg;
    this.init(p.created, p.values);
    this.capacitanceTril = this.own(
      tf.tidy(() => {
        const r = w.shape[w.rank - 1]!;
        const wt = tf.div(w, tf.expandDims(tf.sqrt(dg), -1)); // D^-1/2 W
        return cholesky(tf.add(tf.eye(r), tf.matMul(wt, wt, true, false)));
      }),
    );
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: realVector, covFactor: independent(real, 2), covDiag: independent(positive, 1) };
  }
  get support(): Constraint {
    return realVector;
  }
  override get hasRsample(): boolean {
    return true;
  }
  /** W W^T + diag(d), `[...batchShape, D, D]` (a new tensor). */
  get covarianceMatrix(): tf.Tensor {
    return tf.tidy(() => {
      const ww = tf.matMul(this.covFactor, this.covFactor, false, true);
      return tf.add(ww, tf.mul(tf.expandDims(this.covDiag, -1), tf.eye(this.eventShape[0]!)));
    });
  }
  /** Lower Cholesky factor of the covariance, `[...batchShape, D, D]` (a new tensor). */
  get scaleTril(): tf.Tensor {
    return tf.tidy(() => cholesky(this.covarianceMatrix));
  }

  expand(batchShape: number[]): LowRankMultivariateNormal {
    return this.expandWith(batchShape, (b) => new LowRankMultivariateNormal(b(this.loc, 1), b(this.covFactor, 2), b(this.covDiag, 1), this.options()));
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const r = this.covFactor.shape[this.covFactor.rank - 1]!;
    const head = [...sampleShape, ...this.batchShape];
    const epsW = tf.randomNormal([...head, r, 1], 0, 1, 'float32', nextSeed());
    const epsD = tf.randomNormal([...head, ...this.eventShape], 0, 1, 'float32', nextSeed());
    const d = this.eventShape[0]!;
    const w = broadcastTo(this.covFactor, [...head, d, r]);
    const lowRank = tf.squeeze(tf.matMul(w, epsW), [-1]);
    return tf.add(tf.add(this.loc, lowRank), tf.mul(tf.sqrt(this.covDiag), epsD));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    const d = this.eventShape[0]!;
    const diff = tf.sub(x, this.loc); // [..., D]
    // Woodbury: x^T Sigma^-1 x = x^T D^-1 x - |Lc^-1 W^T D^-1 x|^2
    const dInvX = tf.div(diff, this.covDiag);
    const head = diff.shape.slice(0, -1);
    const r = this.covFactor.shape[this.covFactor.rank - 1]!;
    const w = broadcastTo(this.covFactor, [...head, d, r]);
    const wtDx = tf.matMul(w, tf.expandDims(dInvX, -1), true, false); // [..., R, 1]
    const y = solveLowerTriangular(this.capacitanceTril, wtDx);
    const m = tf.sub(tf.sum(tf.mul(diff, dInvX), -1), tf.sum(tf.square(y), [-2, -1]));
    return tf.mul(-0.5, tf.add(tf.add(d * LOG_2PI, m), this.logDet()));
  }
  /** log det(W W^T + D) = 2 sum log diag Lc + sum log d. */
  private logDet(): tf.Tensor {
    return tf.add(tf.mul(2, tf.sum(tf.log(diagPart(this.capacitanceTril)), -1)), tf.sum(tf.log(this.covDiag), -1));
  }
  protected override _entropy(): tf.Tensor {
    const d = this.eventShape[0]!;
    return tf.mul(0.5, tf.add(d * (1 + LOG_2PI), this.logDet()));
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return tf.add(tf.sum(tf.square(this.covFactor), -1), this.covDiag);
  }
}

// The low-rank pairs go through Cholesky factors of the full covariances: O(D^3) like torch's
// MultivariateNormal pairs, simple and exact.
registerKL(LowRankMultivariateNormal, LowRankMultivariateNormal, (p, q) => gaussianKL(p.loc, p.scaleTril, q.loc, q.scaleTril));
registerKL(MultivariateNormal, LowRankMultivariateNormal, (p, q) => gaussianKL(p.loc, p.scaleTril, q.loc, q.scaleTril));
registerKL(LowRankMultivariateNormal, MultivariateNormal, (p, q) => gaussianKL(p.loc, p.scaleTril, q.loc, q.scaleTril));
