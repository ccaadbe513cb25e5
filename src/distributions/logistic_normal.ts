/**
 * The logistic-normal distribution on the simplex, torch.distributions.LogisticNormal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError } from '../errors.js';
import { positive, real, simplex, type Constraint } from './constraints.js';
import type { BaseOptions, DistributionOptions } from './distribution.js';
import { Normal } from './normal.js';
import { StickBreakingTransform } from './transforms.js';
import { TransformedDistribution } from './transformed_distribution.js';
import type { TensorInput } from './util.js';

/**
 * LogisticNormal(loc, scale): the stick-breaking image of independent Normal(loc, scale) draws of
 * K - 1 coordinates, a distribution on the K-simplex (torch's). `loc` and `scale` have shape
 * `[...batch, K - 1]`; the event shape is `[K]`. Like Dirichlet, but with correlations a Normal
 * can express and a reparameterised `rsample`.
 */
export class LogisticNormal extends TransformedDistribution {
  constructor(loc: TensorInput, scale: TensorInput, options: DistributionOptions = {}) {
    let base = new Normal(loc, scale, { ...options, reportAs: 'LogisticNormal' } as BaseOptions);
    if (base.batchShape.length === 0) {
      const scalar = base;
      base = scalar.expand([1]);
      scalar.dispose();
    }
    super(base, [new StickBreakingTransform()], options);
  }
  private get normal(): Normal {
    // The base is Independent(Normal, 1) (StickBreaking couples the last dimension).
    return (this.base as unknown as { base: Normal }).base;
  }
  /** Mean of the K - 1 Normal coordinates, `[...batch, K - 1]`. */
  get loc(): tf.Tensor {
    return this.normal.loc;
  }
  /** Scale of the K - 1 Normal coordinates, `[...batch, K - 1]`. */
  get scale(): tf.Tensor {
    return this.normal.scale;
  }
  override get argConstraints(): Record<string, Constraint> {
    return { loc: real, scale: positive };
  }
  override get support(): Constraint {
    return simplex;
  }
  override expand(batchShape: number[]): LogisticNormal {
    if (!Array.isArray(batchShape)) throw argError('LogisticNormal.expand', 'batchShape', 'an array', batchShape);
    return this.expandWith(batchShape, (b) => new LogisticNormal(b(this.loc, 1), b(this.scale, 1), this.options()));
  }
}
