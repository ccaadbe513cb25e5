/**
 * Loads test/fixtures/torch_distributions.json (written by scripts/fixtures/torch_distributions.py)
 * and builds the dlvm distribution each JSON spec describes.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as dlvm from '../../src/index.js';

/** Nested numbers as JSON gives them, with "nan", "inf", "-inf" for non-finite values. */
export type Nested = number | string | Nested[];

export interface Spec {
  family: string;
  args: Record<string, unknown>;
}

export interface FixtureCase {
  name: string;
  spec: Spec;
  batchShape: number[];
  eventShape: number[];
  value: Nested;
  logProb: Nested;
  entropy?: Nested;
  mean?: Nested;
  mode?: Nested;
  variance?: Nested;
  cdf?: Nested;
  perplexity?: Nested;
  /** torch's has_enumerate_support (the support may still not enumerate: Binomial with several totalCounts). */
  hasEnumerateSupport?: boolean;
  enumerateSupport?: Nested;
  enumerateSupportUnexpanded?: Nested;
  icdfValue?: Nested;
  icdf?: Nested;
  note?: string;
  /** An independent float64 reference that replaces torch's where torch is approximate (see note). */
  exact?: Partial<Record<'logProb' | 'entropy' | 'mean' | 'mode' | 'variance' | 'cdf' | 'icdf', Nested>>;
}

export interface Fixtures {
  torch: string;
  cases: FixtureCase[];
  /** `kl` is null where torch raises (then `exact` is the reference). */
  kl: Array<{ p: Spec; q: Spec; kl: Nested | null; exact?: Nested; note?: string }>;
  transforms: Array<{ name: string; x: Nested; y: Nested; inverse: Nested; logAbsDetJacobian: Nested | null; eventDim: number; codomainEventDim: number }>;
  special: Record<
    | 'x'
    | 'lgamma'
    | 'digamma'
    | 'p'
    | 'ndtri'
    | 'lbetaA'
    | 'lbetaB'
    | 'lbeta'
    | 'digammaDiff'
    | 'besselX'
    | 'logI0e'
    | 'logI1e'
    | 'i1i0Complement'
    | 'ndtrX'
    | 'logNdtr'
    | 'ndtriExpL'
    | 'ndtriExp'
    | 'ivOrder'
    | 'ivX'
    | 'logIve'
    | 'ivRatioComplement',
    Nested
  >;
}

export const fixtures: Fixtures = JSON.parse(readFileSync(new URL('../fixtures/torch_distributions.json', import.meta.url), 'utf8')) as Fixtures;

/** Decodes JSON numbers (with string-encoded non-finite values) into nested numbers. */
export function decode(x: Nested): number | unknown[] {
  if (Array.isArray(x)) return x.map(decode);
  if (x === 'nan') return NaN;
  if (x === 'inf') return Infinity;
  if (x === '-inf') return -Infinity;
  return x as number;
}

/** Flat values of a nested fixture entry. */
export function flat(x: Nested): number[] {
  const d = decode(x);
  return Array.isArray(d) ? (d.flat(Infinity) as number[]) : [d];
}

/** A tensor from a fixture entry. */
export function tensorOf(x: Nested): tf.Tensor {
  return tf.tensor(decode(x) as tf.TensorLike, undefined, 'float32');
}

/** Builds the dlvm distribution a spec describes (the same spec the Python script used). */
export function build(spec: Spec): dlvm.Distribution {
  const a = spec.args as Record<string, Nested & unknown>;
  const v = (k: string) => decode(a[k] as Nested) as tf.TensorLike;
  const pl = () => (a['probs'] !== undefined ? { probs: v('probs') } : { logits: v('logits') });
  switch (spec.family) {
    case 'Normal':
      return new dlvm.Normal(v('loc'), v('scale'));
    case 'LogNormal':
      return new dlvm.LogNormal(v('loc'), v('scale'));
    case 'Laplace':
      return new dlvm.Laplace(v('loc'), v('scale'));
    case 'Uniform':
      return new dlvm.Uniform(v('low'), v('high'));
    case 'Exponential':
      return new dlvm.Exponential(v('rate'));
    case 'Gamma':
      return new dlvm.Gamma(v('concentration'), v('rate'));
    case 'Beta':
      return new dlvm.Beta(v('concentration1'), v('concentration0'));
    case 'Dirichlet':
      return new dlvm.Dirichlet(v('concentration'));
    case 'Poisson':
      return new dlvm.Poisson(v('rate'));
    case 'Cauchy':
      return new dlvm.Cauchy(v('loc'), v('scale'));
    case 'HalfCauchy':
      return new dlvm.HalfCauchy(v('scale'));
    case 'HalfNormal':
      return new dlvm.HalfNormal(v('scale'));
    case 'Gumbel':
      return new dlvm.Gumbel(v('loc'), v('scale'));
    case 'Weibull':
      return new dlvm.Weibull(v('scale'), v('concentration'));
    case 'Pareto':
      return new dlvm.Pareto(v('scale'), v('alpha'));
    case 'Kumaraswamy':
      return new dlvm.Kumaraswamy(v('concentration1'), v('concentration0'));
    case 'Chi2':
      return new dlvm.Chi2(v('df'));
    case 'StudentT':
      return new dlvm.StudentT(v('df'), v('loc'), v('scale'));
    case 'FisherSnedecor':
      return new dlvm.FisherSnedecor(v('df1'), v('df2'));
    case 'Geometric':
      return new dlvm.Geometric(pl());
    case 'Binomial':
      return new dlvm.Binomial({ totalCount: v('totalCount'), ...pl() });
    case 'NegativeBinomial':
      return new dlvm.NegativeBinomial({ totalCount: v('totalCount'), ...pl() });
    case 'Multinomial':
      return new dlvm.Multinomial({ totalCount: a['totalCount'] as unknown as number, ...pl() });
    case 'OneHotCategoricalStraightThrough':
      return new dlvm.OneHotCategoricalStraightThrough(pl());
    case 'TruncatedNormal':
      return new dlvm.TruncatedNormal(v('loc'), v('scale'), v('low'), v('high'));
    case 'VonMisesFisher':
      return new dlvm.VonMisesFisher(v('loc'), v('concentration'));
    case 'HypersphericalUniform':
      return new dlvm.HypersphericalUniform(a['dim'] as unknown as number, a['batchShape'] as unknown as number[]);
    case 'VonMises':
      return new dlvm.VonMises(v('loc'), v('concentration'));
    case 'InverseGamma':
      return new dlvm.InverseGamma(v('concentration'), v('rate'));
    case 'GeneralizedPareto':
      return new dlvm.GeneralizedPareto(v('loc'), v('scale'), v('concentration'));
    case 'LogisticNormal':
      return new dlvm.LogisticNormal(v('loc'), v('scale'));
    case 'Bernoulli':
      return new dlvm.Bernoulli(pl());
    case 'ContinuousBernoulli':
      return new dlvm.ContinuousBernoulli(pl());
    case 'Categorical':
      return new dlvm.Categorical(pl());
    case 'OneHotCategorical':
      return new dlvm.OneHotCategorical(pl());
    case 'RelaxedBernoulli':
      return new dlvm.RelaxedBernoulli(v('temperature'), pl());
    case 'RelaxedOneHotCategorical':
      return new dlvm.RelaxedOneHotCategorical(v('temperature'), pl());
    case 'MultivariateNormal': {
      const key = ['covarianceMatrix', 'scaleTril', 'precisionMatrix'].find((k) => a[k] !== undefined)!;
      return new dlvm.MultivariateNormal(v('loc'), { [key]: v(key) } as unknown as dlvm.MvnMatrix);
    }
    case 'LKJCholesky':
      return new dlvm.LKJCholesky(a['dim'] as unknown as number, v('concentration'));
    case 'Wishart': {
      const key = ['covarianceMatrix', 'scaleTril', 'precisionMatrix'].find((k) => a[k] !== undefined)!;
      return new dlvm.Wishart(v('df'), { [key]: v(key) } as unknown as dlvm.MvnMatrix);
    }
    case 'LowRankMultivariateNormal':
      return new dlvm.LowRankMultivariateNormal(v('loc'), v('covFactor'), v('covDiag'));
    case 'Independent':
      return new dlvm.Independent(build(a['base'] as unknown as Spec), a['n'] as unknown as number);
    case 'MixtureSameFamily':
      return new dlvm.MixtureSameFamily(build(a['mixture'] as unknown as Spec) as dlvm.Categorical, build(a['component'] as unknown as Spec));
    case 'TransformedDistribution': {
      const ts = (a['transforms'] as unknown as Array<Record<string, Nested>>).map((t) => {
        switch (t['type']) {
          case 'Affine':
            return new dlvm.AffineTransform(
              decode(t['loc']!) as tf.TensorLike,
              decode(t['scale']!) as tf.TensorLike,
              (t['eventDim'] as number | undefined) ?? 0,
            );
          case 'Power':
            return new dlvm.PowerTransform(decode(t['exponent']!) as tf.TensorLike);
          case 'StickBreaking':
            return new dlvm.StickBreakingTransform();
          case 'CorrCholesky':
            return new dlvm.CorrCholeskyTransform();
          case 'Reshape':
            return new dlvm.ReshapeTransform(t['inShape'] as unknown as number[], t['outShape'] as unknown as number[]);
          case 'Exp':
            return new dlvm.ExpTransform();
          case 'Sigmoid':
            return new dlvm.SigmoidTransform();
          case 'Tanh':
            return new dlvm.TanhTransform();
          case 'Softplus':
            return new dlvm.SoftplusTransform();
          default:
            throw new Error(`unknown transform ${String(t['type'])}`);
        }
      });
      return new dlvm.TransformedDistribution(build(a['base'] as unknown as Spec), ts);
    }
    default:
      throw new Error(`unknown family ${spec.family}`);
  }
}
