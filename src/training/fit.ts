/**
 * `fit`: the training loop for dlvm models, with a progress bar, history, callbacks, validation,
 * a NaN guard and clean stopping.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { argError, Described, DlvmError, positiveInteger } from '../errors.js';
import { nonFiniteNames } from '../models/nets_util.js';
import { evaluateElbo } from '../evaluation/metrics.js';
import type { ObjectiveParts } from '../models/objectives.js';
import { VAE } from '../models/vae.js';
import { hasCheckpoint, loadCheckpoint, recoverCheckpoint, saveCheckpoint } from './checkpoint.js';
import { checkArgs } from '../distributions/pending_checks.js';
import type { HistoryRecord } from './history.js';
import type { LossOptions, ObjectiveModel } from '../models/contracts.js';

/** What `fit` needs from a model (dlvm's VAE and its variants). */
export interface TrainableModel extends ObjectiveModel {
  /** Conditional models (ConditionalVAE) set it; `fit` then passes each batch's labels to `loss`. */
  readonly numClasses?: number;
  /**
   * The objective on a batch. Conditional models get the batch's labels `y`; with
   * `FitOptions.labelledData` (semi-supervised models) x is an unlabelled batch and `labelled` a
   * labelled one.
   */
  loss(x: tf.Tensor, options?: LossOptions<tf.Tensor>): ObjectiveParts;
  /** When present, `fit` validates with it instead of `evaluateElbo` (e.g. SSVAE: bound and accuracy). */
  validationMetrics?(
    data: ArrayDataset,
    options: { binarize?: Binarize },
  ): Promise<{ loss: number; elbo: number; reconstruction: number; kl: number; accuracy?: number }>;
}

/** Hooks into the loop; all optional. */
export interface Callbacks {
  onEpochBegin?(epoch: number): void;
  /** Called after each epoch's records and checkpoints; `fit` waits for a returned promise. */
  onEpochEnd?(epoch: number, records: HistoryRecord[]): unknown;
  onStepBegin?(step: number): void;
  onStepEnd?(step: number, loss: number): void;
}

/** Options of {@link fit}. */
export interface FitOptions {
  epochs: number;
  batchSize?: number;
  /** An optimizer (default Adam with `learningRate`). */
  optimizer?: tf.Optimizer;
  learningRate?: number;
  /** How batches are binarised (see ArrayDataset; default 'none'). */
  binarize?: Binarize;
  /** Evaluated (ELBO and parts) after every epoch. */
  validationData?: ArrayDataset;
  /** Record the training means every `logEvery` steps (default 50). */
  logEvery?: number;
  /** Seed of the batch order (epoch e uses seed + e). */
  seed?: number;
  callbacks?: Callbacks;
  /** Aborting stops after the current step; `fit` returns normally with `stopReason: 'aborted'`. */
  signal?: AbortSignal;
  /**
   * Progress bar on stderr (default: when stderr is a terminal). Without one (off a terminal: CI,
   * a log file), one log line per epoch and, within an epoch, a progress line every
   * `progressSeconds`.
   */
  progress?: boolean;
  /** Without a progress bar, seconds between progress lines within an epoch (default 30; 0: none). */
  progressSeconds?: number;
  /** Where plain log lines go (default console.log). */
  log?: (line: string) => void;
  /** Keep an in-memory copy of the weights every this many steps, for the NaN guard (default 100). */
  snapshotEvery?: number;
  /**
   * Save a checkpoint after every epoch into `checkpointDir/last` (model, optimizer state,
   * history), the best one by validation ELBO into `checkpointDir/best`, and one when aborted.
   * Needs a dlvm VAE (saveModel's format). Node only.
   */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last` when it exists (weights, optimizer state, history, epoch). */
  resume?: boolean;
  /** Stop after this many optimiser steps in all (e.g. CS236's 20000 iterations), mid-epoch if need be. */
  maxSteps?: number;
  /**
   * Semi-supervised training (SSVAE): labelled examples drawn alongside every batch of `data`
   * (which may be unlabelled), cycling through them epoch after epoch; `model.loss` gets them as
   * its `labelled` argument.
   */
  labelledData?: ArrayDataset;
  /** Labelled examples per step (default: min(batchSize, labelledData.length)). */
  labelledBatchSize?: number;
}

/** What {@link fit} returns. */
export interface FitResult {
  history: HistoryRecord[];
  /** Steps done. */
  steps: number;
  /** Why training ended. */
  stopReason: 'completed' | 'aborted' | 'non-finite loss' | 'diverged';
  /** The epoch training resumed after (0 when it started fresh). */
  resumedFromEpoch: number;
  /** A sentence for people, e.g. what the NaN guard did. */
  message: string;
  /** Seconds of training. */
  seconds: number;
}

/**
 * Divergence: a loss more than DIVERGENCE times the scale of the run (max(|best|, |first - best|,
 * 1)) above the best loss so far, or a validation ELBO as far below the best one, is not
 * training (an lr of 1000 on MNIST reached a loss of 5.6e17 with every value finite).
 */
const DIVERGENCE = 100;
const farAbove = (value: number, best: number, first: number, factor = DIVERGENCE): boolean =>
  value > best + factor * Math.max(Math.abs(best), Math.abs(first - best), 1);

/** Copies of the variables' values. */
function snapshot(vars: tf.Variable[]): tf.Tensor[] {
  return vars.map((v) => tf.keep(tf.clone(v)));
}

/** The variables' names paired with them, for {@link nonFiniteNames}. */
const named = (vars: tf.Variable[]): Array<[string, tf.Tensor]> => vars.map((v) => [v.name, v]);

/**
 * Trains `model` on `data` by minimising `model.loss(x, { step }).loss` with Adam (or `optimizer`).
 * Keeps the tensor count flat across steps. A non-finite loss stops training and restores the
 * weights of the last snapshot (taken every `snapshotEvery` steps); an aborted `signal` stops after
 * the current step.
 *
 * @example
 * const { history } = await fit(vae, train, { epochs: 10, batchSize: 128, binarize: 'dynamic', validationData: test });
 */
export async function fit(model: TrainableModel, data: ArrayDataset, options: FitOptions): Promise<FitResult> {
  const fn = 'fit';
  if (!model || typeof model.loss !== 'function' || !Array.isArray(model.trainableVariables)) {
    throw argError(fn, 'model', 'a model with loss(x, { step }) and trainableVariables (a VAE)', model);
  }
  if (!(data instanceof ArrayDataset)) throw argError(fn, 'data', 'an ArrayDataset', data);
  if (options === null || typeof options !== 'object') throw argError(fn, 'options', 'an object such as { epochs: 10 }', options);
  const { epochs } = options;
  positiveInteger(fn, 'options.epochs', epochs);
  const batchSize = options.batchSize ?? 128;
  positiveInteger(fn, 'options.batchSize', batchSize);
  if (options.validationData !== undefined && !(options.validationData instanceof ArrayDataset)) {
    throw argError(fn, 'options.validationData', 'an ArrayDataset', options.validationData);
  }
  if (options.checkpointDir !== undefined && (typeof options.checkpointDir !== 'string' || options.checkpointDir === '')) {
    throw argError(fn, 'options.checkpointDir', 'a folder path', options.checkpointDir);
  }
  if (options.checkpointDir !== undefined && !(model instanceof VAE)) {
    throw argError(fn, 'model', 'a dlvm VAE (BetaVAE, GMVAE, IWAE) when options.checkpointDir is set', model);
  }
  const semi = options.labelledData;
  if (semi !== undefined && (!(semi instanceof ArrayDataset) || semi.labels === null)) {
    throw argError(fn, 'options.labelledData', 'a labelled ArrayDataset', semi);
  }
  const labelledBatchSize = options.labelledBatchSize ?? (semi ? Math.min(batchSize, semi.length) : 0);
  if (semi) positiveInteger(fn, 'options.labelledBatchSize', labelledBatchSize, options.labelledBatchSize);
  const conditional = model.numClasses !== undefined && semi === undefined;
  if (conditional && data.labels === null) {
    throw argError(fn, 'data', `a labelled dataset (the model is conditional, with ${model.numClasses} classes)`, `${data.name} without labels`);
  }
  if (options.resume && options.checkpointDir === undefined) throw argError(fn, 'options.resume', 'used with options.checkpointDir', options.resume);
  if (options.maxSteps !== undefined) positiveInteger(fn, 'options.maxSteps', options.maxSteps);
  const maxSteps = options.maxSteps ?? Infinity;
  const progressSeconds = options.progressSeconds ?? 30;
  if (typeof progressSeconds !== 'number' || !(progressSeconds >= 0))
    throw argError(fn, 'options.progressSeconds', 'a number of seconds >= 0', options.progressSeconds);
  const logEvery = options.logEvery ?? 50;
  const snapshotEvery = options.snapshotEvery ?? 100;
  const log = options.log ?? ((line: string) => console.log(line));
  const optimizer = options.optimizer ?? tf.train.adam(options.learningRate ?? 1e-3);
  const vars = model.trainableVariables;
  const perEpoch = data.numBatches({ batchSize });
  const total = Math.min(perEpoch * epochs, options.maxSteps ?? Infinity);
  // The last epoch that runs: maxSteps may end training before options.epochs (CS236's 20000 steps).
  const lastEpoch = Math.min(epochs, Math.ceil(total / perEpoch));
  const history: HistoryRecord[] = [];
  const showBar = options.progress ?? Boolean(typeof process !== 'undefined' && process.stderr?.isTTY);
  let bar: { start(t: number, v: number, p?: object): void; update(v: number, p?: object): void; stop(): void } | null = null;
  if (showBar) {
    const { SingleBar, Presets } = await import('cli-progress');
    bar = new SingleBar(
      {
        format: 'epoch {epoch} [{bar}] {percentage}% | loss {loss} | ELBO {elbo} | rec {rec} | KL {kl} | {rate} samples/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { epoch: 1, loss: '-', elbo: '-', rec: '-', kl: '-', rate: '-' });
  }

  const ckpt = options.checkpointDir;
  const join = ckpt === undefined ? null : (await import('node:path')).join;
  let startEpoch = 1;
  let step = 0;
  let best: number | null = null;
  if (ckpt !== undefined) {
    // An interrupted save leaves a complete copy beside the checkpoint: put it back, tidy the rest.
    for (const which of ['last', 'best']) {
      const note = await recoverCheckpoint(join!(ckpt, which));
      if (note) log(note);
    }
  }
  if (ckpt !== undefined && options.resume && !(await hasCheckpoint(join!(ckpt, 'last')))) {
    // A started but unfinished checkpoint must not be trained over from step 0 (its best would be lost).
    const { existsSync } = await import('node:fs');
    if (existsSync(join!(ckpt, 'last')) || existsSync(join!(ckpt, 'best'))) {
      throw new DlvmError(
        `${fn}: cannot resume from ${join!(ckpt, 'last')}: it has no training.json (an interrupted or incomplete save). ` +
          'Move the checkpoint folder away to start again, or restore it from a copy.',
      );
    }
  }
  if (ckpt !== undefined && options.resume && (await hasCheckpoint(join!(ckpt, 'last')))) {
    let from = join!(ckpt, 'last');
    let state: Awaited<ReturnType<typeof loadCheckpoint>>;
    try {
      state = await loadCheckpoint(from, model as VAE, optimizer);
    } catch (e) {
      // A corrupt last checkpoint (e.g. a file that fails its checksum): the best one is the
      // previous good state; say so, never train on a mixed model.
      if (!(e instanceof DlvmError) || !(await hasCheckpoint(join!(ckpt, 'best')))) throw e;
      log(`${from} cannot be used (${e.message}); resuming from ${join!(ckpt, 'best')} instead.`);
      from = join!(ckpt, 'best');
      state = await loadCheckpoint(from, model as VAE, optimizer);
    }
    startEpoch = state.epoch + 1;
    step = state.step;
    best = state.bestElbo;
    history.push(...state.history);
    log(`resumed from ${from}: ${state.epoch} epochs, ${state.step} steps done.`);
  }
  const resumedFromEpoch = startEpoch - 1;
  const checkpoint = async (epochsDone: number, which: 'last' | 'best') => {
    if (ckpt === undefined) return;
    await saveCheckpoint(join!(ckpt, which), model as VAE, optimizer, { epoch: epochsDone, step, history, bestElbo: best });
  };
  // Labelled batches for semi-supervised training, epoch after epoch of the labelled set.
  const labelledBatches = semi
    ? (function* () {
        for (let e = 0; ; e++)
          yield* semi.batches({
            batchSize: labelledBatchSize,
            seed: options.seed === undefined ? undefined : options.seed + 7919 * (e + 1),
            binarize: options.binarize,
          });
      })()
    : null;
  // The NaN guard's snapshot: finite weights only (a snapshot of NaN weights restores nothing).
  const badStart = await nonFiniteNames(named(vars));
  if (badStart.length > 0) {
    throw argError(fn, 'model', 'a model with finite weights', new Described(`NaN or infinite values in ${badStart.slice(0, 4).join(', ')}`));
  }
  let saved = snapshot(vars);
  let savedStep = step;
  let firstLoss: number | null = null;
  let bestLoss = Infinity;
  let bestValidElbo: number | null = null;
  const diverged = (what: string, epoch: number) => {
    vars.forEach((v, i) => v.assign(saved[i]!));
    stopReason = 'diverged';
    message = `training diverged at step ${step} (epoch ${epoch}): ${what}. The weights were restored from step ${savedStep}; no checkpoint was written for it. Try a smaller learning rate.`;
  };
  let stopReason: FitResult['stopReason'] = 'completed';
  let message = '';
  const t0 = performance.now();
  let lastLine = t0;
  const firstStep = step;
  const window = { n: 0, loss: 0, elbo: 0, rec: 0, kl: 0 };
  try {
    outer: for (let epoch = startEpoch; epoch <= epochs; epoch++) {
      options.callbacks?.onEpochBegin?.(epoch);
      const records: HistoryRecord[] = [];
      const epochSum = { n: 0, elbo: 0, rec: 0, kl: 0 };
      for (const { x, y } of data.batches({ batchSize, seed: options.seed === undefined ? undefined : options.seed + epoch, binarize: options.binarize })) {
        if (step >= maxSteps) break;
        if (options.signal?.aborted) {
          stopReason = 'aborted';
          message = `training aborted after ${step} steps (epoch ${epoch}).`;
          if (ckpt !== undefined) {
            // The interrupted epoch is redone on resume; weights and optimizer state are kept.
            await checkpoint(epoch - 1, 'last');
            message += ` Checkpoint saved in ${join!(ckpt, 'last')}.`;
          }
          break outer;
        }
        options.callbacks?.onStepBegin?.(step);
        const lb = labelledBatches?.next().value;
        const labelledBatch = lb ? { x: lb.x, y: lb.y! } : undefined;
        // The step's scalars [loss, ELBO, rec, KL] stay on the device and are read with one awaited
        // read, together with the argument checks queued during the step (no synchronous read).
        // A loss that throws must not leave its tensors behind: tfjs keeps what a taped function
        // made when it throws, so the error is caught inside, the gradients of a zero scalar tied
        // to the variables finish the tape (and are not applied), and it is rethrown outside.
        let failure: { error: unknown } | null = null;
        const scalars = tf.tidy(() => {
          let parts: tf.Tensor[] = [];
          const { value, grads } = optimizer.computeGradients(() => {
            try {
              const p = model.loss(x, labelledBatch ? { step, labelled: labelledBatch } : conditional ? { step, y: y! } : { step });
              // Kept: the gradient computation frees what its function makes, except the loss.
              parts = [tf.mean(p.elbo), tf.mean(p.reconstruction), tf.mean(p.kl)].map((t) => tf.keep(t));
              return p.loss;
            } catch (error) {
              failure = { error };
              return tf.mul(
                vars.map((v) => tf.sum(v)).reduce((a, b) => tf.add(a, b)),
                0,
              ) as tf.Scalar;
            }
          }, vars);
          if (failure !== null) {
            tf.dispose(parts);
            return tf.zeros([4]);
          }
          optimizer.applyGradients(grads);
          const out = tf.stack([value, ...parts]);
          tf.dispose(parts);
          return out;
        });
        if (failure !== null) {
          scalars.dispose();
          throw (failure as { error: unknown }).error;
        }
        let values: Float32Array;
        try {
          [values] = (await Promise.all([scalars.data(), checkArgs()])) as [Float32Array, void];
        } catch (e) {
          // A bad argument found during the step: the step's update is undone, nothing is saved.
          vars.forEach((v, i) => v.assign(saved[i]!));
          if (e instanceof DlvmError) {
            e.message += ` (fit: stopped at step ${step}, epoch ${epoch}; the weights were restored from step ${savedStep}.)`;
          }
          throw e;
        } finally {
          scalars.dispose();
        }
        const [loss, elbo, rec, kl] = Array.from(values) as [number, number, number, number];
        if (![loss, elbo, rec, kl].every(Number.isFinite)) {
          vars.forEach((v, i) => v.assign(saved[i]!));
          stopReason = 'non-finite loss';
          message =
            `training stopped at step ${step} (epoch ${epoch}): the loss became ${loss} (ELBO ${elbo}, KL ${kl}). ` +
            `The weights were restored from step ${savedStep}. Try a smaller learning rate.`;
          break outer;
        }
        firstLoss ??= loss;
        if (bestLoss < Infinity && farAbove(loss, bestLoss, firstLoss)) {
          diverged(`the loss reached ${loss.toPrecision(4)}, far above the best so far (${bestLoss.toFixed(2)}; first step ${firstLoss.toFixed(2)})`, epoch);
          break outer;
        }
        bestLoss = Math.min(bestLoss, loss);
        step++;
        Object.assign(window, { n: window.n + 1, loss: window.loss + loss, elbo: window.elbo + elbo, rec: window.rec + rec, kl: window.kl + kl });
        Object.assign(epochSum, { n: epochSum.n + 1, elbo: epochSum.elbo + elbo, rec: epochSum.rec + rec, kl: epochSum.kl + kl });
        if (step % logEvery === 0 || step === total) {
          const r: HistoryRecord = {
            step,
            epoch,
            split: 'train',
            loss: window.loss / window.n,
            elbo: window.elbo / window.n,
            reconstruction: window.rec / window.n,
            kl: window.kl / window.n,
          };
          history.push(r);
          records.push(r);
          Object.assign(window, { n: 0, loss: 0, elbo: 0, rec: 0, kl: 0 });
        }
        if (step % snapshotEvery === 0) {
          // A step can leave non-finite weights behind a finite loss (an infinite gradient): keep
          // the last finite snapshot then; the next step's loss is non-finite and restores it.
          // Nor is a snapshot taken while the loss is climbing away (a tenth of the divergence margin).
          if (!farAbove(loss, bestLoss, firstLoss, DIVERGENCE / 10) && (await nonFiniteNames(named(vars))).length === 0) {
            tf.dispose(saved);
            saved = snapshot(vars);
            savedStep = step;
          }
        }
        options.callbacks?.onStepEnd?.(step, loss);
        if (!bar && progressSeconds > 0 && performance.now() - lastLine >= progressSeconds * 1000 && step < total) {
          lastLine = performance.now();
          const rate = (step - firstStep) / ((lastLine - t0) / 1000);
          log(
            `epoch ${epoch}/${lastEpoch}: step ${step}/${total} (${((100 * step) / total).toFixed(0)}%), loss ${loss.toFixed(2)}, ` +
              `${(rate * batchSize).toFixed(0)} samples/s, ETA ${formatSeconds((total - step) / rate)}`,
          );
        }
        bar?.update(step, {
          epoch,
          loss: loss.toFixed(2),
          elbo: elbo.toFixed(2),
          rec: rec.toFixed(2),
          kl: kl.toFixed(2),
          rate: ((step * batchSize) / ((performance.now() - t0) / 1000)).toFixed(0),
        });
      }
      let improved = false;
      if (options.validationData) {
        const v = model.validationMetrics
          ? await model.validationMetrics(options.validationData, { binarize: options.binarize })
          : await evaluateElbo(model, options.validationData, { binarize: options.binarize });
        const accuracy = (v as { accuracy?: number }).accuracy;
        const r: HistoryRecord = {
          step,
          epoch,
          split: 'validation',
          loss: v.loss,
          elbo: v.elbo,
          reconstruction: v.reconstruction,
          kl: v.kl,
          ...(accuracy === undefined ? {} : { accuracy }),
        };
        history.push(r);
        records.push(r);
        if (bestValidElbo !== null && farAbove(-v.elbo, -bestValidElbo, -bestValidElbo)) {
          diverged(`the validation ELBO fell to ${v.elbo.toPrecision(4)}, far below the best so far (${bestValidElbo.toFixed(2)})`, epoch);
          break outer;
        }
        bestValidElbo = bestValidElbo === null ? v.elbo : Math.max(bestValidElbo, v.elbo);
        // The best checkpoint: by validation accuracy for models that classify, else by ELBO.
        const score = accuracy ?? v.elbo;
        if (best === null || score > best) {
          best = score;
          improved = true;
        }
      }
      await checkpoint(epoch, 'last');
      if (improved) await checkpoint(epoch, 'best');
      if (!bar) {
        const n = epochSum.n;
        const valid = records.find((r) => r.split === 'validation');
        const secs = (performance.now() - t0) / 1000;
        log(
          `epoch ${epoch}/${lastEpoch}: step ${step}/${total}` +
            (n > 0 ? `, train ELBO ${(epochSum.elbo / n).toFixed(2)} (rec ${(epochSum.rec / n).toFixed(2)}, KL ${(epochSum.kl / n).toFixed(2)})` : '') +
            (valid ? `, validation ELBO ${valid.elbo.toFixed(2)}` : '') +
            (valid?.accuracy !== undefined ? `, validation accuracy ${valid.accuracy.toFixed(4)}` : '') +
            `, ${((step * batchSize) / secs).toFixed(0)} samples/s`,
        );
      }
      await options.callbacks?.onEpochEnd?.(epoch, records);
      if (step >= maxSteps) break;
    }
  } finally {
    bar?.stop();
    (labelledBatches as Generator | null)?.return(undefined); // frees the last labelled batch
    tf.dispose(saved);
    if (!options.optimizer) optimizer.dispose();
  }
  if (stopReason === 'completed') message = step >= maxSteps ? `trained ${step} steps (maxSteps).` : `trained ${step} steps (${epochs} epochs).`;
  if (stopReason === 'completed' && resumedFromEpoch >= epochs) message = `nothing to do: the checkpoint already has ${resumedFromEpoch} of ${epochs} epochs.`;
  if (stopReason !== 'completed') log(message);
  return { history, steps: step, stopReason, message, seconds: (performance.now() - t0) / 1000, resumedFromEpoch };
}

/** `95` -> `1m 35s`, `4000` -> `1h 6m`: an ETA for progress lines. */
function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
