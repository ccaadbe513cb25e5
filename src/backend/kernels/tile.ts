/**
 * `Tile` for the wasm backend. tfjs-backend-wasm 4.22 computes every output element's source
 * index one at a time (about 70 ns per element here): repeating a [100, 784] batch 100 times, as
 * each chunk of an IWAE-k bound does (`repeatBatch`, and `broadcastTo`, which runs `Tile`), took
 * 0.56 s, over a third of the chunk. This kernel copies whole blocks instead: the innermost
 * rows are copied from the input, then each axis's finished block is repeated with
 * `copyWithin` (memory speed). Trailing axes that are not repeated are copied in one piece.
 * Its gradient is tfjs-core's (a sum over the repeats), registered by kernel name.
 */
import { util, type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { runConfig } from './kernel_util.js';

type Heap = Float32Array | Int32Array | Uint8Array;

interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Heap;
}

/**
 * Writes `x` (shape `shape`) tiled `reps` times into `out`, which has shape shape[i] * reps[i].
 */
function tileInto(x: Heap, shape: readonly number[], reps: readonly number[], out: Heap): void {
  const rank = shape.length;
  const inStride = new Array<number>(rank + 1).fill(1);
  const outStride = new Array<number>(rank + 1).fill(1);
  // The first axis from which no axis is repeated: everything from there on is one contiguous block.
  let plain = rank;
  while (plain > 0 && reps[plain - 1] === 1) plain--;
  for (let d = rank - 1; d >= 0; d--) {
    inStride[d] = inStride[d + 1]! * shape[d]!;
    outStride[d] = outStride[d + 1]! * shape[d]! * reps[d]!;
  }
  const fill = (d: number, src: number, dst: number): void => {
    if (d === plain) {
      const n = inStride[d]!;
      out.set(x.subarray(src, src + n), dst);
      return;
    }
    // One copy of axis d's block, then its repeats.
    const step = outStride[d + 1]!;
    for (let i = 0; i < shape[d]!; i++) fill(d + 1, src + i * inStride[d + 1]!, dst + i * step);
    const block = shape[d]! * step;
    for (let r = 1; r < reps[d]!; r++) out.copyWithin(dst + r * block, dst, dst + block);
  };
  if (out.length > 0) fill(0, 0, 0);
}

/** The wasm `Tile` kernel (string tensors go to the stock one); registered by registerDlvmKernels. */
export function makeWasmTile(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x } = inputs as { x: TensorInfo };
    const reps = (attrs as { reps: number[] }).reps;
    if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) return runConfig(stock, backend, inputs, attrs);
    const wasm = backend as WasmHeapBackend;
    const shape = x.shape.map((s, i) => s * reps[i]!);
    const out = wasm.makeOutput(shape, x.dtype);
    if (util.sizeFromShape(shape) === 0) return out;
    // Views are taken after makeOutput, which may grow (and move) the heap.
    tileInto(wasm.typedArrayFromHeap(x), x.shape, reps, wasm.typedArrayFromHeap(out));
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as KernelFunc };
}
