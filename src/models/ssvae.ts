/**
 * The semi-supervised VAE of Kingma et al. (2014), "M2": p(y) p(z) p(x|y, z) with a classifier
 * q(y|x) and an encoder q(z|x, y).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { Categorical } from '../distributions/categorical.js';
import { RelaxedOneHotCategorical } from '../distributions/relaxed_categorical.js';
import { argError, DlvmError } from '../errors.js';
import { withSeed } from '../random.js';
import { BernoulliDecoder } from './decoders.js';
import { GaussianEncoder } from './encoders.js';
import { checkNet, run, variablesOf } from './nets_util.js';
import { mlp, type MlpOptions } from './networks.js';
import { ELBO, repeatBatch, type ObjectiveParts } from './objectives.js';
import { GaussianPrior, type Prior } from './priors.js';
import { registerModelClass } from './persistence.js';
import { ConditionalVAE, type Decoder, type Encoder, type Labels } from './vae.js';

const PLAIN_ELBO = new ELBO();

/** Options of {@link SSVAE.mlp}. */
export interface SsvaeMlpOptions {
  /** Shape of one example, e.g. [28, 28]. */
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
}

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

/** Validation figures of an SSVAE (see {@link SSVAE.validationMetrics}). */
export interface SsvaeMetrics {
  loss: number;
  elbo: number;
  reconstruction: number;
  kl: number;
  accuracy: number;
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
 * `loss(x, step, undefined, { x: xl, y: yl })` is the objective on an unlabelled batch x and a
 * labelled batch; `fit(ssvae, unlabelled, { labelledData, ... })` trains it and reports the
 * validation accuracy.
 *
 * @example
 * const { labelled, unlabelled } = semiSupervisedSplit(train, { labelsPerClass: 10, seed: 0 });
 * const ssvae = SSVAE.mlp({ inputShape: [28, 28], numClasses: 10, latentDim: 64, hidden: [300, 300] });
 * await fit(ssvae, unlabelled, { labelledData: labelled, epochs: 50, batchSize: 100, binarize: 'dynamic' });
 */
export class SSVAE extends ConditionalVAE {
  /** q(y|x): a network from x to C logits. */
  readonly classifier: tfl.LayersModel;
  readonly alpha: number;
  readonly labelledElbo: boolean;
  readonly genWeight: number;
  readonly unlabelledMode: UnlabelledMode;

  constructor(parts: {
    prior: Prior;
    encoder: Encoder;
    decoder: Decoder;
    classifier: tfl.LayersModel;
    numClasses: number;
    alpha?: number;
    labelledElbo?: boolean;
    genWeight?: number;
    unlabelled?: UnlabelledMode;
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
  }

  /** The MLP SSVAE of CS236 HW2 (300-300 ELU networks, M = 64 there) with a Bernoulli likelihood. */
  static override mlp(options: SsvaeMlpOptions): SSVAE {
    const fn = 'SSVAE.mlp';
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object', options);
    const { inputShape, numClasses: c, latentDim, hidden } = options;
    if (!Array.isArray(inputShape) || !inputShape.every((v) => Number.isInteger(v) && v > 0)) throw argError(fn, 'options.inputShape', 'the shape of one example, e.g. [28, 28]', inputShape);
    if (!Number.isInteger(c) || c < 2) throw argError(fn, 'options.numClasses', 'an integer >= 2', c);
    if (!Number.isInteger(latentDim) || latentDim < 1) throw argError(fn, 'options.latentDim', 'a positive integer', latentDim);
    const d = inputShape.reduce((a, b) => a * b, 1);
    const activation = options.activation ?? 'elu';
    const classifier = mlp({ inputDim: d, hidden: options.classifierHidden ?? hidden, outputDim: c, activation });
    const encoder = new GaussianEncoder(mlp({ inputDim: d + c, hidden, outputDim: 2 * latentDim, activation }));
    const decoder = new BernoulliDecoder(mlp({ inputDim: latentDim + c, hidden: [...hidden].reverse(), outputDim: d, activation }), inputShape);
    return new SSVAE({ prior: new GaussianPrior(latentDim), encoder, decoder, classifier, numClasses: c, alpha: options.alpha, labelledElbo: options.labelledElbo, genWeight: options.genWeight, unlabelled: options.unlabelled });
  }

  override get trainableVariables(): tf.Variable[] {
    return [...super.trainableVariables, ...variablesOf(this.classifier)];
  }

  /** q(y|x): a Categorical with batch [B]. */
  classify(x: tf.Tensor): Categorical {
    return new Categorical({ logits: run(this.classifier, x) }, { validateArgs: false });
  }

  /** The most probable class under q(y|x), int32 [B]. */
  predict(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.argMax(run(this.classifier, x), -1));
  }

  /** The bound L(x, y) on log p(x, y) and its parts per example, y as labels or one-hot rows. */
  labelledParts(x: tf.Tensor, y: Labels): { elbo: tf.Tensor; reconstruction: tf.Tensor; kl: tf.Tensor } {
    return this.withOneHot('SSVAE.labelledParts', y, x.shape[0]!, (c) =>
      tf.tidy(() => {
        const p = PLAIN_ELBO.parts(this, x, 0, c);
        p.loss.dispose();
        return { elbo: tf.sub(p.elbo, Math.log(this.numClasses)), reconstruction: p.reconstruction, kl: p.kl };
      }),
    );
  }

  /**
   * The bound U(x) on log p(x) and its parts per example: y enumerated (exact), or with
   * `unlabelledMode` relaxed, one Gumbel-softmax draw of y (a one-sample estimate; the KL of
   * q(y|x) to the uniform p(y) stays exact). `mode` overrides the model's setting.
   */
  unlabelledParts(x: tf.Tensor, mode: UnlabelledMode = this.unlabelledMode): UnlabelledParts {
    if (mode !== 'enumerate') return this.relaxedParts(x, mode.relaxed);
    return tf.tidy(() => {
      const b = x.shape[0]!;
      const k = this.numClasses;
      const logits = run(this.classifier, x); // [B, C]
      const logQ = tf.logSoftmax(logits); // log q(y|x)
      const q = tf.exp(logQ);
      // Every x with every class: rows c * B + i hold (x_i, class c).
      const xs = repeatBatch(x, k);
      const ys = tf.cast(tf.oneHot(tf.reshape(tf.tile(tf.expandDims(tf.range(0, k, 1, 'int32'), 1), [1, b]), [k * b]), k), 'float32');
      const p = PLAIN_ELBO.parts(this, xs, 0, ys);
      const perClass = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [k, b])); // [B, C]
      const reconstruction = tf.sum(tf.mul(q, perClass(p.reconstruction)), -1);
      const klZ = tf.sum(tf.mul(q, perClass(p.kl)), -1);
      const klY = tf.sum(tf.mul(q, tf.add(logQ, Math.log(k))), -1); // KL(q(y|x) || uniform)
      const kl = tf.add(klZ, klY);
      return { elbo: tf.neg(tf.add(reconstruction, kl)), reconstruction, kl, klY };
    });
  }

  private relaxedParts(x: tf.Tensor, temperature: number): UnlabelledParts {
    return tf.tidy(() => {
      const k = this.numClasses;
      const logits = run(this.classifier, x);
      const logQ = tf.logSoftmax(logits);
      const y = new RelaxedOneHotCategorical(temperature, { logits }, { validateArgs: false }).rsample(); // [B, C]
      const p = PLAIN_ELBO.parts(this, x, 0, y);
      const klY = tf.sum(tf.mul(tf.exp(logQ), tf.add(logQ, Math.log(k))), -1);
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
  override loss(x: tf.Tensor, step = 0, y?: Labels, labelled?: { x: tf.Tensor; y: Labels }): ObjectiveParts {
    void step;
    if (y !== undefined && labelled !== undefined) throw argError('SSVAE.loss', 'y', 'undefined when `labelled` is given (x is then the unlabelled batch)', 'labels');
    type Supervised = { loss: tf.Scalar; elbo: tf.Tensor; reconstruction: tf.Tensor; kl: tf.Tensor };
    const supervised = (xl: tf.Tensor, yl: Labels): Supervised =>
      this.withOneHot('SSVAE.loss', yl, xl.shape[0]!, (c) =>
        tf.tidy(() => {
          const ce = tf.neg(tf.sum(tf.mul(c, tf.logSoftmax(run(this.classifier, xl))), -1)); // -log q(y|x)
          const p = this.labelledParts(xl, c);
          const loss = tf.add(tf.mul(this.alpha, tf.mean(ce)), this.labelledElbo ? tf.mul(-this.genWeight, tf.mean(p.elbo)) : 0) as tf.Scalar;
          return { loss, elbo: p.elbo, reconstruction: p.reconstruction, kl: p.kl };
        }) as Supervised,
      );
    if (y !== undefined) {
      const s = supervised(x, y);
      return { ...s, beta: 1, klAnalytic: true };
    }
    const u = this.unlabelledParts(x);
    u.klY.dispose();
    let loss = tf.mul(-this.genWeight, tf.mean(u.elbo)) as tf.Scalar;
    if (labelled !== undefined) {
      const s = supervised(labelled.x, labelled.y);
      const total = tf.add(loss, s.loss) as tf.Scalar;
      tf.dispose([loss, s.loss, s.elbo, s.reconstruction, s.kl]);
      loss = total;
    }
    return { loss, elbo: u.elbo, reconstruction: u.reconstruction, kl: u.kl, beta: 1, klAnalytic: true };
  }

  /**
   * Validation figures on a labelled dataset: the bound on log p(x) with y summed out (ELBO,
   * reconstruction, KL means per example), its negative as the loss, and the accuracy of q(y|x).
   * `fit` uses this for `validationData`.
   */
  validationMetrics(data: ArrayDataset, options: { binarize?: Binarize; seed?: number; batchSize?: number } = {}): SsvaeMetrics {
    const fn = 'SSVAE.validationMetrics';
    if (!(data instanceof ArrayDataset) || !data.labels) throw argError(fn, 'data', 'a labelled ArrayDataset', data);
    let rec = 0;
    let kl = 0;
    let correct = 0;
    withSeed(options.seed ?? 0, () => {
      for (const b of data.batches({ batchSize: options.batchSize ?? 500, shuffle: false, binarize: options.binarize })) {
        const [r, k, pred] = tf.tidy(() => {
          const u = this.unlabelledParts(b.x, 'enumerate');
          return [tf.sum(u.reconstruction), tf.sum(u.kl), this.predict(b.x)];
        });
        rec += r!.dataSync()[0]!;
        kl += k!.dataSync()[0]!;
        const p = pred!.dataSync();
        b.indices.forEach((i, j) => {
          if (p[j] === data.labels![i]) correct++;
        });
        tf.dispose([r!, k!, pred!]);
      }
    });
    const n = data.length;
    return { loss: (rec + kl) / n, elbo: -(rec + kl) / n, reconstruction: rec / n, kl: kl / n, accuracy: correct / n };
  }

  override dispose(): void {
    super.dispose();
    this.classifier.dispose();
  }
}

registerModelClass({
  name: 'SSVAE',
  matches: (model) => model instanceof SSVAE,
  nets: (model) => ({ classifier: (model as SSVAE).classifier }),
  config: (model) => ({ alpha: (model as SSVAE).alpha, labelledElbo: (model as SSVAE).labelledElbo, genWeight: (model as SSVAE).genWeight, unlabelled: (model as SSVAE).unlabelledMode }),
  build: (parts, nets, config) => {
    if (!nets['classifier'] || !Number.isInteger(parts.numClasses)) throw new DlvmError('loadModel: the saved SSVAE lacks its classifier network or its number of classes.');
    return new SSVAE({ ...parts, classifier: nets['classifier'], numClasses: parts.numClasses!, alpha: config['alpha'] as number, labelledElbo: config['labelledElbo'] as boolean, genWeight: config['genWeight'] as number, unlabelled: config['unlabelled'] as UnlabelledMode | undefined });
  },
});
