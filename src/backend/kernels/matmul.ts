/**
 * Fast matrix products for the wasm backend.
 *
 * tfjs-backend-wasm 4.22 hands `BatchMatMul` and `_FusedMatMul` to XNNPACK only when neither
 * operand is transposed and the batch is 1; every other case runs a scalar loop that is 10-30x
 * slower (512^3: 1.3 GFLOP/s with transposeA, 3.4 with transposeB, 39 without). The backward pass
 * of every dense layer uses the transposed forms, so this dominates training an MLP. And XNNPACK
 * packs the right operand into its own layout on every call (tfjs creates an operator per new
 * `b`; a layer's weights are new at every step): at the products of a VAE step (97 x 784 x 300)
 * it reached 25-35 GFLOP/s on one thread, transposes included, where 512^3 gives 39.
 *
 * dlvm's products run its own wasm SIMD kernel (simd/kernels.c, `matmul`), which reads both
 * operands where they lie on the heap: a transposed left operand through its strides, a
 * transposed right operand after one explicit transpose (O(k n) against the O(m k n) product),
 * the bias added in the kernel, every batch entry written straight into the output. On one
 * thread it ran these products at 45-50 GFLOP/s, and split with dlvm's helper threads on the
 * threaded build (simd_helper.ts) at 73-96 on two (docs/performance.md). Where the SIMD kernels
 * cannot run, the products transpose explicitly and call the stock kernel's fast path, split per
 * batch entry.
 *
 * The stock fused kernel also applies relu and relu6 as XNNPACK's output clamp, which turns NaN
 * into 0, and computes prelu as max(0, x) + alpha min(0, x) (NaN wherever alpha is NaN): dlvm's
 * runs the product with activation 'linear' and applies the activation with the wasm activation
 * kernel, as the cpu backend does (kernel_util.ts, `withCpuNaNActivation`).
 */
import {
  broadcast_util,
  Elu,
  LeakyRelu,
  Prelu,
  Relu,
  Relu6,
  Sigmoid,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { disposeInfos, runConfig, runKernel, swapLastTwo, type AnyBackend, type WasmHeapBackend } from './kernel_util.js';
import { withCpuNaNActivation } from './nan.js';
import { simdKernelsFor, type SimdKernels } from './simd.js';

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

/** The batch entries of a product: sizes of both sides and of the output, pairing checked. */
interface Batches {
  batchA: number;
  batchB: number;
  batch: number;
  outer: number[];
}

/**
 * The batch entries of `a` and `b` (all but their last two axes), or null where they do not pair
 * entry by entry (entry i with entry i, or with the one entry of a side with batch 1): then the
 * broadcast shape has more entries than either side ([1, 4] against [4, 1]).
 */
function batches(a: TensorInfo, b: TensorInfo): Batches | null {
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const pairwise = (batchA === batchB || batchA === 1 || batchB === 1) && util.sizeFromShape(outer) === batch;
  return pairwise ? { batchA, batchB, batch, outer } : null;
}

/**
 * The transpose of the last two axes of `x` (float32, rank 2 or more) with dlvm's SIMD kernel;
 * the caller owns the result.
 */
export function simdTranspose(backend: WasmHeapBackend, kernels: SimdKernels, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2]!;
  const cols = x.shape[rank - 1]!;
  const y = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
  const batch = util.sizeFromShape(x.shape.slice(0, -2));
  if (batch * rows * cols > 0) kernels.transpose(backend.typedArrayFromHeap(x).byteOffset, backend.typedArrayFromHeap(y).byteOffset, batch, rows, cols);
  return y;
}

/**
 * `op(a) @ op(b) (+ bias)` on dlvm's SIMD kernel, for float32 operands of rank 2 or more; null
 * where it does not apply (no SIMD kernels, batches that do not pair, an empty inner size, a large
 * product with several threads), and the caller runs the stock path. `bias`, when given, has the
 * output's last size n and is added to every row.
 */
function simdMatMul(
  backend: WasmHeapBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: TensorInfo | null,
): TensorInfo | null {
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape[a.shape.length - 2]!;
  const ca = a.shape[a.shape.length - 1]!;
  const rb = b.shape[b.shape.length - 2]!;
  const cb = b.shape[b.shape.length - 1]!;
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [kb, n] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== kb || k === 0) return null; // the stock kernel reports the mismatch; an empty sum is its too
  const pairs = batches(a, b);
  if (pairs == null) return null;
  const kernels = simdKernelsFor(backend);
  if (kernels == null) return null;
  const out = backend.makeOutput([...pairs.outer, m, n], 'float32');
  if (m * n === 0) return out;
  const b2 = transposeB ? simdTranspose(backend, kernels, b) : b;
  // Offsets are taken after the last allocation: an allocation may grow (and move) the heap.
  const at = (info: TensorInfo): number => backend.typedArrayFromHeap(info).byteOffset;
  const [pa, pb, pc, pbias] = [at(a), at(b2), at(out), bias ? at(bias) : 0];
  // a's element (i, p): a[i sai + p sak]; stored transposed, a is k x m.
  const [sai, sak] = transposeA ? [1, m] : [k, 1];
  for (let i = 0; i < pairs.batch; i++) {
    const ia = pairs.batchA === 1 ? 0 : i;
    const ib = pairs.batchB === 1 ? 0 : i;
    kernels.matmul(pa + 4 * ia * m * k, pb + 4 * ib * k * n, pbias, pc + 4 * i * m * n, m, k, n, sai, sak);
  }
  if (b2 !== b) disposeInfos(backend, b2);
  return out;
}

/**
 * Batched product `a @ b` (no transposes) as a loop of batch-1 XNNPACK products.
 * Returns null when the shapes are outside what this path handles.
 */
function splitBatchMatMul(stock: KernelConfig, backend: WasmHeapBackend, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  if (a.shape.length < 3 && b.shape.length < 3) return null;
  const pairs = batches(a, b);
  const m = a.shape[a.shape.length - 2]!;
  const k = a.shape[a.shape.length - 1]!;
  const n = b.shape[b.shape.length - 1]!;
  if (pairs == null || pairs.batch === 1 || m * k * n < SPLIT_BATCH_MIN_MACS) return null;
  const { batchA, batchB, batch, outer } = pairs;
  const a3 = toRank3(backend, a);
  const b3 = toRank3(backend, b);
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

/** `BatchMatMul` for wasm: dlvm's SIMD product, else explicit transposes and XNNPACK (split per batch entry if needed). */
export function makeWasmBatchMatMul(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      return runConfig(stock, backend, inputs, attrs);
    }
    const simd = simdMatMul(backend as WasmHeapBackend, a, b, transposeA, transposeB, null);
    if (simd) return simd;
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

/** The wasm kernels that apply each fused activation after dlvm's SIMD product. */
const ACTIVATIONS: Record<string, string> = { relu: Relu, relu6: Relu6, prelu: Prelu, leakyrelu: LeakyRelu, sigmoid: Sigmoid, elu: Elu };

/**
 * `_FusedMatMul` composed: the product (dlvm's SIMD product with the bias added in the kernel when
 * the bias has the output's last size; else the `BatchMatMul` kernel), any other broadcast bias
 * as one `Add`, then the activation's wasm kernel (dlvm's NaN-keeping ones for relu, relu6 and
 * prelu). Null where `simd` is asked for and the SIMD product does not apply, or the activation
 * is not one tfjs fuses.
 */
function composedFusedMatMul(backend: WasmHeapBackend, inputs: Parameters<KernelFunc>[0]['inputs'], attrs: NamedAttrMap, simd: boolean): TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const {
    transposeA,
    transposeB,
    activation = 'linear',
    leakyreluAlpha,
  } = attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const kernel = ACTIVATIONS[activation];
  if ((activation !== 'linear' && kernel == null) || (bias != null && bias.dtype !== 'float32')) return null;
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  // In the kernel: a bias [n] (or [1, ..., 1, n] of no higher rank than the output), one value per column.
  const rank = Math.max(a.shape.length, b.shape.length);
  const inKernel = simd && bias != null && bias.shape.length <= rank && bias.shape[bias.shape.length - 1] === n && util.sizeFromShape(bias.shape) === n;
  const product = simd
    ? simdMatMul(backend, a, b, transposeA, transposeB, inKernel ? bias : null)
    : runKernel('BatchMatMul', backend, 'wasm', { a, b }, { transposeA, transposeB });
  if (product == null) return null;
  let out = product;
  if (bias != null && !inKernel) {
    out = runKernel('Add', backend, 'wasm', { a: product, b: bias });
    disposeInfos(backend, product);
  }
  if (kernel != null) {
    const activated =
      activation === 'prelu'
        ? runKernel(kernel, backend, 'wasm', { x: out, alpha: preluActivationWeights! })
        : runKernel(kernel, backend, 'wasm', { x: out }, activation === 'leakyrelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {});
    disposeInfos(backend, out);
    out = activated;
  }
  return out;
}

/**
 * `_FusedMatMul` (matmul + bias + activation, used by tfjs-layers `Dense`) for wasm: dlvm's SIMD
 * product where it applies; else explicit transposes, then the stock fused kernel's fast path,
 * with relu, relu6 and prelu keeping NaN as the cpu backend's do (see the note at the top). A
 * bias of rank above 1, which the stock kernel refuses, is added after the product, as on cpu.
 */
export function makeWasmFusedMatMul(stock: KernelConfig): KernelConfig {
  const viaStock = withCpuNaNActivation(({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return runConfig(stock, backend, inputs, attrs);
    }
    const a2 = untranspose(backend, a, transposeA);
    const b2 = untranspose(backend, b, transposeB);
    const out = runConfig(stock, backend, { ...inputs, a: a2, b: b2 }, { ...attrs, transposeA: false, transposeB: false });
    if (a2 !== a) disposeInfos(backend, a2);
    if (b2 !== b) disposeInfos(backend, b2);
    return out;
  });
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype === 'float32' && b.dtype === 'float32') {
      const backend = args.backend as WasmHeapBackend;
      // The stock kernel refuses a bias of rank above 1, and gets batched products with a bias
      // wrong (tfjs-backend-wasm 4.22: most of a [3, 21, 10] product): those are composed too.
      const bias = args.inputs['bias'];
      const batched = Math.max(a.shape.length, b.shape.length) > 2 && util.sizeFromShape([...a.shape.slice(0, -2), ...b.shape.slice(0, -2)]) > 1;
      const out =
        composedFusedMatMul(backend, args.inputs, args.attrs ?? {}, true) ??
        ((bias != null && bias.shape.length !== 1) || batched ? composedFusedMatMul(backend, args.inputs, args.attrs ?? {}, false) : null);
      if (out) return out;
    }
    return viaStock(args);
  };
  return { ...stock, kernelFunc: kernelFunc as KernelFunc };
}
