/**
 * Test helpers: the backends present on this machine, seeded data, closeness and leak checks.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { checkArgs, initBackend, registerDlvmKernels, restoreStockKernels, type BackendName } from '../../src/index.js';
import { mulberry32 } from '../../src/random.js';

function installed(spec: string): boolean {
  try {
    createRequire(import.meta.url).resolve(spec);
    return true;
  } catch {
    return false;
  }
}

/** Backends every suite runs on: cpu and wasm always, tensorflow where tfjs-node is installed. */
export const BACKENDS: BackendName[] =
  installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node') ? ['cpu', 'wasm', 'tensorflow'] : ['cpu', 'wasm'];

/**
 * Dawn options for tests on webgpu: `DLVM_DAWN_FLAGS` when set, else Dawn's OpenGL ES backend,
 * which runs on Mesa's software renderer with no GPU (CI).
 */
export function webGpuTestOptions(): { dawnFlags?: string[] } {
  return process.env['DLVM_DAWN_FLAGS'] ? {} : { dawnFlags: ['backend=opengles'] };
}

/** Switches to `name` through dlvm's own entry point (webgpu with {@link webGpuTestOptions}). */
export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name, name === 'webgpu' ? webGpuTestOptions() : {});
}

/** Runs `fn` on the cpu backend with tfjs's stock kernels (the reference implementation). */
export async function onStockCpu<T>(fn: () => T): Promise<T> {
  const previous = tf.getBackend();
  restoreStockKernels();
  try {
    await tf.setBackend('cpu');
    quietCpu();
    return fn();
  } finally {
    registerDlvmKernels();
    await tf.setBackend(previous);
  }
}

/** The cpu backend prints a 'use tfjs-node' banner on first use; tests know which backend they use. */
function quietCpu(): void {
  const cpu = tf.engine().registry['cpu'] as unknown as { firstUse?: boolean } | undefined;
  if (cpu) cpu.firstUse = false;
}

/** A seeded PRNG (dlvm's Mulberry32), so inputs are identical on every backend and run. */
export function rng(seed: number): () => number {
  return mulberry32(seed);
}

/** Standard-normal values from a seeded PRNG (Box-Muller). */
export function randn(size: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    out[i] = r * Math.cos(2 * Math.PI * u());
  }
  return out;
}

/** Seeded integer in [lo, hi]. */
export function randint(u: () => number, lo: number, hi: number): number {
  return lo + Math.floor(u() * (hi - lo + 1));
}

/**
 * Asserts |a - b| <= atol + rtol * |b| elementwise, with a message naming the worst element.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, label = '' }: { rtol?: number; atol?: number; label?: string } = {},
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    // NaN matches NaN and an infinity matches itself exactly.
    if (Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) && a === b) continue;
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/**
 * Asserts that `fn` leaves the live tensor count unchanged. Queued argument checks are read
 * (and so freed) first and after `fn`; a failing one fails the test.
 */
export async function expectNoLeak(fn: () => unknown | Promise<unknown>): Promise<void> {
  await checkArgs();
  const before = tf.memory().numTensors;
  await fn();
  await checkArgs();
  expect(tf.memory().numTensors).toBe(before);
}

/** The values of a tensor as numbers; the tensor is disposed. */
export function take(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}
