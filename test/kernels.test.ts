/**
 * dlvm's replacement kernels agree with tfjs's stock cpu kernels (an independent implementation)
 * on random shapes, transposes, strides and paddings, on every backend they are installed for.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableSimdKernels, dlvmKernelNames, initBackend } from '../src/index.js';
import { simdHelperRunning } from '../src/backend/kernels/simd.js';
import { HELPER_MIN_MACS } from '../src/backend/kernels/simd_helper.js';
import { SPLIT_BATCH_MIN_MACS } from '../src/backend/kernels/matmul.js';
import { BACKENDS, expectClose, expectNoLeak, onStockCpu, randint, randn, rng, useBackend } from './helpers/backends.js';

function sizeOf(shape: number[]): number {
  return shape.reduce((p, q) => p * q, 1);
}

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  fh: number;
  fw: number;
  stride: [number, number];
  pad: Pad;
}

/** Random conv configurations, including odd sizes, unequal strides and explicit padding. */
function convCases(count: number, seed: number): ConvCase[] {
  const u = rng(seed);
  const cases: ConvCase[] = [
    // The conv VAE's layers (scaled down in batch): 28x28x1 -> 14x14x32 -> 7x7x64, 3x3 stride 2 same.
    { n: 3, h: 28, w: 28, ci: 1, co: 8, fh: 3, fw: 3, stride: [2, 2], pad: 'same' },
    { n: 3, h: 14, w: 14, ci: 8, co: 16, fh: 3, fw: 3, stride: [2, 2], pad: 'same' },
    // Rows left over by a valid stride (negative bottom padding in the filter gradient).
    { n: 2, h: 10, w: 9, ci: 3, co: 4, fh: 3, fw: 2, stride: [2, 3], pad: 'valid' },
    // A 1 x 1 filter at stride 1: the input is its own patch matrix (no im2col).
    { n: 2, h: 5, w: 4, ci: 6, co: 3, fh: 1, fw: 1, stride: [1, 1], pad: 'valid' },
    // Explicit padding larger than the filter (negative padding in the input gradient).
    {
      n: 2,
      h: 6,
      w: 7,
      ci: 2,
      co: 3,
      fh: 2,
      fw: 3,
      stride: [1, 2],
      pad: [
        [0, 0],
        [3, 1],
        [1, 4],
        [0, 0],
      ],
    },
  ];
  for (let i = 0; i < count; i++) {
    const fh = randint(u, 1, 5);
    const fw = randint(u, 1, 5);
    const pad: Pad = u() < 0.5 ? 'same' : 'valid';
    cases.push({
      n: randint(u, 1, 4),
      h: randint(u, fh, 12),
      w: randint(u, fw, 12),
      ci: randint(u, 1, 6),
      co: randint(u, 1, 6),
      fh,
      fw,
      stride: [randint(u, 1, 3), randint(u, 1, 3)],
      pad,
    });
  }
  return cases;
}

function convGrads(c: ConvCase, seed: number): { dx: Float32Array; dw: Float32Array; y: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(randn(c.n * c.h * c.w * c.ci, seed), [c.n, c.h, c.w, c.ci]);
    const w = tf.tensor4d(randn(c.fh * c.fw * c.ci * c.co, seed + 1), [c.fh, c.fw, c.ci, c.co]);
    const f = (xx: tf.Tensor4D, ww: tf.Tensor4D) => tf.conv2d(xx, ww, c.stride, c.pad);
    const y = f(x, w);
    const dy = tf.tensor(randn(y.size, seed + 2), y.shape);
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => f(xx as tf.Tensor4D, ww as tf.Tensor4D))([x, w], dy);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, y: y.dataSync() as Float32Array };
  });
}

function convTranspose(c: ConvCase, seed: number): Float32Array {
  return tf.tidy(() => {
    // conv2dTranspose's forward pass is Conv2DBackpropInput.
    const probe = tf.conv2d(tf.zeros([c.n, c.h, c.w, c.ci]) as tf.Tensor4D, tf.zeros([c.fh, c.fw, c.ci, c.co]) as tf.Tensor4D, c.stride, c.pad);
    const dy = tf.tensor4d(randn(probe.size, seed), probe.shape as [number, number, number, number]);
    const w = tf.tensor4d(randn(c.fh * c.fw * c.ci * c.co, seed + 1), [c.fh, c.fw, c.ci, c.co]);
    return tf.conv2dTranspose(dy, w, [c.n, c.h, c.w, c.ci], c.stride, c.pad).dataSync() as Float32Array;
  });
}

describe.each(BACKENDS.filter((b) => b !== 'tensorflow'))('dlvm kernels on %s', (backend) => {
  let before = 0;
  beforeAll(async () => {
    await useBackend(backend);
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it('are installed for this backend', () => {
    const names = dlvmKernelNames();
    expect(names).toContain(`Conv2DBackpropFilter@${backend}`);
    expect(names).toContain(`Conv2DBackpropInput@${backend}`);
    if (backend === 'wasm') {
      expect(names).toEqual(
        expect.arrayContaining([
          'BatchMatMul@wasm',
          '_FusedMatMul@wasm',
          'UnsortedSegmentSum@wasm',
          'FusedDepthwiseConv2D@wasm',
          'Relu@wasm',
          'Relu6@wasm',
          'ClipByValue@wasm',
          'Maximum@wasm',
          'Minimum@wasm',
          'Prelu@wasm',
          'Tile@wasm',
        ]),
      );
    }
  });

  // On wasm, dlvm's SIMD product and (SIMD off) the transposes feeding XNNPACK.
  for (const simd of backend === 'wasm' ? [true, false] : [true]) {
    const route = backend === 'wasm' ? (simd ? ' (dlvm SIMD product)' : ' (SIMD off: XNNPACK)') : '';
    const withRoute = async (fn: () => Promise<void>): Promise<void> => {
      const was = disableSimdKernels(!simd);
      try {
        await fn();
      } finally {
        disableSimdKernels(was);
      }
    };

    it(`matMul agrees with stock cpu for every transpose combination and batch shape${route}`, () =>
      withRoute(async () => {
        const u = rng(11);
        const shapes: Array<{ batchA: number[]; batchB: number[]; m: number; k: number; n: number }> = [
          { batchA: [], batchB: [], m: 33, k: 17, n: 29 },
          { batchA: [], batchB: [], m: 128, k: 70, n: 65 },
          { batchA: [3], batchB: [3], m: 40, k: 50, n: 45 }, // large enough to split per batch entry
          { batchA: [2, 3], batchB: [1], m: 48, k: 40, n: 36 }, // broadcast b
          { batchA: [1, 4], batchB: [4, 1], m: 41, k: 42, n: 43 }, // outer broadcast [4, 4]: stock path
          { batchA: [5], batchB: [5], m: 3, k: 4, n: 5 }, // tiny: stock path
        ];
        expect(40 * 50 * 45).toBeGreaterThanOrEqual(SPLIT_BATCH_MIN_MACS);
        for (let r = 0; r < 4; r++) {
          shapes.push({ batchA: [], batchB: [], m: randint(u, 1, 90), k: randint(u, 1, 90), n: randint(u, 1, 90) });
        }
        let seed = 100;
        for (const s of shapes) {
          for (const transposeA of [false, true]) {
            for (const transposeB of [false, true]) {
              seed += 3;
              const aShape = [...s.batchA, ...(transposeA ? [s.k, s.m] : [s.m, s.k])];
              const bShape = [...s.batchB, ...(transposeB ? [s.n, s.k] : [s.k, s.n])];
              const aVals = randn(
                aShape.reduce((p, q) => p * q, 1),
                seed,
              );
              const bVals = randn(
                bShape.reduce((p, q) => p * q, 1),
                seed + 1,
              );
              const run = () =>
                tf.tidy(() => {
                  const out = tf.matMul(tf.tensor(aVals, aShape), tf.tensor(bVals, bShape), transposeA, transposeB);
                  return { shape: out.shape, values: out.dataSync() as Float32Array };
                });
              const expected = await onStockCpu(run);
              let actual!: ReturnType<typeof run>;
              await expectNoLeak(() => {
                actual = run();
              });
              const label = `${JSON.stringify(s)} tA=${transposeA} tB=${transposeB}`;
              expect(actual.shape, label).toEqual(expected.shape);
              expectClose(actual.values, expected.values, { rtol: 1e-4, atol: 1e-4, label });
            }
          }
        }
      }));

    it(`fused matMul (bias + activation) and its gradients agree with stock cpu${route}`, () =>
      withRoute(async () => {
        for (const activation of ['linear', 'relu', 'elu', 'relu6', 'sigmoid', 'leakyrelu'] as const) {
          for (const [transposeA, transposeB] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            const m = 37,
              k = 45,
              n = 23;
            const aShape = transposeA ? [k, m] : [m, k];
            const bShape = transposeB ? [n, k] : [k, n];
            const aVals = randn(m * k, 7);
            const bVals = randn(k * n, 8);
            const biasVals = randn(n, 9);
            const dyVals = randn(m * n, 10);
            const run = () =>
              tf.tidy(() => {
                const a = tf.tensor2d(aVals, aShape as [number, number]);
                const b = tf.tensor2d(bVals, bShape as [number, number]);
                const bias = tf.tensor1d(biasVals);
                const f = (aa: tf.Tensor, bb: tf.Tensor, cc: tf.Tensor) =>
                  tf.fused.matMul({ a: aa as tf.Tensor2D, b: bb as tf.Tensor2D, transposeA, transposeB, bias: cc, activation });
                const y = f(a, b, bias);
                const grads = tf.grads(f)([a, b, bias], tf.tensor2d(dyVals, [m, n]));
                return [y, ...grads].map((t) => t.dataSync() as Float32Array);
              });
            const expected = await onStockCpu(run);
            let actual: Float32Array[] = [];
            await expectNoLeak(() => {
              actual = run();
            });
            ['y', 'da', 'db', 'dbias'].forEach((name, i) =>
              expectClose(actual[i]!, expected[i]!, { rtol: 1e-4, atol: 1e-4, label: `${activation} tA=${transposeA} tB=${transposeB} ${name}` }),
            );
          }
        }
      }));

    it(`fused matMul with every bias shape, no bias, prelu and a batch agrees with stock cpu, gradients included${route}`, () =>
      withRoute(async () => {
        const m = 21,
          k = 13,
          n = 10;
        const cases: Array<{ label: string; batch: number[]; bias: number[] | null; activation: 'linear' | 'prelu' | 'relu' }> = [
          { label: 'bias [n]', batch: [], bias: [n], activation: 'linear' },
          { label: 'bias [1, n]', batch: [], bias: [1, n], activation: 'relu' },
          { label: 'bias [m, n] (broadcast add)', batch: [], bias: [m, n], activation: 'linear' },
          { label: 'bias [m, 1] (broadcast add)', batch: [], bias: [m, 1], activation: 'relu' },
          { label: 'no bias', batch: [], bias: null, activation: 'relu' },
          { label: 'prelu', batch: [], bias: [n], activation: 'prelu' },
          { label: 'batch [3], bias [n]', batch: [3], bias: [n], activation: 'linear' },
        ];
        for (const c of cases) {
          const aVals = randn(sizeOf([...c.batch, m, k]), 21);
          const bVals = randn(sizeOf([...c.batch, k, n]), 22);
          const biasVals = c.bias ? randn(sizeOf(c.bias), 23) : null;
          const alphaVals = randn(n, 24);
          const dyVals = randn(sizeOf([...c.batch, m, n]), 25);
          const run = () =>
            tf.tidy(() => {
              const a = tf.tensor(aVals, [...c.batch, m, k]);
              const b = tf.tensor(bVals, [...c.batch, k, n]);
              const bias = biasVals ? tf.tensor(biasVals, c.bias!) : undefined;
              const alpha = tf.tensor1d(alphaVals);
              const f = (aa: tf.Tensor, bb: tf.Tensor, ...rest: tf.Tensor[]) =>
                tf.fused.matMul({
                  a: aa,
                  b: bb,
                  bias: rest[0],
                  activation: c.activation,
                  preluActivationWeights: c.activation === 'prelu' ? alpha : undefined,
                });
              const y = f(a, b, ...(bias ? [bias] : []));
              const grads = tf.grads(f)([a, b, ...(bias ? [bias] : [])], tf.tensor(dyVals, y.shape));
              return [y, ...grads].map((t) => t.dataSync() as Float32Array);
            });
          const expected = await onStockCpu(run);
          let actual: Float32Array[] = [];
          await expectNoLeak(() => {
            actual = run();
          });
          expect(actual.length, c.label).toBe(expected.length);
          actual.forEach((v, i) => expectClose(v, expected[i]!, { rtol: 1e-4, atol: 1e-4, label: `${c.label} output ${i}` }));
        }
      }));

    it(`conv2d, its input and filter gradients agree with stock cpu on random configurations${route}`, () =>
      withRoute(async () => {
        let seed = 1000;
        for (const c of convCases(14, 21)) {
          seed += 5;
          const expected = await onStockCpu(() => convGrads(c, seed));
          let actual!: ReturnType<typeof convGrads>;
          await expectNoLeak(() => {
            actual = convGrads(c, seed);
          });
          const label = JSON.stringify(c);
          expectClose(actual.y, expected.y, { rtol: 1e-4, atol: 1e-4, label: `${label} y` });
          expectClose(actual.dx, expected.dx, { rtol: 1e-4, atol: 1e-4, label: `${label} dx` });
          expectClose(actual.dw, expected.dw, { rtol: 1e-4, atol: 2e-4, label: `${label} dw` });
        }
      }));

    it(`sum over every axis set (adjacent or not, keepDims or not) and its gradient agree with stock cpu${route}`, () =>
      withRoute(async () => {
        const u = rng(41);
        const cases: Array<[number[], number[] | null]> = [
          [[7], [0]],
          [[300], null],
          [[5, 37], [1]],
          [[5, 37], [0]],
          [
            [128, 14, 14, 32],
            [0, 1, 2],
          ],
          [
            [3, 1, 70, 2],
            [1, 2],
          ],
          [
            [4, 5, 6],
            [0, 2],
          ],
          [[4, 5, 6], [1]],
          [[2, 3, 1, 5], [2]],
          [[6, 130], [0]],
          [
            [6, 9, 3],
            [-1, -2],
          ],
          [[2, 0, 3], [1]], // empty: zeros (the stock wasm kernel returned stale heap contents)
        ];
        for (const [shape, axes] of cases) {
          for (const keepDims of [false, true]) {
            const vals = randn(
              shape.reduce((a, b) => a * b, 1),
              Math.floor(u() * 1e6),
            );
            const run = () =>
              tf.tidy(() => {
                const x = tf.tensor(vals, shape);
                const w = tf.tensor(randn(tf.sum(x, axes ?? undefined, keepDims).size, 5), tf.sum(x, axes ?? undefined, keepDims).shape);
                const [y, g] = [
                  tf.sum(x, axes ?? undefined, keepDims),
                  tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, axes ?? undefined, keepDims), w)))(x),
                ];
                return { shape: y.shape, y: Array.from(y.dataSync()), g: Array.from(g.dataSync()) };
              });
            const expected = await onStockCpu(run);
            let actual!: ReturnType<typeof run>;
            await expectNoLeak(() => {
              actual = run();
            });
            const label = `sum ${JSON.stringify(shape)} over ${JSON.stringify(axes)} keepDims ${keepDims}`;
            expect(actual.shape, label).toEqual(expected.shape);
            // Float32 sums of r terms in two orders: tolerance by the terms summed.
            const r = shape.reduce((a, b) => a * b, 1) / Math.max(1, actual.y.length);
            expectClose(actual.y, expected.y, { rtol: 1e-5, atol: 1e-6 * r, label });
            expectClose(actual.g, expected.g, { label: `${label} gradient` });
          }
        }
      }));

    it(`relu keeps NaN and gives +0 for -0 as stock cpu; its gradient (DlvmReluGrad) has stock's bits, and a zero second derivative${route}`, () =>
      withRoute(async () => {
        const vals = [...randn(1001, 77), NaN, -NaN, Infinity, -Infinity, -0, 0, 1e-40, -1e-40];
        // Incoming gradients of both signs, some infinite: dy 0 is -0 for negative dy and NaN for infinite dy.
        const w = Array.from(randn(vals.length, 78), (v, i) => (i % 97 === 0 ? (i % 2 ? Infinity : -Infinity) : v));
        w[vals.length - 4] = -2; // x = -0
        w[vals.length - 3] = Infinity; // x = 0
        const run = () =>
          tf.tidy(() => {
            const x = tf.tensor1d(vals);
            const wt = tf.tensor1d(w);
            const first = (t: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(tf.relu(u), wt)))(t);
            return {
              y: Array.from(tf.relu(x).dataSync()),
              g: Array.from(first(x).dataSync()),
              gg: Array.from(
                tf
                  .grad((t: tf.Tensor) => tf.sum(tf.mul(first(t), tf.onesLike(t))))(tf.tensor1d(vals.map((v) => (Number.isFinite(v) ? v : 1))))
                  .dataSync(),
              ),
            };
          });
        const expected = await onStockCpu(run);
        let actual!: ReturnType<typeof run>;
        await expectNoLeak(() => {
          actual = run();
        });
        const bad = actual.y.findIndex((v, i) => !Object.is(v, expected.y[i]));
        expect(bad, `relu element ${bad} (${vals[bad]}): ${actual.y[bad]}, cpu ${expected.y[bad]}`).toBe(-1);
        const badGrad = actual.g.findIndex((v, i) => !Object.is(v, expected.g[i]));
        expect(badGrad, `gradient element ${badGrad} (x ${vals[badGrad]}, dy ${w[badGrad]}): ${actual.g[badGrad]}, cpu ${expected.g[badGrad]}`).toBe(-1);
        expect(actual.gg.every((v) => v === 0)).toBe(true);
        expect(expected.gg.every((v) => v === 0)).toBe(true);
        // One launch for the gradient, not Step, Cast and Multiply.
        const x = tf.tensor1d(vals);
        const profiled = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.relu(t))(x));
        const names = profiled.kernels.map((k) => k.name);
        expect(names).toContain('DlvmReluGrad');
        expect(names.filter((n) => n === 'Step' || n === 'Cast')).toEqual([]);
        tf.dispose([x, profiled.result as tf.Tensor]);
      }));

    it(`conv2dTranspose (Conv2DBackpropInput forward) agrees with stock cpu${route}`, () =>
      withRoute(async () => {
        let seed = 5000;
        for (const c of convCases(6, 99)) {
          seed += 5;
          const expected = await onStockCpu(() => convTranspose(c, seed));
          let actual!: Float32Array;
          await expectNoLeak(() => {
            actual = convTranspose(c, seed);
          });
          expectClose(actual, expected, { rtol: 1e-4, atol: 1e-4, label: JSON.stringify(c) });
        }
      }));
  }

  it('gather has a gradient (UnsortedSegmentSum) that agrees with stock cpu', async () => {
    const table = randn(10 * 6, 3);
    const run = () =>
      tf.tidy(() => {
        const params = tf.tensor2d(table, [10, 6]);
        const idx = tf.tensor1d([3, 0, 3, 9, 7, 3, 1], 'int32');
        const g = tf.grad((p: tf.Tensor) => tf.gather(p, idx).square().sum())(params);
        const idx2 = tf.tensor2d(
          [
            [1, 2],
            [2, 5],
          ],
          [2, 2],
          'int32',
        );
        const g2 = tf.grad((p: tf.Tensor) => tf.gather(p, idx2, 1).mul(2).sum())(params);
        const seg = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5], 'int32'), tf.tensor1d([0, 2, 0, 7, 1], 'int32'), 3);
        return [Array.from(g.dataSync()), Array.from(g2.dataSync()), Array.from(seg.dataSync())];
      });
    const expected = await onStockCpu(run);
    let actual: number[][] = [];
    await expectNoLeak(() => {
      actual = run();
    });
    expectClose(actual[0]!, expected[0]!, { label: 'gather axis 0' });
    expectClose(actual[1]!, expected[1]!, { label: 'gather axis 1' });
    // Segment id 7 is out of range and dropped, as in TensorFlow.
    expect(Array.from(actual[2]!)).toEqual([4, 5, 2]);
    expect(Array.from(expected[2]!)).toEqual([4, 5, 2]);
  });

  it('identity (tf.clone) keeps the values of every dtype after the original is freed, and shares the data on wasm as on cpu', async () => {
    await expectNoLeak(async () => {
      for (const [values, dtype] of [
        [[1.5, -2, NaN], 'float32'],
        [[3, -4, 7], 'int32'],
        [[1, 0, 1], 'bool'],
      ] as const) {
        const x = tf.tensor([...values], [3], dtype);
        const y = tf.clone(x);
        expect(y.dataId, `${dtype}: a clone shares the data`).toBe(x.dataId);
        x.dispose();
        expect(Array.from(await y.data()), dtype).toEqual([...values]);
        y.dispose();
      }
      const s = tf.tensor(['a', 'b']);
      const t = tf.clone(s);
      s.dispose();
      expect(await t.data()).toEqual(['a', 'b']);
      t.dispose();
    });
  });

  it('tile (and broadcastTo) agree with stock cpu for every dtype, rank and repeat pattern, with gradients', async () => {
    const u = rng(11);
    const cases: Array<{ shape: number[]; reps: number[] }> = [
      // IWAE's repeatBatch: [B, D] repeated along a new leading axis, and the inner-axis forms.
      { shape: [1, 5, 7], reps: [4, 1, 1] },
      { shape: [3, 4], reps: [1, 3] },
      { shape: [2, 3, 1], reps: [2, 1, 5] },
      { shape: [], reps: [] },
      { shape: [0, 3], reps: [2, 2] },
      { shape: [4], reps: [1] },
    ];
    for (let i = 0; i < 12; i++) {
      const rank = randint(u, 1, 4);
      cases.push({ shape: Array.from({ length: rank }, () => randint(u, 1, 4)), reps: Array.from({ length: rank }, () => randint(u, 1, 3)) });
    }
    const run = () =>
      tf.tidy(() =>
        cases.map(({ shape, reps }, i) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const f = tf.tensor(randn(n, 100 + i), shape);
          const int = tf.tensor(
            Array.from({ length: n }, (_, j) => j * 7 - 3),
            shape,
            'int32',
          );
          const bool = tf.tensor(
            Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 1 : 0)),
            shape,
            'bool',
          );
          const w = tf.tensor(
            randn(n * reps.reduce((a, b) => a * b, 1), 200 + i),
            shape.map((s, d) => s * reps[d]!),
          );
          // tfjs-core defines Tile's gradient for ranks 1 to 4.
          const grad = shape.length >= 1 && shape.length <= 4 ? tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.tile(x, reps), w)))(f) : tf.zeros([0]);
          const target = shape.map((s, d) => (s === 1 ? reps[d]! : s));
          return [f, int, bool]
            .map((t) => Array.from(tf.tile(t, reps).dataSync()))
            .concat([Array.from(grad.dataSync()), Array.from(tf.broadcastTo(f, target).dataSync())]);
        }),
      );
    const expected = await onStockCpu(run);
    let actual: number[][][] = [];
    await expectNoLeak(() => {
      actual = run();
    });
    cases.forEach(({ shape, reps }, i) => {
      const label = `tile ${JSON.stringify(shape)} x ${JSON.stringify(reps)}`;
      // Copies are exact: float32, int32 and bool values equal the cpu's bit for bit.
      for (let k = 0; k < 3; k++) expect(actual[i]![k], `${label} dtype ${k}`).toEqual(expected[i]![k]);
      expectClose(actual[i]![3]!, expected[i]![3]!, { label: `${label} gradient` });
      expect(actual[i]![4], `${label} broadcastTo`).toEqual(expected[i]![4]);
    });
  });

  if (backend === 'wasm') {
    it('splits large products with a helper thread on the threaded build, each element the ordered float32 sum to the bit', async () => {
      const info = await initBackend('wasm'); // already initialised: reports its threads
      // On this machine (2 cores and more) the threaded build runs; a helper for the SIMD product with it.
      expect(info.threads).toBeGreaterThan(1);
      expect(simdHelperRunning(tf.backend())).toBe(true);
      const [m, k, n] = [97, 300, 130]; // 3.8 million multiply-adds: chunks of 52 and 45 rows, claimed by the two threads
      expect(m * k * n).toBeGreaterThanOrEqual(HELPER_MIN_MACS);
      const aVals = randn(m * k, 31);
      const bVals = randn(k * n, 32);
      const fr = Math.fround;
      const expected = new Float32Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s = fr(s + fr(aVals[i * k + p]! * bVals[p * n + j]!));
          expected[i * n + j] = s;
        }
      }
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, false],
        [false, true],
      ] as const) {
        let actual!: Float32Array;
        await expectNoLeak(async () => {
          const a0 = tf.tensor2d(aVals, [m, k]);
          const b0 = tf.tensor2d(bVals, [k, n]);
          const a = transposeA ? tf.transpose(a0) : a0;
          const b = transposeB ? tf.transpose(b0) : b0;
          const c = tf.matMul(a, b, transposeA, transposeB);
          actual = (await c.data()) as Float32Array;
          tf.dispose([a0, b0, a, b, c]);
        });
        const bad = actual.findIndex((v, i) => !Object.is(v, expected[i]));
        expect(bad, `tA=${transposeA} tB=${transposeB}: element ${bad} is ${actual[bad]}, expected ${expected[bad]}`).toBe(-1);
      }
    });
  }

  if (backend === 'wasm') {
    it('splits the patches of convolutions (im2col, col2im) by images among the helper threads: each image as when computed alone, to the bit', async () => {
      expect(simdHelperRunning(tf.backend())).toBe(true);
      const [n, h, w, ci, co] = [48, 14, 14, 32, 16]; // 48 x 7 x 7 x 288 = 677,376 patch values: split
      const xVals = randn(n * h * w * ci, 61);
      const fVals = randn(9 * ci * co, 62);
      const dyVals = randn(n * 7 * 7 * co, 63);
      const run = (first: number, count: number): Float32Array[] =>
        tf.tidy(() => {
          const x = tf.tensor4d(xVals.subarray(first * h * w * ci, (first + count) * h * w * ci), [count, h, w, ci]);
          const f = tf.tensor4d(fVals, [3, 3, ci, co]);
          const dy = tf.tensor4d(dyVals.subarray(first * 49 * co, (first + count) * 49 * co), [count, 7, 7, co]);
          const y = tf.conv2d(x, f, 2, 'same');
          const dx = tf.conv2dTranspose(dy, f, [count, h, w, ci], 2, 'same');
          return [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
        });
      let whole: Float32Array[] = [];
      await expectNoLeak(() => {
        whole = run(0, n);
      });
      for (const image of [0, n - 1]) {
        const alone = run(image, 1);
        alone.forEach((part, k) => {
          const size = part.length;
          const bad = part.findIndex((v, i) => !Object.is(v, whole[k]![image * size + i]));
          expect(bad, `${k === 0 ? 'conv2d' : 'conv2dTranspose'} image ${image}: element ${bad}`).toBe(-1);
        });
      }
    });

    it("sums with the helper threads, each output in the kernel's fixed order to the bit (ordered over rows; 16 lanes for contiguous runs)", async () => {
      expect(simdHelperRunning(tf.backend())).toBe(true);
      const fr = Math.fround;
      // Columns: out[j] = (((x0j + x1j) + x2j) + ...) in float32, the sequential order.
      const columns = (x: Float32Array, outer: number, r: number, inner: number): Float32Array => {
        const out = new Float32Array(outer * inner);
        for (let a = 0; a < outer; a++) {
          for (let j = 0; j < inner; j++) {
            let s = 0;
            for (let i = 0; i < r; i++) s = fr(s + x[(a * r + i) * inner + j]!);
            out[a * inner + j] = s;
          }
        }
        return out;
      };
      // Runs: 16 lanes (element e in lane e mod 16 while 16 remain), lanes folded as the kernel does, then the tail.
      const runs = (x: Float32Array, outer: number, r: number): Float32Array => {
        const out = new Float32Array(outer);
        for (let a = 0; a < outer; a++) {
          const lane = new Array<number>(16).fill(0);
          const body = r - (r % 16);
          for (let e = 0; e < body; e++) lane[e % 16] = fr(lane[e % 16]! + x[a * r + e]!);
          const v = [0, 1, 2, 3].map((q) => fr(fr(lane[q]! + lane[q + 4]!) + fr(lane[q + 8]! + lane[q + 12]!)));
          let s = fr(fr(fr(v[0]! + v[1]!) + v[2]!) + v[3]!);
          for (let e = body; e < r; e++) s = fr(s + x[a * r + e]!);
          out[a] = s;
        }
        return out;
      };
      for (const [shape, axes, reference] of [
        [[128, 14, 14, 32], [0, 1, 2], (x: Float32Array) => columns(x, 1, 128 * 14 * 14, 32)], // split over columns
        [[3, 4000, 40], [1], (x: Float32Array) => columns(x, 3, 4000, 40)], // over rows of the output
        [[50, 1000, 300], [1], (x: Float32Array) => columns(x, 50, 1000, 300)], // rows added in turn (inner > 64)
        [[1000, 785], [1], (x: Float32Array) => runs(x, 1000, 785)], // contiguous runs
      ] as const) {
        const vals = new Float32Array(
          randn(
            shape.reduce((p, q) => p * q, 1),
            91,
          ),
        );
        let actual!: Float32Array;
        await expectNoLeak(async () => {
          const x = tf.tensor(vals, [...shape]);
          const y = tf.sum(x, [...axes]);
          actual = (await y.data()) as Float32Array;
          tf.dispose([x, y]);
        });
        const expected = reference(vals);
        const bad = actual.findIndex((v, i) => !Object.is(v, expected[i]));
        expect(bad, `${JSON.stringify(shape)}: output ${bad} is ${actual[bad]}, expected ${expected[bad]}`).toBe(-1);
      }
    });
  }

  it('log1p is exact for small arguments (float64 Math.log1p as reference)', async () => {
    const xs = [1e-10, -1e-8, 1e-7, 3e-6, -2e-4, 0.01, 0.5, -0.9, 3, 1e6, 0, -1];
    let got: number[] = [];
    await expectNoLeak(() => {
      got = tf.tidy(() => Array.from(tf.log1p(tf.tensor1d(xs)).dataSync()));
    });
    // Within one float32 rounding of the double-precision answer.
    expectClose(got, xs.map(Math.log1p), { rtol: 1.2e-7, atol: 0, label: 'log1p' });
  });
});
