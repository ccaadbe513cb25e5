/**
 * The semi-supervised VAE (M2): the unlabelled bound with y enumerated against a per-class
 * computation by hand, the labelled objective, semi-supervised training with fit (accuracy well
 * above chance, flat tensor count, history), save -> load, bad input.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkArgs,
  ArrayDataset,
  classificationAccuracy,
  bayesAccuracy,
  fit,
  type HistoryRecord,
  loadMnist,
  loadModel,
  manualSeed,
  registerModelClass,
  semiSupervisedSplit,
  SSVAE,
  VAE,
  ConditionalVAE,
  GaussianEncoder,
} from '../src/index.js';
import { nextSeed } from '../src/random.js';
import { useBackend, take } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});
afterEach(() => manualSeed(null));

/** 2,500 training and 500 validation digits from the MNIST test file. */
async function digits(): Promise<{ train: ArrayDataset; valid: ArrayDataset }> {
  const all = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 3000 }, (_, i) => i));
  return { train: all.subset(Array.from({ length: 2500 }, (_, i) => i)), valid: all.subset(Array.from({ length: 500 }, (_, i) => 2500 + i)) };
}

/** Four short semi-supervised epochs with fit; checks that the tensor count stays flat; the validation records. */
async function fourShortEpochs(model: SSVAE, unlabelled: ArrayDataset, labelled: ArrayDataset, valid: ArrayDataset): Promise<HistoryRecord[]> {
  const counts: number[] = [];
  await checkArgs();
  const before = tf.memory().numTensors;
  const result = await fit(model, unlabelled, {
    epochs: 4,
    batchSize: 50,
    labelledData: labelled,
    binarize: 'threshold',
    validationData: valid,
    seed: 0,
    progress: false,
    log: () => undefined,
    callbacks: { onStepEnd: (step) => step > 3 && counts.push(tf.memory().numTensors) },
  });
  await checkArgs();
  expect(tf.memory().numTensors).toBe(before);
  expect(new Set(counts).size).toBe(1);
  return result.history.filter((r) => r.split === 'validation');
}

describe('SSVAE objective', () => {
  it('the unlabelled bound sums the C per-class ELBOs weighted by q(y|x), minus KL(q(y|x) || uniform)', () => {
    manualSeed(4);
    const C = 3;
    const ssvae = SSVAE.mlp({ inputShape: [5], numClasses: C, latentDim: 2, hidden: [6] });
    const x = tf.tensor2d([
      [1, 0, 1, 1, 0],
      [0, 1, 0, 0, 1],
    ]);
    const B = 2;
    manualSeed(9);
    const u = ssvae.unlabelledParts(x);
    const got = { elbo: take(u.elbo), rec: take(u.reconstruction), kl: take(u.kl), klY: take(u.klY) };
    // The same noise, drawn as unlabelledParts draws it: one [C * B, M] normal, rows c * B + i.
    manualSeed(9);
    const eps = take(tf.randomNormal([C * B, 2], 0, 1, 'float32', nextSeed()));
    const logits = take(tf.tidy(() => (ssvae.classify(x) as unknown as { logits: tf.Tensor }).logits));
    for (let i = 0; i < B; i++) {
      const l = logits.slice(i * C, (i + 1) * C);
      const max = Math.max(...l);
      const lse = max + Math.log(l.reduce((s, v) => s + Math.exp(v - max), 0));
      const q = l.map((v) => Math.exp(v - lse));
      let rec = 0;
      let klZ = 0;
      for (let c = 0; c < C; c++) {
        const [recC, klC] = tf.tidy(() => {
          const xi = tf.slice(x, [i, 0], [1, 5]);
          const y = tf.oneHot(tf.tensor1d([c], 'int32'), C).toFloat();
          const post = ssvae.encoder.posterior(xi, y) as unknown as { base: { loc: tf.Tensor; scale: tf.Tensor } };
          const mu = post.base.loc.dataSync();
          const sd = post.base.scale.dataSync();
          const z = [0, 1].map((m) => mu[m]! + sd[m]! * eps[(c * B + i) * 2 + m]!);
          const logLik = ssvae.decoder
            .likelihood(tf.tensor2d([z]), y)
            .logProb(xi)
            .dataSync()[0]!;
          const kl = [0, 1].reduce((s, m) => s + 0.5 * (sd[m]! ** 2 + mu[m]! ** 2 - 1) - Math.log(sd[m]!), 0);
          return [-logLik, kl];
        });
        rec += q[c]! * recC!;
        klZ += q[c]! * klC!;
      }
      const klY = q.reduce((s, p) => s + p * (Math.log(p) + Math.log(C)), 0);
      expect(got.rec[i]).toBeCloseTo(rec, 4);
      expect(got.klY[i]).toBeCloseTo(klY, 5);
      expect(got.kl[i]).toBeCloseTo(klZ + klY, 4);
      expect(got.elbo[i]).toBeCloseTo(-(rec + klZ + klY), 4);
    }
    // Labelled: loss = alpha * mean(-log q(y|x)) + mean(-L(x, y)); L includes log p(y) = -log C.
    const y = [2, 0];
    const ce = y.map((c, i) => {
      const l = logits.slice(i * C, (i + 1) * C);
      const max = Math.max(...l);
      return -(l[c]! - (max + Math.log(l.reduce((s, v) => s + Math.exp(v - max), 0))));
    });
    manualSeed(3);
    const lab = ssvae.labelledParts(x, y);
    const elboL = take(lab.elbo);
    tf.dispose([lab.reconstruction, lab.kl]);
    manualSeed(3);
    const parts = ssvae.loss(x, { y });
    const expected = ssvae.alpha * ((ce[0]! + ce[1]!) / 2) - (elboL[0]! + elboL[1]!) / 2;
    expect(take(parts.loss)[0]).toBeCloseTo(expected, 3);
    tf.dispose([parts.elbo, parts.reconstruction, parts.kl, x]);
    ssvae.dispose();
  });
});

describe('SSVAE with a relaxed y', () => {
  it('one Gumbel-softmax draw at a low temperature estimates the enumerated bound (mean of 4000 draws)', () => {
    manualSeed(12);
    const ssvae = SSVAE.mlp({ inputShape: [5], numClasses: 3, latentDim: 2, hidden: [6], unlabelled: { relaxed: 0.05 } });
    const x = tf.tile(tf.tensor2d([[1, 0, 1, 1, 0]]), [4000, 1]);
    const stats = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return { mean, se: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1) / v.length) };
    };
    const relaxed = ssvae.unlabelledParts(x);
    const exact = ssvae.unlabelledParts(x, 'enumerate');
    const r = stats(take(relaxed.elbo));
    const e = stats(take(exact.elbo));
    expect(take(relaxed.klY)[0]).toBeCloseTo(take(exact.klY)[0]!, 5); // the KL of q(y|x) is exact in both
    tf.dispose([relaxed.reconstruction, relaxed.kl, exact.reconstruction, exact.kl]);
    console.log(`unlabelled bound: enumerated ${e.mean.toFixed(3)} ± ${e.se.toFixed(3)}, relaxed (T = 0.05) ${r.mean.toFixed(3)} ± ${r.se.toFixed(3)}`);
    expect(Math.abs(r.mean - e.mean)).toBeLessThan(4 * Math.sqrt(r.se ** 2 + e.se ** 2) + 0.05);
    expect(() => SSVAE.mlp({ inputShape: [5], numClasses: 3, latentDim: 2, hidden: [6], unlabelled: { relaxed: 0 } })).toThrow(
      /SSVAE: argument 'unlabelled' must be 'enumerate' or \{ relaxed: temperature > 0 \}/,
    );
    x.dispose();
    ssvae.dispose();
  });
});

describe("SSVAE by Bayes' rule", () => {
  it('p(y|x) from importance-sampled log p(x|y) matches p(x|y) integrated over a 1-D z on a grid', async () => {
    manualSeed(12);
    const C = 3;
    const D = 4;
    const ssvae = SSVAE.mlp({ inputShape: [D], numClasses: C, latentDim: 1, hidden: [8] });
    // A proposal q(z|x, y) = N(0, 1.5^2), broader than p(z), keeps the importance weights bounded;
    // the untrained encoder's narrow, misplaced q would need far more draws.
    const out = ((ssvae.encoder as GaussianEncoder).net as unknown as tfl.LayersModel).layers.at(-1)!;
    const proposal = [tf.zerosLike(out.getWeights()[0]!), tf.tensor1d([0, Math.log(Math.expm1(1.5))])];
    out.setWeights(proposal);
    tf.dispose(proposal);
    const xs = [
      [1, 0, 1, 1],
      [0, 1, 0, 0],
      [1, 1, 0, 1],
    ];
    // Reference: log p(x|y) = log of the integral of p(x|z, y) N(z; 0, 1) over z in [-10, 10] (trapezoid, step 0.005).
    const G = 4001;
    const zs = Array.from({ length: G }, (_, i) => -10 + (20 * i) / (G - 1));
    const h = zs[1]! - zs[0]!;
    const ref: number[][] = xs.map(() => []);
    for (let c = 0; c < C; c++) {
      const probs = tf.tidy(() => ssvae.decoder.likelihood(tf.tensor2d(zs, [G, 1]), tf.oneHot(tf.fill([G], c, 'int32'), C).toFloat()).mean);
      const p = take(probs);
      xs.forEach((x, n) => {
        const logTerms = zs.map((z, g) => {
          let l = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI);
          for (let d = 0; d < D; d++) l += Math.log(x[d] ? p[g * D + d]! : 1 - p[g * D + d]!);
          return l + Math.log(g === 0 || g === G - 1 ? h / 2 : h);
        });
        const m = Math.max(...logTerms);
        ref[n]!.push(m + Math.log(logTerms.reduce((a, t) => a + Math.exp(t - m), 0)));
      });
    }
    const refPosterior = ref.map((row) => {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      return e.map((v) => v / e.reduce((a, b) => a + b, 0));
    });
    await checkArgs();
    const before = tf.memory().numTensors;
    const x = tf.tensor2d(xs);
    const got = tf.tidy(() => {
      const post = ssvae.bayesClassify(x, { samples: 10000, chunk: 2000 });
      return tf.exp(post.logits);
    });
    x.dispose();
    const g = take(got);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    // The classes must be told apart for the comparison to mean something.
    expect(Math.max(...refPosterior.flat()) - Math.min(...refPosterior.flat())).toBeGreaterThan(0.05);
    refPosterior.forEach((row, n) => row.forEach((v, c) => expect(Math.abs(g[n * C + c]! - v)).toBeLessThan(0.01)));
    ssvae.dispose();
  });

  it('rejects bad input', async () => {
    const ssvae = SSVAE.mlp({ inputShape: [4], numClasses: 3, latentDim: 2, hidden: [3] });
    const x = tf.ones([2, 4]);
    expect(() => ssvae.bayesClassify(x, { samples: 0 })).toThrow(/SSVAE\.bayesClassify: argument 'options\.samples' must be a positive integer, but got 0/);
    expect(() => ssvae.bayesClassify(x, { chunk: 1.5 })).toThrow(/SSVAE\.bayesClassify: argument 'options\.chunk' must be a positive integer, but got 1\.5/);
    expect(() => ssvae.bayesClassify([1, 0, 1, 1] as never)).toThrow(
      /SSVAE\.bayesClassify: argument 'x' must be a tensor \[B, 4\] \(or any shape with 4 values per example\), but got \[1, 0, 1, 1\]/,
    );
    const grey = tf.fill([2, 4], 0.5);
    // Checked on the device: the error comes with the next awaited read.
    tf.tidy(() => {
      ssvae.bayesClassify(grey);
    });
    await expect(checkArgs()).rejects.toThrow(
      /SSVAE\.bayesClassify: argument 'x' \(Tensor of shape \[2, 4\]\) must hold binary pixels \(0 or 1\) for the Bernoulli likelihood \(binarise the images, e\.g\. binarize: 'threshold'\), but found invalid values 0\.5, 0\.5, 0\.5, 0\.5, \.\.\.\./,
    );
    grey.dispose();
    const data = (await loadMnist({ split: 'test', download: false })).subset([0, 1, 2]);
    await expect(bayesAccuracy(ssvae, data, { samples: -1 })).rejects.toThrow(
      /bayesAccuracy: argument 'options\.samples' must be a positive integer, but got -1/,
    );
    await expect(bayesAccuracy(ssvae, data.withoutLabels())).rejects.toThrow(/bayesAccuracy: argument 'data' must be a labelled ArrayDataset/);
    await expect(bayesAccuracy(ssvae, data, { batchSize: 0 })).rejects.toThrow(
      /bayesAccuracy: argument 'options\.batchSize' must be a positive integer, but got 0/,
    );
    x.dispose();
    ssvae.dispose();
  });
});

describe('SSVAE training', () => {
  it('fit with labelledData: 10 labels per class, accuracy well above chance, flat tensor count, save -> load', async () => {
    await useBackend('wasm');
    const { train, valid } = await digits();
    const { labelled, unlabelled } = semiSupervisedSplit(train, { labelsPerClass: 10, seed: 0 });
    manualSeed(2);
    const ssvae = SSVAE.mlp({ inputShape: [28, 28], numClasses: 10, latentDim: 8, hidden: [128] });
    const records = await fourShortEpochs(ssvae, unlabelled, labelled, valid);
    expect(records).toHaveLength(4);
    const accuracy = await classificationAccuracy((x) => ssvae.classify(x), valid, { binarize: 'threshold' });
    console.log(
      `SSVAE, 100 labels, 4 short epochs: validation accuracy ${records.map((r) => r.accuracy!.toFixed(3)).join(' -> ')}; ELBO ${records.at(-1)!.elbo.toFixed(1)}`,
    );
    expect(records.at(-1)!.accuracy).toBeCloseTo(accuracy, 10);
    expect(accuracy).toBeGreaterThan(0.5);
    expect(records.at(-1)!.elbo).toBeGreaterThan(records[0]!.elbo);
    await checkArgs();
    const before = tf.memory().numTensors;
    const done: number[] = [];
    const bayes = await bayesAccuracy(ssvae, valid, { samples: 10, binarize: 'threshold', onProgress: (d) => done.push(d) });
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    expect(done).toEqual([100, 200, 300, 400, 500]);
    console.log(`SSVAE, 100 labels, 4 short epochs: accuracy of q(y|x) ${accuracy.toFixed(3)}, of p(y|x) by Bayes' rule (k = 10) ${bayes.toFixed(3)}`);
    expect(bayes).toBeGreaterThan(0.5);
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-ssvae-'));
    await ssvae.save(dir);
    const loaded = (await loadModel(dir)) as SSVAE;
    expect(loaded).toBeInstanceOf(SSVAE);
    expect([loaded.alpha, loaded.labelledElbo, loaded.numClasses]).toEqual([100, true, 10]);
    const x = valid.tensor([0, 1, 2, 3], { binarize: 'threshold' });
    expect(take(loaded.predict(x))).toEqual(take(ssvae.predict(x)));
    x.dispose();
    [ssvae, loaded].forEach((m) => m.dispose());
    await useBackend('cpu');
  });

  it('labelledBatchSize sets the labelled examples per step, cycling through the labelled set', async () => {
    const data = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 200 }, (_, i) => i));
    const { labelled, unlabelled } = semiSupervisedSplit(data, { labelsPerClass: 3, seed: 0 });
    const ssvae = SSVAE.mlp({ inputShape: [28, 28], numClasses: 10, latentDim: 2, hidden: [8] });
    const sizes: number[] = [];
    const loss = ssvae.loss.bind(ssvae);
    (ssvae as { loss: SSVAE['loss'] }).loss = (x, options) => {
      sizes.push(options!.labelled!.x.shape[0]!);
      return loss(x, options);
    };
    await fit(ssvae, unlabelled, {
      epochs: 1,
      batchSize: 50,
      labelledData: labelled,
      labelledBatchSize: 7,
      binarize: 'threshold',
      seed: 0,
      progress: false,
      log: () => undefined,
    });
    // 170 unlabelled in batches of 50: 4 steps; 30 labelled in batches of 7: 7, 7, 7, 7 (then 2 ends the pass).
    expect(sizes).toEqual([7, 7, 7, 7]);
    ssvae.dispose();
  });

  it('rejects bad input', async () => {
    const ssvae = SSVAE.mlp({ inputShape: [4], numClasses: 3, latentDim: 2, hidden: [3] });
    const x = tf.ones([2, 4]);
    expect(() => SSVAE.mlp({ inputShape: [4], numClasses: 1, latentDim: 2, hidden: [3] })).toThrow(
      /SSVAE\.mlp: argument 'options\.numClasses' must be an integer >= 2, but got 1/,
    );
    expect(() => ssvae.loss(x, { y: [0, 5] })).toThrow(/SSVAE\.loss: argument 'y' must be 2 class indices in 0\.\.2/);
    expect(() => ssvae.loss(x, { y: [0, 1], labelled: { x, y: [0, 1] } })).toThrow(/SSVAE\.loss: argument 'y' must be undefined when `labelled` is given/);
    const data = (await loadMnist({ split: 'test', download: false })).subset([0, 1, 2]);
    await expect(fit(ssvae, data, { epochs: 1, labelledData: data.withoutLabels() })).rejects.toThrow(
      /fit: argument 'options\.labelledData' must be a labelled ArrayDataset/,
    );
    expect(() => registerModelClass({ name: 'VAE' } as never)).toThrow(
      /registerModelClass: argument 'spec\.name' must be a nonempty class name other than the built-in ones, but got "VAE"/,
    );
    expect(() => registerModelClass({ name: 'Mine', matches: () => false } as never)).toThrow(/registerModelClass: argument 'spec\.nets' must be a function/);
    x.dispose();
    ssvae.dispose();
  });
});

describe('stacked M1+M2', () => {
  it("is M2 on M1's z1: the same loss as a plain SSVAE with the same networks fed z1 by hand", () => {
    manualSeed(5);
    const m1 = VAE.mlp({ inputShape: [6], latentDim: 3, hidden: [8] });
    const stacked = SSVAE.mlp({ inputShape: [6], numClasses: 3, latentDim: 2, hidden: [5], m1 });
    expect(stacked.m1).toBe(m1.encoder);
    expect(stacked.m1Features).toBe('sample');
    expect((stacked.decoder as unknown as { itemShape: number[] }).itemShape).toEqual([3]); // M2 models z1
    // M1 is frozen: none of its variables is trained.
    const m1Vars = new Set(m1.trainableVariables);
    expect(stacked.trainableVariables.some((v) => m1Vars.has(v))).toBe(false);
    const plain = new SSVAE({ prior: stacked.prior, encoder: stacked.encoder, decoder: stacked.decoder, classifier: stacked.classifier, numClasses: 3 });
    const x = tf.tensor2d([
      [1, 0, 1, 1, 0, 0],
      [0, 1, 0, 0, 1, 1],
    ]);
    const xl = tf.tensor2d([[1, 1, 0, 0, 1, 0]]);
    const q = m1.encoder.posterior(x);
    const ql = m1.encoder.posterior(xl);
    // Training draws z1 ~ q(z1|x): the unlabelled features, M2's noise for them, then the labelled ones.
    manualSeed(21);
    const got = stacked.loss(x, { labelled: { x: xl, y: [2] } });
    manualSeed(21);
    const z1 = q.sample();
    const u = plain.unlabelledParts(z1);
    const z1l = ql.sample();
    const lab = plain.loss(z1l, { y: [2] });
    const expected = -take(tf.mean(u.elbo))[0]! + take(lab.loss)[0]!;
    expect(take(got.loss)[0]).toBeCloseTo(expected, 4);
    expect(take(got.elbo)).toEqual(take(u.elbo));
    // Elsewhere (classify, predict, the bounds) z1 is M1's posterior mean.
    expect(take(stacked.predict(x))).toEqual(take(plain.predict(q.mean)));
    const probs = (c: { probs: tf.Tensor }) => take(c.probs);
    expect(probs(stacked.classify(x) as never)).toEqual(probs(plain.classify(q.mean) as never));
    manualSeed(8);
    const us = stacked.unlabelledParts(x, 'enumerate');
    manualSeed(8);
    const up = plain.unlabelledParts(q.mean, 'enumerate');
    expect(take(us.elbo)).toEqual(take(up.elbo));
    const mean = SSVAE.mlp({ inputShape: [6], numClasses: 3, latentDim: 2, hidden: [5], m1, m1Features: 'mean' });
    expect(take(mean.features(x, mean.m1Features))).toEqual(Array.from(q.mean.dataSync()));
    // m1Dims: M2 sees the chosen columns of z1 only.
    const picked = SSVAE.mlp({ inputShape: [6], numClasses: 3, latentDim: 2, hidden: [5], m1, m1Dims: [2, 0] });
    expect((picked.decoder as unknown as { itemShape: number[] }).itemShape).toEqual([2]);
    const mu = Array.from(q.mean.dataSync());
    expect(take(picked.features(x))).toEqual([mu[2], mu[0], mu[5], mu[3]]);
    picked.dispose();
    tf.dispose([
      got.elbo,
      got.reconstruction,
      got.kl,
      u.reconstruction,
      u.kl,
      u.klY,
      lab.elbo,
      lab.reconstruction,
      lab.kl,
      us.reconstruction,
      us.kl,
      us.klY,
      up.reconstruction,
      up.kl,
      up.klY,
      z1,
      z1l,
      x,
      xl,
    ]);
    [stacked, mean, m1].forEach((m) => m.dispose());
  });

  it('trains M2 on a trained M1 with fit: M1 unchanged, accuracy well above chance, flat tensor count, save -> load', async () => {
    await useBackend('wasm');
    const { train, valid } = await digits();
    manualSeed(3);
    const m1 = VAE.mlp({ inputShape: [28, 28], latentDim: 8, hidden: [128] });
    await fit(m1, train.withoutLabels(), { epochs: 4, batchSize: 50, binarize: 'threshold', seed: 0, progress: false, log: () => undefined });
    const { labelled, unlabelled } = semiSupervisedSplit(train, { labelsPerClass: 10, seed: 0 });
    const stacked = SSVAE.mlp({ inputShape: [28, 28], numClasses: 10, latentDim: 4, hidden: [64], m1, m1Dims: [0, 1, 2, 3, 4, 5, 7] });
    const m1Before = m1.trainableVariables.map((v) => Array.from(v.dataSync()));
    const records = await fourShortEpochs(stacked, unlabelled, labelled, valid);
    expect(m1.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(m1Before);
    const accuracy = await classificationAccuracy((x) => stacked.classify(x), valid, { binarize: 'threshold' });
    console.log(
      `M1+M2, 100 labels, 4 short epochs: validation accuracy ${records.map((r) => r.accuracy!.toFixed(3)).join(' -> ')}; bound on log p(z1) ${records.at(-1)!.elbo.toFixed(2)}`,
    );
    expect(records.at(-1)!.accuracy).toBeCloseTo(accuracy, 10);
    expect(accuracy).toBeGreaterThan(0.5);
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-m1m2-'));
    await stacked.save(dir);
    const loaded = (await loadModel(dir)) as SSVAE;
    expect(loaded.m1).not.toBeNull();
    expect(loaded.m1Features).toBe('sample');
    expect(loaded.m1Dims).toEqual([0, 1, 2, 3, 4, 5, 7]);
    const x = valid.tensor([0, 1, 2, 3, 4, 5], { binarize: 'threshold' });
    expect(take(loaded.predict(x))).toEqual(take(stacked.predict(x)));
    // Bayes' rule on z1: one distribution over the 10 classes per example.
    const sums = take(tf.tidy(() => tf.sum(tf.exp(stacked.bayesClassify(x, { samples: 3 }).logits), -1)));
    expect(Array.from(sums)).toHaveLength(6);
    sums.forEach((v) => expect(v).toBeCloseTo(1, 5));
    x.dispose();
    [stacked, loaded, m1].forEach((m) => m.dispose());
    await useBackend('cpu');
  });

  it('rejects an M1 that does not fit', () => {
    const m1 = VAE.mlp({ inputShape: [6], latentDim: 3, hidden: [8] });
    const cvae = ConditionalVAE.mlp({ inputShape: [6], latentDim: 3, hidden: [8], numClasses: 3 });
    const base = { inputShape: [6], numClasses: 3, latentDim: 2, hidden: [5] };
    expect(() => SSVAE.mlp({ ...base, m1: cvae })).toThrow(
      /SSVAE\.mlp: argument 'options\.m1' must be a trained unconditional VAE with a GaussianEncoder \(M1\)/,
    );
    expect(() => SSVAE.mlp({ ...base, m1: {} as never })).toThrow(/SSVAE\.mlp: argument 'options\.m1' must be a trained unconditional VAE/);
    expect(() => SSVAE.mlp({ ...base, inputShape: [7], m1 })).toThrow(
      /SSVAE\.mlp: argument 'options\.m1' must be a VAE whose encoder takes 7 values \(inputShape \[7\]\), but got "an encoder with 6 inputs"/,
    );
    expect(() => SSVAE.mlp({ ...base, m1, likelihood: 'bernoulli' })).toThrow(
      /SSVAE\.mlp: argument 'options\.likelihood' must be 'gaussian' \(M1's z1 is real-valued\)/,
    );
    expect(() => SSVAE.mlp({ ...base, m1, m1Features: 'mode' as never })).toThrow(/SSVAE: argument 'm1Features' must be 'sample' or 'mean', but got "mode"/);
    expect(() => SSVAE.mlp({ ...base, m1, m1Dims: [0, 3] })).toThrow(
      /SSVAE: argument 'm1Dims' must be distinct latent dimensions of M1 in 0\.\.2, but got \[0, 3\]/,
    );
    expect(() => SSVAE.mlp({ ...base, m1, m1Dims: [1, 1] })).toThrow(/SSVAE: argument 'm1Dims' must be distinct latent dimensions of M1 in 0\.\.2/);
    [m1, cvae].forEach((m) => m.dispose());
  });
});
