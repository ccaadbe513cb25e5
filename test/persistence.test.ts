/**
 * save -> load gives identical outputs; the networks are in tfjs's own layers format; missing,
 * truncated and mismatched files give errors naming them.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GMVAE, IWAE, IWAEBound, loadModel, loadModelFiles, manualSeed, saveModelFiles, VAE, type SavedModel } from '../src/index.js';
import { useBackend } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const fresh = () => mkdtempSync(join(tmpdir(), 'dlvm-model-'));

/** Posterior means, decoder means and prior log-densities on fixed inputs. */
function outputs(model: VAE, x: tf.Tensor): number[][] {
  return tf.tidy(() => {
    const q = model.encoder.posterior(x);
    const z = q.mean;
    return [
      Array.from(z.dataSync()),
      Array.from(q.stddev.dataSync()),
      Array.from(model.decoder.likelihood(z).mean.dataSync()),
      Array.from(model.prior.distribution().logProb(z).dataSync()),
    ];
  });
}

describe('save and load', () => {
  it.each([
    ['VAE (Gaussian prior, Bernoulli decoder)', () => VAE.mlp({ inputShape: [4, 4], latentDim: 3, hidden: [8] })],
    ['GMVAE with learned weights', () => GMVAE.mlp({ inputShape: [4, 4], latentDim: 3, hidden: [8], components: 4, learnWeights: true })],
    [
      'VAE with a VampPrior and a Gaussian decoder',
      () => VAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [8], prior: { vamp: 5 }, likelihood: 'gaussian', scale: 0.3 }),
    ],
    ['IWAE with a learnable prior', () => IWAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [8], k: 7, prior: 'learnable' })],
  ])('%s: identical outputs after save -> load', async (_name, make) => {
    manualSeed(5);
    const model = make();
    // Move the prior away from its initial values so that loading must restore them.
    for (const v of model.prior.trainableVariables) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', 1)));
    const x = tf.tensor3d(
      Array.from({ length: 3 * 16 }, (_, i) => ((i * 7) % 5 > 1 ? 1 : 0)),
      [3, 4, 4],
    );
    const dir = fresh();
    await model.save(dir);
    const loaded = await loadModel(dir);
    expect(loaded.constructor).toBe(model.constructor);
    expect(loaded.objective.constructor).toBe(model.objective.constructor);
    if (model.objective instanceof IWAEBound) expect((loaded.objective as IWAEBound).k).toBe(7);
    expect(outputs(loaded, x)).toEqual(outputs(model, x));
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    model.dispose();
    loaded.dispose();
    x.dispose();
  });

  it('saveModelFiles / loadModelFiles: the same files in memory (a browser download), interchangeable with a folder', async () => {
    manualSeed(3);
    const model = GMVAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [8], components: 3 });
    const x = tf.tensor3d(
      Array.from({ length: 2 * 16 }, (_, i) => ((i * 5) % 3 > 0 ? 1 : 0)),
      [2, 4, 4],
    );
    const before = tf.memory().numTensors;
    const files = await saveModelFiles(model);
    expect(tf.memory().numTensors).toBe(before);
    expect([...files.keys()].sort()).toEqual([
      'decoder-state.bin',
      'decoder/model.json',
      'decoder/weights.bin',
      'encoder/model.json',
      'encoder/weights.bin',
      'model.json',
      'prior.bin',
    ]);
    // Written into a folder, loadModel (and so the CLI) reads them; a folder saveModel wrote, read into a map, loads too.
    const dir = fresh();
    for (const [name, bytes] of files) {
      mkdirSync(join(dir, ...name.split('/').slice(0, -1)), { recursive: true });
      writeFileSync(join(dir, ...name.split('/')), bytes);
    }
    const fromFolder = await loadModel(dir);
    expect(outputs(fromFolder, x)).toEqual(outputs(model, x));
    const dir2 = fresh();
    await model.save(dir2);
    const picked: Record<string, Uint8Array> = {};
    for (const name of files.keys()) picked[name] = new Uint8Array(readFileSync(join(dir2, ...name.split('/'))));
    const fromMap = await loadModelFiles(picked);
    expect(fromMap).toBeInstanceOf(GMVAE);
    expect(outputs(fromMap, x)).toEqual(outputs(model, x));
    // Missing and altered files are named, and nothing is left allocated.
    const count = tf.memory().numTensors;
    const missing = new Map(files);
    missing.delete('encoder/weights.bin');
    await expect(loadModelFiles(missing)).rejects.toThrow(/^loadModelFiles: encoder\/weights\.bin is missing/);
    const flipped = new Map(files);
    const bytes = new Uint8Array(files.get('prior.bin')!);
    bytes[0] = bytes[0]! ^ 1;
    flipped.set('prior.bin', bytes);
    await expect(loadModelFiles(flipped)).rejects.toThrow(/^loadModelFiles: prior\.bin does not match its checksum in model\.json/);
    const notModel = new Map([['model.json', new TextEncoder().encode('{"format":"something"}')]]);
    await expect(loadModelFiles(notModel)).rejects.toThrow(/^loadModelFiles: model\.json is not a dlvm model/);
    await expect(loadModelFiles(new Map([['model.json', new TextEncoder().encode('<html>')]]))).rejects.toThrow(
      /^loadModelFiles: model\.json is not valid JSON/,
    );
    expect(tf.memory().numTensors).toBe(count);
    await expect(loadModelFiles('run' as never)).rejects.toThrow(
      /^loadModelFiles: argument 'files' must be a Map \(or object\) of file names to Uint8Array bytes/,
    );
    await expect(saveModelFiles({} as never)).rejects.toThrow(/^saveModelFiles: argument 'model' must be a dlvm model/);
    for (const m of [model, fromFolder, fromMap]) m.dispose();
    x.dispose();
  });

  it('writes the networks in tfjs layers format, loadable by tf.loadLayersModel', async () => {
    const model = VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] });
    const dir = fresh();
    await model.save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'decoder', 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const saved = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as SavedModel;
    expect(saved).toMatchObject({
      format: 'dlvm-model',
      formatVersion: 1,
      class: 'VAE',
      decoder: { type: 'BernoulliDecoder', itemShape: [4] },
      prior: { type: 'GaussianPrior', latentDim: 2 },
    });
    model.dispose();
  });

  it('names the missing, corrupt, truncated or mismatched file', async () => {
    const model = GMVAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], components: 2 });
    const dir = fresh();
    await model.save(dir);
    const copy = (edit: (d: string) => void) => {
      const d = fresh();
      for (const f of ['model.json', 'prior.bin']) writeFileSync(join(d, f), readFileSync(join(dir, f)));
      for (const net of ['encoder', 'decoder']) {
        for (const f of ['model.json', 'weights.bin']) {
          const src = join(dir, net, f);
          const dst = join(d, net, f);
          mkdirSync(join(d, net), { recursive: true });
          writeFileSync(dst, readFileSync(src));
        }
      }
      edit(d);
      return d;
    };
    await expect(loadModel(join(dir, 'nope'))).rejects.toThrow(/loadModel: cannot read .*nope\/model\.json/);
    await expect(loadModel(copy((d) => writeFileSync(join(d, 'model.json'), '{"format": "dlvm-mo')))).rejects.toThrow(
      /loadModel: .*model\.json is not valid JSON \(truncated or corrupt\?\)/,
    );
    await expect(loadModel(copy((d) => writeFileSync(join(d, 'model.json'), '{"format": "other"}')))).rejects.toThrow(
      /loadModel: .*model\.json is not a dlvm model/,
    );
    await expect(loadModel(copy((d) => truncateSync(join(d, 'decoder', 'weights.bin'), 10)))).rejects.toThrow(
      /loadModel: .*decoder\/weights\.bin has 10 bytes, but .*decoder\/model\.json describes \d+ \(truncated or from another model\)/,
    );
    await expect(loadModel(copy((d) => truncateSync(join(d, 'prior.bin'), 4)))).rejects.toThrow(
      /loadModel: .*prior\.bin has 4 bytes, expected \d+ for the prior's variables/,
    );
    await expect(loadModel(copy((d) => rmSync(join(d, 'encoder', 'weights.bin'))))).rejects.toThrow(/loadModel: cannot read .*encoder\/weights\.bin/);
    // A layer file whose shapes disagree with its weights: the file is named, not only tfjs's "Shape mismatch".
    await expect(
      loadModel(
        copy((d) => {
          const f = join(d, 'decoder', 'model.json');
          const j = JSON.parse(readFileSync(f, 'utf8'));
          const specs = j.weightsManifest[0].weights as Array<{ shape: number[] }>;
          [specs[0]!.shape, specs[1]!.shape] = [specs[1]!.shape, specs[0]!.shape];
          writeFileSync(f, JSON.stringify(j));
        }),
      ),
    ).rejects.toThrow(/loadModel: .*decoder\/model\.json \(with .*decoder\/weights\.bin\) cannot be loaded as a layers model: /);
    model.dispose();
  });
});
