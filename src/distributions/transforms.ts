/**
 * Bijective transforms for TransformedDistribution (torch.distributions.transforms).
 *
 * A transform maps x in `domain` to y = forward(x) in `codomain`, with `inverse(y)` and
 * `logAbsDetJacobian(x, y)` = log |dy/dx|, summed over the transform's own `eventDim` rightmost
 * dimensions (0 for elementwise transforms). `sign` is +1 or -1 for monotone elementwise maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { argError } from '../errors.js';
import { interval, positive, real, unitInterval, type Constraint } from './constraints.js';
import { EPS, hostValuesOf, sumRightmost, toFloat, type TensorInput } from './util.js';

/** Base class of transforms; see the module documentation. */
export abstract class Transform {
  /** Where x lives. */
  abstract get domain(): Constraint;
  /** Where y lives. */
  abstract get codomain(): Constraint;
  /** Rightmost dimensions one application couples (0: elementwise). */
  get eventDim(): number {
    return 0;
  }
  /** +1 for increasing maps, -1 for decreasing ones (a tensor for Affine with tensor scale). */
  get sign(): number | tf.Tensor {
    return 1;
  }
  /** y = f(x). */
  abstract forward(x: tf.Tensor): tf.Tensor;
  /** x = f^-1(y). */
  abstract inverse(y: tf.Tensor): tf.Tensor;
  /** log |det df/dx| at x (with y = f(x)): shape of x without `eventDim` rightmost dims. */
  abstract logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor;
  /**
   * Whether two transforms are the same map (for KL of transformed distributions). Decided
   * without reading tensors: parameterised transforms are equal when their parameters are the
   * same tensors or were made from equal JavaScript values.
   */
  equals(other: Transform): boolean {
    return other.constructor === this.constructor;
  }
  /** Frees tensors the transform made. */
  dispose(): void {}
  /** Name for messages. */
  toString(): string {
    return `${this.constructor.name}()`;
  }
}

/** y = exp(x). */
export class ExpTransform extends Transform {
  get domain(): Constraint {
    return real;
  }
  get codomain(): Constraint {
    return positive;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.log(y);
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.clone(x);
  }
}

/** y = sigmoid(x) = 1 / (1 + exp(-x)). */
export class SigmoidTransform extends Transform {
  get domain(): Constraint {
    return real;
  }
  get codomain(): Constraint {
    return unitInterval;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.clipByValue(tf.sigmoid(x), EPS * EPS, 1 - EPS);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    const c = tf.clipByValue(y, EPS * EPS, 1 - EPS);
    return tf.sub(tf.log(c), tf.log1p(tf.neg(c)));
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    // log sigmoid'(x) = -softplus(-x) - softplus(x)
    return tf.neg(tf.add(tf.softplus(tf.neg(x)), tf.softplus(x)));
  }
}

/** y = tanh(x). */
export class TanhTransform extends Transform {
  get domain(): Constraint {
    return real;
  }
  get codomain(): Constraint {
    return interval(-1, 1);
  }
  forward(x: tf.Tensor): tf.Tensor {
    // tanh rounds to +-1 in float32 for |x| > 9; keep samples inside (-1, 1) so their log
    // density stays finite (SigmoidTransform clamps the same way, as torch's does).
    return tf.clipByValue(tf.tanh(x), -1 + EPS, 1 - EPS);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    // atanh(y) = (log1p(y) - log1p(-y)) / 2; +-inf at y = +-1 (log density NaN there, as torch).
    return tf.mul(0.5, tf.sub(tf.log1p(y), tf.log1p(tf.neg(y))));
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    // log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|.
    return tf.mul(2, tf.sub(tf.sub(Math.log(2), x), tf.softplus(tf.mul(-2, x))));
  }
}

/** y = softplus(x) = log(1 + exp(x)). */
export class SoftplusTransform extends Transform {
  get domain(): Constraint {
    return real;
  }
  get codomain(): Constraint {
    return positive;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.softplus(x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    // x = log(exp(y) - 1) = y + log(-expm1(-y))
    return tf.add(y, tf.log(tf.neg(tf.expm1(tf.neg(y)))));
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.neg(tf.softplus(tf.neg(x)));
  }
}

/**
 * y = loc + scale * x. With `eventDim` = k the log-determinant is summed over the k rightmost
 * dimensions (an affine map of vectors when k = 1).
 */
export class AffineTransform extends Transform {
  /** Shift. */
  readonly loc: tf.Tensor;
  /** Multiplier (nonzero). */
  readonly scale: tf.Tensor;
  private readonly made: tf.Tensor[] = [];
  private readonly dims: number;

  constructor(loc: TensorInput, scale: TensorInput, eventDim = 0) {
    super();
    const l = toFloat('AffineTransform', 'loc', loc);
    const s = toFloat('AffineTransform', 'scale', scale);
    if (!Number.isInteger(eventDim) || eventDim < 0) {
      throw argError('AffineTransform', 'eventDim', 'a nonnegative integer', eventDim);
    }
    this.loc = l.tensor;
    this.scale = s.tensor;
    if (l.created) this.made.push(l.tensor);
    if (s.created) this.made.push(s.tensor);
    this.dims = eventDim;
  }
  override get eventDim(): number {
    return this.dims;
  }
  get domain(): Constraint {
    return real;
  }
  get codomain(): Constraint {
    return real;
  }
  override get sign(): number | tf.Tensor {
    return tf.sign(this.scale);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(this.loc, tf.mul(this.scale, x));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.div(tf.sub(y, this.loc), this.scale);
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    const full = broadcastTo(tf.log(tf.abs(this.scale)), tf.broadcast_util.assertAndGetBroadcastShape(x.shape, this.scale.shape));
    return sumRightmost(full, this.dims);
  }
  override equals(other: Transform): boolean {
    if (!(other instanceof AffineTransform) || other.dims !== this.dims) return false;
    // Decided without reading the device: the same tensors, or tensors made from equal host values.
    const same = (a: tf.Tensor, b: tf.Tensor) => {
      if (a === b || (a.dataId === b.dataId && tf.util.arraysEqual(a.shape, b.shape))) return true;
      const ha = hostValuesOf(a);
      const hb = hostValuesOf(b);
      return ha !== undefined && hb !== undefined && tf.util.arraysEqual(ha.shape, hb.shape) && ha.values.every((v, i) => v === hb.values[i]);
    };
    return same(this.loc, other.loc) && same(this.scale, other.scale);
  }
  override dispose(): void {
    tf.dispose(this.made);
  }
  override toString(): string {
    return `AffineTransform(loc: [${this.loc.shape.join(', ')}], scale: [${this.scale.shape.join(', ')}])`;
  }
}
