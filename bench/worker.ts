/**
 * One benchmark configuration in its own process (so peak RSS and the wasm thread count are its
 * own): `tsx bench/worker.ts <task> <backend> <kernels> <threads> <seconds>`, task mlp | conv |
 * matmul, kernels dlvm | stock. Prints one JSON line.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, restoreStockKernels, type BackendPreference } from 'dlvm';
import { makeTrainer, type BenchModel } from './models.js';

const [task, backend, kernels, threadsArg, secondsArg] = process.argv.slice(2) as [string, string, string, string, string];
const threads = Number(threadsArg);
const budget = Number(secondsArg);

async function main(): Promise<Record<string, unknown>> {
  if (kernels === 'stock') {
    restoreStockKernels();
    // Stock tfjs runs wasm single-threaded under Node.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  const info = await initBackend(backend as BackendPreference, kernels === 'stock' ? { threads: 1 } : { threads });
  if (kernels === 'stock') restoreStockKernels();
  const base = { task, backend: info.name, kernels, threads: info.threads ?? null };
  if (task === 'matmul') {
    const out: Record<string, number> = {};
    for (const [name, ta, tb] of [['nn', false, false], ['tn', true, false], ['nt', false, true]] as const) {
      const a = tf.randomNormal([512, 512]);
      const b = tf.randomNormal([512, 512]);
      tf.matMul(a, b, ta, tb).dispose();
      let reps = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < budget * 1000 / 3 || reps < 2) {
        const c = tf.matMul(a, b, ta, tb);
        c.dataSync();
        c.dispose();
        reps++;
      }
      out[name] = (2 * 512 ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9;
      tf.dispose([a, b]);
    }
    return { ...base, gflops: out };
  }
  const batch = 128;
  const trainer = makeTrainer(task as BenchModel);
  const x = tf.tidy(() => tf.randomUniform([batch, ...trainer.inputShape]).greater(0.5).toFloat());
  let stepSeconds = 0;
  try {
    // Warm-up: kernel setup, XNNPACK operator creation, Adam slots. A second warm-up step only
    // when steps are quick (the stock cpu conv step takes ~30 s).
    const w0 = performance.now();
    trainer.step(x);
    stepSeconds = (performance.now() - w0) / 1000;
    if (stepSeconds < 5) trainer.step(x);
  } catch (err) {
    return { ...base, error: (err as Error).message.split('\n')[0] };
  }
  const tensorsAfterWarmup = tf.memory().numTensors;
  let steps = 0;
  let loss = NaN;
  const t0 = performance.now();
  const minSteps = stepSeconds > 10 ? 1 : 2;
  while (performance.now() - t0 < budget * 1000 || steps < minSteps) {
    loss = trainer.step(x);
    steps++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const leaked = tf.memory().numTensors - tensorsAfterWarmup;
  return {
    ...base,
    samplesPerSec: (steps * batch) / seconds,
    steps,
    loss,
    leakedTensors: leaked,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

main().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (err) => {
    console.log(JSON.stringify({ task, backend, kernels, error: String(err?.message ?? err) }));
    process.exit(0);
  },
);
