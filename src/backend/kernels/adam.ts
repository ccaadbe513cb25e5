/**
 * Adam's update of one variable as one kernel (cpu and wasm). tfjs's `AdamOptimizer` spends
 * about twelve kernel launches per variable (`Multiply`, `Add`, `Square`, `RealDiv`, `Sqrt`), each
 * a pass over the variable: 150 of the 460 launches of a CS236 step. This kernel reads the
 * variable, its gradient and both moments once and writes the new three.
 *
 * The arithmetic is tfjs's, operation by operation in float32 (each intermediate rounded with
 * `Math.fround`; + - * / and sqrt of float32 values computed in float64 and rounded once are
 * exactly the float32 operations), so the result equals `tf.train.adam`'s to the bit:
 *
 *   m' = m b1 + g (1 - b1)            v' = v b2 + g^2 (1 - b2)
 *   x' = x - lr (m' / c1) / (sqrt(v' / c2) + eps)      c1 = 1 - b1^t, c2 = 1 - b2^t
 */
import type { KernelConfig, NamedAttrMap } from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, hostKernel, sameShapes } from './host.js';

/** The kernel's name (inputs x, g, m, v; outputs x', m', v'). */
export const ADAM_UPDATE = 'DlvmAdamUpdate';

/** Attributes of {@link ADAM_UPDATE}: the hyperparameters and the bias corrections of this step. */
export interface AdamUpdateAttrs extends NamedAttrMap {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t, as tfjs's float32 accumulator gives it. */
  oneMinusAccBeta1: number;
  /** 1 - beta2^t. */
  oneMinusAccBeta2: number;
}

const f = Math.fround;

function adamLoop([x, g, m, v]: Float32Array[], [x1, m1, v1]: Float32Array[], attrs: NamedAttrMap): void {
  const a = attrs as AdamUpdateAttrs;
  const b1 = f(a.beta1);
  const b2 = f(a.beta2);
  const ob1 = f(1 - a.beta1);
  const ob2 = f(1 - a.beta2);
  const c1 = f(a.oneMinusAccBeta1);
  const c2 = f(a.oneMinusAccBeta2);
  const eps = f(a.epsilon);
  const negLr = f(-a.learningRate);
  const n = x!.length;
  for (let i = 0; i < n; i++) {
    const gi = g![i]!;
    const mi = f(f(m![i]! * b1) + f(gi * ob1));
    const vi = f(f(v![i]! * b2) + f(f(gi * gi) * ob2));
    m1![i] = mi;
    v1![i] = vi;
    const den = f(f(Math.sqrt(f(vi / c2))) + eps);
    x1![i] = f(f(f(mi / c1) / den) * negLr) + x![i]!;
  }
}

/** The inputs of {@link ADAM_UPDATE}, all of one shape; its three outputs have it too. */
const INPUTS = ['x', 'g', 'm', 'v'];

/** The {@link ADAM_UPDATE} kernels for cpu and wasm; registered by registerDlvmKernels. */
export const adamUpdateConfigs: KernelConfig[] = HOST_BACKENDS.map((backendName) =>
  hostKernel(ADAM_UPDATE, backendName, INPUTS, sameShapes(ADAM_UPDATE, INPUTS, 3), adamLoop, (k, [x, g, m, v], [x1, m1, v1], n, attrs) => {
    const a = attrs as AdamUpdateAttrs;
    // wasm passes f32 arguments rounded from these doubles, as Math.fround does in adamLoop.
    k.adam_update(
      x!,
      g!,
      m!,
      v!,
      x1!,
      m1!,
      v1!,
      n,
      a.beta1,
      a.beta2,
      1 - a.beta1,
      1 - a.beta2,
      a.oneMinusAccBeta1,
      a.oneMinusAccBeta2,
      a.epsilon,
      -a.learningRate,
    );
  }),
);
