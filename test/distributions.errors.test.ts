/**
 * Bad input gets an error naming the function, the argument, what was expected and what was
 * found; errors leak no tensors. The KL registry dispatches along the class hierarchy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Bernoulli,
  checkArgs,
  Categorical,
  Dirichlet,
  Independent,
  klDivergence,
  Laplace,
  manualSeed,
  MixtureSameFamily,
  monteCarloKL,
  MultivariateNormal,
  Normal,
  Poisson,
  registerKL,
  setDefaultValidateArgs,
  Uniform,
  getDefaultValidateArgs,
  TransformedDistribution,
  ExpTransform,
  AffineTransform,
  LogNormal,
  RelaxedBernoulli,
  Chi2,
  Geometric,
  Binomial,
  NegativeBinomial,
  Multinomial,
  InverseGamma,
  GeneralizedPareto,
  OneHotCategoricalStraightThrough,
  VonMises,
  TruncatedNormal,
  VonMisesFisher,
  Wishart,
  LKJCholesky,
  HypersphericalUniform,
  Kumaraswamy,
  Pareto,
  StudentT,
  Weibull,
} from '../src/index.js';
import { useBackend } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** [name, the failing call, the message]; the call may build a distribution first. */
const cases: Array<[string, () => unknown, RegExp]> = [
  [
    'negative scale',
    () => new Normal(0, [-1, 2]),
    /^Normal: argument 'scale' \(Tensor of shape \[2\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values -1\.$/,
  ],
  ['NaN loc', () => new Normal(NaN, 1), /Normal: argument 'loc' .*Real\(\).*NaN/],
  [
    'logProbSumRightmost with a fractional n',
    () => new Bernoulli({ logits: [[0, 1]] }).logProbSumRightmost([[0, 1]], 0.5),
    /^Bernoulli\.logProbSumRightmost: argument 'n' must be a nonnegative integer \(the rightmost dims to sum\), but got 0\.5/,
  ],
  [
    'logProbSumRightmost over more dims than the result has',
    () => new Bernoulli({ logits: [[0, 1]] }).logProbSumRightmost([[0, 1]], 3),
    /^Bernoulli\.logProbSumRightmost: argument 'n' must be at most 2, the dims of logProb's result for this value, but got 3/,
  ],
  ['string parameter', () => new Normal('a' as never, 1), /Normal: argument 'loc' must be a Tensor or TensorLike .* but got "a"/],
  ['ragged array', () => new Normal([[1, 2], [3]] as never, 1), /Normal: argument 'loc' must be a Tensor or a rectangular nested array/],
  ['shapes that do not broadcast', () => new Normal([1, 2], [1, 2, 3]), /Normal: arguments must have broadcastable shapes, but got loc \[2\], scale \[3\]/],
  [
    'both probs and logits',
    () => new Bernoulli({ probs: 0.5, logits: 0 } as never),
    /Bernoulli: argument 'params' must be an object with exactly one of \{ probs \} or \{ logits \}/,
  ],
  ['neither probs nor logits', () => new Bernoulli({} as never), /exactly one of \{ probs \} or \{ logits \}/],
  ['probs above 1', () => new Bernoulli({ probs: [0.2, 1.5] }), /Bernoulli: argument 'probs' .*Interval\(lower_bound=0, upper_bound=1\).*1\.5/],
  [
    'Bernoulli value 0.3',
    () => new Bernoulli({ probs: 0.5 }).logProb([0.3, 1]),
    /Bernoulli\.logProb: argument 'value' \(Tensor of shape \[2\]\) must be within the support Boolean\(\) of Bernoulli \(values are 0 or 1; grey images need binarising first: binarize 'threshold', 'dynamic' or 'static' \(fit, the evaluation functions, ArrayDataset\.batches; --binarize in the dlvm command\), or a ContinuousBernoulli likelihood for grey levels\), but found invalid values 0\.3/,
  ],
  [
    'Categorical class out of range',
    () => new Categorical({ logits: [0, 0, 0] }).logProb(3),
    /Categorical\.logProb: .*IntegerInterval\(lower_bound=0, upper_bound=2\).*3/,
  ],
  ['Categorical negative probs', () => new Categorical({ probs: [0.5, -0.1, 0.6] }), /Categorical: argument 'probs' .*Simplex\(\)/],
  // A device value: the check runs on the device and throws at the next awaited read.
  [
    'grey pixels for an Independent Bernoulli: the offending values, not whole images',
    async () => {
      new Independent(new Bernoulli({ logits: tf.zeros([2, 28, 28]) }), 2).logProb(tf.fill([2, 28, 28], 0.5));
      await checkArgs();
    },
    /Independent\.logProb: argument 'value' \(Tensor of shape \[2, 28, 28\]\) must be within the support IndependentConstraint\(Boolean\(\), 2\) of Independent \(values are 0 or 1; grey images need binarising first: binarize 'threshold', 'dynamic' or 'static' \(fit, the evaluation functions, ArrayDataset\.batches; --binarize in the dlvm command\), or a ContinuousBernoulli likelihood for grey levels\), but found invalid values 0\.5, 0\.5, 0\.5, 0\.5, \.\.\.\.$/,
  ],
  ['Dirichlet value off the simplex', () => new Dirichlet([1, 2]).logProb([0.5, 0.6]), /Dirichlet\.logProb: .*Simplex\(\).*\[0\.5, 0\.6/],
  ['Uniform low >= high', () => new Uniform([0, 2], [1, 1]), /Uniform: argument 'high' .*GreaterThan\(lower_bound=low\).*1/],
  ['Uniform value outside', () => new Uniform(0, 1).logProb(1), /HalfOpenInterval\(lower_bound=low, upper_bound=high\)/],
  [
    'MVN non-positive-definite covariance',
    () =>
      new MultivariateNormal([0, 0], {
        covarianceMatrix: [
          [1, 2],
          [2, 1],
        ],
      }),
    /MultivariateNormal: argument 'covarianceMatrix' .*PositiveDefinite\(\)/,
  ],
  [
    'MVN matrix size',
    () =>
      new MultivariateNormal([0, 0, 0], {
        scaleTril: [
          [1, 0],
          [0, 1],
        ],
      }),
    /MultivariateNormal: argument 'scaleTril' must be a matrix of shape \[\.\.\., 3, 3\]/,
  ],
  [
    'MVN two matrices',
    () => new MultivariateNormal([0], { scaleTril: [[1]], covarianceMatrix: [[1]] } as never),
    /exactly one of \{ covarianceMatrix \}, \{ scaleTril \} or \{ precisionMatrix \}/,
  ],
  [
    'MVN value event shape',
    () =>
      new MultivariateNormal([0, 0], {
        scaleTril: [
          [1, 0],
          [0, 1],
        ],
      }).logProb([1, 2, 3]),
    /MultivariateNormal\.logProb: argument 'value' must be a tensor whose rightmost dimensions are the event shape \[2\], but got Tensor of shape \[3\]/,
  ],
  ['value that does not broadcast', () => new Normal([0, 0, 0], 1).logProb([1, 2]), /Normal\.logProb: argument 'value' must be broadcastable with \[3\]/],
  [
    'Independent with too many dims',
    () => new Independent(new Normal([0, 0], 1), 2),
    /Independent: argument 'reinterpretedBatchNdims' must be an integer in \[0, 1\]/,
  ],
  [
    'Mixture with mismatched components',
    () => new MixtureSameFamily(new Categorical({ logits: [0, 0] }), new Normal([0, 0, 0], 1)),
    /MixtureSameFamily: argument 'component' must be a distribution with batch shape \[2\].*but got batch shape \[3\]/,
  ],
  [
    'Mixture without Categorical',
    () => new MixtureSameFamily(new Normal(0, 1) as never, new Normal([0, 0], 1)),
    /MixtureSameFamily: argument 'mixture' must be a Categorical, but got a Normal/,
  ],
  ['negative sample shape', () => new Normal(0, 1).sample([-1]), /Normal\.sample: argument 'sampleShape' must be an array of nonnegative integers/],
  ['sample shape as a number', () => new Normal(0, 1).sample(3 as never), /Normal\.sample: argument 'sampleShape'.*but got 3/],
  [
    'expand to an incompatible shape',
    () => new Normal([0, 0], 1).expand([3]),
    /Normal\.expand: argument 'batchShape' must be a shape that \[2\] \(the batch shape\) broadcasts to, but got \[3\]/,
  ],
  [
    'icdf outside [0, 1]',
    () => new Normal(0, 1).icdf(1.5),
    /Normal\.icdf: argument 'value' .*must be a probability in Interval\(lower_bound=0, upper_bound=1\).*1\.5/,
  ],
  [
    'rsample of a discrete distribution',
    () => new Categorical({ logits: [0, 1] }).rsample(),
    /Categorical\.rsample: Categorical has no reparameterised sampler/,
  ],
  ['entropy torch does not define', () => new Poisson(2).entropy(), /Poisson\.entropy: not defined for Poisson/],
  [
    'KL pair without closed form',
    () => klDivergence(new Poisson(1), new Normal(0, 1)),
    /klDivergence: no closed form is registered for KL\(Poisson \|\| Normal\)\. Estimate it with monteCarloKL\(p, q, nSamples\), or register one with registerKL\(Poisson, Normal, fn\)\./,
  ],
  [
    'KL of a non-distribution',
    () => klDivergence({} as never, new Normal(0, 1)),
    /klDivergence: argument 'p' must be a Distribution, but got an empty object \{\}/,
  ],
  [
    'monteCarloKL with 0 samples',
    () => monteCarloKL(new Normal(0, 1), new Normal(0, 1), 0),
    /monteCarloKL: argument 'nSamples' must be a positive integer, but got 0/,
  ],
  ['registerKL with a non-class', () => registerKL((() => 0) as never, Normal, () => tf.scalar(0)), /registerKL: argument 'P' must be a Distribution class/],
  [
    'setDefaultValidateArgs with a string',
    () => setDefaultValidateArgs('no' as never),
    /setDefaultValidateArgs: argument 'value' must be a boolean, but got "no"/,
  ],
  ['manualSeed with a fraction', () => manualSeed(1.5), /manualSeed: argument 'seed' must be an integer or null, but got 1\.5/],
  [
    'a transform that is not a Transform',
    () => new TransformedDistribution(new Normal(0, 1), [{}] as never),
    /TransformedDistribution: argument 'transforms' must be a Transform or an array of Transforms/,
  ],
  [
    'a base that is not a distribution',
    () => new TransformedDistribution({} as never, new ExpTransform()),
    /TransformedDistribution: argument 'base' must be a Distribution, but got an empty object \{\}/,
  ],
  [
    'AffineTransform with a negative eventDim',
    () => new AffineTransform(0, 1, -1),
    /AffineTransform: argument 'eventDim' must be a nonnegative integer, but got -1/,
  ],
  [
    'AffineTransform event dims beyond the base',
    () => new TransformedDistribution(new Normal(0, 1), new AffineTransform(0, 1, 1)),
    /TransformedDistribution: argument 'base' must be a distribution with at least 1 dimensions/,
  ],
  ['LogNormal with a negative scale', () => new LogNormal(0, -1), /Normal: argument 'scale' .*GreaterThan\(lower_bound=0\)/],
  [
    'RelaxedBernoulli with a zero temperature',
    () => new RelaxedBernoulli(0, { logits: [0, 1] }),
    /^RelaxedBernoulli: argument 'temperature' .*GreaterThan\(lower_bound=0\)/,
  ],
  [
    'LogNormal value at 0',
    () => new LogNormal(0, 1).logProb(-1),
    /LogNormal\.logProb: argument 'value' .*within the support GreaterThan\(lower_bound=0\) of LogNormal/,
  ],
  [
    'StudentT with df 0',
    () => new StudentT([3, 0]),
    /^StudentT: argument 'df' \(Tensor of shape \[2\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values 0\.$/,
  ],
  ['Chi2 with a negative df names Chi2 and df', () => new Chi2(-1), /^Chi2: argument 'df' .*GreaterThan\(lower_bound=0\), but found invalid values -1\.$/],
  ['Weibull with a negative concentration', () => new Weibull(1, -2), /^Weibull: argument 'concentration' .*GreaterThan\(lower_bound=0\)/],
  [
    'Pareto value below its scale',
    () => new Pareto([1, 2], 3).logProb([1.5, 1.5]),
    /^Pareto\.logProb: argument 'value' \(Tensor of shape \[2\]\) must be within the support GreaterThanEq\(lower_bound=scale\) of Pareto, but found invalid values 1\.5\.$/,
  ],
  ['Kumaraswamy value above 1', () => new Kumaraswamy(2, 3).logProb(1.2), /^Kumaraswamy\.logProb: .*Interval\(lower_bound=0, upper_bound=1\).*1\.2/],
  [
    'Geometric with probs and logits',
    () => new Geometric({ probs: 0.5, logits: 0 } as never),
    /^Geometric: argument 'params' must be an object with exactly one of \{ probs \} or \{ logits \}/,
  ],
  [
    'Geometric count 1.5',
    () => new Geometric({ probs: 0.5 }).logProb(1.5),
    /^Geometric\.logProb: argument 'value' .*within the support IntegerGreaterThan\(lower_bound=0\) of Geometric, but found invalid values 1\.5\.$/,
  ],
  [
    'Binomial with a fractional totalCount',
    () => new Binomial({ totalCount: [3, 2.5], probs: 0.5 }),
    /^Binomial: argument 'totalCount' \(Tensor of shape \[2\]\) must satisfy the constraint IntegerGreaterThan\(lower_bound=0\), but found invalid values 2\.5\.$/,
  ],
  [
    'Binomial count above totalCount',
    () => new Binomial({ totalCount: [3, 5], probs: 0.5 }).logProb([4, 4]),
    /^Binomial\.logProb: argument 'value' \(Tensor of shape \[2\]\) must be within the support IntegerInterval\(lower_bound=0, upper_bound=totalCount\) of Binomial, but found invalid values 4\.$/,
  ],
  [
    'Binomial entropy with totalCount on the device',
    () => {
      const n = tf.tensor1d([3, 5]);
      return new Binomial({ totalCount: n, probs: 0.5 }).entropy();
    },
    /^Binomial\.entropy: needs totalCount on the host, to size the sum over the support: give totalCount as numbers or nested arrays, not as a Tensor \(for a Tensor t, pass await t\.array\(\)/,
  ],
  [
    'Binomial enumerateSupport with several totalCounts',
    () => new Binomial({ totalCount: [3, 5], probs: 0.5 }).enumerateSupport(),
    /^Binomial\.enumerateSupport: totalCount must be the same across the batch to enumerate one support, found 3 to 5 \(as in torch\)\.$/,
  ],
  [
    'Binomial without probs or logits',
    () => new Binomial({ totalCount: 3 } as never),
    /^Binomial: argument 'params' must be an object with exactly one of \{ probs \} or \{ logits \}/,
  ],
  [
    'NegativeBinomial with probs 1',
    () => new NegativeBinomial({ totalCount: 2, probs: [0.5, 1] }),
    /^NegativeBinomial: argument 'probs' .*HalfOpenInterval\(lower_bound=0, upper_bound=1\), but found invalid values 1\.$/,
  ],
  [
    'NegativeBinomial with a negative totalCount',
    () => new NegativeBinomial({ totalCount: -1, logits: 0 }),
    /^NegativeBinomial: argument 'totalCount' .*GreaterThanEq\(lower_bound=0\), but found invalid values -1\.$/,
  ],
  [
    'Multinomial with a fractional totalCount',
    () => new Multinomial({ totalCount: 2.5, probs: [0.5, 0.5] }),
    /^Multinomial: argument 'totalCount' must be a nonnegative integer \(a number: one count for the whole batch, as torch\), but got 2\.5/,
  ],
  [
    'Multinomial with a Tensor totalCount',
    () => new Multinomial({ totalCount: tf.scalar(3) as never, probs: [0.5, 0.5] }),
    /^Multinomial: argument 'totalCount' must be a nonnegative integer/,
  ],
  [
    'Multinomial counts above totalCount',
    () => new Multinomial({ totalCount: 3, probs: [0.5, 0.5] }).logProb([2, 2]),
    /^Multinomial\.logProb: argument 'value' .*within the support Multinomial\(upper_bound=3\) of Multinomial, but found invalid values \[2, 2\]\.$/,
  ],
  ['Multinomial with negative probs', () => new Multinomial({ totalCount: 3, probs: [0.5, -0.5] }), /^Multinomial: argument 'probs' /],
  [
    'InverseGamma with a negative rate',
    () => new InverseGamma(2, [1, -1]),
    /^InverseGamma: argument 'rate' .*GreaterThan\(lower_bound=0\), but found invalid values -1\.$/,
  ],
  [
    'InverseGamma value at 0',
    () => new InverseGamma(2, 1).logProb(0),
    /^InverseGamma\.logProb: argument 'value' .*within the support GreaterThan\(lower_bound=0\)/,
  ],
  ['GeneralizedPareto with a zero scale', () => new GeneralizedPareto(0, 0, 0.5), /^GeneralizedPareto: argument 'scale' .*GreaterThan\(lower_bound=0\)/],
  [
    'GeneralizedPareto value past the upper end (concentration < 0)',
    async () => {
      new GeneralizedPareto(0, 1, -0.5).logProb(3);
      await checkArgs();
    },
    /GeneralizedPareto\.logProb: argument 'value' .*Interval\(lower_bound=loc, upper_bound=loc - scale \/ concentration\)/,
  ],
  [
    'OneHotCategoricalStraightThrough with probs and logits',
    () => new OneHotCategoricalStraightThrough({ probs: [0.5, 0.5], logits: [0, 0] } as never),
    /^OneHotCategoricalStraightThrough: argument 'params' must be an object with exactly one of/,
  ],
  [
    'VonMises with a zero concentration',
    () => new VonMises(0, [1, 0]),
    /^VonMises: argument 'concentration' .*GreaterThan\(lower_bound=0\), but found invalid values 0\.$/,
  ],
  ['VonMises entropy, which torch does not define', () => new VonMises(0, 1).entropy(), /^VonMises\.entropy: not defined for VonMises/],
  [
    'TruncatedNormal with high <= low',
    () => new TruncatedNormal(0, 1, [0, 2], [1, 2]),
    /^TruncatedNormal: argument 'high' \(Tensor of shape \[2\]\) must satisfy the constraint GreaterThan\(lower_bound=low\), but found invalid values 2\.$/,
  ],
  ['TruncatedNormal with a negative scale', () => new TruncatedNormal(0, -1, 0, 1), /^TruncatedNormal: argument 'scale' .*GreaterThan\(lower_bound=0\)/],
  [
    'TruncatedNormal value outside [low, high]',
    () => new TruncatedNormal(0, 1, -1, 1).logProb([0.5, 1.5]),
    /^TruncatedNormal\.logProb: argument 'value' .*within the support Interval\(lower_bound=low, upper_bound=high\) of TruncatedNormal, but found invalid values 1\.5\.$/,
  ],
  [
    'VonMisesFisher with a loc that is not a unit vector',
    () =>
      new VonMisesFisher(
        [
          [1, 0, 0],
          [1, 1, 0],
        ],
        2,
      ),
    /^VonMisesFisher: argument 'loc' \(Tensor of shape \[2, 3\]\) must satisfy the constraint Sphere\(\), but found invalid values \[1, 1, 0\]\.$/,
  ],
  ['VonMisesFisher on a 1-vector', () => new VonMisesFisher([1], 2), /^VonMisesFisher: argument 'loc' must be unit vectors of size >= 2/],
  ['VonMisesFisher with a zero concentration', () => new VonMisesFisher([0, 1], 0), /^VonMisesFisher: argument 'concentration' .*GreaterThan\(lower_bound=0\)/],
  [
    'VonMisesFisher value off the sphere',
    () => new VonMisesFisher([0, 1], 3).logProb([0.5, 0.5]),
    /^VonMisesFisher\.logProb: argument 'value' .*within the support Sphere\(\) of VonMisesFisher, but found invalid values \[0\.5, 0\.5\]\.$/,
  ],
  [
    'HypersphericalUniform of dim 1',
    () => new HypersphericalUniform(1),
    /^HypersphericalUniform: argument 'dim' must be an integer >= 2 \(the size of the unit vectors\), but got 1/,
  ],
  [
    'KL between spheres of different dimensions',
    () => klDivergence(new VonMisesFisher([0, 1, 0], 2), new HypersphericalUniform(4)),
    /^klDivergence\(VonMisesFisher, HypersphericalUniform\): argument 'q' must be a distribution on the sphere in R\^3, but got "one in R\^4"/,
  ],
  [
    'Wishart with df <= p - 1',
    () =>
      new Wishart([3, 1], {
        covarianceMatrix: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
      }),
    /^Wishart: argument 'df' \(Tensor of shape \[2\]\) must satisfy the constraint GreaterThan\(lower_bound=2\), but found invalid values 1\.$/,
  ],
  [
    'Wishart with two matrices',
    () => new Wishart(3, { covarianceMatrix: [[1]], scaleTril: [[1]] } as never),
    /^Wishart: argument 'matrix' must be an object with exactly one of/,
  ],
  [
    'Wishart value that is not positive definite',
    () =>
      new Wishart(3, {
        covarianceMatrix: [
          [1, 0],
          [0, 1],
        ],
      }).logProb([
        [1, 2],
        [2, 1],
      ]),
    /^Wishart\.logProb: argument 'value' .*within the support PositiveDefinite\(\) of Wishart/,
  ],
  ['LKJCholesky of dim 1', () => new LKJCholesky(1), /^LKJCholesky: argument 'dim' must be an integer >= 2, but got 1/],
  [
    'LKJCholesky with a zero concentration',
    () => new LKJCholesky(3, [1, 0]),
    /^LKJCholesky: argument 'concentration' .*GreaterThan\(lower_bound=0\), but found invalid values 0\.$/,
  ],
  [
    'LKJCholesky value with a row off the unit sphere',
    () =>
      new LKJCholesky(2).logProb([
        [1, 0],
        [0.5, 0.5],
      ]),
    /^LKJCholesky\.logProb: argument 'value' .*within the support CorrCholesky\(\) of LKJCholesky/,
  ],
  ['StudentT cdf, which torch does not define', () => new StudentT(3).cdf(0), /^StudentT\.cdf: not defined for StudentT/],
  [
    'enumerateSupport of a continuous family',
    () => new Normal(0, 1).enumerateSupport(),
    /^Normal\.enumerateSupport: Normal has no finite support to enumerate \(hasEnumerateSupport is false\)/,
  ],
  [
    'enumerateSupport with a non-boolean expand',
    () => new Bernoulli({ probs: 0.5 }).enumerateSupport(0 as never),
    /^Bernoulli\.enumerateSupport: argument 'expand' must be a boolean, but got 0/,
  ],
  ['options that are not an object', () => new Normal(0, 1, 5 as never), /Normal: argument 'options' must be an object/],
];

describe('bad input', () => {
  it.each(cases)('%s', async (_name, fn, pattern) => {
    // Run inside a scope so the distributions a case builds before its failing call are freed;
    // leaks of the failing calls themselves are checked below.
    tf.engine().startScope();
    try {
      await expect(async () => fn()).rejects.toThrow(pattern);
    } finally {
      tf.engine().endScope();
    }
  });

  it('failing constructors and methods leak no tensors', async () => {
    const d = new Bernoulli({ probs: [0.5, 0.2] });
    const mvn = new MultivariateNormal([0, 0], {
      scaleTril: [
        [1, 0],
        [0, 1],
      ],
    });
    const pareto = new Pareto([1, 2], 3);
    await checkArgs();
    const before = tf.memory().numTensors;
    const failing = [
      () => new Normal([0, 1, 2], [-1, 1, 1]),
      () => new Normal([1, 2], [1, 2, 3]),
      () => new Categorical({ probs: [0.5, -0.1, 0.6] }),
      () =>
        new MultivariateNormal([0, 0], {
          covarianceMatrix: [
            [1, 2],
            [2, 1],
          ],
        }),
      () => new Uniform([0, 2], [1, 1]),
      () => d.logProb([0.3, 1]),
      () => d.icdf(2),
      () => mvn.logProb([1, 2, 3]),
      () => d.expand([3]),
      () => new Chi2([2, -1]),
      () => new StudentT([1, 2], [0, 0, 0]),
      () => pareto.logProb([1.5, 1.5]),
    ];
    for (const f of failing) expect(f).toThrow();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    d.dispose();
    mvn.dispose();
    pareto.dispose();
  });

  it('a disposed distribution refuses to work', () => {
    const d = new Normal([0, 1], 1);
    d.dispose();
    expect(() => d.sample()).toThrow(/Normal\.sample: this distribution was disposed/);
    expect(() => d.mean).toThrow(/Normal\.mean: this distribution was disposed/);
  });

  it('validateArgs: false skips the checks (torch semantics: garbage in, garbage out)', () => {
    const d = new Bernoulli({ probs: 0.5 }, { validateArgs: false });
    const lp = d.logProb(0.3);
    expect(Number.isFinite(lp.dataSync()[0]!)).toBe(true);
    tf.dispose(lp);
    expect(getDefaultValidateArgs()).toBe(true);
  });
});

describe('KL registry dispatch', () => {
  class MyNormal extends Normal {}
  class OtherNormal extends Normal {}
  // Every registration made here is undone: the registry is global.
  const undo: Array<() => void> = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const u of undo.splice(0).reverse()) u();
  });

  it('subclasses use the closest registered pair and re-dispatch after a new registration', () => {
    const p = new MyNormal(0, 1);
    const q = new Normal(1, 1);
    expect(klDivergence(p, q).dataSync()[0]).toBeCloseTo(0.5, 6);
    undo.push(registerKL(MyNormal, Normal, () => tf.scalar(42)));
    expect(klDivergence(p, q).dataSync()[0]).toBe(42);
    // (Normal, Normal) still applies to plain Normals.
    expect(klDivergence(q, p).dataSync()[0]).toBeCloseTo(0.5, 6);
  });

  it('warns once about equally specific pairs and uses the one closest on the left', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    undo.push(
      registerKL(OtherNormal, Normal, () => tf.scalar(1)),
      registerKL(Normal, OtherNormal, () => tf.scalar(2)),
    );
    const a = new OtherNormal(0, 1);
    expect(klDivergence(a, a).dataSync()[0]).toBe(1);
    expect(klDivergence(a, a).dataSync()[0]).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/ambiguous KL\(OtherNormal \|\| OtherNormal\)/);
  });

  it('a user pair registered for new families is found, and undoing it removes it', () => {
    const remove = registerKL(Laplace, Poisson as never, () => tf.scalar(7));
    expect(klDivergence(new Laplace(0, 1), new Poisson(1)).dataSync()[0]).toBe(7);
    remove();
    expect(() => klDivergence(new Laplace(0, 1), new Poisson(1))).toThrow(/no closed form is registered for KL\(Laplace \|\| Poisson\)/);
  });

  it("undoing a replacement puts back the pair it replaced (dlvm's own Normal || Normal)", () => {
    const p = new Normal(0, 1);
    const q = new Normal(1, 1);
    const undoIt = registerKL(Normal, Normal, () => tf.scalar(-1));
    expect(klDivergence(p, q).dataSync()[0]).toBe(-1);
    undoIt();
    expect(klDivergence(p, q).dataSync()[0]).toBeCloseTo(0.5, 6);
  });
});
