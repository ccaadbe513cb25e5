/**
 * Data: IDX files, MNIST / Fashion-MNIST / binarized MNIST, toy 2-D sets, batching, splits.
 *
 * @packageDocumentation
 */
export { parseIdx, readIdx } from './idx.js';
export { isGzip } from './gzip.js';
export type { IdxArray } from './idx.js';
export { ArrayDataset, semiSupervisedSplit } from './dataset.js';
export type { ArrayDatasetInit, Batch, BatchOptions, Binarize } from './dataset.js';
export { loadMnist, loadFashionMnist, loadBinarizedMnist, parseAmat } from './mnist.js';
export type { MnistOptions, BinarizedMnistOptions } from './mnist.js';
export type { FetchOptions, DataFile } from './files.js';
export { toyDataset } from './toy.js';
export type { ToyName, ToyOptions } from './toy.js';
