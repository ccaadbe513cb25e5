/**
 * wasm kernels that treat NaN as the cpu backend does: stock tfjs-backend-wasm's fused relu /
 * relu6, Relu6, ClipByValue, Maximum / Minimum and Prelu drop or clamp NaN (see register.ts).
 * Each runs the stock kernel, then scans the input for NaN and patches the output only if it finds one.
 */
import {
  ClipByValue,
  Maximum,
  Minimum,
  Prelu,
  Relu,
  Relu6,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type AnyBackend, runKernel, runConfig, disposeInfos, type WasmHeapBackend } from './kernel_util.js';

/** The float32 heap view of a wasm tensor's data (see {@link WasmHeapBackend}). */
function heap(backend: AnyBackend, info: TensorInfo): Float32Array {
  return (backend as WasmHeapBackend).typedArrayFromHeap(info);
}

/*
 * NaN as the cpu backend treats it, on wasm.
 *
 * tfjs-backend-wasm 4.22 hands relu and relu6 to XNNPACK as an output clamp (fused into
 * _FusedMatMul, FusedConv2D and FusedDepthwiseConv2D, and the Relu6 and ClipByValue kernels),
 * and the clamp's min/max turn NaN into the bound: relu(NaN) = 0, clip(NaN, -1, 1) = -1. Its
 * Relu kernel zeroes NaN with the sign bit set (the NaN that inf - inf and 0 * inf produce).
 * Maximum and Minimum drop a NaN in their second operand (max(3, NaN) = 3), and Prelu computes
 * max(0, x) + alpha min(0, x), NaN where alpha is NaN or infinite even for x >= 0. The cpu
 * backend propagates NaN: relu(NaN) = NaN, max(3, NaN) = NaN, and prelu(x, alpha) = x for
 * x >= 0. dlvm keeps each stock kernel and corrects its result: a branch-free scan of the input
 * for NaN (0.03 to 0.06 ms for 128 x 512, against 0.006 ms for the stock Relu itself), and a
 * fix-up pass only when it finds one. A fused product with relu, relu6 or prelu runs with
 * activation 'linear', followed by the (NaN-keeping) activation kernel: about 0.1 ms more on a
 * 1.4 ms 128 x 784 x 512 product (2 threads). A training step of the benchmark's MLP VAE (relu
 * unfused under the gradient tape) costs 4 such Relu scans, about 0.2 ms of 55 ms.
 */

/**
 * Whether `x` holds a NaN (with `orInfinite`, a NaN or an infinity), branch-free on the bits:
 * about 0.5 ns an element, half the time of a `v !== v` loop. The fix-up passes below run only
 * when it is true.
 */
function hasNonFinite(x: Float32Array, { orInfinite = false } = {}): boolean {
  const u = new Int32Array(x.buffer, x.byteOffset, x.length);
  // (bits & 0x7fffffff) - limit is >= 0 exactly for NaN (limit 0x7f800001) or for NaN and +-inf
  // (limit 0x7f800000): its clear sign bit clears the accumulator's.
  const limit = orInfinite ? 0x7f800000 : 0x7f800001;
  let a0 = -1;
  let a1 = -1;
  let a2 = -1;
  let a3 = -1;
  const n4 = u.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    a0 &= (u[i]! & 0x7fffffff) - limit;
    a1 &= (u[i + 1]! & 0x7fffffff) - limit;
    a2 &= (u[i + 2]! & 0x7fffffff) - limit;
    a3 &= (u[i + 3]! & 0x7fffffff) - limit;
  }
  for (let i = n4; i < u.length; i++) a0 &= (u[i]! & 0x7fffffff) - limit;
  return (a0 & a1 & a2 & a3) >= 0;
}

/** Writes NaN into `out` wherever `x` (same length) is NaN. */
function copyNaN(x: Float32Array, out: Float32Array): void {
  if (!hasNonFinite(x)) return;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v !== v) out[i] = v;
  }
}

/**
 * Writes NaN into `out` (shape `outShape`) wherever the element of `x` (shape `xShape`,
 * broadcast to `outShape`) it was computed from is NaN.
 */
function copyNaNBroadcast(x: Float32Array, xShape: number[], out: Float32Array, outShape: number[]): void {
  if (x.length === out.length) return copyNaN(x, out);
  if (x.length === 1) {
    if (Number.isNaN(x[0]!)) out.fill(NaN);
    return;
  }
  if (!hasNonFinite(x)) return;
  // Rare (a NaN in a broadcast operand): map each output index to its input index.
  const rank = outShape.length;
  const padded = [...new Array<number>(rank - xShape.length).fill(1), ...xShape];
  const outStrides = util.computeStrides(outShape);
  const xStrides = util.computeStrides(padded);
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    let xi = 0;
    for (let d = 0; d < rank; d++) {
      const stride = d < rank - 1 ? outStrides[d]! : 1;
      const c = Math.floor(rest / stride);
      rest -= c * stride;
      if (padded[d] !== 1) xi += c * (d < rank - 1 ? xStrides[d]! : 1);
    }
    if (Number.isNaN(x[xi]!)) out[i] = NaN;
  }
}

/**
 * The activations whose wasm fused form dlvm replaces ({@link withCpuNaNActivation}), and the
 * kernel that applies each (dlvm's, when installed).
 */
const ACTIVATION_KERNELS: Record<string, string> = { relu: Relu, relu6: Relu6, prelu: Prelu };

/**
 * Wraps a wasm fused kernel (`_FusedMatMul`, `FusedConv2D`, `FusedDepthwiseConv2D`) so that its
 * relu, relu6 and prelu activations treat NaN as the cpu backend does: the kernel runs with
 * activation 'linear' (the bias stays fused), then the wasm Relu, Relu6 or Prelu kernel (dlvm's
 * NaN-keeping one, when installed) applies the activation. Other activations run as they were.
 *
 * @param kernelFunc the kernel to wrap (stock, or a dlvm wrapper of it).
 */
export function withCpuNaNActivation(kernelFunc: KernelFunc): KernelFunc {
  return (args) => {
    const activation = (args.attrs as { activation?: string } | undefined)?.activation;
    const kernel = activation == null ? undefined : ACTIVATION_KERNELS[activation];
    if (kernel == null) return kernelFunc(args);
    const { preluActivationWeights, ...inputs } = args.inputs;
    const linear = single(kernelFunc({ ...args, inputs, attrs: { ...args.attrs, activation: 'linear' } }));
    const alpha = activation === 'prelu' ? { alpha: preluActivationWeights! } : {};
    const out = runKernel(kernel, args.backend, 'wasm', { x: linear, ...alpha });
    disposeInfos(args.backend, linear);
    return out;
  };
}

function single(out: TensorInfo | TensorInfo[]): TensorInfo {
  return Array.isArray(out) ? (out[0] as TensorInfo) : out;
}

/** A stock wasm kernel whose float32 result dlvm corrects in place (`fix(inputs, out)`). */
function corrected(stock: KernelConfig, fix: (backend: AnyBackend, inputs: NamedTensorInfoMap, out: TensorInfo) => void): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const out = runConfig(stock, args.backend, args.inputs, args.attrs);
    if (out.dtype === 'float32' && Object.values(args.inputs).every((t) => t?.dtype === 'float32')) {
      fix(args.backend, args.inputs, out);
    }
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as KernelFunc };
}

/**
 * dlvm's NaN-correcting wasm kernels: Relu, Relu6, ClipByValue, Maximum, Minimum and Prelu, each the
 * stock kernel with its result corrected to the cpu backend's: NaN in, NaN out (for Maximum and
 * Minimum, a NaN in either operand), and prelu(x, alpha) = x for x >= 0 whatever alpha is.
 * Non-float32 inputs are left to the stock kernels.
 *
 * @param stock the stock wasm config of a kernel name (undefined: that kernel is skipped).
 */
export function makeWasmNaNKernels(stock: (kernelName: string) => KernelConfig | undefined): KernelConfig[] {
  const sameAsInput = (backend: AnyBackend, inputs: NamedTensorInfoMap, out: TensorInfo): void => copyNaN(heap(backend, inputs['x']!), heap(backend, out));
  const eitherOperand = (backend: AnyBackend, inputs: NamedTensorInfoMap, out: TensorInfo): void => {
    const o = heap(backend, out);
    for (const t of [inputs['a']!, inputs['b']!]) copyNaNBroadcast(heap(backend, t), t.shape, o, out.shape);
  };
  const preluKeepsX = (backend: AnyBackend, inputs: NamedTensorInfoMap, out: TensorInfo): void => {
    // With a finite alpha, max(0, x) + alpha min(0, x) is already x for x >= 0.
    if (!hasNonFinite(heap(backend, inputs['alpha']!), { orInfinite: true })) return;
    const x = heap(backend, inputs['x']!);
    const o = heap(backend, out);
    if (x.length !== o.length) return;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (!(v < 0)) o[i] = v;
    }
  };
  const fixes: [string, typeof sameAsInput][] = [
    [Relu, sameAsInput],
    [Relu6, sameAsInput],
    [ClipByValue, sameAsInput],
    [Maximum, eitherOperand],
    [Minimum, eitherOperand],
    [Prelu, preluKeepsX],
  ];
  const configs: KernelConfig[] = [];
  for (const [kernelName, fix] of fixes) {
    const original = stock(kernelName);
    if (original != null) configs.push(corrected(original, fix));
  }
  return configs;
}
