/**
 * `npm run bench`: training throughput (samples/s after warm-up) and peak RSS of the MLP and conv
 * VAEs on every available backend, with tfjs's stock kernels and with dlvm's, plus 512^3 matmul
 * GFLOP/s; and, where python3 with torch is found, the same models in PyTorch in the same run.
 * Every configuration runs in its own process. Prints a table and writes bench/results.json.
 *
 * Options: --seconds N (measuring time per configuration, default 8), --threads N (wasm threads
 * for the dlvm configuration, default: cores, at most 4), --skip-torch.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { VERSION } from 'dlvm';

interface Result {
  task: string;
  backend: string;
  kernels: string;
  threads: number | null;
  samplesPerSec?: number;
  gflops?: Record<string, number>;
  peakRssMB?: number;
  leakedTensors?: number;
  error?: string;
}

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = opt('seconds', 8);
const threads = opt('threads', Math.max(1, Math.min(4, os.availableParallelism())));
const here = fileURLToPath(new URL('.', import.meta.url));

function runWorker(task: string, backend: string, kernels: string, t: number): Result {
  const out = spawnSync(
    process.execPath,
    ['--import', 'tsx', `${here}worker.ts`, task, backend, kernels, String(t), String(seconds)],
    { encoding: 'utf8', env: { ...process.env, TSX_TSCONFIG_PATH: `${here}../tsconfig.run.json` } },
  );
  const line = out.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    return { task, backend, kernels, threads: t, error: (out.stderr || line).trim().split('\n').slice(-3).join(' ') };
  }
}

function findTorchPython(): string | null {
  const candidates = [process.env.DLVM_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[];
  for (const py of candidates) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return py;
    } catch {
      // no torch here
    }
  }
  return null;
}

function runTorch(py: string, task: string, t: number): Result {
  const out = spawnSync(py, [`${here}torch_vae.py`, task, String(t), String(seconds)], { encoding: 'utf8' });
  try {
    return JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as Result;
  } catch {
    return { task, backend: 'pytorch', kernels: 'torch', threads: t, error: out.stderr.trim().split('\n').pop() ?? 'failed' };
  }
}

const configs: Array<[backend: string, kernels: string, threads: number]> = [
  ['cpu', 'stock', 1],
  ['cpu', 'dlvm', 1],
  ['wasm', 'stock', 1],
  ['wasm', 'dlvm', 1],
  ...(threads > 1 ? ([['wasm', 'dlvm', threads]] as Array<[string, string, number]>) : []),
];

const results: Result[] = [];
const log = (r: Result) => {
  results.push(r);
  const what = r.error ? `error: ${r.error}` : r.gflops ? JSON.stringify(r.gflops) : `${r.samplesPerSec?.toFixed(1)} samples/s`;
  process.stderr.write(`  ${r.task.padEnd(6)} ${r.backend}/${r.kernels}/${r.threads ?? '-'}: ${what}\n`);
};

process.stderr.write(`dlvm ${VERSION} bench: ${seconds} s per configuration, ${os.cpus().length} cores\n`);
for (const [backend, kernels, t] of configs) {
  for (const task of ['matmul', 'mlp', 'conv']) {
    if (task === 'matmul' && backend === 'cpu' && kernels === 'dlvm') continue; // same kernel as stock
    log(runWorker(task, backend, kernels, t));
  }
}
const py = args.includes('--skip-torch') ? null : findTorchPython();
if (py) {
  for (const t of [...new Set([1, threads])]) for (const task of ['mlp', 'conv']) log(runTorch(py, task, t));
} else {
  process.stderr.write('  PyTorch: skipped (no python3 with torch; Debian: apt-get install python3-torch)\n');
}

// ---- table and ratios ----
const find = (task: string, backend: string, kernels: string, t: number) =>
  results.find((r) => r.task === task && r.backend === backend && r.kernels.startsWith(kernels) && (r.threads ?? 1) === t);
const fmt = (r: Result | undefined) => (!r ? '-' : r.error ? 'fails' : (r.samplesPerSec ?? 0).toFixed(0));
const rows = [...configs, ...(py ? [...new Set([1, threads])].map((t) => ['pytorch', 'torch', t] as [string, string, number]) : [])];
const lines = [
  '| backend | kernels | threads | MLP VAE samples/s | conv VAE samples/s | peak RSS MB (MLP / conv) | matmul 512^3 GFLOP/s nn / tn / nt |',
  '|---|---|---|---|---|---|---|',
];
for (const [backend, kernels, t] of rows) {
  const mlp = find('mlp', backend, kernels, t);
  const conv = find('conv', backend, kernels, t);
  const mm = find('matmul', backend, kernels, t) ?? (backend === 'cpu' ? find('matmul', 'cpu', 'stock', 1) : undefined);
  const g = mm?.gflops;
  const rss = [mlp, conv].map((r) => (r?.peakRssMB ? r.peakRssMB.toFixed(0) : '-')).join(' / ');
  lines.push(
    `| ${backend} | ${kernels} | ${t} | ${fmt(mlp)} | ${fmt(conv)} | ${rss} | ${g ? [g.nn, g.tn, g.nt].map((v) => v!.toFixed(1)).join(' / ') : '-'} |`,
  );
}
const ratio = (a: Result | undefined, b: Result | undefined) =>
  a?.samplesPerSec && b?.samplesPerSec ? a.samplesPerSec / b.samplesPerSec : null;
const ratios: Record<string, number | null> = {
  'MLP wasm: dlvm (best threads) / stock': ratio(find('mlp', 'wasm', 'dlvm', threads), find('mlp', 'wasm', 'stock', 1)),
  'MLP wasm: dlvm (1 thread) / stock': ratio(find('mlp', 'wasm', 'dlvm', 1), find('mlp', 'wasm', 'stock', 1)),
  'conv cpu: dlvm / stock': ratio(find('conv', 'cpu', 'dlvm', 1), find('conv', 'cpu', 'stock', 1)),
  'conv wasm (dlvm, best threads) / cpu stock': ratio(find('conv', 'wasm', 'dlvm', threads), find('conv', 'cpu', 'stock', 1)),
};
if (py) {
  for (const t of [...new Set([1, threads])]) {
    ratios[`MLP dlvm wasm / PyTorch, ${t} thread(s)`] = ratio(find('mlp', 'wasm', 'dlvm', t), find('mlp', 'pytorch', 'torch', t));
    ratios[`conv dlvm wasm / PyTorch, ${t} thread(s)`] = ratio(find('conv', 'wasm', 'dlvm', t), find('conv', 'pytorch', 'torch', t));
  }
}
lines.push('', '| ratio (same run) | value |', '|---|---|');
for (const [k, v] of Object.entries(ratios)) lines.push(`| ${k} | ${v === null ? '-' : `${v.toFixed(2)}x`} |`);
const stockConv = find('conv', 'wasm', 'stock', 1);
if (stockConv?.error) lines.push('', `Stock wasm conv VAE: ${stockConv.error}`);
console.log(lines.join('\n'));

writeFileSync(
  `${here}results.json`,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      dlvm: VERSION,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      secondsPerConfig: seconds,
      results,
      ratios,
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`wrote ${here}results.json\n`);
