/**
 * `Conv2D` / `FusedConv2D` on wasm with 'same' padding given to XNNPACK as explicit padding.
 *
 * tfjs-backend-wasm 4.22 passes 'same' to XNNPACK as XNN_FLAG_TENSORFLOW_SAME_PADDING, which
 * XNNPACK rejects when a stride exceeds the filter size (e.g. a 1x2 filter with stride 3): the
 * operator is not created and the output stays all zeros, with only a console warning. The
 * padding tfjs computes for 'same' (total max((out - 1) * s + f - in, 0), the smaller half on
 * top/left) is the same as TensorFlow's, so handing it over explicitly is always equivalent.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { runConfig } from './kernel_util.js';

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Wraps a stock wasm `Conv2D` or `FusedConv2D` config (same attrs and inputs x, filter). */
export function makeWasmSamePaddingConv(stock: KernelConfig): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo => {
    const a = attrs as unknown as ConvAttrs;
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    if (a.pad !== 'same') return runConfig(stock, backend, inputs, attrs);
    const format = backend_util.convertConv2DDataFormat(a.dataFormat);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      'same',
      a.dimRoundingMode,
      false,
      format,
    );
    const { top, bottom, left, right } = info.padInfo;
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    return runConfig(stock, backend, inputs, { ...attrs, pad });
  };
  return { ...stock, kernelFunc: kernelFunc as KernelFunc };
}
