/**
 * Backend selection: one call picks the fastest TensorFlow.js backend available, says what it
 * picked and why, and never silently falls back when the user named a backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { argError, DlvmError, positiveInteger } from '../errors.js';
import { dlvmKernelNames, registerDlvmKernels, registerDlvmWebGpuKernels } from './kernels/register.js';
import { prepareSimdKernels, simdKernelsFor } from './kernels/simd.js';
import { withNodeWasmThreads } from './wasm_threads.js';
import {
  adapterInfoOf,
  describeAdapter,
  isSoftwareAdapter,
  findNodeAdapter,
  NO_ADAPTER_HELP,
  registerWebGpuBackend,
  WEBGPU_INSTALL,
  vulkanLoaderPresent,
  webGpuNodeSettings,
  type AdapterInfo,
  type WebGpuNodeOptions,
} from './webgpu_node.js';

/** Backend names as tfjs registers them. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu';

/**
 * What to ask `initBackend` for: `'auto'` (the default) picks the fastest available;
 * `'tensorflow'` is libtensorflow through tfjs-node-gpu, else tfjs-node; `'tensorflow-gpu'`
 * requires tfjs-node-gpu; `'tensorflow-cpu'` requires tfjs-node.
 */
export type BackendPreference = 'auto' | BackendName | 'tensorflow-gpu' | 'tensorflow-cpu';

const PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'tensorflow-gpu', 'tensorflow-cpu', 'wasm', 'cpu', 'webgl', 'webgpu'];

/** Options of {@link initBackend}. */
export interface InitBackendOptions extends WebGpuNodeOptions {
  /**
   * wasm only: threads. dlvm's matrix products (dense layers, convolutions) run on all of them;
   * XNNPACK's own kernels on one (docs/backends.md, "wasm threads under Node"). Default:
   * `DLVM_WASM_THREADS`, else the number of cores (at most 4). Takes effect when the wasm backend
   * is first initialised in a process.
   */
  threads?: number;
}

/** What {@link initBackend} picked, and why. */
export interface BackendInfo {
  /** The active tfjs backend (`tf.getBackend()`). */
  name: BackendName;
  /** What was asked for. */
  requested: BackendPreference;
  /** Where the request came from. */
  source: 'argument' | 'DLVM_BACKEND' | 'default';
  /** The npm package that provides the backend. */
  package: string;
  /**
   * wasm: threads in use. dlvm's matrix products (dense layers, convolutions) run on all of them
   * (the calling thread and dlvm's helper threads on the threaded build); XNNPACK's own kernels
   * run on one.
   */
  threads?: number;
  /**
   * wasm: whether dlvm's SIMD kernels run (false on a runtime without wasm SIMD: their JavaScript
   * loops run instead), and on how many threads dlvm's matrix products run (2 with its helper
   * thread on the threaded build, docs/performance.md).
   */
  simd?: { kernels: boolean; productThreads: number };
  /** tensorflow: true when tfjs-node-gpu (CUDA) was loaded. */
  gpu?: boolean;
  /** webgpu: the adapter it runs on (vendor, architecture, device, software or hardware). */
  adapter?: AdapterInfo;
  /** webgl: the renderer the browser reports (e.g. `ANGLE (Google, Vulkan 1.3.0 (SwiftShader ...))`). */
  renderer?: string;
  /** Kernels dlvm provides on this backend (`kernel@backend`). */
  dlvmKernels: string[];
  /** Why other backends were skipped, and anything else worth knowing. */
  notes: string[];
}

const NODE_GPU = '@tensorflow/tfjs-node-gpu' as const;
const NODE_CPU = '@tensorflow/tfjs-node' as const;

const INSTALL_HINT: Record<string, string> = {
  [NODE_GPU]:
    `npm install ${NODE_GPU}@4.22 (Linux x86-64 with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1; ` +
    'its install script downloads libtensorflow 2.9.1 with GPU support, so it needs network ' +
    'access beyond the npm registry, or TFJS_NODE_BASE_URI pointing at a mirror)',
  [NODE_CPU]:
    `npm install ${NODE_CPU}@4.22 (its install script downloads libtensorflow 2.9.1, so it needs ` +
    'network access beyond the npm registry, or TFJS_NODE_BASE_URI pointing at a mirror)',
  webgl: "npm install @tensorflow/tfjs-backend-webgl@4.22 and import '@tensorflow/tfjs-backend-webgl' before initBackend (browsers only)",
  webgpu:
    "npm install @tensorflow/tfjs-backend-webgpu@4.22 and import '@tensorflow/tfjs-backend-webgpu' before initBackend (browsers with WebGPU: Chrome and Edge 113+, Firefox 141+ on Windows, Safari 26+)",
  'webgpu-node': WEBGPU_INSTALL,
};

function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node != null;
}

function envVar(name: string): string | undefined {
  return isNode() ? process.env[name] : undefined;
}

/** True when `spec` resolves from where dlvm is installed (Node only). */
async function resolvable(spec: string): Promise<boolean> {
  const { createRequire } = await import('node:module');
  try {
    createRequire(import.meta.url).resolve(spec);
    return true;
  } catch {
    return false;
  }
}

/** Loads an optional package by name; null when it is not installed, throws when it is broken. */
async function importOptional(spec: string): Promise<unknown | null> {
  if (!(await resolvable(spec))) return null;
  try {
    return await import(/* @vite-ignore */ spec);
  } catch (err) {
    throw new DlvmError(
      `initBackend: ${spec} is installed but failed to load: ${(err as Error).message ?? String(err)}` +
        (spec === NODE_GPU ? ' (tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 libraries on the library path)' : ''),
    );
  }
}

let wasmThreadsNote: string | null = null;
/** Threads asked of the wasm backend and granted (1 where the single-threaded build runs); fixed once wasm has started. */
let wasmThreads = 1;

/** The process events whose handlers the wasm module installs under Node. */
const WASM_PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `init` and then removes the process handlers it added. tfjs's wasm module (built with
 * Emscripten) installs `uncaughtException` and `unhandledRejection` handlers that rethrow, so
 * any uncaught error, the user's own included, would print a line of tfjs's source and exit with
 * code 7 instead of Node's own report and code 1. Handlers the user had are kept.
 */
export async function withoutAddedProcessHandlers<T>(init: () => Promise<T>): Promise<T> {
  if (!isNode()) return init();
  // As a plain emitter: Node's typings overload `listeners` per event, not for a union of them.
  const proc = process as unknown as { listeners(event: string): unknown[]; removeListener(event: string, listener: never): unknown };
  const before = new Map(WASM_PROCESS_EVENTS.map((e) => [e, new Set(proc.listeners(e))]));
  try {
    return await init();
  } finally {
    for (const event of WASM_PROCESS_EVENTS) {
      for (const listener of proc.listeners(event)) {
        if (!before.get(event)!.has(listener)) proc.removeListener(event, listener as never);
      }
    }
  }
}

/** Initialises wasm (see {@link withoutAddedProcessHandlers}). */
function initWasm(threads: number, notes: string[]): Promise<boolean> {
  return withoutAddedProcessHandlers(() => initWasmThreads(threads, notes));
}

/** Initialises wasm, with threads under Node when more than one is asked for. */
async function initWasmThreads(threads: number, notes: string[]): Promise<boolean> {
  if (tf.engine().registry['wasm'] != null) {
    // Already initialised in this process: thread count is fixed.
    if (wasmThreadsNote) notes.push(wasmThreadsNote);
    return tf.setBackend('wasm');
  }
  // On the threaded build dlvm's matrix products (dense layers, convolutions) run on `threads`
  // threads of dlvm's own: the caller and threads - 1 helpers on the shared memory
  // (kernels/simd_helper.ts). XNNPACK, left with the small elementwise ops, keeps one thread: with a
  // pool of its own its workers competed with the helpers for the cores (a CS236 step
  // took 15.4-15.8 ms with both, 12.4-14.2 with one XNNPACK thread; docs/performance.md).
  setThreadsCount(1);
  wasmThreads = threads;
  if (isNode() && threads > 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    try {
      const ok = await withNodeWasmThreads(
        threads,
        () => tf.setBackend('wasm'),
        () => (tf.engine().registry['wasm'] as unknown as { wasm?: object } | undefined)?.wasm,
      );
      if (ok) return true;
    } catch (err) {
      wasmThreadsNote = `wasm threads unavailable (${(err as Error).message}); running one thread`;
      notes.push(wasmThreadsNote);
    }
    // Fall back to the single-threaded build (a failed init leaves the factory registered).
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmThreads = 1;
  }
  if (!isNode() && threads > 1) {
    if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
      wasmThreadsNote =
        'wasm threads need a cross-origin-isolated page (headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp); running one thread';
      notes.push(wasmThreadsNote);
      wasmThreads = 1; // the single-threaded build runs
    } else {
      return withBrowserCores(2 * threads, () => tf.setBackend('wasm'));
    }
  }
  return tf.setBackend('wasm');
}

/**
 * The wasm module sizes its thread pool from the reported core count (half of it, as under Node,
 * where wasm_threads.ts reports more cores during init); report `cores` while `init` runs so the
 * pool can hold the threads asked for.
 */
async function withBrowserCores<T>(cores: number, init: () => Promise<T>): Promise<T> {
  const nav = globalThis.navigator as Navigator | undefined;
  if (!nav) return init();
  Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => cores });
  try {
    return await init();
  } finally {
    delete (nav as unknown as Record<string, unknown>)['hardwareConcurrency'];
  }
}

async function defaultThreads(): Promise<number> {
  const fromEnv = envVar('DLVM_WASM_THREADS');
  if (fromEnv != null && fromEnv !== '') {
    const n = Number(fromEnv);
    positiveInteger('initBackend', 'DLVM_WASM_THREADS', n, fromEnv);
    return n;
  }
  if (!isNode()) return navigator?.hardwareConcurrency ? Math.min(4, navigator.hardwareConcurrency) : 1;
  const os = await import('node:os');
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores));
}

/** What initBackend tries, in order: packages for tensorflow, backend names otherwise. */
export type Candidate = typeof NODE_GPU | typeof NODE_CPU | 'wasm' | 'cpu' | 'webgl' | 'webgpu';

/**
 * The order in which {@link initBackend} tries backends for a preference, in Node or a browser.
 * Named backends have one candidate (two for `'tensorflow'`): no fallback.
 */
export function candidateOrder(preference: BackendPreference, node: boolean): Candidate[] {
  switch (preference) {
    case 'auto':
      return node ? [NODE_GPU, NODE_CPU, 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
    case 'tensorflow':
      return [NODE_GPU, NODE_CPU];
    case 'tensorflow-gpu':
      return [NODE_GPU];
    case 'tensorflow-cpu':
      return [NODE_CPU];
    default:
      return [preference];
  }
}

type Attempt = () => Promise<Omit<BackendInfo, 'requested' | 'source' | 'dlvmKernels' | 'notes'> | null>;

/**
 * Selects and initialises the TensorFlow.js backend.
 *
 * Order with `'auto'` (or `DLVM_BACKEND` unset): in Node, `tensorflow` (tfjs-node-gpu, then
 * tfjs-node) > `webgpu` on a hardware adapter (Dawn, from the optional packages `webgpu` and
 * `@tensorflow/tfjs-backend-webgpu`) > `wasm` > `cpu`; a software WebGPU adapter is skipped by
 * `'auto'` (it is slower than wasm) but used when `'webgpu'` is named. In a browser, `webgpu` >
 * `webgl` > `wasm` > `cpu` (webgpu and webgl count as available when their packages have been
 * imported; a software WebGPU adapter or WebGL renderer, such as SwiftShader in headless Chromium,
 * is skipped by `'auto'` as in Node, and used when named). A named backend that cannot be used is an error saying how to install it or why it
 * failed, never a silent fallback.
 *
 * In Node, webgpu reads `options.dawnFlags` / `DLVM_DAWN_FLAGS` (Dawn toggles, e.g.
 * `backend=opengles`) and `options.featureLevel` / `DLVM_WEBGPU_FEATURE_LEVEL`.
 *
 * @param preference what to use; default `process.env.DLVM_BACKEND`, else `'auto'`.
 * @returns what was picked, with notes on what was skipped.
 * @example
 * ```ts
 * const info = await initBackend();          // e.g. { name: 'wasm', threads: 2, ... }
 * console.log(describeBackend(info));
 * ```
 */
export async function initBackend(preference?: BackendPreference, options: InitBackendOptions = {}): Promise<BackendInfo> {
  let source: BackendInfo['source'] = 'argument';
  let requested = preference;
  if (requested === undefined) {
    const fromEnv = envVar('DLVM_BACKEND');
    if (fromEnv) {
      requested = fromEnv as BackendPreference;
      source = 'DLVM_BACKEND';
    } else {
      requested = 'auto';
      source = 'default';
    }
  }
  if (!PREFERENCES.includes(requested)) {
    throw argError(
      'initBackend',
      source === 'DLVM_BACKEND' ? 'DLVM_BACKEND' : 'preference',
      `one of ${PREFERENCES.map((p) => `'${p}'`).join(', ')}`,
      requested,
    );
  }
  if (options.threads !== undefined) positiveInteger('initBackend', 'options.threads', options.threads);
  registerDlvmKernels();
  const notes: string[] = [];
  const node = isNode();

  const tensorflow =
    (spec: string): Attempt =>
    async () => {
      if (!node) return null;
      const mod = await importOptional(spec);
      if (mod == null) {
        notes.push(`${spec} is not installed`);
        return null;
      }
      if (!(await tf.setBackend('tensorflow'))) {
        throw new DlvmError(`initBackend: ${spec} loaded but the 'tensorflow' backend failed to initialise.`);
      }
      return { name: 'tensorflow', package: spec, gpu: spec === NODE_GPU };
    };
  const wasm: Attempt = async () => {
    const threads = options.threads ?? (await defaultThreads());
    if (!(await initWasm(threads, notes))) return null;
    const productThreads = await prepareSimdKernels(tf.backend(), wasmThreads);
    if (productThreads < wasmThreads) notes.push(`dlvm's product threads: ${productThreads} of ${wasmThreads} started`);
    const simd = { kernels: simdKernelsFor(tf.backend()) != null, productThreads };
    return { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', threads: productThreads, simd };
  };
  const cpu: Attempt = async () => ((await tf.setBackend('cpu')) ? { name: 'cpu', package: '@tensorflow/tfjs-backend-cpu' } : null);
  let webgpuMissing = false;
  const nodeWebGpu: Attempt = async () => {
    const before = notes.length;
    if (requested === 'auto' && webGpuNodeSettings(options).dawnFlags.length === 0 && !(await vulkanLoaderPresent())) {
      notes.push('webgpu skipped: no Vulkan loader (libvulkan.so.1) found');
      return null;
    }
    const found = await findNodeAdapter(options, notes);
    if (found == null) {
      webgpuMissing = notes.slice(before).some((n) => n.endsWith('is not installed'));
      return null;
    }
    if (requested === 'auto' && found.info.software) {
      notes.push(`webgpu skipped: ${describeAdapter(found.info)} is a software adapter, slower than wasm (name 'webgpu' to use it)`);
      return null;
    }
    const adapter = await registerWebGpuBackend(found, notes);
    if (adapter === null) {
      webgpuMissing = true;
      return null;
    }
    const ok = await tf.setBackend('webgpu').catch(() => false);
    if (!ok) {
      notes.push(`webgpu failed to initialise on ${describeAdapter(adapter)}`);
      return null;
    }
    return { name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', adapter };
  };
  const browserBackend =
    (name: 'webgl' | 'webgpu'): Attempt =>
    async () => {
      if (tf.findBackendFactory(name) == null) {
        notes.push(`${name} is not registered (import @tensorflow/tfjs-backend-${name})`);
        return null;
      }
      const ok = await tf.setBackend(name).catch(() => false);
      if (!ok) notes.push(`${name} is registered but failed to initialise`);
      if (!ok) return null;
      if (name === 'webgpu') {
        // dlvm's webgpu fixes go on the running backend before its first reduction.
        registerDlvmWebGpuKernels();
        const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        const found = await gpu?.requestAdapter().catch(() => null);
        const adapter = found ? adapterInfoOf(found, 'core', []) : undefined;
        if (adapter && requested === 'auto' && adapter.software) {
          notes.push(`webgpu skipped: ${describeAdapter(adapter)} is a software adapter, slower than wasm (name 'webgpu' to use it)`);
          return null;
        }
        if (adapter) return { name, package: `@tensorflow/tfjs-backend-${name}`, adapter };
        return { name, package: `@tensorflow/tfjs-backend-${name}` };
      }
      // WebGL: the renderer, and under 'auto' a software one (SwiftShader, llvmpipe) is passed over
      // for wasm, as a software WebGPU adapter is (measured in headless Chromium: SwiftShader
      // WebGL trains dlvm Lab's VAE 14x slower than 2-thread wasm).
      const renderer = webGlRenderer();
      if (renderer !== undefined && requested === 'auto' && isSoftwareAdapter({ description: renderer })) {
        notes.push(`webgl skipped: ${renderer} is a software renderer, slower than wasm (name 'webgl' to use it)`);
        return null;
      }
      return { name, package: `@tensorflow/tfjs-backend-${name}`, ...(renderer !== undefined ? { renderer } : {}) };
    };

  const attempts: Record<Candidate, Attempt> = {
    [NODE_GPU]: tensorflow(NODE_GPU),
    [NODE_CPU]: tensorflow(NODE_CPU),
    wasm,
    cpu,
    webgl: browserBackend('webgl'),
    webgpu: node ? nodeWebGpu : browserBackend('webgpu'),
  };

  for (const candidate of candidateOrder(requested, node)) {
    const picked = await attempts[candidate]();
    if (picked) {
      await tf.ready();
      if (picked.name === 'cpu') {
        // The cpu backend prints a banner recommending tfjs-node on first use; dlvm reports the
        // backend it picked (and why) itself.
        (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
        if (node && requested === 'auto') notes.push('cpu is the slowest backend; wasm failed to initialise');
      }
      return {
        ...picked,
        requested,
        source,
        dlvmKernels: dlvmKernelNames().filter((k) => k.endsWith(`@${picked.name}`)),
        notes,
      };
    }
  }
  throw unavailableError(requested, node, notes, webgpuMissing);
}

/** The running WebGL backend's renderer (WEBGL_debug_renderer_info), when the browser tells it. */
function webGlRenderer(): string | undefined {
  const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const name = gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) as unknown;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function unavailableError(requested: BackendPreference, node: boolean, notes: string[], webgpuMissing = false): DlvmError {
  const why = notes.length ? ` (${notes.join('; ')})` : '';
  if (requested.startsWith('tensorflow')) {
    if (!node) {
      return new DlvmError(`initBackend: the '${requested}' backend runs only in Node.js, not in a browser.`);
    }
    const specs = requested === 'tensorflow-cpu' ? [NODE_CPU] : requested === 'tensorflow-gpu' ? [NODE_GPU] : [NODE_GPU, NODE_CPU];
    return new DlvmError(
      `initBackend: backend '${requested}' is not available${why}. Install it with: ` +
        specs.map((s) => INSTALL_HINT[s]).join('; or ') +
        ". Or choose another backend: initBackend('wasm') or DLVM_BACKEND=wasm.",
    );
  }
  if (requested === 'webgpu' && node) {
    return new DlvmError(
      `initBackend: backend 'webgpu' is not available${why}. ` +
        (webgpuMissing ? `Install it with: ${INSTALL_HINT['webgpu-node']}.` : NO_ADAPTER_HELP) +
        " Or choose another backend: initBackend('wasm') or DLVM_BACKEND=wasm.",
    );
  }
  if (requested === 'webgl' || requested === 'webgpu') {
    return new DlvmError(`initBackend: backend '${requested}' is not available${why}. ${INSTALL_HINT[requested]}.`);
  }
  return new DlvmError(`initBackend: backend '${requested}' could not be initialised${why}.`);
}

/** One line for logs: `wasm (2 threads; dlvm kernels: 25; SIMD products on 2 threads) via @tensorflow/tfjs-backend-wasm ...`. */
export function describeBackend(info: BackendInfo): string {
  const parts: string[] = [];
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.gpu !== undefined) parts.push(info.gpu ? 'GPU' : 'CPU');
  if (info.adapter !== undefined) parts.push(`adapter: ${describeAdapter(info.adapter)}`);
  if (info.renderer !== undefined) parts.push(`renderer: ${info.renderer}`);
  if (info.dlvmKernels.length) parts.push(`dlvm kernels: ${info.dlvmKernels.length}`);
  if (info.simd !== undefined) {
    const t = info.simd.productThreads;
    parts.push(info.simd.kernels ? `SIMD products on ${t} thread${t === 1 ? '' : 's'}` : 'no wasm SIMD: dlvm kernels as JavaScript loops');
  }
  const detail = parts.length ? ` (${parts.join('; ')})` : '';
  const notes = info.notes.length ? `; notes: ${info.notes.join('; ')}` : '';
  return `${info.name}${detail} via ${info.package}, requested '${info.requested}' (${info.source})${notes}`;
}
