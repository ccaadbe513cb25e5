/**
 * Failures leave no tensors behind, and dispose() frees everything: a loss that throws inside
 * fit, loadModel of truncated or corrupt files, presets that reject their options, and the
 * dispose of every model class (issue 14, "Leaks on error paths").
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConditionalVAE, fit, GMVAE, HierarchicalVAE, loadModel, SSVAE, toyDataset, VAE } from '../src/index.js';
import { expectNoLeak, useBackend } from './helpers/backends.js';

const base = mkdtempSync(join(tmpdir(), 'dlvm-leaks-'));

beforeAll(async () => {
  await useBackend('cpu');
});

describe('no tensors are left behind on error paths', () => {
  it('a loss that throws inside fit: the error comes out, nothing stays (it was 47 tensors per failure)', async () => {
    const vae = VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [4], likelihood: 'gaussian', scale: 1 });
    const data = toyDataset('square', { n: 50, seed: 0 });
    let calls = 0;
    const failing = {
      trainableVariables: vae.trainableVariables,
      loss: (x: tf.Tensor) => {
        vae.loss(x); // the tensors of a real loss, then the failure
        if (++calls === 2) throw new Error('the loss failed');
        return vae.loss(x);
      },
    };
    await expectNoLeak(async () => {
      await expect(fit(failing as never, data, { epochs: 1, batchSize: 10, progress: false, log: () => undefined })).rejects.toThrow(/^the loss failed$/);
    });
    vae.dispose();
  });

  it('loadModel of a truncated or corrupt file frees what it loaded before the failure', async () => {
    const gm = join(base, 'gmvae');
    const g = GMVAE.mlp({ inputShape: [2], latentDim: 2, hidden: [4], components: 3, likelihood: 'gaussian', scale: 1 });
    await g.save(gm);
    g.dispose();
    const ss = join(base, 'ssvae');
    const s = SSVAE.mlp({ inputShape: [4], numClasses: 2, latentDim: 2, hidden: [3] });
    await s.save(ss);
    s.dispose();
    const cases: Array<[string, string, string, number]> = [
      ['prior.bin truncated', gm, 'prior.bin', 5],
      ['decoder weights truncated', gm, 'decoder/weights.bin', 5],
      ['decoder model.json corrupt', gm, 'decoder/model.json', -1],
      ['SSVAE classifier weights truncated', ss, 'classifier/weights.bin', 3],
    ];
    for (const [name, source, file, keep] of cases) {
      const copy = join(base, name.replace(/\W+/g, '-'));
      cpSync(source, copy, { recursive: true });
      writeFileSync(join(copy, file), keep < 0 ? '{' : readFileSync(join(copy, file)).subarray(0, keep));
      await expectNoLeak(async () => {
        await expect(loadModel(copy), name).rejects.toThrow(/^loadModel: /);
      });
    }
    // Loading and disposing again and again leaves nothing (every GMVAE load used to leave 6).
    await expectNoLeak(async () => {
      for (let i = 0; i < 5; i++) (await loadModel(gm)).dispose();
    });
  });

  it('presets that reject their options leave nothing', async () => {
    await expectNoLeak(() => {
      expect(() => VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [4], prior: 'bogus' as never })).toThrow(/VAE\.mlp: argument 'options\.prior'/);
      expect(() => SSVAE.mlp({ inputShape: [4], numClasses: 2, latentDim: 2, hidden: [3], alpha: -1 })).toThrow(
        /SSVAE: argument 'alpha' must be a nonnegative number/,
      );
    });
  });

  it('dispose() frees every tensor of every model class', async () => {
    await expectNoLeak(() => {
      HierarchicalVAE.mlp({ inputShape: [2], latentDims: [2, 1], hidden: [4] }).dispose(); // left 1
      VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [4], likelihood: 'gaussian', variance: 'learned-per-value', prior: { vamp: 3 } }).dispose(); // left the learned scale
      GMVAE.mlp({ inputShape: [2], latentDim: 2, hidden: [4], components: 3 }).dispose(); // left 3
      VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [4], prior: 'learnable' }).dispose();
      SSVAE.mlp({ inputShape: [4], numClasses: 2, latentDim: 2, hidden: [3] }).dispose();
      ConditionalVAE.mlp({ inputShape: [4], numClasses: 2, latentDim: 2, hidden: [3] }).dispose();
      VAE.conv({ inputShape: [4, 4], latentDim: 2, channels: [2, 4] }).dispose();
    });
  });
});
