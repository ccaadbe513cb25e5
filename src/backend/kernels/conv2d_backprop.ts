/**
 * Gradients of 2-D convolution written as ordinary forward convolutions (on wasm with dlvm's SIMD
 * kernels, as matrix products instead: conv_gemm.ts).
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` (a conv VAE cannot train on wasm) and a
 * naive-loop `Conv2DBackpropInput` (also the forward pass of `conv2dTranspose`); on the cpu backend
 * `Conv2DBackpropFilter` takes ~95% of a conv VAE step. Both gradients are convolutions, so they
 * can run on the backend's forward `Conv2D` (XNNPACK on wasm).
 *
 * Notation (NHWC, dilation 1, which is all tfjs differentiates): x [N, H, W, Ci], filter w
 * [fh, fw, Ci, Co], stride s, top/left padding pt/pl, dy [N, oh, ow, Co]; the forward pass is
 *   y[n, i, j, o] = sum_{p, q, c} x[n, i*s + p - pt, j*s + q - pl, c] * w[p, q, c, o].
 *
 * Input gradient: dx[n, a, b, c] = sum over (i, p) with a = i*s + p - pt (and likewise for the
 *   columns) and o of dy[n, i, j, o] w[p, q, c, o].
 *   Spread dy onto a stride-1 grid D (D[n, i*s, j*s] = dy[n, i, j], zeros between), then
 *   dx = conv(D, flip(w)), stride 1, where flip reverses both spatial axes and swaps Ci and Co,
 *   and D is padded by fh - 1 - pt on top so that row a of dx sees rows a + pt - p of D.
 * Filter gradient: dw[p, q, c, o] = sum_{n, i, j} x[n, i*s + p - pt, j*s + q - pl, c] dy[n, i, j, o]
 *   is a convolution of x with dy as the filter, with the batch as the contracted channel axis:
 *   input x^T [Ci, H, W, N], filter dy^T [oh, ow, N, Co], filter dilation s, stride 1, which gives
 *   [Ci, fh, fw, Co], transposed back to [fh, fw, Ci, Co].
 */
import { backend_util, Conv2DBackpropFilter, Conv2DBackpropInput, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { simdConv2DBackpropFilter, simdConv2DBackpropInput } from './conv_gemm.js';
import { disposeInfos, runConfig, runKernel, type AnyBackend, type WasmHeapBackend } from './kernel_util.js';

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Explicit NHWC padding for a forward Conv2D call. */
function explicitPad(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * Crops `x` (NHWC) so that negative paddings become slices; returns the cropped tensor (or x) and
 * the remaining non-negative paddings.
 */
function cropNegativePadding(
  backend: AnyBackend,
  backendName: string,
  x: TensorInfo,
  pads: { top: number; bottom: number; left: number; right: number },
): { x: TensorInfo; pads: { top: number; bottom: number; left: number; right: number } } {
  const cut = {
    top: Math.max(0, -pads.top),
    bottom: Math.max(0, -pads.bottom),
    left: Math.max(0, -pads.left),
    right: Math.max(0, -pads.right),
  };
  const kept = {
    top: Math.max(0, pads.top),
    bottom: Math.max(0, pads.bottom),
    left: Math.max(0, pads.left),
    right: Math.max(0, pads.right),
  };
  if (cut.top + cut.bottom + cut.left + cut.right === 0) return { x, pads: kept };
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const cropped = runKernel(
    'Slice',
    backend,
    backendName,
    { x },
    {
      begin: [0, cut.top, cut.left, 0],
      size: [n, h - cut.top - cut.bottom, w - cut.left - cut.right, c],
    },
  );
  return { x: cropped, pads: kept };
}

/** Conv2DBackpropInput as a stride-1 convolution of the spread-out dy with the flipped filter. */
function conv2dBackpropInputImpl(backendName: string, stock: KernelConfig | undefined): KernelFunc {
  return (({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as ConvAttrs & {
      inputShape: [number, number, number, number];
    };
    const format = backend_util.convertConv2DDataFormat(dataFormat);
    if (format !== 'channelsLast' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      if (stock) return runConfig(stock, backend, inputs, attrs);
      throw new Error(`dlvm Conv2DBackpropInput (${backendName}): only float32 NHWC is supported, got ${dataFormat}.`);
    }
    const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format);
    const simd = backendName === 'wasm' ? simdConv2DBackpropInput(backend as WasmHeapBackend, dy, filter, info) : null;
    if (simd) return simd;
    const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels, strideHeight: sh, strideWidth: sw } = info;
    const { filterHeight: fh, filterWidth: fw } = info;
    const owned: TensorInfo[] = [];

    // 1. Spread dy onto the stride-1 grid: [N, oh, 1, ow, 1, Co] padded to [N, oh, sh, ow, sw, Co].
    //    The result has sh - 1 (sw - 1) trailing zero rows (columns), taken off the bottom padding.
    let spread = dy;
    if (sh > 1 || sw > 1) {
      const r6 = runKernel(
        'Reshape',
        backend,
        backendName,
        { x: dy },
        {
          shape: [batchSize, outHeight, 1, outWidth, 1, outChannels],
        },
      );
      const padded = runKernel(
        'PadV2',
        backend,
        backendName,
        { x: r6 },
        {
          paddings: [
            [0, 0],
            [0, 0],
            [0, sh - 1],
            [0, 0],
            [0, sw - 1],
            [0, 0],
          ],
          constantValue: 0,
        },
      );
      spread = runKernel(
        'Reshape',
        backend,
        backendName,
        { x: padded },
        {
          shape: [batchSize, outHeight * sh, outWidth * sw, outChannels],
        },
      );
      owned.push(r6, padded, spread);
    }

    // 2. Padding so that the stride-1 correlation with an fh x fw filter yields H x W.
    const { x: input, pads } = cropNegativePadding(backend, backendName, spread, {
      top: fh - 1 - info.padInfo.top,
      bottom: inHeight + info.padInfo.top - outHeight * sh,
      left: fw - 1 - info.padInfo.left,
      right: inWidth + info.padInfo.left - outWidth * sw,
    });
    if (input !== spread) owned.push(input);

    // 3. Flip the filter spatially and swap its channel axes: [fh, fw, Co, Ci].
    const reversed = runKernel('Reverse', backend, backendName, { x: filter }, { dims: [0, 1] });
    const flipped = runKernel('Transpose', backend, backendName, { x: reversed }, { perm: [0, 1, 3, 2] });
    owned.push(reversed, flipped);

    const dx = runKernel(
      'Conv2D',
      backend,
      backendName,
      { x: input, filter: flipped },
      {
        strides: [1, 1],
        pad: explicitPad(pads.top, pads.bottom, pads.left, pads.right),
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
    disposeInfos(backend, ...owned);
    return dx;
  }) as KernelFunc;
}

/** Conv2DBackpropFilter as a convolution of x (batch as channels) with dy as the filter. */
function conv2dBackpropFilterImpl(backendName: string, stock: KernelConfig | undefined): KernelFunc {
  return (({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as ConvAttrs & {
      filterShape: [number, number, number, number];
    };
    const format = backend_util.convertConv2DDataFormat(dataFormat);
    if (format !== 'channelsLast' || x.dtype !== 'float32' || dy.dtype !== 'float32') {
      if (stock) return runConfig(stock, backend, inputs, attrs);
      throw new Error(`dlvm Conv2DBackpropFilter (${backendName}): only float32 NHWC is supported, got ${dataFormat}.`);
    }
    const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
    const simd = backendName === 'wasm' ? simdConv2DBackpropFilter(backend as WasmHeapBackend, x, dy, info) : null;
    if (simd) return simd;
    const { inHeight, inWidth, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
    const { filterHeight: fh, filterWidth: fw } = info;

    const xT = runKernel('Transpose', backend, backendName, { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
    const dyT = runKernel('Transpose', backend, backendName, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, N, Co]
    // Padding so that the dilated (by s) oh x ow filter slides exactly fh x fw times.
    const { x: input, pads } = cropNegativePadding(backend, backendName, xT, {
      top: info.padInfo.top,
      bottom: fh + (outHeight - 1) * sh - info.padInfo.top - inHeight,
      left: info.padInfo.left,
      right: fw + (outWidth - 1) * sw - info.padInfo.left - inWidth,
    });
    const out = runKernel(
      'Conv2D',
      backend,
      backendName,
      { x: input, filter: dyT },
      {
        strides: [1, 1],
        pad: explicitPad(pads.top, pads.bottom, pads.left, pads.right),
        dataFormat: 'NHWC',
        dilations: [sh, sw],
      },
    ); // [Ci, fh, fw, Co]
    const dw = runKernel('Transpose', backend, backendName, { x: out }, { perm: [1, 2, 0, 3] });
    disposeInfos(backend, xT, dyT, out);
    if (input !== xT) disposeInfos(backend, input);
    return dw;
  }) as KernelFunc;
}

/** Kernel configs for `backendName`; `stock` configs (if any) handle what these do not. */
export function makeConvBackpropKernels(backendName: string, stockInput: KernelConfig | undefined, stockFilter: KernelConfig | undefined): KernelConfig[] {
  return [
    {
      kernelName: Conv2DBackpropInput,
      backendName,
      ...(stockInput?.setupFunc ? { setupFunc: stockInput.setupFunc } : {}),
      kernelFunc: conv2dBackpropInputImpl(backendName, stockInput),
    },
    {
      kernelName: Conv2DBackpropFilter,
      backendName,
      ...(stockFilter?.setupFunc ? { setupFunc: stockFilter.setupFunc } : {}),
      kernelFunc: conv2dBackpropFilterImpl(backendName, stockFilter),
    },
  ];
}
