/**
 * The semi-supervised VAE of Kingma et al. (2014), "M2": p(y) p(z) p(x|y, z) with a classifier
 * q(y|x) and an encoder q(z|x, y).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Categorical } from '../distributions/categorical.js';
import { klDivergence } from '../distributions/kl.js';
import { OneHotCategorical } from '../distributions/one_hot_categorical.js';
import { RelaxedOneHotCategorical } from '../distributions/relaxed_categorical.js';
import { argError, checkExamples, DlvmError, lossOptions, positiveInteger } from '../errors.js';
import { checkConstraint, Distribution } from '../distributions/distribution.js';
import { boolean } from '../distributions/constraints.js';
import { BernoulliDecoder, GaussianDecoder } from './decoders.js';
import { GaussianEncoder } from './encoders.js';
import { checkNet, run, variablesOf } from './nets_util.js';
import { mlp, type MlpOptions } from './networks.js';
import { ELBO, type ObjectiveParts } from './objectives.js';
import { importanceParts, repeatBatch } from './batch.js';
import { GaussianPrior } from './priors.js';
import type { Decoder, Encoder, LossOptions, Prior } from './contracts.js';
import { registerBuiltinModelClass } from './persistence.js';
import { ConditionalVAE, VAE, type ElboParts, type Labels } from './vae.js';
import type { Network } from './network.js';
import { oneHotRows } from './labels.js';

const PLAIN_ELBO = new ELBO();

/** Every example with every one of C classes: rows c * B + i hold (x_i, one-hot class c). */
function everyClass(x: tf.Tensor, c: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const b = x.shape[0]!;
  const classes = tf.reshape(tf.tile(tf.expandDims(tf.range(0, c, 1, 'int32'), 1), [1, b]), [c * b]);
  return { xs: repeatBatch(x, c), ys: oneHotRows(classes, c) };
}

/** Options of {@link SSVAE.mlp}. */
export interface SsvaeMlpOptions {
  /** Shape of one example, e.g. [28, 28] (with `m1`: the shape of M1's input). */
  inputShape: number[];
  /** Number of classes C. */
  numClasses: number;
  /** Latent size M of z (CS236: 64). */
  latentDim: number;
  /** Hidden sizes of the encoder and the (mirrored) decoder (CS236: [300, 300]). */
  hidden: number[];
  /** Hidden sizes of the classifier q(y|x) (default: `hidden`). */
  classifierHidden?: number[];
  /** Hidden activation (default 'elu', as CS236). */
  activation?: MlpOptions['activation'];
  /** Weight alpha of the classification loss on labelled examples (default 100, CS236's). */
  alpha?: number;
  /** Include the ELBO of the labelled pairs (x, y) in the loss (default true, Kingma et al.; CS236 leaves it out). */
  labelledElbo?: boolean;
  /**
   * Weight of the generative terms (the ELBOs) in the loss (default 1). 0 trains the classifier
   * on the labelled examples alone: CS236's labelled-only baseline.
   */
  genWeight?: number;
  /**
   * How y is handled for unlabelled examples: 'enumerate' (default: the exact sum over the C
   * classes, C decoder passes) or `{ relaxed: temperature }`: one Gumbel-softmax draw
   * (RelaxedOneHotCategorical; Jang et al. 2017) of y per example, one decoder pass.
   */
  unlabelled?: UnlabelledMode;
  /**
   * Kingma et al.'s stacked M1+M2: a trained VAE (M1, kept frozen) whose latent z1 ~ q(z1|x) is
   * the data that M2 models and classifies; M2's networks then see z1 (M1's latentDim values)
   * instead of x.
   */
  m1?: VAE;
  /** With `m1`: z1 during training, a draw from q(z1|x) (default, as Kingma et al.) or its mean. */
  m1Features?: FeatureMode;
  /**
   * With `m1`: the latent dimensions of M1 that M2 models (default all). Kingma et al. keep M1's
   * active units (those whose posterior mean varies across the data, e.g. from `activeUnits`):
   * the inactive ones are pure prior noise.
   */
  m1Dims?: number[];
  /**
   * p(x|y, z): 'bernoulli' (binary data; the default without `m1`) or 'gaussian' with a
   * predicted diagonal variance (real-valued data such as M1's z1; the default with `m1`).
   */
  likelihood?: 'bernoulli' | 'gaussian';
}

/** How M1's posterior gives the features z1 during training: a draw or the mean. */
export type FeatureMode = 'sample' | 'mean';

/** See {@link SsvaeMlpOptions.unlabelled}. */
export type UnlabelledMode = 'enumerate' | { relaxed: number };

/** Parts of {@link SSVAE.unlabelledParts}, per example [B]. */
export interface UnlabelledParts {
  /** The bound on log p(x) with y summed out: sum_y q(y|x) L(x, y) + H(q(y|x)). */
  elbo: tf.Tensor;
  /** sum_y q(y|x) (-E_q(z|x,y)[log p(x|y, z)]). */
  reconstruction: tf.Tensor;
  /** sum_y q(y|x) KL(q(z|x, y) || p(z)) + KL(q(y|x) || p(y)). */
  kl: tf.Tensor;
  /** KL(q(y|x) || p(y)) alone. */
  klY: tf.Tensor;
}

/**
 * The semi-supervised VAE M2 (Kingma et al. 2014): uniform p(y), p(z) = N(0, I), p(x|y, z), the
 * classifier q(y|x) and q(z|x, y).
 *
 * - Labelled (x, y): the bound L(x, y) = E_q(z|x,y)[log p(x|y, z)] - KL(q(z|x, y) || p(z)) + log p(y),
 *   plus alpha times the classification loss -log q(y|x).
 * - Unlabelled x: y is summed out exactly, enumerating the C classes weighted by q(y|x):
 *   U(x) = sum_y q(y|x) L(x, y) - KL(q(y|x) || p(y)) (the entropy term), a bound on log p(x).
 *
 * `loss(x, { step, labelled: { x: xl, y: yl } })` is the objective on an unlabelled batch x and a
 * labelled batch; `fit(ssvae, unlabelled, { labelledData, ... })` trains it and reports the
 * validation accuracy.
 *
 * Stacked M1+M2 (`m1`): every method still takes x; M1's frozen encoder first turns it into
 * z1 (a draw from q(z1|x) in `loss`, the mean elsewhere), and M2 (its classifier, encoder,
 * decoder and bounds) works on z1: the bounds are then bounds on log p(z1), and `sample`,
 * `decode` and `reconstruct` give z1 values.
 *
 * @example
 * const { labelled, unlabelled } = semiSupervisedSplit(train, { labelsPerClass: 10, seed: 0 });
 * const ssvae = SSVAE.mlp({ inputShape: [28, 28], numClasses: 10, latentDim: 64, hidden: [300, 300] });
 * await fit(ssvae, unlabelled, { labelledData: labelled, epochs: 50, batchSize: 100, binarize: 'dynamic' });
 */
export class SSVAE extends ConditionalVAE {
  /** q(y|x): a network from x (or M1's z1) to C logits. */
  readonly classifier: Network;
  readonly alpha: number;
  readonly labelledElbo: boolean;
  readonly genWeight: number;
  readonly unlabelledMode: UnlabelledMode;
  /** M1's encoder q(z1|x) of a stacked M1+M2 model (not trained), or null. */
  readonly m1: GaussianEncoder | null;
  /** How z1 is taken from q(z1|x) in `loss` (see {@link SsvaeMlpOptions.m1Features}). */
  readonly m1Features: FeatureMode;
  /** The latent dimensions of M1 that M2 models, or null for all (see {@link SsvaeMlpOptions.m1Dims}). */
  readonly m1Dims: number[] | null;

  constructor(parts: {
    prior: Prior;
    encoder: Encoder;
    decoder: Decoder;
    classifier: Network;
    numClasses: number;
    alpha?: number;
    labelledElbo?: boolean;
    genWeight?: number;
    unlabelled?: UnlabelledMode;
    m1?: GaussianEncoder;
    m1Features?: FeatureMode;
    m1Dims?: number[];
  }) {
    super({ prior: parts.prior, encoder: parts.encoder, decoder: parts.decoder, numClasses: parts.numClasses });
    this.classifier = checkNet('SSVAE', parts.classifier);
    const alpha = parts.alpha ?? 100;
    if (!(typeof alpha === 'number' && alpha >= 0)) throw argError('SSVAE', 'alpha', 'a nonnegative number', parts.alpha);
    this.alpha = alpha;
    this.labelledElbo = parts.labelledElbo ?? true;
    const genWeight = parts.genWeight ?? 1;
    if (!(typeof genWeight === 'number' && genWeight >= 0)) throw argError('SSVAE', 'genWeight', 'a nonnegative number', parts.genWeight);
    this.genWeight = genWeight;
    const mode = parts.unlabelled ?? 'enumerate';
    if (mode !== 'enumerate' && !(typeof mode === 'object' && mode !== null && (mode as { relaxed: number }).relaxed > 0)) {
      throw argError('SSVAE', 'unlabelled', "'enumerate' or { relaxed: temperature > 0 }", mode);
    }
    this.unlabelledMode = mode;
    if (parts.m1 !== undefined && !(parts.m1 instanceof GaussianEncoder)) throw argError('SSVAE', 'm1', "M1's GaussianEncoder", parts.m1);
    this.m1 = parts.m1 ?? null;
    const features = parts.m1Features ?? 'sample';
    if (features !== 'sample' && features !== 'mean') throw argError('SSVAE', 'm1Features', "'sample' or 'mean'", features);
    this.m1Features = features;
    this.m1Dims = null;
    if (parts.m1Dims !== undefined) {
      const m = this.m1 ? (this.m1.net.outputs[0]!.shape[1] as number) / 2 : 0;
      const dims = parts.m1Dims;
      if (
        !this.m1 ||
        !Array.isArray(dims) ||
        dims.length === 0 ||
        !dims.every((d) => Number.isInteger(d) && d >= 0 && d < m) ||
        new Set(dims).size !== dims.length
      ) {
        throw argError('SSVAE', 'm1Dims', this.m1 ? `distinct latent dimensions of M1 in 0..${m - 1}` : 'undefined without m1', dims);
      }
      this.m1Dims = [...dims];
    }
  }

  /** The MLP SSVAE of CS236 HW2 (300-300 ELU networks, M = 64 there); with `m1`, Kingma et al.'s M1+M2. */
  static override mlp(options: SsvaeMlpOptions): SSVAE {
    const fn = 'SSVAE.mlp';
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
    const { inputShape, numClasses: c, latentDim, hidden, m1 } = options;
    if (!Array.isArray(inputShape) || !inputShape.every((v) => Number.isInteger(v) && v > 0))
      throw argError(fn, 'options.inputShape', 'the shape of one example, e.g. [28, 28]', inputShape);
    if (!Number.isInteger(c) || c < 2) throw argError(fn, 'options.numClasses', 'an integer >= 2', c);
    positiveInteger(fn, 'options.latentDim', latentDim);
    if (m1 !== undefined) {
      if (!(m1 instanceof VAE) || m1 instanceof ConditionalVAE || !(m1.encoder instanceof GaussianEncoder)) {
        throw argError(fn, 'options.m1', 'a trained unconditional VAE with a GaussianEncoder (M1)', m1);
      }
      const input = (m1.encoder.net.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      const d = inputShape.reduce((a, b) => a * b, 1);
      if (input !== d)
        throw argError(fn, 'options.m1', `a VAE whose encoder takes ${d} values (inputShape [${inputShape.join(', ')}])`, `an encoder with ${input} inputs`);
    }
    const likelihood = options.likelihood ?? (m1 ? 'gaussian' : 'bernoulli');
    if (likelihood !== 'bernoulli' && likelihood !== 'gaussian') throw argError(fn, 'options.likelihood', "'bernoulli' or 'gaussian'", likelihood);
    if (m1 && likelihood === 'bernoulli') throw argError(fn, 'options.likelihood', "'gaussian' (M1's z1 is real-valued)", likelihood);
    // M2 models x, or M1's z1 (the chosen dimensions).
    const dataShape = m1 ? [options.m1Dims?.length ?? m1.prior.latentDim] : inputShape;
    const d = dataShape.reduce((a, b) => a * b, 1);
    const activation = options.activation ?? 'elu';
    const classifier = mlp({ inputDim: d, hidden: options.classifierHidden ?? hidden, outputDim: c, activation });
    const encoder = new GaussianEncoder(mlp({ inputDim: d + c, hidden, outputDim: 2 * latentDim, activation }));
    const gaussian = likelihood === 'gaussian';
    const decNet = mlp({ inputDim: latentDim + c, hidden: [...hidden].reverse(), outputDim: gaussian ? 2 * d : d, activation });
    const decoder = gaussian ? new GaussianDecoder(decNet, dataShape, { variance: 'predicted' }) : new BernoulliDecoder(decNet, dataShape);
    const prior = new GaussianPrior(latentDim);
    try {
      return SSVAE.build(options, { prior, encoder, decoder, classifier, c, m1 });
    } catch (e) {
      // A preset that fails (e.g. a bad alpha) leaves nothing behind.
      for (const net of [classifier, encoder.net, decNet]) net.dispose();
      prior.dispose();
      throw e;
    }
  }

  private static build(
    options: SsvaeMlpOptions,
    parts: { prior: GaussianPrior; encoder: GaussianEncoder; decoder: Decoder; classifier: Network; c: number; m1: VAE | undefined },
  ): SSVAE {
    const { prior, encoder, decoder, classifier, c, m1 } = parts;
    return new SSVAE({
      prior,
      encoder,
      decoder,
      classifier,
      numClasses: c,
      alpha: options.alpha,
      labelledElbo: options.labelledElbo,
      genWeight: options.genWeight,
      unlabelled: options.unlabelled,
      ...(m1 ? { m1: m1.encoder as GaussianEncoder, m1Features: options.m1Features, m1Dims: options.m1Dims } : {}),
    });
  }

  override get trainableVariables(): tf.Variable[] {
    return [...super.trainableVariables, ...variablesOf(this.classifier)];
  }

  /**
   * The shape of one example x: the decoder's item shape, or for M1+M2 the input shape of M1's
   * encoder network (e.g. [784] for an MLP M1: any layout of 784 values; [28, 28, 1] for a
   * convolutional one), since every method takes x and turns it into z1 itself. The features
   * z1 are not an input: pass x.
   */
  override get inputShape(): number[] | null {
    if (this.m1 === null) return super.inputShape;
    const s = this.m1.net.inputs[0]?.shape.slice(1);
    return s && s.length > 0 && s.every((d) => typeof d === 'number' && d > 0) ? (s as number[]) : null;
  }

  protected override get kind(): string {
    return 'SSVAE';
  }

  /** Checks a labelled data set: examples of {@link inputShape}, labels in 0..C-1. */
  /**
   * What M2 sees of x: x itself, or for M1+M2 M1's z1 [B, M1] (its `m1Dims` columns): a draw
   * from q(z1|x) when `draw` is 'sample', else its mean.
   */
  features(x: tf.Tensor, draw: FeatureMode = 'mean'): tf.Tensor {
    this.checkX('features', x);
    const m1 = this.m1;
    if (m1 === null) return x;
    return tf.tidy(() => {
      const q = m1.posterior(x);
      const z1 = draw === 'sample' ? q.sample() : q.mean;
      return this.m1Dims ? tf.gather(z1, this.m1Dims, 1) : z1;
    });
  }

  /** Runs `use` on the features of x, freeing them afterwards when they were made here. */
  private onFeatures<T>(x: tf.Tensor, draw: FeatureMode, use: (f: tf.Tensor) => T): T {
    const f = this.features(x, draw);
    try {
      return use(f);
    } finally {
      if (f !== x) f.dispose();
    }
  }

  /** q(y|x): a Categorical with batch [B]. */
  classify(x: tf.Tensor): Categorical {
    this.checkX('classify', x);
    return this.onFeatures(x, 'mean', (f) => this.classPosterior(f));
  }

  /** The most probable class under q(y|x), int32 [B]. */
  predict(x: tf.Tensor): tf.Tensor {
    this.checkX('predict', x);
    return this.onFeatures(x, 'mean', (f) => this.predictOn(f));
  }

  /** argmax of the classifier's logits on M2's data f (x, or z1). */
  private predictOn(f: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.argMax(run(this.classifier, f), -1));
  }

  /**
   * p(y|x) by Bayes' rule under the generative model, an alternative to the classifier q(y|x):
   * p(y|x) = p(y) p(x|y) / sum_c p(c) p(x|c), each log p(x|y) estimated by importance sampling
   * from q(z|x, y) with `samples` draws, log (1/k) sum_i p(x|y, z_i) p(z_i) / q(z_i|x, y) (the
   * IWAE-k bound of Burda et al. 2016, which rises to log p(x|y) as k grows); the Categorical's
   * logits are the estimates of log p(x, y), normalised. M1+M2: of M1's mean z1. x must suit
   * the likelihood (binary pixels for a Bernoulli decoder). Call it inside `tf.tidy`, as
   * `classify`: the distribution does not own the logits it is built from.
   *
   * @param options.samples importance samples per class (default 100).
   * @param options.chunk samples drawn at a time, to bound memory (default 10).
   */
  bayesClassify(x: tf.Tensor, options: { samples?: number; chunk?: number } = {}): Categorical {
    const fn = 'SSVAE.bayesClassify';
    this.checkX('bayesClassify', x);
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { samples: 100 }', options);
    const k = options.samples ?? 100;
    positiveInteger(fn, 'options.samples', k, options.samples);
    const chunk = options.chunk ?? 10;
    positiveInteger(fn, 'options.chunk', chunk, options.chunk);
    if (this.m1 === null && this.decoder instanceof BernoulliDecoder) {
      // On the device, read with the next awaited read (bayesAccuracy's, or checkArgs()).
      checkConstraint(fn, 'x', x, boolean, "hold binary pixels (0 or 1) for the Bernoulli likelihood (binarise the images, e.g. binarize: 'threshold')");
    }
    return this.onFeatures(x, 'mean', (f) => new Categorical({ logits: this.logJointOn(f, k, Math.min(chunk, k)) }, { validateArgs: false }));
  }

  /** IWAE-k estimates of log p(f, y) for every class, [B, C], drawn `chunk` samples at a time. */
  private logJointOn(f: tf.Tensor, k: number, chunk: number): tf.Tensor {
    return tf.tidy(() => {
      const b = f.shape[0]!;
      const c = this.numClasses;
      const { xs: fs, ys } = everyClass(f, c);
      const q = this.encoder.posterior(fs, ys); // batch [C B]
      const pieces: tf.Tensor[] = [];
      for (let done = 0; done < k; done += chunk) {
        pieces.push(
          tf.tidy(() => {
            const { logLik, logRatio } = importanceParts(this, q, fs, ys, Math.min(chunk, k - done), false); // [s, C B]
            return tf.logSumExp(tf.sub(logLik, logRatio), 0);
          }),
        );
      }
      const logPxGivenY = tf.sub(tf.logSumExp(tf.stack(pieces), 0), Math.log(k)); // [C B]
      return tf.transpose(tf.reshape(tf.sub(logPxGivenY, Math.log(c)), [c, b])); // + log p(y), uniform
    });
  }

  /** The bound L(x, y) on log p(x, y) and its parts per example, y as labels or one-hot rows. */
  labelledParts(x: tf.Tensor, y: Labels): { elbo: tf.Tensor; reconstruction: tf.Tensor; kl: tf.Tensor } {
    this.checkXY('labelledParts', x, y);
    return this.onFeatures(x, 'mean', (f) => this.withOneHot('SSVAE.labelledParts', y, x.shape[0]!, (c) => this.labelledOn(f, c)));
  }

  /** p(y): the uniform prior over the C classes, as one-hot rows (OneHotCategorical). */
  private classPrior(): OneHotCategorical {
    return new OneHotCategorical({ logits: tf.zeros([this.numClasses]) }, { validateArgs: false });
  }

  /** q(y|x) from the classifier on M2's data f: a Categorical with batch [B] that owns its logits. */
  private classPosterior(f: tf.Tensor): Categorical {
    const logits = run(this.classifier, f);
    return Distribution.owning(new Categorical({ logits }, { validateArgs: false }), [logits]);
  }

  /** L(f, y) = ELBO of log p(f|y) + log p(y), on M2's data f (x, or z1) with one-hot c. */
  private labelledOn(f: tf.Tensor, c: tf.Tensor): { elbo: tf.Tensor; reconstruction: tf.Tensor; kl: tf.Tensor } {
    return tf.tidy(() => {
      const p = PLAIN_ELBO.parts(this, f, 0, c);
      p.loss.dispose();
      return { elbo: tf.add(p.elbo, this.classPrior().logProb(c)), reconstruction: p.reconstruction, kl: p.kl };
    });
  }

  /**
   * The bound U(x) on log p(x) and its parts per example: y enumerated (exact), or with
   * `unlabelledMode` relaxed, one Gumbel-softmax draw of y (a one-sample estimate; the KL of
   * q(y|x) to the uniform p(y) stays exact). `mode` overrides the model's setting.
   */
  unlabelledParts(x: tf.Tensor, mode: UnlabelledMode = this.unlabelledMode): UnlabelledParts {
    this.checkX('unlabelledParts', x);
    return this.onFeatures(x, 'mean', (f) => this.unlabelledOn(f, mode));
  }

  private unlabelledOn(x: tf.Tensor, mode: UnlabelledMode): UnlabelledParts {
    if (mode !== 'enumerate') return this.relaxedOn(x, mode.relaxed);
    return tf.tidy(() => {
      const b = x.shape[0]!;
      const k = this.numClasses;
      const qy = this.classPosterior(x); // q(y|x), batch [B]
      const q = qy.probs; // [B, C]
      const { xs, ys } = everyClass(x, k);
      const p = PLAIN_ELBO.parts(this, xs, 0, ys);
      const perClass = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [k, b])); // [B, C]
      const reconstruction = tf.sum(tf.mul(q, perClass(p.reconstruction)), -1);
      const klZ = tf.sum(tf.mul(q, perClass(p.kl)), -1);
      const klY = klDivergence(qy, this.classPrior().categorical); // KL(q(y|x) || p(y))
      const kl = tf.add(klZ, klY);
      return { elbo: tf.neg(tf.add(reconstruction, kl)), reconstruction, kl, klY };
    });
  }

  private relaxedOn(x: tf.Tensor, temperature: number): UnlabelledParts {
    return tf.tidy(() => {
      const qy = this.classPosterior(x);
      const y = new RelaxedOneHotCategorical(temperature, { logits: qy.logits }, { validateArgs: false }).rsample(); // [B, C]
      const p = PLAIN_ELBO.parts(this, x, 0, y);
      const klY = klDivergence(qy, this.classPrior().categorical); // exact, not relaxed
      const kl = tf.add(p.kl, klY);
      return { elbo: tf.neg(tf.add(p.reconstruction, kl)), reconstruction: p.reconstruction, kl, klY };
    });
  }

  /**
   * The SSVAE objective. With `labelled` ({ x, y }): -genWeight mean U(x) over the unlabelled
   * batch x, plus for the labelled batch -genWeight mean L(x, y) (when `labelledElbo`) +
   * alpha mean(-log q(y|x)).
   * Without it and with labels `y`, x is taken as a labelled batch. `elbo`, `reconstruction` and
   * `kl` report the unlabelled bound (or the labelled one when x is labelled).
   */
  override loss(x: tf.Tensor, options: LossOptions<Labels> = {}): ObjectiveParts {
    const fn = 'SSVAE.loss';
    const { y, labelled } = lossOptions(fn, options);
    if (y !== undefined && labelled !== undefined) throw argError(fn, 'y', 'undefined when `labelled` is given (x is then the unlabelled batch)', 'labels');
    // Every argument is checked before the first tensor is made, so a refused call leaves none.
    if (y !== undefined) this.checkXY('loss', x, y);
    else this.checkX('loss', x);
    if (labelled !== undefined) {
      if (labelled === null || typeof labelled !== 'object') throw argError(fn, 'labelled', 'a labelled batch { x, y }', labelled);
      checkExamples(fn, 'labelled.x', labelled.x, this.inputShape);
      this.checkY(fn, labelled.y, labelled.x.shape[0]!, 'labelled.y');
    }
    type Supervised = { loss: tf.Scalar; elbo: tf.Tensor; reconstruction: tf.Tensor; kl: tf.Tensor };
    const draw = this.m1Features;
    const supervised = (xl: tf.Tensor, yl: Labels, arg: string): Supervised =>
      this.withOneHot(
        fn,
        yl,
        xl.shape[0]!,
        (c) =>
          this.onFeatures(
            xl,
            draw,
            (f) =>
              tf.tidy(() => {
                const ce = tf.neg(this.classPosterior(f).logProb(tf.argMax(c, -1))); // -log q(y|x), c one-hot labels
                const p = this.labelledOn(f, c);
                const loss = tf.add(tf.mul(this.alpha, tf.mean(ce)), this.labelledElbo ? tf.mul(-this.genWeight, tf.mean(p.elbo)) : 0) as tf.Scalar;
                return { loss, elbo: p.elbo, reconstruction: p.reconstruction, kl: p.kl };
              }) as Supervised,
          ),
        arg,
      );
    if (y !== undefined) {
      const s = supervised(x, y, 'y');
      return { ...s, beta: 1, klAnalytic: true };
    }
    const u = this.onFeatures(x, draw, (f) => this.unlabelledOn(f, this.unlabelledMode));
    u.klY.dispose();
    let loss = tf.tidy(() => tf.mul(-this.genWeight, tf.mean(u.elbo))) as tf.Scalar; // no stray mean left outside a tidy
    if (labelled !== undefined) {
      const s = supervised(labelled.x, labelled.y, 'labelled.y');
      const total = tf.add(loss, s.loss) as tf.Scalar;
      tf.dispose([loss, s.loss, s.elbo, s.reconstruction, s.kl]);
      loss = total;
    }
    return { loss, elbo: u.elbo, reconstruction: u.reconstruction, kl: u.kl, beta: 1, klAnalytic: true };
  }

  /** The ELBO of log p(x|y) without the log p(y) term (M1+M2: of M1's mean z1) and its parts. */
  override elboParts(x: tf.Tensor, y?: Labels): ElboParts {
    this.checkXY('elboParts', x, y);
    return this.onFeatures(x, 'mean', (f) => this.withOneHot('SSVAE.elboParts', y, x.shape[0]!, (c) => PLAIN_ELBO.parts(this, f, 0, c)));
  }

  /** q(z|x, y) (M1+M2: q(z2|z1, y) at M1's mean z1). */
  override encode(x: tf.Tensor, y?: Labels): Distribution {
    this.checkXY('encode', x, y);
    return this.onFeatures(x, 'mean', (f) => this.withOneHot('SSVAE.encode', y, x.shape[0]!, (c) => this.encoder.posterior(f, c)));
  }

  /** Decoder means at the posterior means given y (M1+M2: of z1, at M1's mean z1). */
  override reconstruct(x: tf.Tensor, y?: Labels): tf.Tensor {
    this.checkXY('reconstruct', x, y);
    return this.onFeatures(x, 'mean', (f) =>
      tf.tidy(() => {
        const c = this.oneHot('SSVAE.reconstruct', y, x.shape[0]!);
        return this.decoder.likelihood(this.encoder.posterior(f, c).mean, c).mean;
      }),
    );
  }

  override dispose(): void {
    super.dispose();
    this.classifier.dispose();
    // M1's encoder belongs to M1: the caller disposes of M1.
  }
}

registerBuiltinModelClass({
  name: 'SSVAE',
  matches: (model) => model instanceof SSVAE,
  nets: (model) => {
    const m = model as SSVAE;
    return { classifier: m.classifier, ...(m.m1 ? { m1: m.m1.net } : {}) };
  },
  config: (model) => {
    const m = model as SSVAE;
    return {
      alpha: m.alpha,
      labelledElbo: m.labelledElbo,
      genWeight: m.genWeight,
      unlabelled: m.unlabelledMode,
      ...(m.m1 ? { m1Features: m.m1Features, ...(m.m1Dims ? { m1Dims: m.m1Dims } : {}) } : {}),
    };
  },
  build: (parts, nets, config) => {
    if (!nets['classifier'] || !Number.isInteger(parts.numClasses))
      throw new DlvmError('loadModel: the saved SSVAE lacks its classifier network or its number of classes.');
    return new SSVAE({
      ...parts,
      classifier: nets['classifier'],
      numClasses: parts.numClasses!,
      alpha: config['alpha'] as number,
      labelledElbo: config['labelledElbo'] as boolean,
      genWeight: config['genWeight'] as number,
      unlabelled: config['unlabelled'] as UnlabelledMode | undefined,
      ...(nets['m1']
        ? { m1: new GaussianEncoder(nets['m1']), m1Features: config['m1Features'] as FeatureMode | undefined, m1Dims: config['m1Dims'] as number[] | undefined }
        : {}),
    });
  },
});
