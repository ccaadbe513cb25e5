/**
 * Constraints on parameters and values, declared as data (torch.distributions.constraints).
 *
 * A constraint has a printable name, an `eventDim` (how many rightmost dimensions one check
 * covers) and `check(value)`, which returns a boolean tensor of shape `value.shape` without its
 * `eventDim` rightmost dimensions. NaN fails every check.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cholesky, diagPart, transposeLast } from '../math/linalg.js';

/** A set of allowed values; see the module documentation. */
export interface Constraint {
  /** Printable name used in error messages, e.g. `GreaterThan(0)`. */
  readonly name: string;
  /** Number of rightmost dimensions that one check covers. */
  readonly eventDim: number;
  /** True for sets of integers or one-hot vectors. */
  readonly isDiscrete: boolean;
  /** Elementwise (per event) membership: boolean, shape `value.shape.slice(0, rank - eventDim)`. */
  check(value: tf.Tensor): tf.Tensor;
  /** For `independent(base, n)`: the elementwise constraint it reinterprets (for error messages). */
  readonly base?: Constraint;
}

function make(
  name: string,
  check: (v: tf.Tensor) => tf.Tensor,
  eventDim = 0,
  isDiscrete = false,
): Constraint {
  return { name, eventDim, isDiscrete, check: (v) => tf.tidy(() => check(v)) };
}

const notNan = (v: tf.Tensor) => tf.logicalNot(tf.isNaN(v));
const bound = (b: number | tf.Tensor, label?: string) =>
  typeof b === 'number' ? String(b) : (label ?? 'a parameter');

/** Any real number, including +-Infinity; not NaN. */
export const real = make('Real()', notNan);
/** Reals, checked per vector (event dim 1). */
export const realVector = independent(real, 1);
/** x > 0. */
export const positive = greaterThan(0);
/** x >= 0. */
export const nonnegative = greaterThanEq(0);
/** 0 <= x <= 1. */
export const unitInterval = interval(0, 1);
/** 0 or 1. */
export const boolean = make('Boolean()', (v) => tf.logicalOr(tf.equal(v, 0), tf.equal(v, 1)), 0, true);
/** 0, 1, 2, ... */
export const nonnegativeInteger = make(
  'IntegerGreaterThan(lower_bound=0)',
  (v) => tf.logicalAnd(tf.greaterEqual(v, 0), tf.equal(tf.floor(v), v)),
  0,
  true,
);

/** x > lower. */
export function greaterThan(lower: number | tf.Tensor, label?: string): Constraint {
  return make(`GreaterThan(lower_bound=${bound(lower, label)})`, (v) => tf.greater(v, lower));
}
/** x >= lower. */
export function greaterThanEq(lower: number | tf.Tensor): Constraint {
  return make(`GreaterThanEq(lower_bound=${bound(lower)})`, (v) => tf.greaterEqual(v, lower));
}
/** lower <= x <= upper. */
export function interval(
  lower: number | tf.Tensor,
  upper: number | tf.Tensor,
  labels: [string, string] = ['a parameter', 'a parameter'],
): Constraint {
  return make(`Interval(lower_bound=${bound(lower, labels[0])}, upper_bound=${bound(upper, labels[1])})`, (v) =>
    tf.logicalAnd(tf.greaterEqual(v, lower), tf.lessEqual(v, upper)),
  );
}
/** lower <= x < upper. */
export function halfOpenInterval(
  lower: number | tf.Tensor,
  upper: number | tf.Tensor,
  labels: [string, string] = ['a parameter', 'a parameter'],
): Constraint {
  return make(`HalfOpenInterval(lower_bound=${bound(lower, labels[0])}, upper_bound=${bound(upper, labels[1])})`, (v) =>
    tf.logicalAnd(tf.greaterEqual(v, lower), tf.less(v, upper)),
  );
}
/** Integers lower, ..., upper. */
export function integerInterval(lower: number, upper: number): Constraint {
  return make(
    `IntegerInterval(lower_bound=${lower}, upper_bound=${upper})`,
    (v) =>
      tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(v, lower), tf.lessEqual(v, upper)), tf.equal(tf.floor(v), v)),
    0,
    true,
  );
}

/** Reinterprets `base` so one check covers `n` more rightmost dimensions (all must hold). */
export function independent(base: Constraint, n: number): Constraint {
  if (n === 0) return base;
  return {
    base,
    name: `IndependentConstraint(${base.name}, ${n})`,
    eventDim: base.eventDim + n,
    isDiscrete: base.isDiscrete,
    check: (v) =>
      tf.tidy(() => {
        const ok = base.check(v);
        const axes = Array.from({ length: n }, (_, i) => ok.rank - 1 - i);
        return tf.all(ok, axes);
      }),
  };
}

/** Vectors with nonnegative entries summing to 1 (tolerance 1e-6, as torch). */
export const simplex = make(
  'Simplex()',
  (v) =>
    tf.logicalAnd(
      tf.all(tf.greaterEqual(v, 0), -1),
      tf.lessEqual(tf.abs(tf.sub(tf.sum(v, -1), 1)), 1e-6 * Math.max(1, v.shape[v.rank - 1]!)),
    ),
  1,
);

/** One-hot vectors: entries 0 or 1 summing to 1. */
export const oneHot = make(
  'OneHot()',
  (v) => tf.logicalAnd(tf.all(boolean.check(v), -1), tf.equal(tf.sum(v, -1), 1)),
  1,
  true,
);

/** Lower-triangular matrices with a positive diagonal. */
export const lowerCholesky = make(
  'LowerCholesky()',
  (v) => {
    const d = v.shape[v.rank - 1]!;
    const upper = tf.sub(tf.ones([d, d]), tf.linalg.bandPart(tf.ones([d, d]), -1, 0));
    const upperZero = tf.all(tf.equal(tf.mul(v, upper), 0), [-2, -1]);
    return tf.logicalAnd(upperZero, tf.all(tf.greater(diagPart(v), 0), -1));
  },
  2,
);

/** Symmetric positive-definite matrices (symmetric within 1e-6 relative; Cholesky succeeds). */
export const positiveDefinite = make(
  'PositiveDefinite()',
  (v) => {
    const sym = tf.lessEqual(
      tf.max(tf.abs(tf.sub(v, transposeLast(v))), [-2, -1]),
      tf.mul(1e-6, tf.add(1, tf.max(tf.abs(v), [-2, -1]))),
    );
    const diag = diagPart(cholesky(v));
    return tf.logicalAnd(sym, tf.all(tf.greater(diag, 0), -1));
  },
  2,
);
