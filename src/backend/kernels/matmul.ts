/**
 * Fast matrix products for the wasm backend.
 *
 * tfjs-backend-wasm 4.22 hands `BatchMatMul` and `_FusedMatMul` to XNNPACK only when neither
 * operand is transposed and the batch is 1; every other case runs a scalar loop that is 10-30x
 * slower (512^3: 1.3 GFLOP/s with transposeA, 3.4 with transposeB, 39 without). The backward pass
 * of every dense layer uses the transposed forms, so this dominates training an MLP.
 *
 * The replacements below transpose the operand explicitly (O(n^2) memory traffic) and call the
 * stock kernel's fast path (O(n^3) work); batched products of non-tiny matrices are split into
 * batch-1 products written straight into the output buffer.
 *
 * The stock fused kernel also applies relu and relu6 as XNNPACK's output clamp, which turns NaN
 * into 0, and computes prelu as max(0, x) + alpha min(0, x) (NaN wherever alpha is NaN): dlvm's
 * runs those products with activation 'linear' and applies the activation itself, as the cpu
 * backend does (kernel_util.ts, `withCpuNaNActivation`).
 */
import { broadcast_util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { disposeInfos, runConfig, runKernel, swapLastTwo, type AnyBackend, type WasmHeapBackend } from './kernel_util.js';
import { withCpuNaNActivation } from './nan.js';

/**
 * Batched products with at least this many multiply-adds per batch entry (m * k * n) are split
 * into batch-1 products; below it, per-call overhead outweighs the faster inner loop.
 */
export const SPLIT_BATCH_MIN_MACS = 1 << 16;

/** Transposes the last two axes of `x` when `flag` is set; returns x itself otherwise. */
function untranspose(backend: AnyBackend, x: TensorInfo, flag: boolean): TensorInfo {
  if (!flag) return x;
  return runKernel('Transpose', backend, 'wasm', { x }, { perm: swapLastTwo(x.shape.length) });
}

/** Reshapes to rank 3 `[batch, rows, cols]` (a view on wasm: no copy). */
function toRank3(backend: AnyBackend, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const shape = [util.sizeFromShape(x.shape.slice(0, -2)), x.shape[rank - 2]!, x.shape[rank - 1]!];
  return runKernel('Reshape', backend, 'wasm', { x }, { shape });
}

/**
 * Batched product `a @ b` (no transposes) as a loop of batch-1 XNNPACK products.
 * Returns null when the shapes are outside what this path handles.
 */
function splitBatchMatMul(stock: KernelConfig, backend: WasmHeapBackend, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  if (a.shape.length < 3 && b.shape.length < 3) return null;
  const a3 = toRank3(backend, a);
  const b3 = toRank3(backend, b);
  const [batchA, m, k] = a3.shape as [number, number, number];
  const [batchB, , n] = b3.shape as [number, number, number];
  const batch = Math.max(batchA, batchB);
  // Output batch dims follow tfjs broadcasting of the outer dims. The loop below pairs entry i of
  // a with entry i of b (or entry 0 of a side with batch 1), which is right only when the
  // broadcast shape has exactly `batch` entries ([1, 4] against [4, 1] does not).
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const pairwise = (batchA === batchB || batchA === 1 || batchB === 1) && util.sizeFromShape(outer) === batch;
  if (batch === 1 || !pairwise || m * k * n < SPLIT_BATCH_MIN_MACS) {
    disposeInfos(backend, a3, b3);
    return null;
  }
  const out = backend.makeOutput([...outer, m, n], 'float32');
  const noTranspose: NamedAttrMap = { transposeA: false, transposeB: false };
  for (let i = 0; i < batch; i++) {
    const ia = batchA === 1 ? 0 : i;
    const ib = batchB === 1 ? 0 : i;
    const ai = runKernel('Slice', backend, 'wasm', { x: a3 }, { begin: [ia, 0, 0], size: [1, m, k] });
    const bi = runKernel('Slice', backend, 'wasm', { x: b3 }, { begin: [ib, 0, 0], size: [1, k, n] });
    const ci = runConfig(stock, backend, { a: ai, b: bi }, noTranspose);
    // Views are taken after the product: the heap may have grown (and moved) during it.
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ci), i * m * n);
    disposeInfos(backend, ai, bi, ci);
  }
  disposeInfos(backend, a3, b3);
  return out;
}

/** `BatchMatMul` for wasm: explicit transposes, then XNNPACK (split per batch entry if needed). */
export function makeWasmBatchMatMul(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      return runConfig(stock, backend, inputs, attrs);
    }
    const a2 = untranspose(backend, a, transposeA);
    const b2 = untranspose(backend, b, transposeB);
    const split = splitBatchMatMul(stock, backend as WasmHeapBackend, a2, b2);
    const out = split ?? runConfig(stock, backend, { a: a2, b: b2 }, { transposeA: false, transposeB: false });
    if (a2 !== a) disposeInfos(backend, a2);
    if (b2 !== b) disposeInfos(backend, b2);
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as KernelFunc };
}

/**
 * `_FusedMatMul` (matmul + bias + activation, used by tfjs-layers `Dense`) for wasm: explicit
 * transposes, then the stock fused kernel's fast path; relu, relu6 and prelu keep NaN as the cpu
 * backend's do (see the note at the top).
 */
export function makeWasmFusedMatMul(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return runConfig(stock, backend, inputs, attrs);
    }
    const a2 = untranspose(backend, a, transposeA);
    const b2 = untranspose(backend, b, transposeB);
    const out = runConfig(
      stock,
      backend,
      { ...inputs, a: a2, b: b2 },
      {
        ...attrs,
        transposeA: false,
        transposeB: false,
      },
    );
    if (a2 !== a) disposeInfos(backend, a2);
    if (b2 !== b) disposeInfos(backend, b2);
    return out;
  };
  return { ...stock, kernelFunc: withCpuNaNActivation(kernelFunc as KernelFunc) };
}
