/** Messages between dlvm Lab's page and its training worker. */
import type { ErrorKind } from './errors.js';

/** The model families the Lab trains. */
export type ModelKind = 'vae' | 'betavae' | 'gmvae' | 'iwae';

/** What the visitor chose in the training panel. */
export interface TrainConfig {
  model: ModelKind;
  arch: 'mlp' | 'conv';
  latentDim: number;
  /** GMVAE: components; IWAE: importance samples. */
  k: number;
  /** beta-VAE's beta. */
  beta: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  /** 'subset': the first 2,000 training digits (starts in seconds); 'full': all 60,000. */
  data: 'subset' | 'full';
  seed: number;
}

/** One point of the live curves (a dlvm HistoryRecord with the steps of every resumed run added up). */
export interface CurvePoint {
  step: number;
  loss: number;
  elbo: number;
  kl: number;
}

/** What the worker says about the backend it started. */
export interface BackendReport {
  name: string;
  description: string;
  isolated: boolean;
  threads?: number;
  adapter?: string;
  notes: string[];
  /** dlvm's colours of the ten classes (its PALETTE). */
  palette: string[];
}

/** What the worker says about the model it holds. */
export interface ModelReport {
  className: string;
  latentDim: number;
  /** GMVAE: components; SSVAE: classes (what `predicted` ranges over). */
  classes?: number;
  classesAre?: 'components' | 'labels';
  /** A conditional model (CVAE, SSVAE): it decodes a latent point as a chosen class. */
  conditional?: boolean;
  /** Where it came from: trained here, or loaded. */
  origin: string;
}

/** Requests from the page; each gets one `reply` (or `error`) with its id. */
export type Request =
  | { type: 'init'; backend: string; baseUrl: string }
  | { type: 'train'; config: TrainConfig }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'plane' }
  | { type: 'decode'; point: [number, number] }
  | { type: 'manifold'; n: number }
  | { type: 'interpolate'; a: number; b: number; n: number }
  | { type: 'decodeClass'; y: number }
  | { type: 'encode'; image: Float32Array }
  | { type: 'save' }
  | { type: 'load'; files: Record<string, Uint8Array>; origin: string };

/** The replies' payloads, by request type. */
export interface Replies {
  init: BackendReport;
  train: ModelReport;
  pause: null;
  resume: null;
  stop: null;
  /** Posterior means of test digits in the plane's coordinates, their labels, and the plane's extent. */
  plane: { xs: Float32Array; ys: Float32Array; labels: Int32Array; extent: [number, number, number, number]; axes: string };
  decode: { image: Float32Array };
  /** n x n decoded images across the plane's extent, row-major from the top left. */
  manifold: { images: Float32Array; n: number };
  interpolate: { images: Float32Array; n: number };
  decodeClass: null;
  encode: { mean: number[]; std: number[]; reconstruction: Float32Array; point: [number, number]; predicted?: number; probabilities?: number[] };
  /** The run folder: run.json, history.json and model/... */
  save: { files: Record<string, Uint8Array> };
  load: ModelReport;
}

export type Envelope = { id: number } & Request;

/** Messages from the worker. */
export type WorkerMessage =
  | { type: 'reply'; id: number; value: unknown }
  | { type: 'error'; id: number | null; message: string; kind: ErrorKind }
  | { type: 'curve'; points: CurvePoint[]; total: number; secondsPerStep: number }
  | { type: 'samples'; step: number; images: Float32Array; n: number }
  | { type: 'state'; state: 'idle' | 'loading' | 'training' | 'paused' | 'stopped' | 'done'; message: string; step: number; seconds: number };

/** Pixels of one digit. */
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
