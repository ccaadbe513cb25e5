/**
 * Helpers for dlvm's replacement kernels: call another registered kernel of the same backend
 * directly (below the engine, so nothing is taped or tracked) and free what it returned.
 */
import { getKernel, type KernelBackend, type KernelConfig, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** A backend as kernel functions receive it (tfjs types it as `{}`). */
export type AnyBackend = object;

/** Runs kernel `name` of `backendName` on tensor infos; the caller owns the result. */
export function runKernel(name: string, backend: AnyBackend, backendName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
  const kernel = getKernel(name, backendName);
  if (kernel == null) {
    throw new Error(`dlvm kernels: kernel '${name}' is not registered for backend '${backendName}'.`);
  }
  const out = kernel.kernelFunc({ inputs, attrs, backend });
  return Array.isArray(out) ? (out[0] as TensorInfo) : out;
}

/** Runs a stock kernel config (saved before dlvm replaced it). */
export function runConfig(config: KernelConfig, backend: AnyBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap | undefined): TensorInfo {
  const out = config.kernelFunc({ inputs, attrs: attrs ?? {}, backend });
  return Array.isArray(out) ? (out[0] as TensorInfo) : out;
}

/** Frees intermediate tensor infos made inside a kernel. */
export function disposeInfos(backend: AnyBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) (backend as KernelBackend).disposeData(info.dataId);
}

/** Permutation that swaps the last two axes of a rank-`rank` tensor. */
export function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** The members of tfjs-backend-wasm's `BackendWasm` that reach tensor data on the wasm heap. */
export interface WasmHeapBackend extends KernelBackend {
  /** Allocates an output tensor on the heap. */
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  /** A view of a tensor's data; take it after the last call that may grow (and move) the heap. */
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}
