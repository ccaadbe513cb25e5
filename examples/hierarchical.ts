/**
 * `npm run hierarchical`: the two-level hierarchical VAE of DTU 02460 exercise 1.3 against the
 * one-level VAE with the same x <-> z1 networks and the same training budget, on thresholded
 * MNIST: MLP 784-512-512, z1 of size 10 (z2 of size 5 through 64-unit networks for the
 * hierarchy), Adam 1e-3, batch 128, `--epochs` epochs (default 10). Reports the test ELBO and the
 * IWAE-k estimate of log P(x) (k = `--iw`, default 100) on the 10,000 test images; writes
 * DIR/results.json (`--out`, default runs/hierarchical) and sample grids.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeBackend, evaluateElbo, fit, HierarchicalVAE, initBackend, iwaeLogLikelihood, loadMnist, manualSeed, sampleGrid, VAE } from 'dlvm';
import { flag } from './args.js';

const epochs = Number(flag('epochs') ?? 10);
const iw = Number(flag('iw') ?? 100);
const out = resolve(flag('out') ?? 'runs/hierarchical');

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}`);
  const train = await loadMnist({ split: 'train' });
  const test = await loadMnist({ split: 'test' });
  const results: Record<string, unknown>[] = [];
  for (const name of ['vae', 'hierarchical'] as const) {
    manualSeed(0);
    const model =
      name === 'vae'
        ? VAE.mlp({ inputShape: [28, 28], latentDim: 10, hidden: [512, 512] })
        : HierarchicalVAE.mlp({ inputShape: [28, 28], latentDims: [10, 5], hidden: [512, 512], topHidden: [64] });
    const t0 = performance.now();
    await fit(model, train, { epochs, batchSize: 128, learningRate: 1e-3, binarize: 'threshold', seed: 0, progress: false });
    const trainSeconds = (performance.now() - t0) / 1000;
    const opts = { binarize: 'threshold' as const, seed: 0 };
    const e = await evaluateElbo(model, test, { ...opts, samples: 10 });
    const ll = await iwaeLogLikelihood(model, test, { ...opts, k: iw });
    await sampleGrid(model, { n: 100, mean: true, seed: 0, file: join(out, `${name}-samples.png`) });
    const row = { model: name, elbo: e.elbo, reconstruction: e.reconstruction, kl: e.kl, [`iwae${iw}`]: ll, trainSeconds };
    results.push(row);
    console.log(
      `${name}: test ELBO ${e.elbo.toFixed(2)} (reconstruction ${e.reconstruction.toFixed(2)}, KL ${e.kl.toFixed(2)}), IWAE-${iw} ${ll.toFixed(2)}; training ${trainSeconds.toFixed(0)} s`,
    );
    model.dispose();
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify({ backend: describeBackend(info), epochs, iw, results }, null, 2));
  console.log(`wrote ${join(out, 'results.json')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
