/**
 * dlvm's Adam (one `DlvmAdamUpdate` launch per variable) against tfjs's `tf.train.adam` on the
 * stock cpu kernels: the same values to the bit, the same saved state, on every backend, and
 * through the composite fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam, Adam, WASM_FUSED_ADAM_MAX_SIZE, dlvmKernelNames, registerDlvmKernels, restoreStockKernels } from '../src/index.js';
import { disableSimdKernels, simdKernelsFor } from '../src/backend/kernels/simd.js';
import { BACKENDS, expectClose, expectNoLeak, onStockCpu, randn, useBackend } from './helpers/backends.js';

const SHAPES: Record<string, number[]> = { 'opt/w': [7, 5], 'opt/b': [5], 'opt/s': [] };
const STEPS = 6;

/** The gradient of variable `name` at step `t`: seeded, with large and tiny entries and zeros. */
function gradient(name: string, t: number): Float32Array {
  const shape = SHAPES[name]!;
  const size = shape.reduce((a, b) => a * b, 1);
  const g = randn(size, 1000 * t + name.length);
  for (let i = 0; i < size; i++) g[i] = i % 7 === 0 ? 0 : i % 5 === 0 ? g[i]! * 1e4 : i % 3 === 0 ? g[i]! * 1e-6 : g[i]!;
  return g;
}

function makeVariables(): tf.Variable[] {
  return Object.entries(SHAPES).map(([name, shape], i) => {
    const init = tf.tensor(
      randn(
        Math.max(
          1,
          shape.reduce((a, b) => a * b, 1),
        ),
        7 + i,
      ),
      shape,
    );
    const v = tf.variable(init, true, name);
    init.dispose();
    return v;
  });
}

/** Runs `steps` steps of `optimizer` from `from` (exclusive) and returns the values of the variables. */
function run(optimizer: tf.Optimizer, vars: tf.Variable[], from: number, steps: number): void {
  for (let t = from; t < from + steps; t++) {
    tf.tidy(() => {
      const grads: tf.NamedTensorMap = {};
      for (const v of vars) grads[v.name] = tf.tensor(gradient(v.name, t), v.shape);
      optimizer.applyGradients(grads);
    });
  }
}

interface Outcome {
  values: Record<string, number[]>;
  weights: { name: string; values: number[] }[];
}

async function outcome(optimizer: tf.Optimizer, vars: tf.Variable[]): Promise<Outcome> {
  const values = Object.fromEntries(vars.map((v) => [v.name, Array.from(v.dataSync())]));
  const saved = await optimizer.getWeights();
  const weights = saved.map((w) => ({ name: w.name, values: Array.from(w.tensor.dataSync()) }));
  // getWeights makes a fresh tensor of the step counter; the rest are the optimizer's own.
  saved[0]!.tensor.dispose();
  return { values, weights };
}

async function withVariables<T>(fn: (vars: tf.Variable[]) => Promise<T>): Promise<T> {
  const vars = makeVariables();
  try {
    return await fn(vars);
  } finally {
    tf.dispose(vars);
  }
}

/** tfjs's Adam on the stock cpu kernels, `STEPS` steps: the reference. */
async function reference(lr = 0.01, beta1 = 0.8, beta2 = 0.99, epsilon?: number): Promise<Outcome> {
  return onStockCpu(() =>
    withVariables(async (vars) => {
      const opt = tf.train.adam(lr, beta1, beta2, epsilon);
      run(opt, vars, 0, STEPS);
      const out = await outcome(opt, vars);
      opt.dispose();
      return out;
    }),
  );
}

function expectSame(actual: Outcome, expected: Outcome): void {
  for (const name of Object.keys(expected.values)) {
    expect(actual.values[name], name).toEqual(expected.values[name]);
  }
  expect(actual.weights.map((w) => w.name)).toEqual(expected.weights.map((w) => w.name));
  actual.weights.forEach((w, i) => expect(w.values, w.name).toEqual(expected.weights[i]!.values));
}

describe('adam', () => {
  let expected: Outcome;
  beforeAll(async () => {
    await useBackend('cpu');
    expected = await reference();
  });
  afterAll(() => registerDlvmKernels());

  for (const backend of BACKENDS) {
    it(`equals tf.train.adam to the bit on ${backend}, in one launch per variable`, async () => {
      await useBackend(backend);
      expect(dlvmKernelNames()).toContain(`DlvmAdamUpdate@${backend === 'tensorflow' ? 'cpu' : backend}`);
      await expectNoLeak(() =>
        withVariables(async (vars) => {
          const opt = adam(0.01, 0.8, 0.99);
          run(opt, vars, 0, 1); // creates the moments
          const profile = await tf.profile(() => run(opt, vars, 1, STEPS - 1));
          const launches = profile.kernels.filter((k) => !k.name.endsWith('__op')).length;
          if (backend !== 'tensorflow') {
            // One update per variable (the gradients' tensor() calls are not kernels).
            expect(profile.kernels.filter((k) => k.name === 'DlvmAdamUpdate').length).toBe(3 * (STEPS - 1));
            expect(launches).toBe(3 * (STEPS - 1));
          }
          expectSame(await outcome(opt, vars), expected);
          opt.dispose();
        }),
      );
    });
  }

  it('runs tfjs ops where the fused kernel is not registered, with the same result', async () => {
    await useBackend('cpu');
    restoreStockKernels();
    try {
      await withVariables(async (vars) => {
        const opt = adam(0.01, 0.8, 0.99);
        run(opt, vars, 0, STEPS);
        expectSame(await outcome(opt, vars), expected);
        opt.dispose();
      });
    } finally {
      registerDlvmKernels();
    }
  });

  it('loads the state tf.train.adam saved and continues as it would (and the other way round)', async () => {
    await useBackend('wasm');
    const half = 3;
    // tfjs for three steps, then dlvm's Adam from its saved weights, and the reverse.
    for (const [first, second] of [
      [() => tf.train.adam(0.01, 0.8, 0.99), () => adam(0.01, 0.8, 0.99)],
      [() => adam(0.01, 0.8, 0.99), () => tf.train.adam(0.01, 0.8, 0.99)],
    ] as const) {
      await withVariables(async (vars) => {
        const a = first();
        run(a, vars, 0, half);
        const saved = await a.getWeights();
        const b = second();
        await b.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
        tf.dispose(saved[0]!.tensor);
        a.dispose();
        run(b, vars, half, STEPS - half);
        const got = await outcome(b, vars);
        for (const name of Object.keys(expected.values)) expectClose(got.values[name]!, expected.values[name]!, { rtol: 1e-6, atol: 1e-7, label: name });
        expect(got.weights[0]!.values).toEqual([STEPS]);
        b.dispose();
      });
    }
  });

  for (const simd of [true, false]) {
    const how = simd ? 'in the SIMD kernel' : 'without SIMD kernels, with tfjs ops (SIMD) as tfjs does';
    it(`on wasm, updates a variable of 235,201 elements ${how}, to the bit`, async () => {
      await useBackend('wasm');
      const wasOff = disableSimdKernels(!simd);
      try {
        expect(simdKernelsFor(tf.backend()) != null).toBe(simd);
        await expectNoLeak(async () => {
          const size = 235_201; // the CS236 decoder's weights, plus one for the scalar tail
          expect(size).toBeGreaterThan(WASM_FUSED_ADAM_MAX_SIZE);
          const init = tf.tensor(randn(size, 3));
          const big = tf.variable(init, true, 'opt/big');
          init.dispose();
          const ref: tf.Optimizer = tf.train.adam(0.01);
          const refVar = tf.variable(big, true, 'opt/bigRef');
          const mine = adam(0.01);
          for (let t = 0; t < 3; t++) {
            const g = tf.tensor(randn(size, 4 + t));
            const profile = await tf.profile(() => mine.applyGradients({ 'opt/big': g }));
            ref.applyGradients({ 'opt/bigRef': g });
            expect(profile.kernels.some((k) => k.name === 'DlvmAdamUpdate')).toBe(simd);
            g.dispose();
          }
          expect(Array.from(big.dataSync())).toEqual(Array.from(refVar.dataSync()));
          tf.dispose([big, refVar]);
          mine.dispose();
          ref.dispose();
        });
      } finally {
        disableSimdKernels(wasOff);
      }
    });
  }

  it('uses the backend epsilon by default, as tfjs', async () => {
    await useBackend('cpu');
    expect(adam().epsilon).toBe(tf.backend().epsilon());
    expect(adam().getConfig()).toEqual(tf.train.adam(0.001).getConfig());
    expect(adam()).toBeInstanceOf(Adam);
    expect(Adam.className).toBe('Adam');
  });

  it('rejects bad hyperparameters, naming the argument', () => {
    expect(() => adam(-1)).toThrow(/adam.*learningRate.*> 0.*-1/);
    expect(() => adam(1e-3, 1)).toThrow(/adam.*beta1.*\[0, 1\)/);
    expect(() => adam(1e-3, 0.9, Number.NaN)).toThrow(/adam.*beta2/);
    expect(() => adam(1e-3, 0.9, 0.999, 0)).toThrow(/adam.*epsilon/);
  });

  it('the kernel refuses mismatched shapes', async () => {
    await useBackend('wasm');
    const x = tf.zeros([2, 3]);
    const g = tf.zeros([3, 2]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          'DlvmAdamUpdate',
          { x, g, m: x, v: x },
          { learningRate: 1, beta1: 0.9, beta2: 0.9, epsilon: 1e-7, oneMinusAccBeta1: 0.1, oneMinusAccBeta2: 0.1 },
        ),
    ).toThrow(/DlvmAdamUpdate: g has shape \[3,2\], expected x's \[2,3\]/);
    tf.dispose([x, g]);
  });
});
