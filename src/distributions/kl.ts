/**
 * The KL divergence registry (torch.distributions.kl).
 *
 * Each family registers its closed forms with `registerKL(P, Q, fn)` at the bottom of its own
 * file; this module imports no family. `klDivergence(p, q)` dispatches on the classes of `p` and
 * `q`: among registered pairs (P', Q') with p instanceof P' and q instanceof Q', it takes the one
 * whose classes are nearest in the prototype chains (as torch's `_dispatch_kl`), caches the choice
 * per class pair, and warns once when two pairs are equally specific in different ways.
 */
import * as tf from '@tensorflow/tfjs-core';
import { emptyShape } from '../math/ops.js';
import { argError, DlvmError, positiveInteger } from '../errors.js';
import { Distribution } from './distribution.js';

/** A class of distributions (abstract classes allowed). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DistributionClass<D extends Distribution = Distribution> = abstract new (...args: any[]) => D;

/** A closed-form KL(p || q): returns a tensor of the broadcast batch shape. */
export type KLFunction<P extends Distribution = Distribution, Q extends Distribution = Distribution> = (p: P, q: Q) => tf.Tensor;

const registry = new Map<DistributionClass, Map<DistributionClass, KLFunction>>();
const cache = new Map<DistributionClass, Map<DistributionClass, KLFunction | null>>();
const warned = new Set<string>();

function isDistributionClass(c: unknown): c is DistributionClass {
  return typeof c === 'function' && (c === Distribution || c.prototype instanceof Distribution);
}

/**
 * Registers a closed form for KL(p || q) when p is a `P` and q a `Q` (subclasses included, unless a
 * more specific pair is registered). Replaces an existing registration of the same pair. Returns
 * a function that undoes this registration (putting back the one it replaced, if any), for tests
 * and plug-ins that must leave the global registry as they found it.
 *
 * @example
 * const undo = registerKL(Normal, Laplace, (p, q) => ...); // fn returns a tensor of the batch shape
 * undo();
 */
export function registerKL<P extends Distribution, Q extends Distribution>(P: DistributionClass<P>, Q: DistributionClass<Q>, fn: KLFunction<P, Q>): () => void {
  if (!isDistributionClass(P)) throw argError('registerKL', 'P', 'a Distribution class', P);
  if (!isDistributionClass(Q)) throw argError('registerKL', 'Q', 'a Distribution class', Q);
  if (typeof fn !== 'function') throw argError('registerKL', 'fn', 'a function (p, q) => Tensor', fn);
  let row = registry.get(P);
  if (!row) registry.set(P, (row = new Map()));
  const previous = row.get(Q);
  row.set(Q, fn as KLFunction);
  cache.clear();
  let undone = false;
  return () => {
    if (undone || registry.get(P)?.get(Q) !== fn) return; // replaced since: leave the newer one
    undone = true;
    if (previous) registry.get(P)!.set(Q, previous);
    else registry.get(P)!.delete(Q);
    cache.clear();
  };
}

/** Steps from `cls` up its prototype chain to `ancestor`; -1 when `ancestor` is not on it. */
function distance(cls: DistributionClass, ancestor: DistributionClass): number {
  let c: unknown = cls;
  for (let d = 0; typeof c === 'function'; d++) {
    if (c === ancestor) return d;
    c = Object.getPrototypeOf(c);
  }
  return -1;
}

function dispatch(P: DistributionClass, Q: DistributionClass): KLFunction | null {
  const cached = cache.get(P)?.get(Q);
  if (cached !== undefined) return cached;
  const matches: Array<{ dp: number; dq: number; p: DistributionClass; q: DistributionClass; fn: KLFunction }> = [];
  for (const [p, row] of registry) {
    const dp = distance(P, p);
    if (dp < 0) continue;
    for (const [q, fn] of row) {
      const dq = distance(Q, q);
      if (dq >= 0) matches.push({ dp, dq, p, q, fn });
    }
  }
  let result: KLFunction | null = null;
  if (matches.length > 0) {
    const left = [...matches].sort((a, b) => a.dp - b.dp || a.dq - b.dq)[0]!;
    const right = [...matches].sort((a, b) => a.dq - b.dq || a.dp - b.dp)[0]!;
    if (left !== right) {
      const key = `${P.name}|${Q.name}`;
      if (!warned.has(key)) {
        warned.add(key);
        console.warn(
          `klDivergence: ambiguous KL(${P.name} || ${Q.name}): (${left.p.name}, ${left.q.name}) and ` +
            `(${right.p.name}, ${right.q.name}) are equally specific; using the first. ` +
            `Register (${P.name}, ${Q.name}) to decide.`,
        );
      }
    }
    result = left.fn;
  }
  let row = cache.get(P);
  if (!row) cache.set(P, (row = new Map()));
  row.set(Q, result);
  return result;
}

/** Whether the registry has a closed form for KL(p || q) (for the classes of p and q). */
export function hasClosedFormKL(p: Distribution, q: Distribution): boolean {
  if (!(p instanceof Distribution)) throw argError('hasClosedFormKL', 'p', 'a Distribution', p);
  if (!(q instanceof Distribution)) throw argError('hasClosedFormKL', 'q', 'a Distribution', q);
  return dispatch(p.constructor as DistributionClass, q.constructor as DistributionClass) !== null;
}

/**
 * KL(p || q) in closed form, from the registry. Returns a tensor of the broadcast batch shape of
 * p and q. Throws when no pair is registered; {@link monteCarloKL} estimates it instead.
 *
 * @example
 * const kl = klDivergence(new Normal(0, 1), new Normal(1, 2)); // scalar tensor
 */
export function klDivergence(p: Distribution, q: Distribution): tf.Tensor {
  if (!(p instanceof Distribution)) throw argError('klDivergence', 'p', 'a Distribution', p);
  if (!(q instanceof Distribution)) throw argError('klDivergence', 'q', 'a Distribution', q);
  const P = p.constructor as DistributionClass;
  const Q = q.constructor as DistributionClass;
  const fn = dispatch(P, Q);
  if (!fn) {
    throw new DlvmError(
      `klDivergence: no closed form is registered for KL(${P.name} || ${Q.name}). ` +
        `Estimate it with monteCarloKL(p, q, nSamples), or register one with registerKL(${P.name}, ${Q.name}, fn).`,
    );
  }
  // No values (a 0 in the batch shape): torch's empty result, without tfjs's empty-tensor kernels.
  const empty = emptyShape([p.batchShape, q.batchShape]);
  if (empty !== null) return tf.zeros(empty);
  return tf.tidy(() => fn(p, q));
}

/**
 * Monte Carlo estimate of KL(p || q) = E_p[log p(x) - log q(x)] from `nSamples` draws of p.
 * Uses `rsample` when p has it, so the estimate carries gradients. Returns the batch shape.
 * Its standard error shrinks as 1 / sqrt(nSamples).
 */
export function monteCarloKL(p: Distribution, q: Distribution, nSamples: number): tf.Tensor {
  if (!(p instanceof Distribution)) throw argError('monteCarloKL', 'p', 'a Distribution', p);
  if (!(q instanceof Distribution)) throw argError('monteCarloKL', 'q', 'a Distribution', q);
  positiveInteger('monteCarloKL', 'nSamples', nSamples);
  return tf.tidy(() => {
    const x = p.hasRsample ? p.rsample([nSamples]) : p.sample([nSamples]); // [S, ...batch, ...event]
    return tf.mean(tf.sub(p.logProb(x), q.logProb(x)), 0);
  });
}
