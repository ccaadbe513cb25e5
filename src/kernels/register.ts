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
 * | Log1p | wasm | computed log(1 + x), losing small x (log1p(1e-7) was 19% off) |
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  _FusedMatMul,
  FusedConv2D,
  getKernel,
  registerKernel,
  unregisterKernel,
  Log1p,
  UnsortedSegmentSum,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { makeConvBackpropKernels } from './conv2d_backprop.js';
import { makeWasmSamePaddingConv } from './conv2d_same.js';
import { makeWasmBatchMatMul, makeWasmFusedMatMul } from './matmul.js';
import { wasmLog1pConfig } from './log1p.js';
import { wasmUnsortedSegmentSumConfig } from './unsorted_segment_sum.js';

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
 * Registers dlvm's kernels for the wasm and cpu backends (done once when `dlvm` is imported).
 * Safe to call again: it does nothing while they are installed.
 *
 * @returns the `kernel@backend` names now provided by dlvm.
 */
export function registerDlvmKernels(): string[] {
  if (installed.length > 0) return dlvmKernelNames();
  const stockBmm = getKernel(BatchMatMul, 'wasm');
  const stockFused = getKernel(_FusedMatMul, 'wasm');
  if (stockBmm) replace(makeWasmBatchMatMul(stockBmm), stockBmm);
  if (stockFused) replace(makeWasmFusedMatMul(stockFused), stockFused);
  const stockConv = getKernel(Conv2D, 'wasm');
  const stockFusedConv = getKernel(FusedConv2D, 'wasm');
  if (stockConv) replace(makeWasmSamePaddingConv(stockConv), stockConv);
  if (stockFusedConv) replace(makeWasmSamePaddingConv(stockFusedConv), stockFusedConv);
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
  return dlvmKernelNames();
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
}

/** `kernel@backend` names of the kernels dlvm currently provides. */
export function dlvmKernelNames(): string[] {
  return installed.map((k) => `${k.kernelName}@${k.backendName}`);
}
