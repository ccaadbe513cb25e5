/**
 * The semi-supervised VAE (M2): the unlabelled bound with y enumerated against a per-class
 * computation by hand, the labelled objective, semi-supervised training with fit (accuracy well
 * above chance, flat tensor count, history), save -> load, bad input.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classificationAccuracy, fit, loadMnist, loadModel, manualSeed, registerModelClass, semiSupervisedSplit, SSVAE } from '../src/index.js';
import { nextSeed } from '../src/random.js';
import { useBackend, take } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});
afterEach(() => manualSeed(null));

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
          const logLik = ssvae.decoder.likelihood(tf.tensor2d([z]), y).logProb(xi).dataSync()[0]!;
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
    const parts = ssvae.loss(x, 0, y);
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
    expect(() => SSVAE.mlp({ inputShape: [5], numClasses: 3, latentDim: 2, hidden: [6], unlabelled: { relaxed: 0 } })).toThrow(/SSVAE: argument 'unlabelled' must be 'enumerate' or \{ relaxed: temperature > 0 \}/);
    x.dispose();
    ssvae.dispose();
  });
});

describe('SSVAE training', () => {
  it('fit with labelledData: 10 labels per class, accuracy well above chance, flat tensor count, save -> load', async () => {
    await useBackend('wasm');
    const all = (await loadMnist({ split: 'test', download: false })).subset(Array.from({ length: 3000 }, (_, i) => i));
    const train = all.subset(Array.from({ length: 2500 }, (_, i) => i));
    const valid = all.subset(Array.from({ length: 500 }, (_, i) => 2500 + i));
    const { labelled, unlabelled } = semiSupervisedSplit(train, { labelsPerClass: 10, seed: 0 });
    manualSeed(2);
    const ssvae = SSVAE.mlp({ inputShape: [28, 28], numClasses: 10, latentDim: 8, hidden: [128] });
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const result = await fit(ssvae, unlabelled, {
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
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts).size).toBe(1);
    const records = result.history.filter((r) => r.split === 'validation');
    expect(records).toHaveLength(4);
    const accuracy = classificationAccuracy((x) => ssvae.classify(x), valid, { binarize: 'threshold' });
    console.log(`SSVAE, 100 labels, 4 short epochs: validation accuracy ${records.map((r) => r.accuracy!.toFixed(3)).join(' -> ')}; ELBO ${records.at(-1)!.elbo.toFixed(1)}`);
    expect(records.at(-1)!.accuracy).toBeCloseTo(accuracy, 10);
    expect(accuracy).toBeGreaterThan(0.5);
    expect(records.at(-1)!.elbo).toBeGreaterThan(records[0]!.elbo);
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

  it('rejects bad input', async () => {
    const ssvae = SSVAE.mlp({ inputShape: [4], numClasses: 3, latentDim: 2, hidden: [3] });
    const x = tf.ones([2, 4]);
    expect(() => SSVAE.mlp({ inputShape: [4], numClasses: 1, latentDim: 2, hidden: [3] })).toThrow(/SSVAE\.mlp: argument 'options\.numClasses' must be an integer >= 2, but got 1/);
    expect(() => ssvae.loss(x, 0, [0, 5])).toThrow(/SSVAE\.loss: argument 'y' must be 2 class indices in 0\.\.2/);
    expect(() => ssvae.loss(x, 0, [0, 1], { x, y: [0, 1] })).toThrow(/SSVAE\.loss: argument 'y' must be undefined when `labelled` is given/);
    const data = (await loadMnist({ split: 'test', download: false })).subset([0, 1, 2]);
    await expect(fit(ssvae, data, { epochs: 1, labelledData: data.withoutLabels() })).rejects.toThrow(/fit: argument 'options\.labelledData' must be a labelled ArrayDataset/);
    expect(() => registerModelClass({ name: 'VAE' } as never)).toThrow(/registerModelClass: argument 'spec\.name' must be a nonempty class name other than the built-in ones, but got "VAE"/);
    expect(() => registerModelClass({ name: 'Mine', matches: () => false } as never)).toThrow(/registerModelClass: argument 'spec\.nets' must be a function/);
    x.dispose();
    ssvae.dispose();
  });
});
