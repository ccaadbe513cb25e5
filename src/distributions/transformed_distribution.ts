/**
 * TransformedDistribution: a base distribution pushed through bijections,
 * torch.distributions.TransformedDistribution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import { independent, type Constraint } from './constraints.js';
import { Distribution, type DistributionOptions } from './distribution.js';
import { Independent } from './independent.js';
import { klDivergence, registerKL } from './kl.js';
import { AffineTransform, ComposeTransform, Transform, composedSign } from './transforms.js';
import { broadcastShapes, sumRightmost } from './util.js';

/**
 * The distribution of y = t_n(...t_1(x)) for x from `base`. logProb(y) = base.logProb(x) minus the
 * log-determinants of the Jacobians along the way. When the transforms couple more rightmost
 * dimensions than the base's event has, the base is wrapped in {@link Independent}; when an
 * affine transform broadcasts to a larger shape, the base is expanded (both as torch).
 *
 * The transformed distribution owns `base` and the transforms: `dispose()` disposes them.
 *
 * @example
 * // A logistic-normal-like squashed Gaussian on (-1, 1):
 * const d = new TransformedDistribution(new Normal(mu, sigma), [new TanhTransform()]);
 */
export class TransformedDistribution extends Distribution {
  /** The distribution of x (possibly wrapped in Independent or expanded). */
  readonly base: Distribution;
  /** Transforms applied in order. */
  readonly transforms: Transform[];

  constructor(base: Distribution, transforms: Transform | Transform[], options: DistributionOptions = {}) {
    const name = new.target?.name ?? 'TransformedDistribution';
    if (!(base instanceof Distribution)) throw argError(name, 'base', 'a Distribution', base);
    const list = transforms instanceof Transform ? [transforms] : transforms;
    if (!Array.isArray(list) || !list.every((t) => t instanceof Transform)) {
      throw argError(name, 'transforms', 'a Transform or an array of Transforms', transforms);
    }
    const baseEvent = base.eventShape.length;
    // The chain's event dims in x's space and in y's (they differ when a transform changes the event rank).
    const chain = new ComposeTransform(list);
    const transformEvent = chain.eventDim;
    let shape = [...base.batchShape, ...base.eventShape];
    if (shape.length < transformEvent) {
      throw argError(name, 'base', `a distribution with at least ${transformEvent} dimensions (the transforms' event dims)`, base);
    }
    // The shape through the chain: affine parameters may broadcast it (the base is then expanded,
    // in its own space), and StickBreaking-like transforms change it (forwardShape).
    let baseShape = [...shape];
    list.forEach((t, i) => {
      if (t instanceof AffineTransform) {
        const wider = broadcastShapes(name, [
          ['base shape', shape],
          ['AffineTransform loc', t.loc.shape],
          ['AffineTransform scale', t.scale.shape],
        ]);
        if (!tf.util.arraysEqual(wider, shape)) baseShape = list.slice(0, i).reduceRight((sh, u) => u.inverseShape(sh), wider);
        shape = wider;
      }
      shape = t.forwardShape(shape);
    });
    let inner = base;
    if (!tf.util.arraysEqual(baseShape, [...base.batchShape, ...base.eventShape])) {
      inner = base.expand(baseShape.slice(0, baseShape.length - baseEvent));
    }
    if (transformEvent > baseEvent) inner = new Independent(inner, transformEvent - baseEvent, options);
    const eventDim = chain.codomainEventDim + Math.max(baseEvent - transformEvent, 0);
    super(shape.slice(0, shape.length - eventDim), shape.slice(shape.length - eventDim), options);
    this.base = inner;
    this.given = base;
    this.transforms = list;
  }

  /** The base as given (differs from `base` when it was expanded or wrapped). */
  private readonly given: Distribution;

  get argConstraints(): Record<string, Constraint> {
    return {};
  }
  get support(): Constraint {
    if (this.transforms.length === 0) return this.base.support;
    const c = this.transforms[this.transforms.length - 1]!.codomain;
    return independent(c, this.eventShape.length - c.eventDim);
  }
  override get hasRsample(): boolean {
    return this.base.hasRsample;
  }
  override toString(): string {
    return `${this.name}(${this.base.toString()}, [${this.transforms.map(String).join(', ')}])`;
  }

  expand(batchShape: number[]): TransformedDistribution {
    this.assertLive('expand');
    if (!Array.isArray(batchShape)) throw argError(`${this.name}.expand`, 'batchShape', 'an array', batchShape);
    // The base's batch shape for this batch shape: the full shape pulled back through the chain.
    const shape = this.transforms.reduceRight((sh, t) => t.inverseShape(sh), [...batchShape, ...this.eventShape]);
    return new TransformedDistribution(this.base.expand(shape.slice(0, shape.length - this.base.eventShape.length)), this.transforms, this.options());
  }

  override dispose(): void {
    this.base.dispose();
    this.given.dispose();
    for (const t of this.transforms) t.dispose();
    super.dispose();
  }

  protected override _sample(sampleShape: number[]): tf.Tensor {
    let x = this.base.sample(sampleShape);
    for (const t of this.transforms) x = t.forward(x);
    return x;
  }
  protected override _rsample(sampleShape: number[]): tf.Tensor {
    let x = this.base.rsample(sampleShape);
    for (const t of this.transforms) x = t.forward(x);
    return x;
  }
  protected override _logProb(y: tf.Tensor): tf.Tensor {
    // eventDim: the event dims of the current value, walking back through the chain.
    let eventDim = this.eventShape.length;
    let lp: tf.Tensor = tf.scalar(0);
    let current = y;
    for (let i = this.transforms.length - 1; i >= 0; i--) {
      const t = this.transforms[i]!;
      const x = t.inverse(current);
      eventDim += t.eventDim - t.codomainEventDim;
      lp = tf.sub(lp, sumRightmost(t.logAbsDetJacobian(x, current), eventDim - t.eventDim));
      current = x;
    }
    return tf.add(lp, sumRightmost(this.base.logProb(current), eventDim - this.base.eventShape.length));
  }
  /** Sign of the composed map: 1, -1, or a tensor of signs. */
  private sign(): number | tf.Tensor {
    return composedSign(this.transforms);
  }
  protected override _cdf(y: tf.Tensor): tf.Tensor {
    let x = y;
    for (let i = this.transforms.length - 1; i >= 0; i--) x = this.transforms[i]!.inverse(x);
    const c = this.base.cdf(x);
    const s = this.sign();
    return s === 1 ? c : tf.add(tf.mul(s, tf.sub(c, 0.5)), 0.5);
  }
  protected override _icdf(p: tf.Tensor): tf.Tensor {
    const s = this.sign();
    let x = this.base.icdf(s === 1 ? p : tf.add(tf.mul(s, tf.sub(p, 0.5)), 0.5));
    for (const t of this.transforms) x = t.forward(x);
    return x;
  }
}

// Same transforms on both sides: KL is invariant under the bijection.
registerKL(TransformedDistribution, TransformedDistribution, (p, q) => {
  const same = p.transforms.length === q.transforms.length && p.transforms.every((t, i) => t.equals(q.transforms[i]!));
  if (!same || !tf.util.arraysEqual(p.eventShape, q.eventShape)) {
    throw new DlvmError(
      `klDivergence: KL(${p.name} || ${q.name}) has a closed form only for equal transforms and event shapes; use monteCarloKL(p, q, nSamples).`,
    );
  }
  return sumRightmost(klDivergence(p.base, q.base), p.base.batchShape.length - p.batchShape.length);
});
