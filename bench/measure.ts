/**
 * Timing shared by `npm run bench` (bench/worker.ts) and the GPU benchmark (bench/gpu/bench.ts):
 * training samples/s after warm-up, and matmul GFLOP/s. Results are read only with awaited reads,
 * which work on every backend (`dataSync` throws on WebGPU in Node), and a GPU's queue is drained
 * before a clock is read. On WebGPU, warm-up runs inside GPU error scopes: tfjs does not throw when
 * a GPU call is invalid (a tensor larger than the device's maxStorageBufferBindingSize, say) but
 * computes garbage, so a configuration whose warm-up raised a GPU error fails with that error.
 */
import * as tf from '@tensorflow/tfjs-core';
import { iwaeLogLikelihood } from 'dlvm';
import { benchVae, binaryBatch, makeTrainer, type BenchModel } from './models.js';

export interface TrainingOptions {
  /** Measuring time after warm-up, seconds. */
  seconds: number;
  /** Stop measuring after this many steps even if time is left (default: no cap). */
  maxSteps?: number;
  /**
   * The backend compiles kernels per shape on first use (webgpu, webgl): keep warming up until two
   * consecutive steps agree within 30%, even when the first step was slow.
   */
  compiles?: boolean;
  /** Most seconds spent warming up after the first step (default 30). */
  maxWarmupSeconds?: number;
  /**
   * A `performance.now()` time after which no further warm-up step starts and measuring stops
   * after one step (so one slow configuration cannot take a whole run's time).
   */
  deadline?: number;
}

export interface TrainingResult {
  batch: number;
  samplesPerSec: number;
  steps: number;
  /** Seconds of the first (compiling) step and steps spent warming up in all. */
  firstStepSeconds: number;
  warmupSteps: number;
  /** Seconds per step while measuring. */
  stepSeconds: number;
  loss: number;
  /** Tensors created by the measured steps and not released (0 for a flat training loop). */
  leakedTensors: number;
}

interface GpuDeviceLike {
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  limits?: Record<string, number>;
}

/** The WebGPU device behind tfjs's active backend, or null on other backends. */
export function webGpuDevice(): GpuDeviceLike | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GpuDeviceLike }).device ?? null;
}

const SCOPES = ['validation', 'out-of-memory', 'internal'] as const;

/**
 * Runs `body` inside WebGPU error scopes (when the backend is webgpu) and throws the first GPU
 * error it raised: `WebGPU validation error: Binding size (...) is larger than ...`.
 */
export async function withGpuErrors<T>(body: () => Promise<T>): Promise<T> {
  const device = webGpuDevice();
  if (!device) return body();
  for (const f of SCOPES) device.pushErrorScope(f);
  let result: T;
  try {
    result = await body();
  } finally {
    const errors: string[] = [];
    for (const f of [...SCOPES].reverse()) {
      const e = await device.popErrorScope();
      if (e) errors.push(`WebGPU ${f} error: ${e.message.split('\n')[0]}`);
    }
    if (errors.length) throw new Error(errors.join('; '));
  }
  return result;
}

/**
 * Trains `kind` on a random binary batch of `batch` images: warm-up (kernel setup, shader
 * compilation, Adam slots), then as many steps as fit in `seconds` (at least 2, or 1 when a step
 * takes over 10 s).
 *
 * Warm-up is the first step, then — when that step took under 5 s or `compiles` is set — more steps
 * until two consecutive ones agree within 30% (at most 20 steps and `maxWarmupSeconds`). A slow
 * first step on a CPU backend (stock cpu conv: ~30 s) is taken as warm. A configuration whose loss
 * is not finite fails (a GPU that computed garbage).
 */
export async function timeTraining(kind: BenchModel, batch: number, opts: TrainingOptions): Promise<TrainingResult> {
  const trainer = makeTrainer(kind);
  const x = binaryBatch(batch, trainer.inputShape);
  try {
    let t = performance.now();
    let firstStepSeconds = 0;
    let warmupSteps = 1;
    const deadline = opts.deadline ?? Infinity;
    await withGpuErrors(async () => {
      await trainer.step(x);
      firstStepSeconds = (performance.now() - t) / 1000;
      if ((firstStepSeconds < 5 || opts.compiles) && performance.now() < deadline) {
        const cap = (opts.maxWarmupSeconds ?? 30) * 1000;
        const w0 = performance.now();
        let previous = firstStepSeconds;
        for (;;) {
          t = performance.now();
          await trainer.step(x);
          const s = (performance.now() - t) / 1000;
          warmupSteps++;
          const stable = Math.abs(s - previous) <= 0.3 * Math.min(s, previous);
          const done = warmupSteps >= 20 || performance.now() - w0 > cap || performance.now() > deadline;
          if (stable || done) break;
          previous = s;
        }
      }
    });
    const tensorsAfterWarmup = tf.memory().numTensors;
    const minSteps = firstStepSeconds > 10 && !opts.compiles ? 1 : 2;
    const maxSteps = opts.maxSteps ?? Infinity;
    let steps = 0;
    let loss = NaN;
    const t0 = performance.now();
    for (;;) {
      const now = performance.now();
      const more = now - t0 < opts.seconds * 1000 || steps < minSteps;
      if (steps >= 1 && (!more || steps >= maxSteps || now > deadline)) break;
      loss = await trainer.step(x);
      steps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (!Number.isFinite(loss)) throw new Error(`the loss is ${loss} after warm-up: the backend computed garbage`);
    return {
      batch,
      samplesPerSec: (steps * batch) / seconds,
      steps,
      firstStepSeconds,
      warmupSteps,
      stepSeconds: seconds / steps,
      loss,
      leakedTensors: tf.memory().numTensors - tensorsAfterWarmup,
    };
  } finally {
    x.dispose();
    trainer.dispose();
  }
}

export interface IwaeResult {
  k: number;
  /** Test images per second of IWAE-k evaluation (`iwaeLogLikelihood`, its default chunks of 100 draws). */
  imagesPerSec: number;
  images: number;
  runs: number;
  /** The estimate (nats per image; untrained weights, so only a sanity check). */
  logLikelihood: number;
  leakedTensors: number;
}

/**
 * IWAE-k evaluation throughput of the CS236 network (`iwaeLogLikelihood` on `images` random binary
 * images, batch 100 as its default): one warm-up run at k = 100, then whole IWAE-k runs for about
 * `seconds` (at least one).
 */
export async function timeIwae(k: number, images: number, seconds: number): Promise<IwaeResult> {
  const vae = benchVae('cs236');
  const x = binaryBatch(images, [28, 28]);
  try {
    await iwaeLogLikelihood(vae, x, { k: 100, seed: 0 });
    const before = tf.memory().numTensors;
    let runs = 0;
    let ll = NaN;
    const t0 = performance.now();
    while (runs < 1 || performance.now() - t0 < seconds * 1000) {
      ll = await iwaeLogLikelihood(vae, x, { k, seed: runs });
      runs++;
    }
    const dt = (performance.now() - t0) / 1000;
    if (!Number.isFinite(ll)) throw new Error(`the IWAE estimate is ${ll}: the backend computed garbage`);
    return { k, imagesPerSec: (runs * images) / dt, images, runs, logLikelihood: ll, leakedTensors: tf.memory().numTensors - before };
  } finally {
    x.dispose();
    vae.dispose();
  }
}

/** Waits until `c` (and everything queued before it) is computed, reading one element. */
async function drain(c: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => tf.slice(tf.reshape(c, [-1]), [0], [1]));
  await one.data();
  one.dispose();
}

/**
 * GFLOP/s of an n x n by n x n float32 matmul (2 n^3 flops each), optionally with a transposed
 * operand, over about `seconds` after one warm-up product. Products are queued in rounds (doubled
 * until a round takes 50 ms) and each round waits for its last product, so a GPU's queue stays full.
 */
export async function matmulGflops(n: number, seconds: number, transposeA = false, transposeB = false): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  try {
    await withGpuErrors(async () => {
      const warm = tf.matMul(a, b, transposeA, transposeB);
      await drain(warm);
      warm.dispose();
    });
    let perRound = 1;
    let products = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000 || products < 2) {
      const r0 = performance.now();
      let c: tf.Tensor | null = null;
      for (let i = 0; i < perRound; i++) {
        c?.dispose();
        c = tf.matMul(a, b, transposeA, transposeB);
      }
      await drain(c!);
      c!.dispose();
      products += perRound;
      if (performance.now() - r0 < 50) perRound *= 2;
    }
    return (2 * n ** 3 * products) / ((performance.now() - t0) / 1000) / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}
