/**
 * relu's gradient in one kernel (cpu and wasm): tfjs-core's is `mul(dy, cast(step(x)))`, three
 * launches and two full-size temporaries for each relu layer of a training step (Step, Cast and
 * Multiply: 1.5 ms of a 33 ms conv step at two threads). `DlvmReluGrad` computes the same product
 * with the same bits: dy 1, dy 0 (+-0, NaN for infinite dy), and NaN where x is NaN. On wasm it is
 * dlvm's SIMD `relu_grad` (split over the helper threads); on cpu, a loop. The registered
 * gradient of `Relu` uses it where the backend has it and tfjs-core's composite elsewhere (webgpu).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Relu, type GradConfig, type KernelConfig } from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, hostKernel, sameShapes } from './host.js';

/** Kernel: relu's gradient dy step(x) (inputs dy, x of one shape). */
export const RELU_GRAD = 'DlvmReluGrad';

const INPUTS = ['dy', 'x'];

/** dy step(x), each product rounded once as Multiply rounds it. */
function reluGradLoop([dy, x]: Float32Array[], [out]: Float32Array[]): void {
  for (let i = 0; i < out!.length; i++) {
    const xi = x![i]!;
    out![i] = dy![i]! * (Number.isNaN(xi) ? NaN : xi > 0 ? 1 : 0);
  }
}

/** The kernel for cpu and wasm; registered by registerDlvmKernels. */
export const reluGradConfigs: KernelConfig[] = HOST_BACKENDS.map((backendName) =>
  hostKernel(RELU_GRAD, backendName, INPUTS, sameShapes(RELU_GRAD, INPUTS, 1), reluGradLoop, (k, [dy, x], [out], n) => k.relu_grad(dy!, x!, out!, n)),
);

/** relu's gradient: the fused kernel where the backend has it, else tfjs-core's composite. */
function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (dy.dtype === 'float32' && x.dtype === 'float32' && tf.util.arraysEqual(dy.shape, x.shape) && tf.getKernel(RELU_GRAD, tf.getBackend()) != null) {
    return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

/** The gradient of `Relu` (replacing tfjs-core's, with the same values). */
export const reluGradient: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => reluGrad(dy as tf.Tensor, x) };
  },
};

/** The kernel's own gradient, for second derivatives: relu's gradient of the incoming dy, none for x (step is flat). */
export const reluGradGradient: GradConfig = {
  kernelName: RELU_GRAD,
  inputsToSave: ['x'],
  gradFunc: (g, saved) => {
    const [x] = saved as [tf.Tensor];
    return { dy: () => reluGrad(g as tf.Tensor, x), x: () => tf.zerosLike(x) };
  },
};
