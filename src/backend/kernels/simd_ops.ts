/**
 * tfjs kernels on dlvm's SIMD module (simd/kernels.c), for the wasm backend: `Sum` and `Relu`.
 *
 * tfjs-backend-wasm 4.22 sums over axes that are not the innermost by transposing them inward
 * first (2 ns an element), then adds each run one element at a time: the bias gradients of the
 * conv VAE (dy [128, 14, 14, 32] summed to [32]) took 5 ms of a 48 ms step. `reduce_sum` sums
 * any block of adjacent axes in place, on every thread (each output summed by one thread, in a
 * fixed order). Its `Relu` runs XNNPACK's and then scans for NaN (nan.ts); `relu` here is one pass
 * that keeps NaN as the cpu backend does. The stock `Sum` of an empty tensor returned the heap's
 * stale contents; it is 0 here. Where the SIMD kernels do not apply (none loaded, another
 * dtype, axes that are not adjacent, an empty tensor) the kernel given is run as it was.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { runConfig, type WasmHeapBackend } from './kernel_util.js';
import { simdKernelsFor } from './simd.js';

const at = (backend: WasmHeapBackend, info: TensorInfo): number => backend.typedArrayFromHeap(info).byteOffset;

/**
 * x [outer, r, inner] for a sum over `axes` of `shape`, or null where the reduced axes (leaving
 * out those of size 1) are not adjacent or nothing of size above 1 is reduced.
 */
export function sumGeometry(shape: readonly number[], axes: readonly number[]): [outer: number, r: number, inner: number] | null {
  const reduced = new Set(axes);
  const dims = shape.map((size, i) => ({ size, reduced: reduced.has(i) })).filter((d) => d.size !== 1);
  const first = dims.findIndex((d) => d.reduced);
  if (first < 0) return null;
  let last = first;
  while (last + 1 < dims.length && dims[last + 1]!.reduced) last++;
  if (dims.slice(last + 1).some((d) => d.reduced)) return null;
  const size = (from: number, to: number): number => dims.slice(from, to).reduce((p, d) => p * d.size, 1);
  return [size(0, first), size(first, last + 1), size(last + 1, dims.length)];
}

/** The wasm `Sum` kernel: dlvm's `reduce_sum` for float32 over adjacent axes, else `stock`. */
export function makeWasmSum(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const backend = args.backend as WasmHeapBackend;
    const axes = util.parseAxisParam(axis, x.shape);
    const shape = keepDims ? x.shape.map((s, i) => (axes.includes(i) ? 1 : s)) : x.shape.filter((_, i) => !axes.includes(i));
    if (util.sizeFromShape(x.shape) === 0 && x.dtype !== 'string' && x.dtype !== 'complex64') {
      // An empty sum is 0 (the stock kernel returned whatever the heap held there).
      // makeOutput takes any numeric dtype (dlvm's interface names float32 only); zeros read as 0 in each.
      const any = backend as unknown as { makeOutput(shape: number[], dtype: string): TensorInfo };
      const out = any.makeOutput(shape, x.dtype === 'bool' ? 'int32' : x.dtype);
      backend.typedArrayFromHeap(out).fill(0);
      return out;
    }
    const kernels = x.dtype === 'float32' ? simdKernelsFor(backend) : null;
    const geometry = kernels == null ? null : sumGeometry(x.shape, axes);
    if (kernels == null || geometry == null) return runConfig(stock, backend, args.inputs, args.attrs);
    const [outer, r, inner] = geometry;
    const out = backend.makeOutput(shape, 'float32');
    // Offsets after the allocation, which may move the heap.
    kernels.reduce_sum(at(backend, x), at(backend, out), outer, r, inner, 0, inner);
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as KernelFunc };
}

/** Wraps the wasm `Relu` config (dlvm's NaN-keeping one): dlvm's `relu` for float32, else `config`. */
export function withSimdRelu(config: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = args.backend as WasmHeapBackend;
    const kernels = x.dtype === 'float32' ? simdKernelsFor(backend) : null;
    if (kernels == null) return config.kernelFunc(args);
    const out = backend.makeOutput(x.shape, 'float32');
    const n = util.sizeFromShape(x.shape);
    if (n > 0) kernels.relu(at(backend, x), at(backend, out), n);
    return out;
  };
  return { ...config, kernelFunc: kernelFunc as KernelFunc };
}
