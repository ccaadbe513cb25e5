/**
 * Data access shared by the classical baselines: rows of a dataset or a tensor as float32 values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { argError, checkExamples, Described } from '../errors.js';

/** Data a baseline accepts: an ArrayDataset, a tensor [N, ...] or rows of numbers. */
export type BaselineData = ArrayDataset | tf.Tensor | number[][];

/** N rows of D values (row-major float32) and the shape of one example. */
export interface Rows {
  values: Float32Array;
  n: number;
  d: number;
  itemShape: number[];
}

/**
 * The rows of `data`, read asynchronously (binarised as asked when it is an ArrayDataset; `binarize: 'dynamic'` is
 * refused: a baseline fits one fixed data set). With `itemShape` (a fitted model's), the data are
 * checked against it before anything is read: tensors and datasets by their shapes (see
 * `checkExamples`), rows of numbers by their length.
 */
export async function rowsOf(fn: string, data: BaselineData, binarize: Binarize = 'none', itemShape?: readonly number[]): Promise<Rows> {
  if (data instanceof ArrayDataset) {
    if (itemShape) checkExamples(fn, 'data', data, itemShape, 'N');
    if (binarize === 'dynamic') throw argError(fn, 'options.binarize', "'none', 'threshold' or 'static' (a baseline fits one fixed data set)", binarize);
    const n = data.length;
    let values: Float32Array;
    if (binarize === 'none') values = data.values();
    else {
      values = new Float32Array(n * data.itemSize);
      const chunk = 5000;
      for (let start = 0; start < n; start += chunk) {
        const idx = Array.from({ length: Math.min(chunk, n - start) }, (_, i) => start + i);
        const t = data.tensor(idx, { binarize, binarizeSeed: 0, flatten: true });
        try {
          values.set((await t.data()) as Float32Array, start * data.itemSize);
        } finally {
          t.dispose();
        }
      }
    }
    return { values, n, d: data.itemSize, itemShape: data.itemShape };
  }
  if (data instanceof tf.Tensor) {
    if (data.rank < 2 || data.shape[0]! < 1) throw argError(fn, 'data', 'a tensor [N, ...itemShape] with N >= 1', data);
    if (itemShape) checkExamples(fn, 'data', data, itemShape, 'N');
    const n = data.shape[0]!;
    const values = Float32Array.from((await data.data()) as ArrayLike<number>);
    return { values, n, d: values.length / n, itemShape: data.shape.slice(1) };
  }
  if (Array.isArray(data) && data.length > 0 && Array.isArray(data[0])) {
    const d = data[0]!.length;
    if (d < 1 || !data.every((r) => Array.isArray(r) && r.length === d && r.every(Number.isFinite))) {
      throw argError(fn, 'data', 'rows of equal length holding finite numbers', data);
    }
    const want = itemShape?.reduce((a, b) => a * b, 1);
    if (want !== undefined && d !== want) throw argError(fn, 'data', `rows of ${want} values`, new Described(`rows of ${d} values`));
    const values = new Float32Array(data.length * d);
    data.forEach((r, i) => values.set(r, i * d));
    return { values, n: data.length, d, itemShape: [d] };
  }
  throw argError(fn, 'data', 'an ArrayDataset, a tensor [N, ...itemShape] or an array of rows', data);
}
