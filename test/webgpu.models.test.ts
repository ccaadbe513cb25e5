/**
 * Every model on WebGPU against the cpu backend with identical weights and noise: loss and
 * gradients, fit with validation (same history), every evaluation function, save -> load, a
 * picture, and a flat tensor count over 200 fit steps. In CI this runs on Dawn over Mesa's
 * software OpenGL ES (see test/helpers/backends.ts `useBackend('webgpu')`); all reads are awaited.
 *
 * dlvm seeds tfjs's random ops, whose values are drawn on the host, so with the same seed both
 * backends see the same noise and the same initial weights.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeUnits,
  ArrayDataset,
  BetaVAE,
  checkArgs,
  classificationAccuracy,
  ConditionalVAE,
  decodePng,
  evaluateElbo,
  fit,
  GMVAE,
  HierarchicalVAE,
  iwaeLogLikelihood,
  IWAE,
  klPerDimension,
  loadModel,
  manualSeed,
  reconstructionMse,
  sampleGrid,
  saveModel,
  SSVAE,
  VAE,
} from '../src/index.js';
import { expectClose, rng, useBackend } from './helpers/backends.js';

const D = 16; // 4 x 4 images for the conv VAE
const N = 48;
const C = 3;
const u = rng(5);
const X = Float32Array.from({ length: N * D }, () => (u() < 0.4 ? 1 : 0));
const LABELS = Int32Array.from({ length: N }, (_, i) => i % C);
const data = () => new ArrayDataset({ values: X, itemShape: [D], labels: LABELS, name: 'bits' });

/** A model under test: its variables, its objective on (x, y), and dispose. */
interface Built {
  trainableVariables: tf.Variable[];
  loss(x: tf.Tensor, y: tf.Tensor): tf.Scalar;
  dispose(): void;
}
interface Case {
  name: string;
  make(): Built;
}
const built = (m: { trainableVariables: tf.Variable[]; dispose(): void }, loss: (x: tf.Tensor, y: tf.Tensor) => tf.Scalar): Built => ({
  trainableVariables: m.trainableVariables,
  loss,
  dispose: () => m.dispose(),
});
const plain = (m: VAE | HierarchicalVAE) => built(m, (x) => m.loss(x).loss);

const CASES: Case[] = [
  { name: 'VAE (MLP, Bernoulli)', make: () => plain(VAE.mlp({ inputShape: [D], latentDim: 3, hidden: [8] })) },
  {
    name: 'VAE (conv)',
    make: () => {
      const m = VAE.conv({ inputShape: [4, 4], latentDim: 2, channels: [2, 4] });
      return built(m, (x) => m.loss(tf.reshape(x, [-1, 4, 4])).loss);
    },
  },
  {
    name: 'VAE (Gaussian likelihood, predicted variance)',
    make: () => plain(VAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], likelihood: 'gaussian', variance: 'predicted' })),
  },
  { name: 'VAE (VampPrior)', make: () => plain(VAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], prior: { vamp: 3 } })) },
  { name: 'BetaVAE', make: () => plain(BetaVAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], beta: 4 })) },
  { name: 'GMVAE', make: () => plain(GMVAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], components: 3 })) },
  { name: 'IWAE', make: () => plain(IWAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], k: 3 })) },
  {
    name: 'ConditionalVAE',
    make: () => {
      const m = ConditionalVAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], numClasses: C });
      return built(m, (x, y) => m.loss(x, { y }).loss);
    },
  },
  {
    name: 'SSVAE',
    make: () => {
      const m = SSVAE.mlp({ inputShape: [D], numClasses: C, latentDim: 2, hidden: [6] });
      return built(m, (x, y) => m.loss(x, { labelled: { x: tf.slice(x, [0, 0], [4, D]), y: tf.slice(y, [0], [4]) } }).loss);
    },
  },
  { name: 'HierarchicalVAE', make: () => plain(HierarchicalVAE.mlp({ inputShape: [D], latentDims: [3, 2], hidden: [8], topHidden: [4] })) },
];

/** Loss and gradients of `c` on `backend`, with weights and noise from seed 1 and 2. */
async function lossAndGrads(c: Case, backend: 'cpu' | 'webgpu'): Promise<{ loss: number; grads: number[][] }> {
  await useBackend(backend);
  manualSeed(1);
  const model = c.make();
  manualSeed(2);
  const x = tf.tensor2d(X.subarray(0, 16 * D), [16, D]);
  const y = tf.tensor1d(LABELS.subarray(0, 16), 'int32');
  const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.trainableVariables);
  manualSeed(null);
  const names = model.trainableVariables.map((v) => v.name);
  const out = { loss: (await value.data())[0]!, grads: await Promise.all(names.map(async (n) => Array.from(await grads[n]!.data()))) };
  await checkArgs();
  tf.dispose([value, x, y, ...Object.values(grads)]);
  model.dispose();
  return out;
}

describe('models on webgpu match cpu with identical weights', () => {
  beforeAll(async () => {
    await useBackend('webgpu');
  });
  afterAll(() => manualSeed(null));

  it.each(CASES.map((c) => [c.name, c] as const))('%s: loss and gradients', async (_name, c) => {
    const cpu = await lossAndGrads(c, 'cpu');
    const gpu = await lossAndGrads(c, 'webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(Number.isFinite(cpu.loss)).toBe(true);
    expectClose([gpu.loss], [cpu.loss], { rtol: 1e-5, atol: 1e-5, label: `${c.name} loss` });
    expect(gpu.grads.length).toBe(cpu.grads.length);
    gpu.grads.forEach((g, i) => expectClose(g, cpu.grads[i]!, { rtol: 1e-3, atol: 2e-5, label: `${c.name} gradient ${i}` }));
  });
});

/** Trains a fresh seeded VAE for 2 epochs with validation on `backend`; returns the history and evaluations. */
async function trainAndEvaluate(backend: 'cpu' | 'webgpu') {
  await useBackend(backend);
  manualSeed(3);
  const vae = VAE.mlp({ inputShape: [D], latentDim: 3, hidden: [8] });
  const ssvae = SSVAE.mlp({ inputShape: [D], numClasses: C, latentDim: 2, hidden: [6] });
  const train = data();
  const result = await fit(vae, train, { epochs: 2, batchSize: 16, seed: 0, validationData: train, progress: false, log: () => undefined });
  const opts = { seed: 4 };
  const evaluation = {
    elbo: await evaluateElbo(vae, train, opts),
    iwae: await iwaeLogLikelihood(vae, train, { ...opts, k: 5 }),
    mse: await reconstructionMse(vae, train, opts),
    active: await activeUnits(vae, train, opts),
    klDims: await klPerDimension(vae, train, opts),
    accuracy: await classificationAccuracy((x) => ssvae.classify(x), train),
  };
  manualSeed(null);
  vae.dispose();
  ssvae.dispose();
  return { history: result.history, evaluation };
}

describe('fit and the evaluation functions on webgpu', () => {
  it('fit with validation gives the cpu history; every evaluation function gives the cpu figures', async () => {
    const cpu = await trainAndEvaluate('cpu');
    const gpu = await trainAndEvaluate('webgpu');
    expect(gpu.history.map((r) => [r.step, r.split])).toEqual(cpu.history.map((r) => [r.step, r.split]));
    expect(gpu.history.some((r) => r.split === 'validation')).toBe(true);
    for (const key of ['loss', 'elbo', 'reconstruction', 'kl'] as const) {
      expectClose(
        gpu.history.map((r) => r[key]),
        cpu.history.map((r) => r[key]),
        { rtol: 1e-4, atol: 1e-4, label: `history ${key}` },
      );
    }
    const e = gpu.evaluation;
    const c = cpu.evaluation;
    expectClose([e.elbo.elbo, e.elbo.reconstruction, e.elbo.kl], [c.elbo.elbo, c.elbo.reconstruction, c.elbo.kl], {
      rtol: 1e-4,
      atol: 1e-4,
      label: 'evaluateElbo',
    });
    expectClose([e.iwae, e.mse], [c.iwae, c.mse], { rtol: 1e-4, atol: 1e-5, label: 'iwae, mse' });
    expectClose(e.active.variances, c.active.variances, { rtol: 1e-3, atol: 1e-6, label: 'activeUnits' });
    expect(e.active.count).toBe(c.active.count);
    expectClose(e.klDims, c.klDims, { rtol: 1e-4, atol: 1e-5, label: 'klPerDimension' });
    expect(e.accuracy).toBe(c.accuracy);
  });
});

describe('saving, pictures and memory on webgpu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlvm-webgpu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('save -> load keeps the model: the same loss with the same noise', async () => {
    await useBackend('webgpu');
    manualSeed(6);
    const vae = GMVAE.mlp({ inputShape: [D], latentDim: 2, hidden: [8], components: 3 });
    const x = tf.tensor2d(X.subarray(0, 8 * D), [8, D]);
    const lossOf = async (m: VAE) => {
      manualSeed(7);
      const l = tf.tidy(() => m.loss(x).loss);
      const v = (await l.data())[0]!;
      l.dispose();
      return v;
    };
    const before = await lossOf(vae);
    await saveModel(vae, join(dir, 'gmvae'));
    const loaded = await loadModel(join(dir, 'gmvae'));
    expect(await lossOf(loaded)).toBeCloseTo(before, 5);
    manualSeed(null);
    tf.dispose(x);
    vae.dispose();
    loaded.dispose();
    await checkArgs();
  });

  it('sampleGrid draws the same picture as on cpu', async () => {
    const draw = async (backend: 'cpu' | 'webgpu') => {
      await useBackend(backend);
      manualSeed(8);
      const vae = VAE.mlp({ inputShape: [4, 4], latentDim: 2, hidden: [8] });
      const png = await sampleGrid(vae, { n: 4, mean: true, seed: 9 });
      vae.dispose();
      manualSeed(null);
      return decodePng(png);
    };
    const cpu = await draw('cpu');
    const gpu = await draw('webgpu');
    expect([gpu.width, gpu.height]).toEqual([cpu.width, cpu.height]);
    let worst = 0;
    for (let i = 0; i < cpu.data.length; i++) worst = Math.max(worst, Math.abs(cpu.data[i]! - gpu.data[i]!));
    expect(worst).toBeLessThanOrEqual(1); // one grey level of rounding
  });

  it('the tensor count is flat over 200 fit steps', async () => {
    await useBackend('webgpu');
    await checkArgs();
    const start = tf.memory().numTensors;
    manualSeed(10);
    const vae = VAE.mlp({ inputShape: [D], latentDim: 3, hidden: [8] });
    const counts: number[] = [];
    const result = await fit(vae, data(), {
      epochs: 100,
      batchSize: 8,
      maxSteps: 200,
      seed: 0,
      progress: false,
      log: () => undefined,
      callbacks: { onStepEnd: (s) => s > 3 && counts.push(tf.memory().numTensors) },
    });
    manualSeed(null);
    expect(result.steps).toBe(200);
    expect(counts.length).toBe(197); // steps 4..200
    expect(new Set(counts).size).toBe(1);
    vae.dispose();
    await checkArgs();
    expect(tf.memory().numTensors).toBe(start);
  });
});
