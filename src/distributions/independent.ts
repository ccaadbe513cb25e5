/**
 * Independent: reinterprets batch dimensions as event dimensions, torch.distributions.Independent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import { independent, type Constraint } from './constraints.js';
import { Distribution, type DistributionOptions } from './distribution.js';
import { klDivergence, registerKL } from './kl.js';
import { sumRightmost } from './util.js';

/**
 * Independent(base, n): the `n` rightmost batch dimensions of `base` become event dimensions,
 * so `logProb` sums over them. The usual diagonal Gaussian posterior of a VAE is
 * `new Independent(new Normal(mu, sigma), 1)`: batch [B], event [M].
 *
 * The Independent owns `base`: `dispose()` disposes it too.
 *
 * @example
 * const q = new Independent(new Normal(mu, sigma), 1); // mu, sigma: [B, M]
 * q.logProb(z);                                        // [B]
 */
export class Independent<D extends Distribution = Distribution> extends Distribution {
  /** The wrapped distribution. */
  readonly base: D;
  /** How many batch dimensions became event dimensions. */
  readonly reinterpretedBatchNdims: number;

  constructor(base: D, reinterpretedBatchNdims: number, options: DistributionOptions = {}) {
    if (!(base instanceof Distribution)) throw argError('Independent', 'base', 'a Distribution', base);
    const n = reinterpretedBatchNdims;
    if (!Number.isInteger(n) || n < 0 || n > base.batchShape.length) {
      throw argError(
        'Independent',
        'reinterpretedBatchNdims',
        `an integer in [0, ${base.batchShape.length}] (the rank of base.batchShape [${base.batchShape.join(', ')}])`,
        reinterpretedBatchNdims,
      );
    }
    const cut = base.batchShape.length - n;
    super(base.batchShape.slice(0, cut), [...base.batchShape.slice(cut), ...base.eventShape], options);
    this.base = base;
    this.reinterpretedBatchNdims = n;
  }

  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    return independent(this.base.support, this.reinterpretedBatchNdims);
  }
  override get hasRsample(): boolean {
    return this.base.hasRsample;
  }
  override toString(): string {
    return `Independent(${this.base.toString()}, ${this.reinterpretedBatchNdims})`;
  }

  expand(batchShape: number[]): Independent<D> {
    this.assertLive('expand');
    const tail = this.base.batchShape.slice(this.base.batchShape.length - this.reinterpretedBatchNdims);
    if (!Array.isArray(batchShape)) throw argError('Independent.expand', 'batchShape', 'an array', batchShape);
    const base = this.base.expand([...batchShape, ...tail]) as D;
    return new Independent(base, this.reinterpretedBatchNdims, this.options());
  }

  override dispose(): void {
    this.base.dispose();
    super.dispose();
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    return this.base.sample(sampleShape);
  }
  protected override _rsample(sampleShape: number[]): tf.Tensor {
    return this.base.rsample(sampleShape);
  }
  protected override _logProb(x: tf.Tensor): tf.Tensor {
    return this.base.logProbSumRightmost(x, this.reinterpretedBatchNdims);
  }
  protected override _cdf(): tf.Tensor {
    throw this.notDefined('cdf');
  }
  protected override _entropy(): tf.Tensor {
    return sumRightmost(this.base.entropy(), this.reinterpretedBatchNdims);
  }
  protected override _mean(): tf.Tensor {
    return this.base.mean;
  }
  protected override _mode(): tf.Tensor {
    return this.base.mode;
  }
  protected override _variance(): tf.Tensor {
    return this.base.variance;
  }
}

// KL of products of independent parts = sum of the parts' KLs over the reinterpreted dims.
registerKL(Independent, Independent, (p, q) => {
  if (p.reinterpretedBatchNdims !== q.reinterpretedBatchNdims) {
    throw new DlvmError(
      `klDivergence: KL(Independent || Independent) needs equal reinterpretedBatchNdims, but got ${p.reinterpretedBatchNdims} and ${q.reinterpretedBatchNdims}.`,
    );
  }
  return sumRightmost(klDivergence(p.base, q.base), p.reinterpretedBatchNdims);
});
