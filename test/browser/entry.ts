/**
 * Page script for test/browser/backends.browser.test.ts: loads dlvm as a browser would, picks a
 * backend with initBackend() and reports what it computed. Built by esbuild for the browser
 * (entry_wasm.ts and entry_webgl.ts call `install`; a bare side-effect import would be dropped,
 * since package.json's sideEffects does not list test files).
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { candidateOrder, describeBackend, encodePng, imageGrid, initBackend, klDivergence, manualSeed, Normal, Independent } from '../../src/index.js';

declare global {
  interface Window {
    runDlvm: (preference?: string) => Promise<unknown>;
  }
}

/** Defines `window.runDlvm`. */
export function install(): void {
  window.runDlvm = runDlvm;
}

async function runDlvm(preference?: string): Promise<unknown> {
  setWasmPaths('/');
  const info = await initBackend(preference as never);
  // A transposed matmul (dlvm's wasm kernel) against a plain JS product.
  const m = 37;
  const k = 29;
  const n = 23;
  const a = Array.from({ length: k * m }, (_, i) => Math.sin(i));
  const b = Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.7));
  const got = tf.matMul(tf.tensor2d(a, [k, m]), tf.tensor2d(b, [k, n]), true, false).dataSync();
  let maxErr = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[t * m + i]! * b[t * n + j]!;
      maxErr = Math.max(maxErr, Math.abs(s - got[i * n + j]!));
    }
  }
  // Distributions, the KL registry and gradients through rsample.
  manualSeed(3);
  const q = new Independent(new Normal([0.5, -1], [1, 2]), 1);
  const p = new Independent(new Normal([0, 0], [1, 1]), 1);
  const kl = klDivergence(q, p).dataSync()[0];
  const grad = tf
    .grad((mu: tf.Tensor) => tf.sum(new Normal(mu, 1).rsample([4])))(tf.tensor1d([0, 1]))
    .dataSync();
  const log1p = tf.log1p(tf.scalar(1e-7)).dataSync()[0];
  // Image grids work anywhere; PNG encoding is Node-only and says so.
  const raster = await imageGrid(tf.ones([4, 2, 2]), { cols: 2 });
  const pngError = await encodePng(raster).then(
    () => 'no error',
    (e: Error) => e.message,
  );
  return {
    name: info.name,
    threads: info.threads,
    description: describeBackend(info),
    order: candidateOrder('auto', false),
    crossOriginIsolated: self.crossOriginIsolated,
    matmulMaxErr: maxErr,
    kl,
    grad: Array.from(grad),
    log1p,
    hardwareConcurrency: navigator.hardwareConcurrency,
    rasterSize: [raster.width, raster.height],
    pngError,
  };
}
