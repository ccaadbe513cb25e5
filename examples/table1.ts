/**
 * `npm run table1`: the PML report's Table 1 on the MNIST test set (10,000 images): the
 * log-likelihood and the reconstruction MSE of a VAE, a convolutional VAE, PPCA and a Gaussian
 * mixture, each with a 2-D latent space where it has one, and the same pictures for each (latent
 * scatter, reconstructions; the mixture's component means).
 *
 * Setting (see docs/results.md for why the numbers of discrete and continuous models are not
 * comparable):
 *   - VAE: MLP 784-512-512, M = 2, Bernoulli likelihood on thresholded pixels, Adam 1e-3, batch
 *     128, `--epochs` epochs (default 10). Reported: the test ELBO and the IWAE-k estimate of
 *     log P(x) (k = `--iw`, default 100; a log-probability of binary images) and the MSE of the
 *     decoder mean at the posterior mean against the thresholded image.
 *   - conv VAE: the PML report's convolutional pair (3x3 stride-2 convolutions with 16 and 32
 *     channels), otherwise the same.
 *   - PPCA, q = 2, maximum likelihood on the continuous pixels in [0, 1]: the exact log-density
 *     and the MSE of W E[z|x] + b.
 *   - GMM, k = 10 diagonal Gaussians (EM, scikit-learn's defaults: tol 1e-3, regCovar 1e-6) on
 *     the continuous pixels: the exact log-density, and the MSE of the responsibility-weighted
 *     component means.
 * Options: --epochs N, --iw K, --gmm-iter N (default 100), --out DIR (default runs/table1),
 * --docs (copy the pictures to docs/images/table1-*.png), --limit N (the first N training and
 * test images, for a quick try). Writes DIR/results.json and
 * DIR/table.md.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  aggregatePosterior,
  describeBackend,
  encodePng,
  evaluateElbo,
  fit,
  GaussianMixture,
  imageGrid,
  initBackend,
  iwaeLogLikelihood,
  loadMnist,
  manualSeed,
  PPCA,
  reconstructionGrid,
  reconstructionMse,
  VAE,
  writeFileAtomic,
} from 'dlvm';
import { flag, hasFlag } from './args.js';

const epochs = Number(flag('epochs') ?? 10);
const iw = Number(flag('iw') ?? 100);
const gmmIter = Number(flag('gmm-iter') ?? 100);
const out = resolve(flag('out') ?? 'runs/table1');
const docs = hasFlag('docs');
const limit = flag('limit') === undefined ? undefined : Number(flag('limit'));

interface Row {
  model: string;
  data: string;
  logLikelihood: number;
  measure: string;
  elbo?: number;
  mse: number;
  fitSeconds: number;
  evalSeconds: number;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}`);
  const first = (n: number) => Array.from({ length: n }, (_, i) => i);
  let train = await loadMnist({ split: 'train' });
  let test = await loadMnist({ split: 'test' });
  if (limit !== undefined) [train, test] = [train.subset(first(limit)), test.subset(first(Math.min(limit, test.length)))];
  const rows: Row[] = [];
  const pictures: string[] = [];
  const show = 32;
  const idx = Array.from({ length: show }, (_, i) => i);

  for (const arch of ['mlp', 'conv'] as const) {
    manualSeed(0);
    const vae = arch === 'mlp' ? VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [512, 512] }) : VAE.conv({ inputShape: [28, 28], latentDim: 2 });
    let t0 = performance.now();
    await fit(vae, train, { epochs, batchSize: 128, learningRate: 1e-3, binarize: 'threshold', seed: 0, progress: false });
    const fitSeconds = seconds(t0);
    t0 = performance.now();
    const opts = { binarize: 'threshold' as const, seed: 0 };
    const e = await evaluateElbo(vae, test, opts);
    const ll = await iwaeLogLikelihood(vae, test, { ...opts, k: iw });
    const mse = await reconstructionMse(vae, test, opts);
    const name = arch === 'mlp' ? 'VAE (MLP 784-512-512)' : 'conv VAE (16, 32 channels)';
    rows.push({
      model: name,
      data: 'thresholded pixels',
      logLikelihood: ll,
      measure: `IWAE-${iw} log P(x)`,
      elbo: e.elbo,
      mse,
      fitSeconds,
      evalSeconds: seconds(t0),
    });
    console.log(`${name}: ELBO ${e.elbo.toFixed(2)}, IWAE-${iw} ${ll.toFixed(2)}, MSE ${mse.toFixed(4)}; ${fitSeconds.toFixed(0)} s training`);
    const tag = arch === 'mlp' ? 'vae' : 'conv-vae';
    await aggregatePosterior(vae, test, {
      n: 5000,
      binarize: 'threshold',
      title: `${name}: posterior means of 5000 test digits`,
      file: join(out, `${tag}-latent.png`),
    });
    const x = test.tensor(idx, { binarize: 'threshold' });
    await reconstructionGrid(vae, x, { cols: 16, file: join(out, `${tag}-reconstructions.png`) });
    x.dispose();
    pictures.push(`${tag}-latent.png`, `${tag}-reconstructions.png`);
    vae.dispose();
  }

  // PPCA, q = 2, on continuous pixels.
  let t0 = performance.now();
  const ppca = await PPCA.fit(train, { latentDim: 2 });
  const ppcaFit = seconds(t0);
  t0 = performance.now();
  const ppcaLL = await ppca.logLikelihood(test);
  const ppcaMse = await reconstructionMse(ppca, test);
  rows.push({
    model: 'PPCA (q = 2)',
    data: 'continuous pixels',
    logLikelihood: ppcaLL,
    measure: 'exact log p(x) (density)',
    mse: ppcaMse,
    fitSeconds: ppcaFit,
    evalSeconds: seconds(t0),
  });
  console.log(`PPCA: log p(x) ${ppcaLL.toFixed(2)}, MSE ${ppcaMse.toFixed(4)}, sigma^2 ${ppca.sigma2.toFixed(5)}; ${ppcaFit.toFixed(0)} s fitting`);
  await aggregatePosterior(ppca, test, { n: 5000, title: 'PPCA: posterior means E[z|x] of 5000 test digits', file: join(out, 'ppca-latent.png') });
  const xc = test.tensor(idx);
  await reconstructionGrid(ppca, xc, { cols: 16, file: join(out, 'ppca-reconstructions.png') });
  pictures.push('ppca-latent.png', 'ppca-reconstructions.png');

  // GMM, k = 10 diagonal, on continuous pixels.
  t0 = performance.now();
  const gmm = await GaussianMixture.fit(train, {
    components: 10,
    covariance: 'diag',
    maxIter: gmmIter,
    seed: 0,
    onIteration: (i, v) => i % 10 === 0 && console.log(`GMM EM iteration ${i}: mean log-likelihood ${v.toFixed(1)}`),
  });
  const gmmFit = seconds(t0);
  t0 = performance.now();
  const gmmLL = await gmm.logLikelihood(test);
  // Reconstruction: the responsibility-weighted component means, sum_j p(j|x) mu_j.
  const resp = await gmm.responsibilities(test);
  const values = test.values();
  let sq = 0;
  const recon = new Float32Array(show * 784);
  for (let i = 0; i < test.length; i++) {
    for (let t = 0; t < 784; t++) {
      let m = 0;
      for (let j = 0; j < 10; j++) m += resp[i * 10 + j]! * gmm.means[j * 784 + t]!;
      sq += (m - values[i * 784 + t]!) ** 2;
      if (i < show) recon[i * 784 + t] = m;
    }
  }
  const gmmMse = sq / (test.length * 784);
  rows.push({
    model: 'GMM (k = 10, diagonal)',
    data: 'continuous pixels',
    logLikelihood: gmmLL,
    measure: 'exact log p(x) (density)',
    mse: gmmMse,
    fitSeconds: gmmFit,
    evalSeconds: seconds(t0),
  });
  console.log(
    `GMM: log p(x) ${gmmLL.toExponential(4)}, MSE ${gmmMse.toFixed(4)}; ${gmm.iterations} EM iterations (converged: ${gmm.converged}), ${gmmFit.toFixed(0)} s fitting`,
  );
  const means = tf.tensor3d(Float32Array.from(gmm.means), [10, 28, 28]);
  await writeFileAtomic(join(out, 'gmm-means.png'), await encodePng(await imageGrid(means, { cols: 10, scale: 2 })));
  const pair = tf.concat([
    tf.slice(xc, [0, 0, 0], [16, 28, 28]),
    tf.tensor3d(recon.subarray(0, 16 * 784), [16, 28, 28]),
    tf.slice(xc, [16, 0, 0], [16, 28, 28]),
    tf.tensor3d(recon.subarray(16 * 784), [16, 28, 28]),
  ]);
  await writeFileAtomic(join(out, 'gmm-reconstructions.png'), await encodePng(await imageGrid(pair, { cols: 16 })));
  tf.dispose([means, pair, xc]);
  ppca.dispose();
  pictures.push('gmm-means.png', 'gmm-reconstructions.png');

  const fmt = (v: number) => (Math.abs(v) >= 1e5 ? v.toExponential(3) : v.toFixed(2));
  const table = [
    '| model | data | log-likelihood per test image (nats) | measured as | test ELBO | MSE | fit (s) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.data} | ${fmt(r.logLikelihood)} | ${r.measure} | ${r.elbo === undefined ? '' : r.elbo.toFixed(2)} | ${r.mse.toFixed(4)} | ${r.fitSeconds.toFixed(0)} |`,
    ),
  ].join('\n');
  writeFileSync(join(out, 'table.md'), `${table}\n`);
  writeFileSync(join(out, 'results.json'), JSON.stringify({ backend: describeBackend(info), epochs, iw, rows }, null, 2));
  console.log(`\n${table}\n\nwrote ${join(out, 'table.md')}, results.json and ${pictures.length} pictures`);
  if (docs) {
    const dir = resolve('docs/images');
    mkdirSync(dir, { recursive: true });
    for (const p of pictures) copyFileSync(join(out, p), join(dir, `table1-${p}`));
    console.log(`copied the pictures to ${dir}/table1-*.png`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
