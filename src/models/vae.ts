/**
 * The variational autoencoder (Kingma & Welling 2014): a prior, an encoder and a decoder; the
 * ELBO reads like the math.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, checkExamples, DlvmError, lossOptions, positiveInteger } from '../errors.js';
import { checkConstraint, type Distribution } from '../distributions/distribution.js';
import { integerInterval } from '../distributions/constraints.js';
import { BernoulliDecoder, ContinuousBernoulliDecoder, GaussianDecoder, type GaussianVariance } from './decoders.js';
import { GaussianEncoder, type PosteriorScale } from './encoders.js';
import type { Decoder, Encoder, LossOptions, Prior } from './contracts.js';
import { registerBuiltinModelClass, saveModel } from './persistence.js';
import { ELBO, IWAEBound, type BetaSchedule, type Objective, type ObjectiveParts } from './objectives.js';
import { GaussianPrior, LearnableGaussianPrior, MixtureOfGaussiansPrior, VampPrior } from './priors.js';
import { convDecoderNet, convEncoderNet, mlp, type MlpOptions } from './networks.js';
import type { Network } from './network.js';
import { oneHotRows } from './labels.js';

/** The ELBO's parts per example, and the loss to minimise (see objectives.ts). */
export type ElboParts = ObjectiveParts;

const PLAIN_ELBO = new ELBO();

/** Builds the prior a preset asks for. */
function makePrior(fn: string, spec: VaeMlpOptions['prior'], latentDim: number, encoder: GaussianEncoder, itemShape: number[]): Prior {
  if (spec === undefined || spec === 'gaussian') return new GaussianPrior(latentDim);
  if (spec === 'learnable') return new LearnableGaussianPrior(latentDim);
  if (typeof spec === 'object' && spec !== null && 'mixture' in spec) {
    return new MixtureOfGaussiansPrior(latentDim, { components: spec.mixture, learnWeights: spec.learnWeights });
  }
  if (typeof spec === 'object' && spec !== null && 'vamp' in spec) {
    return new VampPrior(latentDim, encoder, { count: spec.vamp, itemShape });
  }
  throw argError(fn, 'options.prior', "'gaussian', 'learnable', { mixture: k } or { vamp: K }", spec);
}

/** Checks what every preset shares. */
function checkPresetOptions(fn: string, options: { inputShape: number[]; latentDim: number } | null): void {
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
  const { inputShape, latentDim } = options;
  if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw argError(fn, 'options.inputShape', 'the shape of one example, e.g. [28, 28]', inputShape);
  }
  positiveInteger(fn, 'options.latentDim', latentDim);
}

/** The presets' likelihoods: p(x|z) of each `options.likelihood`, built on the decoder network. */
const LIKELIHOODS: Record<NonNullable<PresetOptions['likelihood']>, (net: Network, itemShape: number[], options: PresetOptions) => Decoder> = {
  bernoulli: (net, itemShape) => new BernoulliDecoder(net, itemShape),
  'continuous-bernoulli': (net, itemShape) => new ContinuousBernoulliDecoder(net, itemShape),
  gaussian: (net, itemShape, o) => new GaussianDecoder(net, itemShape, { scale: o.scale ?? 1, variance: o.variance }),
};

/** A VAE from two networks and the preset's likelihood, prior and objective choices. */
function assemble(fn: string, options: PresetOptions, encNet: Network, decNet: Network): VAE {
  const { inputShape, latentDim } = options;
  let decoder: Decoder | undefined;
  try {
    const encoder = new GaussianEncoder(encNet, { scale: options.posteriorScale ?? 'softplus' });
    const likelihood = options.likelihood ?? 'bernoulli';
    const make = Object.prototype.hasOwnProperty.call(LIKELIHOODS, likelihood) ? LIKELIHOODS[likelihood] : undefined;
    if (!make) throw argError(fn, 'options.likelihood', "'bernoulli', 'continuous-bernoulli' or 'gaussian'", likelihood);
    decoder = make(decNet, inputShape, options);
    return new VAE({ prior: makePrior(fn, options.prior, latentDim, encoder, inputShape), encoder, decoder, objective: options.objective });
  } catch (e) {
    // A preset that fails leaves nothing behind: its networks and the decoder's variables.
    encNet.dispose();
    decNet.dispose();
    tf.dispose(Object.values(decoderState(decoder)));
    throw e;
  }
}

/** The decoder's own variables (a learned Gaussian scale), if it has any. */
function decoderState(decoder: Decoder | undefined): Record<string, tf.Variable> {
  return (decoder as { state?: () => Record<string, tf.Variable> } | undefined)?.state?.() ?? {};
}

/** Options every preset takes. */
export interface PresetOptions {
  /** Shape of one example, e.g. [28, 28]. */
  inputShape: number[];
  /** Latent size M. */
  latentDim: number;
  /** 'bernoulli' (binary data), 'continuous-bernoulli' ([0, 1] data) or 'gaussian' (fixed scale). */
  likelihood?: 'bernoulli' | 'continuous-bernoulli' | 'gaussian';
  /** Hidden activation (default 'relu'). */
  activation?: MlpOptions['activation'];
  /** Standard deviation of the Gaussian likelihood (default 1; the initial value when learned). */
  scale?: number;
  /** Gaussian likelihood: 'fixed' (default), 'learned-shared', 'learned-per-value' or 'predicted' (MLP only). */
  variance?: GaussianVariance;
  /**
   * The prior: 'gaussian' (N(0, I), default), 'learnable' (learned mean and scales),
   * `{ mixture: k, learnWeights? }` (GMVAE) or `{ vamp: K }` (VampPrior with K pseudo-inputs).
   */
  prior?: 'gaussian' | 'learnable' | { mixture: number; learnWeights?: boolean } | { vamp: number };
  /** The training objective (default the ELBO). */
  objective?: Objective;
  /** How the encoder's raw outputs become q(z|x)'s scale: 'softplus' (default) or 'exp' (as `vae_bernoulli.py`). */
  posteriorScale?: PosteriorScale;
}

/** Options of {@link VAE.conv}. */
export interface VaeConvOptions extends PresetOptions {
  /** Channels of the stride-2 convolutions (default [16, 32]). */
  channels?: number[];
  /** Add a stride-1 convolution after each strided one. */
  deep?: boolean;
}

/** Options of {@link VAE.mlp}. */
export interface VaeMlpOptions extends PresetOptions {
  /** Hidden sizes of the encoder (mirrored in the decoder), e.g. [512, 512]. */
  hidden: number[];
}

/**
 * A VAE: p(z) p(x|z) with an amortised Gaussian posterior q(z|x).
 *
 * @example
 * const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 10, hidden: [512, 512] });
 * optimizer.minimize(() => vae.loss(x).loss);
 */
export class VAE {
  readonly prior: Prior;
  readonly encoder: Encoder;
  readonly decoder: Decoder;

  /** What `loss` optimises. */
  readonly objective: Objective;

  constructor({ prior, encoder, decoder, objective }: { prior: Prior; encoder: Encoder; decoder: Decoder; objective?: Objective }) {
    for (const [k, v, m] of [
      ['prior', prior, 'distribution'],
      ['encoder', encoder, 'posterior'],
      ['decoder', decoder, 'likelihood'],
    ] as const) {
      if (!v || typeof (v as unknown as Record<string, unknown>)[m] !== 'function') throw argError('VAE', k, `an object with ${m}()`, v);
    }
    if (objective !== undefined && typeof (objective as Objective)?.parts !== 'function') {
      throw argError('VAE', 'objective', 'an Objective (ELBO, IWAEBound, ...)', objective);
    }
    this.prior = prior;
    this.encoder = encoder;
    this.decoder = decoder;
    this.objective = objective ?? new ELBO();
  }

  /** The MLP VAE of the DTU 02460 course (and CS236 with activation 'elu'). */
  static mlp(options: VaeMlpOptions): VAE {
    const fn = 'VAE.mlp';
    checkPresetOptions(fn, options);
    const { inputShape, latentDim, hidden } = options;
    const d = inputShape.reduce((a, b) => a * b, 1);
    const activation = options.activation ?? 'relu';
    const encNet = mlp({ inputDim: d, hidden, outputDim: 2 * latentDim, activation });
    // A predicted variance needs a mean and a raw scale per value.
    const predicted = options.likelihood === 'gaussian' && options.variance === 'predicted';
    const decNet = mlp({ inputDim: latentDim, hidden: [...hidden].reverse(), outputDim: predicted ? 2 * d : d, activation });
    return assemble(fn, options, encNet, decNet);
  }

  /**
   * A convolutional VAE: stride-2 3x3 convolutions with `channels` filters (default [16, 32], the
   * PML report's network), mirrored by transposed convolutions; `deep: true` adds a stride-1
   * convolution after each. `inputShape` is [H, W] or [H, W, C].
   */
  static conv(options: VaeConvOptions): VAE {
    const fn = 'VAE.conv';
    checkPresetOptions(fn, options);
    const { inputShape, latentDim } = options;
    if (options.variance === 'predicted')
      throw argError(fn, 'options.variance', "'fixed', 'learned-shared' or 'learned-per-value' (a predicted variance needs VAE.mlp)", options.variance);
    const common = { imageShape: inputShape, channels: options.channels, deep: options.deep, activation: options.activation };
    const encNet = convEncoderNet({ ...common, size: 2 * latentDim });
    const decNet = convDecoderNet({ ...common, size: latentDim });
    return assemble(fn, options, encNet, decNet);
  }

  /** Every trainable variable (encoder, decoder, prior). */
  get trainableVariables(): tf.Variable[] {
    return [...this.encoder.trainableVariables, ...this.decoder.trainableVariables, ...this.prior.trainableVariables];
  }

  /**
   * The shape of one example x that the model takes: the decoder's `itemShape` (e.g. [28, 28]),
   * or null when the decoder does not say (a decoder of your own without `itemShape`).
   * Every method that takes x checks it against this shape before any computation (see
   * {@link checkExamples}): x may be `[B, ...inputShape]`, flat `[B, D]`, or have a trailing unit
   * (channel) axis more or less; anything else is refused with an error naming the method, the
   * shape expected and the shape found. The evaluation functions check their data the same way.
   */
  get inputShape(): number[] | null {
    const s = (this.decoder as { itemShape?: unknown }).itemShape;
    return Array.isArray(s) && s.length > 0 && s.every((d) => Number.isInteger(d) && d > 0) ? [...(s as number[])] : null;
  }

  /** The class name that errors give (a string, so that minified class names do not leak into messages). */
  protected get kind(): string {
    return 'VAE';
  }

  /** Throws, naming `<kind>.<method>`, unless x is a batch of examples of {@link inputShape}. */
  protected checkX(method: string, x: unknown): asserts x is tf.Tensor {
    checkExamples(`${this.kind}.${method}`, 'x', x, this.inputShape);
  }

  /** Throws, naming `<kind>.<method>`, unless z is a batch of latent vectors [B, M]. */
  protected checkZ(method: string, z: unknown): asserts z is tf.Tensor {
    const m = this.prior.latentDim;
    checkExamples(`${this.kind}.${method}`, 'z', z, Number.isInteger(m) ? [m] : null);
  }

  /** The ELBO (beta = 1, one sample) and its parts for a batch x [B, ...inputShape]. */
  elboParts(x: tf.Tensor): ElboParts {
    this.checkX('elboParts', x);
    return PLAIN_ELBO.parts(this, x);
  }

  /** The objective's parts for a batch at training step `step` (`parts.loss` is what to minimise). */
  loss(x: tf.Tensor, options: LossOptions<Labels> = {}): ObjectiveParts {
    const { step } = lossOptions(`${this.kind}.loss`, options);
    this.checkX('loss', x);
    return this.objective.parts(this, x, step);
  }

  /** Saves the model into `dir` (see `saveModel`; Node). */
  async save(dir: string): Promise<void> {
    return saveModel(this, dir);
  }

  /** Frees the networks' and the prior's variables. */
  dispose(): void {
    for (const part of [this.encoder, this.decoder] as Array<{ dispose?(): void; net?: { dispose(): unknown } }>) {
      if (typeof part.dispose === 'function') part.dispose();
      else part.net?.dispose();
    }
    this.prior.dispose?.();
    tf.dispose(Object.values(decoderState(this.decoder)));
  }

  /** ELBO per example [B]. */
  elbo(x: tf.Tensor): tf.Tensor {
    this.checkX('elbo', x);
    return tf.tidy(() => this.elboParts(x).elbo);
  }

  /** q(z|x). */
  encode(x: tf.Tensor): Distribution {
    this.checkX('encode', x);
    return this.encoder.posterior(x);
  }

  /** p(x|z) for z [B, M]. */
  decode(z: tf.Tensor): Distribution {
    this.checkZ('decode', z);
    return this.decoder.likelihood(z);
  }

  /** n draws of x ~ p(x|z), z ~ p(z); with `mean: true` the decoder means instead. [n, ...itemShape]. */
  sample(n: number, { mean = false }: { mean?: boolean } = {}): tf.Tensor {
    positiveInteger('VAE.sample', 'n', n);
    return tf.tidy(() => {
      const p = this.decoder.likelihood(this.prior.distribution().sample([n]));
      return mean ? p.mean : p.sample();
    });
  }

  /** Decoder means at the posterior means: [B, ...itemShape]. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    this.checkX('reconstruct', x);
    return tf.tidy(() => this.decoder.likelihood(this.encoder.posterior(x).mean).mean);
  }
}

/** beta-VAE (Higgins et al. 2017): the ELBO with the KL weighted by beta (constant or scheduled). */
export class BetaVAE extends VAE {
  protected override get kind(): string {
    return 'BetaVAE';
  }
  /** `VAE.mlp` trained on the beta-ELBO. */
  static override mlp(options: VaeMlpOptions & { beta: BetaSchedule; weightDecay?: number }): BetaVAE {
    return new BetaVAE(VAE.mlp({ ...options, objective: new ELBO({ beta: options.beta, weightDecay: options.weightDecay }) }));
  }
  /** `VAE.conv` trained on the beta-ELBO. */
  static override conv(options: VaeConvOptions & { beta: BetaSchedule; weightDecay?: number }): BetaVAE {
    return new BetaVAE(VAE.conv({ ...options, objective: new ELBO({ beta: options.beta, weightDecay: options.weightDecay }) }));
  }
}

/** GMVAE: a VAE whose prior is a mixture of Gaussians (CS236 HW2; DTU 02460 exercise 1.6). */
export class GMVAE extends VAE {
  protected override get kind(): string {
    return 'GMVAE';
  }
  /** `VAE.mlp` with `MixtureOfGaussiansPrior(latentDim, { components, learnWeights })`. */
  static override mlp(options: VaeMlpOptions & { components: number; learnWeights?: boolean }): GMVAE {
    return new GMVAE(VAE.mlp({ ...options, prior: { mixture: options.components, learnWeights: options.learnWeights } }));
  }
  /** `VAE.conv` with the mixture-of-Gaussians prior. */
  static override conv(options: VaeConvOptions & { components: number; learnWeights?: boolean }): GMVAE {
    return new GMVAE(VAE.conv({ ...options, prior: { mixture: options.components, learnWeights: options.learnWeights } }));
  }
}

/** IWAE (Burda et al. 2016): the VAE trained on the k-sample importance-weighted bound. */
export class IWAE extends VAE {
  protected override get kind(): string {
    return 'IWAE';
  }
  /** `VAE.mlp` trained on `IWAEBound(k)`. */
  static override mlp(options: VaeMlpOptions & { k: number }): IWAE {
    return new IWAE(VAE.mlp({ ...options, objective: new IWAEBound(options.k) }));
  }
  /** `VAE.conv` trained on `IWAEBound(k)`. */
  static override conv(options: VaeConvOptions & { k: number }): IWAE {
    return new IWAE(VAE.conv({ ...options, objective: new IWAEBound(options.k) }));
  }
}

/** Labels as a number, an array of class indices, an int32 tensor [B] or one-hot rows [B, C]. */
export type Labels = number | number[] | Int32Array | tf.Tensor;

/** Options of {@link ConditionalVAE.mlp}. */
export interface ConditionalMlpOptions extends VaeMlpOptions {
  /** Number of classes C of the condition y. */
  numClasses: number;
}
/** Options of {@link ConditionalVAE.conv}. */
export interface ConditionalConvOptions extends VaeConvOptions {
  /** Number of classes C of the condition y. */
  numClasses: number;
}

/**
 * The conditional VAE (Sohn et al. 2015; CS236's FSVAE): p(x|y) = integral p(z) p(x|z, y) dz with
 * y observed, and q(z|x, y). Its ELBO bounds log p(x|y):
 * E_q[log p(x|z, y)] - KL(q(z|x, y) || p(z)). Holding z fixed and changing y changes the content
 * (the class) but keeps the style (see `styleContentGrid`).
 *
 * Every method takes the labels y as class indices or one-hot rows; `fit` and the evaluation
 * functions pass a labelled dataset's labels themselves.
 *
 * @example
 * const cvae = ConditionalVAE.mlp({ inputShape: [28, 28], latentDim: 10, hidden: [512, 512], numClasses: 10 });
 * const x = cvae.sample(10, { y: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], mean: true });
 */
export class ConditionalVAE extends VAE {
  /** Number of classes C. */
  readonly numClasses: number;

  constructor(parts: { prior: Prior; encoder: Encoder; decoder: Decoder; objective?: Objective; numClasses: number }) {
    super(parts);
    if (!Number.isInteger(parts.numClasses) || parts.numClasses < 2) throw argError('ConditionalVAE', 'numClasses', 'an integer >= 2', parts.numClasses);
    if (parts.prior instanceof VampPrior)
      throw argError('ConditionalVAE', 'prior', 'a prior that does not use the encoder (the VampPrior needs q(z|x) without y)', 'VampPrior');
    this.numClasses = parts.numClasses;
  }

  protected override get kind(): string {
    return 'ConditionalVAE';
  }

  /** An MLP conditional VAE: the encoder sees [x, y] (D + C inputs), the decoder [z, y] (M + C). */
  static override mlp(options: ConditionalMlpOptions): ConditionalVAE {
    const fn = 'ConditionalVAE.mlp';
    checkPresetOptions(fn, options);
    const c = checkClasses(fn, options.numClasses);
    const { inputShape, latentDim, hidden } = options;
    const d = inputShape.reduce((a, b) => a * b, 1);
    const activation = options.activation ?? 'relu';
    const predicted = options.likelihood === 'gaussian' && options.variance === 'predicted';
    const encNet = mlp({ inputDim: d + c, hidden, outputDim: 2 * latentDim, activation });
    const decNet = mlp({ inputDim: latentDim + c, hidden: [...hidden].reverse(), outputDim: predicted ? 2 * d : d, activation });
    return ConditionalVAE.from(fn, assemble(fn, options, encNet, decNet), c);
  }

  /** A convolutional conditional VAE: y joins the encoder after its convolutions and z at the decoder's input. */
  static override conv(options: ConditionalConvOptions): ConditionalVAE {
    const fn = 'ConditionalVAE.conv';
    checkPresetOptions(fn, options);
    const c = checkClasses(fn, options.numClasses);
    if (options.variance === 'predicted')
      throw argError(fn, 'options.variance', "'fixed', 'learned-shared' or 'learned-per-value' (a predicted variance needs the MLP)", options.variance);
    const common = { imageShape: options.inputShape, channels: options.channels, deep: options.deep, activation: options.activation, conditionDim: c };
    const encNet = convEncoderNet({ ...common, size: 2 * options.latentDim });
    const decNet = convDecoderNet({ ...common, size: options.latentDim });
    return ConditionalVAE.from(fn, assemble(fn, options, encNet, decNet), c);
  }

  private static from(fn: string, vae: VAE, numClasses: number): ConditionalVAE {
    if (vae.prior instanceof VampPrior) throw argError(fn, 'options.prior', "'gaussian', 'learnable' or { mixture: k } (not the VampPrior)", 'vamp');
    return new ConditionalVAE({ prior: vae.prior, encoder: vae.encoder, decoder: vae.decoder, objective: vae.objective, numClasses });
  }

  /**
   * One-hot rows [B, C] (float32) from labels; `b` is the batch size they must match (a single
   * number is repeated). Errors name `fn` and `arg` (default 'y'). Labels as class indices [B]
   * or one-hot rows [B, C], a JavaScript array of B indices or one index for all; any other
   * shape, length or number of classes is refused before a tensor is made.
   */
  oneHot(fn: string, y: Labels | undefined, b: number, arg = 'y'): tf.Tensor {
    const list = this.checkY(fn, y, b, arg);
    if (list !== null) return oneHotRows(list, this.numClasses);
    const t = y as tf.Tensor;
    if (t.rank === 2) return t.dtype === 'float32' ? t : tf.cast(t, 'float32');
    // Class indices [B]: checked on the device; the verdict is read with the next awaited read (checkArgs).
    tf.tidy(() => checkConstraint(fn, arg, tf.cast(t, 'float32'), integerInterval(0, this.numClasses - 1), `hold class indices in 0..${this.numClasses - 1}`));
    return oneHotRows(t, this.numClasses);
  }

  /**
   * Checks labels y for a batch of `b` without making a tensor: a tensor by its shape ([B] class
   * indices or one-hot rows [B, C]), numbers by their values. Returns the class indices of
   * numbers (null for a tensor). Errors name `fn` and `arg`.
   */
  protected checkY(fn: string, y: Labels | undefined, b: number, arg = 'y'): number[] | null {
    const c = this.numClasses;
    if (y === undefined || y === null) throw argError(fn, arg, `the labels of the batch (${b} class indices in 0..${c - 1}, or one-hot rows)`, y);
    if (y instanceof tf.Tensor) {
      if ((y.rank === 2 && y.shape[1] === c && y.shape[0] === b) || (y.rank === 1 && y.shape[0] === b)) return null;
      if (y.rank === 2 && y.shape[0] === b) throw argError(fn, arg, `one-hot rows [${b}, ${c}]`, y);
      throw argError(fn, arg, `labels [${b}] or one-hot rows [${b}, ${c}]`, y);
    }
    const list = typeof y === 'number' ? new Array<number>(b).fill(y) : Array.from(y);
    if (list.length !== b || !list.every((v) => Number.isInteger(v) && v >= 0 && v < c)) throw argError(fn, arg, `${b} class indices in 0..${c - 1}`, y);
    return list;
  }

  /** Checks x (see {@link VAE.inputShape}) and then its labels y, naming `<kind>.<method>`; makes no tensor. */
  protected checkXY(method: string, x: unknown, y: Labels | undefined): asserts x is tf.Tensor {
    this.checkX(method, x);
    this.checkY(`${this.kind}.${method}`, y, x.shape[0]!);
  }

  /**
   * Runs `use` with the one-hot rows of the labels `y` for a batch of `b` (see `oneHot`), and
   * frees the rows afterwards when they were made here.
   */
  protected withOneHot<T>(fn: string, y: Labels | undefined, b: number, use: (c: tf.Tensor) => T, arg = 'y'): T {
    const c = this.oneHot(fn, y, b, arg);
    try {
      return use(c);
    } finally {
      if (c !== y) c.dispose();
    }
  }

  /** The ELBO of log p(x|y) (beta = 1, one sample) and its parts. */
  override elboParts(x: tf.Tensor, y?: Labels): ElboParts {
    this.checkXY('elboParts', x, y);
    return this.withOneHot(`${this.kind}.elboParts`, y, x.shape[0]!, (c) => PLAIN_ELBO.parts(this, x, 0, c));
  }

  /** The objective's parts for a labelled batch at training step `step`. */
  override loss(x: tf.Tensor, options: LossOptions<Labels> = {}): ObjectiveParts {
    const { step, y } = lossOptions(`${this.kind}.loss`, options);
    this.checkXY('loss', x, y);
    return this.withOneHot(`${this.kind}.loss`, y, x.shape[0]!, (c) => this.objective.parts(this, x, step, c));
  }

  /** ELBO of log p(x|y) per example [B]. */
  override elbo(x: tf.Tensor, y?: Labels): tf.Tensor {
    this.checkXY('elbo', x, y);
    return tf.tidy(() => this.elboParts(x, y).elbo);
  }

  /** q(z|x, y). */
  override encode(x: tf.Tensor, y?: Labels): Distribution {
    this.checkXY('encode', x, y);
    return this.withOneHot(`${this.kind}.encode`, y, x.shape[0]!, (c) => this.encoder.posterior(x, c));
  }

  /** p(x|z, y) for z [B, M]. */
  override decode(z: tf.Tensor, y?: Labels): Distribution {
    this.checkZ('decode', z);
    return this.withOneHot(`${this.kind}.decode`, y, z.shape[0]!, (c) => this.decoder.likelihood(z, c));
  }

  /**
   * n draws of x ~ p(x|z, y), z ~ p(z), for the labels `y` (a class for all, or n classes);
   * with `mean: true` the decoder means. [n, ...itemShape].
   */
  override sample(n: number, { mean = false, y }: { mean?: boolean; y?: Labels } = {}): tf.Tensor {
    const fn = `${this.kind}.sample`;
    positiveInteger(fn, 'n', n);
    this.checkY(fn, y, n);
    return tf.tidy(() => {
      const p = this.decoder.likelihood(this.prior.distribution().sample([n]), this.oneHot(fn, y, n));
      return mean ? p.mean : p.sample();
    });
  }

  /** Decoder means at the posterior means, both given y: [B, ...itemShape]. */
  override reconstruct(x: tf.Tensor, y?: Labels): tf.Tensor {
    this.checkXY('reconstruct', x, y);
    return tf.tidy(() => {
      const c = this.oneHot(`${this.kind}.reconstruct`, y, x.shape[0]!);
      return this.decoder.likelihood(this.encoder.posterior(x, c).mean, c).mean;
    });
  }
}

function checkClasses(fn: string, c: unknown): number {
  if (!Number.isInteger(c) || (c as number) < 2) throw argError(fn, 'options.numClasses', 'an integer >= 2', c);
  return c as number;
}

// How each class is saved and rebuilt (persistence knows no model class; each module registers
// its own). Later registrations are asked first, so ConditionalVAE (registered after VAE) and
// SSVAE (in ssvae.ts, which imports this module) match before their base classes.
for (const [name, Class] of [
  ['VAE', VAE],
  ['BetaVAE', BetaVAE],
  ['GMVAE', GMVAE],
  ['IWAE', IWAE],
] as const) {
  registerBuiltinModelClass({
    name,
    matches: (model) => model instanceof Class,
    nets: () => ({}),
    config: () => ({}),
    build: ({ prior, encoder, decoder, objective }) => new Class({ prior, encoder, decoder, objective }),
  });
}
registerBuiltinModelClass({
  name: 'ConditionalVAE',
  matches: (model) => model instanceof ConditionalVAE,
  nets: () => ({}),
  config: () => ({}),
  build: ({ prior, encoder, decoder, objective, numClasses }) => {
    if (!Number.isInteger(numClasses)) throw new DlvmError(`loadModel: the saved ConditionalVAE has no valid numClasses (${JSON.stringify(numClasses)}).`);
    return new ConditionalVAE({ prior, encoder, decoder, objective, numClasses: numClasses! });
  },
});
