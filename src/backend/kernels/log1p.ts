/**
 * `Log1p` for the wasm backend. tfjs-backend-wasm 4.22 computes log(1 + x) literally, which
 * rounds 1 + x first: log1p(1e-7) comes out as 1.19e-7 (19% off) and log1p(1e-5) 0.14% off.
 * Stable formulas (softplus-style likelihoods, continuous Bernoulli, Laplace sampling) rely on
 * log1p being exact for small x; this kernel computes it elementwise with Math.log1p.
 */
import { Log1p, type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function log1p({ inputs, backend }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as WasmHeapBackend;
  const out = wasm.makeOutput(x.shape, 'float32');
  // Views are taken after makeOutput, which may grow (and move) the heap.
  const xs = wasm.typedArrayFromHeap(x);
  const o = wasm.typedArrayFromHeap(out);
  for (let i = 0; i < o.length; i++) o[i] = Math.log1p(xs[i]!);
  return out;
}

/** The wasm `Log1p` kernel config (registered by registerDlvmKernels). */
export const wasmLog1pConfig: KernelConfig = {
  kernelName: Log1p,
  backendName: 'wasm',
  kernelFunc: log1p as KernelFunc,
};
