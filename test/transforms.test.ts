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
  CatTransform,
  ComposeTransform,
  CorrCholeskyTransform,
  CumulativeDistributionTransform,
  Exponential,
  ExpTransform,
  Gamma,
  Gumbel,
  Independent,
  IndependentTransform,
  klDivergence,
  LKJCholesky,
  LowerCholeskyTransform,
  Normal,
  PowerTransform,
  ReshapeTransform,
  SigmoidTransform,
  SoftmaxTransform,
  StackTransform,
  StickBreakingTransform,
  TanhTransform,
  TransformedDistribution,
  transformTo,
  type Transform,
} from '../src/index.js';
import { determinant, Matrix } from 'ml-matrix';
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
  'CorrCholesky D=3': () => new CorrCholeskyTransform(),
  'CorrCholesky D=2': () => new CorrCholeskyTransform(),
  'CorrCholesky D=5 wide': () => new CorrCholeskyTransform(),
  'bijectTo CorrCholesky': () => bijectTo(constraints.corrCholesky),
  'Reshape [6] to [2, 3]': () => new ReshapeTransform([6], [2, 3]),
  'Reshape [2, 2] to [4]': () => new ReshapeTransform([2, 2], [4]),
  'Compose Reshape then CorrCholesky': () => new ComposeTransform([new ReshapeTransform([2, 3], [6]), new CorrCholeskyTransform()]),
  'Cat along a batch dim': () => new CatTransform([new ExpTransform(), new AffineTransform(1, -2)], 0, [1, 2]),
  'Cat inside the event': () =>
    new CatTransform([new IndependentTransform(new SigmoidTransform(), 1), new IndependentTransform(new ExpTransform(), 1)], -1, [2, 3]),
  'Cat of vector transforms along a batch dim': () =>
    new CatTransform([new IndependentTransform(new ExpTransform(), 1), new IndependentTransform(new TanhTransform(), 1)], 0, [1, 2]),
  Stack: () => new StackTransform([new ExpTransform(), new SigmoidTransform(), new ComposeTransform([])], 1),
  'Stack of vector transforms': () =>
    new StackTransform([new IndependentTransform(new ExpTransform(), 1), new IndependentTransform(new AffineTransform(0.5, -3), 1)], 0),
  'Stack of CorrCholesky': () => new StackTransform([new CorrCholeskyTransform(), new CorrCholeskyTransform()], 0),
};

async function take(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe.each([...BACKENDS, 'webgpu' as const])('transforms vs torch on %s', (backend) => {
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
    expect(t.codomainEventDim).toBe(c.codomainEventDim);
    expect(t.inv.eventDim).toBe(c.codomainEventDim);
    expect(t.domain.eventDim).toBe(c.eventDim);
    expect(t.codomain.eventDim).toBe(c.codomainEventDim);
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

describe('transforms that change the event rank, and the Cat / Stack functors', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it("CorrCholesky's log-determinant is log |det| of the Jacobian of x onto y's strict lower triangle (autodiff, brute force)", async () => {
    const t = new CorrCholeskyTransform();
    const x0 = [0.3, -1.2, 0.7, 2.1, -0.4, 0.05]; // D = 4
    const n = x0.length;
    const x = tf.tensor1d(x0);
    const rows: number[][] = [];
    const lower = [4, 8, 9, 12, 13, 14]; // flat indices of (i, j), j < i, row order, D = 4
    for (const k of lower) {
      const pick = tf.oneHot(tf.tensor1d([k], 'int32'), 16).reshape([16]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.reshape(t.forward(v), [16]), pick)))(x);
      rows.push(Array.from(await g.data()));
      tf.dispose([pick, g]);
    }
    expect(rows).toHaveLength(n);
    const brute = Math.log(Math.abs(determinant(new Matrix(rows))));
    const y = t.forward(x);
    const ld = t.logAbsDetJacobian(x, y);
    expectClose(await take(ld), [brute], { rtol: 1e-4, atol: 1e-4, label: 'log |det J|' });
    // The image is a Cholesky factor of a correlation matrix: L L^T has a unit diagonal.
    const corr = tf.matMul(y, y, false, true);
    expectClose(Array.from(await tf.linalg.bandPart(corr, 0, 0).sum(0).data()), [1, 1, 1, 1], { rtol: 0, atol: 1e-6, label: 'unit diagonal' });
    expect(Array.from(await take(constraints.corrCholesky.check(y)))).toEqual([1]);
    tf.dispose([x, y, corr]);
  });

  it('bijectTo(corrCholesky) reaches valid factors from any reals, round-trips, and optimises an LKJ prior to its mode (the identity)', async () => {
    const before = tf.memory().numTensors;
    const t = bijectTo(constraints.corrCholesky);
    expect(t).toBeInstanceOf(CorrCholeskyTransform);
    // Wide inputs (tanh saturates past |x| ~ 9) still give valid factors and finite inverses.
    const wide = tf.randomNormal([50, 10], 0, 8, 'float32', 5);
    const yWide = t.forward(wide);
    expect(yWide.shape).toEqual([50, 5, 5]);
    expect((await take(constraints.corrCholesky.check(yWide))).every((v) => v === 1)).toBe(true);
    expect((await take(t.inverse(yWide))).every(Number.isFinite)).toBe(true);
    const x = tf.randomNormal([50, 10], 0, 1, 'float32', 6);
    const y = t.forward(x);
    expectClose(await take(t.inverse(y)), Array.from(await x.data()), { rtol: 1e-3, atol: 1e-3, label: 'round trip' });
    tf.dispose([x, y, wide, yWide]);
    // LKJ(eta = 4) has its mode at the identity: gradient ascent on log p(L(raw)) + log |det J| drives raw to 0.
    const prior = new LKJCholesky(3, 4);
    const start = tf.tensor1d([1.5, -1, 0.8]);
    const raw = tf.variable(start);
    start.dispose();
    const opt = tf.train.adam(0.05);
    for (let i = 0; i < 300; i++) {
      opt.minimize(() => {
        const l = t.forward(raw);
        return tf.neg(tf.add(prior.logProb(l), t.logAbsDetJacobian(raw, l))) as tf.Scalar;
      });
    }
    expect(Math.max(...(await raw.data()).map(Math.abs))).toBeLessThan(0.05);
    opt.dispose();
    raw.dispose();
    prior.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a TransformedDistribution through Reshape has the new event shape; expand and KL follow the chain', async () => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const loc = tf.tensor1d([0, 1, 2, 3, 4, 5]);
    const d = new TransformedDistribution(new Normal(loc, 1), [new ReshapeTransform([6], [2, 3])]);
    expect(d.batchShape).toEqual([]);
    expect(d.eventShape).toEqual([2, 3]);
    const v = tf.tensor2d([
      [0.5, 1, 2],
      [3.5, 4, 4],
    ]);
    const direct = new Independent(new Normal(loc, 1), 1);
    const flatV = tf.reshape(v, [6]);
    const ref = await take(direct.logProb(flatV));
    expectClose(await take(d.logProb(v)), ref, { rtol: 1e-6, atol: 1e-6, label: 'logProb' });
    const e = d.expand([4]);
    expect(e.batchShape).toEqual([4]);
    expect(e.eventShape).toEqual([2, 3]);
    const draw = e.sample();
    expect(draw.shape).toEqual([4, 2, 3]);
    const zero = tf.zeros([6]);
    const q = new TransformedDistribution(new Normal(zero, 2), [new ReshapeTransform([6], [2, 3])]);
    const kl = klDivergence(d, q);
    expect(kl.shape).toEqual([]);
    const qDirect = new Independent(new Normal(zero, 2), 1);
    expectClose(await take(kl), await take(klDivergence(direct, qDirect)), { rtol: 1e-6, atol: 1e-6, label: 'KL' });
    for (const o of [d, e, q, direct, qDirect]) o.dispose();
    tf.dispose([loc, v, flatV, draw, zero]);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Cat and Stack domains and codomains check each block with its own constraint', async () => {
    const c = new CatTransform([new ExpTransform(), new SigmoidTransform()], -1, [1, 2]).codomain;
    const y = tf.tensor2d([
      [2, 0.5, 0.1],
      [2, 1.5, 0.1],
    ]);
    expect(await take(c.check(y))).toEqual([1, 1, 1, 1, 0, 1]);
    const s = new StackTransform([new ExpTransform(), new SigmoidTransform()], 1).codomain;
    const z = tf.tensor2d([
      [3, 0.2],
      [-1, 0.2],
    ]);
    expect(await take(s.check(z))).toEqual([1, 1, 0, 1]);
    expect(s.name).toBe('Stack([GreaterThan(lower_bound=0), Interval(lower_bound=0, upper_bound=1)], dim=1)');
    tf.dispose([y, z]);
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
    expect(() => new CorrCholeskyTransform().forwardShape([4])).toThrow(
      /^CorrCholeskyTransform\.forwardShape: argument 'shape' must be a shape whose last dimension is D \(D - 1\) \/ 2 for an integer D, but got \[4\]/,
    );
    expect(() => new CorrCholeskyTransform().inverseShape([3, 2])).toThrow(
      /^CorrCholeskyTransform\.inverseShape: argument 'shape' must be a shape \[\.\.\., D, D\]/,
    );
    expect(() => new ReshapeTransform([6], [4])).toThrow(
      /^ReshapeTransform: argument 'outShape' must be a shape of 6 elements \(as inShape \[6\]\), but got \[4\]/,
    );
    expect(() => new ReshapeTransform([1.5] as never, [4])).toThrow(
      /^ReshapeTransform: argument 'inShape' must be a shape \(an array of nonnegative integers\)/,
    );
    expect(() => new ReshapeTransform([6], [2, 3]).forwardShape([3, 2])).toThrow(
      /^ReshapeTransform\.forwardShape: argument 'shape' must be a shape ending in \[6\], but got \[3, 2\]/,
    );
    expect(() => new CatTransform([])).toThrow(/^CatTransform: argument 'parts' must be a nonempty array of Transforms/);
    expect(() => new CatTransform([new ExpTransform()], 0, [1, 2])).toThrow(/^CatTransform: argument 'lengths' must be 1 lengths \(one per part\)/);
    expect(() => new StackTransform([new ExpTransform()], 0.5)).toThrow(/^StackTransform: argument 'dim' must be an integer/);
    expect(() => new StackTransform([new IndependentTransform(new ExpTransform(), 1)], -1)).toThrow(
      /^StackTransform: argument 'dim' must be a batch dimension/,
    );
  });

  it('reject tensors that do not fit, without leaking', async () => {
    await useBackend('cpu');
    const before = tf.memory().numTensors;
    const x = tf.zeros([3, 4]);
    const cat = new CatTransform([new ExpTransform(), new ExpTransform()], 0, [1, 1]);
    expect(() => cat.forward(x)).toThrow(
      /^CatTransform\.forward: argument 'x' must be a tensor of size 2 \(the sum of lengths\) in dimension 0, but got Tensor of shape \[3, 4\]/,
    );
    const stack = new StackTransform([new ExpTransform(), new ExpTransform()], 1);
    expect(() => stack.forward(x)).toThrow(/^StackTransform\.forward: argument 'x' must be a tensor with 2 entries \(one per part\) in dimension 1/);
    const scalar = tf.scalar(1);
    expect(() => stack.forward(scalar)).toThrow(
      /^StackTransform\.forward: argument 'x' must be a tensor with a dimension 1 \(rank >= 2\), but got Tensor of shape \[\]/,
    );
    scalar.dispose();
    expect(() => new CorrCholeskyTransform().forward(x)).toThrow(/^CorrCholeskyTransform\.forwardShape: argument 'shape'/);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
