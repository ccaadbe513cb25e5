/**
 * `npm run bench`: training throughput (samples/s after warm-up) and peak RSS of the DTU MLP VAE
 * (batch 128), the CS236 VAE (batch 97) and the PML conv VAE (batch 128) on every available
 * backend, with tfjs's stock kernels and with dlvm's, IWAE-1000 evaluation throughput (test images
 * per second) with dlvm's wasm kernels, plus 512^3 matmul GFLOP/s; and, where python3 with torch
 * is found, the same workloads in PyTorch in the same run at 1 thread and at --threads. The ratio
 * table compares dlvm's best thread count with PyTorch's best (bench/models.ts has the models).
 * Every configuration runs in its own process. Prints a table and writes bench/results.json.
 *
 * The webgpu row runs on whatever adapter `initBackend('webgpu')` finds: with DLVM_DAWN_FLAGS as
 * given, else Dawn's defaults (Vulkan on Linux), else Dawn's OpenGL ES backend
 * (`backend=opengles`: Mesa's llvmpipe on a machine without Vulkan). The table names the adapter;
 * without one the row says why. Shaders compile on the first steps, so warm-up runs until step
 * times settle (bench/measure.ts).
 *
 * dlvm's wasm rows and PyTorch's, which the ratios compare, run in --rounds alternating rounds
 * (each workload: dlvm at 1 thread, PyTorch at 1, dlvm at N, PyTorch at N; then the next workload;
 * then the next round), each run measuring --seconds / --rounds: a shared machine's speed drifts
 * by tens of percent over minutes, and alternating keeps both sides of a ratio under the same
 * drift. A row's figures (throughput, peak RSS) are the medians over the rounds, a ratio the
 * median of the rounds' ratios (at the thread count with the best median of each side).
 *
 * Options: --seconds N (measuring time per configuration, default 8), --rounds N (default 3),
 * --threads N (wasm threads for the dlvm configuration, default: cores, at most 4), --skip-torch,
 * --skip-webgpu.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { VERSION } from 'dlvm';
import { machineInfo } from './adapter.js';
import { findTorchPython } from './torch_python.js';

interface Result {
  task: string;
  imagesPerSec?: number;
  backend: string;
  kernels: string;
  threads: number | null;
  adapter?: string;
  samplesPerSec?: number;
  gflops?: Record<string, number>;
  peakRssMB?: number;
  leakedTensors?: number;
  error?: string;
  /** Paired configurations: each round's throughput and peak RSS, in order (the figures are their medians). */
  roundRates?: number[];
  roundPeakRssMB?: number[];
}

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = opt('seconds', 8);
const rounds = Math.max(1, Math.round(opt('rounds', 3)));
const threads = opt('threads', Math.max(1, Math.min(4, os.availableParallelism())));
const here = fileURLToPath(new URL('.', import.meta.url));

function runWorker(task: string, backend: string, kernels: string, t: number, env: NodeJS.ProcessEnv = {}, budget = seconds): Result {
  const out = spawnSync(process.execPath, ['--import', 'tsx', `${here}worker.ts`, task, backend, kernels, String(t), String(budget)], {
    encoding: 'utf8',
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: `${here}../tsconfig.run.json` },
    // A stock cpu conv step takes ~30 s; nothing else comes near this.
    timeout: (20 * seconds + 300) * 1000,
  });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    // The thrown error's own line, not Node's trailer ("Node.js v20...").
    const err = out.stderr.split('\n').find((l) => /^\s*(\w*Error\b|Error:)/.test(l));
    const why = out.error ? out.error.message : (err ?? (out.stderr || line).trim().split('\n').slice(-3).join(' ')).trim();
    return { task, backend, kernels, threads: t, error: why };
  }
}

/**
 * Dawn's flags for the webgpu worker: DLVM_DAWN_FLAGS when set, else none (Dawn picks Vulkan on
 * Linux) when that finds an adapter, else `backend=opengles`. Returns the probe's result (its
 * `adapter`, or the `error` saying why there is none) and the environment to run webgpu with.
 */
function probeWebGpu(): { probe: Result; env: NodeJS.ProcessEnv } {
  const tries = process.env.DLVM_DAWN_FLAGS ? [process.env.DLVM_DAWN_FLAGS] : ['', 'backend=opengles'];
  let probe: Result | undefined;
  for (const flags of tries) {
    const env = { DLVM_DAWN_FLAGS: flags };
    probe = runWorker('probe', 'webgpu', 'dlvm', 1, env);
    if (!probe.error) return { probe, env };
  }
  return { probe: probe!, env: {} };
}

function runTorch(py: string, task: string, t: number, budget = seconds): Result {
  const out = spawnSync(py, [`${here}torch_vae.py`, task, String(t), String(budget)], { encoding: 'utf8' });
  try {
    return JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as Result;
  } catch {
    return { task, backend: 'pytorch', kernels: 'torch', threads: t, error: out.stderr.trim().split('\n').pop() ?? 'failed' };
  }
}

/** The training workloads, and IWAE-1000 evaluation (run with dlvm's wasm kernels and PyTorch only). */
const TRAIN_TASKS = ['mlp', 'cs236', 'conv'] as const;
const TASKS = [...TRAIN_TASKS, 'iwae'] as const;
const TASK_NAMES: Record<(typeof TASKS)[number], string> = {
  mlp: 'DTU MLP VAE samples/s',
  cs236: 'CS236 VAE samples/s',
  conv: 'PML conv VAE samples/s',
  iwae: 'IWAE-1000 images/s',
};
/** The throughput a result reports: training samples/s, or evaluated images/s. */
const rate = (r: Result | undefined): number | undefined => r?.samplesPerSec ?? r?.imagesPerSec;

const skipWebGpu = args.includes('--skip-webgpu');
const configs: Array<[backend: string, kernels: string, threads: number]> = [
  ['cpu', 'stock', 1],
  ['cpu', 'dlvm', 1],
  ['wasm', 'stock', 1],
  ['wasm', 'dlvm', 1],
  ...(threads > 1 ? ([['wasm', 'dlvm', threads]] as Array<[string, string, number]>) : []),
  ...(skipWebGpu ? [] : ([['webgpu', 'dlvm', 1]] as Array<[string, string, number]>)),
];

const results: Result[] = [];
const log = (r: Result) => {
  results.push(r);
  const what = r.error
    ? `error: ${r.error}`
    : r.gflops
      ? JSON.stringify(r.gflops)
      : r.imagesPerSec !== undefined
        ? `${r.imagesPerSec.toFixed(2)} images/s`
        : `${r.samplesPerSec?.toFixed(1)} samples/s`;
  process.stderr.write(`  ${r.task.padEnd(6)} ${r.backend}/${r.kernels}/${r.threads ?? '-'}: ${what}\n`);
};

process.stderr.write(`dlvm ${VERSION} bench: ${seconds} s per configuration, ${os.cpus().length} cores\n`);
let webgpu: { probe: Result; env: NodeJS.ProcessEnv } | null = null;
for (const [backend, kernels, t] of configs) {
  let env: NodeJS.ProcessEnv = {};
  if (backend === 'webgpu') {
    webgpu = probeWebGpu();
    const { probe } = webgpu;
    process.stderr.write(`  webgpu adapter: ${probe.error ? `none (${probe.error})` : probe.adapter}\n`);
    if (probe.error) {
      results.push(...[...TRAIN_TASKS, 'matmul'].map((task) => ({ ...probe, task })));
      continue;
    }
    env = webgpu.env;
  }
  const paired = backend === 'wasm' && kernels === 'dlvm';
  for (const task of paired ? ['matmul'] : ['matmul', ...TRAIN_TASKS]) {
    if (task === 'matmul' && backend === 'cpu' && kernels === 'dlvm') continue; // same kernel as stock
    log(runWorker(task, backend, kernels, t, env));
  }
}

// dlvm's wasm rows and PyTorch's, in alternating rounds (see the header).
const py = args.includes('--skip-torch') ? null : (findTorchPython()?.python ?? null);
if (!py) process.stderr.write('  PyTorch: skipped (no python with torch found; Debian: apt-get install python3-torch, or set DLVM_PYTHON)\n');
const threadCounts = [...new Set([1, threads])];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pairedRuns = new Map<string, Result[]>();
const pairedKey = (task: string, backend: string, t: number) => `${task}/${backend}/${t}`;
for (let round = 1; round <= rounds; round++) {
  process.stderr.write(`  round ${round} of ${rounds} (${(seconds / rounds).toFixed(1)} s a run)\n`);
  for (const task of TASKS) {
    for (const t of threadCounts) {
      const runs: Array<[string, () => Result]> = [['wasm', () => runWorker(task, 'wasm', 'dlvm', t, {}, seconds / rounds)]];
      if (py) runs.push(['pytorch', () => runTorch(py, task, t, seconds / rounds)]);
      for (const [backend, run] of runs) {
        const r = run();
        process.stderr.write(
          `  ${r.task.padEnd(6)} ${r.backend}/${r.kernels}/${r.threads ?? '-'}: ${r.error ? `error: ${r.error}` : `${rate(r)?.toFixed(2)}/s`}\n`,
        );
        const key = pairedKey(task, backend, t);
        pairedRuns.set(key, [...(pairedRuns.get(key) ?? []), r]);
      }
    }
  }
}
// One result per paired configuration: the median throughput and the median peak RSS over the rounds.
for (const runs of pairedRuns.values()) {
  const ok = runs.filter((r) => !r.error && rate(r) !== undefined);
  if (ok.length === 0) {
    results.push(runs[0]!);
    continue;
  }
  const rates = runs.map((r) => rate(r) ?? NaN);
  const figure = median(ok.map((r) => rate(r)!));
  const rss = ok.map((r) => r.peakRssMB).filter((m): m is number => m !== undefined);
  const summary: Result = { ...ok[0]!, roundRates: rates, roundPeakRssMB: rss, ...(rss.length ? { peakRssMB: median(rss) } : {}) };
  if (summary.samplesPerSec !== undefined) summary.samplesPerSec = figure;
  else summary.imagesPerSec = figure;
  results.push(summary);
}

// ---- table and ratios ----
const find = (task: string, backend: string, kernels: string, t: number) =>
  results.find((r) => r.task === task && r.backend === backend && r.kernels.startsWith(kernels) && (r.threads ?? 1) === t);
const fmt = (r: Result | undefined) => (!r ? '-' : r.error ? 'fails' : (rate(r) ?? 0).toFixed(r.imagesPerSec !== undefined ? 1 : 0));
/** The backend cell: the adapter's name on webgpu, or why there is none. */
const backendCell = (backend: string): string => {
  if (backend !== 'webgpu' || !webgpu) return backend;
  const { probe } = webgpu;
  if (probe.error) return `webgpu: no adapter (${probe.error.split('. ')[0]})`;
  return `webgpu: ${probe.adapter}`;
};
const rows = [...configs, ...(py ? [...new Set([1, threads])].map((t) => ['pytorch', 'torch', t] as [string, string, number]) : [])];
const lines = [
  `| backend | kernels | threads | ${TASKS.map((t) => TASK_NAMES[t]).join(' | ')} | peak RSS MB (${TASKS.join(' / ')}) | matmul 512^3 GFLOP/s nn / tn / nt |`,
  `|---|---|---|${TASKS.map(() => '---|').join('')}---|---|`,
];
for (const [backend, kernels, t] of rows) {
  const byTask = TASKS.map((task) => find(task, backend, kernels, t));
  const mm = find('matmul', backend, kernels, t) ?? (backend === 'cpu' ? find('matmul', 'cpu', 'stock', 1) : undefined);
  const g = mm?.gflops;
  const rss = byTask.map((r) => (r?.peakRssMB ? r.peakRssMB.toFixed(0) : '-')).join(' / ');
  lines.push(
    `| ${backendCell(backend)} | ${kernels} | ${backend === 'webgpu' ? '-' : t} | ${byTask.map(fmt).join(' | ')} | ${rss} | ${g ? [g.nn, g.tn, g.nt].map((v) => v!.toFixed(1)).join(' / ') : '-'} |`,
  );
}
const ratio = (a: Result | undefined, b: Result | undefined) => {
  const ra = rate(a);
  const rb = rate(b);
  return ra && rb ? ra / rb : null;
};
/** The fastest of the results that ran (the best thread count). */
const best = (rs: Array<Result | undefined>): Result | undefined => rs.filter((r) => r && !r.error && rate(r)).sort((a, b) => rate(b)! - rate(a)!)[0];
const ratios: Record<string, number | null> = {};
/** The median over the rounds of a / b, round by round (the runs alternated: the same drift on both sides). */
const pairedRatio = (a: Result | undefined, b: Result | undefined): number | null => {
  if (!a?.roundRates || !b?.roundRates) return ratio(a, b);
  const each = a.roundRates.map((x, i) => x / b.roundRates![i]!).filter(Number.isFinite);
  return each.length ? median(each) : null;
};
const rssOverTorch: Record<string, number | null> = {};
if (py) {
  for (const task of TASKS) {
    const dlvm = best(threadCounts.map((t) => find(task, 'wasm', 'dlvm', t)));
    const torch = best(threadCounts.map((t) => find(task, 'pytorch', 'torch', t)));
    ratios[
      `${TASK_NAMES[task].replace(/ (samples|images)\/s$/, '')}: dlvm wasm / PyTorch, best threads of each (${dlvm?.threads ?? '-'} / ${torch?.threads ?? '-'})`
    ] = pairedRatio(dlvm, torch);
    rssOverTorch[task] = dlvm?.peakRssMB && torch?.peakRssMB ? dlvm.peakRssMB - torch.peakRssMB : null;
  }
}
ratios['MLP wasm: dlvm (best threads) / stock'] = ratio(find('mlp', 'wasm', 'dlvm', threads), find('mlp', 'wasm', 'stock', 1));
ratios['MLP wasm: dlvm (1 thread) / stock'] = ratio(find('mlp', 'wasm', 'dlvm', 1), find('mlp', 'wasm', 'stock', 1));
ratios['conv cpu: dlvm / stock'] = ratio(find('conv', 'cpu', 'dlvm', 1), find('conv', 'cpu', 'stock', 1));
ratios['conv wasm (dlvm, best threads) / cpu stock'] = ratio(find('conv', 'wasm', 'dlvm', threads), find('conv', 'cpu', 'stock', 1));
if (webgpu && !webgpu.probe.error) {
  ratios['MLP webgpu / dlvm wasm (best threads)'] = ratio(find('mlp', 'webgpu', 'dlvm', 1), find('mlp', 'wasm', 'dlvm', threads));
  ratios['conv webgpu / dlvm wasm (best threads)'] = ratio(find('conv', 'webgpu', 'dlvm', 1), find('conv', 'wasm', 'dlvm', threads));
}
if (py) {
  for (const t of threadCounts) {
    for (const task of TASKS) {
      ratios[`${task} dlvm wasm / PyTorch, ${t} thread(s)`] = pairedRatio(find(task, 'wasm', 'dlvm', t), find(task, 'pytorch', 'torch', t));
    }
  }
}
lines.push(
  '',
  `| ratio (same run${rounds > 1 ? `; dlvm wasm against PyTorch: the median of ${rounds} alternating rounds' ratios` : ''}) | value |`,
  '|---|---|',
);
for (const [k, v] of Object.entries(ratios)) lines.push(`| ${k} | ${v === null ? '-' : `${v.toFixed(2)}x`} |`);
if (py) {
  lines.push('', '| peak RSS, dlvm wasm (best threads) - PyTorch (best threads) | MB |', '|---|---|');
  for (const [task, mb] of Object.entries(rssOverTorch)) lines.push(`| ${task} | ${mb === null ? '-' : mb.toFixed(0)} |`);
}
const stockConv = find('conv', 'wasm', 'stock', 1);
if (stockConv?.error) lines.push('', `Stock wasm conv VAE: ${stockConv.error}`);
console.log(lines.join('\n'));

writeFileSync(
  `${here}results.json`,
  `${JSON.stringify(
    {
      ...machineInfo(VERSION),
      secondsPerConfig: seconds,
      rounds,
      ...(webgpu ? { webgpu: { dawnFlags: webgpu.env.DLVM_DAWN_FLAGS ?? null, ...webgpu.probe } } : {}),
      results,
      ratios,
      peakRssOverTorchMB: rssOverTorch,
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`wrote ${here}results.json\n`);
