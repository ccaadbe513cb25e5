/**
 * The parts of tfjs-backend-webgpu 4.22 that dlvm's webgpu kernels use, declared structurally so
 * that nothing imports the package (an optional peer dependency): a program is a plain object that
 * `WebGPUBackend.runWebGPUProgram` compiles (its `getUserCode()` is spliced into a shader that
 * declares the inputs, `uniforms`, `getCoordsFromIndex`, `getIndexFromCoordsND`, `isnan`,
 * `setOutputAtIndex` (f32) and `setOutputAtIndexI32`), keyed by `shaderKey` plus the input and
 * output ranks and dtypes.
 */
import type { BackendValues, DataId, DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** A WebGPU program as `runWebGPUProgram` reads it. */
export interface WebGpuProgram {
  /** Names of the input arrays, in binding order (`A`, `x`, ...). */
  variableNames: string[];
  /** Shape of the output tensor. */
  outputShape: number[];
  /** Which output dimensions map to the dispatch's x (and y, z) axes. */
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  /** Workgroups to dispatch. */
  dispatch: [number, number, number];
  /** Invocations per workgroup. */
  workgroupSize: [number, number, number];
  /** Cache key of the compiled pipeline (ranks and dtypes are appended by the backend). */
  shaderKey: string;
  /** Whether `uniforms.size` (the output size) is declared. */
  size?: boolean;
  /** Extra uniform fields, e.g. `'infinityValue : f32,'`. */
  uniforms?: string;
  /** The WGSL `main` and its helpers. */
  getUserCode(): string;
}

/** The members of tfjs-backend-webgpu's `WebGPUBackend` that dlvm calls. */
export interface WebGpuBackendLike extends KernelBackend {
  /** Compiles (once per key) and dispatches `program`. */
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: TensorInfo[],
    outputDtype: DataType,
    programDefinedUniform?: { type: string; data: number[] }[],
    output?: TensorInfo,
  ): TensorInfo;
  /** True when every input is small and still on the CPU (the stock kernels then compute there). */
  shouldExecuteOnCPU(inputs: TensorInfo[], sizeThreshold?: number): boolean;
  /** Per-tensor storage: `values` is set while the data is on the CPU. */
  tensorMap: { get(dataId: DataId): { values?: BackendValues | null } | undefined };
  /** Makes a tensor from CPU values. */
  makeTensorInfo(shape: number[], dtype: DataType, values?: BackendValues): TensorInfo;
}

/** Output shape, flat dispatch layout and workgroup count of an elementwise program. */
export function flatProgram(
  shape: number[],
  workgroupSize: [number, number, number],
): { outputShape: number[]; dispatchLayout: { x: number[] }; dispatch: [number, number, number] } {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    outputShape: shape,
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: [Math.ceil(size / workgroupSize[0]), 1, 1],
  };
}

/** WGSL component names of a coordinate vector (`coords.x`, ..., `coords.v`). */
export const COORD_NAMES = ['x', 'y', 'z', 'w', 'u', 'v'] as const;

/** WGSL type of a rank-`rank` coordinate (`i32`, `vec2<i32>`, ..., `vec6`). */
export function coordsType(rank: number): string {
  if (rank <= 1) return 'i32';
  if (rank <= 4) return `vec${rank}<i32>`;
  if (rank <= 6) return `vec${rank}`;
  throw new Error(`coordsType: rank ${rank} is not supported (at most 6)`);
}
