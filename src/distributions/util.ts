/**
 * Helpers shared by the distributions: converting parameters, shapes, probabilities and logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import { sum } from '../math/ops.js';
import { backendNotReady, ensureBackend } from '../backend/ready.js';

/** A parameter or value: a tensor, or anything `tf.tensor` accepts (numbers, nested arrays). */
export type TensorInput = tf.Tensor | tf.TensorLike;

/** Smallest float32 step above 1 (torch's `finfo(float32).eps`), used to clamp probabilities. */
export const EPS = 1.1920928955078125e-7;

/** Smallest positive normal float32 (torch's `finfo.tiny`); samplers clamp draws to it. */
export const TINY = 1.1754943508222875e-38;

/** The shape of a rectangular nested array of numbers, or null if it is not one. */
function nestedShape(x: unknown): number[] | null {
  if (typeof x === 'number' || typeof x === 'boolean') return [];
  if (ArrayBuffer.isView(x)) return [(x as unknown as ArrayLike<number>).length];
  if (!Array.isArray(x)) return null;
  if (x.length === 0) return [0];
  const first = nestedShape(x[0]);
  if (first === null) return null;
  for (let i = 1; i < x.length; i++) {
    const s = nestedShape(x[i]);
    if (s === null || !tf.util.arraysEqual(s, first)) return null;
  }
  return [x.length, ...first];
}

/** True for values `tf.tensor` accepts: numbers and rectangular nested arrays of them. */
function isTensorLike(x: unknown): x is tf.TensorLike {
  return nestedShape(x) !== null;
}

/** Host copies (float32) of tensors made from JavaScript values, so checks need no device read. */
const hostValues = new WeakMap<tf.Tensor, { values: Float32Array; shape: number[] }>();

/**
 * The host values a tensor was made from by {@link toFloat} (or a broadcast of such a tensor,
 * see {@link shareHostValues}), or undefined for a tensor whose values live only on the device.
 */
export function hostValuesOf(t: tf.Tensor): { values: Float32Array; shape: number[] } | undefined {
  return hostValues.get(t);
}

/**
 * Records the host values of `derived`, a broadcast of `source` (to `derived.shape`), when
 * `source` has host values: broadcast on the host, so bounds line up with the values they bound.
 */
export function shareHostValues(source: tf.Tensor, derived: tf.Tensor): void {
  const h = hostValues.get(source);
  if (!h) return;
  const shape = derived.shape;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > 1 << 20) return; // large parameters are checked on the device instead
  const rank = shape.length;
  const src = [...new Array<number>(rank - h.shape.length).fill(1), ...h.shape];
  const srcStrides = tf.util.computeStrides(src);
  const out = new Float32Array(size);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < size; k++) {
    let off = 0;
    for (let d = 0; d < rank - 1; d++) off += (src[d] === 1 ? 0 : idx[d]!) * srcStrides[d]!;
    if (rank > 0) off += src[rank - 1] === 1 ? 0 : idx[rank - 1]!;
    out[k] = h.values[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  hostValues.set(derived, { values: out, shape: [...shape] });
}

/**
 * Converts `value` to a float32 tensor. Returns the tensor and whether it was created here (the
 * caller then owns it). Rejects anything else with an error naming `fn` and `arg`. A tensor made
 * from JavaScript values keeps a host copy of them (see {@link hostValuesOf}).
 */
export function toFloat(fn: string, arg: string, value: unknown): { tensor: tf.Tensor; created: boolean } {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) throw argError(fn, arg, 'a live Tensor', 'a disposed Tensor');
    if (value.dtype === 'float32') return { tensor: value, created: false };
    if (value.dtype === 'string' || value.dtype === 'complex64') {
      throw argError(fn, arg, 'a numeric Tensor', `a ${value.dtype} Tensor`);
    }
    return { tensor: tf.cast(value, 'float32'), created: true };
  }
  if (Array.isArray(value) && !isTensorLike(value)) {
    throw argError(fn, arg, 'a Tensor or a rectangular nested array of numbers', value);
  }
  if (!isTensorLike(value)) throw argError(fn, arg, 'a Tensor or TensorLike (number or nested array)', value);
  ensureBackend(fn);
  try {
    const shape = nestedShape(value)!;
    const values = Float32Array.from(
      typeof value === 'number' || typeof value === 'boolean' ? [Number(value)] : (tf.util.flatten(value as number[]) as number[]),
    );
    const tensor = tf.tensor(values, shape, 'float32');
    hostValues.set(tensor, { values, shape });
    return { tensor, created: true };
  } catch (e) {
    throw backendNotReady(fn, e) ?? argError(fn, arg, 'a Tensor or a rectangular nested array of numbers', value);
  }
}

/**
 * Broadcasts shapes right-aligned, as torch and numpy do. `named` pairs each shape with the
 * argument it came from, for the error message.
 */
export function broadcastShapes(fn: string, named: Array<[string, number[]]>): number[] {
  const rank = Math.max(0, ...named.map(([, s]) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const [, s] of named) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && d !== dim) {
        const list = named.map(([n, sh]) => `${n} [${sh.join(', ')}]`).join(', ');
        throw new DlvmError(`${fn}: arguments must have broadcastable shapes, but got ${list}.`);
      }
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** `[...sampleShape, ...batchShape, ...eventShape]`: the shape of `sample(sampleShape)`. */
export function extendedShape(sampleShape: number[], batchShape: number[], eventShape: number[]): number[] {
  return [...sampleShape, ...batchShape, ...eventShape];
}

/** Checks a sample shape: an array of nonnegative integers. Returns a copy. */
export function checkSampleShape(fn: string, sampleShape: unknown): number[] {
  if (!Array.isArray(sampleShape) || !sampleShape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw argError(fn, 'sampleShape', 'an array of nonnegative integers such as [] or [16]', sampleShape);
  }
  return [...(sampleShape as number[])];
}

/** Sums the `n` rightmost dimensions of `x`. */
export function sumRightmost(x: tf.Tensor, n: number): tf.Tensor {
  if (n <= 0) return x;
  return sum(
    x,
    Array.from({ length: n }, (_, i) => x.rank - 1 - i),
  );
}

/** The identity with a zero gradient (tfjs has no `stopGradient`); used by `sample()`. */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Clamps probabilities to [eps, 1 - eps] so their logs stay finite. */
export function clampProbs(p: tf.Tensor): tf.Tensor {
  return tf.clipByValue(p, EPS, 1 - EPS);
}

/**
 * Logits from probabilities: log(p) - log1p(-p) for binary variables, log(p) for categorical
 * ones (the caller normalises), on clamped probabilities.
 */
export function probsToLogits(p: tf.Tensor, binary: boolean): tf.Tensor {
  return tf.tidy(() => {
    const c = clampProbs(p);
    return binary ? tf.sub(tf.log(c), tf.log1p(tf.neg(c))) : tf.log(c);
  });
}

/** Normalised categorical logits: logits - logSumExp(logits) over the last axis. */
export function normalizeLogits(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(logits, tf.logSumExp(logits, -1, true)));
}

/** Uniform samples in the open interval (eps, 1 - eps), safe for log(u) and log1p(-u). */
export function uniformOpen(shape: number[], seed: number | undefined): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.randomUniform(shape, 0, 1, 'float32', seed), EPS, 1 - EPS));
}

/**
 * Uniform samples in [tiny, 1 - eps) (torch's `Uniform(finfo.tiny, 1 - finfo.eps)`), for samplers
 * that take log(-log(u)) or log(u) and need the far tail that {@link uniformOpen} cuts at eps.
 */
export function uniformTiny(shape: number[], seed: number | undefined): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.randomUniform(shape, 0, 1, 'float32', seed), TINY, 1 - EPS));
}

/** `x` with `value` where `cond` holds (an infinite KL outside a support, a NaN moment). */
export function fillWhere(cond: tf.Tensor, value: number, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(cond.shape, x.shape);
    return tf.where(cond, tf.fill(shape, value), x);
  });
}

/** A tensor of NaN with the given shape (torch returns NaN for undefined moments). */
export function nanTensor(shape: number[]): tf.Tensor {
  return tf.fill(shape, NaN);
}

/** Inserts a size-1 axis at `axis` (negative counts from the end of the new shape). */
export function unsqueeze(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.expandDims(x, axis < 0 ? x.rank + 1 + axis : axis);
}

/** The `{ probs } | { logits }` argument of the discrete families. */
export type ProbsOrLogits = { probs: TensorInput; logits?: undefined } | { logits: TensorInput; probs?: undefined };

/** Reads a `{ probs } | { logits }` argument, requiring exactly one of the two. */
export function probsOrLogits(fn: string, arg: unknown): { kind: 'probs' | 'logits'; value: TensorInput } {
  const obj = arg as { probs?: TensorInput; logits?: TensorInput } | null;
  const hasProbs = obj !== null && typeof obj === 'object' && obj.probs !== undefined;
  const hasLogits = obj !== null && typeof obj === 'object' && obj.logits !== undefined;
  if (hasProbs === hasLogits || obj instanceof tf.Tensor || Array.isArray(obj)) {
    throw argError(fn, 'params', 'an object with exactly one of { probs } or { logits }', arg);
  }
  return hasProbs ? { kind: 'probs', value: obj!.probs! } : { kind: 'logits', value: obj!.logits! };
}

/** KL = +inf with the broadcast batch shape of p and q (q cannot explain p's support). */
export function infiniteKL(p: { batchShape: number[] }, q: { batchShape: number[] }): tf.Tensor {
  return tf.fill(
    broadcastShapes('klDivergence', [
      ['p', p.batchShape],
      ['q', q.batchShape],
    ]),
    Infinity,
  );
}

/** x log x with 0 log 0 = 0. */
export function xLogX(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.equal(x, 0), tf.zerosLike(x), tf.mul(x, tf.log(tf.where(tf.equal(x, 0), tf.onesLike(x), x)))));
}

/** The Euler-Mascheroni constant. */
export const EULER_GAMMA = 0.5772156649015329;

/** Both parameterisations of a discrete distribution, and the tensors made to get them. */
export interface ProbsAndLogits {
  probs: tf.Tensor;
  logits: tf.Tensor;
  /** Tensors created here (the derived parameter), for the distribution to own. */
  made: tf.Tensor[];
}

/**
 * [log p, log(1 - p)] of binary parameters, exact from the one that was given: log and log1p
 * of probs (log1p(-1) = -inf at p = 1), or -softplus(-logits) and -softplus(logits).
 */
export function binaryLogs(given: 'probs' | 'logits', probs: tf.Tensor, logits: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (given === 'probs') return [tf.log(probs), tf.log1p(tf.neg(probs))];
  return [tf.neg(tf.softplus(tf.neg(logits))), tf.neg(tf.softplus(logits))];
}

/** 1 - p of binary parameters, exact from the one that was given (sigmoid(-logits) for logits). */
export function binaryComplement(given: 'probs' | 'logits', probs: tf.Tensor, logits: tf.Tensor): tf.Tensor {
  return given === 'probs' ? tf.sub(1, probs) : tf.sigmoid(tf.neg(logits));
}

/**
 * probs and logits of binary variables from the one the user gave. `clamp` keeps probs from
 * logits inside [eps, 1 - eps] (torch does for ContinuousBernoulli and the relaxed families).
 */
export function binaryParams(kind: 'probs' | 'logits', given: tf.Tensor, clamp: boolean): ProbsAndLogits {
  if (kind === 'probs') {
    const logits = probsToLogits(given, true);
    return { probs: given, logits, made: [logits] };
  }
  const probs = tf.tidy(() => (clamp ? clampProbs(tf.sigmoid(given)) : tf.sigmoid(given)));
  return { probs, logits: given, made: [probs] };
}

/**
 * Normalised probs and logits over the last axis of categorical parameters: probs divided by
 * their sum, logits minus their logSumExp.
 */
export function categoricalParams(kind: 'probs' | 'logits', given: tf.Tensor): ProbsAndLogits {
  if (kind === 'probs') {
    const probs = tf.tidy(() => tf.div(given, tf.sum(given, -1, true)));
    const logits = probsToLogits(probs, false);
    return { probs, logits, made: [probs, logits] };
  }
  const logits = normalizeLogits(given);
  const probs = tf.softmax(logits);
  return { probs, logits, made: [probs, logits] };
}

/**
 * Per element, the candidate of the first round that accepted, else `fallback`: the rounds are
 * the leading axis of `accept` and `candidate` ([K, ...shape]; candidates are >= 0). Rejected
 * candidates become -1 before the rounds are split, so only float32 data is sliced (webgpu
 * slices of bool data are not reliable).
 */
export function firstAccepted(accept: tf.Tensor, candidate: tf.Tensor, fallback: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const rounds = tf.unstack(tf.where(accept, candidate, tf.fill(candidate.shape, -1)));
    let out = fallback;
    for (let k = rounds.length - 1; k >= 0; k--) out = tf.where(tf.greaterEqual(rounds[k]!, 0), rounds[k]!, out);
    return out;
  });
}

/**
 * Draws of a count X in {0, ..., N} by inversion, from its probabilities `p` = [p_0, ..., p_N]
 * (tensors of one shape) and uniforms `u` in [0, 1): X = #{n < N : S(n) > u} with the tail
 * S(n) = P(X > n) = sum_(j = n+1..N) p_j. The tail is summed upwards from the smallest term, so it
 * keeps its relative precision in float32 where 1 - F(n) would round to 0 (a CDF compared with
 * u near 1 would lose the upper tail). Mass beyond N is dropped, so callers bound it.
 */
export function countByTail(u: tf.Tensor, p: tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    let tail: tf.Tensor = tf.zerosLike(u);
    let count: tf.Tensor = tf.zerosLike(u);
    for (let n = p.length - 2; n >= 0; n--) {
      tail = tf.add(tail, p[n + 1]!);
      count = tf.add(count, tf.cast(tf.greater(tail, u), 'float32'));
    }
    return count;
  });
}
