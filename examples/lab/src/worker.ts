/**
 * dlvm Lab's worker: it holds the backend, the data and the model, trains with dlvm's `fit` and
 * answers the page's requests (decode a latent point, encode a drawing, save, load), so the page
 * never freezes. It uses dlvm's public API only, as a user's app would.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  ArrayDataset,
  BetaVAE,
  ConditionalVAE,
  describeBackend,
  fit,
  GMVAE,
  initBackend,
  IWAE,
  loadModelFiles,
  manualSeed,
  MixtureSameFamily,
  PALETTE,
  parseIdx,
  saveModelFiles,
  SSVAE,
  VAE,
  VERSION,
  type BackendPreference,
  type HistoryRecord,
  type Labels,
} from 'dlvm';
import { PCA } from 'ml-pca';
import { kindOf, LabError } from './errors.js';
import { PIXELS, SIDE, type CurvePoint, type Envelope, type ModelReport, type Replies, type TrainConfig, type WorkerMessage } from './protocol.js';

const post = (m: WorkerMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let baseUrl = '';
let backendName = '';
let model: VAE | null = null;
let report: ModelReport | null = null;
/** The training run: its settings, optimizer (kept across pause / resume), progress and curve. */
let run: {
  config: TrainConfig;
  optimizer: tf.Optimizer;
  stepsDone: number;
  seconds: number;
  curve: CurvePoint[];
  history: HistoryRecord[];
  controller: AbortController | null;
  stopReason: string;
  pausing: 'pause' | 'stop' | null;
} | null = null;
/** The class a conditional model (CVAE, SSVAE) decodes the plane's points as. */
let decodeClass = 0;
/** The plane's projection of latent space: z = center + u e1 + v e2. */
let plane: { center: Float32Array; e1: Float32Array; e2: Float32Array; extent: [number, number, number, number] } | null = null;

const data: Partial<Record<'subset' | 'full' | 'test', ArrayDataset>> = {};

/** MNIST served by the app (IDX files), as a dlvm ArrayDataset. */
async function mnist(which: 'subset' | 'full' | 'test'): Promise<ArrayDataset> {
  const cached = data[which];
  if (cached) return cached;
  const prefix = which === 'full' ? 'train' : which === 'subset' ? 'subset-train' : 'subset-test';
  const fetchIdx = async (kind: string) => {
    const url = new URL(`mnist/${prefix}-${kind}-ubyte`, baseUrl);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`cannot fetch ${url} (HTTP ${res.status}); the Lab serves MNIST itself: run it with npm run lab or from its built dist/.`);
    return parseIdx(new Uint8Array(await res.arrayBuffer()), `${prefix}-${kind}-ubyte`);
  };
  const [images, labels] = await Promise.all([fetchIdx('images-idx3'), fetchIdx('labels-idx1')]);
  const ds = new ArrayDataset({
    name: `mnist-${which}`,
    itemShape: [SIDE, SIDE],
    values: images.data,
    scale: 1 / 255,
    labels: Int32Array.from(labels.data),
    numClasses: 10,
  });
  data[which] = ds;
  return ds;
}

function build(c: TrainConfig): VAE {
  const base = { inputShape: [SIDE, SIDE], latentDim: c.latentDim, hidden: [400], activation: 'relu' as const };
  const conv = c.arch === 'conv';
  switch (c.model) {
    case 'vae':
      return conv ? VAE.conv(base) : VAE.mlp(base);
    case 'betavae':
      return conv ? BetaVAE.conv({ ...base, beta: c.beta }) : BetaVAE.mlp({ ...base, beta: c.beta });
    case 'gmvae':
      return conv ? GMVAE.conv({ ...base, components: c.k }) : GMVAE.mlp({ ...base, components: c.k });
    case 'iwae':
      return conv ? IWAE.conv({ ...base, k: c.k }) : IWAE.mlp({ ...base, k: c.k });
  }
}

/** What the page shows about a model: its class, latent size and what it predicts. */
function describeModel(m: VAE, origin: string): ModelReport {
  const latentDim = tf.tidy(() => encodeWith(m, tf.zeros([1, SIDE, SIDE]), [0]).mean.shape[1]!);
  const mix = m.prior.distribution();
  const out: ModelReport = { className: m.constructor.name, latentDim, origin };
  if (m instanceof SSVAE) Object.assign(out, { classes: m.numClasses, classesAre: 'labels', conditional: true });
  else if (m instanceof ConditionalVAE) Object.assign(out, { classes: m.numClasses, conditional: true });
  else if (mix instanceof MixtureSameFamily) Object.assign(out, { classes: mix.mixture.logits.shape.at(-1), classesAre: 'components' });
  mix.dispose();
  return out;
}

/**
 * The labels a model's encoder and decoder take for x: none for an unconditional model, the
 * classifier's prediction for an SSVAE (M2's q(z|x, y) at y = argmax q(y|x)), else `given`.
 */
function labelsFor(m: VAE, x: tf.Tensor, given: Labels): Labels | undefined {
  if (m instanceof SSVAE) return m.predict(x);
  if (m instanceof ConditionalVAE) return given;
  return undefined;
}

/** q(z|x) (with the labels a conditional model needs); frees the labels it made. */
function encodeWith(m: VAE, x: tf.Tensor, given: Labels) {
  const y = labelsFor(m, x, given);
  try {
    return m instanceof ConditionalVAE ? m.encode(x, y) : m.encode(x);
  } finally {
    if (y instanceof tf.Tensor && y !== given) y.dispose();
  }
}

/** Decoder means at z [B, M], as class `y` for a conditional model. */
function decodeWith(m: VAE, z: tf.Tensor, y: Labels): tf.Tensor {
  return tf.tidy(() => (m instanceof ConditionalVAE ? m.decode(z, y) : m.decode(z)).mean);
}

function setModel(m: VAE, origin: string): ModelReport {
  model?.dispose();
  model = m;
  plane = null;
  report = describeModel(m, origin);
  return report;
}

function state(s: Extract<WorkerMessage, { type: 'state' }>['state'], message: string): void {
  post({ type: 'state', state: s, message, step: run?.stepsDone ?? 0, seconds: run?.seconds ?? 0 });
}

/** Mean images of n draws from the prior, posted for the sample grid. */
async function postSamples(step: number, n = 36): Promise<void> {
  if (!model) return;
  // A conditional model draws each class in turn (rows of digits).
  const m = model;
  const images =
    m instanceof ConditionalVAE ? m.sample(n, { mean: true, y: Array.from({ length: n }, (_, i) => i % m.numClasses) }) : m.sample(n, { mean: true });
  const values = (await images.data()) as Float32Array;
  images.dispose();
  post({ type: 'samples', step, images: values, n }, [values.buffer]);
}

/** Trains until the run's steps are done, or a pause / stop aborts fit. */
async function trainOn(): Promise<void> {
  const r = run!;
  const m = model!;
  const train = await mnist(r.config.data);
  const remaining = r.config.steps - r.stepsDone;
  const perEpoch = train.numBatches({ batchSize: r.config.batchSize });
  r.controller = new AbortController();
  r.pausing = null;
  state('training', `training ${report!.className} on ${train.length} digits (${backendName})`);
  const offset = r.stepsDone;
  const t0 = performance.now();
  let lastPost = 0;
  const result = await fit(m, train, {
    epochs: Math.ceil(remaining / perEpoch) + 1,
    maxSteps: remaining,
    batchSize: r.config.batchSize,
    optimizer: r.optimizer,
    binarize: 'threshold',
    logEvery: 10,
    seed: r.config.seed + offset,
    progress: false,
    progressSeconds: 0,
    log: () => {},
    signal: r.controller.signal,
    callbacks: {
      onRecord: (rec) => {
        if (rec.split !== 'train') return;
        const point = { step: rec.step + offset, loss: rec.loss, elbo: rec.elbo, kl: rec.kl };
        r.curve.push(point);
        r.history.push({ ...rec, step: point.step });
        const now = performance.now();
        if (now - lastPost > 150 || rec.step === remaining) {
          lastPost = now;
          const seconds = r.seconds + (now - t0) / 1000;
          post({ type: 'curve', points: r.curve, total: r.config.steps, secondsPerStep: seconds / point.step });
        }
      },
      onStepEnd: (step) => {
        const global = step + offset;
        if (global % 200 === 0) void postSamples(global);
      },
    },
  });
  r.seconds += (performance.now() - t0) / 1000;
  r.stepsDone += result.steps;
  r.controller = null;
  r.stopReason = result.stopReason;
  post({ type: 'curve', points: r.curve, total: r.config.steps, secondsPerStep: r.seconds / Math.max(1, r.stepsDone) });
  await postSamples(r.stepsDone);
  if (result.stopReason === 'aborted') {
    if (r.pausing === 'pause') state('paused', `paused at step ${r.stepsDone} of ${r.config.steps}`);
    else state('stopped', `stopped at step ${r.stepsDone} of ${r.config.steps}; explore what it learned`);
  } else if (result.stopReason === 'completed') {
    state('done', `${r.stepsDone} steps in ${r.seconds.toFixed(1)} s (${backendName})`);
  } else {
    state('stopped', result.message);
  }
}

/** Posterior means of the test digits, on the first two latent dims (M = 2) or the PCA plane. */
async function latentPlane(): Promise<Replies['plane']> {
  const m = needModel();
  const test = await mnist('test');
  const means: Float32Array[] = [];
  for (const batch of test.batches({ batchSize: 250, shuffle: false, binarize: 'threshold' })) {
    // A CVAE's posterior takes the true label; an SSVAE's its classifier's.
    const mu = tf.tidy(() => encodeWith(m, batch.x, batch.y ?? 0).mean);
    means.push((await mu.data()) as Float32Array);
    mu.dispose();
  }
  const dims = report!.latentDim;
  const n = test.length;
  const all = new Float32Array(n * dims);
  let off = 0;
  for (const chunk of means) {
    all.set(chunk, off);
    off += chunk.length;
  }
  const center = new Float32Array(dims);
  const e1 = new Float32Array(dims);
  const e2 = new Float32Array(dims);
  let axes: string;
  if (dims <= 2) {
    e1[0] = 1;
    if (dims === 2) e2[1] = 1;
    axes = dims === 2 ? 'z1, z2' : 'z1';
  } else {
    const rows = Array.from({ length: n }, (_, i) => Array.from(all.subarray(i * dims, (i + 1) * dims)));
    const pca = new PCA(rows);
    const vectors = pca.getEigenvectors();
    for (let d = 0; d < dims; d++) {
      center[d] = rows.reduce((s, r) => s + r[d]!, 0) / n;
      e1[d] = vectors.get(d, 0);
      e2[d] = vectors.get(d, 1);
    }
    const explained = pca.getExplainedVariance();
    axes = `PC1, PC2 of the aggregate posterior (${(100 * (explained[0]! + explained[1]!)).toFixed(0)}% of its variance)`;
  }
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let u = 0;
    let v = 0;
    for (let d = 0; d < dims; d++) {
      const c = all[i * dims + d]! - center[d]!;
      u += c * e1[d]!;
      v += c * e2[d]!;
    }
    xs[i] = u;
    ys[i] = v;
  }
  const span = (a: Float32Array) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of a) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const pad = Math.max(0.05 * (hi - lo), 0.5);
    return [lo - pad, hi + pad] as const;
  };
  const [x0, x1] = span(xs);
  const [y0, y1] = span(ys);
  plane = { center, e1, e2, extent: [x0, x1, y0, y1] };
  return { xs, ys, labels: test.labels ?? new Int32Array(n), extent: plane.extent, axes };
}

/** z for plane coordinates (u, v), [count, M]. */
function zOf(points: Array<[number, number]>): tf.Tensor2D {
  const p = plane!;
  const dims = p.center.length;
  const z = new Float32Array(points.length * dims);
  points.forEach(([u, v], i) => {
    for (let d = 0; d < dims; d++) z[i * dims + d] = p.center[d]! + u * p.e1[d]! + v * p.e2[d]!;
  });
  return tf.tensor2d(z, [points.length, dims]);
}

async function decodeMeans(z: tf.Tensor2D): Promise<Float32Array> {
  const m = needModel();
  const x = decodeWith(m, z, Array(z.shape[0]).fill(decodeClass));
  const values = (await x.data()) as Float32Array;
  tf.dispose([x, z]);
  return values;
}

function needModel(): VAE {
  if (!model) throw new LabError('train a model or load one first', 'other');
  return model;
}

async function needPlane(): Promise<void> {
  if (!plane) await latentPlane();
}

/** A drawing: posterior, reconstruction, and the class (SSVAE) or mixture component (GMVAE). */
async function encodeDrawing(image: Float32Array): Promise<Replies['encode']> {
  const m = needModel();
  await needPlane();
  const x = tf.tidy(() => tf.cast(tf.greaterEqual(tf.tensor3d(image, [1, SIDE, SIDE]), 0.5), 'float32'));
  const q = encodeWith(m, x, decodeClass);
  const mean = tf.tidy(() => q.mean.reshape([-1]));
  const std = tf.tidy(() => q.stddev.reshape([-1]));
  const rec = decodeWith(m, q.mean, labelsFor(m, x, decodeClass) ?? 0);
  let probs: tf.Tensor | null = null;
  if (m instanceof SSVAE) {
    const c = m.classify(x);
    probs = tf.tidy(() => c.probs.reshape([-1]));
    c.dispose();
  } else {
    const prior = m.prior.distribution();
    if (prior instanceof MixtureSameFamily) {
      // p(c | z) at the posterior mean: the mixture weights times each component's density.
      probs = tf.tidy(() => {
        const z = q.mean.expandDims(-2);
        return tf.softmax(tf.add(tf.logSoftmax(prior.mixture.logits), prior.component.logProb(z))).reshape([-1]);
      });
    }
    prior.dispose();
  }
  q.dispose();
  const [mu, sd, r, p] = await Promise.all([mean.data(), std.data(), rec.data(), probs?.data()]);
  tf.dispose([x, mean, std, rec, ...(probs ? [probs] : [])]);
  const pl = plane!;
  let u = 0;
  let v = 0;
  for (let d = 0; d < mu.length; d++) {
    u += (mu[d]! - pl.center[d]!) * pl.e1[d]!;
    v += (mu[d]! - pl.center[d]!) * pl.e2[d]!;
  }
  const out: Replies['encode'] = { mean: Array.from(mu), std: Array.from(sd), reconstruction: r as Float32Array, point: [u, v] };
  if (p) {
    out.probabilities = Array.from(p);
    out.predicted = out.probabilities.indexOf(Math.max(...out.probabilities));
  }
  return out;
}

/** The run folder `dlvm train --out` writes: run.json, history.json and model/, which `dlvm eval --run` reads. */
async function runFolder(): Promise<Record<string, Uint8Array>> {
  const m = needModel();
  const files: Record<string, Uint8Array> = {};
  for (const [name, bytes] of await saveModelFiles(m)) files[`model/${name}`] = bytes;
  const c = run?.config;
  const trainedOn = c ? data[c.data] : undefined;
  const info = {
    model: c?.model ?? report!.className.toLowerCase(),
    likelihood: 'bernoulli',
    arch: c?.arch ?? 'mlp',
    activation: 'relu',
    dataset: 'mnist',
    binarize: 'threshold',
    latentDim: report!.latentDim,
    hidden: [400],
    // Epochs begun, as dlvm train records them.
    epochs: c && trainedOn ? Math.ceil((run?.stepsDone ?? 0) / trainedOn.numBatches({ batchSize: c.batchSize })) : 0,
    batchSize: c?.batchSize ?? 0,
    lr: c?.learningRate ?? 0,
    backend: backendName,
    seconds: run?.seconds ?? 0,
    steps: run?.stepsDone ?? 0,
    stopReason: run?.stopReason ?? 'loaded',
    dlvmVersion: VERSION,
    command: `dlvm Lab (${report!.origin})`,
    modelOptions: c
      ? c.model === 'gmvae'
        ? { components: c.k, learnWeights: false }
        : c.model === 'iwae'
          ? { k: c.k }
          : c.model === 'betavae'
            ? { beta: c.beta }
            : {}
      : {},
  };
  const enc = new TextEncoder();
  files['run.json'] = enc.encode(JSON.stringify(info, null, 2));
  files['history.json'] = enc.encode(JSON.stringify(run?.history ?? []));
  return files;
}

/** The model files among what the visitor picked: a run folder (model/...) or a model folder. */
function modelFiles(files: Record<string, Uint8Array>): Record<string, Uint8Array> {
  const names = Object.keys(files);
  const isModel = (name: string) => {
    try {
      return (JSON.parse(new TextDecoder().decode(files[name])) as { format?: unknown }).format === 'dlvm-model';
    } catch {
      return false;
    }
  };
  // The shallowest model.json that is a dlvm model; its folder holds the rest.
  const top = names
    .filter((n) => n === 'model.json' || n.endsWith('/model.json'))
    .sort((a, b) => a.split('/').length - b.split('/').length)
    .find(isModel);
  if (top === undefined) {
    throw new LabError(
      `these files are not a dlvm model: none of ${names.length} (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}) is a model.json with "format": "dlvm-model". Pick a run folder written by dlvm train (or its model/ folder), or a .zip the Lab saved.`,
      'model-file',
    );
  }
  const prefix = top.slice(0, top.length - 'model.json'.length);
  return Object.fromEntries(names.filter((n) => n.startsWith(prefix)).map((n) => [n.slice(prefix.length), files[n]!]));
}

async function handle(req: Envelope): Promise<unknown> {
  switch (req.type) {
    case 'init': {
      baseUrl = req.baseUrl;
      setWasmPaths(new URL('wasm/', baseUrl).href);
      const info = await initBackend((req.backend || 'auto') as BackendPreference);
      backendName = info.name;
      const a = info.adapter as { vendor?: string; architecture?: string; description?: string } | undefined;
      return {
        name: info.name,
        description: describeBackend(info),
        isolated: self.crossOriginIsolated,
        ...(info.threads !== undefined ? { threads: info.threads } : {}),
        ...(a ? { adapter: [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') } : info.renderer ? { adapter: info.renderer } : {}),
        notes: info.notes,
        palette: [...PALETTE],
      } satisfies Replies['init'];
    }
    case 'train': {
      if (run?.controller) throw new LabError('training is running: stop it first', 'other');
      state('loading', `loading ${req.config.data === 'full' ? 'MNIST (60,000 digits)' : 'the MNIST subset'}`);
      await mnist(req.config.data);
      manualSeed(req.config.seed);
      run?.optimizer.dispose();
      const m = build(req.config);
      const r = setModel(m, `trained here (${req.config.model}, ${req.config.arch})`);
      run = {
        config: req.config,
        optimizer: tf.train.adam(req.config.learningRate),
        stepsDone: 0,
        seconds: 0,
        curve: [],
        history: [],
        controller: null,
        stopReason: 'none',
        pausing: null,
      };
      void trainOn().catch(fail(null));
      return r;
    }
    case 'pause':
    case 'stop': {
      if (run?.controller) {
        run.pausing = req.type;
        run.controller.abort();
      } else if (req.type === 'stop' && run && run.stepsDone < run.config.steps) {
        state('stopped', `stopped at step ${run.stepsDone} of ${run.config.steps}; explore what it learned`);
        run.config = { ...run.config, steps: run.stepsDone };
      }
      return null;
    }
    case 'resume': {
      if (!run || run.controller || run.stepsDone >= run.config.steps) throw new LabError('nothing to resume', 'other');
      void trainOn().catch(fail(null));
      return null;
    }
    case 'plane':
      return latentPlane();
    case 'decode': {
      await needPlane();
      return { image: await decodeMeans(zOf([req.point])) };
    }
    case 'manifold': {
      await needPlane();
      const [x0, x1, y0, y1] = plane!.extent;
      const pts: Array<[number, number]> = [];
      for (let r = 0; r < req.n; r++) for (let c = 0; c < req.n; c++) pts.push([x0 + ((c + 0.5) / req.n) * (x1 - x0), y1 - ((r + 0.5) / req.n) * (y1 - y0)]);
      return { images: await decodeMeans(zOf(pts)), n: req.n };
    }
    case 'interpolate': {
      const m = needModel();
      const test = await mnist('test');
      for (const [arg, i] of [
        ['a', req.a],
        ['b', req.b],
      ] as const) {
        if (!Number.isInteger(i) || i < 0 || i >= test.length)
          throw new LabError(`test digit ${arg} must be an index from 0 to ${test.length - 1}, got ${i}`, 'other');
      }
      const x = test.tensor([req.a, req.b], { binarize: 'threshold' });
      const labels = [test.labels?.[req.a] ?? 0, test.labels?.[req.b] ?? 0];
      const mu = tf.tidy(() => encodeWith(m, x, labels).mean);
      const t = tf.linspace(0, 1, req.n).reshape([req.n, 1]);
      const z = tf.tidy(() => tf.add(mu.slice([0, 0], [1, -1]), tf.mul(t, tf.sub(mu.slice([1, 0], [1, -1]), mu.slice([0, 0], [1, -1]))))) as tf.Tensor2D;
      tf.dispose([x, mu, t]);
      return { images: await decodeMeans(z), n: req.n };
    }
    case 'decodeClass':
      decodeClass = req.y;
      return null;
    case 'encode':
      if (req.image.length !== PIXELS) throw new LabError(`a drawing has ${PIXELS} pixels, got ${req.image.length}`, 'other');
      return encodeDrawing(req.image);
    case 'save':
      return { files: await runFolder() };
    case 'load': {
      if (run?.controller) throw new LabError('training is running: stop it before loading a model', 'other');
      const m = await loadModelFiles(modelFiles(req.files));
      run?.optimizer.dispose();
      run = null;
      const r = setModel(m, req.origin);
      await postSamples(0);
      return r;
    }
  }
}

function fail(id: number | null) {
  return (e: unknown) => {
    const kind = kindOf(e);
    const message = String((e as Error)?.message ?? e);
    post({ type: 'error', id, message, kind });
    if (id === null && run) {
      run.controller = null;
      state('stopped', `training stopped: ${message}`);
    }
  };
}

self.onmessage = (ev: MessageEvent<Envelope>) => {
  const req = ev.data;
  handle(req).then((value) => post({ type: 'reply', id: req.id, value }), fail(req.id));
};
