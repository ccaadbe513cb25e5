/**
 * A new user's first hour (issue 15), on the built package as users get it (dist/, run in a
 * separate Node process without vitest's transforms): uncaught errors print as without dlvm,
 * forgetting `await initBackend()` works (cpu, with one warning) or says what happened, class
 * names survive the bundle, and wrapped families name themselves in their errors.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { vi } from 'vitest';
import {
  ArrayDataset,
  BernoulliDecoder,
  checkArgs,
  ConditionalVAE,
  fit,
  GaussianEncoder,
  GaussianPrior,
  GMVAE,
  HierarchicalVAE,
  LogNormal,
  manualSeed,
  mlp,
  Normal,
  PPCA,
  RelaxedBernoulli,
  RelaxedOneHotCategorical,
  SSVAE,
  VAE,
} from '../src/index.js';
import { withSeed } from '../src/random.js';
import { useBackend } from './helpers/backends.js';

const root = resolve(__dirname, '..');
const dist = pathToFileURL(resolve(root, 'dist/index.js')).href;

/** Runs an ES module script in a fresh Node process (importing the built package as `dlvm`). */
function node(body: string, env: Record<string, string> = {}) {
  const script = `import * as dlvm from ${JSON.stringify(dist)};\nimport * as tf from '@tensorflow/tfjs-core';\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DLVM_BACKEND: '', DLVM_WASM_THREADS: '2', ...env },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('uncaught errors print as they would without dlvm', () => {
  // Node's own report of an uncaught error: the throwing line of the user's code, the message,
  // the stack, and exit code 1. tfjs's wasm module used to install handlers that rethrow: exit
  // code 7 and a line of tfjs's (minified) source before the message.
  const throwLater = "setTimeout(() => { throw new Error('my own bug'); }, 5);";

  it.each([
    ['wasm, 2 threads', '2'],
    ['wasm, 1 thread', '1'],
  ])('after initBackend on %s', (_label, threads) => {
    const r = node(
      `await dlvm.initBackend('wasm');\nconsole.log(process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection'));\n${throwLater}`,
      {
        DLVM_WASM_THREADS: threads,
      },
    );
    expect(r.stdout.trim()).toBe('0 0');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Error: my own bug/);
    expect(r.stderr).not.toMatch(/tfjs-backend-wasm|throw ex/);
    expect(r.stderr.length).toBeLessThan(2000);
  });

  it('an unhandled rejection of the user exits as Node does (code 1, the message first)', () => {
    const r = node("await dlvm.initBackend('wasm');\nPromise.reject(new Error('rejected by me'));");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Error: rejected by me/);
    expect(r.stderr).not.toMatch(/tfjs-backend-wasm|abort/i);
  });

  it("the user's own handlers are kept", () => {
    const r = node(
      "process.on('uncaughtException', (e) => { console.log('handled: ' + e.message); process.exit(0); });\n" +
        `await dlvm.initBackend('wasm');\n${throwLater}`,
    );
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('handled: my own bug');
  });
});

describe('forgetting await initBackend()', () => {
  it('the first use starts cpu and warns once, naming initBackend; models and distributions work', () => {
    const r = node(
      [
        'const n = new dlvm.Normal(0, 1);',
        'const vae = dlvm.VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] });',
        'const elbo = await vae.elbo(tf.zeros([2, 4])).data();',
        'console.log(JSON.stringify({ backend: tf.getBackend(), lp: (await n.logProb(0).data())[0], elbo: elbo.length }));',
      ].join('\n'),
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { backend: string; lp: number; elbo: number };
    expect(out.backend).toBe('cpu');
    expect(out.lp).toBeCloseTo(-0.9189385, 6);
    expect(out.elbo).toBe(2);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('dlvm:'));
    expect(warnings).toEqual([
      'dlvm: Normal ran before any backend was started, so dlvm started cpu, the slowest. Call `await initBackend()` (from dlvm) once before using dlvm: it starts the fastest backend available (tfjs-node, WebGPU, wasm with threads, else cpu).',
    ]);
    // tfjs's own banner (advising tfjs-node) is replaced by that warning.
    expect(r.stderr).not.toMatch(/Hi, looks like you are running TensorFlow\.js/);
  });

  it('a backend still starting (a start that was not awaited) gives a message saying so, not an argument error', () => {
    const r = node("void tf.setBackend('wasm');\ntry { new dlvm.Normal(0, 1); } catch (e) { console.log(e.name + ': ' + e.message); }");
    expect(r.stdout.trim()).toMatch(
      /^DlvmError: Normal: no tfjs backend is ready yet \(tfjs: .*has not yet been initialized.*\)\. Call `await initBackend\(\)` \(from dlvm\) once before using dlvm: .* Await it before the first use\.$/,
    );
  });
});

describe('class names survive the bundle', () => {
  it('classes keep their names, and errors and the KL advice name them (ESM and CommonJS builds)', () => {
    const body = [
      "await dlvm.initBackend('cpu');",
      'const names = [dlvm.Normal, dlvm.Independent, dlvm.MixtureSameFamily, dlvm.VAE, dlvm.ArrayDataset].map((c) => c.name);',
      "let scale = ''; try { new dlvm.Normal(0, -1); } catch (e) { scale = e.message; }",
      'const mix = new dlvm.MixtureSameFamily(new dlvm.Categorical({ logits: [0, 0] }), new dlvm.Normal([0, 1], [1, 1]));',
      'const ind = new dlvm.Independent(new dlvm.Normal([0, 0], [1, 1]), 1);',
      "let kl = ''; try { dlvm.klDivergence(ind, mix); } catch (e) { kl = e.message; }",
      'console.log(JSON.stringify({ names, scale, kl, dist: new dlvm.Normal(0, 1).name }));',
    ].join('\n');
    const esm = node(body);
    expect(esm.status, esm.stderr).toBe(0);
    const cjsScript = `const dlvm = require(${JSON.stringify(resolve(root, 'dist/index.cjs'))});\n(async () => {\n${body}\n})();`;
    const cjs = spawnSync(process.execPath, ['-e', cjsScript], { cwd: root, encoding: 'utf8', env: { ...process.env, DLVM_BACKEND: '' } });
    expect(cjs.status, cjs.stderr).toBe(0);
    for (const out of [esm.stdout, cjs.stdout]) {
      const o = JSON.parse(out.trim()) as { names: string[]; scale: string; kl: string; dist: string };
      expect(o.names).toEqual(['Normal', 'Independent', 'MixtureSameFamily', 'VAE', 'ArrayDataset']);
      expect(o.dist).toBe('Normal');
      expect(o.scale).toMatch(/^Normal: argument 'scale' /);
      expect(o.kl).toMatch(/KL\(Independent \|\| MixtureSameFamily\).*registerKL\(Independent, MixtureSameFamily, fn\)/);
      expect(o.kl).not.toMatch(/_[A-Z]/);
    }
  });
});

describe('messages and seeds', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('families built on another name themselves in their errors (LogNormal, not Normal)', async () => {
    const before = tf.memory().numTensors;
    expect(() => new LogNormal(0, -1)).toThrow(
      /^LogNormal: argument 'scale' \(Tensor of shape \[\]\) must satisfy the constraint GreaterThan\(lower_bound=0\), but found invalid values -1\.$/,
    );
    expect(() => new LogNormal('a' as never, 1)).toThrow(/^LogNormal: argument 'loc' must be/);
    expect(() => new RelaxedBernoulli(-1, { probs: 0.5 })).toThrow(/^RelaxedBernoulli: argument 'temperature' /);
    expect(() => new RelaxedOneHotCategorical(1, { probs: [0.5, -0.1] })).toThrow(/^RelaxedOneHotCategorical: argument 'probs' /);
    // Device values are checked at the next awaited read, with the same name.
    const scale = tf.tensor1d([1, -2]);
    const d = new LogNormal(0, scale);
    await expect(checkArgs()).rejects.toThrow(/^LogNormal: argument 'scale' \(Tensor of shape \[2\]\) must satisfy .* invalid values -2\.$/);
    d.dispose();
    scale.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("a call with its own seed leaves the user's manualSeed stream where it was", async () => {
    const draw = async () => Array.from(await new Normal(0, 1).sample([3]).data());
    manualSeed(7);
    const a = await draw();
    const b = await draw();
    manualSeed(7);
    expect(await draw()).toEqual(a);
    withSeed(123, () => new Normal(0, 1).sample([5]).dispose());
    await withSeed(5, async () => draw());
    expect(await draw(), 'the stream goes on from where it was').toEqual(b);
    manualSeed(null);
    withSeed(1, () => undefined);
    const u1 = await draw();
    const u2 = await draw();
    expect(u1, 'unseeded stays unseeded').not.toEqual(u2);
  });
});

describe('what a method returns, its caller frees with one dispose()', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('posteriors, likelihoods and priors own the tensors made for them, for every model', async () => {
    const models: Array<
      [
        string,
        {
          encoder: { posterior(x: tf.Tensor): { dispose(): void } };
          decoder: { likelihood(z: tf.Tensor): { dispose(): void } };
          prior: { distribution(): { dispose(): void }; latentDim?: number };
        },
        number,
      ]
    > = [
      ['VAE (Bernoulli)', VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] }), 2],
      ['VAE (Gaussian, learned variance)', VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], likelihood: 'gaussian', variance: 'learned-shared' }), 2],
      ['VAE (Gaussian, predicted variance)', VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], likelihood: 'gaussian', variance: 'predicted' }), 2],
      ['VAE (learnable prior)', VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], prior: 'learnable' }), 2],
      ['VAE (VampPrior)', VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], prior: { vamp: 3 } }), 2],
      ['GMVAE', GMVAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], components: 3 }), 2],
      ['VAE.conv', VAE.conv({ inputShape: [8, 8], latentDim: 2, channels: [2, 2] }), 2],
      ['HierarchicalVAE', HierarchicalVAE.mlp({ inputShape: [4], latentDims: [2, 2], hidden: [3] }), 4],
      [
        'PPCA',
        new PPCA({
          mean: [0, 0, 0, 0],
          W: [
            [1, 0],
            [0, 1],
            [0, 0],
            [1, 1],
          ],
          sigma2: 0.5,
          itemShape: [4],
        }),
        2,
      ],
    ];
    for (const [name, m, latent] of models) {
      const x = name === 'VAE.conv' ? tf.zeros([2, 8, 8]) : tf.zeros([2, 4]);
      const z = tf.randomNormal([2, latent], 0, 1, 'float32', 1);
      await checkArgs();
      const before = tf.memory().numTensors;
      m.prior.distribution().dispose();
      m.encoder.posterior(x).dispose();
      m.decoder.likelihood(z).dispose();
      await checkArgs();
      expect(tf.memory().numTensors, `${name}: tensors left`).toBe(before);
      tf.dispose([x, z]);
      (m as unknown as { dispose(): void }).dispose();
    }
  });

  it("the models' own methods too: encode, decode, elboParts (every part is the caller's)", async () => {
    const vae = VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] });
    const cvae = ConditionalVAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3], numClasses: 3 });
    const ssvae = SSVAE.mlp({ inputShape: [4], numClasses: 3, latentDim: 2, hidden: [3] });
    const x = tf.zeros([2, 4]);
    const z = tf.zeros([2, 2]);
    await checkArgs();
    const before = tf.memory().numTensors;
    vae.encode(x).dispose();
    vae.decode(z).dispose();
    cvae.encode(x, [0, 2]).dispose();
    cvae.decode(z, [1, 1]).dispose();
    ssvae.encode(x, [0, 1]).dispose();
    ssvae.classify(x).dispose();
    for (const p of [vae.elboParts(x), vae.loss(x), cvae.elboParts(x, [0, 1])]) tf.dispose([p.elbo, p.reconstruction, p.kl, ...('loss' in p ? [p.loss] : [])]);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, z]);
    for (const m of [vae, cvae, ssvae]) m.dispose();
  });

  it('a custom part can hand its tensors to the distribution it returns (Distribution.owning)', async () => {
    const { Distribution, Independent } = await import('../src/index.js');
    const net = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 4 })] });
    const posterior = (x: tf.Tensor) => {
      const [loc, scale] = tf.tidy(() => {
        const [m, r] = tf.split(net.apply(x) as tf.Tensor, 2, 1) as [tf.Tensor, tf.Tensor];
        return [m, tf.exp(r)];
      });
      return Distribution.owning(new Independent(new Normal(loc, scale), 1), [loc, scale]);
    };
    const x = tf.ones([3, 4]);
    await checkArgs();
    const before = tf.memory().numTensors;
    posterior(x).dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    const v = tf.variable(tf.zeros([2]));
    expect(() => Distribution.owning(new Normal(0, 1), [v])).toThrow(
      /^Distribution\.owning: argument 'made' must be tensors made for the distribution, not variables/,
    );
    expect(() => Distribution.owning({} as never, [])).toThrow(/^Distribution\.owning: argument 'd' must be a Distribution, but got an empty object \{\}\.$/);
    const n = new Normal(0, 1);
    expect(() => Distribution.owning(n, x as never)).toThrow(
      /^Distribution\.owning: argument 'made' must be an array of tensors, but got Tensor of shape \[3, 4\]\.$/,
    );
    n.dispose();
    tf.dispose([x, v]);
    net.dispose();
  });

  it('warns once when a Bernoulli decoder network ends in a sigmoid (outputs that look like probabilities)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      // The decoder of a port that kept torch's `nn.Sigmoid()` at the end.
      manualSeed(11);
      const init = (seed: number) => tfl.initializers.glorotNormal({ seed });
      const sigmoidNet = tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [2], units: 8, activation: 'tanh', kernelInitializer: init(1) }),
          tfl.layers.dense({ units: 16, activation: 'sigmoid', kernelInitializer: init(2) }),
        ],
      });
      const model = new VAE({
        encoder: new GaussianEncoder(mlp({ inputDim: 16, hidden: [8], outputDim: 4 })),
        decoder: new BernoulliDecoder(sigmoidNet, [16]),
        prior: new GaussianPrior(2),
      });
      const data = new ArrayDataset({ name: 'bits', itemShape: [16], values: Float32Array.from({ length: 16 * 32 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)) });
      await fit(model, data, { epochs: 2, batchSize: 8, seed: 0, progress: false, log: () => undefined });
      manualSeed(null);
      const ours = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('BernoulliDecoder'));
      expect(ours).toEqual([
        expect.stringMatching(
          /^dlvm: BernoulliDecoder: every output of its network lies in \[0, 1\], which looks like probabilities, but a BernoulliDecoder reads logits: end the network without a sigmoid/,
        ),
      ]);
      model.dispose();
      // A network that outputs logits is not warned about.
      warn.mockClear();
      const plain = VAE.mlp({ inputShape: [16], latentDim: 2, hidden: [8] });
      await fit(plain, data, { epochs: 1, batchSize: 8, progress: false, log: () => undefined });
      expect(warn.mock.calls.filter((c) => String(c[0]).includes('BernoulliDecoder'))).toEqual([]);
      plain.dispose();
    } finally {
      warn.mockRestore();
    }
  });
});
