/**
 * Finds a Python interpreter with torch for the PyTorch reference runs (bench/torch_vae.py), for
 * `npm run bench` and the GPU benchmark. Tries DLVM_PYTHON, then `python3` and `python` on PATH,
 * the active conda / virtual environment, every python3 / python in each PATH folder, and the
 * usual install places (/usr/bin, /usr/local/bin, /opt/conda, ~/miniconda3, ~/anaconda3).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TorchPython {
  python: string;
  torch: string;
  /** torch.cuda.is_available() */
  cuda: boolean;
  /** torch.cuda.get_device_name(0) when CUDA is available. */
  cudaDevice?: string;
}

function candidates(): string[] {
  const env = process.env;
  const home = os.homedir();
  const list = [env['DLVM_PYTHON'], 'python3', 'python'];
  if (env['CONDA_PREFIX']) list.push(path.join(env['CONDA_PREFIX'], 'bin', 'python'));
  if (env['VIRTUAL_ENV']) list.push(path.join(env['VIRTUAL_ENV'], 'bin', 'python'));
  for (const dir of (env['PATH'] ?? '').split(':').filter((d) => d !== '')) {
    list.push(path.join(dir, 'python3'), path.join(dir, 'python'));
  }
  list.push(
    '/usr/bin/python3',
    '/usr/local/bin/python3',
    '/opt/conda/bin/python',
    '/opt/miniconda3/bin/python',
    path.join(home, 'miniconda3', 'bin', 'python'),
    path.join(home, 'anaconda3', 'bin', 'python'),
  );
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of list) {
    if (!c) continue;
    let key = c;
    if (c.includes('/')) {
      if (!existsSync(c)) continue;
      key = realpathSync(c);
    }
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}

const PROBE =
  'import json, torch; c = torch.cuda.is_available(); ' +
  "print(json.dumps({'torch': torch.__version__, 'cuda': c, 'cudaDevice': torch.cuda.get_device_name(0) if c else None}))";

/** What `python` says about its torch, or null when it has none (or is no python). */
export function probeTorch(python: string): TorchPython | null {
  try {
    const out = execFileSync(python, ['-c', PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '') as { torch: string; cuda: boolean; cudaDevice: string | null };
    return { python, torch: r.torch, cuda: r.cuda, ...(r.cudaDevice ? { cudaDevice: r.cudaDevice } : {}) };
  } catch {
    return null;
  }
}

/**
 * The first interpreter with torch; with `preferCuda`, the first whose torch sees a CUDA device,
 * else the first with torch at all. Null when none has torch.
 */
export function findTorchPython(preferCuda = false): TorchPython | null {
  let first: TorchPython | null = null;
  for (const py of candidates()) {
    const r = probeTorch(py);
    if (r == null) continue;
    if (!preferCuda || r.cuda) return r;
    first ??= r;
  }
  return first;
}
