/**
 * In-memory datasets and their batches.
 *
 * An `ArrayDataset` keeps its examples as a compact JavaScript array (MNIST as bytes: 47 MB for
 * the training set) and makes tensors only for the batch being used: `batches()` frees a batch's
 * tensors when the next batch is taken, so at most one batch of derived tensors exists at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError, positiveInteger } from '../errors.js';
import { mulberry32, nextSeed, uniformSource } from '../random.js';
import { ensureBackend } from '../backend/ready.js';

/** How images are turned into binary data (or not) when batches are made. */
export type Binarize =
  /** Values as they are, in [0, 1] (Gaussian / ContinuousBernoulli likelihoods). */
  | 'none'
  /** 1 where the value is >= 0.5 (the DTU 02460 course). */
  | 'threshold'
  /** A fresh Bernoulli(value) draw every time a batch is made (CS236; Burda et al. 2016). */
  | 'dynamic'
  /** One Bernoulli(value) draw per pixel, fixed by `seed` (the same for every epoch). */
  | 'static';

/** What to build a dataset from. */
export interface ArrayDatasetInit {
  /** Name for messages and pictures, e.g. `'mnist-train'`. */
  name: string;
  /** Shape of one example, e.g. [28, 28] or [2]. */
  itemShape: number[];
  /** All examples, row-major: `length * prod(itemShape)` values. */
  values: Uint8Array | Float32Array;
  /** Multiplier that maps `values` to the data's range (1/255 for MNIST bytes). Default 1. */
  scale?: number;
  /** Integer class per example, or null. */
  labels?: Int32Array | null;
  /** Number of classes (default: max label + 1). */
  numClasses?: number;
  /** An integer per example for colouring pictures (e.g. the quadrant of a 2-D point), or null. */
  tags?: Int32Array | null;
}

/** Options of {@link ArrayDataset.batches}. */
export interface BatchOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Reshuffle the order every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffles (epoch e uses seed + e); default: dlvm's `manualSeed` stream. */
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
  /** How to binarise (default 'none'). */
  binarize?: Binarize;
  /** Seed for `binarize: 'static'` (default 0). */
  binarizeSeed?: number;
  /** Return x as [B, prod(itemShape)] instead of [B, ...itemShape] (default false). */
  flatten?: boolean;
}

/** One batch. Its tensors are freed when the next batch is taken (tf.keep or clone to hold on). */
export interface Batch {
  /** Examples, [B, ...itemShape] (or [B, D] with `flatten`), float32. */
  x: tf.Tensor;
  /** Labels, int32 [B], or null for unlabelled data. */
  y: tf.Tensor | null;
  /** Which examples of the dataset these are. */
  indices: Int32Array;
}

const BINARIZE: Binarize[] = ['none', 'threshold', 'dynamic', 'static'];

/** A dataset held in memory; see the module documentation. */
export class ArrayDataset {
  /** Name for messages and pictures. */
  readonly name: string;
  /** Number of examples. */
  readonly length: number;
  /** Shape of one example. */
  readonly itemShape: number[];
  /** Values per example (product of `itemShape`). */
  readonly itemSize: number;
  /** Integer class per example, or null. */
  readonly labels: Int32Array | null;
  /** Number of classes (0 without labels). */
  readonly numClasses: number;
  /** Integer tag per example for colouring, or null. */
  readonly tags: Int32Array | null;
  private readonly raw: Uint8Array | Float32Array;
  private readonly scale: number;
  private readonly staticCache = new Map<number, Uint8Array>();

  constructor(init: ArrayDatasetInit) {
    const fn = 'ArrayDataset';
    if (init === null || typeof init !== 'object') throw argError(fn, 'init', 'an object', init);
    const { name, itemShape, values } = init;
    if (typeof name !== 'string') throw argError(fn, 'name', 'a string', name);
    if (!Array.isArray(itemShape) || !itemShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw argError(fn, 'itemShape', 'an array of positive integers', itemShape);
    }
    if (!(values instanceof Uint8Array) && !(values instanceof Float32Array)) {
      throw argError(fn, 'values', 'a Uint8Array or Float32Array', values);
    }
    const itemSize = itemShape.reduce((a, b) => a * b, 1);
    if (values.length % itemSize !== 0) {
      throw argError(fn, 'values', `a multiple of ${itemSize} values (itemShape [${itemShape.join(', ')}])`, `${values.length} values`);
    }
    const length = values.length / itemSize;
    for (const [key, arr] of [
      ['labels', init.labels],
      ['tags', init.tags],
    ] as const) {
      if (arr != null && (!(arr instanceof Int32Array) || arr.length !== length)) {
        throw argError(fn, key, `an Int32Array of length ${length} (one per example) or null`, arr);
      }
    }
    this.name = name;
    this.itemShape = [...itemShape];
    this.itemSize = itemSize;
    this.length = length;
    this.raw = values;
    this.scale = init.scale ?? 1;
    this.labels = init.labels ?? null;
    this.tags = init.tags ?? null;
    this.numClasses = init.numClasses ?? (this.labels ? Math.max(-1, ...this.labels) + 1 : 0);
  }

  /** Values of the examples at `indices` (default: all), scaled, as a new Float32Array. */
  values(indices?: ArrayLike<number>): Float32Array {
    ensureBackend(`${this.name}.tensor`);
    const idx = indices ?? Int32Array.from({ length: this.length }, (_, i) => i);
    const out = new Float32Array(idx.length * this.itemSize);
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r]!;
      if (!(i >= 0 && i < this.length)) {
        throw argError(`${this.name}.values`, 'indices', `integers in [0, ${this.length})`, i);
      }
      const src = i * this.itemSize;
      const dst = r * this.itemSize;
      for (let j = 0; j < this.itemSize; j++) out[dst + j] = this.raw[src + j]! * this.scale;
    }
    return out;
  }

  /**
   * The examples at `indices` (default: all) as a float32 tensor `[n, ...itemShape]`, binarised
   * as asked. The caller owns it.
   */
  tensor(indices?: ArrayLike<number>, options: Pick<BatchOptions, 'binarize' | 'binarizeSeed' | 'flatten'> = {}): tf.Tensor {
    const idx = indices ?? Int32Array.from({ length: this.length }, (_, i) => i);
    const binarize = options.binarize ?? 'none';
    if (!BINARIZE.includes(binarize)) {
      throw argError(`${this.name}.tensor`, 'binarize', `one of ${BINARIZE.map((b) => `'${b}'`).join(', ')}`, binarize);
    }
    const shape = options.flatten ? [idx.length, this.itemSize] : [idx.length, ...this.itemShape];
    if (binarize === 'static') {
      const bits = this.staticBits(options.binarizeSeed ?? 0);
      const out = new Float32Array(idx.length * this.itemSize);
      for (let r = 0; r < idx.length; r++) {
        out.set(bits.subarray(idx[r]! * this.itemSize, (idx[r]! + 1) * this.itemSize), r * this.itemSize);
      }
      return tf.tensor(out, shape, 'float32');
    }
    const vals = this.values(idx);
    if (binarize === 'threshold') {
      for (let i = 0; i < vals.length; i++) vals[i] = vals[i]! >= 0.5 ? 1 : 0;
    }
    if (binarize !== 'dynamic') return tf.tensor(vals, shape, 'float32');
    return tf.tidy(() => {
      const p = tf.tensor(vals, shape, 'float32');
      return tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', nextSeed()), p), 'float32');
    });
  }

  /** One fixed Bernoulli draw per value, reproducible by seed (cached per seed). */
  private staticBits(seed: number): Uint8Array {
    let bits = this.staticCache.get(seed);
    if (!bits) {
      const u = mulberry32(seed);
      bits = new Uint8Array(this.raw.length);
      for (let i = 0; i < bits.length; i++) bits[i] = u() < this.raw[i]! * this.scale ? 1 : 0;
      this.staticCache.set(seed, bits);
    }
    return bits;
  }

  /** A new dataset of the examples at `indices` (copied), with their labels and tags. */
  subset(indices: ArrayLike<number>, name = `${this.name}-subset`): ArrayDataset {
    const idx = Int32Array.from(indices as ArrayLike<number>);
    // (raw may be a Node Buffer, a Uint8Array subclass whose constructor is deprecated.)
    const values = this.raw instanceof Float32Array ? new Float32Array(idx.length * this.itemSize) : new Uint8Array(idx.length * this.itemSize);
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r]!;
      if (!(i >= 0 && i < this.length)) {
        throw argError(`${this.name}.subset`, 'indices', `integers in [0, ${this.length})`, i);
      }
      values.set(this.raw.subarray(i * this.itemSize, (i + 1) * this.itemSize), r * this.itemSize);
    }
    return new ArrayDataset({
      name,
      itemShape: this.itemShape,
      values,
      scale: this.scale,
      labels: this.labels ? idx.map((i) => this.labels![i]!) : null,
      numClasses: this.numClasses,
      tags: this.tags ? idx.map((i) => this.tags![i]!) : null,
    });
  }

  /** The same examples without labels (for the unlabelled part of semi-supervised data). */
  withoutLabels(name = `${this.name}-unlabelled`): ArrayDataset {
    return new ArrayDataset({
      name,
      itemShape: this.itemShape,
      values: this.raw,
      scale: this.scale,
      labels: null,
      numClasses: this.numClasses,
      tags: this.tags,
    });
  }

  /** Number of batches one epoch of `batches(options)` gives. */
  numBatches(options: Pick<BatchOptions, 'batchSize' | 'dropLast'>): number {
    const b = checkBatchSize(this.name, options.batchSize);
    return options.dropLast ? Math.floor(this.length / b) : Math.ceil(this.length / b);
  }

  /**
   * One epoch of batches. Each batch's tensors are freed when the next batch is taken or the loop
   * ends (also on `break`), so a training loop holds one batch at a time.
   *
   * @example
   * for (const { x } of train.batches({ batchSize: 128, binarize: 'dynamic', flatten: true })) {
   *   optimizer.minimize(() => model.loss(x));
   * }
   */
  *batches(options: BatchOptions, epoch = 0): Generator<Batch, void, undefined> {
    const fn = `${this.name}.batches`;
    if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { batchSize: 128 }', options);
    const size = checkBatchSize(this.name, options.batchSize);
    const binarize = options.binarize ?? 'none';
    if (!BINARIZE.includes(binarize)) {
      throw argError(fn, 'binarize', `one of ${BINARIZE.map((b) => `'${b}'`).join(', ')}`, binarize);
    }
    const order = Int32Array.from({ length: this.length }, (_, i) => i);
    if (options.shuffle ?? true) {
      const u = options.seed !== undefined ? mulberry32(options.seed + epoch) : uniformSource();
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(u() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    const n = this.numBatches({ batchSize: size, dropLast: options.dropLast });
    let current: Batch | null = null;
    try {
      for (let b = 0; b < n; b++) {
        if (current) tf.dispose([current.x, ...(current.y ? [current.y] : [])]);
        const indices = order.subarray(b * size, Math.min((b + 1) * size, this.length));
        const x = this.tensor(indices, { binarize, binarizeSeed: options.binarizeSeed, flatten: options.flatten });
        const y = this.labels
          ? tf.tensor1d(
              Int32Array.from(indices, (i) => this.labels![i]!),
              'int32',
            )
          : null;
        current = { x, y, indices: Int32Array.from(indices) };
        yield current;
      }
    } finally {
      if (current) tf.dispose([current.x, ...(current.y ? [current.y] : [])]);
    }
  }
}

function checkBatchSize(name: string, batchSize: unknown): number {
  positiveInteger(`${name}.batches`, 'batchSize', batchSize);
  return batchSize as number;
}

/**
 * Splits a labelled dataset for semi-supervised learning: `labelsPerClass` labelled examples of
 * every class, the rest without labels. Reproducible by `seed`.
 *
 * @example
 * const { labelled, unlabelled } = semiSupervisedSplit(train, { labelsPerClass: 10, seed: 0 }); // 100 labels
 */
export function semiSupervisedSplit(
  dataset: ArrayDataset,
  { labelsPerClass, seed = 0 }: { labelsPerClass: number; seed?: number },
): { labelled: ArrayDataset; unlabelled: ArrayDataset } {
  const fn = 'semiSupervisedSplit';
  if (!(dataset instanceof ArrayDataset)) throw argError(fn, 'dataset', 'an ArrayDataset', dataset);
  if (!dataset.labels) throw new DlvmError(`${fn}: dataset ${dataset.name} has no labels to split.`);
  positiveInteger(fn, 'labelsPerClass', labelsPerClass);
  const byClass: number[][] = Array.from({ length: dataset.numClasses }, () => []);
  dataset.labels.forEach((c, i) => byClass[c]!.push(i));
  const u = mulberry32(seed);
  const picked: number[] = [];
  byClass.forEach((members, c) => {
    if (members.length < labelsPerClass) {
      throw new DlvmError(`${fn}: class ${c} of ${dataset.name} has ${members.length} examples, fewer than labelsPerClass = ${labelsPerClass}.`);
    }
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(u() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    picked.push(...members.slice(0, labelsPerClass));
  });
  picked.sort((a, b) => a - b);
  const chosen = new Set(picked);
  const rest = Array.from({ length: dataset.length }, (_, i) => i).filter((i) => !chosen.has(i));
  return {
    labelled: dataset.subset(picked, `${dataset.name}-labelled`),
    unlabelled: dataset.subset(rest, `${dataset.name}-unlabelled`).withoutLabels(`${dataset.name}-unlabelled`),
  };
}
