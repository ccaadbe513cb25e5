/**
 * Saving and loading models: a `model.json` describing the model and the prior's variables,
 * plus each network in tfjs's own layers format (`encoder/model.json` + `weights.bin`, the same
 * for the decoder), which `tf.loadLayersModel` and browsers can load too. Every file is written
 * to a temporary name and renamed, so an interrupted save never leaves a half-written file under
 * the real name. Node only.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { argError, DlvmError } from '../errors.js';
import { sha256Of, writeFileAtomic } from '../io.js';
import { VERSION } from '../version.js';
import { BernoulliDecoder, ContinuousBernoulliDecoder, GaussianDecoder, type DecoderConfig } from './decoders.js';
import { GaussianEncoder } from './encoders.js';
import { nonFiniteNames } from './nets_util.js';
import { ELBO, IWAEBound, type Objective } from './objectives.js';
import { GaussianPrior, LearnableGaussianPrior, MixtureOfGaussiansPrior, VampPrior, type Prior, type PriorConfig } from './priors.js';
import { BetaVAE, ConditionalVAE, GMVAE, IWAE, VAE } from './vae.js';
import { ensureBackend } from '../backend_ready.js';

/** The `model.json` of a saved dlvm model. */
export interface SavedModel {
  format: 'dlvm-model';
  formatVersion: 1;
  dlvmVersion: string;
  class: 'VAE' | 'BetaVAE' | 'GMVAE' | 'IWAE' | 'ConditionalVAE' | (string & {});
  /** ConditionalVAE: the number of classes of y. */
  numClasses?: number;
  /** Registered classes (e.g. SSVAE): their extra networks (folder names) and settings. */
  extra?: { nets: Record<string, string>; config: Record<string, unknown> };
  encoder: { type: 'GaussianEncoder'; path: string };
  decoder: DecoderConfig & { path: string; variables?: Array<{ name: string; shape: number[] }>; statePath?: string };
  prior: PriorConfig & { variables: Array<{ name: string; shape: number[] }>; path: string };
  objective: { type: 'elbo'; beta: number | 'schedule'; weightDecay: number } | { type: 'iwae'; k: number };
  /**
   * SHA-256 (hex) of every other file of the saved model, by path relative to its folder; written
   * last with model.json and verified by loadModel (absent in models saved before dlvm 0.2).
   */
  checksums?: Record<string, string>;
}

/** Checks every file against model.json's checksums; names the first that does not match. */
async function verifyChecksums(fn: string, dir: string, checksums: Record<string, string>): Promise<void> {
  const path = await import('node:path');
  for (const [rel, expected] of Object.entries(checksums)) {
    const file = path.join(dir, rel);
    await readFileOrFail(fn, file); // a missing file gets its own message
    if ((await sha256Of(file)) !== expected) {
      throw new DlvmError(`${fn}: ${file} does not match its checksum in ${path.join(dir, 'model.json')} (corrupt, or written by another save).`);
    }
  }
}

/**
 * How a model class defined outside vae.ts (e.g. SSVAE, which has a classifier network) is saved
 * and rebuilt; such modules register themselves with {@link registerModelClass}.
 */
export interface ModelClassSpec {
  /** The class name written in model.json. */
  name: string;
  /** Whether `model` is of this class (checked before the built-in classes). */
  matches(model: VAE): boolean;
  /** Networks besides the encoder and the decoder, by folder name. */
  nets(model: VAE): Record<string, tfl.LayersModel>;
  /** JSON settings needed to rebuild the model. */
  config(model: VAE): Record<string, unknown>;
  /** Rebuilds the model from its loaded parts. */
  build(parts: { prior: Prior; encoder: GaussianEncoder; decoder: VAE['decoder']; objective: Objective; numClasses?: number }, nets: Record<string, tfl.LayersModel>, config: Record<string, unknown>): VAE;
}

const registered = new Map<string, ModelClassSpec>();

/** Registers how a model class is saved and loaded (see {@link ModelClassSpec}). */
export function registerModelClass(spec: ModelClassSpec): void {
  const fn = 'registerModelClass';
  if (spec === null || typeof spec !== 'object') throw argError(fn, 'spec', 'an object { name, matches, nets, config, build }', spec);
  if (typeof spec.name !== 'string' || spec.name === '' || ['VAE', 'BetaVAE', 'GMVAE', 'IWAE', 'ConditionalVAE'].includes(spec.name)) {
    throw argError(fn, 'spec.name', 'a nonempty class name other than the built-in ones', spec.name);
  }
  for (const k of ['matches', 'nets', 'config', 'build'] as const) {
    if (typeof spec[k] !== 'function') throw argError(fn, `spec.${k}`, 'a function', spec[k]);
  }
  registered.set(spec.name, spec);
}

/** The model classes by name (a function: vae.ts and this module import each other). */
const classes = () => ({ VAE, BetaVAE, GMVAE, IWAE, ConditionalVAE }) as const;

function className(model: VAE): SavedModel['class'] {
  for (const spec of registered.values()) if (spec.matches(model)) return spec.name;
  if (model instanceof ConditionalVAE) return 'ConditionalVAE';
  if (model instanceof BetaVAE) return 'BetaVAE';
  if (model instanceof GMVAE) return 'GMVAE';
  if (model instanceof IWAE) return 'IWAE';
  return 'VAE';
}

function objectiveConfig(o: Objective): SavedModel['objective'] {
  if (o instanceof IWAEBound) return { type: 'iwae', k: o.k };
  if (o instanceof ELBO) return { type: 'elbo', beta: typeof o.beta === 'number' ? o.beta : 'schedule', weightDecay: o.weightDecay };
  throw new DlvmError(`saveModel: cannot save the objective ${o.name}; only ELBO and IWAEBound are supported.`);
}

/** Writes a layers model in tfjs's format (model.json + weights.bin) into `dir`. */
async function saveNet(net: tfl.LayersModel, dir: string): Promise<void> {
  const path = await import('node:path');
  await net.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `dlvm ${VERSION} (TensorFlow.js ${tf.version_core})`,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFileAtomic(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
      await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** float32 bytes of variables, in order (awaited reads). */
async function packVariables(vars: Array<[string, tf.Variable]>): Promise<Uint8Array> {
  const bytes = new Uint8Array(vars.reduce((s, [, v]) => s + v.size * 4, 0));
  const all = await Promise.all(vars.map(([, v]) => v.data()));
  let offset = 0;
  for (const v of all) {
    const data = v as Float32Array;
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  return bytes;
}

/** Assigns float32 `bytes` (laid out as `specs`) to the named variables of `state`. */
async function unpackVariables(
  fn: string,
  file: string,
  owner: string,
  specs: Array<{ name: string; shape: number[] }>,
  state: Record<string, tf.Variable>,
): Promise<void> {
  const bytes = await readFileOrFail(fn, file);
  const expected = specs.reduce((s, v) => s + v.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bytes.byteLength !== expected) {
    throw new DlvmError(`${fn}: ${file} has ${bytes.byteLength} bytes, expected ${expected} for the ${owner}'s variables (truncated?).`);
  }
  let offset = 0;
  for (const v of specs) {
    const target = state[v.name];
    if (!target || !tf.util.arraysEqual(target.shape, v.shape)) {
      throw new DlvmError(`${fn}: the saved ${owner} has a variable ${v.name} [${v.shape.join(', ')}] that the rebuilt ${owner} does not have with that shape.`);
    }
    const size = v.shape.reduce((a, b) => a * b, 1);
    tf.tidy(() => target.assign(tf.tensor(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4)), v.shape)));
    offset += size * 4;
  }
}

/** Bytes of a weight spec's data. */
function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  return size * (spec.dtype === 'float32' || spec.dtype === 'int32' ? 4 : 1);
}

async function readFileOrFail(fn: string, file: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    throw new DlvmError(`${fn}: cannot read ${file}: ${(e as Error).message}`);
  }
}

async function readJson<T>(fn: string, file: string): Promise<T> {
  const text = new TextDecoder().decode(await readFileOrFail(fn, file));
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new DlvmError(`${fn}: ${file} is not valid JSON (truncated or corrupt?): ${(e as Error).message}`);
  }
}

/** Loads a layers model saved by saveNet, checking the weight file against its manifest. */
async function loadNet(fn: string, dir: string): Promise<tfl.LayersModel> {
  const path = await import('node:path');
  const modelFile = path.join(dir, 'model.json');
  const json = await readJson<{ modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> }>(fn, modelFile);
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new DlvmError(`${fn}: ${modelFile} is not a tfjs layers model (no modelTopology / weightsManifest).`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const weightsFile = path.join(dir, 'weights.bin');
  const bytes = await readFileOrFail(fn, weightsFile);
  const expected = specs.reduce((s, w) => s + specBytes(w), 0);
  if (bytes.byteLength !== expected) {
    throw new DlvmError(`${fn}: ${weightsFile} has ${bytes.byteLength} bytes, but ${modelFile} describes ${expected} (truncated or from another model).`);
  }
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data }));
  } catch (e) {
    // tfjs-layers says e.g. "Shape mismatch: ..." without a file: name the files it came from.
    throw new DlvmError(`${fn}: ${modelFile} (with ${weightsFile}) cannot be loaded as a layers model: ${(e as Error).message}`);
  }
}

/**
 * Saves a VAE (or BetaVAE, GMVAE, IWAE, ConditionalVAE) built from dlvm's blocks into `dir` (created if needed).
 *
 * @example
 * await saveModel(vae, 'runs/vae/model');
 * const again = await loadModel('runs/vae/model');
 */
export async function saveModel(model: VAE, dir: string): Promise<void> {
  const fn = 'saveModel';
  if (!(model instanceof VAE)) throw argError(fn, 'model', 'a VAE (or BetaVAE, GMVAE, IWAE)', model);
  if (typeof dir !== 'string' || dir === '') throw argError(fn, 'dir', 'a folder path', dir);
  const { encoder, decoder, prior } = model;
  if (!(encoder instanceof GaussianEncoder)) throw new DlvmError(`${fn}: only GaussianEncoder encoders can be saved, got ${String(encoder)}.`);
  const dec = decoder as unknown as { net?: tfl.LayersModel; config?: () => DecoderConfig };
  if (!dec.net || typeof dec.config !== 'function') throw new DlvmError(`${fn}: only dlvm's decoders can be saved.`);
  if (typeof (prior as Prior).config !== 'function') throw new DlvmError(`${fn}: only dlvm's priors can be saved.`);
  const path = await import('node:path');
  const spec = [...registered.values()].find((s) => s.matches(model));
  const state = Object.entries(prior.state());
  const decState = Object.entries((decoder as unknown as { state?: () => Record<string, tf.Variable> }).state?.() ?? {});
  const netFolders = [...Object.keys(spec?.nets(model) ?? {}), 'encoder', 'decoder'];
  const saved: SavedModel = {
    format: 'dlvm-model',
    formatVersion: 1,
    dlvmVersion: VERSION,
    class: className(model),
    ...(model instanceof ConditionalVAE ? { numClasses: model.numClasses } : {}),
    ...(spec ? { extra: { nets: Object.fromEntries(Object.keys(spec.nets(model)).map((k) => [k, k])), config: spec.config(model) } } : {}),
    encoder: { type: 'GaussianEncoder', path: 'encoder' },
    decoder: { ...dec.config(), path: 'decoder', variables: decState.map(([name, v]) => ({ name, shape: v.shape })), statePath: 'decoder-state.bin' },
    prior: { ...prior.config(), variables: state.map(([name, v]) => ({ name, shape: v.shape })), path: 'prior.bin' },
    objective: objectiveConfig(model.objective),
  };
  // Never write non-finite weights (a diverged or corrupted model) where a good one may be.
  const bad = await nonFiniteNames([
    ...model.trainableVariables.map((v) => [v.name, v] as [string, tf.Tensor]),
    ...state.map(([name, v]) => [`prior.${name}`, v] as [string, tf.Tensor]),
    ...decState.map(([name, v]) => [`decoder.${name}`, v] as [string, tf.Tensor]),
  ]);
  if (bad.length > 0) {
    throw new DlvmError(
      `${fn}: the model holds NaN or infinite values (in ${bad.slice(0, 4).join(', ')}${bad.length > 4 ? `, and ${bad.length - 4} more` : ''}); nothing was written to ${dir}.`,
    );
  }
  for (const [name, net] of Object.entries(spec?.nets(model) ?? {})) await saveNet(net, path.join(dir, name));
  await saveNet(encoder.net, path.join(dir, 'encoder'));
  await saveNet(dec.net, path.join(dir, 'decoder'));
  await writeFileAtomic(path.join(dir, 'prior.bin'), await packVariables(state));
  await writeFileAtomic(path.join(dir, 'decoder-state.bin'), await packVariables(decState));
  // model.json last, with the checksums of the files it describes: a folder whose model.json
  // matches its files is complete and consistent.
  const files = [...netFolders.flatMap((n) => [`${n}/model.json`, `${n}/weights.bin`]), 'prior.bin', 'decoder-state.bin'];
  saved.checksums = Object.fromEntries(await Promise.all(files.map(async (f) => [f, await sha256Of(path.join(dir, f))] as const)));
  await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(saved, null, 2));
}

/** Loads a model saved by {@link saveModel}; errors name the missing, truncated or mismatched file. */
export async function loadModel(dir: string): Promise<VAE> {
  const fn = 'loadModel';
  if (typeof dir !== 'string' || dir === '') throw argError(fn, 'dir', 'a folder path', dir);
  ensureBackend(fn);
  const path = await import('node:path');
  const file = path.join(dir, 'model.json');
  const cfg = await readJson<SavedModel>(fn, file);
  if (cfg.format !== 'dlvm-model' || cfg.formatVersion !== 1) {
    throw new DlvmError(`${fn}: ${file} is not a dlvm model (format ${JSON.stringify(cfg.format)}, version ${JSON.stringify(cfg.formatVersion)}).`);
  }
  const spec = registered.get(cfg.class);
  const Class = classes()[cfg.class as keyof ReturnType<typeof classes>];
  if (!Class && !spec) throw new DlvmError(`${fn}: ${file} names an unknown model class ${JSON.stringify(cfg.class)}.`);
  // Everything made so far is freed if a later part fails (a truncated or corrupt file).
  const made: Array<{ dispose(): unknown }> = [];
  const keep = <T extends { dispose(): unknown }>(x: T): T => {
    made.push(x);
    return x;
  };
  try {
    const encoder = new GaussianEncoder(keep(await loadNet(fn, path.join(dir, cfg.encoder.path))));
    const decNet = keep(await loadNet(fn, path.join(dir, cfg.decoder.path)));
    const d = cfg.decoder;
    const decoder =
      d.type === 'BernoulliDecoder'
        ? new BernoulliDecoder(decNet, d.itemShape)
        : d.type === 'ContinuousBernoulliDecoder'
          ? new ContinuousBernoulliDecoder(decNet, d.itemShape)
          : d.type === 'GaussianDecoder'
            ? new GaussianDecoder(decNet, d.itemShape, { scale: d.scale, variance: d.variance })
            : (() => {
                throw new DlvmError(`${fn}: ${file} names an unknown decoder ${JSON.stringify((d as { type: unknown }).type)}.`);
              })();
    const p = cfg.prior;
    const prior: Prior =
      p.type === 'GaussianPrior'
        ? new GaussianPrior(p.latentDim)
        : p.type === 'LearnableGaussianPrior'
          ? new LearnableGaussianPrior(p.latentDim)
          : p.type === 'MixtureOfGaussiansPrior'
            ? new MixtureOfGaussiansPrior(p.latentDim, { components: p.components, learnWeights: p.learnWeights })
            : p.type === 'VampPrior'
              ? new VampPrior(p.latentDim, encoder, { count: p.count, itemShape: p.itemShape })
              : (() => {
                  throw new DlvmError(`${fn}: ${file} names an unknown prior ${JSON.stringify((p as { type: unknown }).type)}.`);
                })();
    keep(prior);
    keep({ dispose: () => tf.dispose(Object.values((decoder as { state?: () => Record<string, tf.Variable> }).state?.() ?? {})) });
    await unpackVariables(fn, path.join(dir, p.path), 'prior', p.variables, prior.state());
    if (d.variables && d.variables.length > 0) {
      await unpackVariables(fn, path.join(dir, d.statePath ?? 'decoder-state.bin'), 'decoder', d.variables, (decoder as { state(): Record<string, tf.Variable> }).state());
    }
    // Sizes and formats are checked above with their own messages; the checksums catch the rest
    // (bytes flipped in place, files from another save).
    if (cfg.checksums !== undefined) await verifyChecksums(fn, dir, cfg.checksums);
    const o = cfg.objective;
    let objective: Objective;
    if (o.type === 'iwae') objective = new IWAEBound(o.k);
    else {
      if (o.beta === 'schedule') console.warn(`${fn}: the model was trained with a scheduled beta, which is not saved; using beta = 1.`);
      objective = new ELBO({ beta: o.beta === 'schedule' ? 1 : o.beta, weightDecay: o.weightDecay });
    }
    if (spec) {
      const nets: Record<string, tfl.LayersModel> = {};
      for (const [name, folder] of Object.entries(cfg.extra?.nets ?? {})) nets[name] = keep(await loadNet(fn, path.join(dir, folder)));
      return spec.build({ prior, encoder, decoder, objective, numClasses: cfg.numClasses }, nets, cfg.extra?.config ?? {});
    }
    if (Class === ConditionalVAE) {
      if (!Number.isInteger(cfg.numClasses)) throw new DlvmError(`${fn}: ${file} is a ConditionalVAE without a valid numClasses (${JSON.stringify(cfg.numClasses)}).`);
      return new ConditionalVAE({ prior, encoder, decoder, objective, numClasses: cfg.numClasses! });
    }
    return new (Class as typeof VAE)({ prior, encoder, decoder, objective });
  } catch (e) {
    for (const m of made.reverse()) m.dispose();
    throw e;
  }
}
