/**
 * Mixtures of one family, torch.distributions.MixtureSameFamily, with reparameterised sampling
 * (which torch lacks, pytorch#39178).
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, Described, DlvmError } from '../errors.js';
import { Categorical } from './categorical.js';
import type { Constraint } from './constraints.js';
import { Distribution, type DistributionOptions } from './distribution.js';
import { Independent } from './independent.js';
import { stopGradient, unsqueeze } from './util.js';

/**
 * MixtureSameFamily(mixture, component): p(x) = sum_k pi_k p_k(x). `mixture` is a Categorical
 * with batch shape B and K categories; `component` has batch shape [...B, K] and any event shape
 * E. The mixture has batch shape B and event shape E.
 *
 * `rsample` is reparameterised when every component's event factorises into univariate
 * distributions with a CDF (Normal, Laplace, ... or Independent of them over one dimension): it
 * draws x by ancestral sampling and gives it the implicit gradient of the distributional
 * transform x_d = F_d^-1(u_d | x_<d) (Graves 2016; Figurnov et al. 2018), which is what TFP does.
 * The gradients reach the mixture logits as well as the component parameters.
 *
 * Owns `mixture` and `component`: `dispose()` disposes them.
 *
 * @example
 * // A GMVAE-style prior: K Gaussians in M dimensions.
 * const prior = new MixtureSameFamily(
 *   new Categorical({ logits: tf.zeros([K]) }),
 *   new Independent(new Normal(means, scales), 1), // means, scales: [K, M]
 * );
 * prior.logProb(z); // z [B, M] -> [B]
 */
export class MixtureSameFamily extends Distribution {
  /** The mixing weights. */
  readonly mixture: Categorical;
  /** The K components (the rightmost batch dimension). */
  readonly component: Distribution;

  constructor(mixture: Categorical, component: Distribution, options: DistributionOptions = {}) {
    if (!(mixture instanceof Categorical)) {
      throw argError('MixtureSameFamily', 'mixture', 'a Categorical', mixture);
    }
    if (!(component instanceof Distribution)) {
      throw argError('MixtureSameFamily', 'component', 'a Distribution', component);
    }
    const cb = component.batchShape;
    const k = mixture.numEvents;
    const ok = cb.length >= 1 && cb[cb.length - 1] === k && mixture.batchShape.length === cb.length - 1 && mixture.batchShape.every((d, i) => d === cb[i]);
    if (!ok) {
      throw argError(
        'MixtureSameFamily',
        'component',
        `a distribution with batch shape [${[...mixture.batchShape, k].join(', ')}] (the mixture's batch shape, then its ${k} categories)`,
        new Described(`batch shape [${cb.join(', ')}]`),
      );
    }
    super(mixture.batchShape, component.eventShape, options);
    this.mixture = mixture;
    this.component = component;
  }

  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    return this.component.support;
  }
  override get hasRsample(): boolean {
    return this.univariateParts() !== null;
  }
  override toString(): string {
    return `MixtureSameFamily(${this.mixture.toString()}, ${this.component.toString()})`;
  }

  expand(batchShape: number[]): MixtureSameFamily {
    this.assertLive('expand');
    if (!Array.isArray(batchShape)) throw argError('MixtureSameFamily.expand', 'batchShape', 'an array', batchShape);
    return new MixtureSameFamily(this.mixture.expand(batchShape), this.component.expand([...batchShape, this.mixture.numEvents]), this.options());
  }

  override dispose(): void {
    this.mixture.dispose();
    this.component.dispose();
    super.dispose();
  }

  /** Number of event dimensions. */
  private get ev(): number {
    return this.eventShape.length;
  }
  /** Mixture weights reshaped to broadcast over the event: [...B, K, 1, ..., 1]. */
  private weights(t: tf.Tensor): tf.Tensor {
    return tf.reshape(t, [...t.shape, ...this.eventShape.map(() => 1)]);
  }

  protected override _logProb(x: tf.Tensor): tf.Tensor {
    // log sum_k exp(log pi_k + log p_k(x)): x [S, ...B, ...E] -> [S, ...B, 1, ...E] -> [S, ...B, K]
    const lp = this.component.logProb(unsqueeze(x, -1 - this.ev));
    return tf.logSumExp(tf.add(lp, this.mixture.logits), -1);
  }
  protected override _cdf(x: tf.Tensor): tf.Tensor {
    const c = this.component.cdf(unsqueeze(x, -1 - this.ev)); // [S, ...B, K]
    return tf.sum(tf.mul(c, this.mixture.probs), -1);
  }
  protected override _mean(): tf.Tensor {
    // sum_k pi_k mean_k: [...B, K, ...E] -> [...B, ...E]
    return tf.sum(tf.mul(this.weights(this.mixture.probs), this.component.mean), -1 - this.ev);
  }
  protected override _variance(): tf.Tensor {
    // Law of total variance: E[Var_k] + Var[mean_k].
    const w = this.weights(this.mixture.probs);
    const axis = -1 - this.ev;
    const m = this.component.mean;
    const meanOfCond = tf.sum(tf.mul(w, m), axis, true);
    const e = tf.sum(tf.mul(w, this.component.variance), axis);
    const v = tf.sum(tf.mul(w, tf.square(tf.sub(m, meanOfCond))), axis);
    return tf.add(e, v);
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    // Draw every component, then keep the one the mixture picked: [S, ...B, K, ...E] -> [S, ...B, ...E].
    const all = this.component.sample(sampleShape);
    const idx = this.mixture.sample(sampleShape); // [S, ...B]
    const mask = this.weights(tf.oneHot(idx, this.mixture.numEvents));
    return tf.sum(tf.mul(all, mask), -1 - this.ev);
  }

  /**
   * The univariate pieces of the component, when the implicit reparameterisation applies: the
   * component itself with event [] or the base of an Independent over one dimension.
   */
  private univariateParts(): Distribution | null {
    const c = this.component;
    const hasCdf = (d: Distribution) => d.eventShape.length === 0 && d.hasRsample && cdfDefined(d);
    if (c.eventShape.length === 0) return hasCdf(c) ? c : null;
    if (c instanceof Independent && c.reinterpretedBatchNdims === 1 && c.eventShape.length === 1 && hasCdf(c.base)) {
      return c.base;
    }
    return null;
  }

  protected override _rsample(sampleShape: number[]): tf.Tensor {
    const base = this.univariateParts();
    if (base === null) {
      throw new DlvmError(
        `MixtureSameFamily.rsample: reparameterised sampling needs components whose events factor into univariate distributions with rsample and cdf (e.g. Normal, or Independent(Normal, 1)); got ${this.component.toString()}.`,
      );
    }
    const x = this.sample(sampleShape); // [S, ...B, ...E], no gradient
    const logits = this.mixture.logits; // [...B, K]
    if (this.ev === 0) return implicitStep(x, base, logits);
    // Event [D]: x_d = F_d^-1(u_d | x_<d). The conditional weights of coordinate d are
    // pi_k prod_{j<d} p_k(x_j), computed from the reparameterised coordinates before it.
    const d = this.eventShape[0]!;
    const coords: tf.Tensor[] = [];
    let logW: tf.Tensor = logits; // [...B, K] -> broadcast with [S, ...B, K]
    for (let i = 0; i < d; i++) {
      const xi = tf.squeeze(tf.slice(x, [...x.shape.map(() => 0).slice(0, -1), i], [...x.shape.slice(0, -1), 1]), [-1]);
      const part = slicePart(base, i); // univariate components for coordinate i: batch [...B, K]
      const xr = implicitStep(xi, part.dist, logW);
      coords.push(xr);
      // Update the weights with log p_k(x_i) of the reparameterised coordinate.
      logW = tf.add(logW, part.dist.logProb(tf.expandDims(xr, -1)));
      part.dispose();
    }
    return tf.stack(coords, -1);
  }
}

/** Whether `d` defines `cdf` (has an override of the base class's `_cdf`). */
function cdfDefined(d: Distribution): boolean {
  const proto = Object.getPrototypeOf(d) as { _cdf?: unknown };
  return proto._cdf !== (Distribution.prototype as unknown as { _cdf: unknown })._cdf;
}

/**
 * The reparameterised value of one univariate mixture coordinate: numerically x, with gradient
 * -(dF/dtheta) / p(x), where F(x) = sum_k w_k F_k(x) with w = softmax(logW) and p its density.
 */
function implicitStep(x: tf.Tensor, comp: Distribution, logW: tf.Tensor): tf.Tensor {
  const xs = tf.expandDims(x, -1); // [S, ...B, 1] against components [...B, K]
  const w = tf.softmax(logW, -1);
  const cdf = tf.sum(tf.mul(w, comp.cdf(xs)), -1); // [S, ...B]
  const logDensity = tf.logSumExp(tf.add(tf.logSoftmax(logW, -1), comp.logProb(xs)), -1);
  const density = tf.exp(logDensity);
  // x - (F - stop(F)) / stop(p): equals x, differentiates to -(dF/dtheta) / p.
  const correction = tf.div(tf.sub(cdf, stopGradient(cdf)), stopGradient(density));
  return tf.sub(x, correction);
}

/** Coordinate i of a univariate component with batch [...B, K, D]: a distribution with batch [...B, K]. */
function slicePart(base: Distribution, i: number): { dist: Distribution; dispose: () => void } {
  const sliced = sliceDistribution(base, i);
  return { dist: sliced, dispose: () => sliced.dispose() };
}

/**
 * A distribution of the same family with every batch-shaped tensor parameter sliced at index i
 * of its last batch dimension. Works for families whose constructor takes their tensor
 * parameters positionally in `argConstraints` order (Normal, Laplace, ...).
 */
function sliceDistribution(d: Distribution, i: number): Distribution {
  const keys = Object.keys(d.argConstraints);
  const record = d as unknown as Record<string, unknown>;
  const params = keys.map((k) => record[k]).filter((v): v is tf.Tensor => v instanceof tf.Tensor);
  if (params.length !== keys.length) {
    throw new DlvmError(`MixtureSameFamily.rsample: cannot slice the parameters of ${d.toString()}.`);
  }
  const sliced = params.map((t) => tf.squeeze(tf.slice(t, [...t.shape.map(() => 0).slice(0, -1), i], [...t.shape.slice(0, -1), 1]), [-1]));
  const Ctor = d.constructor as new (...args: unknown[]) => Distribution;
  return new Ctor(...sliced, { validateArgs: false });
}
