/**
 * Training checkpoints: the model (saveModel's format), the optimizer's state and the training
 * progress, so that `fit` can resume where it stopped. Node only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DlvmError } from '../errors.js';
import { recoverDir, replaceDir, sha256Of, writeFileAtomic } from '../io.js';
import { loadModel, partVariables, saveModel } from '../models/persistence.js';
import type { VAE } from '../models/vae.js';
import type { HistoryRecord } from './history.js';

/** The progress saved with a checkpoint. */
export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps done. */
  step: number;
  history: HistoryRecord[];
  /** Best validation ELBO so far (null without validation data). */
  bestElbo: number | null;
}

interface OptimizerManifest {
  weights: Array<{ name: string; shape: number[] }>;
}

/**
 * Saves model, optimizer state and progress as the checkpoint `dir`, as a whole: everything is
 * written into a fresh sibling folder (training.json last), which then replaces `dir` by renames,
 * so an interruption or a full disk leaves the previous checkpoint (or, between the two renames,
 * a complete sibling that {@link recoverCheckpoint} restores). A failed save removes its folder.
 */
export async function saveCheckpoint(dir: string, model: VAE, optimizer: tf.Optimizer, state: TrainingState): Promise<void> {
  const path = await import('node:path');
  await replaceDir('saveCheckpoint', dir, async (fresh) => {
    await saveModel(model, path.join(fresh, 'model'));
    const weights = await optimizer.getWeights();
    const total = weights.reduce((s, w) => s + w.tensor.size, 0);
    const bytes = new Float32Array(total);
    let offset = 0;
    let values: Awaited<ReturnType<tf.Tensor['data']>>[];
    try {
      values = await Promise.all(weights.map((w) => w.tensor.data()));
    } finally {
      // getWeights makes a fresh tensor of the step counter ('iter'); the rest are the optimizer's variables.
      tf.dispose(weights.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
    }
    values.forEach((v, i) => {
      bytes.set(v as Float32Array, offset);
      offset += weights[i]!.tensor.size;
    });
    const manifest: OptimizerManifest = { weights: weights.map((w) => ({ name: w.name, shape: w.tensor.shape })) };
    await writeFileAtomic(path.join(fresh, 'optimizer.bin'), new Uint8Array(bytes.buffer));
    await writeFileAtomic(path.join(fresh, 'optimizer.json'), JSON.stringify(manifest));
    // training.json last, with the checksums of the files beside it: all belong to this step.
    const files = Object.fromEntries(await Promise.all(CHECKPOINT_FILES.map(async (f) => [f, await sha256Of(path.join(fresh, f))] as const)));
    await writeFileAtomic(path.join(fresh, 'training.json'), JSON.stringify({ ...state, files } satisfies SavedTrainingState));
  });
}

/** The files whose SHA-256 a checkpoint's training.json records (model.json covers the model's own files). */
const CHECKPOINT_FILES = ['model/model.json', 'optimizer.bin', 'optimizer.json'] as const;

/** training.json: the progress and the checksums of the checkpoint's other files. */
interface SavedTrainingState extends TrainingState {
  files?: Record<string, string>;
}

/** True when `dir` holds a complete checkpoint. */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  try {
    await fs.access(path.join(dir, 'training.json'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Repairs the checkpoint `dir` after an interrupted {@link saveCheckpoint} (see `recoverDir`).
 *
 * @returns a sentence saying what was restored, or null when nothing needed repair.
 */
export function recoverCheckpoint(dir: string): Promise<string | null> {
  return recoverDir(dir, hasCheckpoint);
}

/**
 * Restores a checkpoint into `model` (its variables must match in order and shape) and
 * `optimizer`, and returns the saved progress.
 */
export async function loadCheckpoint(dir: string, model: VAE, optimizer: tf.Optimizer): Promise<TrainingState> {
  const fn = 'fit (resume)';
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const read = async (file: string) => {
    try {
      return await fs.readFile(path.join(dir, file));
    } catch (e) {
      throw new DlvmError(`${fn}: cannot read ${path.join(dir, file)}: ${(e as Error).message}`);
    }
  };
  const parse = <T>(file: string, text: Buffer): T => {
    try {
      return JSON.parse(text.toString('utf8')) as T;
    } catch (e) {
      throw new DlvmError(`${fn}: ${path.join(dir, file)} is not valid JSON (truncated or corrupt?): ${(e as Error).message}`);
    }
  };
  const state = parse<SavedTrainingState>('training.json', await read('training.json'));
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (
    !state ||
    typeof state !== 'object' ||
    !count(state.epoch) ||
    !count(state.step) ||
    !Array.isArray(state.history) ||
    !(state.bestElbo === null || typeof state.bestElbo === 'number')
  ) {
    throw new DlvmError(
      `${fn}: ${path.join(dir, 'training.json')} is not a training state (epoch and step must be nonnegative integers, history an array, bestElbo a number or null; found ${JSON.stringify(state).slice(0, 120)}).`,
    );
  }
  // Every file must belong to the step training.json describes (checkpoints before 0.x lack the list).
  for (const [f, sha] of Object.entries(state.files ?? {})) {
    const found = await sha256Of(path.join(dir, f)).catch(() => 'missing');
    if (found !== sha) {
      throw new DlvmError(
        `${fn}: ${path.join(dir, f)} does not belong to the checkpoint (step ${state.step}) described by ${path.join(dir, 'training.json')}: its SHA-256 is ${found}, expected ${sha}.`,
      );
    }
  }
  const saved = await loadModel(path.join(dir, 'model'));
  try {
    // The trainable variables and the prior's state (e.g. fixed mixture weights), as saveModel writes them.
    const stateOf = (m: VAE) => [...m.trainableVariables, ...Object.values(partVariables('prior', m.prior))];
    const target = stateOf(model);
    const source = stateOf(saved);
    const same = target.length === source.length && target.every((v, i) => tf.util.arraysEqual(v.shape, source[i]!.shape));
    if (!same) {
      throw new DlvmError(`${fn}: the checkpoint in ${dir} holds a different model (variables ${source.map((v) => `[${v.shape.join(', ')}]`).join(' ')}).`);
    }
    target.forEach((v, i) => {
      if (v instanceof tf.Variable) v.assign(source[i]!);
    });
  } finally {
    saved.dispose();
  }
  const manifest = parse<OptimizerManifest>('optimizer.json', await read('optimizer.json'));
  const raw = await read('optimizer.bin');
  const expected = manifest.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0) * 4;
  if (raw.byteLength !== expected) {
    throw new DlvmError(`${fn}: ${path.join(dir, 'optimizer.bin')} has ${raw.byteLength} bytes, expected ${expected} (truncated?).`);
  }
  const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  let offset = 0;
  const weights = manifest.weights.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(values.subarray(offset, offset + size), w.shape);
    offset += size;
    return { name: w.name, tensor };
  });
  await optimizer.setWeights(weights);
  tf.dispose(weights.map((w) => w.tensor));
  return state;
}
