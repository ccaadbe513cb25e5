/**
 * Helpers of the evaluation functions and the pictures over a {@link LatentVariableModel} (the
 * contract is declared in models/contracts.ts): its input shape, the condition of a batch, the
 * check that an argument is one.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import type { LatentVariableModel } from '../models/contracts.js';
import { oneHotRows } from '../models/labels.js';

/** The model's {@link LatentVariableModel.inputShape}, or null when it does not say. */
export function inputShapeOf(model: LatentVariableModel): readonly number[] | null {
  const s = model.inputShape;
  return Array.isArray(s) && s.length > 0 && s.every((d) => Number.isInteger(d) && d > 0) ? s : null;
}

/**
 * The condition of a batch for a conditional model (one-hot labels [B, C], inside the caller's
 * tidy), or undefined for an unconditional one. Errors name `fn` when labels are missing.
 */
export function conditionOf(fn: string, model: LatentVariableModel, labels: ArrayLike<number> | null): tf.Tensor | undefined {
  const c = model.numClasses;
  if (c === undefined) return undefined;
  if (labels === null) {
    throw new DlvmError(`${fn}: the model is conditional (p(x|z, y) with ${c} classes) and needs labelled data, but the data has no labels.`);
  }
  return oneHotRows(labels, c);
}

/** Checks that `model` has the three members; returns it typed. Errors name `fn`. */
export function checkModel(fn: string, model: unknown): LatentVariableModel {
  const m = model as LatentVariableModel | null;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    typeof m.encoder?.posterior === 'function' &&
    typeof m.decoder?.likelihood === 'function' &&
    typeof m.prior?.distribution === 'function';
  if (!ok) {
    throw argError(fn, 'model', 'a model with encoder.posterior(x), decoder.likelihood(z) and prior.distribution()', model);
  }
  return m;
}
