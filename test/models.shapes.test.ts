/**
 * Input shapes (issue 14, "Messages"): every public entry that takes data checks x (and y)
 * against the model's input shape before computing, from shapes alone, and refuses a wrong one
 * with an error naming the function, the argument, the shape expected and the shape found,
 * instead of a raw tfjs error such as `Size(3645) must match the product of shape 5,784`. A
 * refused call leaves no tensor behind; the shapes that worked before (`[B, ...itemShape]`,
 * flat `[B, D]`, a trailing unit channel axis) still work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeUnits,
  checkArgs,
  ArrayDataset,
  classificationAccuracy,
  bayesAccuracy,
  validationMetrics,
  ConditionalVAE,
  evaluateElbo,
  GaussianMixture,
  HierarchicalVAE,
  iwaeLogLikelihood,
  klPerDimension,
  manualSeed,
  PPCA,
  reconstructionMse,
  SSVAE,
  VAE,
} from '../src/index.js';
import { checkExamples } from '../src/errors.js';
import { useBackend } from './helpers/backends.js';

/** One refused call: what it is, and the parts its message must name. */
interface Case {
  /** The function the message names, e.g. 'VAE.elbo'. */
  fn: string;
  /** The argument it names. */
  arg: string;
  /** What the message says was expected (after "must be "). */
  expected: string;
  /** What it says was found (after "but got "). */
  found: string;
  /** The call (a promise for the async entries). */
  call: () => unknown;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The message of argError(fn, arg, expected, found), matched whole. */
const messageOf = (c: Pick<Case, 'fn' | 'arg' | 'expected' | 'found'>) =>
  new RegExp(`^${escape(c.fn)}: argument '${escape(c.arg)}' must be ${escape(c.expected)}, but got ${escape(c.found)}\\.$`);

let vae: VAE;
let conv: VAE;
let cvae: ConditionalVAE;
let ssvae: SSVAE;
let m1: VAE;
let m12: SSVAE;
let hvae: HierarchicalVAE;
let ppca: PPCA;
let gmm: GaussianMixture;
let t: Record<string, tf.Tensor>;
let items33: ArrayDataset;
let badLabels: ArrayDataset;

beforeAll(async () => {
  await useBackend('cpu');
  manualSeed(3);
  vae = VAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [3] });
  conv = VAE.conv({ inputShape: [8, 8], latentDim: 2, channels: [2, 2] });
  cvae = ConditionalVAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [3], numClasses: 3 });
  ssvae = SSVAE.mlp({ inputShape: [4, 4], numClasses: 3, latentDim: 2, hidden: [3] });
  m1 = VAE.mlp({ inputShape: [4, 4], latentDim: 3, hidden: [3] });
  m12 = SSVAE.mlp({ inputShape: [4, 4], numClasses: 3, latentDim: 2, hidden: [3], m1 });
  hvae = HierarchicalVAE.mlp({ inputShape: [4, 4], latentDims: [2, 2], hidden: [3] });
  ppca = new PPCA({ mean: new Array(16).fill(0), W: Array.from({ length: 16 }, (_, i) => [i % 3 === 0 ? 1 : 0]), sigma2: 0.5, itemShape: [4, 4] });
  gmm = new GaussianMixture({
    weights: [1],
    means: [[0, 0]],
    covariances: [
      [
        [1, 0],
        [0, 1],
      ],
    ],
  });
  manualSeed(null);
  t = {
    x33: tf.zeros([2, 3, 3]), // a 3x3 item to a 4x4 model
    x28: tf.zeros([2, 2, 8]), // 16 values per example, but not a 4x4 layout
    x1d: tf.zeros([16]), // no batch axis
    x77: tf.zeros([2, 7, 7]), // a 7x7 item to an 8x8 conv model
    x64: tf.zeros([64]),
    z3: tf.zeros([2, 3]), // z of 3 values to a model with M = 2
    y5: tf.oneHot(tf.tensor1d([0, 1], 'int32'), 5), // one-hot rows of 5 classes to a 3-class model
    y3: tf.tensor1d([0, 1, 2], 'int32'), // 3 labels for a batch of 2
    pts3: tf.zeros([2, 3]), // 3 values per point to a 2-D mixture
    flat: tf.zeros([2, 16]),
    good: tf.zeros([2, 4, 4]),
  };
  items33 = new ArrayDataset({ name: 'items33', itemShape: [3, 3], values: new Float32Array(4 * 9), labels: Int32Array.from([0, 1, 2, 0]) });
  badLabels = new ArrayDataset({ name: 'labels', itemShape: [4, 4], values: new Float32Array(2 * 16), labels: Int32Array.from([0, 5]) });
});

afterAll(() => {
  for (const m of [vae, conv, cvae, ssvae, m12, m1, hvae, ppca]) m.dispose();
  tf.dispose(Object.values(t));
});

const X = '[B, 4, 4] or [B, 16]';
const cases: Array<[string, () => Case]> = [
  // VAE (BetaVAE, GMVAE and IWAE share these methods).
  [
    'VAE.elbo: x with the wrong item shape',
    () => ({ fn: 'VAE.elbo', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => vae.elbo(t.x33!) }),
  ],
  [
    'VAE.loss: a 1-D x (no batch axis)',
    () => ({ fn: 'VAE.loss', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [16]', call: () => vae.loss(t.x1d!) }),
  ],
  [
    'VAE.elboParts: the right size in the wrong layout',
    () => ({ fn: 'VAE.elboParts', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 2, 8]', call: () => vae.elboParts(t.x28!) }),
  ],
  [
    'VAE.encode: x with the wrong item shape',
    () => ({ fn: 'VAE.encode', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => vae.encode(t.x33!) }),
  ],
  [
    'VAE.reconstruct: x with the wrong item shape',
    () => ({ fn: 'VAE.reconstruct', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => vae.reconstruct(t.x33!) }),
  ],
  [
    'VAE.decode: z of the wrong size',
    () => ({
      fn: 'VAE.decode',
      arg: 'z',
      expected: 'a tensor [B, 2] (or any shape with 2 values per example)',
      found: 'Tensor of shape [2, 3]',
      call: () => vae.decode(t.z3!),
    }),
  ],
  [
    'VAE.elbo: a non-tensor x',
    () => ({ fn: 'VAE.elbo', arg: 'x', expected: `a tensor ${X}`, found: '[1, 2] (array of length 2)', call: () => vae.elbo([1, 2] as never) }),
  ],
  // The convolutional VAE (it also takes flat x, as before).
  [
    'VAE.conv elbo: a 7x7 item to an 8x8 model',
    () => ({ fn: 'VAE.elbo', arg: 'x', expected: 'a tensor [B, 8, 8] or [B, 64]', found: 'Tensor of shape [2, 7, 7]', call: () => conv.elbo(t.x77!) }),
  ],
  [
    'VAE.conv reconstruct: a 1-D x',
    () => ({ fn: 'VAE.reconstruct', arg: 'x', expected: 'a tensor [B, 8, 8] or [B, 64]', found: 'Tensor of shape [64]', call: () => conv.reconstruct(t.x64!) }),
  ],
  // ConditionalVAE: x first (the batch size of y comes from x), then y.
  [
    'ConditionalVAE.elbo: x with the wrong item shape',
    () => ({ fn: 'ConditionalVAE.elbo', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => cvae.elbo(t.x33!, [0, 1]) }),
  ],
  [
    'ConditionalVAE.loss: a 1-D x (was: a message about y)',
    () => ({ fn: 'ConditionalVAE.loss', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [16]', call: () => cvae.loss(t.x1d!, { y: [0, 1] }) }),
  ],
  [
    'ConditionalVAE.elbo: y of the wrong length',
    () => ({ fn: 'ConditionalVAE.elbo', arg: 'y', expected: '2 class indices in 0..2', found: '[0] (array of length 1)', call: () => cvae.elbo(t.flat!, [0]) }),
  ],
  [
    'ConditionalVAE.encode: one-hot y of the wrong number of classes',
    () => ({
      fn: 'ConditionalVAE.encode',
      arg: 'y',
      expected: 'one-hot rows [2, 3]',
      found: 'Tensor of shape [2, 5]',
      call: () => cvae.encode(t.good!, t.y5!),
    }),
  ],
  [
    'ConditionalVAE.reconstruct: label tensor of the wrong length',
    () => ({
      fn: 'ConditionalVAE.reconstruct',
      arg: 'y',
      expected: 'labels [2] or one-hot rows [2, 3]',
      found: 'Tensor of shape [3]',
      call: () => cvae.reconstruct(t.good!, t.y3!),
    }),
  ],
  [
    'ConditionalVAE.sample: y of the wrong length',
    () => ({
      fn: 'ConditionalVAE.sample',
      arg: 'y',
      expected: '2 class indices in 0..2',
      found: '[1] (array of length 1)',
      call: () => cvae.sample(2, { y: [1] }),
    }),
  ],
  [
    'ConditionalVAE.decode: z of the wrong size',
    () => ({
      fn: 'ConditionalVAE.decode',
      arg: 'z',
      expected: 'a tensor [B, 2] (or any shape with 2 values per example)',
      found: 'Tensor of shape [2, 3]',
      call: () => cvae.decode(t.z3!, [0, 1]),
    }),
  ],
  // SSVAE (M2), and M1+M2 (its input is M1's input, not the features z1).
  [
    'SSVAE.classify: x with the wrong item shape',
    () => ({ fn: 'SSVAE.classify', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => ssvae.classify(t.x33!) }),
  ],
  [
    'SSVAE.predict: a 1-D x',
    () => ({ fn: 'SSVAE.predict', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [16]', call: () => ssvae.predict(t.x1d!) }),
  ],
  [
    'SSVAE.loss: unlabelled x with the wrong item shape',
    () => ({ fn: 'SSVAE.loss', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => ssvae.loss(t.x33!) }),
  ],
  [
    'SSVAE.loss: labelled x with the wrong item shape (leaked the unlabelled parts before)',
    () => ({
      fn: 'SSVAE.loss',
      arg: 'labelled.x',
      expected: `a tensor ${X}`,
      found: 'Tensor of shape [2, 3, 3]',
      call: () => ssvae.loss(t.flat!, { labelled: { x: t.x33!, y: [0, 1] } }),
    }),
  ],
  [
    'SSVAE.loss: labelled y of the wrong length (leaked the unlabelled parts before)',
    () => ({
      fn: 'SSVAE.loss',
      arg: 'labelled.y',
      expected: '2 class indices in 0..2',
      found: '[1] (array of length 1)',
      call: () => ssvae.loss(t.flat!, { labelled: { x: t.flat!, y: [1] } }),
    }),
  ],
  [
    'SSVAE.labelledParts: a class the model lacks',
    () => ({
      fn: 'SSVAE.labelledParts',
      arg: 'y',
      expected: '2 class indices in 0..2',
      found: '[0, 3] (array of length 2)',
      call: () => ssvae.labelledParts(t.flat!, [0, 3]),
    }),
  ],
  [
    'SSVAE.unlabelledParts: x with the wrong item shape',
    () => ({ fn: 'SSVAE.unlabelledParts', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => ssvae.unlabelledParts(t.x33!) }),
  ],
  [
    'SSVAE.bayesClassify: x with the wrong item shape',
    () => ({
      fn: 'SSVAE.bayesClassify',
      arg: 'x',
      expected: `a tensor ${X}`,
      found: 'Tensor of shape [2, 3, 3]',
      call: () => ssvae.bayesClassify(t.x33!, { samples: 2 }),
    }),
  ],
  [
    'SSVAE.elbo: x with the wrong item shape',
    () => ({ fn: 'SSVAE.elbo', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => ssvae.elbo(t.x33!, [0, 1]) }),
  ],
  [
    'M1+M2 SSVAE.classify: the features z1 instead of x',
    () => ({
      fn: 'SSVAE.classify',
      arg: 'x',
      expected: 'a tensor [B, 16] (or any shape with 16 values per example)',
      found: 'Tensor of shape [2, 3]',
      call: () => m12.classify(t.z3!),
    }),
  ],
  [
    'M1+M2 SSVAE.loss: x with the wrong item shape',
    () => ({
      fn: 'SSVAE.loss',
      arg: 'x',
      expected: 'a tensor [B, 16] (or any shape with 16 values per example)',
      found: 'Tensor of shape [2, 3, 3]',
      call: () => m12.loss(t.x33!),
    }),
  ],
  // HierarchicalVAE.
  [
    'HierarchicalVAE.elbo: x with the wrong item shape',
    () => ({ fn: 'HierarchicalVAE.elbo', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => hvae.elbo(t.x33!) }),
  ],
  [
    'HierarchicalVAE.loss: a 1-D x',
    () => ({ fn: 'HierarchicalVAE.loss', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [16]', call: () => hvae.loss(t.x1d!) }),
  ],
  [
    'HierarchicalVAE.reconstruct: x with the wrong item shape',
    () => ({
      fn: 'HierarchicalVAE.reconstruct',
      arg: 'x',
      expected: `a tensor ${X}`,
      found: 'Tensor of shape [2, 3, 3]',
      call: () => hvae.reconstruct(t.x33!),
    }),
  ],
  // Baselines.
  [
    'PPCA.logProb: x with the wrong item shape',
    () => ({ fn: 'PPCA.logProb', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => ppca.logProb(t.x33!) }),
  ],
  [
    'PPCA.reconstruct: x with the wrong item shape (named the encoder before)',
    () => ({ fn: 'PPCA.reconstruct', arg: 'x', expected: `a tensor ${X}`, found: 'Tensor of shape [2, 3, 3]', call: () => ppca.reconstruct(t.x33!) }),
  ],
  [
    'PPCA.logProbValues: rows of the wrong length',
    () => ({
      fn: 'PPCA.logProbValues',
      arg: 'data',
      expected: 'rows of 16 values',
      found: 'rows of 15 values',
      call: () => ppca.logProbValues([new Array(15).fill(0)]),
    }),
  ],
  [
    'PPCA.logLikelihood: a data set of the wrong item shape',
    () => ({
      fn: 'PPCA.logLikelihood',
      arg: 'data',
      expected: 'a data set of examples [4, 4] or [16]',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => ppca.logLikelihood(items33),
    }),
  ],
  [
    'PPCA.fit: a 1-D tensor',
    () => ({
      fn: 'PPCA.fit',
      arg: 'data',
      expected: 'a tensor [N, ...itemShape] with N >= 1',
      found: 'Tensor of shape [16]',
      call: () => PPCA.fit(t.x1d!, { latentDim: 1 }),
    }),
  ],
  [
    'GaussianMixture.logProb: points of the wrong dimension',
    () => ({
      fn: 'GaussianMixture.logProb',
      arg: 'data',
      expected: 'a tensor [N, 2] (or any shape with 2 values per example)',
      found: 'Tensor of shape [2, 3]',
      call: () => gmm.logProb(t.pts3!),
    }),
  ],
  [
    'GaussianMixture.fit: a 1-D tensor',
    () => ({
      fn: 'GaussianMixture.fit',
      arg: 'data',
      expected: 'a tensor [N, ...itemShape] with N >= 1',
      found: 'Tensor of shape [16]',
      call: () => GaussianMixture.fit(t.x1d!, { components: 1 }),
    }),
  ],
  // Evaluation: the data are checked against the model before the first batch.
  [
    'evaluateElbo: a data set of the wrong item shape',
    () => ({
      fn: 'evaluateElbo',
      arg: 'data',
      expected: 'a data set of examples [4, 4] or [16]',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => evaluateElbo(vae, items33),
    }),
  ],
  [
    'evaluateElbo: a 1-D tensor',
    () => ({
      fn: 'evaluateElbo',
      arg: 'data',
      expected: 'a tensor [N, 4, 4] or [N, 16]',
      found: 'Tensor of shape [16]',
      call: () => evaluateElbo(vae, t.x1d!),
    }),
  ],
  [
    "evaluateElbo: labels beyond a conditional model's classes (silently zero rows before)",
    () => ({
      fn: 'evaluateElbo',
      arg: 'data',
      expected: "labelled with classes in 0..2 (the model's 3 classes)",
      found: 'the label 5 (example 1)',
      call: () => evaluateElbo(cvae, badLabels),
    }),
  ],
  [
    'iwaeLogLikelihood: a data set of the wrong item shape',
    () => ({
      fn: 'iwaeLogLikelihood',
      arg: 'data',
      expected: 'a data set of examples [4, 4] or [16]',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => iwaeLogLikelihood(hvae, items33, { k: 2 }),
    }),
  ],
  [
    'reconstructionMse: a tensor of the wrong item shape',
    () => ({
      fn: 'reconstructionMse',
      arg: 'data',
      expected: 'a tensor [N, 4, 4] or [N, 16]',
      found: 'Tensor of shape [2, 3, 3]',
      call: () => reconstructionMse(ppca, t.x33!),
    }),
  ],
  [
    'activeUnits: a data set of the wrong item shape',
    () => ({
      fn: 'activeUnits',
      arg: 'data',
      expected: 'a data set of examples [8, 8] or [64]',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => activeUnits(conv, items33),
    }),
  ],
  [
    "klPerDimension: a data set of the wrong item shape (M1+M2: M1's input)",
    () => ({
      fn: 'klPerDimension',
      arg: 'data',
      expected: 'a data set of examples [16] (or any shape with 16 values per example)',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => klPerDimension(m12, items33),
    }),
  ],
  [
    'classificationAccuracy: a data set of the wrong item shape (named by the classifier)',
    () => ({
      fn: 'SSVAE.classify',
      arg: 'x',
      expected: `a tensor ${X}`,
      found: 'Tensor of shape [4, 3, 3]',
      call: () => classificationAccuracy((x) => ssvae.classify(x), items33),
    }),
  ],
  [
    "classificationAccuracy: labels beyond the classifier's classes (silent misses before)",
    () => ({
      fn: 'classificationAccuracy',
      arg: 'data',
      expected: 'labelled with classes in 0..2 (classify returns 3 class scores)',
      found: 'the label 5 (example 1)',
      call: () => classificationAccuracy((x) => ssvae.classify(x), badLabels),
    }),
  ],
  [
    'bayesAccuracy: a data set of the wrong item shape',
    () => ({
      fn: 'bayesAccuracy',
      arg: 'data',
      expected: 'a data set of examples [4, 4] or [16]',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => bayesAccuracy(ssvae, items33, { samples: 2 }),
    }),
  ],
  [
    'validationMetrics: a data set of the wrong item shape',
    () => ({
      fn: 'validationMetrics',
      arg: 'data',
      expected: 'a data set of examples [4, 4] or [16]',
      found: 'ArrayDataset of examples [3, 3]',
      call: () => validationMetrics(ssvae, items33),
    }),
  ],
  [
    "validationMetrics: labels beyond the model's classes (silent misses before)",
    () => ({
      fn: 'validationMetrics',
      arg: 'data',
      expected: "labelled with classes in 0..2 (the model's 3 classes)",
      found: 'the label 5 (example 1)',
      call: () => validationMetrics(ssvae, badLabels),
    }),
  ],
];

describe('wrong input shapes are refused with a message naming the function, the expected and the found shape', () => {
  it.each(cases)('%s', async (_, make) => {
    const c = make();
    const before = tf.memory().numTensors;
    let error: unknown = null;
    try {
      await c.call();
    } catch (e) {
      error = e;
    }
    expect(error, 'the call must throw').toBeInstanceOf(Error);
    expect((error as Error).name).toBe('DlvmError');
    expect((error as Error).message).toMatch(messageOf(c));
    expect(tf.memory().numTensors, 'tensors left by the refused call').toBe(before);
  });

  it('classificationAccuracy refuses scores for another number of examples than the batch', async () => {
    const before = tf.memory().numTensors;
    await expect(classificationAccuracy((x) => tf.zeros([x.shape[0]! - 1, 3]), items33)).rejects.toThrow(
      /^classificationAccuracy: classify must return \[B, C\] scores or a Categorical, for a batch of B = 4 examples, but returned Tensor of shape \[3, 3\]\.$/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('loss(x, { step, y, labelled })', () => {
  it('the positional form of before dlvm 0.2 is refused with a message that shows the new one; a bad step is named', () => {
    const before = tf.memory().numTensors;
    expect(() => vae.loss(t.good!, 3 as never)).toThrow(
      /^VAE\.loss: argument 'options' must be an object \{ step, y, labelled \} \(loss\(x, step, y, labelled\) became loss\(x, \{ step, y, labelled \}\) in dlvm 0\.2\), but got 3\.$/,
    );
    expect(() => cvae.loss(t.good!, 0 as never)).toThrow(/^ConditionalVAE\.loss: argument 'options' must be an object/);
    expect(() => ssvae.loss(t.good!, { step: -1 })).toThrow(/^SSVAE\.loss: argument 'options\.step' must be a nonnegative integer, but got -1\.$/);
    expect(() => hvae.loss(t.good!, 'x' as never)).toThrow(
      /^HierarchicalVAE\.loss: argument 'options' must be an object \{ step, y, labelled \}, but got "x"\.$/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the shapes that worked before still work', () => {
  it('x as [B, ...itemShape], flat [B, D] or with a trailing unit axis; M1+M2 takes M1 input in either form', async () => {
    const forms = (h: number) => [tf.zeros([2, h, h]), tf.zeros([2, h * h]), tf.zeros([2, h, h, 1])];
    const y = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3);
    const before = tf.memory().numTensors;
    for (const x of forms(4)) {
      for (const out of [vae.elbo(x), vae.reconstruct(x), cvae.elbo(x, [0, 2]), ssvae.predict(x), m12.predict(x), hvae.elbo(x), ppca.logProb(x)]) {
        expect(out.shape[0]).toBe(2);
        out.dispose();
      }
      const parts = ssvae.loss(x, { labelled: { x, y } });
      tf.dispose([parts.loss, parts.elbo, parts.reconstruction, parts.kl, x]);
    }
    for (const x of forms(8)) tf.dispose([conv.elbo(x), conv.reconstruct(x), x]);
    // A flat model takes any layout of its D values (VAE.mlp({ inputShape: [16] }) fed 4x4 images).
    const flat = VAE.mlp({ inputShape: [16], latentDim: 2, hidden: [3] });
    const images = tf.zeros([2, 4, 4]);
    flat.elbo(images).dispose();
    flat.dispose();
    images.dispose();
    // The likelihoods' support checks wait on the device for the next awaited read.
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    y.dispose();
    const data = new ArrayDataset({ name: 'ok', itemShape: [4, 4], values: new Float32Array(2 * 16), labels: Int32Array.from([0, 2]) });
    const flatX = data.tensor(undefined, { flatten: true });
    expect((await evaluateElbo(cvae, data)).n).toBe(2);
    expect(Number.isFinite(await reconstructionMse(vae, flatX))).toBe(true);
    expect((await validationMetrics(ssvae, data)).accuracy).toBeGreaterThanOrEqual(0);
    flatX.dispose();
  });

  it('checkExamples, the one shape check, reads shapes only and takes the documented forms', () => {
    const ok = (found: number[], want: number[] | null) => () => {
      const x = tf.zeros(found);
      try {
        checkExamples('f', 'x', x, want);
      } finally {
        x.dispose();
      }
    };
    for (const [found, want] of [
      [
        [5, 28, 28],
        [28, 28],
      ],
      [
        [5, 784],
        [28, 28],
      ],
      [
        [5, 28, 28, 1],
        [28, 28],
      ],
      [
        [5, 28, 28],
        [28, 28, 1],
      ],
      [
        [5, 784],
        [28, 28, 1],
      ],
      [[5, 28, 28], [784]],
      [[5, 3], null],
    ] as Array<[number[], number[] | null]>) {
      expect(ok(found, want)).not.toThrow();
    }
    expect(ok([5, 784], [28, 28, 3])).toThrow(/^f: argument 'x' must be a tensor \[B, 28, 28, 3\] or \[B, 2352\], but got Tensor of shape \[5, 784\]\.$/);
    expect(ok([5, 28, 28], [28, 28, 1])).not.toThrow();
    expect(ok([5, 27, 27], [28, 28, 1])).toThrow(/must be a tensor \[B, 28, 28, 1\], \[B, 28, 28\] or \[B, 784\], but got Tensor of shape \[5, 27, 27\]/);
    expect(ok([5, 14, 56], [28, 28])).toThrow(/must be a tensor \[B, 28, 28\] or \[B, 784\], but got Tensor of shape \[5, 14, 56\]/);
    expect(ok([5], null)).toThrow(/^f: argument 'x' must be a tensor \[B, \.\.\.\] of examples, but got Tensor of shape \[5\]\.$/);
    const set = new ArrayDataset({ name: 's', itemShape: [3], values: new Float32Array(3) });
    expect(() => checkExamples('g', 'data', set, [4], 'N')).toThrow(
      /^g: argument 'data' must be a data set of examples \[4\] \(or any shape with 4 values per example\), but got ArrayDataset of examples \[3\]\.$/,
    );
    expect(() => checkExamples('g', 'data', set, [3], 'N')).not.toThrow();
  });
});
