/**
 * One benchmark configuration in its own process (so peak RSS and the wasm thread count are its
 * own): `tsx bench/worker.ts <task> <backend> <kernels> <threads> <seconds>`, task mlp | cs236 |
 * conv | iwae | matmul | probe (probe only starts the backend and reports it; iwae is IWAE-1000
 * evaluation of 100 images), backend cpu | wasm | webgpu,
 * kernels dlvm | stock. webgpu takes Dawn's flags from DLVM_DAWN_FLAGS (e.g. backend=opengles).
 * Prints one JSON line; a backend that cannot start is reported as `error`, not thrown.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, restoreStockKernels, type BackendPreference } from 'dlvm';
import { adapterLabel } from './adapter.js';
import { matmulGflops, timeIwae, timeTraining } from './measure.js';
import { BENCH_BATCH, type BenchModel } from './models.js';

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
  const base = {
    task,
    backend: info.name,
    kernels,
    threads: info.threads ?? null,
    ...(info.adapter ? { adapter: adapterLabel(info.adapter), adapterInfo: info.adapter } : {}),
  };
  if (task === 'probe') return base;
  if (task === 'matmul') {
    const out: Record<string, number> = {};
    for (const [name, ta, tb] of [
      ['nn', false, false],
      ['tn', true, false],
      ['nt', false, true],
    ] as const) {
      out[name] = await matmulGflops(512, budget / 3, ta, tb);
    }
    return { ...base, gflops: out };
  }
  try {
    if (task === 'iwae') return { ...base, ...(await timeIwae(1000, 100, budget)), peakRssMB: process.resourceUsage().maxRSS / 1024 };
    const kind = task as BenchModel;
    const r = await timeTraining(kind, BENCH_BATCH[kind], { seconds: budget, compiles: info.name === 'webgpu' });
    return { ...base, ...r, peakRssMB: process.resourceUsage().maxRSS / 1024 };
  } catch (err) {
    return { ...base, error: (err as Error).message.split('\n')[0] };
  }
}

main().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (err) => {
    console.log(JSON.stringify({ task, backend, kernels, threads, error: String(err?.message ?? err).split('\n')[0] }));
    process.exit(0);
  },
);
