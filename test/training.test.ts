/**
 * fit: history, callbacks, validation, flat tensor count, the NaN guard and aborting.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fit, loadModel, loadMnist, manualSeed, VAE, type ArrayDataset, type HistoryRecord, type TrainableModel } from '../src/index.js';
import { useBackend } from './helpers/backends.js';

let train: ArrayDataset;
let valid: ArrayDataset;
beforeAll(async () => {
  await useBackend('wasm');
  const test = await loadMnist({ split: 'test', download: false });
  train = test.subset(
    Array.from({ length: 600 }, (_, i) => i),
    'train600',
  );
  valid = test.subset(
    Array.from({ length: 200 }, (_, i) => 1000 + i),
    'valid200',
  );
});

describe('fit', () => {
  it('trains, records history and validation, calls back, logs lines, keeps the tensor count flat', async () => {
    manualSeed(2);
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 4, hidden: [64] });
    const calls: string[] = [];
    const counts: number[] = [];
    const lines: string[] = [];
    const live: HistoryRecord[] = [];
    const result = await fit(vae, train, {
      epochs: 3,
      batchSize: 50,
      learningRate: 3e-3,
      binarize: 'threshold',
      validationData: valid,
      logEvery: 6,
      seed: 0,
      progress: false,
      log: (l) => lines.push(l),
      callbacks: {
        onEpochBegin: (e) => calls.push(`begin ${e}`),
        onEpochEnd: (e, r) => calls.push(`end ${e} ${r.length}`),
        onStepEnd: (s) => {
          if (s > 2) counts.push(tf.memory().numTensors);
        },
        onRecord: (r) => live.push(r),
      },
    });
    expect(result.stopReason).toBe('completed');
    // onRecord sees every history record as it is made, in order.
    expect(live).toEqual(result.history);
    expect(result.steps).toBe(36);
    expect(calls).toEqual(['begin 1', 'end 1 3', 'begin 2', 'end 2 3', 'begin 3', 'end 3 3']);
    const trainRecs = result.history.filter((r) => r.split === 'train');
    const validRecs = result.history.filter((r) => r.split === 'validation');
    expect(trainRecs.map((r) => r.step)).toEqual([6, 12, 18, 24, 30, 36]);
    expect(validRecs.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(trainRecs.at(-1)!.elbo - trainRecs[0]!.elbo).toBeGreaterThan(50);
    expect(validRecs[2]!.elbo).toBeGreaterThan(validRecs[0]!.elbo);
    expect(trainRecs[0]!.loss).toBeCloseTo(-trainRecs[0]!.elbo, 3);
    expect(new Set(counts).size).toBe(1);
    expect(lines.length).toBe(3);
    expect(lines[2]).toMatch(/^epoch 3\/3: step 36\/36, train ELBO -\d+\.\d\d \(rec \d+\.\d\d, KL \d+\.\d\d\), validation ELBO -\d+\.\d\d, \d+ samples\/s$/);
    vae.dispose();
  });

  it('stops on a non-finite loss and restores the last good weights', async () => {
    manualSeed(3);
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [16] });
    let atFive: number[][] = [];
    // The same model whose loss turns NaN at step 7.
    const faulty: TrainableModel = {
      encoder: vae.encoder,
      decoder: vae.decoder,
      prior: vae.prior,
      trainableVariables: vae.trainableVariables,
      loss: (x, options) => {
        const p = vae.loss(x, options);
        return options?.step === 7 ? { ...p, loss: tf.mul(p.loss, NaN) as tf.Scalar } : p;
      },
    };
    const lines: string[] = [];
    const result = await fit(faulty, train, {
      epochs: 1,
      batchSize: 50,
      snapshotEvery: 5,
      binarize: 'threshold',
      progress: false,
      log: (l) => lines.push(l),
      callbacks: {
        onStepEnd: (s) => {
          if (s === 5) atFive = vae.trainableVariables.map((v) => Array.from(v.dataSync()));
        },
      },
    });
    expect(result.stopReason).toBe('non-finite loss');
    expect(result.steps).toBe(7);
    expect(result.message).toMatch(
      /training stopped at step 7 \(epoch 1\): the loss became NaN .* The weights were restored from step 5\. Try a smaller learning rate\./,
    );
    expect(lines.at(-1)).toBe(result.message);
    expect(vae.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(atFive);
    vae.dispose();
  });

  it('an aborted signal stops after the current step', async () => {
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [16] });
    const controller = new AbortController();
    const result = await fit(vae, train, {
      epochs: 5,
      batchSize: 50,
      binarize: 'threshold',
      progress: false,
      log: () => undefined,
      signal: controller.signal,
      callbacks: { onStepEnd: (s) => s === 3 && controller.abort() },
    });
    expect(result.stopReason).toBe('aborted');
    expect(result.steps).toBe(3);
    expect(result.message).toBe('training aborted after 3 steps (epoch 1).');
    vae.dispose();
  });

  it("lets timers and messages run while it trains: an abort from a timer arrives (a page's pause button, a worker's message)", async () => {
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [16] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await fit(vae, train, {
      epochs: 1000,
      batchSize: 50,
      binarize: 'threshold',
      progress: false,
      log: () => undefined,
      signal: controller.signal,
    });
    // cpu reads resolve as microtasks: without fit's turns to the event loop the timer would wait for all 1000 epochs.
    expect(result.stopReason).toBe('aborted');
    expect(result.steps).toBeGreaterThan(0);
    expect(result.steps).toBeLessThan(1000 * train.numBatches({ batchSize: 50 }));
    vae.dispose();
  });

  it('maxSteps stops mid-epoch', async () => {
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [8] });
    const r = await fit(vae, train, { epochs: 10, maxSteps: 8, batchSize: 100, binarize: 'threshold', progress: false, log: () => undefined });
    expect(r.steps).toBe(8);
    expect(r.message).toBe('trained 8 steps (maxSteps).');
    await expect(fit(vae, train, { epochs: 1, maxSteps: 0 })).rejects.toThrow(/fit: argument 'options\.maxSteps' must be a positive integer, but got 0/);
    vae.dispose();
  });

  it('log lines count the epochs that will run (maxSteps may end early), and progress lines come between them', async () => {
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [8] });
    // 600 examples, batches of 100: 6 steps per epoch; maxSteps 9 ends in epoch 2 of the 10 asked.
    const lines: string[] = [];
    await fit(vae, train, {
      epochs: 10,
      maxSteps: 9,
      batchSize: 100,
      binarize: 'threshold',
      progress: false,
      progressSeconds: 1e-6,
      log: (l) => lines.push(l),
    });
    const epochLines = lines.filter((l) => /train ELBO/.test(l));
    expect(epochLines.map((l) => l.split(',')[0])).toEqual(['epoch 1/2: step 6/9', 'epoch 2/2: step 9/9']);
    const progress = lines.filter((l) => /ETA/.test(l));
    // One after every step but the last (progressSeconds is tiny here; 30 s by default).
    expect(progress).toHaveLength(8);
    expect(progress[0]).toMatch(/^epoch 1\/2: step 1\/9 \(11%\), loss \d+\.\d\d, \d+ samples\/s, ETA (\d+s|\d+m \d+s)$/);
    expect(progress[7]).toMatch(/^epoch 2\/2: step 8\/9 \(89%\), /);
    await expect(fit(vae, train, { epochs: 1, progressSeconds: -1 })).rejects.toThrow(
      /fit: argument 'options\.progressSeconds' must be a number of seconds >= 0, but got -1/,
    );
    vae.dispose();
  });

  it('rejects bad arguments', async () => {
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [4] });
    await expect(fit({} as never, train, { epochs: 1 })).rejects.toThrow(
      /fit: argument 'model' must be a model with loss\(x, \{ step \}\) and trainableVariables/,
    );
    await expect(fit(vae, tf.zeros([2]) as never, { epochs: 1 })).rejects.toThrow(/fit: argument 'data' must be an ArrayDataset/);
    await expect(fit(vae, train, { epochs: 0 })).rejects.toThrow(/fit: argument 'options\.epochs' must be a positive integer, but got 0/);
    vae.dispose();
  });

  it('checkpoints every epoch and the best one; resume continues the history, steps and weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-ckpt-'));
    const common = {
      batchSize: 100,
      binarize: 'threshold' as const,
      validationData: valid,
      logEvery: 3,
      seed: 0,
      progress: false,
      log: () => undefined,
      checkpointDir: dir,
    };
    manualSeed(4);
    const first = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [16] });
    const a = await fit(first, train, { ...common, epochs: 2 });
    expect(a.steps).toBe(12);
    for (const f of ['last/training.json', 'last/optimizer.bin', 'last/model/model.json', 'best/model/model.json'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    // A fresh process would build a new model: different initial weights, then resume.
    manualSeed(99);
    const second = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [16] });
    const lines: string[] = [];
    const b = await fit(second, train, { ...common, epochs: 2, resume: true, log: (l) => lines.push(l) });
    expect(b.resumedFromEpoch).toBe(2);
    expect(b.message).toBe('nothing to do: the checkpoint already has 2 of 2 epochs.');
    expect(lines[0]).toMatch(/^resumed from .*last: 2 epochs, 12 steps done\.$/);
    // Resumed weights are the checkpoint's.
    const saved = await loadModel(join(dir, 'last', 'model'));
    expect(second.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(saved.trainableVariables.map((v) => Array.from(v.dataSync())));
    saved.dispose();
    const c = await fit(second, train, { ...common, epochs: 4, resume: true });
    expect(c.steps).toBe(24);
    expect(c.history.filter((r) => r.split === 'validation').map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect(c.history.filter((r) => r.split === 'train').map((r) => r.step)).toEqual([3, 6, 9, 12, 15, 18, 21, 24]);
    [first, second].forEach((m) => m.dispose());
  });

  it('checkpoints are written whole: an interrupted swap is repaired, a corrupt last one falls back to the best, flipped bytes fail their checksum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-ckpt-'));
    const common = { batchSize: 100, binarize: 'threshold' as const, validationData: valid, seed: 0, progress: false, checkpointDir: dir };
    manualSeed(5);
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [8] });
    await fit(vae, train, { ...common, epochs: 1, log: () => undefined });
    // No sibling folders are left after a save.
    expect(readdirSync(dir).sort()).toEqual(['best', 'last']);
    // A kill between the two renames of a save: last is gone, its old copy complete beside it,
    // and an unfinished new one (no training.json).
    renameSync(join(dir, 'last'), join(dir, 'last.old-1-1'));
    cpSync(join(dir, 'last.old-1-1'), join(dir, 'last.new-1-2'), { recursive: true });
    rmSync(join(dir, 'last.new-1-2', 'training.json'));
    const lines: string[] = [];
    const r = await fit(vae, train, { ...common, epochs: 2, resume: true, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/last was left incomplete by an interrupted save; restored the complete copy last\.old-1-1\./);
    expect(lines[1]).toMatch(/^resumed from .*last: 1 epochs, 6 steps done\.$/);
    expect(r.steps).toBe(12);
    expect(readdirSync(dir).sort()).toEqual(['best', 'last']);
    // Bytes flipped in place in the last checkpoint's weights: the checksum names the file, and
    // resume falls back to the best checkpoint and says so.
    const w = join(dir, 'last', 'model', 'decoder', 'weights.bin');
    const bytes = readFileSync(w);
    bytes.fill(0xff, 0, 64); // NaN patterns, same size
    writeFileSync(w, bytes);
    await expect(loadModel(join(dir, 'last', 'model'))).rejects.toThrow(
      /loadModel: .*last\/model\/decoder\/weights\.bin does not match its checksum in .*model\.json \(corrupt, or written by another save\)/,
    );
    const again: string[] = [];
    await fit(vae, train, { ...common, epochs: 3, resume: true, log: (l) => again.push(l) });
    expect(again[0]).toMatch(/last cannot be used \(loadModel: .*does not match its checksum.*\); resuming from .*best instead\./);
    expect(again[1]).toMatch(/^resumed from .*best: \d epochs, \d+ steps done\.$/);
    vae.dispose();
  });

  it('an abort with checkpointDir saves a checkpoint; a corrupt one is named on resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-ckpt-'));
    const vae = VAE.mlp({ inputShape: [28, 28], latentDim: 2, hidden: [8] });
    const controller = new AbortController();
    const r = await fit(vae, train, {
      epochs: 3,
      batchSize: 100,
      binarize: 'threshold',
      progress: false,
      log: () => undefined,
      checkpointDir: dir,
      signal: controller.signal,
      callbacks: { onStepEnd: (s) => s === 8 && controller.abort() },
    });
    expect(r.message).toMatch(/training aborted after 8 steps \(epoch 2\)\. Checkpoint saved in .*last\./);
    writeFileSync(join(dir, 'last', 'training.json'), '{"epoch": ');
    await expect(fit(vae, train, { epochs: 3, checkpointDir: dir, resume: true, progress: false, log: () => undefined })).rejects.toThrow(
      /fit \(resume\): .*last\/training\.json is not valid JSON/,
    );
    writeFileSync(join(dir, 'last', 'training.json'), '{"epoch": 1, "step": -5, "history": [], "bestElbo": null}');
    await expect(fit(vae, train, { epochs: 3, checkpointDir: dir, resume: true, progress: false, log: () => undefined })).rejects.toThrow(
      /fit \(resume\): .*last\/training\.json is not a training state \(epoch and step must be nonnegative integers.*"step":-5/,
    );
    await expect(fit({ loss: () => undefined, trainableVariables: [] } as never, train, { epochs: 1, checkpointDir: dir })).rejects.toThrow(
      /fit: argument 'model' must be a dlvm VAE/,
    );
    vae.dispose();
  });

  it('never keeps or restores non-finite weights: a finite loss with a NaN update restores the last finite snapshot', async () => {
    // loss = sqrt(|v - 1|) at v = 1: the loss is 0, its gradient 0 * Infinity = NaN, so Adam's
    // update makes v NaN behind a finite loss (the fault the NaN guard used to snapshot and restore).
    const v = tf.variable(tf.tensor1d([1]));
    const model = {
      trainableVariables: [v],
      loss: () => {
        const l = tf.sum(tf.sqrt(tf.abs(tf.sub(v, 1))));
        return { loss: l as tf.Scalar, elbo: tf.reshape(tf.neg(l), [1]), reconstruction: tf.reshape(l, [1]), kl: tf.zeros([1]) };
      },
    } as unknown as TrainableModel;
    const lines: string[] = [];
    const result = await fit(model, train, { epochs: 1, batchSize: 50, snapshotEvery: 1, progress: false, log: (l) => lines.push(l) });
    expect(result.stopReason).toBe('non-finite loss');
    expect(result.steps).toBe(1);
    expect(result.message).toMatch(/training stopped at step 1 \(epoch 1\): the loss became NaN .*The weights were restored from step 0\./);
    expect(Array.from(await v.data())).toEqual([1]);
    // A model whose weights are not finite is refused before training.
    v.assign(tf.tensor1d([NaN]));
    await expect(fit(model, train, { epochs: 1, progress: false, log: () => undefined })).rejects.toThrow(
      /fit: argument 'model' must be a model with finite weights, but got NaN or infinite values in /,
    );
    v.dispose();
  });

  it('saveModel refuses NaN or infinite weights and writes nothing', async () => {
    const vae = VAE.mlp({ inputShape: [4], latentDim: 2, hidden: [3] });
    const w = vae.trainableVariables[0]!;
    w.assign(tf.fill(w.shape, Infinity));
    const dir = join(mkdtempSync(join(tmpdir(), 'dlvm-nan-')), 'model');
    await expect(vae.save(dir)).rejects.toThrow(/saveModel: the model holds NaN or infinite values \(in .+\); nothing was written to .*model\./);
    expect(existsSync(join(dir, 'model.json'))).toBe(false);
    expect(existsSync(join(dir, 'encoder'))).toBe(false);
    vae.dispose();
  });

  it('divergence with finite values stops training and restores the weights: a loss far above the best, or a validation ELBO far below it', async () => {
    // Adam moves v by about lr per step: with lr 1000, v^2 jumps from 1 to about 1e6 (all finite).
    const v = tf.variable(tf.tensor1d([1]));
    const parts = () => {
      const l = tf.sum(tf.square(v));
      return { loss: l as tf.Scalar, elbo: tf.reshape(tf.neg(l), [1]), reconstruction: tf.reshape(l, [1]), kl: tf.zeros([1]) };
    };
    const model = { trainableVariables: [v], loss: parts } as unknown as TrainableModel;
    const result = await fit(model, train, { epochs: 1, batchSize: 50, learningRate: 1000, progress: false, log: () => undefined });
    expect(result.stopReason).toBe('diverged');
    expect(result.steps).toBe(1);
    expect(result.message).toMatch(
      /^training diverged at step 1 \(epoch 1\): the loss reached 9\.\d+e\+5, far above the best so far \(1\.00; first step 1\.00\)\. The weights were restored from step 0; no checkpoint was written for it\./,
    );
    expect(Array.from(await v.data())).toEqual([1]);
    // The validation ELBO: -100 after epoch 1, then -1e7 (a blown-up model whose training loss hides it).
    let epochs = 0;
    const validated = {
      ...model,
      loss: () => {
        const p = parts();
        return { ...p, loss: tf.mul(p.loss, 0) as tf.Scalar };
      },
      validationMetrics: async () => {
        epochs++;
        const elbo = epochs === 1 ? -100 : -1e7;
        return { loss: -elbo, elbo, reconstruction: -elbo, kl: 0 };
      },
    } as unknown as TrainableModel;
    const r2 = await fit(validated, train, { epochs: 3, batchSize: 300, validationData: valid, progress: false, log: () => undefined });
    expect(r2.stopReason).toBe('diverged');
    expect(r2.message).toMatch(/training diverged at step 4 \(epoch 2\): the validation ELBO fell to -1\.000e\+7, far below the best so far \(-100\.00\)/);
    expect(r2.history.filter((h) => h.split === 'validation').map((h) => h.elbo)).toEqual([-100, -1e7]);
    v.dispose();
  });
});
