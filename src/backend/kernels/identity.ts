/**
 * `Identity`, and `Cast` to the dtype a tensor already has, for the wasm backend as the cpu backend
 * has them: the output shares the input's data (one more reference), where tfjs-backend-wasm 4.22
 * copies it. The engine runs Identity for
 * `tf.clone`, for gradients passed through unchanged and for kept and returned tensors: 71 to 74
 * launches per training step of the benchmark's VAEs, 2.2 ms of a 42 ms conv step spent copying;
 * tfjs-core casts float32 to float32 in gradients (relu's, among others).
 * Tensor data is never written in place (every kernel writes only the outputs it allocates;
 * a variable's `assign` takes the new value's data), so sharing is safe, as on cpu.
 */
import { Cast, Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { runConfig } from './kernel_util.js';

interface RefCountedBackend {
  incRef(dataId: object): void;
}

/** The wasm `Identity` kernel (string tensors go to `stock`); registered by registerDlvmKernels. */
export function makeWasmIdentity(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype === 'string') return runConfig(stock, backend, inputs, attrs);
    (backend as RefCountedBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { ...stock, kernelName: Identity, kernelFunc: kernelFunc as KernelFunc };
}

/** The wasm `Cast` kernel: shared data where the dtype does not change, else `stock`. */
export function makeWasmCast(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64' || (attrs as { dtype: string }).dtype !== x.dtype) return runConfig(stock, backend, inputs, attrs);
    (backend as RefCountedBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { ...stock, kernelName: Cast, kernelFunc: kernelFunc as KernelFunc };
}
