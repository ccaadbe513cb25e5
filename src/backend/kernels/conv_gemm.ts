/**
 * 2-D convolutions on wasm as matrix products on dlvm's SIMD kernels (NHWC, float32, dilation 1).
 *
 * XNNPACK's convolution reached 10-13 GFLOP/s on one thread in the conv VAE's layers, and the
 * gradients, written as forward convolutions (conv2d_backprop.ts), 2.5-6.4. As products, with the
 * patches gathered by `im2col` (simd/kernels.c) into a [N oh ow, fh fw Ci] matrix `col`:
 *
 *   y = col w                     (the filter [fh, fw, Ci, Co] read as an (fh fw Ci) x Co matrix)
 *   dw = col^T dy                 (col's transpose read through strides: no copy)
 *   dx = col2im(dy w^T)           (col2im sums each patch's row back onto the positions it covers)
 *
 * with dy read as [N oh ow, Co]. A 1 x 1 filter at stride 1 with no padding has col = x, and
 * skips the gather. Where the SIMD kernels do not apply (none loaded, dilation, another format or
 * dtype, an empty tensor) these return null and the caller runs its other path.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { disposeInfos, runKernel, type WasmHeapBackend } from './kernel_util.js';
import { simdTranspose } from './matmul.js';
import { simdKernelsFor } from './simd.js';

/** The geometry of a convolution, as tfjs computes it. */
type Info = backend_util.Conv2DInfo;

/** Whether the patch matrix is x itself (1 x 1 filter, stride 1, no padding). */
function direct(info: Info): boolean {
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0
  );
}

/** The 14 geometry arguments of im2col and col2im after the two pointers. */
function geometry(info: Info): [number, number, number, number, number, number, number, number, number, number, number, number] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** The SIMD kernels for this convolution's product, or null where it should run elsewhere. */
function kernelsFor(backend: WasmHeapBackend, info: Info, ...inputs: TensorInfo[]) {
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (inputs.some((t) => t.dtype !== 'float32')) return null;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  if (rows * taps * info.outChannels === 0) return null; // empty: the other paths handle it
  return simdKernelsFor(backend);
}

const offset = (backend: WasmHeapBackend, info: TensorInfo): number => backend.typedArrayFromHeap(info).byteOffset;

/** y = conv2d(x, filter) as im2col(x) w. */
export function simdConv2D(backend: WasmHeapBackend, x: TensorInfo, filter: TensorInfo, info: Info): TensorInfo | null {
  const k = kernelsFor(backend, info, x, filter);
  if (k == null) return null;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const col = direct(info) ? null : backend.makeOutput([rows, taps], 'float32');
  const y = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
  // Offsets after the last allocation (an allocation may move the heap).
  const px = offset(backend, x);
  const pcol = col ? offset(backend, col) : px;
  if (col) k.im2col(px, pcol, ...geometry(info));
  k.matmul(pcol, offset(backend, filter), 0, offset(backend, y), rows, taps, info.outChannels, taps, 1);
  if (col) disposeInfos(backend, col);
  return y;
}

/** dw = im2col(x)^T dy, shaped as the filter [fh, fw, Ci, Co]. */
export function simdConv2DBackpropFilter(backend: WasmHeapBackend, x: TensorInfo, dy: TensorInfo, info: Info): TensorInfo | null {
  const k = kernelsFor(backend, info, x, dy);
  if (k == null) return null;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const col = direct(info) ? null : backend.makeOutput([rows, taps], 'float32');
  const dw = backend.makeOutput([info.filterHeight, info.filterWidth, info.inChannels, info.outChannels], 'float32');
  const px = offset(backend, x);
  const pcol = col ? offset(backend, col) : px;
  if (col) k.im2col(px, pcol, ...geometry(info));
  // col^T: element (tap, row) of the left operand at col[row taps + tap].
  k.matmul(pcol, offset(backend, dy), 0, offset(backend, dw), taps, rows, info.outChannels, 1, taps);
  if (col) disposeInfos(backend, col);
  return dw;
}

/** dx = col2im(dy w^T), of the input's shape. */
export function simdConv2DBackpropInput(backend: WasmHeapBackend, dy: TensorInfo, filter: TensorInfo, info: Info): TensorInfo | null {
  const k = kernelsFor(backend, info, dy, filter);
  if (k == null) return null;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const w2 = runKernel('Reshape', backend, 'wasm', { x: filter }, { shape: [taps, info.outChannels] });
  const wT = simdTranspose(backend, k, w2); // [Co, taps]
  const dx = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], 'float32');
  const dcol = direct(info) ? dx : backend.makeOutput([rows, taps], 'float32');
  const pdcol = offset(backend, dcol);
  k.matmul(offset(backend, dy), offset(backend, wT), 0, pdcol, rows, info.outChannels, taps, info.outChannels, 1);
  if (dcol !== dx) {
    k.col2im(pdcol, offset(backend, dx), ...geometry(info));
    disposeInfos(backend, dcol);
  }
  disposeInfos(backend, w2, wT);
  return dx;
}

/** Attributes of `Conv2D`. */
type Conv2DAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Wraps the wasm `Conv2D` config: dlvm's SIMD product where it applies, else `config` as it was. */
export function withSimdConv2D(config: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DAttrs;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    return simdConv2D(args.backend as WasmHeapBackend, x, filter, info) ?? config.kernelFunc(args);
  };
  return { ...config, kernelFunc: kernelFunc as KernelFunc };
}
