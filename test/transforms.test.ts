/**
 * Transforms on their own against torch 1.13 (test/fixtures/torch_distributions.json, section
 * "transforms"): forward, inverse and log |det J|, `.inv` (forward and inverse swapped, the
 * log-determinant negated), event dims and shapes, and no leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbsTransform,
  AffineTransform,
  bijectTo,
  checkArgs,
  constraints,
  ComposeTransform,
  CumulativeDistributionTransform,
  Exponential,
  ExpTransform,
  Gamma,
  Gumbel,
  IndependentTransform,
  LowerCholeskyTransform,
  Normal,
  PowerTransform,
  SigmoidTransform,
  SoftmaxTransform,
  StickBreakingTransform,
  TransformedDistribution,
  transformTo,
  type Transform,
} from '../src/index.js';
import { BACKENDS, expectClose, useBackend } from './helpers/backends.js';
import { fixtures, flat, tensorOf } from './helpers/fixtures.js';

/** The dlvm transform of each fixture case (the same construction as the Python script). */
const MAKE: Record<string, () => Transform> = {
  'Power 2.5': () => new PowerTransform(2.5),
  'Power -1': () => new PowerTransform(-1),
  StickBreaking: () => new StickBreakingTransform(),
  'StickBreaking extreme': () => new StickBreakingTransform(),
  Abs: () => new AbsTransform(),
  Softmax: () => new SoftmaxTransform(),
  'Compose Exp Affine': () => new ComposeTransform([new ExpTransform(), new AffineTransform(1, -2)]),
  'Independent Sigmoid': () => new IndependentTransform(new SigmoidTransform(), 1),
  LowerCholesky: () => new LowerCholeskyTransform(),
  'bijectTo Real': () => bijectTo(constraints.real),
  'bijectTo Positive': () => bijectTo(constraints.positive),
  'bijectTo GreaterThan(1.5)': () => bijectTo(constraints.greaterThan(1.5)),
  'bijectTo Interval(-1, 3)': () => bijectTo(constraints.interval(-1, 3)),
  'bijectTo UnitInterval': () => bijectTo(constraints.unitInterval),
  'bijectTo Simplex': () => bijectTo(constraints.simplex),
  'transformTo Simplex': () => transformTo(constraints.simplex),
  'transformTo LowerCholesky': () => transformTo(constraints.lowerCholesky),
  'bijectTo Independent Interval(0, 2)': () => bijectTo(constraints.independent(constraints.interval(0, 2), 1)),
  'CumulativeDistribution Normal': () => new CumulativeDistributionTransform(new Normal(0.5, 2)),
  'CumulativeDistribution Exponential': () => new CumulativeDistributionTransform(new Exponential(1.5)),
  'Compose StickBreaking after Independent Affine': () =>
    new ComposeTransform([new IndependentTransform(new AffineTransform(0.5, 1.5), 1), new StickBreakingTransform()]),
};

async function take(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe.each(BACKENDS)('transforms vs torch on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('every fixture case has a dlvm transform', () => {
    expect(fixtures.transforms.map((c) => c.name).sort()).toEqual(Object.keys(MAKE).sort());
  });

  it.each(fixtures.transforms.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const t = MAKE[c.name]!();
    expect(t.eventDim).toBe(c.eventDim);
    const x = tensorOf(c.x);
    const yRef = tensorOf(c.y);
    const y = t.forward(x);
    expect(y.shape).toEqual(yRef.shape);
    expect(t.forwardShape(x.shape)).toEqual(yRef.shape);
    expect(t.inverseShape(yRef.shape)).toEqual(x.shape);
    // Extreme stick-breaking inputs reach 2e-9 of the simplex: compare in absolute terms there.
    const tol = { rtol: 1e-5, atol: 1e-6 };
    expectClose(await take(y), flat(c.y), { ...tol, label: `${c.name} forward` });
    expectClose(await take(t.inverse(yRef)), flat(c.inverse), { rtol: 1e-4, atol: 1e-4, label: `${c.name} inverse` });
    // .inv swaps the maps.
    expectClose(await take(t.inv.forward(yRef)), flat(c.inverse), { rtol: 1e-4, atol: 1e-4, label: `${c.name} inv.forward` });
    expectClose(await take(t.inv.inverse(x)), flat(c.y), { ...tol, label: `${c.name} inv.inverse` });
    expect(t.inv.inv).toBe(t);
    expect(t.inv.domain.name).toBe(t.codomain.name);
    if (c.logAbsDetJacobian !== null) {
      expect(t.bijective).toBe(true);
      expectClose(await take(t.logAbsDetJacobian(x, yRef)), flat(c.logAbsDetJacobian), { rtol: 1e-5, atol: 1e-4, label: `${c.name} log|det J|` });
      const neg = flat(c.logAbsDetJacobian).map((v) => -v);
      expectClose(await take(t.inv.logAbsDetJacobian(yRef, x)), neg, { rtol: 1e-5, atol: 1e-4, label: `${c.name} inv log|det J|` });
    } else {
      expect(t.bijective).toBe(false);
      expect(() => t.logAbsDetJacobian(x, yRef)).toThrow(/not invertible, so it has no log-determinant/);
    }
    tf.dispose([x, yRef]);
    t.dispose();
    // (CumulativeDistribution's cdf / logProb check device values; the verdicts hold tensors until read.)
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a CumulativeDistributionTransform of a distribution pushes it to Uniform(0, 1) (the copula construction): logProb 0', async () => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const d = new TransformedDistribution(new Gumbel(0.3, 1.7), [new CumulativeDistributionTransform(new Gumbel(0.3, 1.7))]);
    expectClose(await take(d.logProb([0.05, 0.5, 0.93])), [0, 0, 0], { rtol: 0, atol: 2e-5, label: 'uniform log-density' });
    const u = await take(d.sample([2000]));
    expect(u.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Math.abs(u.reduce((a, b) => a + b, 0) / u.length - 0.5)).toBeLessThan(6 * Math.sqrt(1 / 12 / u.length));
    d.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("bijectTo of parameter constraints: tensor bounds (owned and freed), errors naming the constraint, and every family's support", async () => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const low = tf.tensor1d([0, -2]);
    const high = tf.tensor1d([1, 5]);
    const t = bijectTo(constraints.interval(low, high));
    const zero = tf.zeros([2]);
    expectClose(await take(t.forward(zero)), [0.5, 1.5], { rtol: 1e-6, atol: 1e-6, label: 'interval midpoints' });
    t.dispose();
    // A family's support, mapped from reals: the draws land inside it.
    const g = new Gamma(2, 3);
    const onto = bijectTo(g.support);
    const raw = tf.tensor1d([-30, 0, 30]);
    expect((await take(onto.forward(raw))).every((v) => v > 0)).toBe(true);
    onto.dispose();
    g.dispose();
    tf.dispose([low, high, zero, raw]);
    expect(() => bijectTo(constraints.lowerCholesky)).toThrow(/^bijectTo: LowerCholesky\(\) has no bijection from unconstrained reals/);
    expect(() => bijectTo(constraints.positiveDefinite)).toThrow(/^bijectTo: no transform is registered for PositiveDefinite\(\)/);
    expect(() => bijectTo(5 as never)).toThrow(/^bijectTo: argument 'constraint' must be a constraint/);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('StickBreaking maps 0 to the uniform point and round-trips random inputs', async () => {
    const t = new StickBreakingTransform();
    expectClose(await take(t.forward(tf.zeros([4]))), [0.2, 0.2, 0.2, 0.2, 0.2], { rtol: 1e-6, atol: 1e-7, label: 'uniform' });
    const x = tf.randomNormal([50, 6], 0, 2, 'float32', 3);
    const back = t.inverse(t.forward(x));
    expectClose(await take(back), await take(x), { rtol: 1e-3, atol: 1e-3, label: 'round trip' });
  });
});

describe('transform arguments', () => {
  it('are checked', () => {
    expect(() => new IndependentTransform(new ExpTransform(), -1)).toThrow(
      /^IndependentTransform: argument 'reinterpretedBatchNdims' must be a nonnegative integer, but got -1/,
    );
    expect(() => new IndependentTransform({} as never, 1)).toThrow(/^IndependentTransform: argument 'base' must be a Transform/);
    expect(() => new ComposeTransform([new ExpTransform(), 3 as never])).toThrow(/^ComposeTransform: argument 'parts' must be an array of Transforms/);
    expect(() => new PowerTransform('a' as never)).toThrow(/^PowerTransform: argument 'exponent' must be a Tensor or TensorLike/);
    expect(() => new StickBreakingTransform().inverseShape([])).toThrow(/^StickBreakingTransform\.inverseShape: argument 'shape'/);
  });
});
