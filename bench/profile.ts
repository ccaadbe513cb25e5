/**
 * `npm run profile`: where the time of the seeds' CPU workloads goes, for docs/performance.md.
 *
 *   tsx bench/profile.ts [--backend wasm] [--threads 1,2] [--reps 20] [--data DIR] [--out FILE]
 *
 * Workloads (bench/models.ts: each a dlvm preset, as users build it):
 *   cs236  VAE.mlp 784-300-300 ELU, M = 10, batch 97, Adam (CS236 HW2)
 *   mlp    VAE.mlp 784-512-512 ReLU, M = 10, batch 128, Adam (DTU 02460 vae_bernoulli.py)
 *   conv   VAE.conv channels 32, 64, M = 10, batch 128, Adam (the PML report's pair, as npm run bench)
 *   iwae   one chunk of iwaeLogLikelihood on the cs236 network: 100 images x 100 draws
 *
 * For each: the median wall time of a whole step and of its phases, measured separately
 * (forward = the loss; backward = loss and gradients minus the forward; optimizer = one
 * `applyGradients` on fixed gradients; data = one dynamically binarised batch from MNIST as fit draws it; read =
 * the awaited read of the loss), the kernels of one step from `tf.profile` (launches, time per
 * kernel), the FLOPs of its matrix products and convolutions, and the time those FLOPs would take
 * at the 512^3 matmul rate of the same backend and thread count. Every run is in its own process
 * (the wasm thread count is fixed per process). Writes a markdown report to stdout and JSON to
 * --out (default bench/profile.json).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { adam, initBackend, iwaeLogLikelihood, loadMnist, VERSION, type ArrayDataset, type BackendPreference } from 'dlvm';
import { machineInfo } from './adapter.js';
import { BENCH_BATCH, benchVae, binaryBatch } from './models.js';
import { kernelFlops } from './flops.js';
import { matmulGflops } from './measure.js';

export const WORKLOADS = ['cs236', 'mlp', 'conv', 'iwae'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Images per step (for iwae, per chunk: 100 images x 100 draws, iwaeLogLikelihood's defaults). */
const batchOf = (w: Workload): number => (w === 'iwae' ? 100 : BENCH_BATCH[w]);

interface KernelRow {
  name: string;
  launches: number;
  ms: number;
  gflop: number;
}

export interface Profile {
  workload: Workload;
  backend: string;
  threads: number | null;
  batch: number;
  /** Median milliseconds. */
  phases: Record<string, number>;
  /** Kernel launches in one step and the sum of their times (ms, profiled). */
  launches: number;
  kernelMs: number;
  kernels: KernelRow[];
  /** FLOPs of the matrix products and convolutions of one step, and the matmul rate measured here. */
  gflopPerStep: number;
  matmulGflops: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/**
 * Median ms of `reps` calls after three warm-up calls (the first steps create Adam's slots and
 * constants that are kept); throws if the timed calls leave tensors behind.
 */
async function timed(what: string, reps: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  const left = tf.memory().numTensors - before;
  if (left !== 0) throw new Error(`${what}: ${left} tensors left behind by ${reps} calls`);
  return median(times);
}

async function readScalar(t: tf.Tensor): Promise<number> {
  try {
    return (await t.data())[0]!;
  } finally {
    t.dispose();
  }
}

/** Profiles one workload on the backend already started. */
export async function profileWorkload(w: Workload, reps: number, mnist: ArrayDataset | null): Promise<Omit<Profile, 'backend' | 'threads'>> {
  const vae = benchVae(w === 'iwae' ? 'cs236' : w);
  const batch = batchOf(w);
  const x = binaryBatch(batch, [28, 28]);
  const optimizer = adam(1e-3); // fit's default
  const vars = vae.trainableVariables;
  const phases: Record<string, number> = {};
  let run: () => Promise<unknown>;
  try {
    if (w === 'iwae') {
      run = () => iwaeLogLikelihood(vae, x, { k: 100, chunk: 100, batchSize: batch });
      phases['chunk'] = await timed('iwae chunk', reps, run);
    } else {
      const forward = () => readScalar(tf.tidy(() => vae.loss(x).loss));
      const withGrads = () =>
        readScalar(
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => vae.loss(x).loss as tf.Scalar, vars);
            tf.dispose(grads);
            return value;
          }),
        );
      run = () => readScalar(tf.tidy(() => optimizer.minimize(() => vae.loss(x).loss as tf.Scalar, true, vars)!));
      const step = await timed(`${w} step`, reps, run);
      const fwd = await timed(`${w} forward`, reps, forward);
      const fb = await timed(`${w} gradients`, reps, withGrads);
      // The update alone, on fixed gradients (the weights move; the time does not depend on them).
      const fixed = tf.variableGrads(() => vae.loss(x).loss as tf.Scalar, vars);
      const last = vars[vars.length - 1]!;
      const update = await timed(`${w} optimizer`, reps, () => {
        optimizer.applyGradients(fixed.grads);
        return readScalar(tf.tidy(() => tf.slice(tf.reshape(last, [-1]), 0, 1)));
      });
      tf.dispose([fixed.value, ...Object.values(fixed.grads)]);
      const computed = tf.scalar(1);
      const read = await timed('read', reps, () => readScalar(tf.clone(computed)));
      computed.dispose();
      let data = NaN;
      if (mnist) {
        let epoch = 0;
        let it = mnist.batches({ batchSize: batch, seed: 0, binarize: 'dynamic' }, epoch);
        data = await timed('data', reps, async () => {
          let next = it.next();
          if (next.done) {
            it = mnist.batches({ batchSize: batch, seed: 0, binarize: 'dynamic' }, ++epoch);
            next = it.next();
          }
          const b = next.value!;
          tf.dispose([b.x, b.y ?? []]);
        });
      }
      Object.assign(phases, { step, forward: fwd, backward: fb - fwd, optimizer: update, data, read });
    }
    const profile = await tf.profile(async () => {
      await run();
      return [];
    });
    const rows = new Map<string, KernelRow>();
    let gflop = 0;
    // tf.profile also lists the scope of an op with a custom gradient (`fusedMatMul__op`), whose
    // time is that of the kernels inside it: only kernels are counted.
    const launched = profile.kernels.filter((k) => !k.name.endsWith('__op'));
    for (const k of launched) {
      const row = rows.get(k.name) ?? { name: k.name, launches: 0, ms: 0, gflop: 0 };
      const f = kernelFlops(k.name, k.inputShapes, k.outputShapes) / 1e9;
      row.launches++;
      row.ms += k.kernelTimeMs as number;
      row.gflop += f;
      gflop += f;
      rows.set(k.name, row);
    }
    const kernels = [...rows.values()].sort((a, b) => b.ms - a.ms);
    return {
      workload: w,
      batch,
      phases,
      launches: launched.length,
      kernelMs: kernels.reduce((s, r) => s + r.ms, 0),
      kernels,
      gflopPerStep: gflop,
      matmulGflops: 0,
    };
  } finally {
    x.dispose();
    vae.dispose();
    optimizer.dispose();
  }
}

/** The report of one backend and thread count: a table of phases, then the kernels of each workload. */
export function report(profiles: Profile[]): string {
  const f = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
  const lines: string[] = [];
  const p0 = profiles[0]!;
  lines.push(`#### ${p0.backend}, ${p0.threads ?? 1} thread(s); 512^3 matmul ${f(p0.matmulGflops)} GFLOP/s`, '');
  lines.push(
    '| workload | batch | step ms | forward | backward | optimizer | data | read | kernel launches | in kernels ms | outside kernels | GFLOP/step | at matmul peak ms | achieved GFLOP/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const p of profiles) {
    const step = p.phases['step'] ?? p.phases['chunk']!;
    lines.push(
      `| ${p.workload} | ${p.batch} | ${f(step)} | ${f(p.phases['forward'])} | ${f(p.phases['backward'])} | ${f(p.phases['optimizer'])} | ${f(p.phases['data'])} | ${f(p.phases['read'], 2)} | ${p.launches} | ${f(p.kernelMs)} | ${f(Math.max(0, step - p.kernelMs))} (${f((100 * Math.max(0, step - p.kernelMs)) / step, 0)}%) | ${f(p.gflopPerStep, 3)} | ${f((p.gflopPerStep / p.matmulGflops) * 1000)} | ${f(p.gflopPerStep / (step / 1000))} |`,
    );
  }
  for (const p of profiles) {
    lines.push('', `Kernels of one ${p.workload} ${p.workload === 'iwae' ? 'chunk' : 'step'} (profiled; top 12 by time):`, '');
    lines.push('| kernel | launches | ms | % of kernel time | GFLOP | GFLOP/s |', '|---|---|---|---|---|---|');
    for (const k of p.kernels.slice(0, 12)) {
      lines.push(
        `| ${k.name} | ${k.launches} | ${f(k.ms, 2)} | ${f((100 * k.ms) / p.kernelMs, 1)} | ${k.gflop ? f(k.gflop, 3) : '-'} | ${k.gflop ? f(k.gflop / (k.ms / 1000)) : '-'} |`,
      );
    }
    const rest = p.kernels.slice(12);
    if (rest.length > 0) {
      const ms = rest.reduce((s, r) => s + r.ms, 0);
      const n = rest.reduce((s, r) => s + r.launches, 0);
      lines.push(`| ${rest.length} other kernels | ${n} | ${f(ms, 2)} | ${f((100 * ms) / p.kernelMs, 1)} | | |`);
    }
  }
  return lines.join('\n');
}

/** One process: `profile.ts --worker BACKEND THREADS REPS DATA` prints the profiles as JSON. */
async function worker(backend: string, threads: number, reps: number, data: string): Promise<void> {
  const info = await initBackend(backend as BackendPreference, { threads });
  let mnist: ArrayDataset | null = null;
  try {
    mnist = await loadMnist({ split: 'train', path: data });
  } catch (e) {
    process.stderr.write(`no MNIST in ${data} (${(e as Error).message.split('\n')[0]}): the data phase is not measured\n`);
  }
  const gflops = await matmulGflops(512, 2);
  const out: Profile[] = [];
  for (const w of WORKLOADS) {
    const p = await profileWorkload(w, reps, mnist);
    out.push({ ...p, backend: info.name, threads: info.threads ?? null, matmulGflops: gflops });
  }
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') return worker(args[1]!, Number(args[2]), Number(args[3]), args[4]!);
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1]! : fallback;
  };
  const here = fileURLToPath(new URL('.', import.meta.url));
  const backend = opt('backend', 'wasm');
  const reps = opt('reps', '20');
  const data = opt('data', process.env['DLVM_DATA'] ?? `${here}../../shared/data/mnist`);
  const outFile = opt('out', `${here}profile.json`);
  const all: Profile[][] = [];
  for (const t of opt('threads', '1,2').split(',')) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', backend, t, reps, data], {
      encoding: 'utf8',
      env: { ...process.env, TSX_TSCONFIG_PATH: `${here}../tsconfig.run.json` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('[')) throw new Error(`profile worker (${backend}, ${t} threads) failed: ${r.stdout.slice(-500)}`);
    const profiles = JSON.parse(line) as Profile[];
    all.push(profiles);
    console.log(report(profiles), '\n');
  }
  writeFileSync(outFile, `${JSON.stringify({ ...machineInfo(VERSION), reps: Number(reps), profiles: all }, null, 2)}\n`);
  process.stderr.write(`wrote ${outFile}\n`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
