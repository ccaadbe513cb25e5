/**
 * Pictures: every PNG is decoded and checked (dimensions, not blank, pixels where they belong,
 * the legend's colours present).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkArgs,
  aggregatePosterior,
  Bernoulli,
  decodePng,
  encodePng,
  imageGrid,
  Independent,
  latentManifold,
  lineChart,
  Normal,
  PALETTE,
  reconstructionGrid,
  sampleGrid,
  toyDataset,
  toyPanels,
  trainingCurves,
  loadMnist,
  type LatentVariableModel,
  type Raster,
} from '../src/index.js';
import { randn, useBackend } from './helpers/backends.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** Grey level of pixel (x, y). */
const grey = (r: Raster, x: number, y: number) => r.data[(y * r.width + x) * 4]!;

/** Number of pixels within `tol` (per channel) of a hex colour. */
function countColour(r: Raster, hex: string, tol = 8): number {
  const [cr, cg, cb] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let count = 0;
  for (let i = 0; i < r.data.length; i += 4) {
    if (Math.abs(r.data[i]! - cr!) <= tol && Math.abs(r.data[i + 1]! - cg!) <= tol && Math.abs(r.data[i + 2]! - cb!) <= tol) count++;
  }
  return count;
}

/** Fraction of pixels that are not white. */
/** The fraction of pixels with ink: not black (the default draws white digits on black, as torchvision). */
function inked(r: Raster): number {
  let n = 0;
  for (let i = 0; i < r.data.length; i += 4) if (r.data[i]! > 5 || r.data[i + 1]! > 5 || r.data[i + 2]! > 5) n++;
  return n / (r.width * r.height);
}

/** A fixed model with a 2-D latent: Bernoulli pixels with logits linear in z; q(z|x) linear in x. */
function tinyModel(pixels: number, latent = 2): LatentVariableModel {
  const a = tf.tensor2d(randn(latent * pixels, 1), [latent, pixels]).mul(3);
  const c = tf.tensor1d(randn(pixels, 2)).sub(1);
  const enc = tf.tensor2d(randn(pixels * latent, 3), [pixels, latent]).mul(0.05);
  return {
    encoder: { posterior: (x) => new Independent(new Normal(tf.matMul(tf.reshape(x, [x.shape[0]!, -1]), enc), 0.1), 1) },
    decoder: { likelihood: (z) => new Independent(new Bernoulli({ logits: tf.add(tf.matMul(z, a), c) }), 1) },
    prior: { distribution: () => new Independent(new Normal(tf.zeros([latent]), 1), 1) },
  };
}

describe('image grids', () => {
  it('places image k at row floor(k / cols), column k mod cols, white on black as torchvision (invert: dark on white)', async () => {
    const imgs = tf.tensor3d([
      [
        [0, 1],
        [1, 0],
      ],
      [
        [1, 1],
        [0, 0],
      ],
      [
        [0.5, 0],
        [0, 0.5],
      ],
    ]);
    const raster = await imageGrid(imgs, { cols: 2, pad: 1 });
    expect([raster.width, raster.height]).toEqual([2 * 3 + 1, 2 * 3 + 1]);
    const back = await decodePng(await encodePng(raster));
    expect(back.width).toBe(7);
    // Image 1 (second column): pixel (0, 0) is 1 -> white; image 2 (second row): (0, 0) is 0.5 -> 128.
    expect(grey(back, 1 + 3, 1)).toBe(255);
    expect(grey(back, 1, 1 + 3)).toBe(128);
    expect(grey(back, 0, 0)).toBe(0); // padding
    const inverted = await imageGrid(imgs, { cols: 2, pad: 1, invert: true });
    expect(grey(inverted, 1 + 3, 1)).toBe(0);
    expect(grey(inverted, 0, 0)).toBe(255);
    imgs.dispose();
  });
});

describe('model pictures', () => {
  let model: LatentVariableModel;
  beforeAll(async () => {
    await useBackend('cpu');
    model = tinyModel(784);
  });

  it('sampleGrid: n images of 28x28; samples are binary, decoder means are grey', async () => {
    await checkArgs();
    const before = tf.memory().numTensors;
    const sample = await decodePng(await sampleGrid(model, { n: 20, cols: 5, seed: 1 }));
    const mean = await decodePng(await sampleGrid(model, { n: 20, cols: 5, mean: true, seed: 1 }));
    expect([sample.width, sample.height]).toEqual([5 * 30 + 2, 4 * 30 + 2]);
    await checkArgs();
    expect(tf.memory().numTensors).toBe(before);
    const levels = (r: Raster) => new Set(Array.from({ length: 28 * 28 }, (_, i) => grey(r, 2 + (i % 28), 2 + Math.floor(i / 28))));
    expect([...levels(sample)].every((g) => g === 0 || g === 255)).toBe(true);
    expect(levels(mean).size).toBeGreaterThan(20);
    expect(inked(sample)).toBeGreaterThan(0.1);
  });

  it('reconstructionGrid: originals exactly above their reconstructions', async () => {
    const test = await loadMnist({ split: 'test', download: false });
    const x = test.tensor([0, 1, 2, 3, 4]);
    const r = await decodePng(await reconstructionGrid(model, x, { cols: 5, pad: 2 }));
    expect([r.width, r.height]).toEqual([5 * 30 + 2, 2 * 30 + 2]);
    const v = x.dataSync();
    for (const [i, j] of [
      [14, 14],
      [10, 20],
      [20, 5],
    ] as const) {
      for (let k = 0; k < 5; k++) {
        expect(grey(r, 2 + k * 30 + j, 2 + i)).toBe(Math.round(255 * v[k * 784 + i * 28 + j]!));
      }
    }
    x.dispose();
  });

  it('latentManifold: the top-left image decodes z = (-range, +range)', async () => {
    const r = await decodePng(await latentManifold(model, { steps: 5, range: 2 }));
    expect([r.width, r.height]).toEqual([5 * 28, 5 * 28]);
    const expected = tf.tidy(() => model.decoder.likelihood(tf.tensor2d([[-2, 2]])).mean.dataSync());
    for (const [i, j] of [
      [0, 0],
      [13, 7],
      [27, 27],
    ] as const) {
      expect(grey(r, j, i)).toBe(Math.round(255 * expected[i * 28 + j]!));
    }
    await expect(latentManifold(model, { dims: [0, 5] })).rejects.toThrow(
      /latentManifold: argument 'options.dims' must be two different latent dimensions in \[0, 2\)/,
    );
  });

  it('aggregatePosterior: a scatter with one palette colour per label (PCA above 2 dimensions)', async () => {
    const test = await loadMnist({ split: 'test', download: false });
    const r = await decodePng(await aggregatePosterior(tinyModel(784, 5), test, { n: 500 }));
    expect(r.width).toBeGreaterThan(600);
    for (let k = 0; k < 10; k++) expect(countColour(r, PALETTE[k]!), `colour of label ${k}`).toBeGreaterThan(20);
  });

  it('toyPanels: three panels coloured by quadrant', async () => {
    const square = toyDataset('square', { n: 400 });
    const toy: LatentVariableModel = {
      encoder: { posterior: (x) => new Independent(new Normal(tf.mul(tf.sub(x, 0.5), 2), 0.1), 1) },
      decoder: { likelihood: (z) => new Independent(new Normal(tf.add(tf.div(z, 2), 0.5), 0.05), 1) },
      prior: { distribution: () => new Independent(new Normal(tf.zeros([2]), 1), 1) },
    };
    const r = await decodePng(await toyPanels(toy, square));
    expect(r.width).toBeGreaterThan(2.5 * r.height);
    for (let k = 0; k < 4; k++) expect(countColour(r, PALETTE[k]!)).toBeGreaterThan(50);
  });

  it('trainingCurves: three panels, train and validation lines', async () => {
    const history = Array.from({ length: 20 }, (_, i) => [
      { step: i * 100, split: 'train', elbo: -200 + 80 * (1 - Math.exp(-i / 5)), reconstruction: 180 - 70 * (1 - Math.exp(-i / 5)), kl: 20 + i * 0.3 },
      ...(i % 5 === 4 ? [{ step: i * 100, split: 'validation', elbo: -195 + 80 * (1 - Math.exp(-i / 5)), reconstruction: 175, kl: 22 }] : []),
    ]).flat();
    const r = await decodePng(await trainingCurves(history));
    expect(r.width).toBeGreaterThan(2 * r.height);
    expect(countColour(r, PALETTE[0]!)).toBeGreaterThan(100);
    expect(countColour(r, PALETTE[1]!)).toBeGreaterThan(20);
    await expect(trainingCurves([])).rejects.toThrow(/trainingCurves: argument 'history' must be a non-empty array/);
    await expect(lineChart([])).rejects.toThrow(/lineChart: argument 'points'/);
  });
});
