/**
 * `fit`: the training loop for dlvm models, with a progress bar, history, callbacks, validation,
 * a NaN guard and clean stopping.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, type Binarize } from '../data/dataset.js';
import { argError, Described, DlvmError, positiveInteger } from '../errors.js';
import { nonFiniteNames } from '../models/nets_util.js';
import { validationMetrics } from '../evaluation/validation.js';
import type { ObjectiveParts } from '../models/objectives.js';
import { VAE } from '../models/vae.js';
import { adam } from './adam.js';
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
  /**
   * Called with each history record as it is made: the training means every `logEvery` steps
   * and the validation record of each epoch (for live curves, e.g. dlvm Lab's).
   */
  onRecord?(record: HistoryRecord): void;
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

/** fit's settings, checked and with their defaults. */
interface Settings {
  epochs: number;
  batchSize: number;
  maxSteps: number;
  /** Steps in all: min(batches per epoch x epochs, maxSteps). */
  total: number;
  /** The last epoch that runs: maxSteps may end training before options.epochs (CS236's 20000 steps). */
  lastEpoch: number;
  logEvery: number;
  snapshotEvery: number;
  progressSeconds: number;
  log: (line: string) => void;
  /** Labelled data of semi-supervised training, and its batch size. */
  semi: ArrayDataset | undefined;
  labelledBatchSize: number;
  /** Whether each batch's labels go to `loss` (a conditional model without labelledData). */
  conditional: boolean;
}

/** Checks fit's arguments (errors name `fit`, in the order of the options) and fills the defaults. */
function settingsOf(fn: string, model: TrainableModel, data: ArrayDataset, options: FitOptions): Settings {
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
  const perEpoch = data.numBatches({ batchSize });
  const total = Math.min(perEpoch * epochs, maxSteps);
  return {
    epochs,
    batchSize,
    maxSteps,
    total,
    lastEpoch: Math.min(epochs, Math.ceil(total / perEpoch)),
    logEvery: options.logEvery ?? 50,
    snapshotEvery: options.snapshotEvery ?? 100,
    progressSeconds,
    log: options.log ?? ((line: string) => console.log(line)),
    semi,
    labelledBatchSize,
    conditional,
  };
}

/** Where a run starts: fresh, or from `checkpointDir/last` (or `best` when `last` is corrupt). */
interface Start {
  epoch: number;
  step: number;
  best: number | null;
  history: HistoryRecord[];
}

/**
 * Puts back what an interrupted save left in `ckpt` and, with `resume`, loads the last (else the
 * best) checkpoint into the model and the optimizer. A started but unfinished checkpoint is never
 * trained over from step 0 (its best would be lost).
 */
async function startFrom(
  fn: string,
  ckpt: string | undefined,
  resume: boolean,
  model: TrainableModel,
  optimizer: tf.Optimizer,
  log: Settings['log'],
): Promise<Start> {
  const fresh: Start = { epoch: 1, step: 0, best: null, history: [] };
  if (ckpt === undefined) return fresh;
  const { join } = await import('node:path');
  for (const which of ['last', 'best']) {
    const note = await recoverCheckpoint(join(ckpt, which));
    if (note) log(note);
  }
  if (!resume) return fresh;
  const last = join(ckpt, 'last');
  const best = join(ckpt, 'best');
  if (!(await hasCheckpoint(last))) {
    const { existsSync } = await import('node:fs');
    if (existsSync(last) || existsSync(best)) {
      throw new DlvmError(
        `${fn}: cannot resume from ${last}: it has no training.json (an interrupted or incomplete save). ` +
          'Move the checkpoint folder away to start again, or restore it from a copy.',
      );
    }
    return fresh;
  }
  let from = last;
  let state: Awaited<ReturnType<typeof loadCheckpoint>>;
  try {
    state = await loadCheckpoint(from, model as VAE, optimizer);
  } catch (e) {
    // A corrupt last checkpoint (e.g. a file that fails its checksum): the best one is the
    // previous good state; say so, never train on a mixed model.
    if (!(e instanceof DlvmError) || !(await hasCheckpoint(best))) throw e;
    log(`${from} cannot be used (${e.message}); resuming from ${best} instead.`);
    from = best;
    state = await loadCheckpoint(from, model as VAE, optimizer);
  }
  log(`resumed from ${from}: ${state.epoch} epochs, ${state.step} steps done.`);
  return { epoch: state.epoch + 1, step: state.step, best: state.bestElbo, history: [...state.history] };
}

/** Labelled batches for semi-supervised training, epoch after epoch of the labelled set. */
function* labelledBatches(semi: ArrayDataset, batchSize: number, options: FitOptions): Generator<{ x: tf.Tensor; y: tf.Tensor }> {
  for (let e = 0; ; e++) {
    for (const b of semi.batches({ batchSize, seed: options.seed === undefined ? undefined : options.seed + 7919 * (e + 1), binarize: options.binarize })) {
      yield { x: b.x, y: b.y! };
    }
  }
}

/**
 * The NaN guard's in-memory copy of the weights: finite weights only (a snapshot of NaN weights
 * restores nothing), refreshed every `snapshotEvery` steps while the loss is not climbing away.
 */
class WeightGuard {
  private saved: tf.Tensor[];
  savedStep: number;

  private constructor(
    private readonly vars: tf.Variable[],
    step: number,
  ) {
    this.saved = snapshot(vars);
    this.savedStep = step;
  }

  static async start(fn: string, vars: tf.Variable[], step: number): Promise<WeightGuard> {
    const bad = await nonFiniteNames(named(vars));
    if (bad.length > 0) throw argError(fn, 'model', 'a model with finite weights', new Described(`NaN or infinite values in ${bad.slice(0, 4).join(', ')}`));
    return new WeightGuard(vars, step);
  }

  /** Puts the snapshot's values back into the variables. */
  restore(): void {
    this.vars.forEach((v, i) => v.assign(this.saved[i]!));
  }

  /**
   * A step can leave non-finite weights behind a finite loss (an infinite gradient): the last
   * finite snapshot is kept then, and the next step's non-finite loss restores it.
   */
  async refresh(step: number): Promise<void> {
    if ((await nonFiniteNames(named(this.vars))).length > 0) return;
    tf.dispose(this.saved);
    this.saved = snapshot(this.vars);
    this.savedStep = step;
  }

  dispose(): void {
    tf.dispose(this.saved);
  }
}

/**
 * One optimiser step on a batch; returns its [loss, ELBO, reconstruction, KL] (batch means),
 * still on the device. A loss that throws must not leave its tensors behind: tfjs keeps what a
 * taped function made when it throws, so the error is caught inside, the gradients of a zero
 * scalar tied to the variables finish the tape (and are not applied), and it is rethrown outside.
 */
function trainStep(model: TrainableModel, optimizer: tf.Optimizer, x: tf.Tensor, lossOptions: LossOptions<tf.Tensor>): tf.Tensor {
  const vars = model.trainableVariables;
  let failure: { error: unknown } | null = null;
  const scalars = tf.tidy(() => {
    let parts: tf.Tensor[] = [];
    const { value, grads } = optimizer.computeGradients(() => {
      try {
        const p = model.loss(x, lossOptions);
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
  return scalars;
}

/**
 * The step's scalars, read with one awaited read together with the argument checks queued
 * during the step (no synchronous read); frees them.
 */
async function readStep(scalars: tf.Tensor): Promise<number[]> {
  try {
    const [values] = (await Promise.all([scalars.data(), checkArgs()])) as [Float32Array, void];
    return Array.from(values);
  } finally {
    scalars.dispose();
  }
}

/** Validation after an epoch: the model's own `validationMetrics`, else evaluation's (ELBO; SSVAE: bound and accuracy). */
async function validate(model: TrainableModel, data: ArrayDataset, binarize: Binarize | undefined, step: number, epoch: number): Promise<HistoryRecord> {
  const v = model.validationMetrics ? await model.validationMetrics(data, { binarize }) : await validationMetrics(model, data, { binarize });
  const { accuracy } = v;
  return {
    step,
    epoch,
    split: 'validation',
    loss: v.loss,
    elbo: v.elbo,
    reconstruction: v.reconstruction,
    kl: v.kl,
    ...(accuracy === undefined ? {} : { accuracy }),
  };
}

/** Running sums of the step means, for the history's records and the epoch's log line. */
class Means {
  n = 0;
  loss = 0;
  elbo = 0;
  rec = 0;
  kl = 0;

  add([loss, elbo, rec, kl]: readonly number[]): void {
    this.n++;
    this.loss += loss!;
    this.elbo += elbo!;
    this.rec += rec!;
    this.kl += kl!;
  }

  /** The means as a training record, and the sums reset. */
  record(step: number, epoch: number): HistoryRecord {
    const r: HistoryRecord = {
      step,
      epoch,
      split: 'train',
      loss: this.loss / this.n,
      elbo: this.elbo / this.n,
      reconstruction: this.rec / this.n,
      kl: this.kl / this.n,
    };
    Object.assign(this, { n: 0, loss: 0, elbo: 0, rec: 0, kl: 0 });
    return r;
  }
}

/** The progress bar on stderr, for a terminal. */
type Bar = { start(t: number, v: number, p?: object): void; update(v: number, p?: object): void; stop(): void };

async function progressBar(total: number): Promise<Bar> {
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    {
      format: 'epoch {epoch} [{bar}] {percentage}% | loss {loss} | ELBO {elbo} | rec {rec} | KL {kl} | {rate} samples/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { epoch: 1, loss: '-', elbo: '-', rec: '-', kl: '-', rate: '-' });
  return bar;
}

/** The log line after an epoch (without a progress bar). */
function epochLine(s: Settings, epoch: number, step: number, train: Means, valid: HistoryRecord | undefined, seconds: number): string {
  const n = train.n;
  return (
    `epoch ${epoch}/${s.lastEpoch}: step ${step}/${s.total}` +
    (n > 0 ? `, train ELBO ${(train.elbo / n).toFixed(2)} (rec ${(train.rec / n).toFixed(2)}, KL ${(train.kl / n).toFixed(2)})` : '') +
    (valid ? `, validation ELBO ${valid.elbo.toFixed(2)}` : '') +
    (valid?.accuracy !== undefined ? `, validation accuracy ${valid.accuracy.toFixed(4)}` : '') +
    `, ${((step * s.batchSize) / seconds).toFixed(0)} samples/s`
  );
}

/** What a run shares between its steps: the settings, the parts and the state so far. */
interface RunParts {
  s: Settings;
  model: TrainableModel;
  data: ArrayDataset;
  optimizer: tf.Optimizer;
  options: FitOptions;
  guard: WeightGuard;
  bar: Bar | null;
  labelled: Generator<{ x: tf.Tensor; y: tf.Tensor }> | null;
  /** Saves `checkpointDir/last` or `best` (nothing without a checkpointDir); the path, or null. */
  save: (run: Run, epochsDone: number, which: 'last' | 'best') => Promise<string | null>;
}

/** A training run, epoch by epoch: the steps, the guards against divergence, validation and checkpoints. */
class Run {
  step: number;
  best: number | null;
  readonly history: HistoryRecord[];
  stopReason: FitResult['stopReason'] = 'completed';
  message = '';
  private firstLoss: number | null = null;
  private bestLoss = Infinity;
  private bestValidElbo: number | null = null;
  private readonly t0 = performance.now();
  private lastLine = this.t0;
  private readonly firstStep: number;
  private readonly window = new Means();

  constructor(
    private readonly p: RunParts,
    start: Start,
  ) {
    this.step = start.step;
    this.best = start.best;
    this.history = start.history;
    this.firstStep = start.step;
  }

  get seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  private stop(reason: FitResult['stopReason'], why: string): void {
    this.stopReason = reason;
    this.message = why;
  }

  private diverged(what: string, epoch: number): void {
    this.p.guard.restore();
    this.stop(
      'diverged',
      `training diverged at step ${this.step} (epoch ${epoch}): ${what}. The weights were restored from step ${this.p.guard.savedStep}; no checkpoint was written for it. Try a smaller learning rate.`,
    );
  }

  /** Trains one epoch, validates and saves; false when training stops. */
  async epoch(epoch: number): Promise<boolean> {
    const { s, options } = this.p;
    options.callbacks?.onEpochBegin?.(epoch);
    const records: HistoryRecord[] = [];
    const means = new Means();
    for (const { x, y } of this.p.data.batches({
      batchSize: s.batchSize,
      seed: options.seed === undefined ? undefined : options.seed + epoch,
      binarize: options.binarize,
    })) {
      if (this.step >= s.maxSteps) break;
      await this.letOthersRun();
      if (options.signal?.aborted) {
        this.stop('aborted', `training aborted after ${this.step} steps (epoch ${epoch}).`);
        // The interrupted epoch is redone on resume; weights and optimizer state are kept.
        const saved = await this.p.save(this, epoch - 1, 'last');
        if (saved !== null) this.message += ` Checkpoint saved in ${saved}.`;
        return false;
      }
      const values = await this.batch(x, y, epoch);
      if (values === null) return false;
      means.add(values);
      if (this.step % s.logEvery === 0 || this.step === s.total) records.push(this.record(this.window.record(this.step, epoch)));
    }
    const validation = options.validationData ? await validate(this.p.model, options.validationData, options.binarize, this.step, epoch) : null;
    if (validation !== null) {
      records.push(this.record(validation));
      if (!this.validated(validation, epoch)) return false;
    }
    const improved = validation !== null && this.improves(validation);
    await this.p.save(this, epoch, 'last');
    if (improved) await this.p.save(this, epoch, 'best');
    if (!this.p.bar) s.log(epochLine(s, epoch, this.step, means, validation ?? undefined, this.seconds));
    await options.callbacks?.onEpochEnd?.(epoch, records);
    return this.step < s.maxSteps;
  }

  private lastYield = 0;
  /**
   * Gives the event loop a turn every 50 ms. A step's reads resolve as microtasks on CPU
   * backends, so without this nothing else runs until fit returns: not a worker's messages, a
   * page's clicks or a timer that aborts the signal (dlvm Lab's pause never arrived).
   */
  private async letOthersRun(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < 50) return;
    this.lastYield = now;
    await macrotask();
  }

  private record(r: HistoryRecord): HistoryRecord {
    this.history.push(r);
    this.p.options.callbacks?.onRecord?.(r);
    return r;
  }

  /** One step on a batch, with the NaN guard and the progress; its values, or null when training stops. */
  private async batch(x: tf.Tensor, y: tf.Tensor | null, epoch: number): Promise<number[] | null> {
    const { s, options, guard: g } = this.p;
    const step = this.step;
    options.callbacks?.onStepBegin?.(step);
    const lb = this.p.labelled?.next().value;
    const scalars = trainStep(this.p.model, this.p.optimizer, x, lb ? { step, labelled: lb } : s.conditional ? { step, y: y! } : { step });
    let values: number[];
    try {
      values = await readStep(scalars);
    } catch (e) {
      // A bad argument found during the step: the step's update is undone, nothing is saved.
      g.restore();
      if (e instanceof DlvmError) e.message += ` (fit: stopped at step ${step}, epoch ${epoch}; the weights were restored from step ${g.savedStep}.)`;
      throw e;
    }
    const [loss, elbo, , kl] = values as [number, number, number, number];
    if (!values.every(Number.isFinite)) {
      g.restore();
      this.stop(
        'non-finite loss',
        `training stopped at step ${step} (epoch ${epoch}): the loss became ${loss} (ELBO ${elbo}, KL ${kl}). ` +
          `The weights were restored from step ${g.savedStep}. Try a smaller learning rate.`,
      );
      return null;
    }
    const first = (this.firstLoss ??= loss);
    if (this.bestLoss < Infinity && farAbove(loss, this.bestLoss, first)) {
      this.diverged(`the loss reached ${loss.toPrecision(4)}, far above the best so far (${this.bestLoss.toFixed(2)}; first step ${first.toFixed(2)})`, epoch);
      return null;
    }
    this.bestLoss = Math.min(this.bestLoss, loss);
    this.step++;
    this.window.add(values);
    // No snapshot while the loss is climbing away (a tenth of the divergence margin).
    if (this.step % s.snapshotEvery === 0 && !farAbove(loss, this.bestLoss, first, DIVERGENCE / 10)) await g.refresh(this.step);
    options.callbacks?.onStepEnd?.(this.step, loss);
    this.progress(epoch, values);
    return values;
  }

  /** A progress line every `progressSeconds` (without a bar), or the bar's update. */
  private progress(epoch: number, values: number[]): void {
    const { s, bar } = this.p;
    const step = this.step;
    if (!bar && s.progressSeconds > 0 && performance.now() - this.lastLine >= s.progressSeconds * 1000 && step < s.total) {
      this.lastLine = performance.now();
      const rate = (step - this.firstStep) / ((this.lastLine - this.t0) / 1000);
      s.log(
        `epoch ${epoch}/${s.lastEpoch}: step ${step}/${s.total} (${((100 * step) / s.total).toFixed(0)}%), loss ${values[0]!.toFixed(2)}, ` +
          `${(rate * s.batchSize).toFixed(0)} samples/s, ETA ${formatSeconds((s.total - step) / rate)}`,
      );
    }
    bar?.update(step, {
      epoch,
      ...Object.fromEntries((['loss', 'elbo', 'rec', 'kl'] as const).map((k, i) => [k, values[i]!.toFixed(2)])),
      rate: ((step * s.batchSize) / this.seconds).toFixed(0),
    });
  }

  /** The validation guard: false (weights restored) when the validation ELBO fell far below its best. */
  private validated(r: HistoryRecord, epoch: number): boolean {
    const bestElbo = this.bestValidElbo;
    if (bestElbo !== null && farAbove(-r.elbo, -bestElbo, -bestElbo)) {
      this.diverged(`the validation ELBO fell to ${r.elbo.toPrecision(4)}, far below the best so far (${bestElbo.toFixed(2)})`, epoch);
      return false;
    }
    this.bestValidElbo = bestElbo === null ? r.elbo : Math.max(bestElbo, r.elbo);
    return true;
  }

  /** Whether the epoch is the best so far: by validation accuracy for models that classify, else by ELBO. */
  private improves(r: HistoryRecord): boolean {
    const score = r.accuracy ?? r.elbo;
    if (this.best !== null && score <= this.best) return false;
    this.best = score;
    return true;
  }
}

/** Resolves on a new macrotask: setImmediate in Node, a MessageChannel message in browsers and workers (no 4 ms clamp). */
function macrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

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
  const s = settingsOf(fn, model, data, options);
  const optimizer = options.optimizer ?? adam(options.learningRate ?? 1e-3);
  const ckpt = options.checkpointDir;
  const join = ckpt === undefined ? null : (await import('node:path')).join;
  let guard: WeightGuard | null = null;
  let bar: Bar | null = null;
  let labelled: RunParts['labelled'] = null;
  try {
    const start = await startFrom(fn, ckpt, options.resume === true, model, optimizer, s.log);
    guard = await WeightGuard.start(fn, model.trainableVariables, start.step);
    if (options.progress ?? Boolean(typeof process !== 'undefined' && process.stderr?.isTTY)) bar = await progressBar(s.total);
    labelled = s.semi ? labelledBatches(s.semi, s.labelledBatchSize, options) : null;
    const save: RunParts['save'] = async (run, epochsDone, which) => {
      if (ckpt === undefined) return null;
      const dir = join!(ckpt, which);
      await saveCheckpoint(dir, model as VAE, optimizer, { epoch: epochsDone, step: run.step, history: run.history, bestElbo: run.best });
      return dir;
    };
    const run = new Run({ s, model, data, optimizer, options, guard, bar, labelled, save }, start);
    let epoch = start.epoch;
    while (epoch <= s.epochs && (await run.epoch(epoch))) epoch++;
    const resumedFromEpoch = start.epoch - 1;
    const { step } = run;
    let message = run.message;
    if (run.stopReason === 'completed') message = step >= s.maxSteps ? `trained ${step} steps (maxSteps).` : `trained ${step} steps (${s.epochs} epochs).`;
    if (run.stopReason === 'completed' && resumedFromEpoch >= s.epochs)
      message = `nothing to do: the checkpoint already has ${resumedFromEpoch} of ${s.epochs} epochs.`;
    if (run.stopReason !== 'completed') s.log(message);
    return { history: run.history, steps: step, stopReason: run.stopReason, message, seconds: run.seconds, resumedFromEpoch };
  } finally {
    bar?.stop();
    labelled?.return(undefined); // frees the last labelled batch
    guard?.dispose();
    if (!options.optimizer) optimizer.dispose();
  }
}

/** `95` -> `1m 35s`, `4000` -> `1h 6m`: an ETA for progress lines. */
function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
