/**
 * The fused Bernoulli log-density (`DlvmBernoulliLogProb` and its logits gradient) against the
 * composite of tfjs ops it replaces, run on the stock cpu kernels: values and gradients over a
 * grid of logits (finite, tiny, huge, infinite, NaN) and outcomes (0, 1, fractional), with
 * broadcasting, on every backend; one launch each way; the ops path where the kernel is absent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bernoulli, Independent, dlvmKernelNames, registerDlvmKernels, restoreStockKernels } from '../src/index.js';
import {
  BERNOULLI_LOG_PROB,
  BERNOULLI_LOG_PROB_GRAD_LOGITS,
  BERNOULLI_LOG_PROB_SUM,
  bernoulliLogProb,
  bernoulliLogProbOps,
  bernoulliLogProbSum,
} from '../src/math/fused.js';
import { disableSimdKernels, simdHelperRunning, simdKernelsFor } from '../src/backend/kernels/simd.js';
import { HELPER_MIN_ELEMENTS } from '../src/backend/kernels/simd_helper.js';
import { BACKENDS, expectClose, expectNoLeak, onStockCpu, randn, take, useBackend } from './helpers/backends.js';

const LOGITS = [-Infinity, -1e30, -100, -20, -5, -1, -1e-8, 0, 1e-8, 0.5, 3, 17, 20, 100, 1e30, Infinity, NaN];
const OUTCOMES = [0, 1, 0.3];
/** Every logit with every outcome: logits [17, 3], x [17, 3]. */
const L = LOGITS.flatMap((l) => OUTCOMES.map(() => l));
const X = LOGITS.flatMap(() => OUTCOMES);
const SHAPE = [LOGITS.length, OUTCOMES.length];
/** Weights of the summed log-density, so the incoming gradient differs per element. */
const W = Array.from(randn(L.length, 3), (w) => 1 + 0.5 * w);

interface Result {
  value: number[];
  dLogits: number[];
  dX: number[];
}

/** The log-density and the gradients of sum(w * logProb) with respect to logits and x. */
function evaluate(f: (l: tf.Tensor, x: tf.Tensor) => tf.Tensor, l: number[], x: number[], lShape: number[], xShape: number[], w: number[]): Result {
  const lt = tf.tensor(l, lShape);
  const xt = tf.tensor(x, xShape);
  const value = f(lt, xt);
  const wt = tf.tensor(w, value.shape);
  const [dl, dx] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(wt, f(a, b))))([lt, xt]);
  const out = { value: take(value), dLogits: take(dl!), dX: take(dx!) };
  tf.dispose([lt, xt, wt]);
  return out;
}

function expectMatch(actual: Result, expected: Result, label: string): void {
  // The kernel computes in float64 and rounds once; the ops round every step (a confident
  // logit's log-density -exp(-l) becomes 0 in float32), hence the absolute tolerance.
  expectClose(actual.value, expected.value, { rtol: 1e-6, atol: 1e-6, label: `${label} value` });
  expectClose(actual.dLogits, expected.dLogits, { rtol: 1e-6, atol: 1e-6, label: `${label} d/dlogits` });
  expectClose(actual.dX, expected.dX, { rtol: 1e-6, atol: 1e-6, label: `${label} d/dx` });
}

describe('fused Bernoulli log-density', () => {
  beforeAll(() => useBackend('cpu'));
  afterAll(() => registerDlvmKernels());

  for (const backend of BACKENDS.filter((b) => b !== 'tensorflow')) {
    it(`equals the tfjs composite on stock cpu on ${backend}, values and gradients, in one launch`, async () => {
      const expected = await onStockCpu(() => evaluate(bernoulliLogProbOps, L, X, SHAPE, SHAPE, W));
      await useBackend(backend);
      expect(dlvmKernelNames()).toContain(`${BERNOULLI_LOG_PROB}@${backend}`);
      expect(dlvmKernelNames()).toContain(`${BERNOULLI_LOG_PROB_GRAD_LOGITS}@${backend}`);
      await expectNoLeak(async () => {
        expectMatch(evaluate(bernoulliLogProb, L, X, SHAPE, SHAPE, W), expected, backend);
        // The limits, exactly: 0 for the sure outcome, -inf otherwise, no gradient; NaN stays NaN.
        const r = evaluate(bernoulliLogProb, [Infinity, Infinity, -Infinity, -Infinity, NaN], [1, 0, 0, 0.5, 1], [5], [5], [1, 1, 1, 1, 1]);
        expect(r.value.slice(0, 4)).toEqual([0, -Infinity, 0, -Infinity]);
        expect(r.dLogits.slice(0, 4)).toEqual([0, 0, 0, 0]);
        expect(r.dX.slice(0, 4)).toEqual([0, 0, 0, 0]); // a constant limit: no gradient, not 0 * inf
        expect(Number.isNaN(r.value[4]) && Number.isNaN(r.dLogits[4])).toBe(true);

        const lt = tf.tensor(L, SHAPE);
        const xt = tf.tensor(X, SHAPE);
        const forward = await tf.profile(() => bernoulliLogProb(lt, xt));
        expect(forward.kernels.map((k) => k.name)).toEqual([BERNOULLI_LOG_PROB]);
        (forward.result as tf.Tensor).dispose();
        const grad = tf.grad((a: tf.Tensor) => tf.sum(bernoulliLogProb(a, xt)));
        const backward = await tf.profile(() => grad(lt));
        expect(backward.kernels.filter((k) => k.name === BERNOULLI_LOG_PROB_GRAD_LOGITS)).toHaveLength(1);
        expect(backward.kernels.filter((k) => k.name === 'Softplus' || k.name === 'Select')).toHaveLength(0);
        tf.dispose([lt, xt, backward.result as tf.Tensor]);
      });
    });

    it(`broadcasts logits [3, 1, 4] against x [2, 4] on ${backend}, gradients summed back`, async () => {
      const l = Array.from(randn(12, 5), (v) => 4 * v);
      const x = [0, 1, 1, 0, 0.25, 1, 0, 0];
      const w = Array.from(randn(24, 6));
      const expected = await onStockCpu(() => evaluate(bernoulliLogProbOps, l, x, [3, 1, 4], [2, 4], w));
      await useBackend(backend);
      await expectNoLeak(() => {
        const r = evaluate(bernoulliLogProb, l, x, [3, 1, 4], [2, 4], w);
        expect([r.value.length, r.dLogits.length, r.dX.length]).toEqual([24, 12, 8]);
        expectMatch(r, expected, `${backend} broadcast`);
      });
    });

    it(`serves Bernoulli.logProb on ${backend}, also for int32 and bool outcomes`, async () => {
      await useBackend(backend);
      await expectNoLeak(() => {
        const logits = tf.tensor([-2, 0, 3]);
        const d = new Bernoulli({ logits });
        const xInt = tf.tensor([1, 0, 1], [3], 'int32');
        const xBool = tf.tensor([true, false, true], [3], 'bool');
        const lp = d.logProb(xInt);
        const lpBool = d.logProb(xBool);
        tf.dispose([logits, xInt, xBool]);
        // log sigmoid(-2), log(1/2), log sigmoid(3) in float64.
        const expected = [-Math.log1p(Math.exp(2)), -Math.LN2, -Math.log1p(Math.exp(-3))];
        expectClose(take(lp), expected, { rtol: 1e-6 });
        expectClose(take(lpBool), expected, { rtol: 1e-6 });
        d.dispose();
      });
    });

    it(`Bernoulli from logits computes probs only when used, and keeps them valid after a tidy on ${backend}`, async () => {
      await useBackend(backend);
      await expectNoLeak(async () => {
        const logits = tf.tensor([-2, 0, 3]);
        const x = tf.tensor([1, 0, 1]);
        const d = new Bernoulli({ logits });
        const profiled = await tf.profile(() => d.logProb(x));
        expect(profiled.kernels.map((k) => k.name)).not.toContain('Sigmoid');
        (profiled.result as tf.Tensor).dispose();
        const expected = [-2, 0, 3].map((l) => 1 / (1 + Math.exp(-l)));
        // First used inside a tidy: freed with it, made again on the next use.
        const inside = tf.tidy(() => Array.from(tf.mul(d.probs, 1).dataSync()));
        expectClose(inside, expected, { rtol: 1e-6 });
        expectClose(await take(tf.mul(d.probs, 1)), expected, { rtol: 1e-6 });
        expect(d.probs).toBe(d.probs); // one tensor while it lives
        d.dispose();
        tf.dispose([logits, x]);
      });
    });

    it(`rejects mismatched shapes at the kernel on ${backend}`, async () => {
      await useBackend(backend);
      await expectNoLeak(() => {
        const a = tf.zeros([2, 3]);
        const b = tf.zeros([3]);
        expect(() => tf.engine().runKernel(BERNOULLI_LOG_PROB, { logits: a, x: b })).toThrow(
          `dlvm kernels: ${BERNOULLI_LOG_PROB}: x has shape [3], expected logits's [2,3].`,
        );
        tf.dispose([a, b]);
      });
    });
  }

  /** The composite summed over the rightmost n dims: the reference of the summed kernel. */
  const opsSum =
    (n: number) =>
    (l: tf.Tensor, x: tf.Tensor): tf.Tensor => {
      const lp = bernoulliLogProbOps(l, x);
      return n > 0
        ? tf.sum(
            lp,
            Array.from({ length: n }, (_, i) => lp.rank - 1 - i),
          )
        : lp;
    };
  const fusedSum =
    (n: number) =>
    (l: tf.Tensor, x: tf.Tensor): tf.Tensor =>
      bernoulliLogProbSum(l, x, n);
  // Finite logits for sums: one infinite term makes the whole run's sum -inf or NaN either way.
  const FL = L.map((v) => (Number.isFinite(v) ? v : 7));

  for (const backend of BACKENDS.filter((b) => b !== 'tensorflow')) {
    it(`summed over the event (DlvmBernoulliLogProbSum) equals the composite's sum on stock cpu on ${backend}, values and gradients, in one launch`, async () => {
      const cases: Array<[number[], number[], number[], number[], number]> = [
        [FL, X, SHAPE, SHAPE, 1],
        [FL, X, SHAPE, SHAPE, 2],
        [FL, X, SHAPE, SHAPE, 0],
        [Array.from(randn(12, 5), (v) => 4 * v), [0, 1, 1, 0, 0.25, 1, 0, 0], [3, 1, 4], [2, 4], 1],
        [Array.from(randn(12, 5), (v) => 4 * v), [0, 1, 1, 0, 0.25, 1, 0, 0], [3, 1, 4], [2, 4], 2],
      ];
      const w = (shape: number[], n: number) =>
        Array.from(
          randn(
            shape.slice(0, shape.length - n).reduce((a, b) => a * b, 1),
            8,
          ),
        );
      const outShape = (c: (typeof cases)[number]) => tf.broadcast_util.assertAndGetBroadcastShape(c[2], c[3]);
      const expected = await onStockCpu(() => cases.map((c) => evaluate(opsSum(c[4]), c[0], c[1], c[2], c[3], w(outShape(c), c[4]))));
      await useBackend(backend);
      expect(dlvmKernelNames()).toContain(`${BERNOULLI_LOG_PROB_SUM}@${backend}`);
      await expectNoLeak(async () => {
        cases.forEach((c, i) => {
          // Sums of 3 to 51 terms: the kernel's float64 (cpu) or 4-lane float32 (wasm) order against sequential float32.
          const r = evaluate(fusedSum(c[4]), c[0], c[1], c[2], c[3], w(outShape(c), c[4]));
          const e = expected[i]!;
          const label = `${backend} [${c[2]}] x [${c[3]}] over ${c[4]}`;
          expectClose(r.value, e.value, { rtol: 1e-5, atol: 1e-4, label: `${label} value` });
          expectClose(r.dLogits, e.dLogits, { rtol: 1e-6, atol: 1e-6, label: `${label} d/dlogits` });
          expectClose(r.dX, e.dX, { rtol: 1e-6, atol: 1e-6, label: `${label} d/dx` });
        });
        // Independent(Bernoulli, 1).logProb runs the summed kernel, and neither Sum nor the elementwise one.
        const lt = tf.tensor(FL, SHAPE);
        const xt = tf.tensor(
          X.map((v) => (v === 0.3 ? 1 : v)),
          SHAPE,
        );
        const d = new Independent(new Bernoulli({ logits: lt }, { validateArgs: false }), 1, { validateArgs: false });
        const forward = await tf.profile(() => d.logProb(xt));
        const names = forward.kernels.map((k) => k.name);
        expect(names.filter((k) => k === BERNOULLI_LOG_PROB_SUM)).toHaveLength(1);
        expect(names.filter((k) => k === 'Sum' || k === BERNOULLI_LOG_PROB)).toEqual([]);
        (forward.result as tf.Tensor).dispose();
        d.dispose();
        tf.dispose([lt, xt]);
        const a = tf.zeros([2, 3]);
        expect(() => tf.engine().runKernel(BERNOULLI_LOG_PROB_SUM, { logits: a, x: a }, { len: 4 })).toThrow(
          `dlvm kernels: ${BERNOULLI_LOG_PROB_SUM}: len 4 is not the size of trailing dims of [2,3].`,
        );
        a.dispose();
      });
    });
  }

  it('summed on wasm: SIMD (every tail of 1 to 3) and, without it, the JavaScript loop equal the composite; split among the helpers by rows to the bit', async () => {
    const lens = [1, 2, 3, 4, 5, 7, 51];
    const make = (len: number) => ({ l: FL.slice(0, len), x: X.slice(0, len) });
    const expected = await onStockCpu(() => lens.map((len) => evaluate(opsSum(1), make(len).l, make(len).x, [1, len], [1, len], [1.5])));
    await useBackend('wasm');
    for (const off of [false, true]) {
      const wasOff = disableSimdKernels(off);
      try {
        await expectNoLeak(() => {
          lens.forEach((len, i) => {
            const r = evaluate(fusedSum(1), make(len).l, make(len).x, [1, len], [1, len], [1.5]);
            expectClose(r.value, expected[i]!.value, { rtol: 1e-5, atol: 1e-5, label: `len ${len} ${off ? 'loop' : 'simd'} value` });
            expectClose(r.dLogits, expected[i]!.dLogits, { rtol: 1e-6, atol: 1e-6, label: `len ${len} d/dlogits` });
          });
        });
      } finally {
        disableSimdKernels(wasOff);
      }
    }
    expect(simdHelperRunning(tf.backend())).toBe(true);
    const [rows, cols] = [300, 784];
    const l = randn(rows * cols, 51).map((v) => 4 * v);
    const x = Float32Array.from(randn(rows * cols, 52), (v) => (v > 0 ? 1 : 0));
    const run = (r0: number, r1: number): Float32Array =>
      tf.tidy(
        () =>
          bernoulliLogProbSum(
            tf.tensor2d(l.subarray(r0 * cols, r1 * cols), [r1 - r0, cols]),
            tf.tensor2d(x.subarray(r0 * cols, r1 * cols), [r1 - r0, cols]),
            1,
          ).dataSync() as Float32Array,
      );
    const whole = run(0, rows);
    for (const [r0, r1] of [
      [0, 50],
      [250, 300],
    ] as const) {
      const part = run(r0, r1);
      const bad = part.findIndex((v, i) => !Object.is(v, whole[r0 + i]));
      expect(bad, `rows ${r0}-${r1}: row ${bad}`).toBe(-1);
    }
  });

  it('on wasm runs as SIMD on the backend memory, and without it as the JavaScript loop, both equal to the composite', async () => {
    const expected = await onStockCpu(() => evaluate(bernoulliLogProbOps, L, X, SHAPE, SHAPE, W));
    // Sizes around the four lanes: the scalar tail of 1 to 3 elements.
    const tails = [1, 2, 3, 5, 7].map((n) => ({ l: L.slice(0, n), x: X.slice(0, n), w: W.slice(0, n) }));
    const expectedTails = await onStockCpu(() => tails.map((t) => evaluate(bernoulliLogProbOps, t.l, t.x, [t.l.length], [t.l.length], t.w)));
    await useBackend('wasm');
    expect(simdKernelsFor(tf.backend())).not.toBeNull();
    for (const off of [false, true]) {
      const wasOff = disableSimdKernels(off);
      try {
        await expectNoLeak(() => {
          expectMatch(evaluate(bernoulliLogProb, L, X, SHAPE, SHAPE, W), expected, off ? 'wasm loop' : 'wasm simd');
          tails.forEach((t, i) => expectMatch(evaluate(bernoulliLogProb, t.l, t.x, [t.l.length], [t.l.length], t.w), expectedTails[i]!, `tail ${t.l.length}`));
        });
      } finally {
        disableSimdKernels(wasOff);
      }
    }
  });

  it('on wasm with threads splits large inputs among the helper threads, each element as on one thread to the bit', async () => {
    await useBackend('wasm');
    expect(simdHelperRunning(tf.backend())).toBe(true);
    const rows = 300;
    const cols = 784; // 235,200 elements: split in two; 100 rows (78,400) stay on one thread
    expect(rows * cols).toBeGreaterThanOrEqual(2 * HELPER_MIN_ELEMENTS);
    expect(100 * cols).toBeLessThan(2 * HELPER_MIN_ELEMENTS);
    const l = randn(rows * cols, 41).map((v) => 4 * v);
    const x = Float32Array.from(randn(rows * cols, 42), (v) => (v > 0 ? 1 : 0));
    const dy = randn(rows * cols, 43);
    const run = (r0: number, r1: number): Float32Array[] =>
      tf.tidy(() => {
        const lt = tf.tensor2d(l.subarray(r0 * cols, r1 * cols), [r1 - r0, cols]);
        const xt = tf.tensor2d(x.subarray(r0 * cols, r1 * cols), [r1 - r0, cols]);
        const lp = bernoulliLogProb(lt, xt);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(bernoulliLogProb(t, xt), tf.tensor2d(dy.subarray(r0 * cols, r1 * cols), [r1 - r0, cols]))))(lt);
        return [lp.dataSync() as Float32Array, g.dataSync() as Float32Array];
      });
    let whole: Float32Array[] = [];
    await expectNoLeak(() => {
      whole = run(0, rows);
    });
    // The first and the last 100 rows alone (one thread each): the caller's part and a helper's.
    for (const [r0, r1] of [
      [0, 100],
      [200, 300],
    ] as const) {
      const part = run(r0, r1);
      for (const k of [0, 1]) {
        const bad = part[k]!.findIndex((v, i) => !Object.is(v, whole[k]![r0 * cols + i]));
        expect(bad, `${k === 0 ? 'log-density' : 'gradient'} rows ${r0}-${r1}: element ${bad}`).toBe(-1);
      }
    }
  });

  it('is accurate to float32 over a sweep of logits, on every backend (float64 reference)', async () => {
    const grid = Array.from({ length: 4001 }, (_, i) => -100 + i * 0.05).concat([1e-3, -1e-3, 1e-6, -1e-6, 1e-20, -1e-20]);
    const l = grid.flatMap((v) => [v, v, v]).map(Math.fround);
    const x = grid.flatMap(() => [0, 1, 0.5]);
    // In float64, with x l - max(l, 0) taken first: x l - softplus(l) would cancel even there.
    const value = l.map((v, i) => x[i]! * v - Math.max(v, 0) - Math.log1p(Math.exp(-Math.abs(v))));
    const dLogits = l.map((v, i) => x[i]! - 1 / (1 + Math.exp(-v)));
    for (const backend of BACKENDS.filter((b) => b !== 'tensorflow')) {
      await useBackend(backend);
      const r = evaluate(bernoulliLogProb, l, x, [l.length], [l.length], new Array<number>(l.length).fill(1));
      // Relative: no term cancels in (x l - max(l, 0)) - log1p(exp(-|l|)), even where the
      // density is -exp(-l) ~ -4e-44 (x = 1, l = 100).
      expectClose(r.value, value, { rtol: 2e-6, atol: 1e-37, label: `${backend} value` });
      expectClose(r.dLogits, dLogits, { rtol: 1e-6, atol: 2e-7, label: `${backend} d/dlogits` });
    }
  });

  it('runs the ops where the kernel is not registered, with the same values and gradients', async () => {
    const expected = await onStockCpu(() => evaluate(bernoulliLogProbOps, L, X, SHAPE, SHAPE, W));
    await useBackend('cpu');
    restoreStockKernels();
    try {
      expect(tf.getKernel(BERNOULLI_LOG_PROB, 'cpu')).toBeUndefined();
      await expectNoLeak(async () => {
        const lt = tf.tensor(L, SHAPE);
        const xt = tf.tensor(X, SHAPE);
        const p = await tf.profile(() => bernoulliLogProb(lt, xt));
        expect(p.kernels.map((k) => k.name)).toContain('Softplus');
        tf.dispose([lt, xt, p.result as tf.Tensor]);
        expectMatch(evaluate(bernoulliLogProb, L, X, SHAPE, SHAPE, W), expected, 'fallback');
      });
    } finally {
      registerDlvmKernels();
    }
  });
});
