/**
 * Parts of your own (issue 15): a prior, an encoder and a decoder written as plain objects or
 * classes typecheck as `Prior`, `Encoder`, `Decoder` without casts (this file is typechecked by
 * `npm run typecheck`), wrong parts are refused with a message that lists what was received,
 * `registerPart` saves and loads them with the model, and `GaussianEncoder` takes torch ports'
 * exp scale.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BernoulliDecoder,
  checkArgs,
  Distribution,
  evaluateElbo,
  GaussianEncoder,
  Independent,
  Laplace,
  loadModel,
  manualSeed,
  mlp,
  Normal,
  registerPart,
  saveModel,
  VAE,
  type Decoder,
  type Encoder,
  type Network,
  type Prior,
  type SavedModel,
} from '../src/index.js';
import { useBackend } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** A Laplace prior with a learned scale: p(z) = prod_i Laplace(z_i; 0, softplus(rho)). */
class LaplacePrior implements Prior {
  readonly trainableVariables: tf.Variable[];
  constructor(
    readonly latentDim: number,
    readonly rho: tf.Variable = tf.variable(tf.zeros([latentDim])),
  ) {
    this.trainableVariables = [rho];
  }
  distribution(): Distribution {
    const scale = tf.softplus(this.rho);
    return Distribution.owning(new Independent(new Laplace(tf.zerosLike(scale), scale), 1), [scale]);
  }
  dispose(): void {
    this.rho.dispose();
  }
}

/** An encoder as in DTU 02460's vae_bernoulli.py: one network, q = N(mean, exp(std)). */
class ExpEncoder implements Encoder {
  constructor(readonly net: Network) {}
  get trainableVariables(): tf.Variable[] {
    return this.net.trainableWeights.map((w) => w.read() as tf.Variable);
  }
  posterior(x: tf.Tensor): Distribution {
    const [loc, scale] = tf.tidy(() => {
      const [m, s] = tf.split(this.net.apply(tf.reshape(x, [x.shape[0]!, -1])) as tf.Tensor, 2, -1) as [tf.Tensor, tf.Tensor];
      return [m, tf.exp(s)];
    });
    return Distribution.owning(new Independent(new Normal(loc, scale), 1), [loc, scale]);
  }
}

const dense = (inputs: number, units: number, seed: number) =>
  tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [inputs], units, kernelInitializer: tfl.initializers.glorotNormal({ seed }) })] });

describe('parts of your own', () => {
  it('plain objects of the right shape are parts (no cast), and a VAE built from them trains and evaluates', async () => {
    const prior: Prior = { latentDim: 2, trainableVariables: [], distribution: () => new Independent(new Normal([0, 0], [1, 1]), 1) };
    const net = dense(4, 4, 1);
    const encoder: Encoder = new ExpEncoder(net);
    const decNet = dense(2, 4, 2);
    const decoder: Decoder = {
      itemShape: [4],
      trainableVariables: decNet.trainableWeights.map((w) => w.read() as tf.Variable),
      likelihood: (z) => new BernoulliDecoder(decNet, [4]).likelihood(z),
      dispose: () => decNet.dispose(),
    };
    const vae = new VAE({ prior, encoder, decoder });
    expect(vae.inputShape).toEqual([4]);
    const x = tf.tensor2d([
      [0, 1, 1, 0],
      [1, 0, 0, 1],
    ]);
    const r = await evaluateElbo(vae, x);
    expect(Number.isFinite(r.elbo)).toBe(true);
    x.dispose();
    vae.dispose();
  });

  it('a part without its method is refused with what it holds', () => {
    const encoder = new ExpEncoder(dense(4, 4, 1));
    const decoder = new BernoulliDecoder(mlp({ inputDim: 2, hidden: [3], outputDim: 4 }), [4]);
    // The message lists the keys of a plain object (it used to say [object Object]).
    expect(() => new VAE({ prior: { latentDim: 2, trainableVariables: [] } as never, encoder, decoder })).toThrow(
      /^VAE: argument 'prior' must be an object with distribution\(\), but got an object with keys \{ latentDim, trainableVariables \}\.$/,
    );
    expect(() => new VAE({ prior: new LaplacePrior(2), encoder: decoder as never, decoder })).toThrow(
      /^VAE: argument 'encoder' must be an object with posterior\(\), but got a BernoulliDecoder\.$/,
    );
    encoder.net.dispose();
    decoder.net.dispose();
  });

  it('registerPart saves and loads a prior and an encoder of your own; an unregistered part is refused, naming registerPart', async () => {
    manualSeed(5);
    const prior = new LaplacePrior(2);
    prior.rho.assign(tf.tensor1d([0.3, -0.7]));
    const vae = new VAE({
      prior,
      encoder: new ExpEncoder(dense(16, 4, 3)),
      decoder: new BernoulliDecoder(mlp({ inputDim: 2, hidden: [5], outputDim: 16 }), [4, 4]),
    });
    manualSeed(null);
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-parts-'));
    await expect(saveModel(vae, join(dir, 'unregistered'))).rejects.toThrow(
      /^saveModel: the model's encoder \(a ExpEncoder\) is not one of dlvm's, and no registerPart\(\{ kind: 'encoder', type, matches, save, load \}\) matches it; register how to save and load it/,
    );
    registerPart<LaplacePrior>({
      kind: 'prior',
      type: 'LaplacePrior',
      matches: (p) => p instanceof LaplacePrior,
      save: (p) => ({ config: { latentDim: p.latentDim }, variables: { rho: p.rho } }),
      load: ({ config, variables }) => new LaplacePrior(config['latentDim'] as number, tf.variable(variables['rho']!)),
    });
    registerPart<ExpEncoder>({
      kind: 'encoder',
      type: 'ExpEncoder',
      matches: (e) => e instanceof ExpEncoder,
      save: (e) => ({ nets: { net: e.net } }),
      load: ({ nets }) => new ExpEncoder(nets['net']!),
    });
    await saveModel(vae, join(dir, 'model'));
    const json = JSON.parse(readFileSync(join(dir, 'model', 'model.json'), 'utf8')) as SavedModel;
    expect(json.prior).toMatchObject({ type: 'custom', part: 'LaplacePrior', config: { latentDim: 2 }, variables: [{ name: 'rho', shape: [2] }] });
    expect(json.encoder).toMatchObject({ type: 'custom', part: 'ExpEncoder', nets: { net: 'encoder-net' } });
    expect(Object.keys(json.checksums!)).toEqual(
      expect.arrayContaining(['encoder-net/model.json', 'encoder-net/weights.bin', 'prior-state.bin', 'encoder-state.bin']),
    );
    const before = tf.memory().numTensors;
    const back = await loadModel(join(dir, 'model'));
    expect(back.prior).toBeInstanceOf(LaplacePrior);
    expect(back.encoder).toBeInstanceOf(ExpEncoder);
    expect(Array.from(await (back.prior as LaplacePrior).rho.data())).toEqual(Array.from(await prior.rho.data()));
    // The same model: the same ELBO with the same seed.
    const x = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([6, 4, 4], 0, 1, 'float32', 9), 0.5), 'float32'));
    const [a, b] = [await evaluateElbo(vae, x, { seed: 1 }), await evaluateElbo(back, x, { seed: 1 })];
    expect(b.elbo).toBeCloseTo(a.elbo, 5);
    x.dispose();
    back.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    vae.dispose();
  });

  it('registerPart checks its spec', () => {
    expect(() => registerPart({ kind: 'likelihood', type: 'X', matches: () => true, save: () => ({}), load: () => ({}) } as never)).toThrow(
      /^registerPart: argument 'spec\.kind' must be 'prior', 'encoder' or 'decoder', but got "likelihood"\.$/,
    );
    expect(() => registerPart({ kind: 'prior', type: 'GaussianPrior', matches: () => true, save: () => ({}), load: () => ({}) })).toThrow(
      /spec\.type' must be a nonempty type name other than dlvm's own/,
    );
    expect(() => registerPart({ kind: 'prior', type: 'P', matches: () => true, save: () => ({}) } as never)).toThrow(/spec\.load' must be a function/);
  });
});

describe("GaussianEncoder's scale", () => {
  it("'exp' gives q = N(mean, exp(raw)) as vae_bernoulli.py; the default softplus(raw) + 1e-5; saved with the model", async () => {
    const net = dense(3, 4, 4);
    const x = tf.tensor2d([[0.5, -1, 2]]);
    const raw = await (net.apply(x) as tf.Tensor).data();
    for (const [scale, f] of [
      ['exp', Math.exp],
      ['softplus', (r: number) => Math.log1p(Math.exp(r)) + 1e-5],
    ] as const) {
      const q = new GaussianEncoder(net, { scale }).posterior(x);
      const sd = await q.stddev.data();
      expect(Array.from(sd).map((v) => +v.toFixed(5))).toEqual([raw[2]!, raw[3]!].map((r) => +f(r).toFixed(5)));
      q.dispose();
    }
    expect(() => new GaussianEncoder(net, { scale: 'relu' as never })).toThrow(
      /^GaussianEncoder: argument 'options\.scale' must be 'softplus' or 'exp', but got "relu"\.$/,
    );
    x.dispose();
    net.dispose();
    const vae = VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], posteriorScale: 'exp' });
    expect((vae.encoder as GaussianEncoder).scale).toBe('exp');
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-exp-'));
    await saveModel(vae, dir);
    const back = await loadModel(dir);
    expect((back.encoder as GaussianEncoder).scale).toBe('exp');
    vae.dispose();
    back.dispose();
  });
});
