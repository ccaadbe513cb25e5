/**
 * GPU benchmark, one process: dlvm on tfjs's WebGPU backend (Dawn, from the `webgpu` package) on
 * whatever adapter `initBackend('webgpu')` finds, then — where a python with torch is found — the
 * same work in PyTorch (CUDA when torch sees a GPU, else CPU) side by side:
 *   - n x n float32 matmul GFLOP/s (default n = 1024, 4096),
 *   - MLP VAE and conv VAE training samples/s (bench/models.ts; Adam, loss read every step) at
 *     batch 128, 1024 and 8192.
 * Prints a markdown table and writes gpu-bench.json and gpu-bench.md to the output folder.
 *
 * Run through bench/gpu/pack.sh's self-contained folder (run.sh), or from the repository after
 * `npm run build`: `npx tsx --tsconfig tsconfig.run.json bench/gpu/bench.ts [options]`.
 *
 * Options:
 *   --small            tiny sizes for a software adapter (batches 8,16; matmul 64,128; 1 s, 3 steps)
 *   --batches a,b,c    training batch sizes            --sizes a,b     matmul sizes
 *   --seconds N        measuring time per configuration (default 5)
 *   --max-steps N      at most N measured steps per configuration (default 300)
 *   --budget N         whole-run time budget in seconds (default 280): configurations that would
 *                      start after it are skipped and say so; PyTorch gets what dlvm leaves
 *   --out DIR          output folder (default ./gpu-bench-results)
 *   --skip-torch       no PyTorch
 * Environment: DLVM_DAWN_FLAGS (e.g. backend=opengles without Vulkan), DLVM_PYTHON (interpreter
 * with torch), DLVM_BENCH_TORCH_DEVICE (cuda | cpu; default cuda when available),
 * DLVM_BENCH_LD_LIBRARY_PATH (run.sh: the caller's LD_LIBRARY_PATH, given back to python).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, VERSION, type BackendInfo } from 'dlvm';
import { adapterLabel, machineInfo } from '../adapter.js';
import { matmulGflops, timeTraining, webGpuDevice, type TrainingResult } from '../measure.js';
import type { BenchModel } from '../models.js';
import { findTorchPython, type TorchPython } from '../torch_python.js';

const started = performance.now();
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const list = (s: string) =>
  s
    .split(',')
    .map((v) => Number(v.trim()))
    .filter((v) => Number.isInteger(v) && v > 0);
const small = flag('small');
const batches = list(opt('batches') ?? (small ? '8,16' : '128,1024,8192'));
const sizes = list(opt('sizes') ?? (small ? '64,128' : '1024,4096'));
const seconds = Number(opt('seconds') ?? (small ? 1 : 5));
const maxSteps = Number(opt('max-steps') ?? (small ? 3 : 300));
const budget = Number(opt('budget') ?? 280);
const outDir = path.resolve(opt('out') ?? 'gpu-bench-results');
const models: BenchModel[] = ['mlp', 'conv'];
const elapsed = () => (performance.now() - started) / 1000;
const say = (s: string) => process.stderr.write(`${s}\n`);
// A stray GPU promise rejection inside tfjs should cost one configuration, not the report.
process.on('unhandledRejection', (err) => say(`  (unhandled rejection: ${String((err as Error)?.message ?? err).split('\n')[0]})`));

interface Row {
  task: BenchModel | 'matmul';
  /** batch (training) or n (matmul) */
  size: number;
  dlvm?: (Partial<TrainingResult> & { gflops?: number; error?: string }) | undefined;
  torch?: Record<string, unknown> | undefined;
}

/** dlvm on WebGPU: the backend, then matmuls and training runs while the budget lasts. */
async function runDlvm(rows: Row[]): Promise<{ info: BackendInfo | null; limits?: Record<string, number>; error?: string }> {
  let info: BackendInfo;
  try {
    info = await initBackend('webgpu');
  } catch (err) {
    const error = (err as Error).message;
    for (const r of rows) r.dlvm = { error: 'no WebGPU adapter' };
    return { info: null, error };
  }
  say(`dlvm ${VERSION} on ${describeBackend(info)}`);
  const l = webGpuDevice()?.limits ?? {};
  const limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension'].map((k) => [k, Number(l[k])]));
  say(`  device limits: ${JSON.stringify(limits)}`);
  // dlvm's share of the budget: PyTorch gets the rest (it needs about a third of dlvm's time).
  const dlvmBudget = budget * 0.7;
  for (const r of rows) {
    if (elapsed() > dlvmBudget) {
      r.dlvm = { error: `skipped: time budget (${budget} s) spent` };
      continue;
    }
    try {
      if (r.task === 'matmul') {
        r.dlvm = { gflops: await matmulGflops(r.size, seconds / 2) };
        say(`  dlvm matmul ${r.size}^3: ${r.dlvm.gflops!.toFixed(1)} GFLOP/s`);
      } else {
        const t = await timeTraining(r.task, r.size, {
          seconds,
          maxSteps,
          compiles: true,
          maxWarmupSeconds: 20,
          deadline: started + dlvmBudget * 1000,
        });
        r.dlvm = t;
        say(
          `  dlvm ${r.task} batch ${r.size}: ${t.samplesPerSec.toFixed(0)} samples/s ` +
            `(${t.steps} steps of ${(t.stepSeconds * 1000).toFixed(1)} ms; first step ${t.firstStepSeconds.toFixed(1)} s, ` +
            `${t.warmupSteps} warm-up steps; loss ${t.loss.toFixed(2)}; leaked tensors ${t.leakedTensors})`,
        );
      }
    } catch (err) {
      r.dlvm = { error: (err as Error).message.split('\n')[0] };
      say(`  dlvm ${r.task} ${r.size}: error: ${r.dlvm.error}`);
    }
  }
  return { info, limits };
}

/** torch_vae.py beside this script (the packed folder) or in bench/ (the repository). */
function torchScript(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.join(here, 'torch_vae.py'), path.join(here, '..', 'torch_vae.py')].find((p) => existsSync(p)) ?? null;
}

/** The caller's environment for python: run.sh's LD_LIBRARY_PATH (Vulkan loader) taken back out. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if ('DLVM_BENCH_LD_LIBRARY_PATH' in env) {
    const orig = env['DLVM_BENCH_LD_LIBRARY_PATH'];
    if (orig) env['LD_LIBRARY_PATH'] = orig;
    else delete env['LD_LIBRARY_PATH'];
  }
  return env;
}

function runTorch(rows: Row[], py: TorchPython, device: string): void {
  const script = torchScript();
  if (!script) {
    for (const r of rows) r.torch = { error: 'torch_vae.py not found' };
    return;
  }
  const threads = Math.max(1, os.availableParallelism());
  const jobs: Array<{ task: string; extra: string[]; rows: Row[] }> = [
    { task: 'matmul', extra: ['--sizes', sizes.join(',')], rows: rows.filter((r) => r.task === 'matmul') },
    ...models.map((m) => ({ task: m, extra: ['--batch', batches.join(','), '--max-steps', String(maxSteps)], rows: rows.filter((r) => r.task === m) })),
  ];
  for (const job of jobs) {
    const left = budget - elapsed();
    if (left < 5) {
      for (const r of job.rows) r.torch = { error: `skipped: time budget (${budget} s) spent` };
      continue;
    }
    const out = spawnSync(
      py.python,
      [script, job.task, String(threads), String(job.task === 'matmul' ? seconds / 2 : seconds), '--device', device, ...job.extra],
      { encoding: 'utf8', env: pythonEnv(), timeout: Math.floor(left * 1000) },
    );
    // One JSON line per size; lines printed before a timeout still count.
    for (const line of out.stdout.split('\n')) {
      if (!line.trim().startsWith('{')) continue;
      const r = JSON.parse(line) as Record<string, unknown>;
      const row = job.rows.find((x) => x.size === (job.task === 'matmul' ? r['n'] : r['batch']));
      if (row) row.torch = r;
    }
    const why = out.error ? `stopped: ${out.error.message}` : (out.stderr.trim().split('\n').pop() ?? `exit ${out.status}`);
    for (const r of job.rows) {
      r.torch ??= { error: why || 'no result' };
      const t = r.torch;
      say(
        `  PyTorch ${r.task} ${r.size}: ` +
          (t['error']
            ? `error: ${t['error']}`
            : r.task === 'matmul'
              ? `${(t['gflops'] as number).toFixed(1)} GFLOP/s`
              : `${(t['samplesPerSec'] as number).toFixed(0)} samples/s`),
      );
    }
  }
}

const num = (v: unknown, digits = 0) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';
const cell = (r: Record<string, unknown> | undefined, key: string, digits = 0) =>
  !r ? '-' : r['error'] ? `- (${String(r['error']).slice(0, 80)})` : num(r[key], digits);

function markdown(rows: Row[], head: string[], torchLabel: string): string {
  const lines = [...head, ''];
  lines.push(`| work | size | dlvm webgpu | ${torchLabel} | dlvm / PyTorch | loss dlvm / PyTorch |`, '|---|---|---|---|---|---|');
  for (const r of rows) {
    const key = r.task === 'matmul' ? 'gflops' : 'samplesPerSec';
    const a = r.dlvm?.[key as 'gflops'];
    const b = r.torch?.[key];
    const ratio = typeof a === 'number' && typeof b === 'number' && b > 0 ? `${(a / b).toFixed(2)}x` : '-';
    const what = r.task === 'matmul' ? `matmul GFLOP/s` : `${r.task === 'mlp' ? 'MLP' : 'conv'} VAE training samples/s`;
    const size = r.task === 'matmul' ? `${r.size}^3` : `batch ${r.size}`;
    const loss = r.task === 'matmul' ? '' : `${num(r.dlvm?.loss, 1)} / ${num(r.torch?.['loss'], 1)}`;
    const d = r.task === 'matmul' ? 1 : 0;
    lines.push(`| ${what} | ${size} | ${cell(r.dlvm as Record<string, unknown>, key, d)} | ${cell(r.torch, key, d)} | ${ratio} | ${loss} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rows: Row[] = [...sizes.map((n) => ({ task: 'matmul' as const, size: n })), ...models.flatMap((m) => batches.map((b) => ({ task: m, size: b })))];
  say(
    `dlvm GPU benchmark: node ${process.version} (${process.execPath}), ${os.cpus().length} cores, ` +
      `batches ${batches.join(',')}, matmul ${sizes.join(',')}, ${seconds} s / ${maxSteps} steps per configuration, budget ${budget} s`,
  );
  const dlvm = await runDlvm(rows);
  const adapter = dlvm.info?.adapter ? adapterLabel(dlvm.info.adapter) : null;
  if (dlvm.error) say(`webgpu: no adapter: ${dlvm.error}`);
  // Release dlvm's GPU memory before PyTorch runs on the same GPU.
  if (dlvm.info) {
    try {
      tf.engine().reset();
    } catch {
      // exiting soon anyway
    }
  }

  let py: TorchPython | null = null;
  let device = 'cpu';
  let torchNote = 'skipped (--skip-torch)';
  if (!flag('skip-torch')) {
    py = findTorchPython(true);
    if (!py) {
      torchNote = 'not found (no python with torch: tried DLVM_PYTHON, python3, python, conda/venv and PATH pythons)';
    } else {
      const wanted = process.env['DLVM_BENCH_TORCH_DEVICE'];
      device = wanted ?? (py.cuda ? 'cuda' : 'cpu');
      torchNote =
        `torch ${py.torch} on ${device === 'cuda' ? `CUDA (${py.cudaDevice ?? '?'})` : `CPU, ${os.availableParallelism()} threads`} via ${py.python}` +
        (device === 'cpu' && !wanted ? ' (torch sees no CUDA device)' : '');
      say(`PyTorch: ${torchNote}`);
      runTorch(rows, py, device);
    }
  }
  if (!py) say(`PyTorch: ${torchNote}`);

  const head = [
    `# dlvm GPU benchmark, ${new Date().toISOString()}`,
    '',
    `- dlvm ${VERSION}, node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`,
    `- WebGPU adapter: ${adapter ?? `none (${dlvm.error?.split('. ')[0] ?? '?'})`}`,
    ...(dlvm.limits
      ? [
          `- WebGPU device limits: ${Object.entries(dlvm.limits)
            .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
            .join(', ')}`,
        ]
      : []),
    `- PyTorch: ${torchNote}${py && device === 'cuda' ? '; float32, TF32 off' : ''}`,
    `- ${seconds} s (at most ${maxSteps} steps) per configuration after warm-up; the loss is read every step on both sides`,
  ];
  const torchLabel = py ? `PyTorch ${device === 'cuda' ? 'CUDA' : 'CPU'}` : 'PyTorch';
  const md = markdown(rows, head, torchLabel);
  console.log(md);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'gpu-bench.md'), `${md}\n`);
  writeFileSync(
    path.join(outDir, 'gpu-bench.json'),
    `${JSON.stringify(
      {
        ...machineInfo(VERSION),
        settings: { batches, sizes, seconds, maxSteps, budget, small },
        webgpu: dlvm.info ? { adapter, adapterInfo: dlvm.info.adapter, limits: dlvm.limits, backend: describeBackend(dlvm.info) } : { error: dlvm.error },
        pytorch: py ? { ...py, device } : { note: torchNote },
        rows,
        seconds: elapsed(),
      },
      null,
      2,
    )}\n`,
  );
  say(`wrote ${path.join(outDir, 'gpu-bench.json')} and gpu-bench.md (${elapsed().toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (err) => {
    say(`gpu bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
