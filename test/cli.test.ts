/**
 * The `dlvm` command end to end on a small MNIST subset: train -> eval -> sample -> plot, --help,
 * and bad flags (message and non-zero exit). Runs the built dist/cli.js in a separate process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../src/index.js';

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const run = mkdtempSync(join(tmpdir(), 'dlvm-cli-'));
const dlvm = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, DLVM_BACKEND: 'wasm' } });

beforeAll(() => {
  // The command runs from dist/ (like an installed package), built by the global setup.
  expect(existsSync(cli)).toBe(true);
});

describe('dlvm CLI', () => {
  it('train, eval, sample and plot a small run', async () => {
    const t = dlvm('train', '--limit', '600', '--epochs', '2', '--hidden', '64', '--latent-dim', '2', '--batch-size', '100', '--out', run);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/trained 12 steps \(2 epochs\)\. \d+ s; validation ELBO -\d+\.\d\d\. Saved /);
    for (const f of ['run.json', 'history.json', 'curves.png', 'model/model.json', 'checkpoints/last/training.json']) expect(existsSync(join(run, f)), f).toBe(true);
    const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ model: 'vae', dataset: 'mnist', binarize: 'threshold', latentDim: 2, hidden: [64], backend: 'wasm', steps: 12, stopReason: 'completed' });

    const e = dlvm('eval', '--run', run, '--iw', '20', '--limit', '200');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^200 test examples: ELBO -\d+\.\d\d \(reconstruction \d+\.\d\d, KL \d+\.\d\d\), IWAE-20 NLL \d+\.\d\d nats \(\d\.\d{4} bits\/dim\), MSE 0\.\d{4}, active units \d; \d+ s/);
    expect(e.stderr).toMatch(/IWAE-20: 200\/200 examples, \d+ s/);
    const ev = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8'));
    expect(ev.nll).toBeLessThanOrEqual(-ev.elbo + 1); // IWAE-20 bound above the ELBO (+1 nat of Monte Carlo noise)

    const s = dlvm('sample', '--run', run, '--n', '16', '--mean');
    expect(s.status, s.stderr).toBe(0);
    const png = await decodePng(new Uint8Array(readFileSync(join(run, 'samples.png'))));
    expect([png.width, png.height]).toEqual([4 * 30 + 2, 4 * 30 + 2]);

    for (const kind of ['latent', 'manifold', 'reconstructions', 'curves']) {
      const p = dlvm('plot', kind, '--run', run);
      expect(p.status, `${kind}: ${p.stderr}`).toBe(0);
      expect(existsSync(join(run, `${kind}.png`))).toBe(true);
    }
  });

  it('a conditional VAE (--model cvae): eval of log p(x|y), the style/content grid, GMVAE with learned weights recorded', async () => {
    const cv = join(run, 'cvae');
    const t = dlvm('train', '--model', 'cvae', '--limit', '300', '--epochs', '1', '--hidden', '32', '--latent-dim', '2', '--batch-size', '100', '--out', cv);
    expect(t.status, t.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(cv, 'run.json'), 'utf8'))).toMatchObject({ model: 'cvae', modelOptions: { numClasses: 10 } });
    const e = dlvm('eval', '--run', cv, '--iw', '5', '--limit', '100');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^100 test examples: ELBO -\d+\.\d\d/);
    const p = dlvm('plot', 'style-content', '--run', cv);
    expect(p.status, p.stderr).toBe(0);
    const png = await decodePng(new Uint8Array(readFileSync(join(cv, 'style-content.png'))));
    expect([png.width, png.height]).toEqual([10 * 30 + 2, 10 * 30 + 2]);
    const r = dlvm('plot', 'reconstructions', '--run', cv);
    expect(r.status, r.stderr).toBe(0);
    const grey = dlvm('train', '--model', 'cvae', '--likelihood', 'continuous-bernoulli', '--binarize', 'none', '--limit', '200', '--epochs', '1', '--hidden', '16', '--latent-dim', '2', '--batch-size', '100', '--out', join(run, 'cvae-grey'));
    expect(grey.status, grey.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'cvae-grey', 'model', 'model.json'), 'utf8')).decoder.type).toBe('ContinuousBernoulliDecoder');
    const binary = dlvm('train', '--binarize', 'none', '--limit', '200', '--out', join(run, 'bad'));
    expect(binary.status).toBe(1);
    expect(binary.stderr).toMatch(/--likelihood bernoulli needs binary data/);
    const wrong = dlvm('plot', 'style-content', '--run', run);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/plot style-content needs a conditional model \(dlvm train --model cvae\)/);
    const gm = join(run, 'gmvae');
    const g = dlvm('train', '--model', 'gmvae', '--components', '3', '--learn-weights', '--limit', '200', '--epochs', '1', '--hidden', '16', '--latent-dim', '2', '--batch-size', '100', '--out', gm);
    expect(g.status, g.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(gm, 'run.json'), 'utf8')).modelOptions).toEqual({ components: 3, learnWeights: true });
    expect(JSON.parse(readFileSync(join(gm, 'model', 'model.json'), 'utf8')).prior).toMatchObject({ components: 3, learnWeights: true });
  });

  it('a semi-supervised VAE (--model ssvae --labels 100): split, accuracy in training and eval', () => {
    const ss = join(run, 'ssvae');
    const t = dlvm('train', '--model', 'ssvae', '--labels', '20', '--limit', '300', '--epochs', '1', '--hidden', '16', '--latent-dim', '2', '--batch-size', '100', '--no-labelled-elbo', '--out', ss);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/semi-supervised: 20 labelled and 280 unlabelled examples \(split seed 0\)/);
    expect(t.stdout).toMatch(/validation ELBO -\d+\.\d\d, accuracy 0\.\d{4}\./);
    expect(JSON.parse(readFileSync(join(ss, 'run.json'), 'utf8')).modelOptions).toEqual({ numClasses: 10, labels: 20, alpha: 100, genWeight: 1, labelledElbo: false });
    const e = dlvm('eval', '--run', ss, '--limit', '100');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^100 test examples: accuracy of q\(y\|x\) 0\.\d{4}; ELBO of log p\(x\), y summed out, -\d+\.\d\d/);
    expect(JSON.parse(readFileSync(join(ss, 'eval.json'), 'utf8'))).toMatchObject({ examples: 100 });
    const b = dlvm('eval', '--run', ss, '--limit', '100', '--bayes', '3', '--binarize', 'threshold');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^100 test examples: accuracy of q\(y\|x\) 0\.\d{4}, of p\(y\|x\) by Bayes' rule \(IWAE-3 per class\) 0\.\d{4}; ELBO/);
    expect(b.stderr).toMatch(/Bayes' rule, IWAE-3 per class: 100\/100 examples/);
    expect(JSON.parse(readFileSync(join(ss, 'eval.json'), 'utf8'))).toMatchObject({ examples: 100, binarize: 'threshold', bayesSamples: 3, bayesAccuracy: expect.any(Number) });
    const grey = dlvm('eval', '--run', ss, '--limit', '100', '--binarize', 'none');
    expect(grey.status).toBe(1);
    expect(grey.stderr).toMatch(/--binarize none: the run's Bernoulli likelihood needs binary images \(it was trained with --binarize threshold\)/);
    const bad = dlvm('train', '--model', 'ssvae', '--labels', '15', '--limit', '300', '--out', ss);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--labels must be a multiple of the 10 classes/);
  });

  it('stacked M1+M2 (--m1 RUN): M2 on the z1 of a trained VAE; eval names the bound on log p(z1); pictures refused', () => {
    const st = join(run, 'm1m2');
    const t = dlvm('train', '--model', 'ssvae', '--m1', run, '--labels', '20', '--labelled-batch-size', '5', '--limit', '300', '--epochs', '1', '--hidden', '16', '--latent-dim', '2', '--batch-size', '100', '--out', st);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/M1\+M2: M2 models z1 ~ q\(z1\|x\) of the VAE in .*: its [12] active units of 2/);
    expect(JSON.parse(readFileSync(join(st, 'run.json'), 'utf8')).modelOptions).toMatchObject({ labels: 20, m1: run, labelledBatchSize: 5 });
    expect(JSON.parse(readFileSync(join(st, 'model', 'model.json'), 'utf8')).extra.nets).toEqual({ classifier: 'classifier', m1: 'm1' });
    const e = dlvm('eval', '--run', st, '--limit', '100');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^100 test examples: accuracy of q\(y\|x\) 0\.\d{4}; ELBO of log p\(z1\) \(M1's mean z1, not comparable to log p\(x\)\), y summed out, -?\d+\.\d\d/);
    const s = dlvm('sample', '--run', st);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/dlvm sample draws images, but .*m1m2 is an M1\+M2 model whose M2 models M1's latent z1/);
    const wrong = dlvm('train', '--model', 'vae', '--m1', run, '--limit', '300', '--out', st);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/--m1 is for --model ssvae \(M1\+M2\), not --model vae/);
    const cv = dlvm('train', '--model', 'ssvae', '--m1', join(run, 'cvae'), '--labels', '20', '--limit', '300', '--out', st);
    expect(cv.status).toBe(1);
    expect(cv.stderr).toMatch(/--m1 .*cvae: M1 must be an unconditional VAE, got a conditional one \(--model cvae\)/);
    const lbs = dlvm('train', '--model', 'cvae', '--labelled-batch-size', '5', '--limit', '300', '--out', st);
    expect(lbs.status).toBe(1);
    expect(lbs.stderr).toMatch(/--labelled-batch-size is for --model ssvae, not --model cvae/);
  });

  it('never trains over a run unasked: refuses an existing --out without --resume or --force, refuses an incomplete checkpoint', () => {
    const r = join(run, 'guarded');
    const small = ['--dataset', 'toy2d', '--limit', '200', '--epochs', '1', '--hidden', '8', '--latent-dim', '2', '--batch-size', '100', '--out', r];
    expect(dlvm('train', ...small).status).toBe(0);
    const firstModel = readFileSync(join(r, 'model', 'model.json'), 'utf8');
    const again = dlvm('train', ...small);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/--out .*guarded already holds a run \(run\.json, model, history\.json, curves\.png, checkpoints\)\. Continue it with --resume, choose another --out, or replace it with --force\./);
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
    const child = spawn(process.execPath, [cli, 'train', '--dataset', 'toy2d', '--epochs', '100000', '--hidden', '8', '--latent-dim', '2', '--batch-size', '200', '--out', r], {
      cwd: root,
      env: { ...process.env, DLVM_BACKEND: 'wasm' },
    });
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
    expect(busy.stderr).toMatch(new RegExp(`locked is being written by another 'dlvm train' \\(pid ${process.pid}, since 2026-12-02T00:00:00\\.000Z\\); wait for it to finish or stop it`));
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
    const both = await Promise.all([0, 1].map(() => new Promise<number | null>((res) => {
      const c = spawn(process.execPath, [cli, 'train', ...small.slice(0, -1), other], { cwd: root, env: { ...process.env, DLVM_BACKEND: 'wasm' } });
      c.on('exit', (code) => res(code));
    })));
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
    const t = dlvm('train', '--dataset', 'toy2d', '--limit', '200', '--epochs', '1', '--hidden', '8', '--latent-dim', '2', '--batch-size', '100', '--lr', '1e30', '--out', r);
    expect(t.status, t.stderr).toBe(1);
    expect(`${t.stdout}${t.stderr}`).toMatch(/training stopped at step \d+ \(epoch 1\): the loss became/);
    const info = JSON.parse(readFileSync(join(r, 'run.json'), 'utf8'));
    expect(info.stopReason).toBe('non-finite loss');
    expect(existsSync(join(r, 'model', 'model.json'))).toBe(true);
  });

  it('--help on every command; bad flags give a message and status 1', () => {
    for (const cmd of ['train', 'sample', 'eval', 'plot']) {
      const h = dlvm(cmd, '--help');
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: dlvm ${cmd}`));
    }
    const bad = dlvm('train', '--model', 'foo', '--out', run);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/option '--model <name>' argument 'foo' is invalid\. Allowed choices are vae, betavae, gmvae, iwae, cvae, ssvae\./);
    const zero = dlvm('train', '--epochs', '0', '--out', run);
    expect(zero.status).toBe(1);
    expect(zero.stderr).toMatch(/--epochs must be a positive integer, got "0"/);
    const proc = dlvm('train', '--dataset', 'toy2d', '--epochs', '1', '--out', '/proc/dlvm-cannot-write');
    expect(proc.status).toBe(1);
    expect(proc.stderr).toMatch(/--out \/proc\/dlvm-cannot-write cannot be written \(.*\); choose a writable folder\./);
    const missing = dlvm('eval', '--run', join(run, 'nope'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/dlvm: .*nope\/run\.json cannot be read .*is .*nope a folder written by 'dlvm train'\?/);
    const kind = dlvm('plot', 'histogram', '--run', run);
    expect(kind.status).toBe(1);
    expect(kind.stderr).toMatch(/must be latent, manifold, reconstructions, curves, toy or style-content, got "histogram"/);
  });
});
