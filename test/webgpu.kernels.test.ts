/**
 * dlvm's webgpu fixes (src/backend/kernels/webgpu.ts) agree with tfjs's stock cpu
 * kernels: int32/bool transposes and the reductions, arg-reductions and cumulative sums that
 * transpose internally, ArgMax/ArgMin ties, int32 UnsortedSegmentSum, reverse cumsum, casts of
 * GPU-resident int32/bool to float32 (and the other casts between int32, bool and float32), and
 * the accurate Exp, Log, Log1p, Expm1, Softplus, Sigmoid, Tanh, Sinh, Cosh, Erf, Elu, Selu;
 * and NaN and infinities through relu, relu6, leakyrelu, prelu, maximum, minimum, clipByValue and
 * the fused matMul / conv2d / depthwise conv2d (with bounded matmul reads of b), as on the cpu.
 *
 * Runs on webgpu in Node (Dawn, by default over its OpenGL ES backend: Mesa's llvmpipe needs no
 * GPU; `DLVM_DAWN_FLAGS` picks another); it fails where no adapter can be had. GPU tensors are
 * read with `await t.data()` only (synchronous reads throw there). Inputs are made larger than
 * the webgpu backend's CPU hand-off size or with `WEBGPU_CPU_FORWARD` off, so the shaders run;
 * one test covers the CPU hand-off path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlvmKernelNames, manualSeed, registerDlvmKernels, restoreStockKernels, VAE } from '../src/index.js';
import { expectClose, expectNoLeak, onStockCpu, randn, useBackend } from './helpers/backends.js';

// Required: a machine without any WebGPU adapter fails here with initBackend's message.
await useBackend('webgpu');

type Out = { dtype: string; values: number[] };

/** Runs `fn` on the current (webgpu) backend and reads its outputs asynchronously. */
async function onGpu(fn: () => tf.Tensor | tf.Tensor[]): Promise<Out[]> {
  return read(tf.tidy(fn));
}

/** Runs `fn` on the cpu backend with stock tfjs kernels. */
async function onCpu(fn: () => tf.Tensor | tf.Tensor[]): Promise<Out[]> {
  return read(await onStockCpu(() => tf.tidy(fn)));
}

async function read(out: tf.Tensor | tf.Tensor[]): Promise<Out[]> {
  const list = Array.isArray(out) ? out : [out];
  const res: Out[] = [];
  for (const t of list) {
    res.push({ dtype: t.dtype, values: Array.from(await t.data()) });
    t.dispose();
  }
  return res;
}

/** Asserts webgpu == stock cpu for `fn` (exactly for int/bool, within rtol for floats). */
async function expectSame(label: string, fn: () => tf.Tensor | tf.Tensor[], rtol = 0, atol = 0): Promise<void> {
  const gpu = await onGpu(fn);
  const cpu = await onCpu(fn);
  expect(gpu.length, label).toBe(cpu.length);
  gpu.forEach((g, k) => expectClose(g.values, cpu[k]!.values, { rtol, atol, label: `${label}[${k}]` }));
}

const SHAPE: [number, number, number] = [4, 5, 60];
const R = Array.from(randn(SHAPE[0] * SHAPE[1] * SHAPE[2], 3));
const ints = () =>
  tf.tensor3d(
    R.map((v) => Math.round(v * 20)),
    SHAPE,
    'int32',
  );
const small = () =>
  tf.tensor3d(
    R.map((v) => Math.min(2, Math.max(-1, Math.round(v)))),
    SHAPE,
    'int32',
  );
const bools = (t: number) =>
  tf.tensor3d(
    R.map((v) => (v > t ? 1 : 0)),
    SHAPE,
    'bool',
  );
const AXES: (number | number[])[] = [0, 1, 2, [0, 1], [1, 2], [0, 2], [0, 1, 2]];

/**
 * Asserts that `t`'s data is in a GPU buffer when on webgpu (not CPU values the backend would
 * compute on there), and returns it.
 */
function onDevice<T extends tf.Tensor>(t: T): T {
  if (tf.getBackend() === 'webgpu') {
    const map = (tf.backend() as unknown as { tensorMap: { get(id: object): { resource?: unknown } | undefined } }).tensorMap;
    expect(map.get(t.dataId)?.resource != null, 'input is on the GPU').toBe(true);
  }
  return t;
}

/** Pipeline cache keys of the webgpu backend compiled so far. */
function shaderKeys(): string[] {
  return Object.keys((tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache);
}

/** Float32 rounding of a double-precision reference. */
const f32 = (v: number) => Math.fround(v);

const SELU_SCALE = tf.backend_util.SELU_SCALE;
const SELU_SCALEALPHA = tf.backend_util.SELU_SCALEALPHA;

/** Inputs over many magnitudes and both signs, with the specials, filtered to a domain. */
function grid(keep: (v: number) => boolean = () => true): number[] {
  const out: number[] = [0, -0, NaN, Infinity, -Infinity, 1.2e-38, -1.2e-38, 3e38, -3e38];
  for (let i = 0; i <= 400; i++) {
    const m = Math.pow(10, -37 + (75 * i) / 400);
    out.push(m, -m);
  }
  for (let i = 0; i < 300; i++) {
    const m = Math.pow(10, -9 + (11 * i) / 300);
    out.push(m, -m);
  }
  for (const s of [0.3, 3, 30]) for (const v of randn(300, 17)) out.push(v * s);
  for (const b of [0.29289321, 0.34657359, 0.41421356, 0.5, 1, 9, 10, 13.94, 88.72, 89.4]) {
    for (const d of [-1e-6, 0, 1e-6]) out.push(b + d, -(b + d));
  }
  return out.map(f32).filter(keep);
}

describe('dlvm webgpu kernels vs stock cpu', () => {
  let before = 0;
  beforeAll(() => {
    // Small tensors would otherwise be computed on the CPU; run every shader.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('registers its webgpu kernels, and restoreStockKernels / registerDlvmKernels round-trip them', async () => {
    const all = dlvmKernelNames();
    const names = all.filter((k) => k.endsWith('@webgpu'));
    for (const k of [
      'Transpose',
      'ArgMax',
      'ArgMin',
      'Cumsum',
      'UnsortedSegmentSum',
      'Cast',
      'AddN',
      'Log1p',
      'Log',
      'Exp',
      'Expm1',
      'Softplus',
      'Tanh',
      'Erf',
      'Relu',
      'Relu6',
      '_FusedMatMul',
      'BatchMatMul',
      'FusedConv2D',
    ]) {
      expect(names).toContain(`${k}@webgpu`);
    }
    const proto = Object.getPrototypeOf(tf.backend()) as { runWebGPUProgram: unknown };
    const fixed = proto.runWebGPUProgram;
    const dlvmCast = tf.getKernel('Cast', 'webgpu')?.kernelFunc;
    restoreStockKernels();
    expect(dlvmKernelNames()).toEqual([]);
    expect(proto.runWebGPUProgram).not.toBe(fixed);
    expect(tf.getKernel('Cast', 'webgpu')?.kernelFunc).not.toBe(dlvmCast); // the stock Cast is back
    registerDlvmKernels();
    expect(dlvmKernelNames()).toEqual(all);
    expect(proto.runWebGPUProgram).not.toBe(fixed); // a fresh wrapper, installed again
    await expectNoLeak(() => expectSame('transpose after re-registering', () => tf.transpose(ints(), [2, 0, 1])));
  });

  it('adds any number of tensors (the stock AddN summed only the first 7 of 8 or more), with gradients and no leaks', async () => {
    for (const n of [2, 7, 8, 9, 30, 64]) {
      await expectSame(`addN of ${n}`, () =>
        tf.tidy(() => tf.addN(Array.from({ length: n }, (_, i) => tf.mul(tf.fill([3, 5], i + 1), tf.range(1, 16).reshape([3, 5]))))),
      );
    }
    await expectNoLeak(async () => {
      const xs = Array.from({ length: 20 }, (_, i) => tf.fill([4], i));
      const s = tf.addN(xs);
      expect(Array.from(await s.data())).toEqual([190, 190, 190, 190]);
      const g = tf.grads((...v: tf.Tensor[]) => tf.sum(tf.addN(v)))(xs);
      expect(g.length).toBe(20);
      tf.dispose([...xs, s, ...g]);
    });
  });

  it('transposes int32 and bool tensors of every rank and permutation exactly', async () => {
    await expectNoLeak(async () => {
      for (const perm of [
        [0, 2, 1],
        [1, 0, 2],
        [2, 1, 0],
        [1, 2, 0],
        [2, 0, 1],
      ]) {
        await expectSame(`int32 ${perm}`, () => tf.transpose(ints(), perm));
        await expectSame(`bool ${perm}`, () => tf.transpose(bools(0.5), perm));
      }
      const flat = R.slice(0, 1200).map((v) => Math.round(v * 7e8)); // beyond 2^24: no f32 round trip
      await expectSame('int32 4-D', () => tf.transpose(tf.tensor4d(flat, [2, 3, 4, 50], 'int32'), [3, 1, 0, 2]));
      await expectSame('int32 2-D large values', () => tf.transpose(tf.tensor2d(flat, [30, 40], 'int32')));
      await expectSame('bool 2-D', () =>
        tf.transpose(
          tf.tensor2d(
            flat.map((v) => (v > 0 ? 1 : 0)),
            [30, 40],
            'bool',
          ),
        ),
      );
      await expectSame('int32 5-D', () => tf.transpose(tf.reshape(ints(), [2, 2, 5, 6, 10]), [4, 2, 0, 3, 1]));
    });
  });

  it('keeps the stock programs for float32 transposes', async () => {
    await expectNoLeak(async () => {
      const x = tf.tensor3d(R, SHAPE);
      const seen = new Set(shaderKeys());
      const t = tf.transpose(x, [1, 2, 0]);
      await t.data();
      const afterFloat = shaderKeys().filter((k) => !seen.has(k));
      expect(afterFloat.some((k) => k.startsWith('transpose_1,2,0'))).toBe(true);
      expect(afterFloat.some((k) => k.startsWith('dlvm_'))).toBe(false);
      const i = ints();
      const ti = tf.transpose(i, [1, 2, 0]);
      await ti.data();
      expect(shaderKeys().some((k) => k.startsWith('dlvm_transpose_i32_1,2,0'))).toBe(true);
      tf.dispose([x, t, i, ti]);
    });
  });

  it('reduces int32 and bool tensors over every axis as the cpu does', async () => {
    await expectNoLeak(async () => {
      for (const axis of AXES) {
        for (const [name, op] of [
          ['sum', tf.sum],
          ['max', tf.max],
          ['min', tf.min],
        ] as const) {
          await expectSame(`${name} int32 axis ${axis}`, () => op(ints(), axis));
        }
        await expectSame(`prod int32 axis ${axis}`, () => tf.prod(small(), axis));
        await expectSame(`mean int32 axis ${axis}`, () => tf.mean(ints(), axis), 1e-6, 1e-5);
        await expectSame(`all axis ${axis}`, () => tf.all(bools(-1.2), axis));
        await expectSame(`any axis ${axis}`, () => tf.any(bools(1.2), axis));
        await expectSame(`sum bool axis ${axis}`, () => tf.sum(bools(1.2), axis));
        // webgpu returns max of bool as int32 where the cpu returns bool: compare the values.
        await expectSame(`max bool axis ${axis}`, () => tf.cast(tf.max(bools(1.2), axis), 'int32'));
      }
      for (const axis of [0, 1, 2]) {
        await expectSame(`argMax int32 axis ${axis}`, () => tf.argMax(ints(), axis));
        await expectSame(`argMin int32 axis ${axis}`, () => tf.argMin(ints(), axis));
        await expectSame(`cumsum int32 axis ${axis}`, () => tf.cumsum(ints(), axis));
        await expectSame(`cumsum int32 reverse axis ${axis}`, () => tf.cumsum(ints(), axis, false, true));
      }
    });
  });

  it('breaks ArgMax / ArgMin ties to the first index and treats NaN as the cpu does', async () => {
    const rows = 40;
    const cols = 100; // both >= 32: the workgroup reduction, along either axis
    const tied = Array.from(randn(rows * cols, 9)).map((v) => Math.round(v));
    const withNaN = tied.map((v, i) => (i % cols === 0 && i % 3 === 0 ? NaN : i % 17 === 5 ? NaN : v));
    const allNaN = tied.map((v, i) => (i < cols ? NaN : i < 2 * cols ? -Infinity : v));
    await expectNoLeak(async () => {
      for (const [label, values] of [
        ['ties', tied],
        ['NaN', withNaN],
        ['all NaN / -inf rows', allNaN],
      ] as const) {
        for (const axis of [0, 1]) {
          await expectSame(`argMax ${label} axis ${axis}`, () => tf.argMax(tf.tensor2d(values, [rows, cols]), axis));
          await expectSame(`argMin ${label} axis ${axis}`, () => tf.argMin(tf.tensor2d(values, [rows, cols]), axis));
        }
      }
      await expectSame('argMax int32 ties', () => tf.argMax(tf.tensor2d(tied, [rows, cols], 'int32'), 1));
      await expectSame('argMax 1-D', () => tf.argMax(tf.tensor1d(tied)));
    });
  });

  it('sums int32 segments by value', async () => {
    const x = R.slice(0, 1200).map((v) => Math.round(v * 50));
    const ids = Array.from({ length: 60 }, (_, i) => (i * 37) % 10);
    await expectNoLeak(async () => {
      // The cpu returns float32 for int32 input; the values must agree.
      await expectSame('unsortedSegmentSum int32', () =>
        tf.cast(tf.unsortedSegmentSum(tf.tensor2d(x, [60, 20], 'int32'), tf.tensor1d(ids, 'int32'), 10), 'int32'),
      );
      await expectSame(
        'unsortedSegmentSum float32',
        () =>
          tf.unsortedSegmentSum(
            tf.tensor2d(
              x.map((v) => v / 7),
              [60, 20],
            ),
            tf.tensor1d(ids, 'int32'),
            10,
          ),
        1e-5,
        1e-5,
      );
    });
  });

  it('computes reverse cumulative sums and products for each row length', async () => {
    const x = () => tf.tensor3d(R, SHAPE);
    await expectNoLeak(async () => {
      // Same rank, different innermost lengths after the transpose: 4, 5, 60.
      for (const axis of [0, 1, 2]) {
        await expectSame(`cumsum reverse axis ${axis}`, () => tf.cumsum(x(), axis, false, true), 1e-5, 1e-4);
        await expectSame(`cumsum exclusive reverse axis ${axis}`, () => tf.cumsum(x(), axis, true, true), 1e-5, 1e-4);
        await expectSame(`cumprod reverse axis ${axis}`, () => tf.cumprod(tf.add(1, tf.mul(0.01, x())), axis, false, true), 1e-5, 1e-6);
      }
    });
  });

  /** GPU-resident bool tensors (`u < p`, computed on the GPU) of several shapes and ranks. */
  const U = (n: number, seed: number) => Array.from(randn(n, seed)).map((v) => 0.5 + 0.25 * v);
  const GPU_BOOLS: [string, () => tf.Tensor][] = [
    [
      '[2000, 2, 3]',
      () =>
        tf.less(
          tf.tensor3d(U(12000, 21), [2000, 2, 3]),
          tf.tensor2d([
            [0.9, 0.7, 0.5],
            [0.2, 0.8, 0.4],
          ]),
        ),
    ],
    ['[4, 5, 60]', () => tf.less(tf.tensor3d(U(1200, 22), SHAPE), 0.3)],
    ['[3, 4, 5, 6]', () => tf.less(tf.tensor4d(U(360, 23), [3, 4, 5, 6]), 0.6)],
    ['[37]', () => tf.greater(tf.tensor1d(U(37, 24)), 0.5)],
    ['[]', () => tf.less(tf.scalar(0.2), tf.scalar(0.5))],
  ];
  /** GPU-resident int32 tensors: int32 sums, an argMax and a full reduction, computed on the GPU. */
  const GPU_INTS: [string, () => tf.Tensor][] = [
    [
      'add [2000, 2, 3]',
      () =>
        tf.add(
          tf.tensor3d(
            Array.from({ length: 12000 }, (_, i) => Math.round(R[i % R.length]! * 50 + i)),
            [2000, 2, 3],
            'int32',
          ),
          tf.scalar(3, 'int32'),
        ),
    ],
    ['add [4, 5, 60]', () => tf.add(ints(), small())],
    ['argMax [2000, 3]', () => tf.argMax(tf.tensor3d(U(42000, 25), [2000, 3, 7]), -1)],
    [
      'add [2, 3, 4, 50]',
      () =>
        tf.add(
          tf.tensor4d(
            R.map((v) => Math.round(v * 1e4)),
            [2, 3, 4, 50],
            'int32',
          ),
          tf.scalar(1, 'int32'),
        ),
    ],
    ['sum []', () => tf.sum(ints())],
  ];

  /**
   * The cast itself, then the ops that failed on its relabelled buffer: transposes and (unless
   * `reduce` is false) reductions over axis 0.
   */
  function afterCast(y: tf.Tensor, reduce = true): tf.Tensor[] {
    const out = [
      y,
      tf.transpose(
        y,
        y.shape.map((_, i) => y.rank - 1 - i),
      ),
    ];
    if (y.rank > 2)
      out.push(
        tf.transpose(
          y,
          y.shape.map((_, i) => (i + 1) % y.rank),
        ),
      );
    if (reduce) out.push(tf.sum(y));
    if (reduce && y.rank > 0) out.push(tf.sum(y, 0), tf.mean(y, 0), tf.max(y, 0));
    return out;
  }

  it('casts GPU-resident bool and int32 tensors to float32 by value', async () => {
    await expectNoLeak(async () => {
      for (const [label, make] of GPU_BOOLS) {
        await expectSame(`bool ${label} -> float32`, () => afterCast(tf.cast(onDevice(make()), 'float32')), 1e-6, 1e-6);
      }
      for (const [label, make] of GPU_INTS) {
        // Sums and means of float32 round differently on the two backends: a relative tolerance.
        await expectSame(`int32 ${label} -> float32`, () => afterCast(tf.cast(onDevice(make()), 'float32')), 1e-6, 1e-6);
      }
      // Beyond 2^24 the conversion rounds to the nearest float32. The cpu backend's cast keeps
      // the Int32Array, so the reference is a float32 tensor of the rounded values; the GPU input
      // is an (exact, i32) transpose, as webgpu's int32 arithmetic goes through f32 itself.
      const huge = R.map((v) => Math.round(v * 4e8) + 1);
      const gpu = await onGpu(() => afterCast(tf.cast(onDevice(tf.transpose(tf.tensor4d(huge, [2, 3, 4, 50], 'int32'), [0, 1, 3, 2])), 'float32'), false));
      const cpu = await onCpu(() => afterCast(tf.transpose(tf.tensor4d(huge.map(f32), [2, 3, 4, 50]), [0, 1, 3, 2]), false));
      expect(gpu.map((o) => o.dtype)).toEqual(['float32', 'float32', 'float32']);
      gpu.forEach((g, k) => expectClose(g.values, cpu[k]!.values, { rtol: 0, atol: 0, label: `int32 beyond 2^24 [${k}]` }));
      // The reported case (sum and mean over axis 0 of u < p as float32), with the dtypes.
      const [gpuSum, gpuMean] = await onGpu(() => {
        const f = tf.cast(onDevice(GPU_BOOLS[0]![1]()), 'float32');
        return [tf.sum(f), tf.mean(f, 0)];
      });
      expect(gpuSum!.dtype).toBe('float32');
      expect(gpuMean!.dtype).toBe('float32');
      expect(shaderKeys().some((k) => k.startsWith('dlvm_cast_i32_f32'))).toBe(true);
    });
  });

  it('casts int32/bool to float32 right from CPU data, small (converted there) or large (uploaded)', async () => {
    const values = R.map((v) => Math.round(v * 20));
    await expectNoLeak(async () => {
      // Large: stays on the CPU until the cast, which uploads it.
      await expectSame(
        'large CPU bool',
        () =>
          afterCast(
            tf.cast(
              tf.tensor3d(
                values.map((v) => (v > 3 ? 1 : 0)),
                SHAPE,
                'bool',
              ),
              'float32',
            ),
          ),
        1e-6,
      );
      await expectSame('large CPU int32', () => afterCast(tf.cast(tf.tensor3d(values, SHAPE, 'int32'), 'float32')), 1e-6);
      // Small, with the CPU hand-off on: cast on the CPU; the result then goes to the GPU.
      for (const dtype of ['bool', 'int32'] as const) {
        await expectSame(`small CPU ${dtype}`, () => {
          tf.env().set('WEBGPU_CPU_FORWARD', true);
          let y: tf.Tensor;
          try {
            y = tf.cast(
              tf.tensor2d(
                values.slice(0, 24).map((v) => (dtype === 'bool' ? +(v > 3) : v)),
                [4, 6],
                dtype,
              ),
              'float32',
            );
          } finally {
            tf.env().set('WEBGPU_CPU_FORWARD', false);
          }
          return afterCast(y);
        });
      }
    });
  });

  it('casts GPU-resident tensors between float32, int32 and bool as the cpu does', async () => {
    const floats = () => tf.mul(tf.tensor3d(R, SHAPE), 7.3);
    const cases: [string, () => tf.Tensor][] = [
      ['float32 -> int32', () => tf.cast(onDevice(floats()), 'int32')],
      ['float32 -> bool', () => tf.cast(onDevice(tf.round(floats())), 'bool')],
      ['int32 -> bool', () => tf.cast(onDevice(tf.add(small(), tf.scalar(0, 'int32'))), 'bool')],
      ['bool -> int32', () => tf.cast(onDevice(GPU_BOOLS[0]![1]()), 'int32')],
      ['bool -> int32 [4, 5, 60]', () => tf.cast(onDevice(GPU_BOOLS[1]![1]()), 'int32')],
      ['int32 -> int32', () => tf.cast(onDevice(tf.add(ints(), small())), 'int32')],
      ['bool -> float32 -> int32', () => tf.cast(tf.cast(onDevice(GPU_BOOLS[0]![1]()), 'float32'), 'int32')],
      ['int32 -> complex64 (real part)', () => tf.real(tf.cast(onDevice(tf.add(ints(), small())), 'complex64'))],
    ];
    await expectNoLeak(async () => {
      for (const [label, make] of cases) await expectSame(label, () => afterCast(make()), 1e-6, 1e-6);
    });
  });

  /** [kernel, op, input domain, rtol vs cpu, where the cpu itself is inexact: a double reference]. */
  const MATH: [string, (x: tf.Tensor) => tf.Tensor, (v: number) => boolean, number, ((v: number) => number)?][] = [
    ['exp', tf.exp, () => true, 4e-7],
    ['log', tf.log, () => true, 4e-7],
    ['log1p', tf.log1p, () => true, 4e-7],
    ['expm1', tf.expm1, () => true, 5e-7],
    ['softplus', tf.softplus, () => true, 8e-7],
    ['sigmoid', tf.sigmoid, () => true, 4e-7],
    ['tanh', tf.tanh, () => true, 4e-7],
    ['sinh', tf.sinh, () => true, 4e-7],
    ['cosh', tf.cosh, () => true, 4e-7],
    // The cpu's erf (Abramowitz-Stegun, 1.5e-7 absolute) loses small x; the series is checked there.
    ['erf', tf.erf, (v) => Math.abs(v) >= 0.5 || Number.isNaN(v), 4e-7],
    ['erf small', tf.erf, (v) => Math.abs(v) < 0.5, 2e-7, erfSeries],
    // The cpu computes exp(x) - 1, exact only down to |x| ~ 1e-9.
    ['elu', tf.elu, (v) => !(Math.abs(v) < 1e-9), 5e-7],
    ['elu small', tf.elu, (v) => Math.abs(v) < 1e-9, 2e-7, (v) => (v >= 0 ? v : Math.expm1(v))],
    ['selu', tf.selu, (v) => !(Math.abs(v) < 1e-9), 5e-7],
    ['selu small', tf.selu, (v) => Math.abs(v) < 1e-9, 2e-7, (v) => (v >= 0 ? SELU_SCALE * v : SELU_SCALEALPHA * Math.expm1(v))],
  ];

  it.each(MATH)('%s matches the cpu over many magnitudes and the special values', async (_name, op, keep, rtol, exact) => {
    const xs = grid(keep);
    const near1 = Array.from({ length: 400 }, (_, k) => f32(1 + (k - 200) * 2 ** -23));
    const nearMinus1 = Array.from({ length: 200 }, (_, k) => f32(-1 + (k + 1) * 2 ** -24));
    const inputs = _name === 'log' ? [...xs, ...near1] : _name === 'log1p' ? [...xs, ...near1.map((v) => f32(v - 1)), ...nearMinus1] : xs;
    // Subnormal results may be flushed to zero on the GPU: atol is the smallest normal float.
    const atol = 1.2e-38;
    await expectNoLeak(async () => {
      const [gpu] = await onGpu(() => op(tf.tensor1d(inputs)));
      const reference = exact ? inputs.map((v) => f32(exact(v))) : (await onCpu(() => op(tf.tensor1d(inputs))))[0]!.values;
      expectClose(gpu!.values, reference, { rtol, atol, label: _name });
    });
  });

  it('handles scalars, empty tensors and higher ranks in the math kernels', async () => {
    await expectNoLeak(async () => {
      await expectSame('scalar', () => [tf.log1p(tf.scalar(1e-7)), tf.expm1(tf.scalar(-3e-8)), tf.log(tf.scalar(1 - 2 ** -24))], 2e-7);
      await expectSame('empty', () => tf.softplus(tf.zeros([0, 3])));
      await expectSame(
        '4-D',
        () =>
          tf.tanh(
            tf.tensor4d(
              R.map((v) => v * 1e-3),
              [2, 3, 4, 50],
            ),
          ),
        4e-7,
      );
    });
  });

  it('keeps the gradients of the replaced kernels (tfjs-core defines them by kernel name)', async () => {
    const x = Array.from(randn(2000, 5)).map((v) => v * 3);
    const pos = x.map((v) => Math.abs(v) + 1e-3);
    await expectNoLeak(async () => {
      for (const [name, op, data] of [
        ['log1p', tf.log1p, pos],
        ['log', tf.log, pos],
        ['exp', tf.exp, x],
        ['expm1', tf.expm1, x],
        ['softplus', tf.softplus, x],
        ['sigmoid', tf.sigmoid, x],
        ['tanh', tf.tanh, x],
        ['sinh', tf.sinh, x],
        ['erf', tf.erf, x],
        ['elu', tf.elu, x],
        ['selu', tf.selu, x],
      ] as const) {
        // tanh' = 1 - y^2 and sigmoid' = y (1 - y) cancel where y rounds near 1: atol of a few ulp(1).
        await expectSame(`d ${name}`, () => tf.grad((t: tf.Tensor) => tf.sum(op(t)))(tf.tensor1d(data)), 2e-6, 5e-7);
      }
    });
  });

  it('computes small CPU-resident tensors on the CPU path as accurately', async () => {
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    try {
      const xs = [0, 1e-30, -1e-7, 3e-8, 1e-5, -0.3, 0.5, 2, -13, 20, 88, NaN, Infinity, -Infinity];
      await expectNoLeak(async () => {
        for (const op of [tf.exp, tf.expm1, tf.softplus, tf.sigmoid, tf.tanh, tf.sinh, tf.cosh, tf.elu, tf.selu]) {
          await expectSame(`cpu path ${op.name}`, () => op(tf.tensor1d(xs)), 2e-7, 1.2e-38);
        }
        const pos = xs.map((v) => Math.abs(v));
        await expectSame('cpu path log', () => tf.log(tf.tensor1d(pos)), 2e-7, 1.2e-38);
        await expectSame('cpu path log1p', () => tf.log1p(tf.tensor1d([...pos, -1, -0.5, -2])), 2e-7, 1.2e-38);
        const small = [1e-9, -1e-20, 0.4, -0.3].map(f32);
        const [g] = await onGpu(() => tf.erf(tf.tensor1d(small)));
        expectClose(
          g!.values,
          small.map((v) => f32(erfSeries(v))),
          { rtol: 2e-7, label: 'cpu path erf' },
        );
        await expectSame('cpu path erf', () => tf.erf(tf.tensor1d([0.5, -0.7, 2, 4, NaN, Infinity])), 2e-7);
      });
    } finally {
      tf.env().set('WEBGPU_CPU_FORWARD', false);
    }
  });

  /** float32 normals with NaN of both signs and +-inf at the given indices (index -> kind). */
  function sprinkled(n: number, seed: number, at: Record<number, 'nan' | '-nan' | 'inf' | '-inf'>, scale = 1): number[] {
    const out = randn(n, seed).map((v) => v * scale);
    const bits = new Uint32Array(out.buffer);
    for (const [i, kind] of Object.entries(at)) {
      const j = Number(i) % n;
      // A NaN with the sign bit set, as inf - inf makes it.
      if (kind === '-nan') bits[j] = 0xffc00000;
      else out[j] = kind === 'nan' ? NaN : kind === 'inf' ? Infinity : -Infinity;
    }
    return Array.from(out);
  }
  /** Every seventh element a special (NaN, +-inf, +-0, the relu6 bound), the rest normals * 4. */
  const every = (n: number, seed: number) => {
    const at: Record<number, 'nan' | '-nan' | 'inf' | '-inf'> = {};
    const kinds = ['nan', '-nan', 'inf', '-inf'] as const;
    for (let i = 0; i < n; i += 7) at[i] = kinds[(i / 7 + seed) % 4]!;
    return sprinkled(n, seed, at, 4).map((v, i) => (i % 7 === 3 ? 0 : i % 7 === 5 ? 6 : v));
  };
  const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'] as const;

  it('keeps NaN through relu, relu6, leakyRelu, prelu, elu, maximum, minimum and clipByValue', async () => {
    const X = every(2400, 1);
    const Y = every(2400, 2);
    const x = () => tf.tensor2d(X, [40, 60]);
    const y = () => tf.tensor2d(Y, [40, 60]);
    type Binary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    const prelu = tf.prelu as Binary;
    await expectNoLeak(async () => {
      await expectSame('relu', () => tf.relu(x()));
      await expectSame('relu6', () => tf.relu6(x()));
      await expectSame('leakyRelu', () => tf.leakyRelu(x(), 0.2), 1e-6);
      await expectSame('elu', () => tf.elu(x()), 5e-7);
      await expectSame('prelu scalar alpha', () => prelu(x(), tf.scalar(0.3)), 1e-6);
      // Same shapes, last axis a multiple of 4: the vec4 program.
      await expectSame('prelu alpha per element', () => prelu(x(), y()), 1e-6);
      await expectSame('prelu alpha per channel', () => prelu(x(), tf.tensor1d(Y.slice(0, 60))), 1e-6);
      for (const [name, op] of [
        ['maximum', tf.maximum as Binary],
        ['minimum', tf.minimum as Binary],
      ] as const) {
        await expectSame(`${name} same shape`, () => [op(x(), y()), op(y(), x())]);
        await expectSame(`${name} scalar`, () => [op(x(), tf.scalar(0.5)), op(tf.scalar(0.5), x()), op(x(), tf.scalar(NaN))]);
        await expectSame(`${name} broadcast`, () => [op(x(), tf.tensor1d(Y.slice(0, 60))), op(tf.tensor2d(Y.slice(0, 40), [40, 1]), x())]);
      }
      await expectSame('clipByValue', () => [tf.clipByValue(x(), -1, 1), tf.clipByValue(x(), 1e-7, 1 - 1e-7)]);
    });
    expect(shaderKeys().some((k) => k.startsWith('unary_23_dlvmNaN'))).toBe(true);
  });

  it('fused matMul keeps NaN and infinities in every activation, program and transpose; b is read within bounds', async () => {
    // Output sizes and inner sizes that pick each matmul program: reduce (m n <= 128), small
    // output, split-K (inner >= 2000), packed (vec4 when sizes are multiples of 4).
    const shapes: [number, number, number, readonly (typeof ACTIVATIONS)[number][]][] = [
      [4, 300, 7, ACTIVATIONS],
      [33, 45, 24, ACTIVATIONS],
      [8, 2048, 20, ['linear', 'relu', 'prelu']],
      [64, 64, 64, ACTIVATIONS],
      [96, 200, 132, ['linear', 'relu', 'relu6', 'leakyrelu']],
    ];
    await expectNoLeak(async () => {
      for (const [m, k, n, activations] of shapes) {
        const A = sprinkled(m * k, 11, { 5: 'nan', [k * 2 + 7]: 'inf', [k * 3 + 1]: '-inf', [k * 3 + 4]: '-nan' });
        // The last element of b infinite: reads past its end used to pick it up.
        const B = sprinkled(k * n, 12, { [n * 4 + 9]: 'nan', 11: 'inf', [n * 6 + 3]: '-inf', [k * n - 1]: 'inf' });
        const bias = sprinkled(n, 13, { 3: 'nan', 5: '-inf', 6: 'inf' });
        const alpha = sprinkled(n, 14, { 2: 'nan', 4: 'inf' });
        for (const activation of activations) {
          for (const [transposeA, transposeB] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            await expectSame(
              `${m}x${k}x${n} ${activation} tA=${transposeA} tB=${transposeB}`,
              () => {
                const a = tf.tensor2d(A, [m, k]);
                const b = tf.tensor2d(B, [k, n]);
                const args = { a: transposeA ? tf.transpose(a) : a, b: transposeB ? tf.transpose(b) : b, transposeA, transposeB };
                return [
                  tf.fused.matMul({
                    ...args,
                    bias: tf.tensor1d(bias),
                    activation,
                    leakyreluAlpha: 0.2,
                    preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
                  }),
                  ...(activation === 'linear' ? [tf.matMul(args.a, args.b, transposeA, transposeB)] : []),
                ];
              },
              2e-4,
              2e-4,
            );
          }
        }
      }
    });
    const keys = shaderKeys();
    for (const prefix of ['matMulReduce_relu', 'matMulSmallOutputSize_relu', 'biasActivation_relu', 'matMulPacked_']) {
      expect(
        keys.some((k) => k.startsWith(prefix) && k.includes('_dlvmNaN')),
        `${prefix} in ${keys}`,
      ).toBe(true);
    }
    expect(keys.some((k) => k.startsWith('matMulSplitK_') && k.includes('_dlvmBoundedB'))).toBe(true);
  });

  it('multiplies by a transposed b through the split-K program as the cpu (it read the wrong elements)', async () => {
    // Batch 1, few output tiles, inner size >= 2000, outer sizes multiples of 4: split-K, vec4.
    await expectNoLeak(async () => {
      for (const [m, k, n] of [
        [8, 2048, 20],
        [4, 2000, 64],
        [16, 4096, 16],
      ] as const) {
        const A = Array.from(randn(m * k, 51));
        const B = Array.from(randn(n * k, 52));
        for (const transposeA of [false, true]) {
          await expectSame(
            `${m}x${k}x${n} tA=${transposeA} tB=true`,
            () => {
              const a = tf.tensor2d(A, [m, k]);
              const b = tf.tensor2d(B, [n, k]);
              return [
                tf.matMul(transposeA ? tf.transpose(a) : a, b, transposeA, true),
                tf.fused.matMul({ a: transposeA ? tf.transpose(a) : a, b, transposeA, transposeB: true, bias: tf.tensor1d(B.slice(0, n)), activation: 'relu' }),
              ];
            },
            1e-4,
            1e-4,
          );
        }
      }
    });
    expect(shaderKeys().some((k) => k.startsWith('matMulSplitK_false_true_') && k.includes('_dlvmGatherB'))).toBe(true);
  });

  it('fused conv2d and depthwise conv2d keep NaN and infinities in every activation', async () => {
    await expectNoLeak(async () => {
      for (const ci of [3, 4]) {
        const xv = sprinkled(2 * 11 * 11 * ci, 21, { 7: 'nan', 100: 'inf', 200: '-nan', 301: '-inf' });
        const wv = sprinkled(3 * 3 * ci * 8, 22, { 40: 'nan', 17: 'inf' });
        const finiteW = Array.from(randn(3 * 3 * ci * 8, 22));
        const bv = sprinkled(8, 23, { 3: 'nan', 5: 'inf' });
        const alpha = sprinkled(8, 24, { 1: 'nan' });
        for (const activation of ACTIVATIONS) {
          // 'same' with a finite filter: a non-finite tap on the padding gives NaN here (0 * NaN)
          // where the cpu skips the tap (kernels.nan.test.ts says more).
          for (const [pad, w, strides] of [
            ['valid', wv, 1],
            ['valid', wv, 2],
            ['same', finiteW, 1],
            ['same', finiteW, 2],
          ] as const) {
            const common = { strides, pad, activation, leakyreluAlpha: 0.2 };
            await expectSame(
              `conv2d ci=${ci} ${pad} ${strides} ${activation}`,
              () => [
                tf.fused.conv2d({
                  ...common,
                  x: tf.tensor4d(xv, [2, 11, 11, ci]),
                  filter: tf.tensor4d(w, [3, 3, ci, 8]),
                  bias: tf.tensor1d(bv),
                  preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
                }),
                tf.fused.depthwiseConv2d({
                  ...common,
                  x: tf.tensor4d(xv, [2, 11, 11, ci]),
                  filter: tf.tensor4d(w.slice(0, 9 * ci * 2), [3, 3, ci, 2]),
                  bias: tf.tensor1d(sprinkled(2 * ci, 25, { 1: 'nan' })),
                  preluActivationWeights: activation === 'prelu' ? tf.tensor1d(sprinkled(2 * ci, 26, { 0: 'nan' })) : undefined,
                }),
              ],
              1e-4,
              1e-4,
            );
          }
        }
      }
    });
  });

  it('keeps the cpu gradients of relu, relu6, prelu and the fused matMul on finite inputs', async () => {
    const xf = Array.from(randn(2400, 31)).map((v) => v * 4);
    const yf = Array.from(randn(2400, 32)).map((v) => v * 4);
    const dy = Array.from(randn(2400, 33));
    const g = (f: (t: tf.Tensor) => tf.Tensor) => () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.tensor2d(dy, [40, 60]))))(tf.tensor2d(xf, [40, 60]));
    await expectNoLeak(async () => {
      await expectSame(
        'd relu',
        g((t) => tf.relu(t)),
      );
      await expectSame(
        'd relu6',
        g((t) => tf.relu6(t)),
      );
      await expectSame(
        'd prelu',
        () =>
          tf.grads((t: tf.Tensor, al: tf.Tensor) => tf.sum(tf.mul((tf.prelu as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(t, al), tf.tensor2d(dy, [40, 60]))))([
            tf.tensor2d(xf, [40, 60]),
            tf.tensor1d(yf.slice(0, 60)),
          ]),
        1e-5,
        1e-5,
      );
      const m = 40,
        k = 48,
        n = 32;
      for (const activation of ['relu', 'relu6', 'leakyrelu', 'prelu'] as const) {
        await expectSame(
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
          2e-4,
          2e-4,
        );
      }
    });
  });

  it('a VAE with one NaN weight reports a NaN loss, as on the cpu (relu hidden layers)', async () => {
    const losses = (): tf.Tensor[] => {
      manualSeed(5);
      const vae = VAE.mlp({ inputShape: [6, 6], latentDim: 3, hidden: [16, 16] });
      const x = tf.tidy(() => tf.reshape(tf.cast(tf.greater(tf.tensor2d(randn(8 * 36, 41), [8, 36]), 0), 'float32'), [8, 6, 6]));
      try {
        const w = vae.trainableVariables[2]!; // the encoder's second kernel [16, 16]
        expect(w.shape).toEqual([16, 16]);
        const poisoned = tf.tidy(() => tf.where(tf.equal(tf.reshape(tf.range(0, w.size, 1, 'int32'), w.shape), 37), tf.fill(w.shape, NaN), w));
        w.assign(poisoned);
        poisoned.dispose();
        // Forward only (the relu fused into _FusedMatMul), then under a gradient tape (unfused).
        const forward = tf.tidy(() => vae.loss(x).loss);
        const { value, grads } = tf.variableGrads(() => vae.loss(x).loss as tf.Scalar, vae.trainableVariables);
        tf.dispose(Object.values(grads));
        return [forward, value];
      } finally {
        x.dispose();
        vae.dispose();
      }
    };
    const cpu = await onCpu(losses);
    expect(cpu.map((o) => Number.isNaN(o.values[0]))).toEqual([true, true]);
    await expectNoLeak(async () => {
      const gpu = await onGpu(losses);
      expect(
        gpu.map((o) => Number.isNaN(o.values[0])),
        `webgpu: loss ${gpu.map((o) => o.values[0])}`,
      ).toEqual([true, true]);
    });
  });
});

/** erf by its Maclaurin series in double precision (accurate for |x| <= 2). */
function erfSeries(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 40; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
