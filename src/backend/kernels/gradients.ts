/**
 * Zero gradients for tfjs's comparison and logical ops.
 *
 * tfjs 4.22 registers no gradient for Less, LessEqual, Greater, Equal, NotEqual, LogicalAnd,
 * LogicalOr, LogicalNot, All and Any (it does for GreaterEqual), so any differentiable function
 * that branches with `tf.where(tf.less(x, c), ...)` on its own input fails under `tf.grad` with
 * "gradient function not found for Less". Stable special functions branch like this everywhere
 * (lgamma's shift, 0 log 0, Taylor regions). These ops are piecewise constant, so their gradient
 * is zero almost everywhere, which is what TensorFlow's `NotDifferentiable` means as well.
 */
import { getGradient, registerGradient, zerosLike, type Tensor } from '@tensorflow/tfjs-core';

/** Gradient functions by input name (tfjs's NamedGradientMap, which it does not export). */
type NamedGradientMap = Record<string, () => Tensor>;

const BINARY = ['Less', 'LessEqual', 'Greater', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'];
const UNARY = ['LogicalNot', 'All', 'Any'];

/** Registers the zero gradients for the ops above that have none (idempotent). */
export function registerZeroGradients(): void {
  for (const kernelName of BINARY) {
    if (getGradient(kernelName)) continue;
    registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]): NamedGradientMap => {
        const [a, b] = saved as [Tensor, Tensor];
        return { a: () => zerosLike(a), b: () => zerosLike(b) };
      },
    });
  }
  for (const kernelName of UNARY) {
    if (getGradient(kernelName)) continue;
    registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]): NamedGradientMap => {
        const [x] = saved as [Tensor];
        return { x: () => zerosLike(x) };
      },
    });
  }
}
