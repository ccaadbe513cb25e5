/**
 * Page script for test/browser/webgpu.browser.test.ts: an application that imports the webgpu
 * backend, asks initBackend() for a backend and reports what it picked, the adapter that
 * navigator.gpu offers the page, and, on webgpu when the page's URL has `?cases`, the results of
 * webgpu_cases.ts. Reads are asynchronous only.
 */
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, type BackendInfo } from '../../src/index.js';
import { klNormal, log1p, rsampleGradient, trainTinyVae, transposedMatmul, type RsampleResult, type TrainResult } from './webgpu_cases.js';

declare global {
  interface Window {
    runDlvm: (preference?: string) => Promise<unknown>;
  }
}

/** What the page reports. */
export interface WebGpuPageResult {
  /** initBackend's answer, or the message it threw. */
  info?: BackendInfo;
  description?: string;
  error?: string;
  /** Backends with a registered factory (tfjs-backend-webgpu registers only where navigator.gpu exists). */
  registered: string[];
  /** `navigator.gpu.requestAdapter()`'s adapter info read by the page itself; null: no adapter. */
  rawAdapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean } | null;
  /** On webgpu with `?cases`: webgpu_cases.ts's results, and tf.memory().numTensors before and after them. */
  cases?: {
    matmul: number[];
    log1p: number[];
    kl: number[];
    rsample: RsampleResult;
    train: TrainResult;
    tensorsBefore: number;
    tensorsAfter: number;
  };
}

async function rawAdapter(): Promise<WebGpuPageResult['rawAdapter']> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info: Record<string, unknown> } | null> } }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info as { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  const text = (v: string | undefined) => v ?? '';
  return {
    vendor: text(info.vendor),
    architecture: text(info.architecture),
    device: text(info.device),
    description: text(info.description),
    isFallbackAdapter: info.isFallbackAdapter === true,
  };
}

window.runDlvm = async (preference?: string): Promise<WebGpuPageResult> => {
  setWasmPaths('/');
  const result: WebGpuPageResult = {
    registered: ['webgpu', 'webgl', 'wasm', 'cpu'].filter((b) => tf.findBackendFactory(b) != null),
    rawAdapter: await rawAdapter(),
  };
  try {
    result.info = await initBackend(preference as never);
  } catch (e) {
    result.error = (e as Error).message;
    return result;
  }
  result.description = describeBackend(result.info);
  if (result.info.name !== 'webgpu' || !new URLSearchParams(location.search).has('cases')) return result;
  const tensorsBefore = tf.memory().numTensors;
  const matmul = await transposedMatmul();
  const y = await log1p();
  const kl = await klNormal();
  const rsample = await rsampleGradient();
  const train = await trainTinyVae();
  result.cases = { matmul, log1p: y, kl, rsample, train, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  return result;
};
