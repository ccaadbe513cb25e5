/**
 * The von Mises distribution on the circle, torch.distributions.VonMises.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { besselI1I0Complement, logBesselIe } from '../math/special.js';
import { nextSeed } from '../random.js';
import { positive, real, type Constraint } from './constraints.js';
import { Distribution, prepareParams, type DistributionOptions } from './distribution.js';
import { firstAccepted, type TensorInput } from './util.js';

/**
 * Rounds of Best and Fisher's rejection sampler. Its acceptance probability is lowest, about 0.66,
 * at concentrations near 1 and rises to 1 at both ends (Best & Fisher 1979, table 1), so an
 * element is left without an accepted candidate after 26 rounds with probability below
 * 0.345^26 = 1e-12; it then takes the mode.
 */
const VON_MISES_ROUNDS = 26;
/**
 * VonMises(loc, concentration): the circular normal, density exp(kappa cos(x - loc)) / (2 pi I_0(kappa))
 * on angles, with torch's conventions: the support is every real (the density is 2 pi periodic),
 * samples lie in [-pi, pi), the mean and mode are loc and the variance is the circular variance
 * 1 - I_1(kappa) / I_0(kappa). Samples by Best and Fisher's rejection method on the device, in a form that keeps float32
 * draws exact at large concentrations.
 *
 * @example
 * const wind = new VonMises(Math.PI / 4, 2);
 */
export class VonMises extends Distribution {
  /** Mean direction, batch shape. */
  readonly loc: tf.Tensor;
  /** Concentration kappa > 0, batch shape. */
  readonly concentration: tf.Tensor;

  constructor(loc: TensorInput, concentration: TensorInput, options: DistributionOptions = {}) {
    const p = prepareParams('VonMises', { loc, concentration });
    super(p.batchShape, [], options);
    this.loc = p.values.loc;
    this.concentration = p.values.concentration;
    this.init(p.created, p.values);
  }

  get argConstraints(): Record<string, Constraint> {
    return { loc: real, concentration: positive };
  }
  get support(): Constraint {
    return real;
  }

  expand(batchShape: number[]): VonMises {
    return this.expandWith(batchShape, (b) => new VonMises(b(this.loc), b(this.concentration), this.options()));
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    const shape = [...sampleShape, ...this.batchShape];
    const kappa = broadcastTo(this.concentration, shape);
    // Best & Fisher (1979): a wrapped Cauchy envelope with r = (1 + rho^2) / (2 rho),
    // rho = (tau - sqrt(2 tau)) / (2 kappa), tau = 1 + sqrt(1 + 4 kappa^2). At large kappa r, f and
    // z crowd 1, so everything is carried as its distance from 1 (r - 1 = (1 - rho)^2 / (2 rho),
    // 1 - z = 2 sin^2(pi u / 2), 1 - f = (r - 1)(1 - z) / (r + z), c = kappa (r^2 - 1) / (r + z),
    // the angle 2 asin(sqrt((1 - f) / 2))): float32 keeps the draws exact to kappa = 1e8 and past.
    // Below kappa = 1e-5 r = 1 / kappa + kappa, the expansion (the closed form cancels there).
    const root = tf.sqrt(tf.add(1, tf.mul(4, tf.square(kappa))));
    const tau = tf.add(1, root);
    // 1 - rho = (sqrt(2 tau) - 1 - 1 / (root + 2 kappa)) / (2 kappa)
    const oneMinusRho = tf.div(tf.sub(tf.sub(tf.sqrt(tf.mul(2, tau)), 1), tf.reciprocal(tf.add(root, tf.mul(2, kappa)))), tf.mul(2, kappa));
    const rho = tf.sub(1, oneMinusRho);
    const tiny = tf.less(kappa, 1e-5);
    const rMinus1 = tf.where(tiny, tf.sub(tf.add(tf.reciprocal(kappa), kappa), 1), tf.div(tf.square(oneMinusRho), tf.mul(2, rho)));
    const rounds = [VON_MISES_ROUNDS, ...shape];
    const u1 = tf.randomUniform(rounds, 0, 1, 'float32', nextSeed());
    const u2 = tf.randomUniform(rounds, 0, 1, 'float32', nextSeed());
    const u3 = tf.randomUniform(rounds, 0, 1, 'float32', nextSeed());
    const halfAngle = tf.mul(0.5 * Math.PI, u1);
    const oneMinusZ = tf.mul(2, tf.square(tf.sin(halfAngle)));
    const rPlusZ = tf.add(rMinus1, tf.mul(2, tf.square(tf.cos(halfAngle)))); // (r - 1) + (1 + z)
    const oneMinusF = tf.div(tf.mul(rMinus1, oneMinusZ), rPlusZ);
    const c = tf.div(tf.mul(kappa, tf.mul(rMinus1, tf.add(2, rMinus1))), rPlusZ);
    const accept = tf.logicalOr(tf.greater(tf.sub(tf.mul(c, tf.sub(2, c)), u2), 0), tf.greaterEqual(tf.sub(tf.add(tf.log(tf.div(c, u2)), 1), c), 0));
    const theta = tf.mul(2, tf.asin(tf.sqrt(tf.clipByValue(tf.mul(0.5, oneMinusF), 0, 1))));
    // Candidates are angles in [0, pi] with a random sign; as firstAccepted keeps candidates >= 0,
    // the angle is shifted by pi while choosing; the mode where no round accepts.
    const angle = tf.add(tf.mul(tf.sign(tf.sub(u3, 0.5)), theta), Math.PI);
    const x = tf.sub(firstAccepted(accept, angle, tf.fill(shape, Math.PI)), Math.PI);
    // Wrapped to [-pi, pi) around loc (float32 pi; a rounding up to pi itself is moved to -pi).
    const wrapped = tf.sub(tf.mod(tf.add(tf.add(x, this.loc), Math.PI), 2 * Math.PI), Math.PI);
    return tf.where(tf.greaterEqual(wrapped, Math.PI), tf.sub(wrapped, 2 * Math.PI), wrapped);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // kappa cos(x - loc) - log(2 pi) - log I_0(kappa) = -2 kappa sin^2((x - loc) / 2) - log(2 pi) - log(I_0(kappa) e^-kappa):
    // no kappa - kappa to cancel at large concentrations.
    const kappa = this.concentration;
    const half = tf.sin(tf.mul(0.5, tf.sub(x, this.loc)));
    return tf.sub(tf.mul(tf.mul(-2, kappa), tf.square(half)), tf.add(Math.log(2 * Math.PI), logBesselIe(0, kappa)));
  }
  protected override _mean(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _mode(): tf.Tensor {
    return tf.clone(this.loc);
  }
  protected override _variance(): tf.Tensor {
    return besselI1I0Complement(this.concentration);
  }
}
