/**
 * The chi-squared distribution, torch.distributions.Chi2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { positive, type Constraint } from './constraints.js';
import type { DistributionOptions } from './distribution.js';
import { Gamma } from './gamma.js';
import { toFloat, type TensorInput } from './util.js';

/**
 * Chi2(df): Gamma(df / 2, 1 / 2), the law of a sum of `df` squared standard normals. A Gamma, so
 * every Gamma method and KL pair applies (as in torch).
 */
export class Chi2 extends Gamma {
  /** Degrees of freedom > 0, batch shape. */
  readonly df: tf.Tensor;

  constructor(df: TensorInput, options: DistributionOptions = {}) {
    const given = toFloat('Chi2', 'df', df);
    const half = tf.mul(given.tensor, 0.5);
    try {
      super(half, 0.5, options);
    } catch (e) {
      tf.dispose([half, ...(given.created ? [given.tensor] : [])]);
      throw e;
    }
    this.df = given.tensor;
    this.init([half, ...(given.created ? [given.tensor] : [])], { df: given.tensor });
  }

  override get argConstraints(): Record<string, Constraint> {
    return { df: positive };
  }

  override expand(batchShape: number[]): Chi2 {
    return this.expandWith(batchShape, (b) => new Chi2(b(this.df), this.options()));
  }
}
