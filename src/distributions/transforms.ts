/**
 * Bijective transforms for TransformedDistribution (torch.distributions.transforms).
 *
 * A transform maps x in `domain` to y = forward(x) in `codomain`, with `inverse(y)` and
 * `logAbsDetJacobian(x, y)` = log |dy/dx|, summed over the transform's own `eventDim` rightmost
 * dimensions of x (0 for elementwise transforms). Most transforms keep the event rank; those
 * that change it (CorrCholesky: vectors to matrices, Reshape) have a `codomainEventDim` that
 * differs from `eventDim`, as torch's `domain.event_dim` and `codomain.event_dim`. `sign` is +1
 * or -1 for monotone elementwise maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo } from '../math/ops.js';
import { argError, DlvmError } from '../errors.js';
import {
  cat,
  corrCholesky,
  independent,
  interval,
  lowerCholesky,
  positive,
  real,
  realVector,
  simplex,
  stack,
  unitInterval,
  type Constraint,
} from './constraints.js';
import { Distribution } from './distribution.js';
import { diagPart } from '../math/linalg.js';
import { EPS, TINY, hostValuesOf, sumRightmost, toFloat, type TensorInput } from './util.js';

/** Base class of transforms; see the module documentation. */
export abstract class Transform {
  /** Where x lives. */
  abstract get domain(): Constraint;
  /** Where y lives. */
  abstract get codomain(): Constraint;
  /**
   * Rightmost dimensions of x that one application couples (0: elementwise): the log-determinant
   * has the shape of x without them (torch's `domain.event_dim`).
   */
  get eventDim(): number {
    return 0;
  }
  /** Rightmost dimensions of y that one application fills (torch's `codomain.event_dim`): `eventDim` unless the map changes the event rank. */
  get codomainEventDim(): number {
    return this.eventDim;
  }
  /** Whether the map is invertible on its domain (Abs and Softmax are not: `inverse` is a right inverse). */
  get bijective(): boolean {
    return true;
  }
  /** The shape of y for an x of shape `shape` (StickBreaking adds one to the last dimension). */
  forwardShape(shape: number[]): number[] {
    return [...shape];
  }
  /** The shape of x for a y of shape `shape`. */
  inverseShape(shape: number[]): number[] {
    return [...shape];
  }
  private inverseCache: Transform | undefined;
  /**
   * The inverse transform (torch's `.inv`): forward and inverse swapped, the log-determinant
   * negated. `t.inv.inv` is `t`.
   */
  get inv(): Transform {
    this.inverseCache ??= new InverseTransform(this);
    return this.inverseCache;
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
  /**
   * `t`, made to free `made` as well when it is disposed: for transforms built from tensors
   * computed for them (the width of an interval in {@link bijectTo}), as `Distribution.owning`.
   */
  static owning<T extends Transform>(t: T, made: tf.Tensor[]): T {
    const own = t.dispose.bind(t);
    t.dispose = () => {
      own();
      tf.dispose(made);
    };
    return t;
  }
  /** Name for messages. */
  toString(): string {
    return `${this.constructor.name}()`;
  }
}

/**
 * Whether two transform parameters are the same, decided without reading the device: the same
 * tensors, or tensors made from equal host values.
 */
function sameParameter(a: tf.Tensor, b: tf.Tensor): boolean {
  if (a === b || (a.dataId === b.dataId && tf.util.arraysEqual(a.shape, b.shape))) return true;
  const ha = hostValuesOf(a);
  const hb = hostValuesOf(b);
  return ha !== undefined && hb !== undefined && tf.util.arraysEqual(ha.shape, hb.shape) && ha.values.every((v, i) => v === hb.values[i]);
}

/** The sign of t_n(...t_1(x)): the product of the parts' signs (1, -1, or a tensor of signs). */
export function composedSign(transforms: Transform[]): number | tf.Tensor {
  let s: number | tf.Tensor = 1;
  for (const t of transforms) {
    const ts = t.sign;
    s = typeof s === 'number' && typeof ts === 'number' ? s * ts : tf.mul(s, ts);
  }
  return s;
}

/** The inverse of a transform (what `t.inv` returns); see {@link Transform.inv}. */
export class InverseTransform extends Transform {
  constructor(readonly base: Transform) {
    super();
  }
  get domain(): Constraint {
    return this.base.codomain;
  }
  get codomain(): Constraint {
    return this.base.domain;
  }
  override get eventDim(): number {
    return this.base.codomainEventDim;
  }
  override get codomainEventDim(): number {
    return this.base.eventDim;
  }
  override get bijective(): boolean {
    return this.base.bijective;
  }
  override get sign(): number | tf.Tensor {
    return this.base.sign;
  }
  override get inv(): Transform {
    return this.base;
  }
  override forwardShape(shape: number[]): number[] {
    return this.base.inverseShape(shape);
  }
  override inverseShape(shape: number[]): number[] {
    return this.base.forwardShape(shape);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.base.inverse(x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return this.base.forward(y);
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.neg(this.base.logAbsDetJacobian(y, x)));
  }
  override equals(other: Transform): boolean {
    return other instanceof InverseTransform && this.base.equals(other.base);
  }
  override dispose(): void {
    this.base.dispose();
  }
  override toString(): string {
    return `${this.base.toString()}.inv`;
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
    return tf.tidy(() => tf.exp(x));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.log(y));
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
    return tf.tidy(() => tf.clipByValue(tf.sigmoid(x), EPS * EPS, 1 - EPS));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const c = tf.clipByValue(y, EPS * EPS, 1 - EPS);
      return tf.sub(tf.log(c), tf.log1p(tf.neg(c)));
    });
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // log sigmoid'(x) = -softplus(-x) - softplus(x)
      return tf.neg(tf.add(tf.softplus(tf.neg(x)), tf.softplus(x)));
    });
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
    return tf.tidy(() => {
      // tanh rounds to +-1 in float32 for |x| > 9; keep samples inside (-1, 1) so their log
      // density stays finite (SigmoidTransform clamps the same way, as torch's does).
      return tf.clipByValue(tf.tanh(x), -1 + EPS, 1 - EPS);
    });
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // atanh(y) = (log1p(y) - log1p(-y)) / 2; +-inf at y = +-1 (log density NaN there, as torch).
      return tf.mul(0.5, tf.sub(tf.log1p(y), tf.log1p(tf.neg(y))));
    });
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|.
      return tf.mul(2, tf.sub(tf.sub(Math.log(2), x), tf.softplus(tf.mul(-2, x))));
    });
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
    return tf.tidy(() => tf.softplus(x));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // x = log(exp(y) - 1) = y + log(-expm1(-y))
      return tf.add(y, tf.log(tf.neg(tf.expm1(tf.neg(y)))));
    });
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.neg(tf.softplus(tf.neg(x))));
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
    return tf.tidy(() => tf.add(this.loc, tf.mul(this.scale, x)));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.div(tf.sub(y, this.loc), this.scale));
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const full = broadcastTo(tf.log(tf.abs(this.scale)), tf.broadcast_util.assertAndGetBroadcastShape(x.shape, this.scale.shape));
      return sumRightmost(full, this.dims);
    });
  }
  override equals(other: Transform): boolean {
    if (!(other instanceof AffineTransform) || other.dims !== this.dims) return false;
    return sameParameter(this.loc, other.loc) && sameParameter(this.scale, other.scale);
  }
  override dispose(): void {
    tf.dispose(this.made);
  }
  override toString(): string {
    return `AffineTransform(loc: [${this.loc.shape.join(', ')}], scale: [${this.scale.shape.join(', ')}])`;
  }
}

/** y = |x|. Not a bijection: `inverse` returns y (the positive preimage) and there is no log-determinant, as in torch. */
export class AbsTransform extends Transform {
  get domain(): Constraint {
    return real;
  }
  get codomain(): Constraint {
    return positive;
  }
  override get bijective(): boolean {
    return false;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.abs(x));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.clone(y);
  }
  logAbsDetJacobian(): tf.Tensor {
    throw new DlvmError('AbsTransform.logAbsDetJacobian: |x| is not invertible, so it has no log-determinant (torch.distributions does not define it either).');
  }
}

/** y = x^exponent on x > 0. */
export class PowerTransform extends Transform {
  /** The exponent (nonzero), broadcast against x. */
  readonly exponent: tf.Tensor;
  private readonly made: tf.Tensor[] = [];

  constructor(exponent: TensorInput) {
    super();
    const e = toFloat('PowerTransform', 'exponent', exponent);
    this.exponent = e.tensor;
    if (e.created) this.made.push(e.tensor);
  }
  get domain(): Constraint {
    return positive;
  }
  get codomain(): Constraint {
    return positive;
  }
  override get sign(): number | tf.Tensor {
    return tf.sign(this.exponent);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.pow(x, this.exponent));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.pow(y, tf.reciprocal(this.exponent)));
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // log |e x^(e - 1)| = log |e y / x|
      return tf.log(tf.abs(tf.div(tf.mul(this.exponent, y), x)));
    });
  }
  override equals(other: Transform): boolean {
    return other instanceof PowerTransform && sameParameter(this.exponent, other.exponent);
  }
  override dispose(): void {
    tf.dispose(this.made);
  }
  override toString(): string {
    return `PowerTransform(exponent: [${this.exponent.shape.join(', ')}])`;
  }
}

/**
 * y = softmax(x) over the last axis. Not a bijection (adding a constant to x leaves y unchanged):
 * `inverse` returns log(y), and there is no log-determinant, as in torch.
 */
export class SoftmaxTransform extends Transform {
  get domain(): Constraint {
    return realVector;
  }
  get codomain(): Constraint {
    return simplex;
  }
  override get eventDim(): number {
    return 1;
  }
  override get bijective(): boolean {
    return false;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.softmax(x));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.log(y));
  }
  logAbsDetJacobian(): tf.Tensor {
    throw new DlvmError(
      'SoftmaxTransform.logAbsDetJacobian: softmax is not invertible, so it has no log-determinant (torch.distributions does not define it either); StickBreakingTransform is the bijective map onto the simplex.',
    );
  }
}

/** [K - 1, K - 2, ..., 1] for a last dimension of K - 1. */
function stickOffsets(n: number): tf.Tensor {
  return tf.tensor1d(Array.from({ length: n }, (_, i) => n - i));
}

/**
 * The stick-breaking bijection from R^(K-1) onto the interior of the K-simplex (torch's): with
 * z_i = sigmoid(x_i - log(K - 1 - i)), y_i = z_i prod_(j<i) (1 - z_j) and y_K the remainder. x = 0
 * maps to the uniform point. Event shape [K - 1] in, [K] out.
 */
export class StickBreakingTransform extends Transform {
  get domain(): Constraint {
    return realVector;
  }
  get codomain(): Constraint {
    return simplex;
  }
  override get eventDim(): number {
    return 1;
  }
  override forwardShape(shape: number[]): number[] {
    if (shape.length < 1) throw argError('StickBreakingTransform.forwardShape', 'shape', 'a shape of rank >= 1', shape);
    return [...shape.slice(0, -1), shape[shape.length - 1]! + 1];
  }
  override inverseShape(shape: number[]): number[] {
    if (shape.length < 1 || shape[shape.length - 1]! < 1)
      throw argError('StickBreakingTransform.inverseShape', 'shape', 'a shape of rank >= 1 with a last dimension >= 1', shape);
    return [...shape.slice(0, -1), shape[shape.length - 1]! - 1];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const n = x.shape[x.rank - 1]!;
      const u = tf.sub(x, tf.log(stickOffsets(n)));
      // y = [z, 1] * [1, prod_(j<=i) (1 - z_j)] with z = sigmoid(u): the products are
      // exp(cumsum(log sigmoid(-u))), finite and differentiable for every u (tfjs's cumprod has
      // no gradient). Ones are concatenated (tfjs-wasm's pad fails on some shapes), and cumsum
      // takes a nonnegative axis (tfjs 4.22 returns nothing for axis -1 on cpu and crashes wasm).
      const one = tf.ones([...x.shape.slice(0, -1), 1]);
      const remaining = tf.exp(tf.cumsum(tf.logSigmoid(tf.neg(u)), x.rank - 1));
      return tf.mul(tf.concat([tf.sigmoid(u), one], -1), tf.concat([one, remaining], -1));
    });
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // x_i = log y_i - log(sum_(j>i) y_j) + log(offset_i): the remaining stick as the sum of the
      // later entries (a reverse exclusive cumsum), exact in float32 where 1 - cumsum(y) rounds to
      // 0 (a remaining stick of e^-20).
      const n = y.shape[y.rank - 1]! - 1;
      const start = Array(y.rank).fill(0);
      const size = [...y.shape.slice(0, -1), n];
      const crop = tf.slice(y, start, size);
      const survival = tf.maximum(tf.slice(tf.cumsum(y, y.rank - 1, true, true), start, size), TINY);
      return tf.add(tf.sub(tf.log(crop), tf.log(survival)), tf.log(stickOffsets(n)));
    });
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // sum_i (-u_i + log sigmoid(u_i) + log y_i) with u = x - log(offset).
      const n = x.shape[x.rank - 1]!;
      const u = tf.sub(x, tf.log(stickOffsets(n)));
      const crop = tf.slice(y, Array(y.rank).fill(0), [...y.shape.slice(0, -1), n]);
      return tf.sum(tf.add(tf.sub(tf.logSigmoid(u), u), tf.log(crop)), -1);
    });
  }
}

/**
 * Unconstrained square matrices onto Cholesky factors (torch's LowerCholeskyTransform): the
 * strictly lower triangle is kept, the diagonal exponentiated, the upper triangle dropped. As in
 * torch it is not a bijection of all matrices (`bijective` is false, `inverse` is the right
 * inverse that puts zeros above the diagonal, and `logAbsDetJacobian` throws). Event dim 2.
 */
export class LowerCholeskyTransform extends Transform {
  get domain(): Constraint {
    return independent(real, 2);
  }
  get codomain(): Constraint {
    return lowerCholesky;
  }
  override get eventDim(): number {
    return 2;
  }
  override get bijective(): boolean {
    return false;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => withDiagonal(x, (d) => tf.exp(d)));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => withDiagonal(y, (d) => tf.log(d)));
  }
  logAbsDetJacobian(): tf.Tensor {
    throw new DlvmError(
      'LowerCholeskyTransform.logAbsDetJacobian: the transform drops the upper triangle, so it is not invertible, so it has no log-determinant (torch.distributions does not define it either).',
    );
  }
}

/** The strictly lower triangle of `x` ([..., n, n]) plus f(its diagonal) on the diagonal. */
function withDiagonal(x: tf.Tensor, f: (d: tf.Tensor) => tf.Tensor): tf.Tensor {
  const n = x.shape[x.rank - 1]!;
  const eye = tf.eye(n);
  const strict = tf.sub(tf.linalg.bandPart(tf.ones([n, n]), -1, 0), eye);
  return tf.add(tf.mul(x, strict), tf.mul(tf.expandDims(f(diagPart(x)), -1), eye));
}

/**
 * The cdf of `distribution` as a transform (torch's CumulativeDistributionTransform): forward is
 * `cdf`, inverse `icdf`, and log |dy/dx| is `logProb(x)`; from the support onto (0, 1),
 * increasing. A Gaussian copula is a TransformedDistribution of a MultivariateNormal through the
 * cdf of Normal(0, 1). The transform owns the distribution (`dispose()` frees it).
 */
export class CumulativeDistributionTransform extends Transform {
  constructor(readonly distribution: Distribution) {
    super();
    if (!(distribution instanceof Distribution)) throw argError('CumulativeDistributionTransform', 'distribution', 'a Distribution', distribution);
  }
  get domain(): Constraint {
    return this.distribution.support;
  }
  get codomain(): Constraint {
    return unitInterval;
  }
  override get eventDim(): number {
    return this.distribution.eventShape.length;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.distribution.cdf(x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return this.distribution.icdf(y);
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return this.distribution.logProb(x);
  }
  override equals(other: Transform): boolean {
    return other instanceof CumulativeDistributionTransform && other.distribution === this.distribution;
  }
  override dispose(): void {
    this.distribution.dispose();
  }
  override toString(): string {
    return `CumulativeDistributionTransform(${this.distribution.toString()})`;
  }
}

/** Flat row-major indices (i d + j) of the entries of a d x d matrix with j - i <= `diag`, in row order (torch's tril_matrix_to_vec order). */
function trilIndices(d: number, diag: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < d; i++) for (let j = 0; j <= Math.min(d - 1, i + diag); j++) out.push(i * d + j);
  return out;
}

/** The entries of the strictly lower triangle (or below `diag`) of `m` ([..., d, d]) as a vector in row order. */
function trilToVec(m: tf.Tensor, diag = -1): tf.Tensor {
  const d = m.shape[m.rank - 1]!;
  const flat = tf.reshape(m, [...m.shape.slice(0, -2), d * d]);
  return tf.gather(flat, tf.tensor1d(trilIndices(d, diag), 'int32'), flat.rank - 1);
}

/** The inverse of {@link trilToVec} for diag -1: a vector of d (d - 1) / 2 entries into the strictly lower triangle of a d x d matrix of zeros. */
function vecToTril(v: tf.Tensor, d: number): tf.Tensor {
  // Entry (i, j) takes element 1 + k of [0, v] (k its row-order position) or element 0.
  const where = new Int32Array(d * d);
  trilIndices(d, -1).forEach((flat, k) => (where[flat] = k + 1));
  const padded = tf.concat([tf.zeros([...v.shape.slice(0, -1), 1]), v], -1);
  return tf.reshape(tf.gather(padded, tf.tensor1d(where, 'int32'), padded.rank - 1), [...v.shape.slice(0, -1), d, d]);
}

/** d for a vector of n = d (d - 1) / 2 entries, or undefined when n is not such a number. */
function corrDimension(n: number): number | undefined {
  const d = Math.round(Math.sqrt(0.25 + 2 * n) + 0.5);
  return (d * (d - 1)) / 2 === n ? d : undefined;
}

/**
 * Unconstrained vectors of length D (D - 1) / 2 onto Cholesky factors of D x D correlation
 * matrices (torch's CorrCholeskyTransform, Stan's construction): the vector fills the strictly
 * lower triangle in row order, each entry goes through tanh into (-1, 1), and each row is
 * stick-broken into a unit vector, its diagonal the remaining length. A bijection; its
 * log-determinant is that of x against the strictly lower triangle of y (the rest of y is
 * determined by it). Event dims 1 in, 2 out; what `bijectTo(constraints.corrCholesky)` returns,
 * the way to optimise a correlation matrix (an LKJCholesky prior's value) without constraints.
 */
export class CorrCholeskyTransform extends Transform {
  get domain(): Constraint {
    return realVector;
  }
  get codomain(): Constraint {
    return corrCholesky;
  }
  override get eventDim(): number {
    return 1;
  }
  override get codomainEventDim(): number {
    return 2;
  }
  override forwardShape(shape: number[]): number[] {
    const d = shape.length < 1 ? undefined : corrDimension(shape[shape.length - 1]!);
    if (d === undefined) throw argError('CorrCholeskyTransform.forwardShape', 'shape', 'a shape whose last dimension is D (D - 1) / 2 for an integer D', shape);
    return [...shape.slice(0, -1), d, d];
  }
  override inverseShape(shape: number[]): number[] {
    if (shape.length < 2 || shape[shape.length - 1] !== shape[shape.length - 2]) {
      throw argError('CorrCholeskyTransform.inverseShape', 'shape', 'a shape [..., D, D]', shape);
    }
    const d = shape[shape.length - 1]!;
    return [...shape.slice(0, -2), (d * (d - 1)) / 2];
  }
  forward(x: tf.Tensor): tf.Tensor {
    const d = this.forwardShape(x.shape).at(-1)!;
    return tf.tidy(() => {
      const r = vecToTril(tf.clipByValue(tf.tanh(x), -1 + EPS, 1 - EPS), d);
      // Row i: y_ij = r_ij sqrt(prod_(k<j) (1 - r_ik^2)), the diagonal the remaining length. The
      // products as exp(cumsum(log)) (cumprod has no gradient in tfjs), shifted right by one by
      // concatenation (cumsum on a nonnegative axis: see StickBreakingTransform).
      const logRemaining = tf.cumsum(tf.mul(0.5, tf.log1p(tf.neg(tf.square(r)))), r.rank - 1);
      const lead = tf.zeros([...r.shape.slice(0, -1), 1]);
      const shifted = tf.concat([lead, tf.slice(logRemaining, Array(r.rank).fill(0), [...r.shape.slice(0, -1), d - 1])], -1);
      return tf.mul(tf.add(r, tf.eye(d)), tf.exp(shifted));
    });
  }
  inverse(y: tf.Tensor): tf.Tensor {
    this.inverseShape(y.shape);
    return tf.tidy(() => {
      // t_ij = y_ij / sqrt(1 - sum_(k<j) y_ik^2), x = atanh(t).
      const d = y.shape[y.rank - 1]!;
      const remaining = tf.sub(1, tf.cumsum(tf.square(y), y.rank - 1));
      const before = tf.concat([tf.ones([...y.shape.slice(0, -1), 1]), tf.slice(remaining, Array(y.rank).fill(0), [...y.shape.slice(0, -1), d - 1])], -1);
      // Clamped as forward's tanh is, so the inverse of any factor forward makes is finite
      // (rounding can put t a little past +-1 where tanh saturated).
      const t = tf.clipByValue(tf.div(trilToVec(y), tf.sqrt(tf.maximum(trilToVec(before), TINY))), -1 + EPS, 1 - EPS);
      return tf.mul(0.5, tf.sub(tf.log1p(t), tf.log1p(tf.neg(t))));
    });
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // Stick-breaking: 1/2 sum log(1 - sum_(k<=j) y_ik^2) over j < i - 1; tanh: sum log(1 - tanh^2).
      const remaining = tf.sub(1, tf.cumsum(tf.square(y), y.rank - 1));
      const stick = y.shape[y.rank - 1]! < 3 ? tf.zeros(y.shape.slice(0, -2)) : tf.mul(0.5, tf.sum(tf.log(trilToVec(remaining, -2)), -1));
      const tanh = tf.mul(2, tf.sum(tf.sub(tf.sub(Math.log(2), x), tf.softplus(tf.mul(-2, x))), -1));
      return tf.add(stick, tanh);
    });
  }
}

/** A list of nonnegative integers, or an argument error for `fn`'s `arg`. */
function shapeArg(fn: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw argError(fn, arg, 'a shape (an array of nonnegative integers)', shape);
  return [...(shape as number[])];
}

/**
 * Reshapes the rightmost dims from `inShape` to `outShape` (torch's ReshapeTransform): the same
 * elements, so the log-determinant is 0. Event dims `inShape.length` in, `outShape.length` out:
 * a TransformedDistribution of a Normal over [6] through Reshape([6], [2, 3]) has event shape [2, 3].
 */
export class ReshapeTransform extends Transform {
  readonly inShape: number[];
  readonly outShape: number[];
  constructor(inShape: number[], outShape: number[]) {
    super();
    this.inShape = shapeArg('ReshapeTransform', 'inShape', inShape);
    this.outShape = shapeArg('ReshapeTransform', 'outShape', outShape);
    const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
    if (size(this.inShape) !== size(this.outShape)) {
      throw argError('ReshapeTransform', 'outShape', `a shape of ${size(this.inShape)} elements (as inShape [${this.inShape.join(', ')}])`, outShape);
    }
  }
  get domain(): Constraint {
    return independent(real, this.inShape.length);
  }
  get codomain(): Constraint {
    return independent(real, this.outShape.length);
  }
  override get eventDim(): number {
    return this.inShape.length;
  }
  override get codomainEventDim(): number {
    return this.outShape.length;
  }
  /** `shape`'s batch part and `to`, after checking that `shape` ends in `from`. */
  private swap(fn: string, shape: number[], from: number[], to: number[]): number[] {
    const cut = shape.length - from.length;
    if (cut < 0 || !tf.util.arraysEqual(shape.slice(cut), from))
      throw argError(`ReshapeTransform.${fn}`, 'shape', `a shape ending in [${from.join(', ')}]`, shape);
    return [...shape.slice(0, cut), ...to];
  }
  override forwardShape(shape: number[]): number[] {
    return this.swap('forwardShape', shape, this.inShape, this.outShape);
  }
  override inverseShape(shape: number[]): number[] {
    return this.swap('inverseShape', shape, this.outShape, this.inShape);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, this.swap('forward', x.shape, this.inShape, this.outShape));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.reshape(y, this.swap('inverse', y.shape, this.outShape, this.inShape));
  }
  logAbsDetJacobian(x: tf.Tensor): tf.Tensor {
    return tf.zeros(this.swap('logAbsDetJacobian', x.shape, this.inShape, []));
  }
  override equals(other: Transform): boolean {
    return other instanceof ReshapeTransform && tf.util.arraysEqual(other.inShape, this.inShape) && tf.util.arraysEqual(other.outShape, this.outShape);
  }
  override toString(): string {
    return `ReshapeTransform([${this.inShape.join(', ')}], [${this.outShape.join(', ')}])`;
  }
}

/**
 * Reinterprets `reinterpretedBatchNdims` batch dimensions of `base` as event dimensions: the
 * log-determinant is summed over them (torch's IndependentTransform).
 */
export class IndependentTransform extends Transform {
  constructor(
    readonly base: Transform,
    readonly reinterpretedBatchNdims: number,
  ) {
    super();
    if (!(base instanceof Transform)) throw argError('IndependentTransform', 'base', 'a Transform', base);
    if (!Number.isInteger(reinterpretedBatchNdims) || reinterpretedBatchNdims < 0) {
      throw argError('IndependentTransform', 'reinterpretedBatchNdims', 'a nonnegative integer', reinterpretedBatchNdims);
    }
  }
  get domain(): Constraint {
    return independent(this.base.domain, this.reinterpretedBatchNdims);
  }
  get codomain(): Constraint {
    return independent(this.base.codomain, this.reinterpretedBatchNdims);
  }
  override get eventDim(): number {
    return this.base.eventDim + this.reinterpretedBatchNdims;
  }
  override get codomainEventDim(): number {
    return this.base.codomainEventDim + this.reinterpretedBatchNdims;
  }
  override get bijective(): boolean {
    return this.base.bijective;
  }
  override get sign(): number | tf.Tensor {
    return this.base.sign;
  }
  override forwardShape(shape: number[]): number[] {
    return this.base.forwardShape(shape);
  }
  override inverseShape(shape: number[]): number[] {
    return this.base.inverseShape(shape);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.base.forward(x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return this.base.inverse(y);
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => sumRightmost(this.base.logAbsDetJacobian(x, y), this.reinterpretedBatchNdims));
  }
  override equals(other: Transform): boolean {
    return other instanceof IndependentTransform && other.reinterpretedBatchNdims === this.reinterpretedBatchNdims && this.base.equals(other.base);
  }
  override dispose(): void {
    this.base.dispose();
  }
  override toString(): string {
    return `IndependentTransform(${this.base.toString()}, ${this.reinterpretedBatchNdims})`;
  }
}

/**
 * The composition t_n(...t_1(x)) as one transform (torch's ComposeTransform). Its event dims are
 * the largest of its parts'; each part's log-determinant is summed over the dims it leaves as batch.
 */
export class ComposeTransform extends Transform {
  readonly parts: Transform[];
  constructor(parts: Transform[]) {
    super();
    if (!Array.isArray(parts) || !parts.every((t) => t instanceof Transform)) throw argError('ComposeTransform', 'parts', 'an array of Transforms', parts);
    this.parts = [...parts];
  }
  get domain(): Constraint {
    if (this.parts.length === 0) return real;
    const d = this.parts[0]!.domain;
    return independent(d, Math.max(0, this.eventDim - d.eventDim));
  }
  get codomain(): Constraint {
    if (this.parts.length === 0) return real;
    const c = this.parts[this.parts.length - 1]!.codomain;
    return independent(c, Math.max(0, this.codomainEventDim - c.eventDim));
  }
  /**
   * The event dims of x: walking back from the last part's codomain, each part adds what it
   * removes and needs at least its own (torch's rule). The largest of the parts' when none
   * changes the event rank.
   */
  override get eventDim(): number {
    let e = this.parts.length === 0 ? 0 : this.parts[this.parts.length - 1]!.codomainEventDim;
    for (let i = this.parts.length - 1; i >= 0; i--) {
      const t = this.parts[i]!;
      e = Math.max(e + t.eventDim - t.codomainEventDim, t.eventDim);
    }
    return e;
  }
  /** The event dims of y, by the same walk forward. */
  override get codomainEventDim(): number {
    let e = this.parts.length === 0 ? 0 : this.parts[0]!.eventDim;
    for (const t of this.parts) e = Math.max(e + t.codomainEventDim - t.eventDim, t.codomainEventDim);
    return e;
  }
  override get bijective(): boolean {
    return this.parts.every((t) => t.bijective);
  }
  override get sign(): number | tf.Tensor {
    return composedSign(this.parts);
  }
  override forwardShape(shape: number[]): number[] {
    return this.parts.reduce((sh, t) => t.forwardShape(sh), [...shape]);
  }
  override inverseShape(shape: number[]): number[] {
    return this.parts.reduceRight((sh, t) => t.inverseShape(sh), [...shape]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    // With no parts (the identity, bijectTo(real)) a copy: every method returns a new tensor.
    return tf.tidy(() => (this.parts.length === 0 ? tf.clone(x) : this.parts.reduce((v, t) => t.forward(v), x)));
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => (this.parts.length === 0 ? tf.clone(y) : this.parts.reduceRight((v, t) => t.inverse(v), y)));
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (this.parts.length === 0) return tf.zeros(x.shape);
      // e: the event dims of the current value; each part sums its log-determinant over the ones
      // it leaves as batch.
      let e = this.eventDim;
      let total: tf.Tensor = tf.scalar(0);
      let current = x;
      this.parts.forEach((t, i) => {
        const next = i === this.parts.length - 1 ? y : t.forward(current);
        total = tf.add(total, sumRightmost(t.logAbsDetJacobian(current, next), e - t.eventDim));
        e += t.codomainEventDim - t.eventDim;
        current = next;
      });
      return total;
    });
  }
  override equals(other: Transform): boolean {
    return other instanceof ComposeTransform && other.parts.length === this.parts.length && this.parts.every((t, i) => t.equals(other.parts[i]!));
  }
  override dispose(): void {
    for (const t of this.parts) t.dispose();
  }
  override toString(): string {
    return `ComposeTransform([${this.parts.map(String).join(', ')}])`;
  }
}

/** `dim` as a nonnegative axis of a tensor of rank `rank`, or an argument error for `fn`. */
function axisIn(fn: string, dim: number, v: tf.Tensor): number {
  const rank = v.rank;
  if (!(dim >= -rank && dim < rank)) throw argError(fn, 'x', `a tensor with a dimension ${dim} (rank >= ${dim < 0 ? -dim : dim + 1})`, v);
  return dim < 0 ? dim + rank : dim;
}

/** Checks the parts of Cat / Stack: an array of Transforms. */
function partsArg(fn: string, parts: unknown): Transform[] {
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every((t) => t instanceof Transform))
    throw argError(fn, 'parts', 'a nonempty array of Transforms', parts);
  return [...(parts as Transform[])];
}

/**
 * Applies `parts[i]` to consecutive blocks of `lengths[i]` entries along `dim` (torch's
 * CatTransform, compatible with `tf.concat`): for parameters of different kinds packed in one
 * tensor, as [exp on the first 2, identity on the next 3]. The event dims are the largest of the
 * parts'; the log-determinant concatenates the parts' along `dim` when `dim` is a batch dim and
 * sums them when it lies inside the event (as torch).
 *
 * @example
 * const t = new CatTransform([new ExpTransform(), new ComposeTransform([])], -1, [2, 3]);
 */
export class CatTransform extends Transform {
  readonly parts: Transform[];
  readonly lengths: number[];
  constructor(
    parts: Transform[],
    readonly dim = 0,
    lengths?: number[],
  ) {
    super();
    this.parts = partsArg('CatTransform', parts);
    if (!Number.isInteger(dim)) throw argError('CatTransform', 'dim', 'an integer', dim);
    this.lengths = lengths === undefined ? this.parts.map(() => 1) : shapeArg('CatTransform', 'lengths', lengths);
    if (this.lengths.length !== this.parts.length) throw argError('CatTransform', 'lengths', `${this.parts.length} lengths (one per part)`, lengths);
  }
  get domain(): Constraint {
    return cat(
      this.parts.map((t) => t.domain),
      this.dim,
      this.lengths,
    );
  }
  get codomain(): Constraint {
    return cat(
      this.parts.map((t) => t.codomain),
      this.dim,
      this.lengths,
    );
  }
  override get eventDim(): number {
    return Math.max(...this.parts.map((t) => t.eventDim));
  }
  override get codomainEventDim(): number {
    return Math.max(...this.parts.map((t) => t.codomainEventDim));
  }
  override get bijective(): boolean {
    return this.parts.every((t) => t.bijective);
  }
  /** The blocks of `v` along the dim (checking that the lengths add up to its size there). */
  private blocks(fn: string, v: tf.Tensor): tf.Tensor[] {
    const axis = axisIn(`CatTransform.${fn}`, this.dim, v);
    const total = this.lengths.reduce((a, b) => a + b, 0);
    if (v.shape[axis] !== total) {
      throw argError(`CatTransform.${fn}`, 'x', `a tensor of size ${total} (the sum of lengths) in dimension ${this.dim}`, v);
    }
    return tf.split(v, this.lengths, axis);
  }
  private map(fn: 'forward' | 'inverse', v: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      tf.concat(
        this.blocks(fn, v).map((b, i) => this.parts[i]![fn](b)),
        axisIn(`CatTransform.${fn}`, this.dim, v),
      ),
    );
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.map('forward', x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return this.map('inverse', y);
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const e = this.eventDim;
      const ys = this.blocks('logAbsDetJacobian', y);
      const terms = this.blocks('logAbsDetJacobian', x).map((b, i) => sumRightmost(this.parts[i]!.logAbsDetJacobian(b, ys[i]!), e - this.parts[i]!.eventDim));
      // The dim counted from the right of the log-determinant (which lacks x's e event dims).
      const fromRight = axisIn('CatTransform.logAbsDetJacobian', this.dim, x) - x.rank + e;
      return fromRight < 0 ? tf.concat(terms, terms[0]!.rank + fromRight) : tf.addN(terms);
    });
  }
  override equals(other: Transform): boolean {
    return (
      other instanceof CatTransform &&
      other.dim === this.dim &&
      tf.util.arraysEqual(other.lengths, this.lengths) &&
      other.parts.length === this.parts.length &&
      this.parts.every((t, i) => t.equals(other.parts[i]!))
    );
  }
  override dispose(): void {
    for (const t of this.parts) t.dispose();
  }
  override toString(): string {
    return `CatTransform([${this.parts.map(String).join(', ')}], ${this.dim}, [${this.lengths.join(', ')}])`;
  }
}

/**
 * Applies `parts[i]` to the i-th slice along `dim` (torch's StackTransform, compatible with
 * `tf.stack`): x has `parts.length` entries there. The event dims are the largest of the parts'
 * and `dim` must be a batch dim of x (the log-determinants are stacked along it).
 *
 * @example
 * const t = new StackTransform([new ExpTransform(), new SigmoidTransform()], 1); // x: [n, 2]
 */
export class StackTransform extends Transform {
  readonly parts: Transform[];
  constructor(
    parts: Transform[],
    readonly dim = 0,
  ) {
    super();
    this.parts = partsArg('StackTransform', parts);
    if (!Number.isInteger(dim)) throw argError('StackTransform', 'dim', 'an integer', dim);
    if (dim < 0 && -dim <= this.eventDim) {
      throw argError(
        'StackTransform',
        'dim',
        `a batch dimension (below the parts' ${this.eventDim} event dims: at most ${-this.eventDim - 1}, or nonnegative)`,
        dim,
      );
    }
  }
  get domain(): Constraint {
    return stack(
      this.parts.map((t) => t.domain),
      this.dim,
    );
  }
  get codomain(): Constraint {
    return stack(
      this.parts.map((t) => t.codomain),
      this.dim,
    );
  }
  override get eventDim(): number {
    return Math.max(...this.parts.map((t) => t.eventDim));
  }
  override get codomainEventDim(): number {
    return Math.max(...this.parts.map((t) => t.codomainEventDim));
  }
  override get bijective(): boolean {
    return this.parts.every((t) => t.bijective);
  }
  /** The axis of `v` the parts are stacked along (a batch axis, with one slice per part). */
  private axis(fn: string, v: tf.Tensor, eventDim: number): number {
    const axis = axisIn(`StackTransform.${fn}`, this.dim, v);
    if (v.shape[axis] !== this.parts.length || axis >= v.rank - eventDim) {
      throw argError(
        `StackTransform.${fn}`,
        'x',
        `a tensor with ${this.parts.length} entries (one per part) in dimension ${this.dim}, a batch dimension (not among the ${eventDim} rightmost)`,
        v,
      );
    }
    return axis;
  }
  private map(fn: 'forward' | 'inverse', v: tf.Tensor): tf.Tensor {
    const axis = this.axis(fn, v, fn === 'forward' ? this.eventDim : this.codomainEventDim);
    return tf.tidy(() =>
      tf.stack(
        tf.unstack(v, axis).map((s, i) => this.parts[i]![fn](s)),
        axis,
      ),
    );
  }
  override forwardShape(shape: number[]): number[] {
    const axis = this.dim < 0 ? this.dim + shape.length : this.dim;
    const slice = [...shape.slice(0, axis), ...shape.slice(axis + 1)];
    const out = this.parts[0]!.forwardShape(slice);
    return [...out.slice(0, axis), shape[axis]!, ...out.slice(axis)];
  }
  override inverseShape(shape: number[]): number[] {
    const axis = this.dim < 0 ? this.dim + shape.length : this.dim;
    const slice = [...shape.slice(0, axis), ...shape.slice(axis + 1)];
    const out = this.parts[0]!.inverseShape(slice);
    return [...out.slice(0, axis), shape[axis]!, ...out.slice(axis)];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.map('forward', x);
  }
  inverse(y: tf.Tensor): tf.Tensor {
    return this.map('inverse', y);
  }
  logAbsDetJacobian(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    const e = this.eventDim;
    const axis = this.axis('logAbsDetJacobian', x, e);
    const yAxis = this.axis('logAbsDetJacobian', y, this.codomainEventDim);
    return tf.tidy(() => {
      const ys = tf.unstack(y, yAxis);
      const terms = tf.unstack(x, axis).map((s, i) => sumRightmost(this.parts[i]!.logAbsDetJacobian(s, ys[i]!), e - this.parts[i]!.eventDim));
      return tf.stack(terms, axis);
    });
  }
  override equals(other: Transform): boolean {
    return (
      other instanceof StackTransform &&
      other.dim === this.dim &&
      other.parts.length === this.parts.length &&
      this.parts.every((t, i) => t.equals(other.parts[i]!))
    );
  }
  override dispose(): void {
    for (const t of this.parts) t.dispose();
  }
  override toString(): string {
    return `StackTransform([${this.parts.map(String).join(', ')}], ${this.dim})`;
  }
}

/**
 * The transform for a constraint, by its family: `biject` picks torch's `biject_to` (StickBreaking
 * for the simplex), otherwise `transform_to` (Softmax).
 */
function constraintTransform(fn: string, constraint: Constraint, biject: boolean): Transform {
  if (constraint === null || typeof constraint !== 'object' || typeof (constraint as Constraint).check !== 'function') {
    throw argError(fn, 'constraint', 'a constraint (constraints.positive, constraints.interval(0, 1), ...)', constraint);
  }
  if (constraint.base !== undefined) {
    // independent(base, n): the base's transform over n more rightmost dimensions.
    const n = constraint.eventDim - constraint.base.eventDim;
    const inner = constraintTransform(fn, constraint.base, biject);
    return n === 0 ? inner : new IndependentTransform(inner, n);
  }
  const spec = constraint.spec;
  switch (spec?.kind) {
    case 'real':
      return new ComposeTransform([]);
    case 'greaterThan':
    case 'greaterThanEq': {
      // lower + exp(x)
      const lower = spec.lower!;
      return lower === 0 ? new ExpTransform() : new ComposeTransform([new ExpTransform(), new AffineTransform(lower, 1)]);
    }
    case 'interval':
    case 'halfOpenInterval': {
      // lower + (upper - lower) sigmoid(x)
      const [lower, upper] = [spec.lower!, spec.upper!];
      if (lower === 0 && upper === 1) return new SigmoidTransform();
      if (typeof lower === 'number' && typeof upper === 'number')
        return new ComposeTransform([new SigmoidTransform(), new AffineTransform(lower, upper - lower)]);
      const width = tf.sub(upper, lower);
      return new ComposeTransform([new SigmoidTransform(), Transform.owning(new AffineTransform(lower, width), [width])]);
    }
    case 'simplex':
      return biject ? new StickBreakingTransform() : new SoftmaxTransform();
    case 'corrCholesky':
      return new CorrCholeskyTransform();
    case 'lowerCholesky':
      // Not a bijection of square matrices (it drops the upper triangle): transformTo only, as torch.
      if (!biject) return new LowerCholeskyTransform();
      throw new DlvmError(
        `${fn}: LowerCholesky() has no bijection from unconstrained reals (LowerCholeskyTransform drops the upper triangle; torch registers none either); use transformTo(constraints.lowerCholesky).`,
      );
    default:
      throw new DlvmError(
        `${fn}: no transform is registered for ${constraint.name} (dlvm has them for Real, GreaterThan(Eq), (HalfOpen)Interval, Simplex, LowerCholesky, CorrCholesky and independent() of these, as torch 1.13 does for the constraints both have).`,
      );
  }
}

/**
 * The bijection from unconstrained reals onto `constraint` (torch's `biject_to`): the way to
 * optimise a constrained parameter, as `x = bijectTo(constraints.positive).forward(raw)` with
 * `raw` a free variable. Exp (plus the bound) for lower bounds, a scaled Sigmoid for intervals,
 * StickBreaking for the simplex, CorrCholesky for Cholesky factors of correlation matrices, and
 * the base's transform for `independent(base, n)`; the identity for reals. The caller owns the transform.
 *
 * @example
 * const sigma = bijectTo(constraints.positive).forward(rawSigma); // exp(rawSigma)
 */
export function bijectTo(constraint: Constraint): Transform {
  return constraintTransform('bijectTo', constraint, true);
}

/**
 * A transform from unconstrained reals onto `constraint` that need not be bijective (torch's
 * `transform_to`): as {@link bijectTo} but Softmax for the simplex (torch's choice: better
 * conditioned for optimisation, not invertible), and LowerCholesky for Cholesky factors.
 */
export function transformTo(constraint: Constraint): Transform {
  return constraintTransform('transformTo', constraint, false);
}
