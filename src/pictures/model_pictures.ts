/**
 * The pictures a person looks at to judge a latent variable model: sample grids,
 * reconstructions, the latent manifold, the aggregate posterior, toy 2-D panels and training
 * curves. Each returns PNG bytes and, given `file`, also writes them there (Node).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readAndFree } from '../distributions/pending_checks.js';
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { argError, DlvmError, positiveInteger } from '../errors.js';
import { checkModel, conditionOf } from '../evaluation/model.js';
import type { LatentVariableModel } from '../models/contracts.js';
import { withSeed } from '../random.js';
import { lineChart, scatterChart, type ChartText, type LinePoint, type ScatterPoint } from './charts.js';
import { encodePng, imageGrid, writeFileAtomic, type GridOptions } from './png.js';

/** Where to write a picture (optional). */
export interface PictureFile {
  /** Also write the PNG to this path (Node). */
  file?: string;
}

async function finish(bytes: Uint8Array, file?: string): Promise<Uint8Array> {
  if (file !== undefined) await writeFileAtomic(file, bytes);
  return bytes;
}

/** Class indices for a conditional model's pictures: `y` (one class or one per image), checked. */
function labelsFor(fn: string, m: LatentVariableModel, y: number | ArrayLike<number> | undefined, n: number, fallback: (i: number) => number): number[] | null {
  const c = m.numClasses;
  if (c === undefined) return null;
  const list = y === undefined ? Array.from({ length: n }, (_, i) => fallback(i)) : typeof y === 'number' ? new Array<number>(n).fill(y) : Array.from(y);
  if (list.length !== n || !list.every((v) => Number.isInteger(v) && v >= 0 && v < c)) {
    throw argError(fn, 'options.y', `one class in 0..${c - 1} or ${n} of them (the model is conditional)`, y);
  }
  return list;
}

/**
 * A grid of `n` samples from the model: z ~ p(z), then x ~ p(x|z), or the decoder mean E[x|z]
 * with `mean: true` (DTU 02460 exercise 1.7 compares the two). For a conditional model the
 * labels are `y` (one class, or one per image); by default image i has class i mod C and the
 * grid has C columns, one per class.
 *
 * @example
 * await sampleGrid(model, { n: 200, cols: 20, file: 'runs/vae/samples.png' }); // CS236's grid
 */
export async function sampleGrid(
  model: LatentVariableModel,
  options: GridOptions & PictureFile & { n?: number; mean?: boolean; seed?: number; y?: number | ArrayLike<number> } = {},
): Promise<Uint8Array> {
  const m = checkModel('sampleGrid', model);
  const n = options.n ?? 100;
  positiveInteger('sampleGrid', 'options.n', n);
  const labels = labelsFor('sampleGrid', m, options.y, n, (i) => i % m.numClasses!);
  const images = withSeed(options.seed, () =>
    tf.tidy(() => {
      const z = m.prior.distribution().sample([n]);
      const flat = tf.reshape(z, [n, -1]);
      const lik = m.decoder.likelihood(flat, conditionOf('sampleGrid', m, labels));
      return options.mean ? lik.mean : lik.sample();
    }),
  );
  const cols = labels !== null && options.y === undefined ? m.numClasses! : Math.ceil(Math.sqrt(n));
  try {
    return await finish(await encodePng(await imageGrid(images, { cols, ...options })), options.file);
  } finally {
    images.dispose();
  }
}

/**
 * Style and content (CS236's FSVAE figure) for a conditional model p(x|z, y): `rows` rows, each
 * with one z ~ p(z) (the style) shared by its C columns, column j decoded with class j (the
 * content). Decoder means by default (`mean: false` for samples).
 *
 * @example
 * await styleContentGrid(cvae, { rows: 20, file: 'runs/cvae/style-content.png' });
 */
export async function styleContentGrid(
  model: LatentVariableModel,
  options: GridOptions & PictureFile & { rows?: number; mean?: boolean; seed?: number } = {},
): Promise<Uint8Array> {
  const fn = 'styleContentGrid';
  const m = checkModel(fn, model);
  const c = m.numClasses;
  if (c === undefined) throw argError(fn, 'model', 'a conditional model (with numClasses, e.g. ConditionalVAE)', 'an unconditional model');
  const rows = options.rows ?? 10;
  positiveInteger(fn, 'options.rows', rows);
  const labels = Array.from({ length: rows * c }, (_, i) => i % c);
  const images = withSeed(options.seed, () =>
    tf.tidy(() => {
      const z = tf.reshape(m.prior.distribution().sample([rows]), [rows, -1]); // one style per row
      const zs = tf.reshape(tf.tile(tf.expandDims(z, 1), [1, c, 1]), [rows * c, -1]);
      const lik = m.decoder.likelihood(zs, conditionOf(fn, m, labels));
      return options.mean === false ? lik.sample() : lik.mean;
    }),
  );
  try {
    return await finish(await encodePng(await imageGrid(images, { ...options, cols: c })), options.file);
  } finally {
    images.dispose();
  }
}

/**
 * Originals above their reconstructions (the decoder mean at the posterior mean), `cols` per
 * row pair (PML report figures 1-2). `x` is `[n, ...itemShape]`; a conditional model needs the
 * labels `y` of x.
 */
export async function reconstructionGrid(
  model: LatentVariableModel,
  x: tf.Tensor,
  options: GridOptions & PictureFile & { y?: ArrayLike<number> } = {},
): Promise<Uint8Array> {
  const m = checkModel('reconstructionGrid', model);
  if (!(x instanceof tf.Tensor) || x.rank < 2) throw argError('reconstructionGrid', 'x', 'a tensor [n, ...itemShape]', x);
  const n = x.shape[0]!;
  const cols = options.cols ?? Math.min(n, 16);
  if (m.numClasses !== undefined && options.y === undefined)
    throw argError('reconstructionGrid', 'options.y', `the ${n} labels of x (the model is conditional)`, undefined);
  const labels = labelsFor('reconstructionGrid', m, options.y, n, () => 0);
  const grid = tf.tidy(() => {
    const y = conditionOf('reconstructionGrid', m, labels);
    const xhat = tf.reshape(m.decoder.likelihood(m.encoder.posterior(x, y).mean, y).mean, x.shape);
    // Interleave row blocks: originals k*cols.., then their reconstructions.
    const rows: tf.Tensor[] = [];
    for (let start = 0; start < n; start += cols) {
      const size = Math.min(cols, n - start);
      const begin = [start, ...x.shape.slice(1).map(() => 0)];
      const len = [size, ...x.shape.slice(1)];
      // A short last block is filled with blank (zero) images so the rows stay aligned.
      const pad = (t: tf.Tensor) => (size === cols ? t : tf.concat([t, tf.zeros([cols - size, ...x.shape.slice(1)])]));
      rows.push(pad(tf.slice(x, begin, len)), pad(tf.slice(xhat, begin, len)));
    }
    return tf.concat(rows);
  });
  try {
    return await finish(await encodePng(await imageGrid(grid, { ...options, cols })), options.file);
  } finally {
    grid.dispose();
  }
}

/**
 * The latent manifold (PML report figure 3): decoder means on a regular `steps` x `steps` grid of
 * two latent dimensions (`dims`, default [0, 1]) over [-range, range] (default 3), the other
 * dimensions at 0. Rows go from +range (top) to -range, columns from -range to +range.
 */
export async function latentManifold(
  model: LatentVariableModel,
  options: GridOptions & PictureFile & { steps?: number; range?: number; dims?: [number, number]; y?: number } = {},
): Promise<Uint8Array> {
  const fn = 'latentManifold';
  const m = checkModel(fn, model);
  const steps = options.steps ?? 20;
  const range = options.range ?? 3;
  const [d0, d1] = options.dims ?? [0, 1];
  if (!Number.isInteger(steps) || steps < 2) throw argError(fn, 'options.steps', 'an integer >= 2', steps);
  const latentDim = tf.tidy(() => m.prior.distribution().eventShape[0]);
  if (latentDim === undefined) throw new DlvmError(`${fn}: the prior has no event dimension (a latent vector is expected).`);
  if (![d0, d1].every((d) => Number.isInteger(d) && d >= 0 && d < latentDim) || d0 === d1) {
    throw argError(fn, 'options.dims', `two different latent dimensions in [0, ${latentDim})`, options.dims);
  }
  const z = new Float32Array(steps * steps * latentDim);
  for (let r = 0; r < steps; r++) {
    for (let c = 0; c < steps; c++) {
      const k = r * steps + c;
      z[k * latentDim + d0] = -range + (2 * range * c) / (steps - 1);
      z[k * latentDim + d1] = range - (2 * range * r) / (steps - 1);
    }
  }
  // A conditional model draws the manifold of one class (`y`, default 0).
  const labels = labelsFor(fn, m, options.y, steps * steps, () => 0);
  const images = tf.tidy(() => m.decoder.likelihood(tf.tensor2d(z, [steps * steps, latentDim]), conditionOf(fn, m, labels)).mean);
  try {
    return await finish(await encodePng(await imageGrid(images, { ...options, cols: steps, pad: options.pad ?? 0 })), options.file);
  } finally {
    images.dispose();
  }
}

/** Projects rows of `z` ([n, M]) to 2-D: as is for M = 2, ([z, 0]) for M = 1, PCA for M > 2. */
async function to2d(z: Float32Array, n: number, dim: number): Promise<{ xy: number[][]; axes: [string, string] }> {
  if (dim === 2) return { xy: Array.from({ length: n }, (_, i) => [z[2 * i]!, z[2 * i + 1]!]), axes: ['z1', 'z2'] };
  if (dim === 1) return { xy: Array.from({ length: n }, (_, i) => [z[i]!, 0]), axes: ['z1', ''] };
  const { PCA } = await import('ml-pca');
  const rows = Array.from({ length: n }, (_, i) => Array.from(z.subarray(i * dim, (i + 1) * dim)));
  const pca = new PCA(rows);
  const projected = pca.predict(rows, { nComponents: 2 }).to2DArray();
  const explained = pca.getExplainedVariance();
  const pct = (i: number) => `${Math.round(100 * explained[i]!)}%`;
  return { xy: projected, axes: [`PC 1 (${pct(0)} of variance)`, `PC 2 (${pct(1)})`] };
}

/** Options of {@link aggregatePosterior}. */
export interface AggregatePosteriorOptions extends PictureFile, ChartText {
  /** How many examples (the first n; default 2000). */
  n?: number;
  /** Plot posterior means (default) or one posterior sample per example. */
  use?: 'mean' | 'sample';
  /** Binarisation of the dataset's images before encoding. */
  binarize?: Binarize;
  seed?: number;
}

/**
 * The aggregate posterior: encoded examples (posterior means, or samples) coloured by label (or
 * tag), projected onto the first two principal components when the latent dimension exceeds 2
 * (DTU 02460 exercise 1.5; PML report figure 4).
 */
export async function aggregatePosterior(model: LatentVariableModel, data: ArrayDataset, options: AggregatePosteriorOptions = {}): Promise<Uint8Array> {
  const fn = 'aggregatePosterior';
  const m = checkModel(fn, model);
  if (!(data instanceof ArrayDataset)) throw argError(fn, 'data', 'an ArrayDataset', data);
  const n = Math.min(options.n ?? 2000, data.length);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const z = withSeed(options.seed, () =>
    tf.tidy(() => {
      const x = data.tensor(idx, { binarize: options.binarize, binarizeSeed: 0 });
      const q = m.encoder.posterior(x, conditionOf(fn, m, data.labels ? Array.from(idx, (i) => data.labels![i]!) : null));
      return options.use === 'sample' ? q.sample() : q.mean;
    }),
  );
  const dim = z.shape[z.rank - 1]!;
  const values = (await readAndFree(z)) as Float32Array;
  const { xy, axes } = await to2d(values, n, dim);
  const groups = data.labels ?? data.tags;
  const points: ScatterPoint[] = xy.map(([x, y], i) => ({ x: x!, y: y!, ...(groups ? { group: groups[i]! } : {}) }));
  const bytes = await scatterChart(points, {
    title: options.title ?? `Aggregate posterior (${options.use === 'sample' ? 'samples' : 'means'} of q(z|x), ${n} ${data.name} examples)`,
    xTitle: options.xTitle ?? axes[0],
    yTitle: options.yTitle ?? axes[1],
    legendTitle: options.legendTitle ?? (data.labels ? 'label' : 'tag'),
    size: options.size,
    zoom: options.zoom,
  });
  return finish(bytes, options.file);
}

/**
 * Toy 2-D panels side by side (AIML 425 figure 2): the input points, their latent codes
 * (posterior means; PCA above 2 dimensions) and their reconstructions (decoder means), all
 * coloured by the dataset's tags (e.g. quadrant).
 */
export async function toyPanels(model: LatentVariableModel, data: ArrayDataset, options: PictureFile & ChartText & { n?: number } = {}): Promise<Uint8Array> {
  const fn = 'toyPanels';
  const m = checkModel(fn, model);
  if (!(data instanceof ArrayDataset) || data.itemSize !== 2) throw argError(fn, 'data', 'a 2-D ArrayDataset (itemShape [2])', data);
  const n = Math.min(options.n ?? 1000, data.length);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const [zT, xhatT] = tf.tidy(() => {
    const x = data.tensor(idx);
    const y = conditionOf(fn, m, data.labels ? Array.from(idx, (i) => data.labels![i]!) : null);
    const z = m.encoder.posterior(x, y).mean;
    return [z, tf.reshape(m.decoder.likelihood(z, y).mean, [n, 2])];
  });
  const dim = zT!.shape[zT!.rank - 1]!;
  const [zv, xh] = (await Promise.all([readAndFree(zT!), readAndFree(xhatT!)])) as [Float32Array, Float32Array];
  const xv = data.values(idx);
  const { xy } = await to2d(zv, n, dim);
  const tags = data.tags ?? data.labels;
  const group = (i: number) => (tags ? { group: tags[i]! } : {});
  const points: ScatterPoint[] = [
    ...Array.from({ length: n }, (_, i) => ({ x: xv[2 * i]!, y: xv[2 * i + 1]!, panel: 'input x', ...group(i) })),
    ...xy.map(([a, b], i) => ({ x: a!, y: b!, panel: dim > 2 ? 'latent z (PCA)' : 'latent z', ...group(i) })),
    ...Array.from({ length: n }, (_, i) => ({ x: xh[2 * i]!, y: xh[2 * i + 1]!, panel: 'reconstruction', ...group(i) })),
  ];
  const bytes = await scatterChart(points, {
    title: options.title ?? `${data.name}: input, latent and reconstruction`,
    xTitle: options.xTitle ?? '',
    yTitle: options.yTitle ?? '',
    legendTitle: options.legendTitle ?? (data.tags ? 'tag' : 'label'),
    size: options.size ?? 260,
    zoom: options.zoom,
  });
  return finish(bytes, options.file);
}

/** One record of a training history. */
export interface CurveRecord {
  /** Step (or epoch) on the x axis. */
  step: number;
  /** 'train', 'validation', ... */
  split: string;
  elbo?: number;
  reconstruction?: number;
  kl?: number;
}

/**
 * Training curves: ELBO, reconstruction and KL against steps, one panel each, train and
 * validation as separate lines.
 */
export async function trainingCurves(history: CurveRecord[], options: PictureFile & ChartText = {}): Promise<Uint8Array> {
  const fn = 'trainingCurves';
  if (!Array.isArray(history) || history.length === 0)
    throw argError(fn, 'history', 'a non-empty array of { step, split, elbo?, reconstruction?, kl? }', history);
  const points: LinePoint[] = [];
  for (const r of history) {
    if (typeof r.step !== 'number' || typeof r.split !== 'string') throw argError(fn, 'history', 'records with a numeric step and a split name', r);
    for (const key of ['elbo', 'reconstruction', 'kl'] as const) {
      const v = r[key];
      if (typeof v === 'number' && Number.isFinite(v))
        points.push({ x: r.step, y: v, series: r.split, panel: { elbo: 'ELBO', reconstruction: 'reconstruction', kl: 'KL' }[key] });
    }
  }
  if (points.length === 0) throw argError(fn, 'history', 'records with at least one finite elbo, reconstruction or kl', history[0]);
  const bytes = await lineChart(points, {
    title: options.title ?? 'Training curves (nats per example)',
    xTitle: options.xTitle ?? 'step',
    legendTitle: 'data',
    size: options.size,
    zoom: options.zoom,
  });
  return finish(bytes, options.file);
}
