/**
 * Installs dlvm's replacement kernels into the tfjs kernel registry (global, shared by every
 * backend instance), and can put the stock ones back (benchmarks compare the two).
 *
 * | kernel | backend | why |
 * |---|---|---|
 * | BatchMatMul, _FusedMatMul | wasm | transposed / batched forms ran a scalar loop |
 * | Conv2DBackpropInput, Conv2DBackpropFilter | wasm, cpu | missing (wasm) or very slow; done as forward convolutions |
 * | UnsortedSegmentSum | wasm | missing, so `gather` had no gradient |
 * | Conv2D, FusedConv2D | wasm | 'same' padding with stride > filter size gave zeros |
 * | _FusedMatMul, FusedConv2D, FusedDepthwiseConv2D (relu, relu6, prelu), Relu, Relu6, ClipByValue, Maximum, Minimum, Prelu | wasm | NaN lost: relu / relu6 / clip of NaN gave 0 or the bound (XNNPACK's output clamp; Relu: NaN with the sign bit set, as inf - inf makes), max(x, NaN) gave x; prelu gave NaN for x >= 0 where alpha was NaN or infinite |
 * | Log1p | wasm | computed log(1 + x), losing small x (log1p(1e-7) was 19% off) |
 * | DlvmAdamUpdate (new) | wasm, cpu | Adam's update of one variable in one launch instead of about twelve (`adam`, fit's default) |
 * | DlvmBernoulliLogProb, DlvmBernoulliLogProbGradLogits (new) | wasm, cpu | the Bernoulli log-density with its limits at infinite logits in one launch instead of about fourteen, its gradient in one instead of about ten (`Bernoulli.logProb`) |
 * | DlvmBernoulliLogProbSum (new) | wasm, cpu | the same summed over an Independent Bernoulli's event in the same pass, the elementwise values never written (`Independent(Bernoulli).logProb`) |
 * | Sum | wasm | axes other than the innermost were transposed inward first (2 ns an element), each run summed one element at a time: now dlvm's SIMD `reduce_sum` over any adjacent axes, on every thread; the sum of an empty tensor returned stale heap contents, now 0 |
 * | Relu | wasm | with the NaN fix above, two passes: now one SIMD pass that keeps NaN |
 * | DlvmReluGrad (new) | wasm, cpu | relu's gradient dy step(x) in one launch instead of Step, Cast and Multiply, the same bits (the registered `Relu` gradient uses it where the backend has it) |
 * | Identity, Cast (to the same dtype) | wasm | copied the data (70-odd launches a training step): now shares it, as the cpu backend does |
 * | Tile (and through it broadcastTo) | wasm | one index computation per element: a third of an IWAE chunk; now block copies |
 * | Transpose (and through it Sum, Max, Min, Prod, Mean, All, Any over non-innermost axes) | webgpu | int32/bool: invalid WGSL, output left as zeros or stale data |
 * | ArgMax, ArgMin | webgpu | rows of 32 or more: ties went to a later index than the cpu's first; a leading NaN was skipped |
 * | UnsortedSegmentSum | webgpu | int32: summed the bit patterns of the values read as f32 |
 * | Cumsum, Cumprod | webgpu | reverse: reused the shader compiled for another row length |
 * | AddN | webgpu | more inputs than a shader may bind storage buffers (8 or more on the default limits) summed only some of them: grouped into sums of at most that many |
 * | Cast | webgpu | int32/bool to float32 relabelled the i32 buffer: transposes of the result, so reductions over non-innermost axes, gave zeros, stale data, 1.4e-42 or NaN |
 * | Exp, Log, Log1p, Expm1, Softplus, Sigmoid, Tanh, Sinh, Cosh, Erf, Elu, Selu | webgpu | WGSL built-ins and cancelling formulas: log(1 - 2^-24) 73% off, log1p(3e-8) 240%, expm1 and tanh of tiny x wrong in every digit, softplus(-13) 4%, sinh(89) infinite |
 * | Relu, Relu6, Prelu, _FusedMatMul, FusedConv2D, FusedDepthwiseConv2D (relu, relu6, leakyrelu, prelu) | webgpu | relu / relu6 of NaN gave 0 (the driver may compile the select as max); vec4 leakyrelu / prelu multiplied by 0 (NaN for infinite x) |
 * | BatchMatMul, _FusedMatMul | webgpu | reads of b past its rows (transposeB) or past its end (inner size not a multiple of the tile) were multiplied by the zero padding of a: one infinite or NaN element of b made whole columns, or the whole product, NaN; with transposeB, batch 1, inner size >= 2000 and few output tiles (the split-K program) the product was wrong (abs. error 3 on sums of 2000 unit terms) |
 *
 * The webgpu entries are installed only once tfjs-backend-webgpu is loaded (an optional peer
 * dependency that nothing here imports): {@link registerDlvmWebGpuKernels}. Cast and the math
 * kernels are new kernels (webgpu.ts, webgpu_math.ts); the other webgpu rows are fixes to the
 * programs the stock kernels run (webgpu.ts).
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  engine,
  BatchMatMul,
  Cast,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  _FusedMatMul,
  FusedConv2D,
  FusedDepthwiseConv2D,
  getKernel,
  registerGradient,
  registerKernel,
  unregisterKernel,
  Identity,
  Log1p,
  Relu,
  Sum,
  Tile,
  Transpose,
  UnsortedSegmentSum,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { adamUpdateConfigs } from './adam.js';
import { bernoulliLogProbConfigs, bernoulliLogProbGrad, bernoulliLogProbSumGrad } from './bernoulli.js';
import { makeConvBackpropKernels } from './conv2d_backprop.js';
import { withSimdConv2D } from './conv_gemm.js';
import { makeWasmSamePaddingConv } from './conv2d_same.js';
import { makeWasmNaNKernels, withCpuNaNActivation } from './nan.js';
import { makeWasmBatchMatMul, makeWasmFusedMatMul } from './matmul.js';
import { wasmLog1pConfig } from './log1p.js';
import { makeWasmCast, makeWasmIdentity } from './identity.js';
import { reluGradConfigs, reluGradGradient, reluGradient } from './relu_grad.js';
import { makeWasmSum, withSimdRelu } from './simd_ops.js';
import { makeWasmTile } from './tile.js';
import { wasmUnsortedSegmentSumConfig } from './unsorted_segment_sum.js';
import { installWebGpuProgramFixes, makeWebGpuKernels, removeWebGpuProgramFixes } from './webgpu.js';

/** A kernel dlvm replaces or adds: which, on which backend, and the stock config it displaced. */
interface Installed {
  kernelName: string;
  backendName: string;
  stock: KernelConfig | undefined;
}

let installed: Installed[] = [];

function replace(config: KernelConfig, stock: KernelConfig | undefined): void {
  if (getKernel(config.kernelName, config.backendName) != null) {
    unregisterKernel(config.kernelName, config.backendName);
  }
  registerKernel(config);
  installed.push({ kernelName: config.kernelName, backendName: config.backendName, stock });
}

/**
 * Registers dlvm's kernels for the wasm and cpu backends (done once when `dlvm` is imported), and
 * for webgpu when tfjs-backend-webgpu is loaded ({@link registerDlvmWebGpuKernels}).
 * Safe to call again: it does nothing while they are installed.
 *
 * @returns the `kernel@backend` names now provided by dlvm.
 */
export function registerDlvmKernels(): string[] {
  if (!installed.some((k) => k.backendName !== 'webgpu')) registerWasmAndCpuKernels();
  registerDlvmWebGpuKernels();
  return dlvmKernelNames();
}

/** A wasm fused kernel whose relu, relu6 and prelu keep NaN as the cpu backend's do. */
function keepNaN(config: KernelConfig): KernelConfig {
  return { ...config, kernelFunc: withCpuNaNActivation(config.kernelFunc) };
}

function registerWasmAndCpuKernels(): void {
  const stockBmm = getKernel(BatchMatMul, 'wasm');
  const stockFused = getKernel(_FusedMatMul, 'wasm');
  if (stockBmm) replace(makeWasmBatchMatMul(stockBmm), stockBmm);
  if (stockFused) replace(makeWasmFusedMatMul(stockFused), stockFused);
  const stockConv = getKernel(Conv2D, 'wasm');
  const stockFusedConv = getKernel(FusedConv2D, 'wasm');
  if (stockConv) replace(withSimdConv2D(makeWasmSamePaddingConv(stockConv)), stockConv);
  if (stockFusedConv) replace(keepNaN(makeWasmSamePaddingConv(stockFusedConv)), stockFusedConv);
  const stockFusedDepthwise = getKernel(FusedDepthwiseConv2D, 'wasm');
  if (stockFusedDepthwise) replace(keepNaN(stockFusedDepthwise), stockFusedDepthwise);
  for (const config of makeWasmNaNKernels((name) => getKernel(name, 'wasm'))) {
    replace(config.kernelName === Relu ? withSimdRelu(config) : config, getKernel(config.kernelName, 'wasm'));
  }
  const stockIdentity = getKernel(Identity, 'wasm');
  if (stockIdentity) replace(makeWasmIdentity(stockIdentity), stockIdentity);
  const stockCast = getKernel(Cast, 'wasm');
  if (stockCast) replace(makeWasmCast(stockCast), stockCast);
  const stockSum = getKernel(Sum, 'wasm');
  if (stockSum) replace(makeWasmSum(stockSum), stockSum);
  for (const backendName of ['wasm', 'cpu']) {
    const stockInput = getKernel(Conv2DBackpropInput, backendName);
    const stockFilter = getKernel(Conv2DBackpropFilter, backendName);
    const [input, filter] = makeConvBackpropKernels(backendName, stockInput, stockFilter);
    replace(input!, stockInput);
    replace(filter!, stockFilter);
  }
  const stockSegment = getKernel(UnsortedSegmentSum, 'wasm');
  replace(wasmUnsortedSegmentSumConfig, stockSegment);
  replace(wasmLog1pConfig, getKernel(Log1p, 'wasm'));
  const stockTile = getKernel(Tile, 'wasm');
  if (stockTile) replace(makeWasmTile(stockTile), stockTile);
  for (const config of adamUpdateConfigs) replace(config, getKernel(config.kernelName, config.backendName));
  for (const config of bernoulliLogProbConfigs) replace(config, getKernel(config.kernelName, config.backendName));
  for (const config of reluGradConfigs) replace(config, getKernel(config.kernelName, config.backendName));
  // Gradients are global and stay registered: without the forward kernel nothing reaches them.
  registerGradient(bernoulliLogProbGrad);
  registerGradient(bernoulliLogProbSumGrad);
  registerGradient(reluGradient);
  registerGradient(reluGradGradient);
}

/**
 * Registers dlvm's webgpu kernels and installs its fixes to the stock webgpu programs (see the
 * table above), if tfjs-backend-webgpu is loaded (its kernels are registered when the package is
 * imported); otherwise does nothing. Call it after importing the package, with its
 * `WebGPUBackend` class, or after `tf.setBackend('webgpu')`, when the running backend is found
 * by itself. Safe to call again; `registerDlvmKernels` calls it too.
 *
 * @param backend the `WebGPUBackend` class or a backend instance (default: the registered
 *   'webgpu' backend instance, if one has been created).
 * @returns the `kernel@webgpu` names now provided by dlvm (empty when the package is not loaded).
 * @example
 * ```ts
 * const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
 * registerDlvmWebGpuKernels(WebGPUBackend); // ['Transpose@webgpu', ..., 'Selu@webgpu']
 * ```
 */
export function registerDlvmWebGpuKernels(backend?: object): string[] {
  if (getKernel(Transpose, 'webgpu') == null) return [];
  const instance = backend ?? (engine().registry['webgpu'] as object | undefined);
  installWebGpuProgramFixes(instance);
  if (!installed.some((k) => k.backendName === 'webgpu')) {
    const configs = makeWebGpuKernels((name) => getKernel(name, 'webgpu'));
    for (const config of configs) replace(config, getKernel(config.kernelName, 'webgpu'));
  }
  return dlvmKernelNames().filter((k) => k.endsWith('@webgpu'));
}

/**
 * Puts back the stock tfjs kernels that dlvm replaced, and removes the ones it added (for
 * benchmarks and tests that compare against stock tfjs). `registerDlvmKernels()` undoes it.
 */
export function restoreStockKernels(): void {
  for (const { kernelName, backendName, stock } of installed.reverse()) {
    unregisterKernel(kernelName, backendName);
    if (stock) registerKernel(stock);
  }
  installed = [];
  removeWebGpuProgramFixes();
}

/** `kernel@backend` names of the kernels dlvm currently provides. */
export function dlvmKernelNames(): string[] {
  return installed.map((k) => `${k.kernelName}@${k.backendName}`);
}
