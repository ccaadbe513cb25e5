/**
 * Building blocks and models.
 *
 * @packageDocumentation
 */
export { mlp, convEncoderNet, convDecoderNet } from './networks.js';
export type { MlpOptions, ConvOptions } from './networks.js';
export type { Network } from './network.js';
export { GaussianPrior, LearnableGaussianPrior, MixtureOfGaussiansPrior, VampPrior } from './priors.js';
export type { BuiltinPrior, MixturePriorOptions } from './priors.js';
export type { Prior, Encoder, Decoder, ObjectiveModel, LossOptions } from './contracts.js';
export { GaussianEncoder } from './encoders.js';
export type { PosteriorScale } from './encoders.js';
export { BernoulliDecoder, ContinuousBernoulliDecoder, GaussianDecoder } from './decoders.js';
export { VAE, BetaVAE, GMVAE, IWAE, ConditionalVAE } from './vae.js';
export { ELBO, IWAEBound, linearWarmup, cyclical } from './objectives.js';
export type { Objective, ObjectiveParts, BetaSchedule, ElboOptions } from './objectives.js';
export type { ElboParts, VaeMlpOptions, VaeConvOptions, PresetOptions, Labels, ConditionalMlpOptions, ConditionalConvOptions } from './vae.js';
export { saveModel, loadModel, saveModelFiles, loadModelFiles, registerModelClass, registerPart } from './persistence.js';
export type { SavedModel, ModelClassSpec, PartSpec, PartState, LoadedPart, PartKind, CustomPartConfig } from './persistence.js';
export { SSVAE } from './ssvae.js';
export type { SsvaeMlpOptions, UnlabelledParts, UnlabelledMode, FeatureMode } from './ssvae.js';
export type { PriorConfig } from './priors.js';
export type { DecoderConfig } from './decoders.js';
export { HierarchicalVAE, TwoLevelJoint } from './hierarchical.js';
export type { HierarchicalMlpOptions } from './hierarchical.js';
