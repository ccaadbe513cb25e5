/**
 * The `dlvm` command line: train, sample, eval and plot, as the DTU `vae_bernoulli.py` script
 * and more. Every command has --help; bad flags print an error and exit with status 1.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lockRun } from './run_lock.js';
import { recoverDir, removeStaleParts, replaceDir, writeFileAtomic } from '../io.js';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import {
  activeUnits,
  bayesAccuracy,
  aggregatePosterior,
  BetaVAE,
  bitsPerDim,
  ConditionalVAE,
  describeBackend,
  evaluateElbo,
  fit,
  GMVAE,
  initBackend,
  IWAE,
  iwaeLogLikelihood,
  latentManifold,
  loadBinarizedMnist,
  loadFashionMnist,
  loadMnist,
  loadModel,
  manualSeed,
  reconstructionGrid,
  reconstructionMse,
  sampleGrid,
  semiSupervisedSplit,
  SSVAE,
  styleContentGrid,
  toyDataset,
  toyPanels,
  trainingCurves,
  VAE,
  validationMetrics,
  VERSION,
  type ArrayDataset,
  type Binarize,
  type HistoryRecord,
  type ToyName,
  type VaeConvOptions,
  type VaeMlpOptions,
} from 'dlvm';

/** What `dlvm train` records in RUN/run.json, for the other commands. */
interface RunInfo {
  model: string;
  likelihood?: string;
  arch: string;
  activation: string;
  dataset: string;
  toy?: ToyName;
  binarize: Binarize;
  latentDim: number;
  hidden: number[];
  epochs: number;
  batchSize: number;
  lr: number;
  backend: string;
  seconds: number;
  steps: number;
  stopReason: string;
  dlvmVersion: string;
  command: string;
  /** The model's own settings: beta (betavae), components and learnWeights (gmvae), k (iwae). */
  modelOptions?: Record<string, number | boolean | string>;
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(v)}.`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got ${JSON.stringify(v)}.`);
  return n;
};
const nonnegative = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0) || v.trim() === '') throw new InvalidArgumentError(`${name} must be a nonnegative number, got ${JSON.stringify(v)}.`);
  return n;
};
const sizes = (v: string) => {
  const list = v.split(',').map(Number);
  if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n > 0)) {
    throw new InvalidArgumentError(`hidden sizes must be comma-separated positive integers such as 512,512, got ${JSON.stringify(v)}.`);
  }
  return list;
};

async function dataset(name: string, split: 'train' | 'test', opts: { data?: string; toy?: ToyName; limit?: number; seed?: number }): Promise<ArrayDataset> {
  let ds: ArrayDataset;
  if (name === 'mnist') ds = await loadMnist({ split, path: opts.data });
  else if (name === 'fashion-mnist') ds = await loadFashionMnist({ split, path: opts.data });
  else if (name === 'binarized-mnist') ds = await loadBinarizedMnist({ split, path: opts.data });
  else ds = toyDataset(opts.toy ?? 'square', { n: split === 'train' ? 4000 : 1000, seed: (opts.seed ?? 0) + (split === 'train' ? 0 : 1) });
  if (opts.limit !== undefined && opts.limit < ds.length)
    ds = ds.subset(
      Array.from({ length: opts.limit }, (_, i) => i),
      `${ds.name}`,
    );
  return ds;
}

/**
 * Checks `--run` before anything else (so that every command reports a wrong folder the same way,
 * before the backend starts): it must be a folder holding run.json or model/.
 */
function checkRunFolder(run: string): void {
  if (!existsSync(run)) throw new Error(`--run ${run}: no such folder. Pass a folder written by 'dlvm train --out DIR'.`);
  if (!statSync(run).isDirectory()) throw new Error(`--run ${run} is a file, not a run folder. Pass a folder written by 'dlvm train --out DIR'.`);
  if (!existsSync(join(run, 'run.json')) && !existsSync(join(run, 'model'))) {
    throw new Error(`--run ${run} is not a run folder (it has no run.json and no model/). Pass a folder written by 'dlvm train --out DIR'.`);
  }
}

function readRun(run: string): RunInfo {
  try {
    return JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunInfo;
  } catch (e) {
    throw new Error(`${join(run, 'run.json')} cannot be read (${(e as Error).message}); is ${run} a folder written by 'dlvm train'?`);
  }
}

/**
 * The model of a run: `RUN/model`, or for an unfinished run (interrupted, or still training) its
 * last complete checkpoint, else its best one, saying so on stderr.
 */
async function loadRunModel(run: string): Promise<VAE> {
  let failed: Error | null = null;
  if (existsSync(join(run, 'model', 'model.json'))) {
    try {
      return await loadModel(join(run, 'model'));
    } catch (e) {
      // A damaged model/ (e.g. a weights file that fails its checksum): its checkpoints may be good.
      failed = e as Error;
    }
  }
  for (const which of ['last', 'best'] as const) {
    const dir = join(run, 'checkpoints', which);
    if (existsSync(join(dir, 'training.json')) && existsSync(join(dir, 'model', 'model.json'))) {
      // A run still training replaces its checkpoint every epoch; a read that straddles a swap
      // fails its checksums (never loads a mixed model), so it is read again.
      for (let attempt = 1; ; attempt++) {
        try {
          const state = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8')) as { epoch: number; step: number };
          const model = await loadModel(join(dir, 'model'));
          const why = failed ? `its model/ cannot be loaded (${failed.message})` : `${run} is unfinished (no model/)`;
          console.error(`${why}: using its ${which} checkpoint (epoch ${state.epoch}, step ${state.step})`);
          return model;
        } catch (e) {
          if (attempt >= 5) {
            if (which === 'last') break;
            throw failed ?? e;
          }
          await new Promise((res) => setTimeout(res, 200 * attempt));
        }
      }
    }
  }
  if (failed) throw failed;
  throw new Error(`${run} has no model/ and no complete checkpoint yet (checkpoints are written after each epoch).`);
}

/** Pictures need a model of the images; an M1+M2 run's M2 models M1's latent z1. */
function refuseStacked(model: VAE, run: string, what: string): void {
  if (model instanceof SSVAE && model.m1 !== null)
    throw new Error(`${what} draws images, but ${run} is an M1+M2 model whose M2 models M1's latent z1; use M1's run folder for pictures.`);
}

/** What `dlvm train` writes into --out: a folder holding any of these holds a run. */
const RUN_FILES = ['run.json', 'model', 'history.json', 'curves.png', 'checkpoints'] as const;

async function backend(name: string | undefined): Promise<string> {
  const info = await initBackend(name as never);
  console.error(`backend: ${describeBackend(info)}`);
  return info.name;
}

/** What run.json records of a model's own options. */
type ModelOptions = Record<string, string | number | boolean>;

/** What a `--model` entry builds from: the flags and the options shared by every preset. */
interface ModelContext {
  o: OptionValues;
  base: VaeMlpOptions;
  arch: VaeConvOptions;
  conv: boolean;
  numClasses: number;
  m1: VAE | undefined;
  m1Dims: number[] | undefined;
}

/** The models of `dlvm train --model`: how each is built, and the options run.json records. */
const MODELS = {
  vae: { build: (c: ModelContext): VAE => (c.conv ? VAE.conv(c.arch) : VAE.mlp(c.base)), options: (): ModelOptions => ({}) },
  betavae: {
    build: (c: ModelContext): VAE => (c.conv ? BetaVAE.conv({ ...c.arch, beta: c.o.beta }) : BetaVAE.mlp({ ...c.base, beta: c.o.beta })),
    options: (c: ModelContext): ModelOptions => ({ beta: c.o.beta }),
  },
  gmvae: {
    build: (c: ModelContext): VAE => {
      const mix = { components: c.o.components, learnWeights: Boolean(c.o.learnWeights) };
      return c.conv ? GMVAE.conv({ ...c.arch, ...mix }) : GMVAE.mlp({ ...c.base, ...mix });
    },
    options: (c: ModelContext): ModelOptions => ({ components: c.o.components, learnWeights: Boolean(c.o.learnWeights) }),
  },
  iwae: {
    build: (c: ModelContext): VAE => (c.conv ? IWAE.conv({ ...c.arch, k: c.o.k }) : IWAE.mlp({ ...c.base, k: c.o.k })),
    options: (c: ModelContext): ModelOptions => ({ k: c.o.k }),
  },
  cvae: {
    build: (c: ModelContext): VAE =>
      c.conv ? ConditionalVAE.conv({ ...c.arch, numClasses: c.numClasses }) : ConditionalVAE.mlp({ ...c.base, numClasses: c.numClasses }),
    options: (c: ModelContext): ModelOptions => ({ numClasses: c.numClasses }),
  },
  ssvae: {
    build: (c: ModelContext): VAE =>
      SSVAE.mlp({
        ...c.base,
        likelihood: c.m1 ? 'gaussian' : 'bernoulli',
        ...(c.m1 ? { m1: c.m1, m1Dims: c.m1Dims } : {}),
        numClasses: c.numClasses,
        alpha: c.o.alpha,
        genWeight: c.o.genWeight,
        labelledElbo: c.o.labelledElbo !== false,
        unlabelled: c.o.relaxed === undefined ? 'enumerate' : { relaxed: c.o.relaxed },
      }),
    options: (c: ModelContext): ModelOptions => ({
      numClasses: c.numClasses,
      labels: c.o.labels,
      alpha: c.o.alpha,
      genWeight: c.o.genWeight,
      labelledElbo: c.o.labelledElbo !== false,
      ...(c.o.relaxed === undefined ? {} : { relaxed: c.o.relaxed }),
      ...(c.o.m1 === undefined ? {} : { m1: resolve(c.o.m1 as string) }),
      ...(c.o.labelledBatchSize === undefined ? {} : { labelledBatchSize: c.o.labelledBatchSize }),
    }),
  },
};
type ModelName = keyof typeof MODELS;

/** Makes `--out` and proves it writable now, with its name, not after training. */
function prepareOut(dir: string): string {
  const out = resolve(dir);
  try {
    // One level at a time: Node's recursive mkdir spins forever on some places (e.g. /proc).
    const missing: string[] = [];
    for (let d = out; !existsSync(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) mkdirSync(d);
    const probe = join(out, `.dlvm-write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new Error(`--out ${out} cannot be written (${(e as Error).message}); choose a writable folder.`);
  }
  return out;
}

/**
 * The binarisation of `dlvm train`: the data as given (the library's default, 'none'), except grey
 * images for a Bernoulli likelihood, which need binary pixels: thresholded at 0.5 by default, and
 * said so on stderr.
 */
function trainBinarize(o: OptionValues): Binarize {
  const greyForBernoulli = o.likelihood === 'bernoulli' && o.dataset !== 'toy2d' && o.dataset !== 'binarized-mnist';
  if (o.binarize === undefined && greyForBernoulli) {
    console.error(
      `binarize: threshold (pixels >= 0.5 -> 1; the default for a Bernoulli likelihood on ${o.dataset}'s grey images: --binarize dynamic|static|threshold to choose, or --likelihood continuous-bernoulli for grey levels)`,
    );
  }
  return (o.binarize as Binarize | undefined) ?? (greyForBernoulli ? 'threshold' : 'none');
}

/** The training set and the validation set (at most 1000 examples with `--limit`). */
async function trainData(o: OptionValues): Promise<{ train: ArrayDataset; test: ArrayDataset }> {
  const from = { data: o.data as string | undefined, toy: o.toy as ToyName, seed: o.seed as number };
  const limit = o.limit as number | undefined;
  const train = await dataset(o.dataset, 'train', { ...from, limit });
  const test = await dataset(o.dataset, 'test', { ...from, limit: limit === undefined ? undefined : Math.min(limit, 1000) });
  return { train, test };
}

/** The flag combinations `dlvm train` refuses before it loads or writes anything more. */
function checkTrainFlags(o: OptionValues, train: ArrayDataset, binarize: Binarize): void {
  const toy = o.dataset === 'toy2d';
  if (o.arch === 'conv' && toy) throw new Error('--arch conv needs image data, not --dataset toy2d.');
  if ((o.model === 'cvae' || o.model === 'ssvae') && train.labels === null)
    throw new Error(`--model ${o.model} needs labelled data; ${o.dataset} has no labels.`);
  if (o.model === 'ssvae' && o.arch === 'conv') throw new Error('--model ssvae has MLP networks only (--arch mlp).');
  if (o.model === 'ssvae' && o.likelihood !== 'bernoulli') throw new Error('--model ssvae has a Bernoulli likelihood only.');
  if (o.labelledBatchSize !== undefined && o.model !== 'ssvae') throw new Error(`--labelled-batch-size is for --model ssvae, not --model ${o.model}.`);
  if (o.m1 !== undefined && o.model !== 'ssvae') throw new Error(`--m1 is for --model ssvae (M1+M2), not --model ${o.model}.`);
  if (o.likelihood === 'bernoulli' && binarize === 'none' && !toy && o.dataset !== 'binarized-mnist') {
    throw new Error('--likelihood bernoulli needs binary data: use --binarize threshold|dynamic|static, or --likelihood continuous-bernoulli for grey levels.');
  }
}

/**
 * M1 of a stacked M1+M2 (`--m1 RUN`): the trained unconditional VAE, and its active units, which
 * Kingma et al. keep (the others are prior noise).
 */
async function loadM1(o: OptionValues, train: ArrayDataset, binarize: Binarize): Promise<{ m1: VAE; m1Dims: number[] } | null> {
  if (o.m1 === undefined) return null;
  const run = o.m1 as string;
  const m1 = await loadModel(join(run, 'model'));
  if (m1 instanceof ConditionalVAE) throw new Error(`--m1 ${run}: M1 must be an unconditional VAE, got a conditional one (--model cvae).`);
  const m1Run = readRun(run);
  if (m1Run.dataset !== o.dataset) throw new Error(`--m1 ${run} was trained on ${m1Run.dataset}, not on --dataset ${o.dataset}.`);
  const { variances } = await activeUnits(m1, train, { binarize, seed: o.seed });
  const m1Dims = variances.flatMap((v, d) => (v > 0.01 ? [d] : []));
  if (m1Dims.length === 0) throw new Error(`--m1 ${run}: M1 has no active latent unit (posterior means that vary across the data).`);
  console.error(`M1+M2: M2 models z1 ~ q(z1|x) of the VAE in ${run}: its ${m1Dims.length} active units of ${m1.prior.latentDim}`);
  return { m1, m1Dims };
}

/** What `fit` trains on: the training set, or for SSVAE its unlabelled part and `--labels` labelled examples. */
function trainingSplit(o: OptionValues, train: ArrayDataset): { fitData: ArrayDataset; labelledData?: ArrayDataset } {
  if (o.model !== 'ssvae') return { fitData: train };
  if (o.labels % train.numClasses !== 0)
    throw new Error(`--labels must be a multiple of the ${train.numClasses} classes (the same number per class), got ${o.labels}.`);
  const split = semiSupervisedSplit(train, { labelsPerClass: o.labels / train.numClasses, seed: o.seed });
  console.error(`semi-supervised: ${split.labelled.length} labelled and ${split.unlabelled.length} unlabelled examples (split seed ${o.seed})`);
  return { fitData: split.unlabelled, labelledData: split.labelled };
}

/**
 * Takes `--out` for this process, after every check of the flags and before anything is written:
 * one writer per run folder, and never train over a run unasked (`--force` removes it).
 */
function claimRun(out: string, o: OptionValues): { release: () => void } {
  const lock = lockRun(out);
  if (lock.stale) console.error(`took over a stale lock of ${out} (pid ${lock.stale.pid} is gone, since ${lock.stale.since})`);
  if (o.resume && o.force) throw new Error('--resume and --force exclude each other: --resume continues the run in --out, --force replaces it.');
  const previous = RUN_FILES.filter((f) => existsSync(join(out, f)));
  if (previous.length > 0 && !o.resume) {
    if (!o.force) {
      throw new Error(
        `--out ${out} already holds a run (${previous.join(', ')}). Continue it with --resume, choose another --out, or replace it with --force.`,
      );
    }
    for (const f of previous) rmSync(join(out, f), { recursive: true, force: true });
    console.error(`--force: removed the previous run in ${out} (${previous.join(', ')})`);
  }
  return lock;
}

/** How far a run has come: what run.json records besides the flags. */
interface Progress {
  steps: number;
  seconds: number;
  stopReason: string;
}

/** run.json of a `dlvm train` run at a given progress. */
function runInfoOf(o: OptionValues, c: { binarize: Binarize; backend: string; stepsPerEpoch: number; ctx: ModelContext }) {
  const toy = o.dataset === 'toy2d';
  return (progress: Progress): RunInfo => ({
    model: o.model,
    likelihood: toy ? 'gaussian' : o.likelihood,
    arch: o.arch,
    activation: o.activation,
    dataset: o.dataset,
    ...(toy ? { toy: o.toy } : {}),
    binarize: c.binarize,
    latentDim: o.latentDim,
    hidden: o.hidden,
    epochs: Math.ceil(progress.steps / c.stepsPerEpoch),
    batchSize: o.batchSize,
    lr: o.lr,
    backend: c.backend,
    seconds: progress.seconds,
    steps: progress.steps,
    stopReason: progress.stopReason,
    dlvmVersion: VERSION,
    command: process.argv.slice(2).join(' '),
    modelOptions: MODELS[o.model as ModelName].options(c.ctx),
  });
}

/** Repairs what a kill left in `--out`: a half-swapped model/, and temporary files of run.json, history.json or curves.png. */
async function repairRunFolder(out: string): Promise<void> {
  const repaired = await recoverDir(join(out, 'model'), async (d) => existsSync(join(d, 'model.json')));
  if (repaired) console.error(repaired);
  const stale = await removeStaleParts(out);
  if (stale.length > 0) console.error(`removed ${stale.length} temporary file${stale.length > 1 ? 's' : ''} of an interrupted write: ${stale.join(', ')}`);
}

/** Ctrl-C and SIGTERM save a checkpoint and stop training, through the signal `fit` watches. */
function stopOnSignals(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(
        `${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: saving a checkpoint and stopping${signal === 'SIGINT' ? ' (press Ctrl-C again to quit at once)' : ''}`,
      );
      controller.abort();
    });
  }
  return controller.signal;
}

/** The line `dlvm train` ends with: how it stopped, how long it took, the last validation, what it saved. */
function trainSummary(out: string, result: { message: string; seconds: number; history: HistoryRecord[] }): string {
  const last = result.history.filter((r) => r.split === 'validation').at(-1);
  const acc = last?.accuracy !== undefined ? `, accuracy ${last.accuracy.toFixed(4)}` : '';
  const validation = last ? `; validation ELBO ${last.elbo.toFixed(2)}${acc}` : '';
  return `${result.message} ${result.seconds.toFixed(0)} s${validation}. Saved ${join(out, 'model')}, history.json${result.history.length > 0 ? ', curves.png' : ''}, run.json.`;
}

const program = new Command();
program.name('dlvm').description('Deep latent variable models on TensorFlow.js').version(VERSION).showHelpAfterError('(add --help to see the options)');

program
  .command('train')
  .description('train a model and save it with its history and curves into --out')
  .addOption(new Option('--model <name>', 'model').choices(Object.keys(MODELS)).default('vae'))
  .addOption(new Option('--arch <name>', "networks: MLP, or the PML report's convolutional pair (--channels)").choices(['mlp', 'conv']).default('mlp'))
  .option('--channels <sizes>', 'conv channels of the stride-2 layers', sizes, [16, 32])
  .addOption(new Option('--dataset <name>', 'data').choices(['mnist', 'binarized-mnist', 'fashion-mnist', 'toy2d']).default('mnist'))
  .addOption(new Option('--toy <name>', 'toy 2-D set (with --dataset toy2d)').choices(['square', 'rings', 'moons', 'pinwheel']).default('square'))
  .addOption(new Option('--binarize <mode>', 'binarisation of images').choices(['threshold', 'dynamic', 'static', 'none']))
  .addOption(
    new Option('--likelihood <name>', 'p(x|z) for images: Bernoulli (binary data) or continuous Bernoulli (grey levels in [0, 1], with --binarize none)')
      .choices(['bernoulli', 'continuous-bernoulli'])
      .default('bernoulli'),
  )
  .option('--latent-dim <n>', 'latent size M', int('--latent-dim'), 10)
  .option('--hidden <sizes>', 'hidden layer sizes', sizes, [512, 512])
  .addOption(new Option('--activation <name>', 'hidden activation').choices(['relu', 'elu', 'tanh', 'softplus']).default('relu'))
  .option('--epochs <n>', 'epochs', int('--epochs'), 5)
  .option('--steps <n>', 'stop after n optimiser steps (e.g. 20000 for CS236)', int('--steps'))
  .option('--batch-size <n>', 'batch size', int('--batch-size'), 128)
  .option('--lr <rate>', 'Adam learning rate', positive('--lr'), 1e-3)
  .option('--beta <b>', 'KL weight (betavae)', positive('--beta'), 1)
  .option('--components <k>', 'mixture components (gmvae)', int('--components'), 10)
  .option('--learn-weights', 'learn the mixture weights (gmvae; DTU 02460 exercise 1.6) instead of fixing them uniform (CS236)')
  .option('-k, --k <k>', 'importance samples (iwae)', int('-k'), 5)
  .option('--labels <n>', 'labelled training examples, the same number per class (ssvae; e.g. 100)', int('--labels'), 100)
  .option('--alpha <a>', 'weight of the classification loss (ssvae)', nonnegative('--alpha'), 100)
  .option('--gen-weight <w>', 'weight of the ELBO terms (ssvae; 0 = the labelled-only classifier baseline)', nonnegative('--gen-weight'), 1)
  .option('--no-labelled-elbo', 'leave the labelled ELBO out of the loss (ssvae; as CS236)')
  .option('--relaxed <temperature>', 'one Gumbel-softmax draw of y per unlabelled example instead of enumerating the classes (ssvae)', positive('--relaxed'))
  .option('--labelled-batch-size <n>', 'labelled examples per step (ssvae; default min(--batch-size, --labels))', int('--labelled-batch-size'))
  .option('--m1 <run>', 'stacked M1+M2 (ssvae): the run folder of a trained VAE whose latent z1 ~ q(z1|x) M2 models and classifies')
  .option('--limit <n>', 'use the first n training images', int('--limit'))
  .option('--data <dir>', 'folder with the dataset files (the only place looked when given)')
  .option('--seed <s>', 'seed', (v) => Number(v), 0)
  .option('--resume', "continue from the run's last checkpoint")
  .option('--force', 'overwrite an existing run in --out (its model, history and checkpoints)')
  .option('--backend <name>', 'webgpu, tensorflow, wasm or cpu (default: the fastest available; see docs/backends.md)')
  .requiredOption('--out <dir>', 'run folder, e.g. runs/vae')
  .action(async (o) => {
    const out = prepareOut(o.out as string);
    const backendName = await backend(o.backend);
    manualSeed(o.seed);
    const binarize = trainBinarize(o);
    const { train, test } = await trainData(o);
    const toy = o.dataset === 'toy2d';
    const base = {
      inputShape: train.itemShape,
      latentDim: o.latentDim as number,
      hidden: o.hidden as number[],
      activation: o.activation,
      likelihood: toy ? ('gaussian' as const) : (o.likelihood as 'bernoulli' | 'continuous-bernoulli'),
      scale: toy ? 0.05 : undefined,
    };
    checkTrainFlags(o, train, binarize);
    const stacked = await loadM1(o, train, binarize);
    const { fitData, labelledData } = trainingSplit(o, train);
    const ctx: ModelContext = {
      o,
      base,
      arch: { ...base, channels: o.channels as number[] },
      conv: o.arch === 'conv',
      numClasses: train.numClasses,
      m1: stacked?.m1,
      m1Dims: stacked?.m1Dims,
    };
    const model = MODELS[o.model as ModelName].build(ctx);
    const lock = claimRun(out, o);
    const stepsPerEpoch = fitData.numBatches({ batchSize: o.batchSize });
    const runInfo = runInfoOf(o, { binarize, backend: backendName, stepsPerEpoch, ctx });
    // Every file of the run is replaced whole: a kill leaves the previous version or the new one.
    const writeRun = (i: RunInfo) => writeFileAtomic(join(out, 'run.json'), JSON.stringify(i, null, 2));
    await repairRunFolder(out);
    // run.json from the start, updated after every epoch: an unfinished run can be evaluated
    // and sampled from its checkpoint.
    await writeRun(runInfo({ steps: 0, seconds: 0, stopReason: 'running' }));
    const t0 = performance.now();
    let stepsDone = 0;
    const result = await fit(model, fitData, {
      labelledData,
      ...(o.labelledBatchSize === undefined ? {} : { labelledBatchSize: o.labelledBatchSize }),
      epochs: o.steps === undefined ? o.epochs : Math.max(o.epochs, Math.ceil(o.steps / stepsPerEpoch)),
      maxSteps: o.steps,
      batchSize: o.batchSize,
      learningRate: o.lr,
      binarize,
      validationData: test,
      seed: o.seed,
      checkpointDir: join(out, 'checkpoints'),
      resume: Boolean(o.resume),
      signal: stopOnSignals(),
      callbacks: {
        onStepEnd: (step) => {
          stepsDone = step;
        },
        onEpochEnd: async () => writeRun(runInfo({ steps: stepsDone, seconds: (performance.now() - t0) / 1000, stopReason: 'running' })),
      },
    });
    await replaceDir('dlvm train', join(out, 'model'), (fresh) => model.save(fresh));
    await writeFileAtomic(join(out, 'history.json'), JSON.stringify(result.history));
    // A run stopped before its first history record (e.g. a non-finite loss at step 1) has no curve.
    if (result.history.length > 0) await trainingCurves(result.history, { file: join(out, 'curves.png') });
    await writeRun(runInfo(result));
    console.log(trainSummary(out, result));
    lock.release();
    // Training that stopped on a non-finite loss or diverged did not succeed: say so with the exit status.
    if (result.stopReason === 'non-finite loss' || result.stopReason === 'diverged') process.exitCode = 1;
  });

program
  .command('sample')
  .description('draw samples from a trained model into a PNG grid')
  .requiredOption('--run <dir>', 'run folder written by dlvm train')
  .option('--n <n>', 'number of samples', int('--n'), 64)
  .option('--mean', 'decoder means E[x|z] instead of samples')
  .option('--seed <s>', 'seed', (v) => Number(v), 0)
  .option('--out <file>', 'PNG file (default RUN/samples.png)')
  .option('--backend <name>', 'webgpu, tensorflow, wasm or cpu')
  .action(async (o) => {
    checkRunFolder(o.run);
    await backend(o.backend);
    const model = await loadRunModel(o.run);
    refuseStacked(model, o.run, 'dlvm sample');
    const file = resolve(o.out ?? join(o.run, 'samples.png'));
    await sampleGrid(model, { n: o.n, mean: Boolean(o.mean), seed: o.seed, file });
    console.log(`wrote ${file}`);
  });

program
  .command('eval')
  .description('test ELBO, reconstruction, KL, IWAE-k NLL, bits/dim, MSE and active units of a trained model')
  .requiredOption('--run <dir>', 'run folder written by dlvm train')
  .option('--iw <k>', 'importance samples for the IWAE-k log-likelihood', int('--iw'), 1000)
  .option('--bayes <k>', "ssvae: also the accuracy of p(y|x) by Bayes' rule, log p(x|y) by IWAE-k per class", int('--bayes'))
  .addOption(new Option('--binarize <mode>', "binarisation of the test images (default: the run's)").choices(['threshold', 'dynamic', 'static', 'none']))
  .option('--limit <n>', 'use the first n test examples', int('--limit'))
  .option('--data <dir>', 'folder with the dataset files (the only place looked when given)')
  .option('--seed <s>', 'seed', (v) => Number(v), 0)
  .option('--backend <name>', 'webgpu, tensorflow, wasm or cpu')
  .action(async (o) => {
    checkRunFolder(o.run);
    await backend(o.backend);
    const run = readRun(o.run);
    const model = await loadRunModel(o.run);
    const test = await dataset(run.dataset, 'test', { data: o.data, toy: run.toy, limit: o.limit });
    const binarize: Binarize = o.binarize ?? run.binarize;
    if (binarize === 'none' && run.binarize !== 'none' && (run.likelihood ?? 'bernoulli') === 'bernoulli') {
      throw new Error(`--binarize none: the run's Bernoulli likelihood needs binary images (it was trained with --binarize ${run.binarize}).`);
    }
    const t0 = performance.now();
    const opts = { binarize, seed: o.seed };
    if (model instanceof SSVAE) {
      // Semi-supervised: the accuracy of q(y|x) and the bound on log p(x) (M1+M2: on log p(z1)) with y summed out.
      const m = await validationMetrics(model, test, opts);
      const of = model.m1 === null ? 'log p(x)' : "log p(z1) (M1's mean z1, not comparable to log p(x))";
      let bayes: { bayesAccuracy: number; bayesSamples: number } | Record<string, never> = {};
      if (o.bayes !== undefined) {
        let next = 0.1;
        const progress = (done: number, total: number) => {
          if (done / total + 1e-9 < next) return;
          next = Math.floor((done / total) * 10) / 10 + 0.1;
          console.error(`Bayes' rule, IWAE-${o.bayes} per class: ${done}/${total} examples, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        };
        bayes = { bayesAccuracy: await bayesAccuracy(model, test, { ...opts, samples: o.bayes, onProgress: progress }), bayesSamples: o.bayes };
      }
      const result = {
        examples: test.length,
        binarize,
        accuracy: m.accuracy,
        ...bayes,
        elbo: m.elbo,
        elboOf: model.m1 === null ? 'x' : 'z1',
        reconstruction: m.reconstruction,
        kl: m.kl,
        seconds: (performance.now() - t0) / 1000,
      };
      await writeFileAtomic(join(o.run, 'eval.json'), JSON.stringify(result, null, 2));
      const byBayes = 'bayesAccuracy' in bayes ? `, of p(y|x) by Bayes' rule (IWAE-${o.bayes} per class) ${bayes.bayesAccuracy.toFixed(4)}` : '';
      console.log(
        `${test.length} test examples: accuracy of q(y|x) ${m.accuracy.toFixed(4)}${byBayes}; ELBO of ${of}, y summed out, ${m.elbo.toFixed(2)} (reconstruction ${m.reconstruction.toFixed(2)}, KL ${m.kl.toFixed(2)}); ${result.seconds.toFixed(0)} s`,
      );
      return;
    }
    const e = await evaluateElbo(model, test, opts);
    // IWAE-k is the long part: a line on stderr every 10% with the time so far.
    let next = 0.1;
    const progress = (done: number, total: number) => {
      if (done / total + 1e-9 < next) return;
      next = Math.floor((done / total) * 10) / 10 + 0.1;
      console.error(`IWAE-${o.iw}: ${done}/${total} examples, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    };
    const ll = await iwaeLogLikelihood(model, test, { ...opts, k: o.iw, onProgress: progress });
    const dims = test.itemSize;
    const result = {
      examples: test.length,
      binarize,
      elbo: e.elbo,
      reconstruction: e.reconstruction,
      kl: e.kl,
      klAnalytic: e.klAnalytic,
      [`iwae${o.iw}`]: ll,
      nll: -ll,
      bitsPerDim: bitsPerDim(-ll, dims),
      mse: await reconstructionMse(model, test, opts),
      activeUnits: (await activeUnits(model, test, opts)).count,
      seconds: (performance.now() - t0) / 1000,
    };
    await writeFileAtomic(join(o.run, 'eval.json'), JSON.stringify(result, null, 2));
    console.log(
      `${test.length} test examples: ELBO ${e.elbo.toFixed(2)} (reconstruction ${e.reconstruction.toFixed(2)}, KL ${e.kl.toFixed(2)}), ` +
        `IWAE-${o.iw} NLL ${(-ll).toFixed(2)} nats (${result.bitsPerDim.toFixed(4)} bits/dim), MSE ${result.mse.toFixed(4)}, active units ${result.activeUnits}; ${result.seconds.toFixed(0)} s`,
    );
  });

program
  .command('plot')
  .description('draw a picture of a trained model: latent, manifold, reconstructions or curves')
  .argument('<kind>', 'latent | manifold | reconstructions | curves | toy | style-content (cvae)', (v) => {
    if (!['latent', 'manifold', 'reconstructions', 'curves', 'toy', 'style-content'].includes(v)) {
      throw new InvalidArgumentError(`must be latent, manifold, reconstructions, curves, toy or style-content, got ${JSON.stringify(v)}.`);
    }
    return v;
  })
  .requiredOption('--run <dir>', 'run folder written by dlvm train')
  .option('--out <file>', 'PNG file (default RUN/<kind>.png)')
  .option('--data <dir>', 'folder with the dataset files (the only place looked when given)')
  .option('--backend <name>', 'webgpu, tensorflow, wasm or cpu')
  .action(async (kind: string, o) => {
    checkRunFolder(o.run);
    const file = resolve(o.out ?? join(o.run, `${kind}.png`));
    const run = readRun(o.run);
    if (kind === 'curves') {
      const history = JSON.parse(readFileSync(join(o.run, 'history.json'), 'utf8')) as HistoryRecord[];
      await trainingCurves(history, { file });
    } else {
      await backend(o.backend);
      const model = await loadRunModel(o.run);
      refuseStacked(model, o.run, `dlvm plot ${kind}`);
      const test = await dataset(run.dataset, 'test', { data: o.data, toy: run.toy });
      if (kind === 'latent') await aggregatePosterior(model, test, { n: 3000, binarize: run.binarize, file });
      else if (kind === 'manifold') await latentManifold(model, { steps: 20, file });
      else if (kind === 'style-content') {
        if (!(model instanceof ConditionalVAE))
          throw new Error(`plot style-content needs a conditional model (dlvm train --model cvae); ${o.run} holds a ${run.model}.`);
        await styleContentGrid(model, { rows: 10, seed: 0, file });
      } else if (kind === 'toy') await toyPanels(model, test, { file });
      else {
        const idx = Array.from({ length: 32 }, (_, i) => i);
        const x = test.tensor(idx, { binarize: run.binarize });
        await reconstructionGrid(model, x, { cols: 16, file, ...(test.labels ? { y: idx.map((i) => test.labels![i]!) } : {}) });
        tf.dispose(x);
      }
    }
    console.log(`wrote ${file}`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`dlvm: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
