/**
 * Saving and loading models: a `model.json` describing the model and the prior's variables,
 * plus each network in tfjs's own layers format (`encoder/model.json` + `weights.bin`, the same
 * for the decoder), which `tf.loadLayersModel` and browsers can load too. Every file is written
 * to a temporary name and renamed, so an interrupted save never leaves a half-written file under
 * the real name (Node). saveModelFiles / loadModelFiles do the same with files in memory, on any
 * platform (a browser).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { argError, describeValue, DlvmError } from '../errors.js';
import { sha256Hex, writeFileAtomic } from '../io.js';
import { VERSION } from '../version.js';
import { decoderFromConfig, NetworkDecoder as DlvmDecoder, type DecoderConfig } from './decoders.js';
import { GaussianEncoder, type PosteriorScale } from './encoders.js';
import { checkNet, nonFiniteNames } from './nets_util.js';
import { ELBO, IWAEBound, type Objective } from './objectives.js';
import { GaussianPrior, LearnableGaussianPrior, MixtureOfGaussiansPrior, priorFromConfig, VampPrior, type BuiltinPrior, type PriorConfig } from './priors.js';
import type { Decoder, Encoder, Prior } from './contracts.js';
import type { VAE } from './vae.js';
import { ensureBackend } from '../backend/ready.js';
import type { Network } from './network.js';

/**
 * Where a saved model's files live: a folder on disk (Node) or a map of file names to bytes (any
 * platform: a browser download or a file picker). Names are `/`-joined paths relative to the
 * model, shown in messages as `where(name)`.
 */
interface Store {
  /** The file's name in messages (a path on disk). */
  where(name: string): string;
  read(fn: string, name: string): Promise<Uint8Array>;
  write(name: string, bytes: Uint8Array | string): Promise<void>;
}

/** The files of a folder, written atomically (Node only). */
async function folderStore(dir: string): Promise<Store> {
  const path = await import('node:path');
  return {
    where: (name) => path.join(dir, ...name.split('/')),
    async read(fn, name) {
      const fs = await import('node:fs/promises');
      const file = path.join(dir, ...name.split('/'));
      try {
        return new Uint8Array(await fs.readFile(file));
      } catch (e) {
        throw new DlvmError(`${fn}: cannot read ${file}: ${(e as Error).message}`);
      }
    },
    write: (name, bytes) => writeFileAtomic(path.join(dir, ...name.split('/')), bytes),
  };
}

/** Files in memory, by name (the caller's map is read, or filled). */
function memoryStore(files: Map<string, Uint8Array>, label: string): Store {
  return {
    where: (name) => `${label}${name}`,
    async read(fn, name) {
      const bytes = files.get(name);
      if (bytes === undefined)
        throw new DlvmError(`${fn}: ${label}${name} is missing (a saved model has ${[...files.keys()].slice(0, 12).join(', ') || 'no files'} here).`);
      return bytes;
    },
    async write(name, bytes) {
      files.set(name, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
    },
  };
}

/** `a/b` for folder `a` and name `b` (`b` alone at the top). */
const joinName = (folder: string, name: string) => (folder === '' ? name : `${folder}/${name}`);

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
  encoder: { type: 'GaussianEncoder'; path: string; scale?: PosteriorScale } | CustomPartConfig;
  decoder: (DecoderConfig & { path: string; variables?: Array<{ name: string; shape: number[] }>; statePath?: string }) | CustomPartConfig;
  prior: (PriorConfig & { variables: Array<{ name: string; shape: number[] }>; path: string }) | CustomPartConfig;
  objective: { type: 'elbo'; beta: number | 'schedule'; weightDecay: number } | { type: 'iwae'; k: number };
  /**
   * SHA-256 (hex) of every other file of the saved model, by path relative to its folder; written
   * last with model.json and verified by loadModel (absent in models saved before dlvm 0.2).
   */
  checksums?: Record<string, string>;
}

/** Checks every file against model.json's checksums; names the first that does not match. */
async function verifyChecksums(fn: string, store: Store, checksums: Record<string, string>): Promise<void> {
  for (const [rel, expected] of Object.entries(checksums)) {
    const bytes = await store.read(fn, rel); // a missing file gets its own message
    if ((await sha256Hex(bytes)) !== expected) {
      throw new DlvmError(`${fn}: ${store.where(rel)} does not match its checksum in ${store.where('model.json')} (corrupt, or written by another save).`);
    }
  }
}

/**
 * How a model class is saved and rebuilt. Every model module registers its classes (vae.ts the
 * VAE family, ssvae.ts SSVAE) with {@link registerModelClass}; persistence knows no model class.
 */
export interface ModelClassSpec {
  /** The class name written in model.json. */
  name: string;
  /** Whether `model` is of this class (the classes registered last are asked first, so a subclass registered after its base wins). */
  matches(model: VAE): boolean;
  /** Networks besides the encoder and the decoder, by folder name. */
  nets(model: VAE): Record<string, Network>;
  /** JSON settings needed to rebuild the model. */
  config(model: VAE): Record<string, unknown>;
  /** Rebuilds the model from its loaded parts. */
  build(
    parts: { prior: Prior; encoder: Encoder; decoder: VAE['decoder']; objective: Objective; numClasses?: number },
    nets: Record<string, Network>,
    config: Record<string, unknown>,
  ): VAE;
}

const registered = new Map<string, ModelClassSpec>();
/** dlvm's own model classes, registered by their modules: their names are not for users. */
const BUILTIN_CLASSES = ['VAE', 'BetaVAE', 'GMVAE', 'IWAE', 'ConditionalVAE', 'SSVAE'];

function checkClassSpec(fn: string, spec: ModelClassSpec): void {
  if (spec === null || typeof spec !== 'object') throw argError(fn, 'spec', 'an object { name, matches, nets, config, build }', spec);
  for (const k of ['matches', 'nets', 'config', 'build'] as const) {
    if (typeof spec[k] !== 'function') throw argError(fn, `spec.${k}`, 'a function', spec[k]);
  }
}

/** Registers how a model class of your own is saved and loaded (see {@link ModelClassSpec}). */
export function registerModelClass(spec: ModelClassSpec): void {
  const fn = 'registerModelClass';
  if (spec === null || typeof spec !== 'object') throw argError(fn, 'spec', 'an object { name, matches, nets, config, build }', spec);
  if (typeof spec.name !== 'string' || spec.name === '' || BUILTIN_CLASSES.includes(spec.name)) {
    throw argError(fn, 'spec.name', 'a nonempty class name other than the built-in ones', spec.name);
  }
  checkClassSpec(fn, spec);
  registered.set(spec.name, spec);
}

/** Registers one of dlvm's own model classes (called by the module that defines it). */
export function registerBuiltinModelClass(spec: ModelClassSpec): void {
  checkClassSpec('registerBuiltinModelClass', spec);
  registered.set(spec.name, spec);
}

/** The registered class of `model`: the last registered whose `matches` holds. */
function classSpecOf(model: VAE): ModelClassSpec | undefined {
  return [...registered.values()].reverse().find((s) => s.matches(model));
}

/** A part of a model: its prior, its encoder or its decoder. */
export type PartKind = 'prior' | 'encoder' | 'decoder';

/** What a part of your own gives to be saved (see {@link PartSpec}). */
export interface PartState {
  /** JSON settings that rebuild the part (sizes, options). */
  config?: Record<string, unknown>;
  /** Its tfjs-layers networks, by name (saved in tfjs's layers format, one folder each). */
  nets?: Record<string, Network>;
  /** Its other variables or tensors, by name (saved as float32, checksummed). */
  variables?: Record<string, tf.Tensor>;
}

/** What a part's `load` gets back: the config, the networks loaded, the variables' saved values. */
export interface LoadedPart {
  config: Record<string, unknown>;
  nets: Record<string, Network>;
  /** Tensors with the saved values, freed after `load` returns: make variables of them (`tf.variable(t)` keeps the data) or clone them. */
  variables: Record<string, tf.Tensor>;
}

/**
 * How a prior, an encoder or a decoder of your own is saved with the model and rebuilt by
 * `loadModel`. Register it with {@link registerPart} before saving and before loading.
 *
 * @example
 * registerPart({
 *   kind: 'prior', type: 'StudentPrior',
 *   matches: (p) => p instanceof StudentPrior,
 *   save: (p) => ({ config: { latentDim: p.latentDim }, variables: { loc: p.loc } }),
 *   load: ({ config, variables }) => new StudentPrior(config.latentDim as number, tf.variable(variables.loc!)),
 * });
 */
export interface PartSpec<P extends object = object> {
  kind: PartKind;
  /** The type name written in model.json (one per kind; not one of dlvm's). */
  type: string;
  /** Whether `part` is of this type (e.g. `part instanceof MyPrior`). */
  matches(part: object): boolean;
  /** What to save of `part`. */
  save(part: P): PartState;
  /** Rebuilds the part. `context.encoder` is the loaded encoder (for a prior built on it, as the VampPrior). */
  load(saved: LoadedPart, context: { encoder: Encoder | null }): P;
}

/** A part of your own in model.json. */
export interface CustomPartConfig {
  type: 'custom';
  /** The registered type name. */
  part: string;
  config: Record<string, unknown>;
  /** Network name -> folder. */
  nets: Record<string, string>;
  variables: Array<{ name: string; shape: number[] }>;
  /** The variables' file. */
  path: string;
}

const parts = new Map<string, PartSpec>();
const partKey = (kind: PartKind, type: string) => `${kind}:${type}`;
const BUILTIN_PARTS = [
  'GaussianPrior',
  'LearnableGaussianPrior',
  'MixtureOfGaussiansPrior',
  'VampPrior',
  'GaussianEncoder',
  'BernoulliDecoder',
  'ContinuousBernoulliDecoder',
  'GaussianDecoder',
  'custom',
];

/**
 * Registers how a prior, an encoder or a decoder of your own is saved and loaded (see
 * {@link PartSpec}); registering a type again replaces it.
 */
export function registerPart<P extends object>(spec: PartSpec<P>): void {
  const fn = 'registerPart';
  if (spec === null || typeof spec !== 'object') throw argError(fn, 'spec', 'an object { kind, type, matches, save, load }', spec);
  if (!['prior', 'encoder', 'decoder'].includes(spec.kind)) throw argError(fn, 'spec.kind', "'prior', 'encoder' or 'decoder'", spec.kind);
  if (typeof spec.type !== 'string' || spec.type === '' || BUILTIN_PARTS.includes(spec.type)) {
    throw argError(fn, 'spec.type', "a nonempty type name other than dlvm's own", spec.type);
  }
  for (const k of ['matches', 'save', 'load'] as const) {
    if (typeof spec[k] !== 'function') throw argError(fn, `spec.${k}`, 'a function', spec[k]);
  }
  parts.set(partKey(spec.kind, spec.type), spec as unknown as PartSpec);
}

/** The registered spec of a part of your own, or undefined. */
function partSpecOf(kind: PartKind, part: object): PartSpec | undefined {
  return [...parts.values()].find((p) => p.kind === kind && p.matches(part));
}

function isBuiltinPrior(prior: Prior): prior is BuiltinPrior {
  return prior instanceof GaussianPrior || prior instanceof LearnableGaussianPrior || prior instanceof MixtureOfGaussiansPrior || prior instanceof VampPrior;
}

/** The state `saveModel` writes of a part beside its networks, by name (a checkpoint restores the same). */
export function partVariables(kind: PartKind, part: object): Record<string, tf.Tensor> {
  if (kind === 'prior' && isBuiltinPrior(part as Prior)) return (part as BuiltinPrior).state();
  if (kind === 'decoder' && typeof (part as { state?: unknown }).state === 'function' && part instanceof DlvmDecoder) return (part as DlvmDecoder).state();
  if (kind === 'encoder' && part instanceof GaussianEncoder) return {};
  return partSpecOf(kind, part)?.save(part).variables ?? {};
}

/** The error for a part that is neither dlvm's nor registered. */
function unsavable(kind: PartKind, part: object): DlvmError {
  return new DlvmError(
    `saveModel: the model's ${kind} (${describeValue(part)}) is not one of dlvm's, and no registerPart({ kind: '${kind}', type, matches, save, load }) matches it; ` +
      'register how to save and load it (docs/models.md, "Parts of your own").',
  );
}

/** Saves a registered part into `dir`: its networks (folders `<kind>-<name>`) and variables (`<kind>-state.bin`). */
async function saveCustomPart(store: Store, kind: PartKind, part: object, spec: PartSpec): Promise<{ json: CustomPartConfig; files: string[] }> {
  const st = spec.save(part) ?? {};
  const nets = Object.entries(st.nets ?? {});
  const vars = Object.entries(st.variables ?? {});
  if (!vars.every(([, v]) => v instanceof tf.Tensor)) throw new DlvmError(`saveModel: the ${kind} ${spec.type}'s save() must give tensors in variables.`);
  const folders: Record<string, string> = {};
  for (const [name, net] of nets) {
    folders[name] = `${kind}-${name}`;
    await saveNet(checkNet(`saveModel (${spec.type}.save)`, net), store, folders[name]!);
  }
  const bin = `${kind}-state.bin`;
  await store.write(bin, await packVariables(vars));
  return {
    json: {
      type: 'custom',
      part: spec.type,
      config: st.config ?? {},
      nets: folders,
      variables: vars.map(([name, v]) => ({ name, shape: v.shape })),
      path: bin,
    },
    files: [...Object.values(folders).flatMap((f) => [`${f}/model.json`, `${f}/weights.bin`]), bin],
  };
}

/** Rebuilds a registered part saved by {@link saveCustomPart}. */
async function loadCustomPart<P extends object>(
  fn: string,
  store: Store,
  kind: PartKind,
  c: CustomPartConfig,
  context: { encoder: Encoder | null },
  keep: <T extends { dispose(): unknown }>(x: T) => T,
): Promise<P> {
  const spec = parts.get(partKey(kind, c.part));
  if (!spec) {
    throw new DlvmError(
      `${fn}: ${store.where('model.json')} has a ${kind} of your own, ${JSON.stringify(c.part)}; register how to load it with registerPart({ kind: '${kind}', type: ${JSON.stringify(c.part)}, ... }) before loadModel.`,
    );
  }
  const nets: Record<string, Network> = {};
  for (const [name, folder] of Object.entries(c.nets)) nets[name] = keep(await loadNet(fn, store, folder));
  const variables = await readVariables(fn, store, c.path, `${kind} ${c.part}`, c.variables);
  try {
    const part = spec.load({ config: c.config, nets, variables }, context) as P;
    if (part === null || typeof part !== 'object') throw new DlvmError(`${fn}: the ${kind} ${c.part}'s load() returned ${describeValue(part)}, not a ${kind}.`);
    return part;
  } finally {
    tf.dispose(Object.values(variables));
  }
}

function objectiveConfig(o: Objective): SavedModel['objective'] {
  if (o instanceof IWAEBound) return { type: 'iwae', k: o.k };
  if (o instanceof ELBO) return { type: 'elbo', beta: typeof o.beta === 'number' ? o.beta : 'schedule', weightDecay: o.weightDecay };
  throw new DlvmError(`saveModel: cannot save the objective ${o.name}; only ELBO and IWAEBound are supported.`);
}

/** Writes a layers model in tfjs's format (model.json + weights.bin) into `folder` of `store`. */
async function saveNet(net: Network, store: Store, folder: string): Promise<void> {
  await (net as unknown as tfl.LayersModel).save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `dlvm ${VERSION} (TensorFlow.js ${tf.version_core})`,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await store.write(joinName(folder, 'weights.bin'), new Uint8Array(weightData));
      await store.write(joinName(folder, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** float32 bytes of variables, in order (awaited reads). */
async function packVariables(vars: Array<[string, tf.Tensor]>): Promise<Uint8Array> {
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
  store: Store,
  name: string,
  owner: string,
  specs: Array<{ name: string; shape: number[] }>,
  state: Record<string, tf.Variable>,
): Promise<void> {
  const file = store.where(name);
  const bytes = await store.read(fn, name);
  const expected = specs.reduce((s, v) => s + v.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bytes.byteLength !== expected) {
    throw new DlvmError(`${fn}: ${file} has ${bytes.byteLength} bytes, expected ${expected} for the ${owner}'s variables (truncated?).`);
  }
  let offset = 0;
  for (const v of specs) {
    const target = state[v.name];
    if (!target || !tf.util.arraysEqual(target.shape, v.shape)) {
      throw new DlvmError(
        `${fn}: the saved ${owner} has a variable ${v.name} [${v.shape.join(', ')}] that the rebuilt ${owner} does not have with that shape.`,
      );
    }
    const size = v.shape.reduce((a, b) => a * b, 1);
    tf.tidy(() => target.assign(tf.tensor(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4)), v.shape)));
    offset += size * 4;
  }
}

/** Reads float32 `file` (laid out as `specs`) into new tensors, by name. */
async function readVariables(
  fn: string,
  store: Store,
  name: string,
  owner: string,
  specs: Array<{ name: string; shape: number[] }>,
): Promise<Record<string, tf.Tensor>> {
  const file = store.where(name);
  const bytes = await store.read(fn, name);
  const expected = specs.reduce((s, v) => s + v.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bytes.byteLength !== expected) {
    throw new DlvmError(`${fn}: ${file} has ${bytes.byteLength} bytes, expected ${expected} for the ${owner}'s variables (truncated?).`);
  }
  const out: Record<string, tf.Tensor> = {};
  let offset = 0;
  for (const v of specs) {
    const size = v.shape.reduce((a, b) => a * b, 1);
    out[v.name] = tf.tensor(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4)), v.shape);
    offset += size * 4;
  }
  return out;
}

/** Bytes of a weight spec's data. */
function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  return size * (spec.dtype === 'float32' || spec.dtype === 'int32' ? 4 : 1);
}

async function readJson<T>(fn: string, store: Store, name: string): Promise<T> {
  const file = store.where(name);
  const text = new TextDecoder().decode(await store.read(fn, name));
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new DlvmError(`${fn}: ${file} is not valid JSON (truncated or corrupt?): ${(e as Error).message}`);
  }
}

/** Loads a layers model saved by saveNet, checking the weight file against its manifest. */
async function loadNet(fn: string, store: Store, folder: string): Promise<Network> {
  const modelFile = store.where(joinName(folder, 'model.json'));
  const json = await readJson<{ modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> }>(
    fn,
    store,
    joinName(folder, 'model.json'),
  );
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new DlvmError(`${fn}: ${modelFile} is not a tfjs layers model (no modelTopology / weightsManifest).`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const weightsFile = store.where(joinName(folder, 'weights.bin'));
  const bytes = await store.read(fn, joinName(folder, 'weights.bin'));
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
  if (typeof dir !== 'string' || dir === '') throw argError('saveModel', 'dir', 'a folder path', dir);
  checkSavable('saveModel', model);
  await saveTo('saveModel', model, await folderStore(dir), dir);
}

/**
 * The files of a saved model as a map from `/`-joined names (`model.json`, `encoder/model.json`,
 * `encoder/weights.bin`, ...) to bytes: what {@link saveModel} writes into a folder, on any
 * platform (a browser turns it into a download; written into a folder, `loadModel` and the CLI
 * read it). Refuses a model holding NaN or infinite values, as saveModel does.
 *
 * @example
 * const files = await saveModelFiles(vae);
 * const again = await loadModelFiles(files);
 */
export async function saveModelFiles(model: VAE): Promise<Map<string, Uint8Array>> {
  checkSavable('saveModelFiles', model);
  const files = new Map<string, Uint8Array>();
  await saveTo('saveModelFiles', model, memoryStore(files, ''), 'the files');
  return files;
}

/** Refuses what is not a dlvm model (before anything is read or written). */
function checkSavable(fn: string, model: VAE): void {
  const spec = model !== null && typeof model === 'object' ? classSpecOf(model) : undefined;
  if (!spec)
    throw argError(fn, 'model', 'a dlvm model (VAE, BetaVAE, GMVAE, IWAE, ConditionalVAE, SSVAE, or a class registered with registerModelClass)', model);
}

async function saveTo(fn: string, model: VAE, store: Store, dir: string): Promise<void> {
  const spec = model !== null && typeof model === 'object' ? classSpecOf(model) : undefined;
  if (!spec) throw argError(fn, 'model', 'a dlvm model', model);
  const { encoder, decoder, prior } = model;
  // Each part is dlvm's own or registered with registerPart; anything else is refused first.
  const encoderSpec = encoder instanceof GaussianEncoder ? undefined : partSpecOf('encoder', encoder);
  if (!(encoder instanceof GaussianEncoder) && !encoderSpec) throw unsavable('encoder', encoder);
  const dec = decoder instanceof DlvmDecoder ? decoder : null;
  const decoderSpec = dec ? undefined : partSpecOf('decoder', decoder);
  if (!dec && !decoderSpec) throw unsavable('decoder', decoder);
  const priorSpec = isBuiltinPrior(prior) ? undefined : partSpecOf('prior', prior);
  if (!isBuiltinPrior(prior) && !priorSpec) throw unsavable('prior', prior);
  const priorState = Object.entries(partVariables('prior', prior));
  const decState = Object.entries(partVariables('decoder', decoder));
  const encState = Object.entries(partVariables('encoder', encoder));
  // Never write non-finite weights (a diverged or corrupted model) where a good one may be.
  const bad = await nonFiniteNames([
    ...model.trainableVariables.map((v) => [v.name, v] as [string, tf.Tensor]),
    ...priorState.map(([name, v]) => [`prior.${name}`, v] as [string, tf.Tensor]),
    ...decState.map(([name, v]) => [`decoder.${name}`, v] as [string, tf.Tensor]),
    ...encState.map(([name, v]) => [`encoder.${name}`, v] as [string, tf.Tensor]),
  ]);
  if (bad.length > 0) {
    throw new DlvmError(
      `${fn}: the model holds NaN or infinite values (in ${bad.slice(0, 4).join(', ')}${bad.length > 4 ? `, and ${bad.length - 4} more` : ''}); nothing was written to ${dir}.`,
    );
  }
  const files: string[] = [];
  const netFile = (folder: string) => files.push(`${folder}/model.json`, `${folder}/weights.bin`);
  const extraNets = spec.nets(model);
  for (const [name, net] of Object.entries(extraNets)) {
    await saveNet(net, store, name);
    netFile(name);
  }
  let encoderJson: SavedModel['encoder'];
  if (encoder instanceof GaussianEncoder) {
    await saveNet(encoder.net, store, 'encoder');
    netFile('encoder');
    encoderJson = { type: 'GaussianEncoder', path: 'encoder', scale: encoder.scale };
  } else {
    const c = await saveCustomPart(store, 'encoder', encoder, encoderSpec!);
    files.push(...c.files);
    encoderJson = c.json;
  }
  let decoderJson: SavedModel['decoder'];
  if (dec) {
    await saveNet(dec.net, store, 'decoder');
    netFile('decoder');
    await store.write('decoder-state.bin', await packVariables(decState));
    files.push('decoder-state.bin');
    decoderJson = { ...dec.config(), path: 'decoder', variables: decState.map(([name, v]) => ({ name, shape: v.shape })), statePath: 'decoder-state.bin' };
  } else {
    const c = await saveCustomPart(store, 'decoder', decoder, decoderSpec!);
    files.push(...c.files);
    decoderJson = c.json;
  }
  let priorJson: SavedModel['prior'];
  if (isBuiltinPrior(prior)) {
    await store.write('prior.bin', await packVariables(priorState));
    files.push('prior.bin');
    priorJson = { ...prior.config(), variables: priorState.map(([name, v]) => ({ name, shape: v.shape })), path: 'prior.bin' };
  } else {
    const c = await saveCustomPart(store, 'prior', prior, priorSpec!);
    files.push(...c.files);
    priorJson = c.json;
  }
  const saved: SavedModel = {
    format: 'dlvm-model',
    formatVersion: 1,
    dlvmVersion: VERSION,
    class: spec.name,
    ...(typeof (model as { numClasses?: unknown }).numClasses === 'number' ? { numClasses: (model as unknown as { numClasses: number }).numClasses } : {}),
    ...(Object.keys(extraNets).length > 0 || Object.keys(spec.config(model)).length > 0
      ? { extra: { nets: Object.fromEntries(Object.keys(extraNets).map((k) => [k, k])), config: spec.config(model) } }
      : {}),
    encoder: encoderJson,
    decoder: decoderJson,
    prior: priorJson,
    objective: objectiveConfig(model.objective),
  };
  // model.json last, with the checksums of the files it describes: a folder whose model.json
  // matches its files is complete and consistent.
  saved.checksums = Object.fromEntries(await Promise.all(files.map(async (f) => [f, await sha256Hex(await store.read(fn, f))] as const)));
  await store.write('model.json', JSON.stringify(saved, null, 2));
}

/** Loads a model saved by {@link saveModel}; errors name the missing, truncated or mismatched file. */
export async function loadModel(dir: string): Promise<VAE> {
  if (typeof dir !== 'string' || dir === '') throw argError('loadModel', 'dir', 'a folder path', dir);
  ensureBackend('loadModel');
  return loadFrom('loadModel', await folderStore(dir));
}

/**
 * Loads a model from its files by name (what {@link saveModelFiles} returns, or the files of a
 * saved model's folder picked in a browser, named relative to that folder): the same checks and
 * messages as {@link loadModel}. A `Map` or a plain object of names to bytes.
 */
export async function loadModelFiles(files: Map<string, Uint8Array> | Record<string, Uint8Array>): Promise<VAE> {
  const fn = 'loadModelFiles';
  const map = files instanceof Map ? files : files !== null && typeof files === 'object' ? new Map(Object.entries(files)) : null;
  if (map === null || ![...map.values()].every((b) => b instanceof Uint8Array)) {
    throw argError(fn, 'files', 'a Map (or object) of file names to Uint8Array bytes, as saveModelFiles returns', files);
  }
  ensureBackend(fn);
  return loadFrom(fn, memoryStore(map, ''));
}

async function loadFrom(fn: string, store: Store): Promise<VAE> {
  const file = store.where('model.json');
  const cfg = await readJson<SavedModel>(fn, store, 'model.json');
  if (cfg === null || typeof cfg !== 'object') throw new DlvmError(`${fn}: ${file} is not a dlvm model (it holds ${describeValue(cfg)}).`);
  if (cfg.format !== 'dlvm-model' || cfg.formatVersion !== 1) {
    throw new DlvmError(`${fn}: ${file} is not a dlvm model (format ${JSON.stringify(cfg.format)}, version ${JSON.stringify(cfg.formatVersion)}).`);
  }
  const spec = registered.get(cfg.class);
  if (!spec)
    throw new DlvmError(
      `${fn}: ${file} names an unknown model class ${JSON.stringify(cfg.class)}${BUILTIN_CLASSES.includes(cfg.class) ? '' : ' (register it with registerModelClass before loadModel)'}.`,
    );
  // Everything made so far is freed if a later part fails (a truncated or corrupt file).
  const made: Array<{ dispose(): unknown }> = [];
  const keep = <T extends { dispose(): unknown }>(x: T): T => {
    made.push(x);
    return x;
  };
  // A part of your own is freed on failure if it can be (its dispose(), else its net's).
  const keepPart = <T extends object>(x: T): T => {
    const part = x as { dispose?: () => unknown; net?: { dispose(): unknown } };
    if (typeof part.dispose === 'function') made.push({ dispose: () => part.dispose!() });
    else if (part.net) made.push(part.net);
    return x;
  };
  try {
    const e = cfg.encoder;
    const encoder: Encoder =
      e.type === 'custom'
        ? keepPart(await loadCustomPart<Encoder>(fn, store, 'encoder', e, { encoder: null }, keep))
        : e.type === 'GaussianEncoder'
          ? new GaussianEncoder(keep(await loadNet(fn, store, e.path)), { scale: e.scale ?? 'softplus' })
          : (() => {
              throw new DlvmError(`${fn}: ${file} names an unknown encoder ${JSON.stringify((e as { type: unknown }).type)}.`);
            })();
    const d = cfg.decoder;
    let decoder: Decoder;
    if (d.type === 'custom') decoder = keepPart(await loadCustomPart<Decoder>(fn, store, 'decoder', d, { encoder }, keep));
    else {
      const decNet = keep(await loadNet(fn, store, d.path));
      const built = decoderFromConfig(decNet, d);
      if (!built) throw new DlvmError(`${fn}: ${file} names an unknown decoder ${JSON.stringify((d as { type: unknown }).type)}.`);
      decoder = built;
      keep({ dispose: () => tf.dispose(Object.values((decoder as DlvmDecoder).state())) });
      if (d.variables && d.variables.length > 0) {
        await unpackVariables(fn, store, d.statePath ?? 'decoder-state.bin', 'decoder', d.variables, (decoder as DlvmDecoder).state());
      }
    }
    const p = cfg.prior;
    let prior: Prior;
    if (p.type === 'custom') prior = keepPart(await loadCustomPart<Prior>(fn, store, 'prior', p, { encoder }, keep));
    else {
      const builtin = priorFromConfig(p, encoder);
      if (!builtin) throw new DlvmError(`${fn}: ${file} names an unknown prior ${JSON.stringify((p as { type: unknown }).type)}.`);
      keep(builtin);
      await unpackVariables(fn, store, p.path, 'prior', p.variables, builtin.state());
      prior = builtin;
    }
    // Sizes and formats are checked above with their own messages; the checksums catch the rest
    // (bytes flipped in place, files from another save).
    if (cfg.checksums !== undefined) await verifyChecksums(fn, store, cfg.checksums);
    const o = cfg.objective;
    let objective: Objective;
    if (o.type === 'iwae') objective = new IWAEBound(o.k);
    else {
      if (o.beta === 'schedule') console.warn(`${fn}: the model was trained with a scheduled beta, which is not saved; using beta = 1.`);
      objective = new ELBO({ beta: o.beta === 'schedule' ? 1 : o.beta, weightDecay: o.weightDecay });
    }
    const nets: Record<string, Network> = {};
    for (const [name, folder] of Object.entries(cfg.extra?.nets ?? {})) nets[name] = keep(await loadNet(fn, store, folder));
    return spec.build(
      { prior, encoder, decoder, objective, ...(cfg.numClasses === undefined ? {} : { numClasses: cfg.numClasses }) },
      nets,
      cfg.extra?.config ?? {},
    );
  } catch (e) {
    for (const m of made.reverse()) m.dispose();
    throw e;
  }
}
