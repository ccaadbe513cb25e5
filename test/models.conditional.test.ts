/**
 * Conditional models: the conditional encoder q(z|x, y) and decoder p(x|z, y), ConditionalVAE
 * (ELBO by hand, training with labels, evaluation, pictures, save -> load, bad input).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkArgs,
  ArrayDataset,
  BernoulliDecoder,
  ConditionalVAE,
  decodePng,
  evaluateElbo,
  fit,
  GaussianEncoder,
  GaussianPrior,
  IWAEBound,
  iwaeLogLikelihood,
  loadMnist,
  loadModel,
  manualSeed,
  mlp,
  reconstructionMse,
  sampleGrid,
  styleContentGrid,
  VAE,
  VampPrior,
} from '../src/index.js';
import { nextSeed } from '../src/random.js';
import { useBackend } from './helpers/backends.js';

const softplus = (v: number) => (v > 30 ? v : Math.log1p(Math.exp(v)));

beforeAll(async () => {
  await useBackend('cpu');
});
afterEach(() => manualSeed(null));

describe('conditional encoder and decoder', () => {
  it('ConditionalVAE.elboParts equals the ELBO of log p(x|y) computed by hand (nets see [x, y] and [z, y])', async () => {
    // Linear nets, C = 2: encoder [x (3), y (2)] -> [mu, raw]; decoder [z (1), y (2)] -> 3 logits.
    const encNet = mlp({ inputDim: 5, hidden: [], outputDim: 2 });
    const decNet = mlp({ inputDim: 3, hidden: [], outputDim: 3 });
    const We = [
      [0.5, -0.3],
      [0.2, 0.1],
      [-0.4, 0.6],
      [0.7, 0.2],
      [-0.9, -0.4],
    ];
    const be = [0.1, -0.2];
    const Wd = [
      [1.5, -0.7, 0.3],
      [0.4, 0.8, -1.1],
      [-0.6, 0.5, 0.9],
    ];
    const bd = [0.2, 0.0, -0.5];
    encNet.setWeights([tf.tensor2d(We), tf.tensor1d(be)]);
    decNet.setWeights([tf.tensor2d(Wd), tf.tensor1d(bd)]);
    const cvae = new ConditionalVAE({
      prior: new GaussianPrior(1),
      encoder: new GaussianEncoder(encNet),
      decoder: new BernoulliDecoder(decNet, [3]),
      numClasses: 2,
    });
    const X = [
      [1, 0, 1],
      [0, 1, 1],
    ];
    const Y = [1, 0];
    const x = tf.tensor2d(X);
    await checkArgs();
    const before = tf.memory().numTensors;
    manualSeed(42);
    const parts = cvae.elboParts(x, Y);
    await checkArgs();
    expect(tf.memory().numTensors - before).toBe(4); // loss, elbo, reconstruction, kl
    manualSeed(42);
    const eps = tf.randomNormal([2, 1], 0, 1, 'float32', nextSeed()).dataSync();
    X.forEach((row, b) => {
      const oneHot = [0, 1].map((c) => (c === Y[b] ? 1 : 0));
      const input = [...row, ...oneHot];
      const out = [0, 1].map((j) => input.reduce((s, v, i) => s + v * We[i]![j]!, be[j]!));
      const mu = out[0]!;
      const sigma = softplus(out[1]!) + 1e-5;
      const z = mu + sigma * eps[b]!;
      const decIn = [z, ...oneHot];
      const logits = [0, 1, 2].map((j) => decIn.reduce((s, v, i) => s + v * Wd[i]![j]!, bd[j]!));
      const rec = -row.reduce((s, v, i) => s + v * logits[i]! - softplus(logits[i]!), 0);
      const kl = 0.5 * (sigma * sigma + mu * mu - 1) - Math.log(sigma);
      expect(parts.reconstruction.dataSync()[b]).toBeCloseTo(rec, 5);
      expect(parts.kl.dataSync()[b]).toBeCloseTo(kl, 5);
      expect(parts.elbo.dataSync()[b]).toBeCloseTo(-(rec + kl), 5);
    });
    // Labels as an int32 tensor and as one-hot rows give the same value.
    for (const y of [
      tf.tensor1d(Y, 'int32'),
      tf.tensor2d([
        [0, 1],
        [1, 0],
      ]),
    ]) {
      manualSeed(42);
      const again = cvae.elboParts(x, y);
      expect(Array.from(again.elbo.dataSync())).toEqual(Array.from(parts.elbo.dataSync()));
      tf.dispose([again.loss, again.elbo, again.reconstruction, again.kl, y]);
    }
    tf.dispose([parts.loss, parts.elbo, parts.reconstruction, parts.kl, x]);
    cvae.dispose();
  });

  it('a two-input network gets [x, y]; a one-input network gets x and y concatenated; the conv CVAE saves and loads', async () => {
    manualSeed(3);
    const cvae = ConditionalVAE.conv({ inputShape: [28, 28], latentDim: 3, numClasses: 10, channels: [4, 8] });
    const enc = (cvae.encoder as GaussianEncoder).net;
    expect(enc.inputs.map((i) => i.shape)).toEqual([
      [null, 28, 28, 1],
      [null, 10],
    ]);
    const x = tf.randomUniform([2, 28, 28]);
    const q = cvae.encode(x, [3, 7]);
    expect(q.batchShape).toEqual([2]);
    expect(q.eventShape).toEqual([3]);
    const p = cvae.decode(tf.zeros([2, 3]), 4);
    expect(p.eventShape).toEqual([28, 28]);
    // The class changes the decoder's output at the same z.
    const a = cvae.sample(1, { y: 0, mean: true });
    manualSeed(3);
    const b = cvae.sample(1, { y: 1, mean: true });
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-conv-cvae-'));
    await cvae.save(dir);
    const loaded = (await loadModel(dir)) as ConditionalVAE;
    const rec = (m: ConditionalVAE) => Array.from(m.reconstruct(x, [3, 7]).dataSync());
    expect(rec(loaded)).toEqual(rec(cvae));
    tf.dispose([x, a, b]);
    [cvae, loaded].forEach((m) => m.dispose());
  });
});

describe('ConditionalVAE', () => {
  it('trains with fit on labelled MNIST; the true labels explain x better than wrong ones; evaluation, pictures, save -> load', async () => {
    const data = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 1000 }, (_, i) => i));
    const valid = data.subset(Array.from({ length: 200 }, (_, i) => i));
    manualSeed(5);
    const cvae = ConditionalVAE.mlp({ inputShape: [28, 28], latentDim: 4, hidden: [128], numClasses: 10 });
    const opts = { binarize: 'threshold' as const, seed: 0 };
    const before = (await evaluateElbo(cvae, valid, opts)).elbo;
    const counts: number[] = [];
    const result = await fit(cvae, data, {
      epochs: 8,
      batchSize: 50,
      learningRate: 3e-3,
      binarize: 'threshold',
      seed: 0,
      progress: false,
      log: () => undefined,
      callbacks: { onStepEnd: (step) => step > 3 && counts.push(tf.memory().numTensors) },
    });
    expect(result.stopReason).toBe('completed');
    expect(new Set(counts).size).toBe(1);
    const after = await evaluateElbo(cvae, valid, opts);
    expect(after.elbo - before).toBeGreaterThan(250);
    // log p(x|y) bound with the true labels vs the labels shifted by one class.
    const wrong = new ArrayDataset({
      name: 'wrong',
      values: valid.values(),
      itemShape: [28, 28],
      labels: valid.labels!.map((c) => (c + 1) % 10),
      numClasses: 10,
    });
    const withWrong = (await evaluateElbo(cvae, wrong, opts)).elbo;
    console.log(`conditional ELBO ${before.toFixed(1)} -> ${after.elbo.toFixed(1)}; with wrong labels ${withWrong.toFixed(1)}`);
    expect(after.elbo - withWrong).toBeGreaterThan(5);
    // IWAE-k of log p(x|y) >= its ELBO; MSE finite.
    expect(await iwaeLogLikelihood(cvae, valid, { k: 20, ...opts })).toBeGreaterThan(after.elbo);
    expect(await reconstructionMse(cvae, valid, opts)).toBeLessThan(0.1);
    // Unlabelled data cannot be evaluated or trained on.
    const unlabelled = valid.withoutLabels();
    await expect(evaluateElbo(cvae, unlabelled, opts)).rejects.toThrow(
      /evaluateElbo: the model is conditional \(p\(x\|z, y\) with 10 classes\) and needs labelled data/,
    );
    await expect(fit(cvae, unlabelled, { epochs: 1 })).rejects.toThrow(
      /fit: argument 'data' must be a labelled dataset \(the model is conditional, with 10 classes\)/,
    );
    // Style/content grid: rows share z, columns are the classes.
    const png = await decodePng(await styleContentGrid(cvae, { rows: 3, seed: 1, pad: 0 }));
    expect([png.width, png.height]).toEqual([10 * 28, 3 * 28]);
    const grid = await decodePng(await sampleGrid(cvae, { n: 20, seed: 1, pad: 0 }));
    expect([grid.width, grid.height]).toEqual([10 * 28, 2 * 28]);
    await expect(styleContentGrid(VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] }), {})).rejects.toThrow(
      /styleContentGrid: argument 'model' must be a conditional model/,
    );
    // save -> load: same class, same outputs.
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-cvae-'));
    await cvae.save(dir);
    const loaded = await loadModel(dir);
    expect(loaded).toBeInstanceOf(ConditionalVAE);
    expect((loaded as ConditionalVAE).numClasses).toBe(10);
    const x = valid.tensor([0, 1, 2], { binarize: 'threshold' });
    const out = (m: ConditionalVAE) => {
      const r = m.reconstruct(x, [7, 2, 1]);
      const v = Array.from(r.dataSync());
      r.dispose();
      return v;
    };
    expect(out(loaded as ConditionalVAE)).toEqual(out(cvae));
    x.dispose();
    [cvae, loaded].forEach((m) => m.dispose());
  });

  it('trains on the IWAE bound with the condition repeated for each of the k samples', () => {
    manualSeed(8);
    const cvae = ConditionalVAE.mlp({ inputShape: [6], latentDim: 2, hidden: [8], numClasses: 3, objective: new IWAEBound(4) });
    const x = tf.tensor2d([
      [1, 0, 1, 0, 1, 0],
      [0, 1, 0, 1, 0, 1],
    ]);
    const parts = cvae.loss(x, { y: [0, 2] });
    expect(parts.elbo.shape).toEqual([2]);
    expect(Number.isFinite(parts.loss.dataSync()[0]!)).toBe(true);
    tf.dispose([parts.loss, parts.elbo, parts.reconstruction, parts.kl, x]);
    cvae.dispose();
  });

  it('rejects bad input, naming the function and the argument', () => {
    const cvae = ConditionalVAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], numClasses: 3 });
    const x = tf.ones([2, 4]);
    expect(() => cvae.elboParts(x)).toThrow(
      /ConditionalVAE\.elboParts: argument 'y' must be the labels of the batch \(2 class indices in 0\.\.2, or one-hot rows\)/,
    );
    expect(() => cvae.loss(x, { y: [0, 3] })).toThrow(/ConditionalVAE\.loss: argument 'y' must be 2 class indices in 0\.\.2, but got \[0, 3\]/);
    expect(() => cvae.sample(2, { y: [1] })).toThrow(/ConditionalVAE\.sample: argument 'y' must be 2 class indices in 0\.\.2/);
    expect(() => cvae.encode(x, tf.zeros([2, 5]))).toThrow(/ConditionalVAE\.encode: argument 'y' must be one-hot rows \[2, 3\]/);
    expect(() => ConditionalVAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], numClasses: 1 })).toThrow(
      /ConditionalVAE\.mlp: argument 'options\.numClasses' must be an integer >= 2, but got 1/,
    );
    expect(() => ConditionalVAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], numClasses: 3, prior: { vamp: 5 } })).toThrow(
      /ConditionalVAE\.mlp: argument 'options\.prior'/,
    );
    const enc = new GaussianEncoder(mlp({ inputDim: 4, hidden: [], outputDim: 4 }));
    expect(
      () =>
        new ConditionalVAE({
          prior: new VampPrior(2, enc, { count: 2, itemShape: [4] }),
          encoder: enc,
          decoder: new BernoulliDecoder(mlp({ inputDim: 5, hidden: [], outputDim: 4 }), [4]),
          numClasses: 3,
        }),
    ).toThrow(/ConditionalVAE: argument 'prior' must be a prior that does not use the encoder/);
    expect(() => enc.posterior(x, tf.zeros([3, 2]))).toThrow(/the condition y must be \[B, C\] with B = 2/);
    x.dispose();
    cvae.dispose();
  });
});
