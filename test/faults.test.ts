/**
 * The fault suite (issue 14): what users and their machines do to a run, reproduced against the
 * built `dlvm` command and the library. kill -9 at 20 random moments of a training that writes a
 * checkpoint every few milliseconds (each checkpoint is then checked independently: every file's
 * SHA-256 against the manifests, the optimizer's step against training.json, then `eval` and
 * `--resume`); overwriting a run; a torn checkpoint; two writers; SIGTERM; an unfinished run;
 * divergence; a non-finite loss at step 1; damaged weights; a wrong `--data` folder; a full disk.
 * Where the other cases of the issue are tested: docs/training.md, "What survives what".
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fit, loadModel, manualSeed, toyDataset, VAE } from '../src/index.js';
import { removeStaleParts, writeFileAtomic } from '../src/io.js';
import { useBackend } from './helpers/backends.js';

// A full disk on demand for the in-process cases: writes under `fullDisk.under` fail with ENOSPC
// once `fullDisk.after` more files have been written (everything else goes to the real fs).
const fullDisk: { under: string | null; after: number } = { under: null, after: 0 };
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile = (async (file: Parameters<typeof real.writeFile>[0], ...rest: unknown[]) => {
    if (fullDisk.under !== null && String(file).startsWith(fullDisk.under)) {
      if (fullDisk.after <= 0) throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
      fullDisk.after--;
    }
    return (real.writeFile as (...a: unknown[]) => Promise<void>)(file, ...rest);
  }) as typeof real.writeFile;
  return { ...real, writeFile, default: { ...real, writeFile } };
});

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'dlvm-faults-'));
const run = work;
const env = { ...process.env, DLVM_BACKEND: 'wasm' };
const dlvm = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env });
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

beforeAll(async () => {
  expect(existsSync(cli)).toBe(true); // built by the global setup
  await useBackend('cpu');
});

/**
 * Checks a checkpoint folder without dlvm's code: training.json's manifest against the files,
 * model.json's checksums against the model's files, the optimizer's step counter against
 * training.json. Returns its step.
 */
function checkCheckpoint(dir: string): number {
  const state = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8')) as { step: number; epoch: number; files: Record<string, string> };
  expect(Object.keys(state.files).sort(), dir).toEqual(['model/model.json', 'optimizer.bin', 'optimizer.json']);
  for (const [f, expected] of Object.entries(state.files)) expect(sha(join(dir, f)), `${dir}/${f}`).toBe(expected);
  const model = JSON.parse(readFileSync(join(dir, 'model', 'model.json'), 'utf8')) as { checksums: Record<string, string> };
  expect(Object.keys(model.checksums).length).toBeGreaterThanOrEqual(6);
  for (const [f, expected] of Object.entries(model.checksums)) expect(sha(join(dir, 'model', f)), `${dir}/model/${f}`).toBe(expected);
  const optimizer = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as { weights: Array<{ name: string }> };
  expect(optimizer.weights[0]!.name).toBe('iter');
  const bin = readFileSync(join(dir, 'optimizer.bin'));
  expect(new Float32Array(bin.buffer, bin.byteOffset, 1)[0], `${dir}: Adam's step counter`).toBe(state.step);
  return state.step;
}

/** Files and folders an interrupted write leaves: `*.part` files and `*.new-*` / `*.old-*` folders. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (/\.part$|\.(new|old)-\d/.test(f)) out.push(p.slice(dir.length + 1));
      if (existsSync(p) && statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** A small PRNG, so that the kill moments are the same in every run of the suite. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('kill -9 during checkpoint writes', () => {
  it('20 kills at random moments of checkpoint writes: every checkpoint left is whole and of one step; eval and --resume work after each', async () => {
    const r = join(work, 'killed');
    // Two steps per epoch: a checkpoint (last, often best too) and run.json every few milliseconds.
    const args = [
      'train',
      '--dataset',
      'toy2d',
      '--limit',
      '200',
      '--epochs',
      '100000',
      '--hidden',
      '16',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--out',
      r,
    ];
    const random = mulberry32(14);
    const trials: Array<{ delayMs: number; stepAtKill: number; leftovers: string[] }> = [];
    const lastStep = () =>
      existsSync(join(r, 'checkpoints', 'last', 'training.json'))
        ? (JSON.parse(readFileSync(join(r, 'checkpoints', 'last', 'training.json'), 'utf8')).step as number)
        : -1;
    let stepBefore = -1;
    for (let trial = 0; trial < 20; trial++) {
      const child = spawn(process.execPath, [cli, ...args, ...(trial > 0 ? ['--resume'] : [])], { cwd: root, env });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.stdout.on('data', (d) => (stderr += String(d)));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      let done = false;
      void exited.then(() => (done = true));
      // Wait until this process has written checkpoints of its own (past the step it resumed from).
      const deadline = Date.now() + 60_000;
      while (!done && Date.now() < deadline) {
        let s = -1;
        try {
          s = lastStep();
        } catch {
          // read while being replaced
        }
        if (s > stepBefore + 4) break;
        await sleep(20);
      }
      expect(done, `trial ${trial}: the training exited early:\n${stderr}`).toBe(false);
      if (trial > 0) expect(stderr, `trial ${trial}`).toMatch(/resumed from .*checkpoints\/(last|best): \d+ epochs, \d+ steps done/);
      // The kill: a random 0-12 ms after the next checkpoint write begins (its folder appears; a
      // write takes about 10 ms here, so most kills land inside it, the rest just after).
      const delayMs = Math.round(random() * 120) / 10;
      await new Promise<void>((res) => {
        let fired = false;
        const fire = () => {
          if (fired) return;
          fired = true;
          watcher.close();
          setTimeout(() => {
            child.kill('SIGKILL');
            res();
          }, delayMs);
        };
        const watcher = watch(join(r, 'checkpoints'), (_event, name) => {
          if (name !== null && /\.new-/.test(String(name))) fire();
        });
        setTimeout(fire, 5000);
      });
      expect(await exited).toBe(null);
      const left = leftovers(r);
      // Whatever the moment, each checkpoint present is whole, of one step, and loads; between
      // the two renames of a swap `last` is briefly absent and `best` (or the swap's complete copy) remains.
      let step = -1;
      for (const which of ['last', 'best']) {
        const dir = join(r, 'checkpoints', which);
        if (existsSync(join(dir, 'training.json'))) step = Math.max(step, checkCheckpoint(dir));
      }
      expect(step, `trial ${trial}: a checkpoint is left`).toBeGreaterThan(stepBefore);
      const e = dlvm('eval', '--run', r, '--iw', '2', '--limit', '50');
      expect(e.status, `trial ${trial} eval: ${e.stderr}`).toBe(0);
      expect(e.stderr).toMatch(/is unfinished \(no model\/\): using its (last|best) checkpoint/);
      trials.push({ delayMs, stepAtKill: step, leftovers: left });
      stepBefore = step;
    }
    // The next run repairs and tidies what the kills left, and finishes cleanly on SIGTERM.
    const child = spawn(process.execPath, [cli, ...args, '--resume'], { cwd: root, env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    while (lastStep() <= stepBefore + 4) await sleep(20);
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(leftovers(r)).toEqual([]);
    expect(checkCheckpoint(join(r, 'checkpoints', 'last'))).toBeGreaterThan(stepBefore);
    const info = JSON.parse(readFileSync(join(r, 'run.json'), 'utf8'));
    expect(info.stopReason).toBe('aborted');
    const model = await loadModel(join(r, 'model'));
    model.dispose();
    // For the record (the closing note's figures): how many kills landed inside a write.
    mkdirSync(join(root, '.tmp'), { recursive: true });
    const inside = trials.filter((t) => t.leftovers.length > 0).length;
    writeFileSync(
      join(root, '.tmp', 'faults-kill-trials.json'),
      JSON.stringify({ trials: trials.length, survived: trials.length, insideAWrite: inside, trialsDetail: trials }, null, 2),
    );
    console.log(`kill -9 trials: ${trials.length} survived, ${inside} of them inside a write (left .part/.new-/.old- files)`);
  }, 600_000);
});

describe('runs', () => {
  it('never trains over a run unasked: refuses an existing --out without --resume or --force, refuses an incomplete checkpoint', () => {
    const r = join(run, 'guarded');
    const small = ['--dataset', 'toy2d', '--limit', '200', '--epochs', '1', '--hidden', '8', '--latent-dim', '2', '--batch-size', '100', '--out', r];
    expect(dlvm('train', ...small).status).toBe(0);
    const firstModel = readFileSync(join(r, 'model', 'model.json'), 'utf8');
    const again = dlvm('train', ...small);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(
      /--out .*guarded already holds a run \(run\.json, model, history\.json, curves\.png, checkpoints\)\. Continue it with --resume, choose another --out, or replace it with --force\./,
    );
    expect(readFileSync(join(r, 'model', 'model.json'), 'utf8')).toBe(firstModel); // untouched
    expect(dlvm('train', ...small, '--resume', '--force').stderr).toMatch(/--resume and --force exclude each other/);
    const forced = dlvm('train', ...small, '--force', '--seed', '1');
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force: removed the previous run in .*guarded \(run\.json, model, history\.json, curves\.png, checkpoints\)/);
    // A checkpoint whose training.json is missing (an interrupted save) is not trained over from step 0.
    rmSync(join(r, 'checkpoints', 'last', 'training.json'));
    const torn = dlvm('train', ...small, '--resume');
    expect(torn.status).toBe(1);
    expect(torn.stderr).toMatch(/fit: cannot resume from .*guarded\/checkpoints\/last: it has no training\.json \(an interrupted or incomplete save\)/);
    expect(existsSync(join(r, 'checkpoints', 'best', 'training.json'))).toBe(true);
  });

  it('an unfinished run has run.json from the start, can be evaluated from its checkpoint, and SIGTERM saves it', async () => {
    const r = join(run, 'long');
    const child = spawn(
      process.execPath,
      [cli, 'train', '--dataset', 'toy2d', '--epochs', '100000', '--hidden', '8', '--latent-dim', '2', '--batch-size', '200', '--out', r],
      {
        cwd: root,
        env: { ...process.env, DLVM_BACKEND: 'wasm' },
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const readInfo = () => (existsSync(join(r, 'run.json')) ? JSON.parse(readFileSync(join(r, 'run.json'), 'utf8')) : null);
    // run.json exists while training and is updated after each epoch.
    const deadline = Date.now() + 60_000;
    while (!(readInfo()?.steps > 0) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const during = readInfo();
    expect(during).toMatchObject({ stopReason: 'running', dataset: 'toy2d' });
    expect(during.steps).toBeGreaterThan(0);
    // No model/ yet: eval uses the last checkpoint and says so.
    const s = dlvm('eval', '--run', r, '--iw', '2', '--limit', '50');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/long is unfinished \(no model\/\): using its last checkpoint \(epoch \d+, step \d+\)/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/terminated: saving a checkpoint and stopping/);
    const after = readInfo();
    expect(after.stopReason).toBe('aborted');
    expect(existsSync(join(r, 'model', 'model.json'))).toBe(true);
  });

  it('one writer per run folder: a live lock names its pid, a stale one is taken over, none is left behind', async () => {
    const r = join(run, 'locked');
    const small = ['--dataset', 'toy2d', '--limit', '200', '--epochs', '1', '--hidden', '8', '--latent-dim', '2', '--batch-size', '100', '--out', r];
    mkdirSync(r, { recursive: true });
    // This test process is alive: its pid holds the lock.
    writeFileSync(join(r, '.dlvm-train.lock'), JSON.stringify({ pid: process.pid, since: '2026-12-02T00:00:00.000Z' }));
    const busy = dlvm('train', ...small);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(
      new RegExp(
        `locked is being written by another 'dlvm train' \\(pid ${process.pid}, since 2026-12-02T00:00:00\\.000Z\\); wait for it to finish or stop it`,
      ),
    );
    expect(existsSync(join(r, 'run.json'))).toBe(false);
    // A lock left by a process that is gone is stale.
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout.trim());
    writeFileSync(join(r, '.dlvm-train.lock'), JSON.stringify({ pid: deadPid, since: 'yesterday' }));
    const t = dlvm('train', ...small);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(new RegExp(`took over a stale lock of .*locked \\(pid ${deadPid} is gone, since yesterday\\)`));
    expect(existsSync(join(r, '.dlvm-train.lock'))).toBe(false);
    // Two trainings started together on one folder: exactly one writes it.
    const other = join(run, 'raced');
    const both = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number | null>((res) => {
            const c = spawn(process.execPath, [cli, 'train', ...small.slice(0, -1), other], { cwd: root, env: { ...process.env, DLVM_BACKEND: 'wasm' } });
            c.on('exit', (code) => res(code));
          }),
      ),
    );
    expect(both.sort()).toEqual([0, 1]);
  });

  it('divergent training (--lr 1000: a loss of about 6e17, all finite) is not saved as good: status 1, stopReason diverged', () => {
    const r = join(run, 'lr1000');
    const t = dlvm('train', '--limit', '300', '--epochs', '2', '--hidden', '16', '--latent-dim', '2', '--batch-size', '100', '--lr', '1000', '--out', r);
    expect(t.status, t.stderr).toBe(1);
    expect(t.stdout).toMatch(/training diverged at step \d+ \(epoch 1\): the loss reached \d\.\d+e\+\d+, far above the best so far/);
    expect(JSON.parse(readFileSync(join(r, 'run.json'), 'utf8')).stopReason).toBe('diverged');
    expect(existsSync(join(r, 'checkpoints', 'best'))).toBe(false);
  });

  it('a run that stops on a non-finite loss at once still writes run.json and exits with status 1', () => {
    const r = join(run, 'diverged');
    const t = dlvm(
      'train',
      '--dataset',
      'toy2d',
      '--limit',
      '200',
      '--epochs',
      '1',
      '--hidden',
      '8',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--lr',
      '1e30',
      '--out',
      r,
    );
    expect(t.status, t.stderr).toBe(1);
    expect(`${t.stdout}${t.stderr}`).toMatch(/training stopped at step \d+ \(epoch 1\): the loss became/);
    const info = JSON.parse(readFileSync(join(r, 'run.json'), 'utf8'));
    expect(info.stopReason).toBe('non-finite loss');
    expect(existsSync(join(r, 'model', 'model.json'))).toBe(true);
  });

  it('damaged weights are refused by checksum; eval falls back to a good checkpoint and says why, or names the file', () => {
    const r = join(work, 'damaged');
    const t = dlvm('train', '--dataset', 'toy2d', '--limit', '200', '--epochs', '2', '--hidden', '8', '--latent-dim', '2', '--batch-size', '100', '--out', r);
    expect(t.status, t.stderr).toBe(0);
    const flip = (file: string, nan: boolean) => {
      const b = Buffer.from(readFileSync(file));
      if (nan) b.writeFloatLE(Number.NaN, 0);
      else for (let i = 0; i < 8; i++) b[i] = (b[i]! + 97 + i * 31) % 256; // random-looking bytes
      writeFileSync(file, b);
    };
    flip(join(r, 'model', 'decoder', 'weights.bin'), true);
    const e = dlvm('eval', '--run', r, '--iw', '2', '--limit', '50');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/its model\/ cannot be loaded \(loadModel: .*model\/decoder\/weights\.bin .*checksum.*\): using its last checkpoint/);
    for (const which of ['last', 'best']) flip(join(r, 'checkpoints', which, 'model', 'encoder', 'weights.bin'), false);
    const none = dlvm('eval', '--run', r, '--iw', '2', '--limit', '50');
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/loadModel: .*model\/decoder\/weights\.bin .*checksum/);
    // --resume from a damaged last checkpoint falls back to best; with both damaged it stops, naming the file.
    const resumed = dlvm(
      'train',
      '--dataset',
      'toy2d',
      '--limit',
      '200',
      '--epochs',
      '3',
      '--hidden',
      '8',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--out',
      r,
      '--resume',
    );
    expect(resumed.status).toBe(1);
    expect(resumed.stderr).toMatch(/checkpoints\/best\/model\/encoder\/weights\.bin/);
  });

  it('--data names what is missing and never falls back to other data', () => {
    const empty = mkdtempSync(join(work, 'data-'));
    const t = dlvm('train', '--data', empty, '--epochs', '1', '--out', join(work, 'nodata'));
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(
      /loadMnist: the data folder .*data-\w+ lacks train-images-idx3-ubyte\(\.gz\), train-labels-idx1-ubyte\(\.gz\) for MNIST train \(it is empty\)/,
    );
    const misspelt = dlvm('train', '--data', join(work, 'mnsit'), '--epochs', '1', '--out', join(work, 'nodata'));
    expect(misspelt.stderr).toMatch(/the data folder .*mnsit does not exist/);
  });
});

describe('temporary files of interrupted writes', () => {
  it("removeStaleParts removes a dead writer's .part files and keeps a live writer's and everything else", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-parts-'));
    // A pid that is not running: a short-lived child, already exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = `run.json.${dead}.1796228066246.part`;
    const staleOld = `history.json.${dead}.1796228066246.1.part`; // with the counter
    const live = `run.json.${process.pid}.1796228066246.3.part`; // this process: a write in progress
    const other = 'notes.part'; // no pid in the name: not ours
    for (const f of [stale, staleOld, live, other, 'run.json']) writeFileSync(join(dir, f), 'x');
    expect((await removeStaleParts(dir)).sort()).toEqual([staleOld, stale].sort());
    expect(readdirSync(dir).sort()).toEqual([live, other, 'run.json'].sort());
    // Two writes of one file in the same millisecond do not share a temporary name.
    await Promise.all([writeFileAtomic(join(dir, 'a.json'), '1'), writeFileAtomic(join(dir, 'a.json'), '2')]);
    expect(['1', '2']).toContain(readFileSync(join(dir, 'a.json'), 'utf8'));
    expect(readdirSync(dir).filter((f) => f.startsWith('a.json.'))).toEqual([]);
    expect(await removeStaleParts(join(dir, 'missing'))).toEqual([]);
  });
});

describe('a full disk', () => {
  it('a checkpoint that meets a full disk names the path, leaves the previous checkpoint as it was, and leaks nothing', async () => {
    manualSeed(3);
    const data = toyDataset('square', { n: 200, seed: 1 });
    const dir = mkdtempSync(join(work, 'disk-'));
    const model = VAE.mlp({ inputShape: [2], latentDim: 2, hidden: [8], likelihood: 'gaussian', scale: 0.05 });
    try {
      await fit(model, data, { epochs: 1, batchSize: 100, checkpointDir: dir, progress: false, log: () => {} });
      const before = sha(join(dir, 'last', 'training.json'));
      const tensors = tf.memory().numTensors;
      for (const after of [0, 3, 7]) {
        // The disk fills after `after` more files: inside the model, the optimizer or the manifest.
        fullDisk.under = dir;
        fullDisk.after = after;
        try {
          await expect(fit(model, data, { epochs: 2, batchSize: 100, checkpointDir: dir, resume: true, progress: false, log: () => {} })).rejects.toThrow(
            new RegExp(
              `saveCheckpoint: the disk is full \\(writing ${dir}/last\\.new-[\\w-]+\\); ${dir}/last is unchanged\\. Free some space and try again\\.`,
            ),
          );
        } finally {
          fullDisk.under = null;
        }
        expect(sha(join(dir, 'last', 'training.json')), `after ${after} files`).toBe(before);
        expect(checkCheckpoint(join(dir, 'last'))).toBe(2);
        expect(leftovers(dir)).toEqual([]);
        expect(tf.memory().numTensors, `tensors after ${after} files`).toBe(tensors);
      }
    } finally {
      model.dispose();
    }
  });

  const tiny = join(work, 'tinyfs');
  mkdirSync(tiny, { recursive: true });
  const mounted = process.platform === 'linux' && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', tiny]).status === 0;
  it.runIf(mounted)('dlvm train on a really full disk (a 160 KB tmpfs) fails naming the path, exit status 1', () => {
    try {
      const t = dlvm(
        'train',
        '--dataset',
        'toy2d',
        '--limit',
        '200',
        '--epochs',
        '3',
        '--hidden',
        '256,256',
        '--latent-dim',
        '2',
        '--batch-size',
        '100',
        '--out',
        join(tiny, 'run'),
      );
      expect(t.status).toBe(1);
      expect(t.stderr).toMatch(/the disk is full.*tinyfs\/run/);
      expect(leftovers(tiny).filter((f) => f.endsWith('.part'))).toEqual([]);
    } finally {
      spawnSync('umount', [tiny]);
    }
  });
});
