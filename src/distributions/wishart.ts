/**
 * The Wishart distribution over positive-definite matrices, torch.distributions.Wishart.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { cholesky, diagPart, inverseSpd, solveLowerTriangular } from '../math/linalg.js';
import { mvdigamma, mvlgamma } from '../math/special.js';
import { nextSeed } from '../random.js';
import { greaterThan, lowerCholesky, positiveDefinite, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { standardGamma } from './gamma.js';
import { registerKL } from './kl.js';
import type { MvnMatrix } from './multivariate_normal.js';
import { EPS, unsqueeze, type TensorInput } from './util.js';

const LOG_2 = Math.log(2);

/**
 * Wishart draws are C C^T + j I with j = WISHART_SHIFT (p + 1) eps tr(C C^T): twice the most that
 * float32 rounding can move C C^T (p eps tr, eps for the sum), so every draw is positive definite
 * as stored. A relative shift of the diagonal by about 2 p (p + 1) eps (1.4e-6 at p = 2).
 */
const WISHART_SHIFT = 2;

/** sum_i log L_ii: half the log-determinant of L L^T. */
function halfLogDet(l: tf.Tensor): tf.Tensor {
  return tf.sum(tf.log(diagPart(l)), -1);
}

/**
 * Wishart(df, { covarianceMatrix } | { precisionMatrix } | { scaleTril }): the distribution of
 * sum_(k=1..df) x_k x_k^T for x_k ~ N(0, V) (any real df > p - 1), over p x p positive-definite
 * matrices; the conjugate prior of a Gaussian precision. Density
 * |X|^((df - p - 1)/2) e^(-tr(V^-1 X)/2) / (2^(df p/2) |V|^(df/2) Gamma_p(df/2)). `df` has the batch
 * shape, the matrix `[..., p, p]`; event shape [p, p]. rsample is Bartlett's decomposition
 * (chi-square diagonal through the implicit Gamma gradient, normal below it), so gradients reach
 * df and the matrix. Each draw is shifted by j I, j = 2 (p + 1) eps tr(X), so that no draw rounds to an
 * indefinite float32 matrix (a relative 1.4e-6 of the diagonal at p = 2). The mean is df V, the mode (df - p - 1) V (NaN for df <= p + 1).
 *
 * @example
 * const precision = new Wishart(5, { covarianceMatrix: [[1, 0.3], [0.3, 2]] });
 */
export class Wishart extends Distribution {
  /** Degrees of freedom, > p - 1, batch shape. */
  readonly df: tf.Tensor;
  /** Lower Cholesky factor L of the scale matrix V = L L^T, `[...batch, p, p]`. */
  readonly scaleTril: tf.Tensor;
  private readonly p: number;

  constructor(df: TensorInput, matrix: MvnMatrix, options: DistributionOptions = {}) {
    const m = (matrix ?? {}) as Record<string, TensorInput | undefined>;
    const kinds = (['covarianceMatrix', 'scaleTril', 'precisionMatrix'] as const).filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) {
      throw argError('Wishart', 'matrix', 'an object with exactly one of { covarianceMatrix }, { scaleTril } or { precisionMatrix }', matrix);
    }
    const kind = kinds[0]!;
    const prep = prepareParams('Wishart', { df, [kind]: m[kind] } as Record<string, unknown>, { [kind]: 2 });
    const mat = prep.values[kind]!;
    const p = mat.shape[mat.rank - 1]!;
    if (mat.shape[mat.rank - 2] !== p) {
      tf.dispose(prep.created);
      throw argError('Wishart', kind, 'square matrices [..., p, p]', mat);
    }
    super(prep.batchShape, [p, p], options);
    this.p = p;
    this.df = prep.values['df']!;
    this.init(prep.created, { df: this.df, [kind]: mat });
    if (kind === 'scaleTril') this.scaleTril = mat;
    else if (kind === 'covarianceMatrix') this.scaleTril = this.own(cholesky(mat));
    else this.scaleTril = this.own(tf.tidy(() => cholesky(inverseSpd(mat))));
  }

  get argConstraints(): Record<string, Constraint> {
    return { df: greaterThan(this.p - 1), covarianceMatrix: positiveDefinite, precisionMatrix: positiveDefinite, scaleTril: lowerCholesky };
  }
  get support(): Constraint {
    return positiveDefinite;
  }
  override get hasRsample(): boolean {
    return true;
  }
  /** The scale matrix V = L L^T, `[...batch, p, p]` (a new tensor). */
  get covarianceMatrix(): tf.Tensor {
    return tf.tidy(() => tf.matMul(this.scaleTril, this.scaleTril, false, true));
  }
  /** V^-1, `[...batch, p, p]` (a new tensor). */
  get precisionMatrix(): tf.Tensor {
    return tf.tidy(() => {
      const lInv = solveLowerTriangular(this.scaleTril, tf.eye(this.p));
      return tf.matMul(lInv, lInv, true, false);
    });
  }

  expand(batchShape: number[]): Wishart {
    return this.expandWith(batchShape, (b) => new Wishart(b(this.df), { scaleTril: b(this.scaleTril, 2) }, this.options()));
  }

  /** df with two trailing 1s, to scale matrices. */
  private dfMatrix(): tf.Tensor {
    return unsqueeze(unsqueeze(this.df, -1), -1);
  }

  /**
   * One Bartlett draw of the factor C = L A ([...shape, p, p], lower triangular, positive diagonal):
   * A_ii = sqrt(chi^2_(df - i)), A_ij ~ N(0, 1) below the diagonal. C is the Cholesky factor of the
   * draw X = C C^T.
   */
  private bartlettFactor(shape: number[]): tf.Tensor {
    const p = this.p;
    const halfDf = tf.mul(0.5, tf.broadcastTo(this.df, shape));
    const diag = tf.stack(
      Array.from({ length: p }, (_, i) => tf.sqrt(tf.maximum(tf.mul(2, standardGamma(tf.sub(halfDf, i / 2))), EPS))),
      -1,
    ); // [..., p]
    const strict = tf.sub(tf.linalg.bandPart(tf.ones([p, p]), -1, 0), tf.eye(p));
    const a = tf.add(tf.mul(tf.randomNormal([...shape, p, p], 0, 1, 'float32', nextSeed()), strict), tf.mul(unsqueeze(diag, -1), tf.eye(p)));
    return tf.matMul(tf.broadcastTo(this.scaleTril, [...shape, p, p]), a);
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    // Bartlett: X = C C^T with C = L A. When df is near p - 1 a draw can be so close to singular
    // that X rounded to float32 is not positive definite (4% to 37% of the draws at df = p - 1 + 0.05
    // for p = 2 to 8; rare at df = 2.5, p = 2, where one CI run met one in 2,000 draws), where
    // torch draws again and can still return singular draws.
    // Rounding moves C C^T by at most p eps tr(X) in norm, so X + j I with
    // j = WISHART_SHIFT (p + 1) eps tr(X) stays positive definite whatever the rounding.
    const p = this.p;
    const c = this.bartlettFactor([...sampleShape, ...this.batchShape]);
    const x = tf.matMul(c, c, false, true);
    const j = tf.mul(WISHART_SHIFT * (p + 1) * EPS, tf.sum(tf.square(c), [-2, -1]));
    return tf.add(x, tf.mul(unsqueeze(unsqueeze(j, -1), -1), tf.eye(p)));
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // -df (p log 2 / 2 + log|L|) - log Gamma_p(df/2) + (df - p - 1)/2 log|X| - tr(V^-1 X)/2
    const p = this.p;
    const nu = this.df;
    const logDetX = tf.mul(2, halfLogDet(cholesky(x)));
    const traceVinvX = tf.sum(tf.mul(this.precisionMatrix, x), [-2, -1]);
    const norm = tf.add(tf.mul(nu, tf.add((p * LOG_2) / 2, halfLogDet(this.scaleTril))), mvlgamma(tf.mul(0.5, nu), p));
    return tf.sub(tf.sub(tf.mul(tf.mul(0.5, tf.sub(nu, p + 1)), logDetX), norm), tf.mul(0.5, traceVinvX));
  }
  protected override _entropy(): tf.Tensor {
    // (p + 1)(p log 2 / 2 + log|L|) + log Gamma_p(df/2) - (df - p - 1)/2 psi_p(df/2) + df p / 2
    const p = this.p;
    const nu = this.df;
    const half = tf.mul(0.5, nu);
    const first = tf.mul(p + 1, tf.add((p * LOG_2) / 2, halfLogDet(this.scaleTril)));
    return tf.add(tf.sub(tf.add(first, mvlgamma(half, p)), tf.mul(tf.mul(0.5, tf.sub(nu, p + 1)), mvdigamma(half, p))), tf.mul(nu, p / 2));
  }
  protected override _mean(): tf.Tensor {
    return tf.mul(this.dfMatrix(), this.covarianceMatrix);
  }
  protected override _mode(): tf.Tensor {
    const factor = tf.sub(this.df, this.p + 1);
    const safe = tf.where(tf.greater(factor, 0), factor, tf.fill(factor.shape, NaN));
    return tf.mul(unsqueeze(unsqueeze(safe, -1), -1), this.covarianceMatrix);
  }
  protected override _variance(): tf.Tensor {
    // df (V_ij^2 + V_ii V_jj)
    const v = this.covarianceMatrix;
    const d = diagPart(v);
    return tf.mul(this.dfMatrix(), tf.add(tf.square(v), tf.mul(unsqueeze(d, -1), unsqueeze(d, -2))));
  }
}

// KL(W(n1, V1) || W(n2, V2)) = n2/2 (log|V2| - log|V1|) + n1/2 (tr(V2^-1 V1) - p) + log Gamma_p(n2/2)
//   - log Gamma_p(n1/2) + (n1 - n2)/2 psi_p(n1/2), from the expectations E[log|X|] and E[X] under p;
// tr(V2^-1 V1) = |L2^-1 L1|_F^2. (torch 1.13 has no closed form; its exponential-family fallback
// is wrong, so the fixture compares with this formula in float64 and the identity test with Monte Carlo.)
registerKL(Wishart, Wishart, (a, b) => {
  const pDim = a.eventShape[0]!;
  if (b.eventShape[0] !== pDim)
    throw argError('klDivergence(Wishart, Wishart)', 'q', `a Wishart over ${pDim} x ${pDim} matrices`, `one over ${b.eventShape[0]} x ${b.eventShape[0]}`);
  const m = solveLowerTriangular(b.scaleTril, a.scaleTril);
  const trace = tf.sum(tf.square(m), [-2, -1]);
  const logDetDiff = tf.mul(2, tf.sub(halfLogDet(b.scaleTril), halfLogDet(a.scaleTril)));
  const [h1, h2] = [tf.mul(0.5, a.df), tf.mul(0.5, b.df)];
  const terms = tf.add(tf.mul(h2, logDetDiff), tf.mul(h1, tf.sub(trace, pDim)));
  const gammas = tf.sub(mvlgamma(h2, pDim), mvlgamma(h1, pDim));
  return tf.add(tf.add(terms, gammas), tf.mul(tf.sub(h1, h2), mvdigamma(h1, pDim)));
});
