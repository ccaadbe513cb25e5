/**
 * The training history that `fit` records and checkpoints keep.
 */

/** One row of the training history. */
export interface HistoryRecord {
  /** Optimiser steps done when the record was made. */
  step: number;
  epoch: number;
  split: 'train' | 'validation';
  /** Means per example over the logged window (train) or the validation set. */
  loss: number;
  elbo: number;
  reconstruction: number;
  kl: number;
  /** Classification accuracy (validation records of models that classify, e.g. SSVAE). */
  accuracy?: number;
}
