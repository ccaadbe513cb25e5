/**
 * NaN and infinities go through dlvm's kernels as through tfjs's stock cpu kernels (the
 * reference: relu(NaN) = NaN, max(x, NaN) = NaN, prelu(x, alpha) = x for x >= 0): relu, relu6,
 * leakyrelu, prelu, elu, maximum, minimum, clipByValue, and the fused matMul, conv2d and
 * depthwise conv2d with every activation, on every backend here (stock wasm turned NaN into 0
 * or the clip bound, and dropped a NaN in max's second operand). Gradients on finite inputs still
 * agree with the cpu's, and a VAE with one NaN weight reports a NaN loss. The webgpu versions are
 * in webgpu.kernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, VAE } from '../src/index.js';
import { BACKENDS, expectClose, expectNoLeak, onStockCpu, randn, useBackend } from './helpers/backends.js';

/** A NaN with the sign bit set, as inf - inf and 0 * inf make it (stock wasm relu zeroed it). */
const NEG_NAN_BITS = 0xffc00000;

/**
 * `n` float32 values: every fifth a special (NaN of both signs, +-inf, +-0, +-3e38, +-1e-30,
 * the relu6 and clip bounds), the rest standard normal times `scale`. `big` false leaves out
 * +-3e38 (sums of products would overflow in an order-dependent way).
 */
function specials(n: number, seed: number, { scale = 4, big = true } = {}): Float32Array {
  const base = [NaN, -1, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 6, 1, -1, 7, ...(big ? [3e38, -3e38] : [])];
  const r = randn(n, seed);
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    if (i % 5 !== 0) {
      out[i] = r[i]! * scale;
      continue;
    }
    const k = (i / 5 + seed) % base.length;
    if (k === 1) bits[i] = NEG_NAN_BITS;
    else out[i] = base[k]!;
  }
  return out;
}

/** Standard-normal values with NaN (both signs) and +-inf written at `at` (index -> kind). */
function sprinkled(n: number, seed: number, at: Record<number, 'nan' | '-nan' | 'inf' | '-inf'>): Float32Array {
  const out = randn(n, seed);
  const bits = new Uint32Array(out.buffer);
  for (const [i, kind] of Object.entries(at)) {
    const j = Number(i) % n;
    if (kind === '-nan') bits[j] = NEG_NAN_BITS;
    else out[j] = kind === 'nan' ? NaN : kind === 'inf' ? Infinity : -Infinity;
  }
  return out;
}

type Values = Float32Array[];
type Binary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** Runs `fn` here and on the stock cpu, and compares every output (NaN matches NaN). */
async function expectAsCpu(label: string, fn: () => tf.Tensor | tf.Tensor[], rtol = 1e-5, atol = 1e-6): Promise<void> {
  const run = (): Values =>
    tf.tidy(() => {
      const out = fn();
      return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
    });
  const expected = await onStockCpu(run);
  let actual: Values = [];
  await expectNoLeak(() => {
    actual = run();
  });
  expect(actual.length, label).toBe(expected.length);
  actual.forEach((a, k) => expectClose(a, expected[k]!, { rtol, atol, label: `${label} [${k}]` }));
}

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'] as const;

describe.each(BACKENDS.filter((b) => b !== 'tensorflow'))('NaN and infinities through dlvm kernels on %s', (backend) => {
  let before = 0;
  beforeAll(async () => {
    await useBackend(backend);
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  const X = specials(2400, 3); // [40, 60]
  const Y = specials(2400, 8);
  const x = () => tf.tensor2d(X, [40, 60]);
  const y = () => tf.tensor2d(Y, [40, 60]);

  it('relu, relu6, leakyRelu, prelu, elu keep NaN and map infinities as the cpu', async () => {
    await expectAsCpu('relu', () => tf.relu(x()));
    await expectAsCpu('relu6', () => tf.relu6(x()));
    await expectAsCpu('leakyRelu', () => tf.leakyRelu(x(), 0.2));
    await expectAsCpu('elu', () => tf.elu(x()));
    const prelu = tf.prelu as Binary;
    await expectAsCpu('prelu scalar alpha', () => prelu(x(), tf.scalar(0.3)));
    // alpha with NaN and infinities: prelu(x, alpha) = x wherever x >= 0.
    await expectAsCpu('prelu alpha per element', () => prelu(x(), y()));
    await expectAsCpu('prelu alpha per channel', () => prelu(x(), tf.tensor1d(Y.slice(0, 60))));
  });

  it('maximum, minimum and clipByValue keep a NaN from either operand', async () => {
    for (const [name, op] of [
      ['maximum', tf.maximum as Binary],
      ['minimum', tf.minimum as Binary],
    ] as const) {
      await expectAsCpu(`${name} same shape`, () => op(x(), y()));
      await expectAsCpu(`${name} same shape, swapped`, () => op(y(), x()));
      await expectAsCpu(`${name} scalar second`, () => op(x(), tf.scalar(0.5)));
      await expectAsCpu(`${name} scalar first`, () => op(tf.scalar(0.5), x()));
      await expectAsCpu(`${name} NaN scalar`, () => op(x(), tf.scalar(NaN)));
      await expectAsCpu(`${name} row broadcast`, () => op(x(), tf.tensor1d(Y.slice(0, 60))));
      await expectAsCpu(`${name} column broadcast`, () => op(tf.tensor2d(Y.slice(0, 40), [40, 1]), x()));
      await expectAsCpu(`${name} both broadcast`, () => op(tf.tensor3d(X.slice(0, 20), [4, 1, 5]), tf.tensor3d(Y.slice(0, 15), [1, 3, 5])));
    }
    await expectAsCpu('clipByValue [-1, 1]', () => tf.clipByValue(x(), -1, 1));
    await expectAsCpu('clipByValue [1e-7, 1 - 1e-7]', () => tf.clipByValue(x(), 1e-7, 1 - 1e-7));
  });

  it('fused matMul: NaN and infinities in a, b, bias and prelu weights, every activation and transpose', async () => {
    for (const [m, k, n] of [
      [33, 45, 24],
      [16, 64, 32],
    ] as const) {
      // NaN rows in a and columns in b, infinities of both signs (their sums make NaN too).
      const A = sprinkled(m * k, 11, { 5: 'nan', [k * 2 + 7]: 'inf', [k * 3 + 1]: '-inf', [k * 5 + 4]: '-nan', [k * 7]: 'inf' });
      const B = sprinkled(k * n, 12, { [n * 4 + 9]: 'nan', 11: 'inf', [n * 6 + 3]: '-inf', [k * n - 1]: 'inf' });
      const bias = sprinkled(n, 13, { 3: 'nan', 5: '-inf', 8: 'inf', 10: '-nan' });
      const alpha = sprinkled(n, 14, { 2: 'nan', 6: 'inf', 7: '-inf' });
      for (const activation of ACTIVATIONS) {
        for (const [transposeA, transposeB] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          const label = `${m}x${k}x${n} ${activation} tA=${transposeA} tB=${transposeB}`;
          await expectAsCpu(
            label,
            () => {
              const a = tf.tensor2d(A, [m, k]);
              const b = tf.tensor2d(B, [k, n]);
              return tf.fused.matMul({
                a: transposeA ? tf.transpose(a) : a,
                b: transposeB ? tf.transpose(b) : b,
                transposeA,
                transposeB,
                bias: tf.tensor1d(bias),
                activation,
                preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
                leakyreluAlpha: 0.2,
              });
            },
            1e-4,
            1e-4,
          );
        }
      }
    }
  });

  it('fused conv2d and depthwise conv2d: NaN and infinities in x, filter and bias, every activation', async () => {
    const xv = sprinkled(2 * 9 * 9 * 3, 21, { 7: 'nan', 100: 'inf', 200: '-nan', 301: '-inf' });
    const wv = sprinkled(3 * 3 * 3 * 8, 22, { 40: 'nan', 17: 'inf' });
    const bv = sprinkled(8, 23, { 3: 'nan', 5: 'inf' });
    const alpha = sprinkled(8, 24, { 1: 'nan' });
    const finiteW = randn(3 * 3 * 3 * 8, 22);
    for (const activation of ACTIVATIONS) {
      const common = { bias: undefined as tf.Tensor | undefined, activation, leakyreluAlpha: 0.2 };
      // With 'same' padding a non-finite filter tap that falls on the padding differs: the cpu
      // skips padded taps, wasm and webgpu multiply them by the zero padding (0 * NaN = NaN, as
      // TensorFlow's zero padding does). The filter is finite there.
      for (const [pad, w, stride] of [
        ['valid', wv, 1],
        ['valid', wv, 2],
        ['same', finiteW, 1],
        ['same', finiteW, 2],
      ] as const) {
        await expectAsCpu(
          `conv2d ${pad} stride ${stride} ${activation}`,
          () =>
            tf.fused.conv2d({
              ...common,
              x: tf.tensor4d(xv, [2, 9, 9, 3]),
              filter: tf.tensor4d(w, [3, 3, 3, 8]),
              strides: stride,
              pad,
              bias: tf.tensor1d(bv),
              preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
            }),
          1e-4,
          1e-4,
        );
        await expectAsCpu(
          `depthwise ${pad} stride ${stride} ${activation}`,
          () =>
            tf.fused.depthwiseConv2d({
              ...common,
              x: tf.tensor4d(xv, [2, 9, 9, 3]),
              filter: tf.tensor4d(w.slice(0, 54), [3, 3, 3, 2]),
              strides: stride,
              pad,
              bias: tf.tensor1d(bv.slice(0, 6)),
              preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha.slice(0, 6)) : undefined,
            }),
          1e-4,
          1e-4,
        );
      }
    }
  });

  it('keeps the cpu gradients on finite inputs', async () => {
    const xf = randn(2400, 31).map((v) => v * 4);
    const yf = randn(2400, 32).map((v) => v * 4);
    const dy = randn(2400, 33);
    const g = (f: (t: tf.Tensor) => tf.Tensor) => () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.tensor2d(dy, [40, 60]))))(tf.tensor2d(xf, [40, 60]));
    await expectAsCpu(
      'd relu',
      g((t) => tf.relu(t)),
    );
    await expectAsCpu(
      'd relu6',
      g((t) => tf.relu6(t)),
    );
    await expectAsCpu(
      'd clipByValue',
      g((t) => tf.clipByValue(t, -1, 1)),
    );
    await expectAsCpu('d prelu', () =>
      tf.grads((t: tf.Tensor, al: tf.Tensor) => tf.sum(tf.mul(tf.prelu(t, al), tf.tensor2d(dy, [40, 60]))))([
        tf.tensor2d(xf, [40, 60]),
        tf.tensor1d(yf.slice(0, 60)),
      ]),
    );
    for (const [name, op] of [
      ['maximum', tf.maximum],
      ['minimum', tf.minimum],
    ] as const) {
      await expectAsCpu(`d ${name}`, () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), tf.tensor2d(dy, [40, 60]))))([tf.tensor2d(xf, [40, 60]), tf.tensor2d(yf, [40, 60])]),
      );
    }
    const m = 33,
      k = 45,
      n = 24;
    for (const activation of ['relu', 'relu6', 'leakyrelu', 'prelu'] as const) {
      await expectAsCpu(
        `d fused matMul ${activation}`,
        () => {
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.fused.matMul({
              a: a as tf.Tensor2D,
              b: b as tf.Tensor2D,
              bias: c,
              activation,
              leakyreluAlpha: 0.2,
              preluActivationWeights: activation === 'prelu' ? tf.tensor1d(yf.slice(0, n)) : undefined,
            });
          return tf.grads(f)(
            [tf.tensor2d(xf.slice(0, m * k), [m, k]), tf.tensor2d(yf.slice(0, k * n), [k, n]), tf.tensor1d(dy.slice(0, n))],
            tf.tensor2d(dy.slice(0, m * n), [m, n]),
          );
        },
        1e-4,
        1e-4,
      );
    }
  });

  it('a VAE with one NaN weight reports a NaN loss, as on the cpu (relu hidden layers)', async () => {
    const lossWithNaNWeight = (): number[] => {
      manualSeed(5);
      const vae = VAE.mlp({ inputShape: [6, 6], latentDim: 3, hidden: [16, 16] });
      const x = tf.tidy(() => tf.reshape(tf.cast(tf.greater(tf.tensor2d(randn(8 * 36, 41), [8, 36]), 0), 'float32'), [8, 6, 6]));
      try {
        const w = vae.trainableVariables[2]!; // the encoder's second kernel [16, 16]
        expect(w.shape).toEqual([16, 16]);
        const poisoned = tf.tidy(() => tf.where(tf.equal(tf.reshape(tf.range(0, w.size, 1, 'int32'), w.shape), 37), tf.fill(w.shape, NaN), w));
        w.assign(poisoned);
        poisoned.dispose();
        // Forward only (tfjs-layers fuses the relu into _FusedMatMul), then under a gradient tape
        // (where tfjs-core runs the relu unfused).
        const forward = tf.tidy(() => vae.loss(x).loss.dataSync()[0]!);
        const { value, grads } = tf.variableGrads(() => vae.loss(x).loss as tf.Scalar, vae.trainableVariables);
        const taped = value.dataSync()[0]!;
        tf.dispose([value, ...Object.values(grads)]);
        return [forward, taped];
      } finally {
        x.dispose();
        vae.dispose();
      }
    };
    const expected = await onStockCpu(lossWithNaNWeight);
    expect(expected.map(Number.isNaN)).toEqual([true, true]);
    let actual: number[] = [];
    await expectNoLeak(() => {
      actual = lossWithNaNWeight();
    });
    expect(actual.map(Number.isNaN), `${backend}: loss ${actual}`).toEqual([true, true]);
  });
});
