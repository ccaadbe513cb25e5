/**
 * Constraints on parameters and values, declared as data (torch.distributions.constraints).
 *
 * A constraint has a printable name, an `eventDim` (how many rightmost dimensions one check
 * covers) and `check(value)`, which returns a boolean tensor of shape `value.shape` without its
 * `eventDim` rightmost dimensions. NaN fails every check.
 *
 * Most constraints also have a host form, `checkHost(values, shape)`, the same test on a
 * Float32Array, so values given as JavaScript numbers or arrays are checked without a device
 * read (see pending_checks.ts). Both forms are declared side by side.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { cholesky, diagPart, transposeLast } from '../math/linalg.js';
import { allTrue } from '../math/ops.js';
import { hostValuesOf } from './util.js';

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
  /**
   * The same test on host values (float32, row-major, of `shape`): one verdict per event, 1 when
   * it holds. Absent, or null for these values, when the test needs device values (bounds that
   * are tensors without host values, or bounds that do not line up with the values).
   */
  checkHost?(values: Float32Array, shape: number[]): Uint8Array | null;
  /** What to do about a value outside this set, appended to support errors (e.g. grey pixels for a Bernoulli). */
  readonly hint?: string;
  /** Which family of sets this is, with its bounds: what `bijectTo` / `transformTo` dispatch on. */
  readonly spec?: ConstraintSpec;
}

/** The family of a constraint and its bounds (see {@link Constraint.spec}). */
export interface ConstraintSpec {
  readonly kind: 'real' | 'greaterThan' | 'greaterThanEq' | 'interval' | 'halfOpenInterval' | 'simplex' | 'lowerCholesky' | 'corrCholesky';
  readonly lower?: number | tf.Tensor;
  readonly upper?: number | tf.Tensor;
}

/** `c` with its spec attached. */
function withSpec(c: Constraint, spec: ConstraintSpec): Constraint {
  return { ...c, spec };
}

/** A host test of the event at flat event index `i`: elementwise (`x => boolean`) or, for eventDim > 0, per event. */
type HostTest = (event: Float32Array, eventShape: number[], i: number) => boolean;

function make(
  name: string,
  check: (v: tf.Tensor) => tf.Tensor,
  eventDim = 0,
  isDiscrete = false,
  host?: HostTest | ((n: number) => HostTest | null),
  bounded = false,
): Constraint {
  const c: Constraint = { name, eventDim, isDiscrete, check: (v) => tf.tidy(() => check(v)) };
  if (host) {
    c.checkHost = (values, shape) => {
      // Bounded tests are made per value count, so bounds can be matched to the values.
      const test = bounded ? (host as (n: number) => HostTest | null)(values.length) : (host as HostTest);
      return test === null ? null : perEvent(values, shape, eventDim, test);
    };
  }
  return c;
}

/** Applies `test` to each event of `values` (shape `shape`, events of `eventDim` rightmost dims). */
function perEvent(values: Float32Array, shape: number[], eventDim: number, test: HostTest): Uint8Array {
  const eventShape = shape.slice(shape.length - eventDim);
  const size = eventShape.reduce((a, b) => a * b, 1);
  const n = size === 0 ? 0 : values.length / size;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = test(values.subarray(i * size, (i + 1) * size), eventShape, i) ? 1 : 0;
  return out;
}

/** An elementwise host test from a predicate on one number. */
const each =
  (pred: (x: number, i: number) => boolean): HostTest =>
  (e, _, i) =>
    pred(e[0]!, i);

const notNan = (v: tf.Tensor) => tf.logicalNot(tf.isNaN(v));
const bound = (b: number | tf.Tensor, label?: string) => (typeof b === 'number' ? String(b) : (label ?? 'a parameter'));

/** Any real number, including +-Infinity; not NaN. */
export const real = withSpec(
  make(
    'Real()',
    notNan,
    0,
    false,
    each((x) => !Number.isNaN(x)),
  ),
  { kind: 'real' },
);
/** Reals, checked per vector (event dim 1). */
export const realVector = independent(real, 1);
/** x > 0. */
export const positive = greaterThan(0);
/** x >= 0. */
export const nonnegative = greaterThanEq(0);
/** 0 <= x <= 1. */
export const unitInterval = interval(0, 1);
/** 0 or 1. */
export const boolean: Constraint = {
  ...make(
    'Boolean()',
    (v) => tf.logicalOr(tf.equal(v, 0), tf.equal(v, 1)),
    0,
    true,
    each((x) => x === 0 || x === 1),
  ),
  hint:
    "values are 0 or 1; grey images need binarising first: binarize 'threshold', 'dynamic' or 'static' " +
    '(fit, the evaluation functions, ArrayDataset.batches; --binarize in the dlvm command), or a ContinuousBernoulli likelihood for grey levels',
};
/** 0, 1, 2, ... */
export const nonnegativeInteger = make(
  'IntegerGreaterThan(lower_bound=0)',
  (v) => tf.logicalAnd(tf.greaterEqual(v, 0), tf.equal(tf.floor(v), v)),
  0,
  true,
  each((x) => x >= 0 && Math.floor(x) === x),
);

/**
 * A host test for bounds that are numbers or tensors with host values (see `hostValuesOf`);
 * `test` gets each bound as a function of the flat index. Compared in float32, as on the device.
 * Null (device check) when a bound has no host values or does not line up with the values.
 */
function hostIf(bounds: Array<number | tf.Tensor>, test: (b: Array<(i: number) => number>) => HostTest): (n: number) => HostTest | null {
  return (n) => {
    const getters: Array<(i: number) => number> = [];
    for (const b of bounds) {
      if (typeof b === 'number') {
        const v = Math.fround(b);
        getters.push(() => v);
        continue;
      }
      const h = hostValuesOf(b);
      if (h === undefined) return null;
      if (h.values.length === 1) getters.push(() => h.values[0]!);
      else if (h.values.length === n) getters.push((i) => h.values[i]!);
      else return null;
    }
    return test(getters);
  };
}

/** x > lower. */
export function greaterThan(lower: number | tf.Tensor, label?: string): Constraint {
  return withSpec(greaterThanSet(lower, label), { kind: 'greaterThan', lower });
}
function greaterThanSet(lower: number | tf.Tensor, label?: string): Constraint {
  return make(
    `GreaterThan(lower_bound=${bound(lower, label)})`,
    (v) => tf.greater(v, lower),
    0,
    false,
    hostIf([lower], ([l]) => each((x, i) => x > l!(i))),
    true,
  );
}
/** x >= lower; `label` names a tensor bound in messages (`scale` for Pareto's support). */
export function greaterThanEq(lower: number | tf.Tensor, label?: string): Constraint {
  return withSpec(greaterThanEqSet(lower, label), { kind: 'greaterThanEq', lower });
}
function greaterThanEqSet(lower: number | tf.Tensor, label?: string): Constraint {
  return make(
    `GreaterThanEq(lower_bound=${bound(lower, label)})`,
    (v) => tf.greaterEqual(v, lower),
    0,
    false,
    hostIf([lower], ([l]) => each((x, i) => x >= l!(i))),
    true,
  );
}
/** lower <= x <= upper. */
export function interval(lower: number | tf.Tensor, upper: number | tf.Tensor, labels: [string, string] = ['a parameter', 'a parameter']): Constraint {
  return withSpec(intervalSet(lower, upper, labels), { kind: 'interval', lower, upper });
}
function intervalSet(lower: number | tf.Tensor, upper: number | tf.Tensor, labels: [string, string]): Constraint {
  return make(
    `Interval(lower_bound=${bound(lower, labels[0])}, upper_bound=${bound(upper, labels[1])})`,
    (v) => tf.logicalAnd(tf.greaterEqual(v, lower), tf.lessEqual(v, upper)),
    0,
    false,
    hostIf([lower, upper], ([l, u]) => each((x, i) => x >= l!(i) && x <= u!(i))),
    true,
  );
}
/** lower <= x < upper. */
export function halfOpenInterval(lower: number | tf.Tensor, upper: number | tf.Tensor, labels: [string, string] = ['a parameter', 'a parameter']): Constraint {
  return withSpec(halfOpenIntervalSet(lower, upper, labels), { kind: 'halfOpenInterval', lower, upper });
}
function halfOpenIntervalSet(lower: number | tf.Tensor, upper: number | tf.Tensor, labels: [string, string]): Constraint {
  return make(
    `HalfOpenInterval(lower_bound=${bound(lower, labels[0])}, upper_bound=${bound(upper, labels[1])})`,
    (v) => tf.logicalAnd(tf.greaterEqual(v, lower), tf.less(v, upper)),
    0,
    false,
    hostIf([lower, upper], ([l, u]) => each((x, i) => x >= l!(i) && x < u!(i))),
    true,
  );
}
/** Integers lower, ..., upper; `label` names a tensor bound in messages (`totalCount` for a Binomial's support). */
export function integerInterval(lower: number, upper: number | tf.Tensor, label?: string): Constraint {
  return make(
    `IntegerInterval(lower_bound=${lower}, upper_bound=${bound(upper, label)})`,
    (v) => tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(v, lower), tf.lessEqual(v, upper)), tf.equal(tf.floor(v), v)),
    0,
    true,
    hostIf([lower, upper], ([l, u]) => each((x, i) => x >= l!(i) && x <= u!(i) && Math.floor(x) === x)),
    true,
  );
}

/**
 * Count vectors of a Multinomial with `totalCount` trials: nonnegative integers summing to at
 * most `totalCount` (torch's `constraints.multinomial`; its log-density uses the vector's sum).
 */
export function multinomial(totalCount: number): Constraint {
  return make(
    `Multinomial(upper_bound=${totalCount})`,
    (v) => tf.logicalAnd(allTrue(nonnegativeInteger.check(v), -1), tf.lessEqual(tf.sum(v, -1), totalCount)),
    1,
    true,
    (e: Float32Array) => e.every((x) => x >= 0 && Math.floor(x) === x) && e.reduce((a, b) => a + b, 0) <= totalCount,
  );
}

/** Reinterprets `base` so one check covers `n` more rightmost dimensions (all must hold). */
export function independent(base: Constraint, n: number): Constraint {
  if (n === 0) return base;
  return {
    base,
    name: `IndependentConstraint(${base.name}, ${n})`,
    ...(base.hint ? { hint: base.hint } : {}),
    eventDim: base.eventDim + n,
    isDiscrete: base.isDiscrete,
    check: (v) =>
      tf.tidy(() => {
        const ok = base.check(v);
        const axes = Array.from({ length: n }, (_, i) => ok.rank - 1 - i);
        return allTrue(ok, axes);
      }),
    ...(base.checkHost
      ? {
          checkHost: (values: Float32Array, shape: number[]) => {
            const ok = base.checkHost!(values, shape);
            return ok === null ? null : perEvent(Float32Array.from(ok), shape.slice(0, shape.length - base.eventDim), n, (e) => e.every((f) => f === 1));
          },
        }
      : {}),
  };
}

/** `dim` of a value of rank `rank` counted from the right of its check (which lacks `eventDim` dims): negative when `dim` is a batch dim. */
function fromRight(dim: number, rank: number, eventDim: number): number {
  return (dim < 0 ? dim : dim - rank) + eventDim;
}

/** Each part's verdict reduced to `eventDim` event dims (all must hold). */
function partVerdict(c: Constraint, v: tf.Tensor, eventDim: number): tf.Tensor {
  const ok = c.check(v);
  const n = eventDim - c.eventDim;
  return n === 0
    ? ok
    : allTrue(
        ok,
        Array.from({ length: n }, (_, i) => ok.rank - 1 - i),
      );
}

/**
 * Blocks of `lengths[i]` entries along `dim` in `parts[i]` (torch's `constraints.cat`, the domain
 * of CatTransform). Event dims: the largest of the parts'; the verdicts are concatenated along
 * `dim` when it is a batch dim, and combined (all must hold) when it lies inside the event.
 */
export function cat(parts: Constraint[], dim = 0, lengths: number[] = parts.map(() => 1)): Constraint {
  const eventDim = Math.max(...parts.map((c) => c.eventDim));
  return {
    name: `Cat([${parts.map((c) => c.name).join(', ')}], dim=${dim}, lengths=[${lengths.join(', ')}])`,
    eventDim,
    isDiscrete: parts.some((c) => c.isDiscrete),
    check: (v) =>
      tf.tidy(() => {
        const axis = dim < 0 ? dim + v.rank : dim;
        const verdicts = tf.split(v, lengths, axis).map((b, i) => partVerdict(parts[i]!, b, eventDim));
        const r = fromRight(dim, v.rank, eventDim);
        return r < 0 ? tf.concat(verdicts, verdicts[0]!.rank + r) : verdicts.reduce((a, b) => tf.logicalAnd(a, b));
      }),
  };
}

/**
 * The i-th slice along `dim` in `parts[i]` (torch's `constraints.stack`, the domain of
 * StackTransform); `dim` is a batch dim, along which the verdicts are stacked.
 */
export function stack(parts: Constraint[], dim = 0): Constraint {
  const eventDim = Math.max(...parts.map((c) => c.eventDim));
  return {
    name: `Stack([${parts.map((c) => c.name).join(', ')}], dim=${dim})`,
    eventDim,
    isDiscrete: parts.some((c) => c.isDiscrete),
    check: (v) =>
      tf.tidy(() => {
        const axis = dim < 0 ? dim + v.rank : dim;
        return tf.stack(
          tf.unstack(v, axis).map((s, i) => partVerdict(parts[i]!, s, eventDim)),
          axis,
        );
      }),
  };
}

/** Unit vectors (Euclidean norm 1 within 1e-5): the support of VonMisesFisher and HypersphericalUniform. */
export const sphere = make(
  'Sphere()',
  (v) => tf.lessEqual(tf.abs(tf.sub(tf.norm(v, 'euclidean', -1), 1)), 1e-5),
  1,
  false,
  (e: Float32Array) => Math.abs(Math.hypot(...e) - 1) <= 1e-5,
);

/** Vectors with nonnegative entries summing to 1 (tolerance 1e-6, as torch). */
export const simplex = withSpec(
  make(
    'Simplex()',
    (v) => tf.logicalAnd(allTrue(tf.greaterEqual(v, 0), -1), tf.lessEqual(tf.abs(tf.sub(tf.sum(v, -1), 1)), 1e-6 * Math.max(1, v.shape[v.rank - 1]!))),
    1,
    false,
    (e: Float32Array) => e.every((x) => x >= 0) && Math.abs(e.reduce((a, b) => a + b, 0) - 1) <= 1e-6 * Math.max(1, e.length),
  ),
  { kind: 'simplex' },
);

/**
 * Probability vectors before normalisation, as torch's Categorical takes them (it divides by the
 * sum, then checks Simplex()): nonnegative entries with a positive, finite sum.
 */
export const unnormalizedSimplex = make(
  'Simplex() once normalised (nonnegative entries, a positive finite sum)',
  (v) => {
    const sum = tf.sum(v, -1);
    return tf.logicalAnd(allTrue(tf.greaterEqual(v, 0), -1), tf.logicalAnd(tf.greater(sum, 0), tf.less(sum, Infinity)));
  },
  1,
  false,
  (e: Float32Array) => {
    const sum = e.reduce((a, b) => a + b, 0);
    return e.every((x) => x >= 0) && sum > 0 && Number.isFinite(sum);
  },
);

/** One-hot vectors: entries 0 or 1 summing to 1. */
export const oneHot = make(
  'OneHot()',
  (v) => tf.logicalAnd(allTrue(boolean.check(v), -1), tf.equal(tf.sum(v, -1), 1)),
  1,
  true,
  (e: Float32Array) => e.every((x) => x === 0 || x === 1) && e.reduce((a, b) => a + b, 0) === 1,
);

/** Lower-triangular matrices with a positive diagonal. */
export const lowerCholesky = withSpec(
  make(
    'LowerCholesky()',
    (v) => {
      const d = v.shape[v.rank - 1]!;
      const upper = tf.sub(tf.ones([d, d]), tf.linalg.bandPart(tf.ones([d, d]), -1, 0));
      const upperZero = allTrue(tf.equal(tf.mul(v, upper), 0), [-2, -1]);
      return tf.logicalAnd(upperZero, allTrue(tf.greater(diagPart(v), 0), -1));
    },
    2,
    false,
    (e: Float32Array, [d]: number[]) => {
      for (let i = 0; i < d!; i++) {
        if (!(e[i * d! + i]! > 0)) return false;
        for (let j = i + 1; j < d!; j++) if (e[i * d! + j] !== 0) return false;
      }
      return true;
    },
  ),
  { kind: 'lowerCholesky' },
);

/**
 * Cholesky factors of correlation matrices: lower triangular with a positive diagonal and rows of
 * unit norm (within 10 eps D, as torch's CorrCholesky()).
 */
export const corrCholesky = withSpec(
  make(
    'CorrCholesky()',
    (v) => {
      const d = v.shape[v.rank - 1]!;
      const tol = 10 * 1.1920928955078125e-7 * d;
      const unitRows = allTrue(tf.lessEqual(tf.abs(tf.sub(tf.norm(v, 'euclidean', -1), 1)), tol), -1);
      return tf.logicalAnd(lowerCholesky.check(v), unitRows);
    },
    2,
    false,
    (e: Float32Array, shape: number[]) => {
      const d = shape[shape.length - 1]!;
      const tol = 10 * 1.1920928955078125e-7 * d;
      for (let i = 0; i < d; i++) {
        if (!(e[i * d + i]! > 0)) return false;
        let sq = 0;
        for (let j = 0; j < d; j++) {
          if (j > i && e[i * d + j] !== 0) return false;
          sq += e[i * d + j]! ** 2;
        }
        if (!(Math.abs(Math.sqrt(sq) - 1) <= tol)) return false;
      }
      return true;
    },
  ),
  { kind: 'corrCholesky' },
);

/** Symmetric positive-definite matrices (symmetric within 1e-6 relative; Cholesky succeeds). */
export const positiveDefinite = make(
  'PositiveDefinite()',
  (v) => {
    const sym = tf.lessEqual(tf.max(tf.abs(tf.sub(v, transposeLast(v))), [-2, -1]), tf.mul(1e-6, tf.add(1, tf.max(tf.abs(v), [-2, -1]))));
    const diag = diagPart(cholesky(v));
    return tf.logicalAnd(sym, allTrue(tf.greater(diag, 0), -1));
  },
  2,
  false,
  (e: Float32Array, [d]: number[]) => {
    let maxAbs = 0;
    for (let i = 0; i < e.length; i++) maxAbs = Math.max(maxAbs, Math.abs(e[i]!));
    for (let i = 0; i < d!; i++) {
      for (let j = 0; j < i; j++) if (!(Math.abs(e[i * d! + j]! - e[j * d! + i]!) <= Math.fround(1e-6) * (1 + maxAbs))) return false;
    }
    // Cholesky in float64 (ml-matrix): positive pivots throughout.
    const rows = Array.from({ length: d! }, (_, i) => Array.from(e.subarray(i * d!, (i + 1) * d!)));
    return new CholeskyDecomposition(new Matrix(rows)).isPositiveDefinite();
  },
);
