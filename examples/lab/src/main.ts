/// <reference types="vite/client" />
/** True in the built site (vite.config.ts). */
declare const __LAB_SERVICE_WORKER__: boolean;
/**
 * dlvm Lab's page: the controls, the live curves and the explorers. Everything that touches the
 * model runs in the worker (worker.ts); this file draws what it sends back.
 */
import { unzipSync, zipSync } from 'fflate';
import { PIXELS, SIDE, type CurvePoint, type Replies, type Request, type TrainConfig, type WorkerMessage } from './protocol.js';

/** The classes' colours: dlvm's PALETTE, sent by the worker (the page does not load dlvm itself). */
let PALETTE: string[] = [];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- the worker and its requests ---------------------------------------------------------------

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function call<T extends Request['type']>(req: Extract<Request, { type: T }>, transfer: Transferable[] = []): Promise<Replies[T]> {
  const id = nextId++;
  worker.postMessage({ ...req, id }, transfer);
  return new Promise((resolve, reject) => pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
}

worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
  const m = ev.data;
  switch (m.type) {
    case 'reply':
      pending.get(m.id)?.resolve(m.value);
      pending.delete(m.id);
      break;
    case 'error': {
      const err = new Error(m.message);
      showError(m.message, m.kind);
      if (m.id !== null) {
        pending.get(m.id)?.reject(err);
        pending.delete(m.id);
      }
      break;
    }
    case 'curve':
      drawCurve(m.points, m.total, m.secondsPerStep);
      break;
    case 'samples':
      drawImages($('samples'), m.images, m.n, Math.round(Math.sqrt(m.n)));
      break;
    case 'state':
      onState(m);
      break;
  }
};
worker.onerror = (ev) => showError(`the training worker failed to start: ${ev.message}`, 'other');

/** Errors the visitor can act on, with what to do. */
function showError(message: string, kind: string): void {
  const hints: Record<string, string> = {
    memory: `This looks like the backend ran out of memory: try a smaller batch size (now ${form().batchSize}) or the MLP network.`,
    'model-file': 'Pick a folder written by dlvm train (or its model/ folder), or a .zip saved by the Lab.',
    backend: 'This browser has no usable WebGPU, WebGL or WebAssembly backend; try a recent Chrome, Edge or Firefox.',
    other: '',
  };
  const box = $('error');
  box.textContent = `${message} ${hints[kind] ?? ''}`.trim();
  box.hidden = false;
}
const clearError = () => ($('error').hidden = true);

// ---- training ----------------------------------------------------------------------------------

function form(): TrainConfig {
  const f = new FormData($<HTMLFormElement>('config'));
  const num = (k: string) => Number(f.get(k));
  return {
    model: f.get('model') as TrainConfig['model'],
    arch: f.get('arch') as TrainConfig['arch'],
    latentDim: num('latentDim'),
    k: num('k'),
    beta: num('beta'),
    steps: num('steps'),
    batchSize: num('batchSize'),
    learningRate: num('learningRate'),
    data: f.get('data') as TrainConfig['data'],
    seed: 0,
  };
}

function showModelOptions(): void {
  const model = form().model;
  document.querySelector<HTMLElement>('.for-k')!.hidden = model !== 'gmvae' && model !== 'iwae';
  document.querySelector<HTMLElement>('.for-beta')!.hidden = model !== 'betavae';
}
$('config').addEventListener('change', showModelOptions);
showModelOptions();

function checkConfig(c: TrainConfig): string | null {
  const bad = (name: string, what: string, got: number) => `${name} must be ${what}, got ${got}.`;
  if (!Number.isInteger(c.latentDim) || c.latentDim < 1) return bad('Latent size M', 'a positive integer', c.latentDim);
  if (!Number.isInteger(c.steps) || c.steps < 1) return bad('Steps', 'a positive integer', c.steps);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) return bad('Batch size', 'a positive integer', c.batchSize);
  if ((c.model === 'gmvae' || c.model === 'iwae') && (!Number.isInteger(c.k) || c.k < 1)) return bad('k', 'a positive integer', c.k);
  if (!(c.learningRate > 0)) return bad('Learning rate', 'positive', c.learningRate);
  return null;
}

$('train').addEventListener('click', async () => {
  clearError();
  const c = form();
  const problem = checkConfig(c);
  if (problem) return showError(problem, 'other');
  setButtons('training');
  // The previous run's state ('done') is over from the click on.
  $('status').dataset['state'] = 'loading';
  $('status').textContent = 'starting...';
  resetMetrics(c.steps);
  const report = await call({ type: 'train', config: c }).catch(() => null);
  if (report) showModel(report);
});
$('pause').addEventListener('click', () => void call({ type: 'pause' }));
$('resume').addEventListener('click', () => void call({ type: 'resume' }).then(() => setButtons('training')));
$('stop').addEventListener('click', () => void call({ type: 'stop' }));

let ready = false;
function setButtons(s: string): void {
  const training = s === 'training' || s === 'loading';
  $<HTMLButtonElement>('train').disabled = !ready || training;
  $<HTMLButtonElement>('pause').disabled = s !== 'training';
  $<HTMLButtonElement>('resume').disabled = s !== 'paused';
  $<HTMLButtonElement>('stop').disabled = !(s === 'training' || s === 'paused');
}

function onState(m: Extract<WorkerMessage, { type: 'state' }>): void {
  $('status').textContent = m.message;
  $('status').dataset['state'] = m.state;
  setButtons(m.state);
  if (m.state === 'done' || m.state === 'paused' || m.state === 'stopped') void refreshExplorer();
}

/** Clears the curve and the numbers (a new run, or a loaded model). */
function resetMetrics(total: number): void {
  const curve = $<HTMLCanvasElement>('curve');
  curve.getContext('2d')!.clearRect(0, 0, curve.width, curve.height);
  for (const id of ['elbo', 'kl', 'speed']) $(id).textContent = '-';
  $('step').textContent = '0';
  $('total').textContent = String(total);
}

function drawCurve(points: CurvePoint[], total: number, secondsPerStep: number): void {
  const last = points.at(-1);
  if (!last) return;
  $('elbo').textContent = last.elbo.toFixed(2);
  $('kl').textContent = last.kl.toFixed(2);
  $('step').textContent = String(last.step);
  $('total').textContent = String(total);
  $('speed').textContent = `${(1000 * secondsPerStep).toFixed(1)} ms/step`;
  const canvas = $<HTMLCanvasElement>('curve');
  // The first and latest ELBO, for tests and scripts that read the page.
  canvas.dataset['firstElbo'] = String(points[0]!.elbo);
  canvas.dataset['lastElbo'] = String(last.elbo);
  canvas.dataset['secondsPerStep'] = String(secondsPerStep);
  const g = canvas.getContext('2d')!;
  const [w, h, pad] = [canvas.width, canvas.height, 30];
  g.clearRect(0, 0, w, h);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  const series: Array<[string, (p: CurvePoint) => number, string]> = [
    ['ELBO', (p) => p.elbo, PALETTE[0]!],
    ['KL', (p) => p.kl, PALETTE[1]!],
  ];
  g.font = '11px sans-serif';
  series.forEach(([name, f, color], s) => {
    const vs = points.map(f);
    const lo = Math.min(...vs);
    const hi = Math.max(...vs);
    const y = (v: number) => h - pad - ((v - lo) / (hi - lo || 1)) * (h - 2 * pad);
    const x = (step: number) => pad + (step / Math.max(total, 1)) * (w - 2 * pad);
    g.strokeStyle = color;
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(p.step), y(f(p))) : g.lineTo(x(p.step), y(f(p)))));
    g.stroke();
    g.fillStyle = color;
    g.fillText(`${name} ${f(last).toFixed(1)} (range ${lo.toFixed(0)} to ${hi.toFixed(0)})`, pad + s * 220, 14);
  });
  g.fillStyle = '#555';
  g.fillText(`step ${last.step} / ${total}`, w - pad - 90, h - 8);
}

// ---- pictures ----------------------------------------------------------------------------------

/** Draws `n` 28x28 images in [0, 1] as a grid of `cols` columns filling the canvas. */
function drawImages(
  canvas: HTMLCanvasElement,
  images: Float32Array,
  n: number,
  cols: number,
  alpha = 1,
  g = canvas.getContext('2d')!,
  box?: [number, number, number, number],
): void {
  const rows = Math.ceil(n / cols);
  const tile = new ImageData(SIDE, SIDE);
  const scratch = document.createElement('canvas');
  scratch.width = scratch.height = SIDE;
  const sg = scratch.getContext('2d')!;
  const [bx, by, bw, bh] = box ?? [0, 0, canvas.width, canvas.height];
  g.imageSmoothingEnabled = false;
  g.globalAlpha = alpha;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < PIXELS; p++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, images[i * PIXELS + p]!)));
      tile.data.set([v, v, v, 255], 4 * p);
    }
    sg.putImageData(tile, 0, 0);
    const [cw, ch] = [bw / cols, bh / rows];
    g.drawImage(scratch, bx + (i % cols) * cw, by + Math.floor(i / cols) * ch, cw, ch);
  }
  g.globalAlpha = 1;
}

// ---- the latent plane ----------------------------------------------------------------------------

let planeData: Replies['plane'] | null = null;
let manifold: Replies['manifold'] | null = null;
let drawnPoint: [number, number] | null = null;

async function refreshExplorer(): Promise<void> {
  planeData = await call({ type: 'plane' }).catch(() => null);
  manifold = null;
  if (!planeData) return;
  $('plane-axes').textContent =
    `Posterior means of ${planeData.xs.length} test digits on ${planeData.axes}, coloured by label. Move the pointer over the plane to decode that point.`;
  $<HTMLButtonElement>('interpolate').disabled = false;
  $<HTMLButtonElement>('save').disabled = false;
  if ($<HTMLInputElement>('grid').checked) manifold = await call({ type: 'manifold', n: 12 }).catch(() => null);
  drawPlane();
  // Counts the planes drawn, for tests and scripts that wait for a new one.
  const plane = $('plane');
  plane.dataset['version'] = String(Number(plane.dataset['version'] ?? '0') + 1);
}

function toCanvas(u: number, v: number): [number, number] {
  const c = $<HTMLCanvasElement>('plane');
  const [x0, x1, y0, y1] = planeData!.extent;
  return [((u - x0) / (x1 - x0)) * c.width, c.height - ((v - y0) / (y1 - y0)) * c.height];
}

function fromCanvas(px: number, py: number): [number, number] {
  const c = $<HTMLCanvasElement>('plane');
  const [x0, x1, y0, y1] = planeData!.extent;
  return [x0 + (px / c.width) * (x1 - x0), y0 + ((c.height - py) / c.height) * (y1 - y0)];
}

function drawPlane(): void {
  const canvas = $<HTMLCanvasElement>('plane');
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  if (!planeData) return;
  if (manifold) drawImages(canvas, manifold.images, manifold.n * manifold.n, manifold.n, 0.55, g);
  for (let i = 0; i < planeData.xs.length; i++) {
    const [x, y] = toCanvas(planeData.xs[i]!, planeData.ys[i]!);
    g.fillStyle = PALETTE[planeData.labels[i]! % PALETTE.length]!;
    g.fillRect(x - 1.5, y - 1.5, 3, 3);
  }
  // The legend: one swatch per digit.
  g.font = '11px sans-serif';
  for (let d = 0; d < 10; d++) {
    g.fillStyle = PALETTE[d]!;
    g.fillRect(6 + d * 22, canvas.height - 14, 8, 8);
    g.fillStyle = '#333';
    g.fillText(String(d), 16 + d * 22, canvas.height - 6);
  }
  if (drawnPoint) {
    const [x, y] = toCanvas(...drawnPoint);
    g.strokeStyle = '#000';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(x, y, 7, 0, 2 * Math.PI);
    g.stroke();
  }
}

let decoding = false;
let queued: [number, number] | null = null;
async function decodeAt(point: [number, number]): Promise<void> {
  if (decoding) {
    queued = point;
    return;
  }
  decoding = true;
  const r = await call({ type: 'decode', point }).catch(() => null);
  if (r) drawImages($('decoded'), r.image, 1, 1);
  decoding = false;
  if (queued) {
    const next = queued;
    queued = null;
    void decodeAt(next);
  }
}

$('plane').addEventListener('pointermove', (ev) => {
  if (!planeData) return;
  const c = $<HTMLCanvasElement>('plane');
  const rect = c.getBoundingClientRect();
  void decodeAt(fromCanvas(((ev.clientX - rect.left) / rect.width) * c.width, ((ev.clientY - rect.top) / rect.height) * c.height));
});
$('grid').addEventListener('change', async () => {
  manifold = $<HTMLInputElement>('grid').checked && planeData ? await call({ type: 'manifold', n: 12 }).catch(() => null) : null;
  drawPlane();
});

$('decode-class').addEventListener('change', async () => {
  await call({ type: 'decodeClass', y: Number($<HTMLSelectElement>('decode-class').value) });
  if ($<HTMLInputElement>('grid').checked) manifold = await call({ type: 'manifold', n: 12 }).catch(() => null);
  drawPlane();
  // Counts the planes drawn, for tests and scripts that wait for a new one.
  const plane = $('plane');
  plane.dataset['version'] = String(Number(plane.dataset['version'] ?? '0') + 1);
});

$('interpolate').addEventListener('click', async () => {
  const r = await call({
    type: 'interpolate',
    a: Number($<HTMLInputElement>('interp-a').value),
    b: Number($<HTMLInputElement>('interp-b').value),
    n: 10,
  }).catch(() => null);
  if (r) drawImages($('interpolation'), r.images, r.n, r.n);
});

// ---- drawing -------------------------------------------------------------------------------------

const pad = $<HTMLCanvasElement>('draw');
const pen = pad.getContext('2d')!;
function clearPad(): void {
  pen.fillStyle = '#000';
  pen.fillRect(0, 0, pad.width, pad.height);
}
clearPad();
let drawing = false;
pad.addEventListener('pointerdown', (ev) => {
  drawing = true;
  pad.setPointerCapture(ev.pointerId);
  const r = pad.getBoundingClientRect();
  pen.beginPath();
  pen.moveTo(ev.clientX - r.left, ev.clientY - r.top);
});
pad.addEventListener('pointermove', (ev) => {
  if (!drawing) return;
  const r = pad.getBoundingClientRect();
  pen.strokeStyle = '#fff';
  pen.lineWidth = pad.width / 11;
  pen.lineCap = pen.lineJoin = 'round';
  pen.lineTo(ev.clientX - r.left, ev.clientY - r.top);
  pen.stroke();
});
pad.addEventListener('pointerup', () => {
  if (!drawing) return;
  drawing = false;
  void encodeDrawing();
});
$('clear').addEventListener('click', () => {
  clearPad();
  drawnPoint = null;
  $('reconstruction').hidden = true;
  drawPlane();
});

/** The drawing as a 28x28 grey image (MNIST's white on black), centred by its bounding box as MNIST's digits are. */
function drawingPixels(): Float32Array {
  const small = document.createElement('canvas');
  small.width = small.height = SIDE;
  const g = small.getContext('2d')!;
  g.fillStyle = '#000';
  g.fillRect(0, 0, SIDE, SIDE);
  g.imageSmoothingEnabled = true;
  // MNIST digits fit a 20x20 box inside the 28x28 frame.
  g.drawImage(pad, 4, 4, 20, 20);
  const rgba = g.getImageData(0, 0, SIDE, SIDE).data;
  const out = new Float32Array(PIXELS);
  for (let p = 0; p < PIXELS; p++) out[p] = rgba[4 * p]! / 255;
  return out;
}

async function encodeDrawing(): Promise<void> {
  const r = await call({ type: 'encode', image: drawingPixels() }).catch(() => null);
  if (!r) return;
  const rec = $<HTMLCanvasElement>('reconstruction');
  rec.hidden = false;
  drawImages(rec, r.reconstruction, 1, 1);
  const fmt = (a: number[]) => `[${a.map((v) => v.toFixed(2)).join(', ')}]`;
  let text = `q(z|x): mean ${fmt(r.mean.slice(0, 8))}${r.mean.length > 8 ? '...' : ''}, sd ${fmt(r.std.slice(0, 8))}${r.std.length > 8 ? '...' : ''}.`;
  if (r.predicted !== undefined) {
    const what = modelInfo?.classesAre === 'labels' ? 'predicted digit' : 'mixture component';
    text += ` ${what}: ${r.predicted} (p = ${r.probabilities![r.predicted]!.toFixed(2)})`;
  }
  $('posterior').textContent = text;
  drawnPoint = r.point;
  drawPlane();
}

// ---- models in and out ---------------------------------------------------------------------------

let modelInfo: Replies['train'] | null = null;
function showModel(r: Replies['train']): void {
  modelInfo = r;
  // A conditional model (CVAE, SSVAE) decodes a latent point as a class the visitor picks.
  $('decode-class-label').hidden = !r.conditional;
  const classes = r.classes ? `, ${r.classes} ${r.classesAre}` : '';
  $('model-info').textContent = `${r.className}, M = ${r.latentDim}${classes}: ${r.origin}.`;
}

$('save').addEventListener('click', async () => {
  const r = await call({ type: 'save' }).catch(() => null);
  if (!r) return;
  const zip = zipSync(Object.fromEntries(Object.entries(r.files).map(([name, bytes]) => [`dlvm-lab-run/${name}`, bytes])));
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
  a.download = 'dlvm-lab-run.zip';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});

async function load(files: Record<string, Uint8Array>, origin: string): Promise<void> {
  clearError();
  const r = await call({ type: 'load', files, origin }).catch(() => null);
  if (!r) return;
  showModel(r);
  // The curve was the previous model's; the worker sends the loaded model's samples.
  resetMetrics(0);
  await refreshExplorer();
  $('status').textContent = `loaded ${origin}`;
}

/** Names relative to the picked folder (its own name dropped). */
const relative = (path: string) => path.split('/').slice(1).join('/') || path;

$<HTMLInputElement>('load-folder').addEventListener('change', async (ev) => {
  const list = Array.from((ev.target as HTMLInputElement).files ?? []);
  const files: Record<string, Uint8Array> = {};
  for (const f of list) files[relative(f.webkitRelativePath || f.name)] = new Uint8Array(await f.arrayBuffer());
  await load(files, `the folder ${list[0]?.webkitRelativePath.split('/')[0] ?? ''}`);
});
$<HTMLInputElement>('load-files').addEventListener('change', async (ev) => {
  const list = Array.from((ev.target as HTMLInputElement).files ?? []);
  const files: Record<string, Uint8Array> = {};
  for (const f of list) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (f.name.endsWith('.zip')) {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(bytes);
      } catch (e) {
        return showError(`${f.name} is not a readable .zip (${(e as Error).message}).`, 'model-file');
      }
      for (const [name, b] of Object.entries(entries)) if (!name.endsWith('/')) files[name] = b;
    } else files[f.name] = bytes;
  }
  await load(files, list.map((f) => f.name).join(', '));
});
$('load-url-go').addEventListener('click', async () => {
  const url = $<HTMLInputElement>('load-url').value.trim();
  if (!url) return;
  const base = new URL(url.endsWith('/') ? url : `${url}/`, location.href);
  try {
    // A run folder (model/model.json) or a model folder (model.json); the checksums list every other file.
    let prefix = 'model/';
    let res = await fetch(new URL('model/model.json', base));
    if (!res.ok) {
      prefix = '';
      res = await fetch(new URL('model.json', base));
    }
    if (!res.ok) throw new Error(`${base} has neither model/model.json nor model.json (HTTP ${res.status})`);
    const json = new Uint8Array(await res.arrayBuffer());
    const files: Record<string, Uint8Array> = { [`${prefix}model.json`]: json };
    let names: string[] = [];
    try {
      names = Object.keys((JSON.parse(new TextDecoder().decode(json)) as { checksums?: Record<string, string> }).checksums ?? {});
    } catch {
      // not JSON: loading says so
    }
    for (const name of names) {
      const r = await fetch(new URL(prefix + name, base));
      if (!r.ok) throw new Error(`cannot fetch ${new URL(prefix + name, base)} (HTTP ${r.status})`);
      files[prefix + name] = new Uint8Array(await r.arrayBuffer());
    }
    await load(files, base.href);
  } catch (e) {
    showError(`cannot load ${url}: ${(e as Error).message}.`, 'model-file');
  }
});

// ---- start ---------------------------------------------------------------------------------------

async function start(): Promise<void> {
  if (__LAB_SERVICE_WORKER__ && 'serviceWorker' in navigator) {
    // The service worker keeps the site working offline and adds the COOP/COEP headers that a
    // plain static server does not send; it controls the page from the next load.
    const reg = await navigator.serviceWorker.register('./sw.js').catch((e: unknown) => {
      console.warn(`dlvm Lab: the service worker did not register (${String(e)}); the site works, but not offline.`);
      return null;
    });
    if (reg && !self.crossOriginIsolated && !sessionStorage.getItem('dlvm-lab-reloaded')) {
      // The first visit to a server without the headers: once the service worker controls the
      // page (it claims it when active), one reload makes it isolated.
      const sw = navigator.serviceWorker;
      if (!sw.controller) {
        await Promise.race([
          new Promise((resolve) => sw.addEventListener('controllerchange', resolve, { once: true })),
          new Promise((resolve) => setTimeout(resolve, 15_000)),
        ]);
      }
      if (sw.controller) {
        sessionStorage.setItem('dlvm-lab-reloaded', '1');
        location.reload();
        return;
      }
    }
  }
  $('isolation').textContent = self.crossOriginIsolated
    ? 'cross-origin isolated: wasm can use threads'
    : 'not cross-origin isolated: wasm runs on one thread (serve with COOP/COEP headers; see docs/lab.md)';
  const requested = new URLSearchParams(location.search).get('backend') ?? 'auto';
  try {
    const b = await call({ type: 'init', backend: requested, baseUrl: new URL('./', location.href).href });
    PALETTE = b.palette;
    const badge = $('backend');
    badge.textContent = `backend: ${b.name}${b.threads ? ` (${b.threads} threads)` : ''}${b.adapter ? ` on ${b.adapter}` : ''}`;
    badge.title = b.description;
    badge.dataset['backend'] = b.name;
    if (b.name === 'wasm' || b.name === 'cpu') {
      // Why not a GPU: the notes say (no WebGPU, or a software renderer passed over).
      const why = b.notes.filter((n) => /webgpu|webgl/.test(n));
      $('gpu-note').textContent =
        `No hardware WebGPU or WebGL here, so training runs on the CPU${why.length ? `: ${why.join('; ')}` : ''}. A browser with WebGPU on a GPU (Chrome or Edge 113+) trains faster.`;
      $('gpu-note').hidden = false;
    }
    ready = true;
    setButtons('idle');
    $('status').textContent = 'ready: press Train (the defaults train a VAE with M = 2 on 2,000 digits)';
  } catch (e) {
    $('backend').textContent = `no backend: ${(e as Error).message}`;
  }
}
void start();
