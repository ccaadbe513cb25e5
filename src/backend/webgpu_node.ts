/**
 * WebGPU in Node: Dawn (the npm package `webgpu`) gives Node a `navigator.gpu`; tfjs's WebGPU
 * backend (`@tensorflow/tfjs-backend-webgpu`) runs on it. Both are optional peer dependencies.
 *
 * tfjs-backend-webgpu registers itself at import time only when `navigator.gpu` exists, which in
 * Node it does not; dlvm therefore requests the adapter itself (so it can report it and say why
 * there is none), installs `navigator.gpu` and the WebGPU globals, and registers a backend factory
 * that builds tfjs's `WebGPUBackend` on that adapter, requesting the same features and limits
 * as tfjs's own factory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argError, DlvmError } from '../errors.js';
import { registerDlvmWebGpuKernels } from './kernels/register.js';

/** What a WebGPU adapter says about itself (GPUAdapterInfo), plus whether it is a software one. */
export interface AdapterInfo {
  /** e.g. `nvidia`, `amd`, `intel`, `apple`, `google`; may be empty (Dawn's OpenGL ES backend). */
  vendor: string;
  /** e.g. `ampere`, `rdna-3`, `swiftshader`; may be empty. */
  architecture: string;
  /** Device name as the driver reports it, e.g. `llvmpipe-llvm-15-0-6-256-bits-`. */
  device: string;
  /** Driver description, e.g. `OpenGL version OpenGL ES 3.2 Mesa 22.3.6`. */
  description: string;
  /**
   * True for a CPU implementation of the GPU API (Mesa llvmpipe/lavapipe/softpipe, SwiftShader, or
   * an adapter that says it is a fallback adapter): it runs dlvm correctly but slower than wasm.
   */
  software: boolean;
  /** The feature level the adapter was requested with. */
  featureLevel: WebGpuFeatureLevel;
  /** Dawn toggles the GPU was created with (Node only; empty in a browser). */
  dawnFlags: string[];
}

/** WebGPU feature levels: `core` (full WebGPU) or `compatibility` (runs on OpenGL ES 3.1 too). */
export type WebGpuFeatureLevel = 'core' | 'compatibility';

/** Node options for the WebGPU backend. */
export interface WebGpuNodeOptions {
  /**
   * Dawn toggles passed to `webgpu`'s `create()`, e.g. `['backend=opengles']` or
   * `['backend=vulkan', 'adapter=NVIDIA']`. Default: `DLVM_DAWN_FLAGS` (comma-separated), else none.
   */
  dawnFlags?: string[];
  /**
   * Default: `DLVM_WEBGPU_FEATURE_LEVEL`, else `'compatibility'` when `backend=opengles` is among the
   * flags (Dawn's OpenGL ES backend offers only that level), else `'core'`.
   */
  featureLevel?: WebGpuFeatureLevel;
}

/** A usable adapter, ready to become the tfjs backend with {@link registerWebGpuBackend}. */
export interface FoundAdapter {
  info: AdapterInfo;
  adapter: unknown;
  notes: string[];
}

const WEBGPU = 'webgpu';
const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';
const FEATURE_LEVELS: readonly WebGpuFeatureLevel[] = ['core', 'compatibility'];

/** One line on installing the two optional packages. */
export const WEBGPU_INSTALL =
  `npm install ${WEBGPU}@0.6 ${TFJS_WEBGPU}@4.22 (the webgpu package ships Dawn prebuilt for ` +
  'linux-x64, macOS and Windows inside its npm tarball; nothing else is downloaded)';

/** How to get an adapter when Dawn finds none (Linux; the common case). */
export const NO_ADAPTER_HELP =
  'On Linux Dawn needs the Vulkan loader and a Vulkan driver: install libvulkan1 (Debian/Ubuntu: ' +
  "apt-get install libvulkan1) and your GPU vendor's Vulkan driver (NVIDIA: the proprietary driver " +
  'ships nvidia_icd.json; AMD/Intel: mesa-vulkan-drivers); point VK_ICD_FILENAMES (or VK_DRIVER_FILES) ' +
  "at the driver's ICD JSON if the loader does not find it. Without a GPU driver, Dawn's OpenGL ES " +
  "backend runs on Mesa's software renderer: DLVM_DAWN_FLAGS=backend=opengles " +
  'DLVM_WEBGPU_FEATURE_LEVEL=compatibility EGL_PLATFORM=surfaceless (slower than wasm; for tests). ' +
  'On macOS Dawn uses Metal and needs nothing else.';

/** Resolves the options against the environment, validating both. */
export function webGpuNodeSettings(options: WebGpuNodeOptions = {}): { dawnFlags: string[]; featureLevel: WebGpuFeatureLevel } {
  let dawnFlags: string[];
  if (options.dawnFlags !== undefined) {
    if (!Array.isArray(options.dawnFlags) || !options.dawnFlags.every((f) => typeof f === 'string' && f.trim() !== '')) {
      throw argError('initBackend', 'options.dawnFlags', "an array of Dawn toggles such as ['backend=opengles']", options.dawnFlags);
    }
    dawnFlags = options.dawnFlags.map((f) => f.trim());
  } else {
    dawnFlags = (process.env['DLVM_DAWN_FLAGS'] ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
  }
  const fromEnv = process.env['DLVM_WEBGPU_FEATURE_LEVEL'];
  const level = options.featureLevel ?? (fromEnv ? fromEnv : undefined);
  if (level !== undefined && !FEATURE_LEVELS.includes(level as WebGpuFeatureLevel)) {
    throw argError(
      'initBackend',
      options.featureLevel !== undefined ? 'options.featureLevel' : 'DLVM_WEBGPU_FEATURE_LEVEL',
      "'core' or 'compatibility'",
      level,
    );
  }
  const opengles = dawnFlags.some((f) => /^backend=opengles$/i.test(f));
  const featureLevel = (level as WebGpuFeatureLevel | undefined) ?? (opengles ? 'compatibility' : 'core');
  return { dawnFlags, featureLevel };
}

/** True when the adapter is a CPU implementation (see {@link AdapterInfo.software}). */
export function isSoftwareAdapter(info: {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}): boolean {
  if (info.isFallbackAdapter === true) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return /llvmpipe|lavapipe|softpipe|swiftshader|software rasterizer|microsoft basic render/i.test(text);
}

/** Reads GPUAdapterInfo (its fields are getters on the native object) into a plain object. */
export function adapterInfoOf(adapter: unknown, featureLevel: WebGpuFeatureLevel, dawnFlags: string[]): AdapterInfo {
  const raw = ((adapter as { info?: Record<string, unknown> }).info ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
  const fields = {
    vendor: str('vendor'),
    architecture: str('architecture'),
    device: str('device'),
    description: str('description'),
    isFallbackAdapter: raw['isFallbackAdapter'] === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
  };
  return {
    vendor: fields.vendor,
    architecture: fields.architecture,
    device: fields.device,
    description: fields.description,
    software: isSoftwareAdapter(fields),
    featureLevel,
    dawnFlags,
  };
}

/** `nvidia ampere NVIDIA H100 (hardware)` or `llvmpipe ... (software)`. */
export function describeAdapter(info: AdapterInfo): string {
  const name = [info.vendor, info.architecture, info.device || info.description].filter((s) => s !== '').join(' ');
  return `${name || 'unnamed adapter'} (${info.software ? 'software' : 'hardware'}; ${info.featureLevel})`;
}

let dawn: { gpu: { requestAdapter(o?: object): Promise<unknown> }; flags: string } | null = null;

/** Loads an optional module; null with a note when it is not installed. */
async function load(spec: string, notes: string[]): Promise<Record<string, unknown> | null> {
  const { createRequire } = await import('node:module');
  try {
    createRequire(import.meta.url).resolve(spec);
  } catch {
    notes.push(`${spec} is not installed`);
    return null;
  }
  try {
    return (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
  } catch (err) {
    throw new DlvmError(`initBackend: ${spec} is installed but failed to load: ${(err as Error).message ?? String(err)}`);
  }
}

/**
 * Whether the Vulkan loader can be found (Linux only; true elsewhere). Lets `'auto'` skip Dawn
 * quietly on machines without Vulkan instead of printing Dawn's warning.
 */
export async function vulkanLoaderPresent(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const { existsSync } = await import('node:fs');
  const dirs = [
    ...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d !== ''),
    '/usr/lib/x86_64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}

/**
 * Creates Dawn's GPU (once per process and flag set) and asks it for an adapter.
 *
 * @returns the adapter, or null with the reason in `notes`.
 */
export async function findNodeAdapter(options: WebGpuNodeOptions, notes: string[]): Promise<FoundAdapter | null> {
  const { dawnFlags, featureLevel } = webGpuNodeSettings(options);
  const mod = await load(WEBGPU, notes);
  if (mod == null) return null;
  const create = mod['create'] as ((flags: string[]) => { requestAdapter(o?: object): Promise<unknown> }) | undefined;
  const globals = mod['globals'] as Record<string, unknown> | undefined;
  if (typeof create !== 'function' || globals == null) {
    throw new DlvmError(`initBackend: the installed ${WEBGPU} package does not export create() and globals; install ${WEBGPU}@0.6.`);
  }
  const own: string[] = [];
  if (dawnFlags.some((f) => /^backend=opengles$/i.test(f)) && !process.env['EGL_PLATFORM']) {
    // Without a display, Mesa's EGL needs the surfaceless platform (Dawn's GL backend uses EGL).
    process.env['EGL_PLATFORM'] = 'surfaceless';
    own.push('EGL_PLATFORM=surfaceless set for the OpenGL ES backend');
  }
  const key = dawnFlags.join(',');
  if (dawn == null || dawn.flags !== key) dawn = { gpu: create(dawnFlags), flags: key };
  for (const [k, v] of Object.entries(globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const adapter = await dawn.gpu.requestAdapter({ featureLevel, powerPreference: 'high-performance' });
  if (adapter == null) {
    notes.push(`Dawn found no WebGPU adapter (flags [${dawnFlags.join(', ')}], feature level ${featureLevel})`);
    return null;
  }
  notes.push(...own);
  return { info: adapterInfoOf(adapter, featureLevel, dawnFlags), adapter, notes: own };
}

/** The adapter the process's webgpu backend was registered on (it is fixed once it starts). */
let running: AdapterInfo | null = null;

/**
 * Makes `found` the adapter behind tfjs's 'webgpu' backend: imports tfjs-backend-webgpu and
 * registers a factory that requests the device as tfjs's own factory does. A factory already
 * registered (the package imported where `navigator.gpu` existed) is replaced, so the backend
 * runs on the adapter dlvm reports. Once the backend runs, its adapter stays for the process.
 *
 * @returns the adapter the backend runs on, or null when tfjs-backend-webgpu is not installed.
 */
export async function registerWebGpuBackend(found: FoundAdapter, notes: string[]): Promise<AdapterInfo | null> {
  const mod = await load(TFJS_WEBGPU, notes);
  if (mod == null) return null;
  const WebGPUBackend = mod['WebGPUBackend'] as (new (device: unknown, info?: unknown) => tf.KernelBackend) | undefined;
  if (typeof WebGPUBackend !== 'function') {
    throw new DlvmError(`initBackend: the installed ${TFJS_WEBGPU} does not export WebGPUBackend; install ${TFJS_WEBGPU}@4.22.`);
  }
  const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  const gpu = { requestAdapter: async () => found.adapter, getPreferredCanvasFormat: () => 'rgba8unorm' };
  if (nav == null) {
    (globalThis as Record<string, unknown>)['navigator'] = { gpu };
  } else if (nav['gpu'] == null) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  }
  if (tf.engine().registry['webgpu'] != null) {
    registerDlvmWebGpuKernels(WebGPUBackend);
    const current = running ?? found.info;
    if (describeAdapter(current) !== describeAdapter(found.info) || current.dawnFlags.join(',') !== found.info.dawnFlags.join(',')) {
      const flags = (a: AdapterInfo) => `flags [${a.dawnFlags.join(', ')}]`;
      notes.push(
        `webgpu already runs on ${describeAdapter(current)}, ${flags(current)}, in this process (the adapter is fixed once webgpu starts); ` +
          `these options asked for ${describeAdapter(found.info)}, ${flags(found.info)}`,
      );
    }
    return current;
  }
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  const adapter = found.adapter as {
    features: Set<string>;
    limits: Record<string, number>;
    requestDevice(d: object): Promise<unknown>;
    info?: unknown;
  };
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) => adapter.features.has(f));
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l['maxComputeWorkgroupStorageSize'],
          maxComputeWorkgroupsPerDimension: l['maxComputeWorkgroupsPerDimension'],
          maxStorageBufferBindingSize: l['maxStorageBufferBindingSize'],
          maxBufferSize: l['maxBufferSize'],
          maxComputeWorkgroupSizeX: l['maxComputeWorkgroupSizeX'],
          maxComputeInvocationsPerWorkgroup: l['maxComputeInvocationsPerWorkgroup'],
        },
      });
      return new WebGPUBackend(device, adapter.info);
    },
    0,
  );
  // dlvm's webgpu kernels and fixes to stock webgpu programs (kernels/register.ts).
  registerDlvmWebGpuKernels(WebGPUBackend);
  running = found.info;
  return running;
}
