/**
 * `UnsortedSegmentSum` for the wasm backend, which lacks it in tfjs 4.22; without it `tf.gather`
 * (embedding lookups, label indexing) has no gradient on wasm.
 *
 * out[s, ...] = sum over positions i of segmentIds with segmentIds[i] = s of x[i, ...];
 * ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
import { UnsortedSegmentSum, type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';

interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function unsortedSegmentSum({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as { numSegments: number };
  const wasm = backend as WasmHeapBackend;
  const idsRank = segmentIds.shape.length;
  for (let i = 0; i < idsRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}].`);
    }
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum: x must be float32 or int32, got ${x.dtype}.`);
  }
  const inner = util.sizeFromShape(x.shape.slice(idsRank));
  const outShape = [numSegments, ...x.shape.slice(idsRank)];
  const out = wasm.makeOutput(outShape, x.dtype);
  // Views are taken after makeOutput, which may grow (and move) the heap.
  const xs = wasm.typedArrayFromHeap(x);
  const ids = wasm.typedArrayFromHeap(segmentIds);
  const o = wasm.typedArrayFromHeap(out);
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j]! += xs[src + j]!;
  }
  return out;
}

/** The wasm `UnsortedSegmentSum` kernel config (registered by registerDlvmKernels). */
export const wasmUnsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as KernelFunc,
};
