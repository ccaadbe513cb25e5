/**
 * Adam with one kernel launch per variable: `fit`'s default optimizer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../backend/kernels/adam.js';
import { simdKernelsFor } from '../backend/kernels/simd.js';
import { argError } from '../errors.js';

const f = Math.fround;

/**
 * On a wasm backend where dlvm's SIMD kernels cannot run (a runtime without wasm SIMD), variables
 * up to this many elements use the fused kernel's JavaScript loop; larger ones tfjs's ops, whose
 * XNNPACK loops are SIMD. Measured per update on the 2-core development machine (1 thread; tfjs
 * ops / JavaScript loop): 0.57 / 0.22 ms at 3,000 elements, 0.68 / 1.59 ms at 30,000, 3.4 / 12.3
 * ms at 235,200. With the SIMD kernel (the usual case) every variable is fused, as on cpu, where
 * tfjs's ops are JavaScript loops too (235,200 elements: 140 / 12.5 ms).
 */
export const WASM_FUSED_ADAM_MAX_SIZE = 8192;

/** Whether variable `x` is updated by the fused kernel on the current backend. */
function fusedFor(x: tf.Tensor, g: tf.Tensor): boolean {
  if (x.dtype !== 'float32' || g.dtype !== 'float32') return false;
  const backend = tf.getBackend();
  if (tf.getKernel(ADAM_UPDATE, backend) == null) return false;
  return backend !== 'wasm' || x.size <= WASM_FUSED_ADAM_MAX_SIZE || simdKernelsFor(tf.backend()) != null;
}

/** A tensor with the name it is saved under (tfjs's `NamedTensor`, which tfjs-core does not export). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** A moment of one variable, under the name tfjs saves it as (`<variable>/m`, `<variable>/v`). */
interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/**
 * Adam (Kingma and Ba, 2015), the same optimizer as `tf.train.adam` (same update, to the bit;
 * same default epsilon, the backend's, 1e-7 on float32 backends; same `getWeights` /
 * `setWeights` layout, so checkpoints of either load into the other), with one kernel launch per
 * variable (`DlvmAdamUpdate`) instead of about twelve: on cpu and wasm for every variable (on a
 * wasm runtime without SIMD, for those of at most {@link WASM_FUSED_ADAM_MAX_SIZE} elements). Elsewhere,
 * and for variables that are not float32, it runs tfjs's ops.
 *
 * Made by {@link adam}; `fit` uses it unless given an `optimizer`.
 */
export class Adam extends tf.Optimizer {
  /** The class name tfjs serialises optimizers under (the same as `tf.AdamOptimizer`'s). */
  static get className(): string {
    return 'Adam';
  }
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** beta1^t and beta2^t for the next step t, rounded to float32 as tfjs's accumulators are. */
  private accBeta1: number;
  private accBeta2: number;
  private moments: { m: Slot; v: Slot }[] = [];

  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number) {
    super();
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon ?? tf.backend().epsilon();
    this.accBeta1 = f(beta1);
    this.accBeta2 = f(beta2);
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      oneMinusAccBeta1: f(1 - this.accBeta1),
      oneMinusAccBeta2: f(1 - this.accBeta2),
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const x = tf.engine().registeredVariables[name]!;
        this.moments[i] ??= {
          m: { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(x).variable(false)) },
          v: { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(x).variable(false)) },
        };
        const g = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (g == null) return;
        const m = this.moments[i].m.variable;
        const v = this.moments[i].v.variable;
        const [x1, m1, v1] = fusedFor(x, g) ? (tf.engine().runKernel(ADAM_UPDATE, { x, g, m, v }, attrs) as tf.Tensor[]) : this.composite(x, g, m, v, attrs);
        m.assign(m1!);
        v.assign(v1!);
        x.assign(x1!);
      });
    });
    this.accBeta1 = f(this.accBeta1 * f(this.beta1));
    this.accBeta2 = f(this.accBeta2 * f(this.beta2));
    this.incrementIterations();
  }

  /** tfjs's `AdamOptimizer` update as ops (backends without the fused kernel). */
  private composite(x: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamUpdateAttrs): tf.Tensor[] {
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const step = tf.div(tf.div(m1, a.oneMinusAccBeta1), tf.add(tf.sqrt(tf.div(v1, a.oneMinusAccBeta2)), a.epsilon));
    return [tf.add(tf.mul(step, -a.learningRate), x), m1, v1];
  }

  override dispose(): void {
    tf.dispose(this.moments.flatMap(({ m, v }) => [m.variable, v.variable]));
    this.moments = [];
  }

  override async getWeights(): Promise<NamedTensor[]> {
    // tfjs's order: the step counter, every first moment, then every second moment.
    const moments = [...this.moments.map((s) => s.m), ...this.moments.map((s) => s.v)];
    return [await this.saveIterations(), ...moments.map((s) => ({ name: s.originalName, tensor: s.variable }))];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    if (values.length % 2 !== 0)
      throw argError('Adam.setWeights', 'weightValues', 'the step counter, then first and second moments in equal number', `${values.length} moments`);
    this.accBeta1 = f(Math.pow(f(this.beta1), this.iterations_ + 1));
    this.accBeta2 = f(Math.pow(f(this.beta2), this.iterations_ + 1));
    const n = values.length / 2;
    this.dispose();
    this.moments = values.slice(0, n).map((mv, i) => ({
      m: { originalName: mv.name, variable: mv.tensor.variable(false) },
      v: { originalName: values[n + i]!.name, variable: values[n + i]!.tensor.variable(false) },
    }));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

/**
 * Adam, as `tf.train.adam(learningRate, beta1, beta2, epsilon)`, with one kernel launch per
 * variable on cpu and wasm (see {@link Adam}).
 *
 * @param learningRate the step size (default 1e-3).
 * @param beta1 decay of the first-moment average (default 0.9).
 * @param beta2 decay of the second-moment average (default 0.999).
 * @param epsilon added to the root of the second moment (default the backend's epsilon, 1e-7 on
 *   float32 backends, as tfjs; torch's default is 1e-8).
 * @example
 * ```ts
 * await fit(vae, data, { optimizer: adam(3e-4), epochs: 10 });
 * ```
 */
export function adam(learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon?: number): Adam {
  const check = (arg: string, value: unknown, ok: boolean, expected: string): void => {
    if (!ok) throw argError('adam', arg, expected, value);
  };
  check('learningRate', learningRate, typeof learningRate === 'number' && Number.isFinite(learningRate) && learningRate > 0, 'a finite number > 0');
  check('beta1', beta1, typeof beta1 === 'number' && beta1 >= 0 && beta1 < 1, 'a number in [0, 1)');
  check('beta2', beta2, typeof beta2 === 'number' && beta2 >= 0 && beta2 < 1, 'a number in [0, 1)');
  if (epsilon !== undefined) check('epsilon', epsilon, typeof epsilon === 'number' && Number.isFinite(epsilon) && epsilon > 0, 'a finite number > 0');
  return new Adam(learningRate, beta1, beta2, epsilon);
}
