/**
 * Probability distributions that mirror torch.distributions, and the KL registry.
 *
 * @packageDocumentation
 */
export * as constraints from './constraints.js';
export type { Constraint, ConstraintSpec } from './constraints.js';
export { Distribution, setDefaultValidateArgs, getDefaultValidateArgs } from './distribution.js';
export type { DistributionOptions } from './distribution.js';
export { checkArgs, pendingArgChecks } from './pending_checks.js';
export type { TensorInput, ProbsOrLogits } from './util.js';
export { klDivergence, registerKL, monteCarloKL, hasClosedFormKL } from './kl.js';
export type { KLFunction, DistributionClass } from './kl.js';
export { Normal } from './normal.js';
export { Laplace } from './laplace.js';
export { Uniform } from './uniform.js';
export { Exponential } from './exponential.js';
export { Gamma } from './gamma.js';
export { Beta } from './beta.js';
export { Dirichlet } from './dirichlet.js';
export { ContinuousBernoulli } from './continuous_bernoulli.js';
export { Bernoulli } from './bernoulli.js';
export { Poisson } from './poisson.js';
export { Categorical } from './categorical.js';
export { OneHotCategorical, OneHotCategoricalStraightThrough } from './one_hot_categorical.js';
export { MultivariateNormal } from './multivariate_normal.js';
export type { MvnMatrix } from './multivariate_normal.js';
export { LowRankMultivariateNormal } from './lowrank_multivariate_normal.js';
export { Independent } from './independent.js';
export { MixtureSameFamily } from './mixture_same_family.js';
export {
  Transform,
  InverseTransform,
  ExpTransform,
  SigmoidTransform,
  TanhTransform,
  SoftplusTransform,
  AffineTransform,
  AbsTransform,
  PowerTransform,
  SoftmaxTransform,
  StickBreakingTransform,
  IndependentTransform,
  ComposeTransform,
  LowerCholeskyTransform,
  CumulativeDistributionTransform,
  CorrCholeskyTransform,
  ReshapeTransform,
  CatTransform,
  StackTransform,
  bijectTo,
  transformTo,
} from './transforms.js';
export { TransformedDistribution } from './transformed_distribution.js';
export { LogNormal } from './log_normal.js';
export { LogisticNormal } from './logistic_normal.js';
export { Cauchy, HalfCauchy } from './cauchy.js';
export { HalfNormal } from './half_normal.js';
export { Gumbel } from './gumbel.js';
export { Weibull } from './weibull.js';
export { Pareto } from './pareto.js';
export { Kumaraswamy } from './kumaraswamy.js';
export { Chi2 } from './chi2.js';
export { StudentT } from './student_t.js';
export { FisherSnedecor } from './fisher_snedecor.js';
export { Geometric } from './geometric.js';
export { Binomial } from './binomial.js';
export type { CountParams } from './binomial.js';
export { NegativeBinomial } from './negative_binomial.js';
export { Multinomial } from './multinomial.js';
export { InverseGamma } from './inverse_gamma.js';
export { GeneralizedPareto } from './generalized_pareto.js';
export { VonMises } from './von_mises.js';
export { TruncatedNormal } from './truncated_normal.js';
export { VonMisesFisher, HypersphericalUniform } from './von_mises_fisher.js';
export { Wishart } from './wishart.js';
export { ExponentialFamily } from './exponential_family.js';
export { LKJCholesky } from './lkj_cholesky.js';
export { RelaxedBernoulli, LogitRelaxedBernoulli } from './relaxed_bernoulli.js';
export { RelaxedOneHotCategorical, ExpRelaxedCategorical } from './relaxed_categorical.js';
