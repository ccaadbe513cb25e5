/**
 * `npm run pictures`: trains small VAEs and writes every kind of picture dlvm makes, with the
 * evaluation metrics of the MNIST model. The copies in docs/images come from this script
 * (`--docs` writes them there).
 *
 * Models (thresholded MNIST, MLP 784-512-512, Adam 1e-3, batch 128, on the fastest backend):
 *   - M = 10, `--epochs` epochs: samples, decoder means, reconstructions, aggregate posterior
 *     (PCA), training curves, and the metrics (test ELBO, IWAE-k, bits/dim, MSE, active units);
 *   - M = 2: the latent manifold and the 2-D aggregate posterior;
 *   - the toy unit square (Gaussian likelihood, M = 2): input / latent / reconstruction panels.
 * Options: --epochs N (default 2), --out DIR (default runs/pictures), --docs, --iw K (default 100).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  activeUnits,
  aggregatePosterior,
  bitsPerDim,
  describeBackend,
  evaluateElbo,
  initBackend,
  iwaeLogLikelihood,
  latentManifold,
  loadMnist,
  manualSeed,
  reconstructionGrid,
  reconstructionMse,
  sampleGrid,
  toyDataset,
  toyPanels,
  trainingCurves,
  VAE,
  type ArrayDataset,
  type CurveRecord,
} from 'dlvm';
import { flag, hasFlag } from './args.js';

const epochs = Number(flag('epochs') ?? 2);
const iw = Number(flag('iw') ?? 100);
const out = resolve(flag('out') ?? 'runs/pictures');
const docs = hasFlag('docs');

/** Trains with Adam; records the training ELBO every 50 steps and the validation ELBO every 200. */
function train(
  vae: VAE,
  data: ArrayDataset,
  valid: tf.Tensor | null,
  opts: { epochs: number; binarize: 'threshold' | 'none'; lr?: number; batchSize?: number },
): CurveRecord[] {
  const optimizer = tf.train.adam(opts.lr ?? 1e-3);
  const history: CurveRecord[] = [];
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (const { x } of data.batches({ batchSize: opts.batchSize ?? 128, seed: epoch, binarize: opts.binarize })) {
      const parts = tf.tidy(() => {
        let kept: number[] = [];
        optimizer.minimize(
          () => {
            const p = vae.elboParts(x);
            if (step % 50 === 0) kept = [tf.mean(p.elbo), tf.mean(p.reconstruction), tf.mean(p.kl)].map((t) => t.dataSync()[0]!);
            return p.loss;
          },
          false,
          vae.trainableVariables,
        );
        return kept;
      });
      if (step % 50 === 0) history.push({ step, split: 'train', elbo: parts[0], reconstruction: parts[1], kl: parts[2] });
      if (valid && step % 200 === 0) {
        const v = tf.tidy(() => {
          const p = vae.elboParts(valid);
          return [tf.mean(p.elbo), tf.mean(p.reconstruction), tf.mean(p.kl)].map((t) => t.dataSync()[0]!);
        });
        history.push({ step, split: 'validation', elbo: v[0], reconstruction: v[1], kl: v[2] });
      }
      step++;
    }
  }
  return history;
}

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}`);
  mkdirSync(out, { recursive: true });
  manualSeed(0);
  const trainSet = await loadMnist({ split: 'train' });
  const testSet = await loadMnist({ split: 'test' });
  const valid = testSet.tensor(
    Array.from({ length: 1000 }, (_, i) => i),
    { binarize: 'threshold' },
  );

  let t0 = performance.now();
  const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 10, hidden: [512, 512] });
  const history = train(vae, trainSet, valid, { epochs, binarize: 'threshold' });
  console.log(`M = 10: ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await sampleGrid(vae, { n: 100, cols: 10, seed: 1, file: join(out, 'samples.png') });
  await sampleGrid(vae, { n: 100, cols: 10, seed: 1, mean: true, file: join(out, 'samples-mean.png') });
  const firstTest = testSet.tensor(
    Array.from({ length: 32 }, (_, i) => i),
    { binarize: 'threshold' },
  );
  await reconstructionGrid(vae, firstTest, { cols: 16, file: join(out, 'reconstructions.png') });
  firstTest.dispose();
  await aggregatePosterior(vae, testSet, { n: 3000, binarize: 'threshold', file: join(out, 'aggregate-posterior.png') });
  await trainingCurves(history, { file: join(out, 'curves.png') });

  // Metrics of the M = 10 model on the full test set (thresholded).
  t0 = performance.now();
  const elbo = await evaluateElbo(vae, testSet, { binarize: 'threshold', seed: 0 });
  const ll = await iwaeLogLikelihood(vae, testSet, { k: iw, binarize: 'threshold', seed: 0 });
  const mse = await reconstructionMse(vae, testSet, { binarize: 'threshold' });
  const au = await activeUnits(vae, testSet, { binarize: 'threshold' });
  console.log(
    `test (10000, thresholded): ELBO ${elbo.elbo.toFixed(2)} (reconstruction ${elbo.reconstruction.toFixed(2)}, KL ${elbo.kl.toFixed(2)}), ` +
      `IWAE-${iw} ${ll.toFixed(2)} nats = ${bitsPerDim(-ll, 784).toFixed(4)} bits/dim, MSE ${mse.toFixed(4)}, ` +
      `active units ${au.count}/10; evaluation ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );

  t0 = performance.now();
  const vae2 = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [512, 512] });
  train(vae2, trainSet, null, { epochs, binarize: 'threshold' });
  console.log(`M = 2: ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await latentManifold(vae2, { steps: 20, range: 3, file: join(out, 'manifold.png') });
  await aggregatePosterior(vae2, testSet, { n: 3000, binarize: 'threshold', file: join(out, 'aggregate-posterior-2d.png') });

  const square = toyDataset('square', { n: 2000, seed: 0 });
  const toy = VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [64, 64], likelihood: 'gaussian', scale: 0.05, activation: 'elu' });
  train(toy, square, null, { epochs: 60, binarize: 'none', lr: 3e-3 });
  await toyPanels(toy, square, { file: join(out, 'toy-panels.png') });
  valid.dispose();

  const names = ['samples', 'samples-mean', 'reconstructions', 'aggregate-posterior', 'curves', 'manifold', 'aggregate-posterior-2d', 'toy-panels'];
  console.log(`wrote ${names.map((n) => `${n}.png`).join(', ')} to ${out}`);
  if (docs) {
    for (const n of names) copyFileSync(join(out, `${n}.png`), join('docs', 'images', `pictures-${n}.png`));
    console.log('copied them to docs/images/pictures-*.png');
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
