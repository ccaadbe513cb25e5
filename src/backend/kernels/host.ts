/**
 * Kernels that work on the float32 data of the cpu and wasm backends in place, with no copies:
 * on wasm dlvm's SIMD kernels (./simd.ts) read and write the backend's heap, elsewhere (cpu, or
 * wasm without SIMD) a JavaScript loop does, over the heap or the cpu backend's arrays. A fused
 * kernel (Adam's update, the Bernoulli log-density) is one such pass where the stock composite
 * is a dozen kernel launches, each a full pass over memory.
 */
import { util, type KernelBackend, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './kernel_util.js';
import { simdKernelsFor, type SimdKernels } from './simd.js';

/** The backends whose float32 data a JavaScript loop can reach in place. */
export const HOST_BACKENDS = ['cpu', 'wasm'] as const;
export type HostBackendName = (typeof HOST_BACKENDS)[number];

interface CpuBackend extends KernelBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/**
 * The body of a host kernel: given views of its float32 inputs (in the order of `inputNames`)
 * and of its freshly allocated outputs, fills the outputs.
 */
export type HostLoop = (inputs: Float32Array[], outputs: Float32Array[], attrs: NamedAttrMap, infos: TensorInfo[]) => void;

/**
 * The same body as a call into dlvm's wasm SIMD kernels (./simd.ts): given the byte offsets of
 * the inputs and outputs in the wasm backend's memory and the outputs' first size, calls one.
 */
export type SimdCall = (kernels: SimdKernels, inputs: number[], outputs: number[], size: number, attrs: NamedAttrMap) => void;

/**
 * `outShapes` for a kernel whose inputs all have one shape, checked (an error names the kernel
 * and the input), and whose `outputs` outputs have it too.
 */
export function sameShapes(kernelName: string, inputNames: readonly string[], outputs: number): (infos: TensorInfo[]) => number[][] {
  return (infos) => {
    const shape = infos[0]!.shape;
    infos.forEach((info, i) => {
      if (!util.arraysEqual(info.shape, shape)) {
        throw new Error(`dlvm kernels: ${kernelName}: ${inputNames[i]} has shape [${info.shape}], expected ${inputNames[0]}'s [${shape}].`);
      }
    });
    return Array.from({ length: outputs }, () => shape);
  };
}

/**
 * A kernel config for `backendName` that allocates one float32 output per entry of `outShapes`
 * (computed from the input infos and attributes), takes views of inputs and outputs (on wasm
 * after every allocation, which may grow and move the heap), and runs `loop`; on wasm it runs
 * `simd` instead where dlvm's SIMD kernels are available. A kernel with one
 * output returns it alone (runKernel gives a tensor), one with several returns the array.
 */
export function hostKernel(
  kernelName: string,
  backendName: HostBackendName,
  inputNames: readonly string[],
  outShapes: (infos: TensorInfo[], attrs: NamedAttrMap) => number[][],
  loop: HostLoop,
  simd?: SimdCall,
): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs = {} }: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const infos = inputNames.map((name) => {
      const info = inputs[name];
      if (info == null) throw new Error(`dlvm kernels: ${kernelName} needs input '${name}'.`);
      if (info.dtype !== 'float32') throw new Error(`dlvm kernels: ${kernelName} input '${name}' must be float32, got ${info.dtype}.`);
      return info;
    });
    const shapes = outShapes(infos, attrs);
    // Every output is allocated before any view is taken: on wasm an allocation may move the heap.
    const wasm = backend as WasmHeapBackend;
    const cpu = backend as CpuBackend;
    const outs =
      backendName === 'wasm'
        ? shapes.map((s) => wasm.makeOutput(s, 'float32'))
        : shapes.map((s) => cpu.makeTensorInfo(s, 'float32', new Float32Array(util.sizeFromShape(s))));
    const view = (info: TensorInfo): Float32Array =>
      backendName === 'wasm' ? wasm.typedArrayFromHeap(info) : (cpu.data.get(info.dataId).values as Float32Array);
    const kernels = backendName === 'wasm' && simd ? simdKernelsFor(backend) : null;
    if (kernels && simd) {
      const offset = (info: TensorInfo): number => wasm.typedArrayFromHeap(info).byteOffset;
      simd(kernels, infos.map(offset), outs.map(offset), util.sizeFromShape(shapes[0]!), attrs);
    } else {
      loop(infos.map(view), outs.map(view), attrs, infos);
    }
    // A lone output is returned alone, as tfjs's single-output kernels do: runKernel then gives
    // a tensor (not an array of one), and a gradient function gets dy as one tensor.
    return outs.length === 1 ? outs[0]! : outs;
  };
  return { kernelName, backendName, kernelFunc: kernelFunc as KernelFunc };
}
