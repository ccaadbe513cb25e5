/**
 * Zero gradients for tfjs's comparison and logical ops.
 *
 * tfjs 4.22 registers no gradient for Less, LessEqual, Greater, Equal, NotEqual, LogicalAnd,
 * LogicalOr, LogicalNot, All and Any (it does for GreaterEqual), so any differentiable function
 * that branches with `tf.where(tf.less(x, c), ...)` on its own input fails under `tf.grad` with
 * "gradient function not found for Less". Stable special functions branch like this everywhere
 * (lgamma's shift, 0 log 0, Taylor regions). These ops are piecewise constant, so their gradient
 * is zero almost everywhere, which is what TensorFlow's `NotDifferentiable` means as well. The
 * zeros are float32 whatever the input's dtype: the tape rejects others, so a mask combined with
 * logicalAnd / logicalOr / logicalNot from a parameter's comparisons (bool inputs) would otherwise
 * fail under tf.grad with "The gradient of input a must have 'float32' dtype, but has 'bool'".
 */
import {
  broadcast_util,
  cast,
  getGradient,
  greaterEqual,
  lessEqual,
  mul,
  registerGradient,
  reshape,
  sub,
  sum,
  zeros,
  type Tensor,
} from '@tensorflow/tfjs-core';

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
        return { a: () => zeros(a.shape), b: () => zeros(b.shape) };
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
        return { x: () => zeros(x.shape) };
      },
    });
  }
}

/** `g` summed over the dimensions that were broadcast from `shape`, and reshaped to it. */
function reduceTo(g: Tensor, shape: number[]): Tensor {
  const axes = broadcast_util.getReductionAxes(shape, g.shape);
  return reshape(axes.length > 0 ? sum(g, axes) : g, shape);
}

/**
 * Gradients of Maximum and Minimum that reduce over broadcast dimensions. tfjs 4.22's return
 * dy masked to the full shape, so tf.grad of tf.maximum(x, bound) with a bound of smaller shape
 * (a [3] parameter against [n, 3] draws) fails with "The gradient of input 'b' has shape '20000,3',
 * which does not match the shape of the input '3'". The same ties as tfjs: a gets the gradient
 * where a >= b (Maximum) or a <= b (Minimum). Registered over tfjs's (call after it loads).
 */
export function registerBroadcastingGradients(): void {
  for (const [kernelName, first] of [
    ['Maximum', greaterEqual],
    ['Minimum', lessEqual],
  ] as const) {
    registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]): NamedGradientMap => {
        const [a, b] = saved as [Tensor, Tensor];
        const g = dy as Tensor;
        const mask = cast(first(a, b), 'float32');
        return { a: () => reduceTo(mul(g, mask), a.shape), b: () => reduceTo(mul(g, sub(1, mask)), b.shape) };
      },
    });
  }
}
