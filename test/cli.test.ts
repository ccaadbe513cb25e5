/**
 * The `dlvm` command end to end on a small MNIST subset: train -> eval -> sample -> plot, --help,
 * and bad flags (message and non-zero exit). Runs the built dist/cli.js in a separate process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
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
    // The library's default is the data as given; the command thresholds grey images for its
    // Bernoulli likelihood and says so. Off a terminal, epoch lines count the epochs that run.
    expect(t.stderr).toMatch(
      /^binarize: threshold \(pixels >= 0\.5 -> 1; the default for a Bernoulli likelihood on mnist's grey images: --binarize dynamic\|static\|threshold to choose, or --likelihood continuous-bernoulli for grey levels\)$/m,
    );
    expect(t.stdout).toMatch(/^epoch 2\/2: step 12\/12, train ELBO /m);
    // --steps ends training in the first epoch: the line says 1/1, not 1/(the default epochs).
    const st = dlvm(
      'train',
      '--dataset',
      'toy2d',
      '--toy',
      'square',
      '--limit',
      '400',
      '--batch-size',
      '50',
      '--hidden',
      '8',
      '--latent-dim',
      '2',
      '--steps',
      '3',
      '--out',
      join(run, 'steps3'),
    );
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/^epoch 1\/1: step 3\/3, train ELBO /m);
    for (const f of ['run.json', 'history.json', 'curves.png', 'model/model.json', 'checkpoints/last/training.json'])
      expect(existsSync(join(run, f)), f).toBe(true);
    const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    expect(info).toMatchObject({
      model: 'vae',
      dataset: 'mnist',
      binarize: 'threshold',
      latentDim: 2,
      hidden: [64],
      backend: 'wasm',
      steps: 12,
      stopReason: 'completed',
    });

    const e = dlvm('eval', '--run', run, '--iw', '20', '--limit', '200');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(
      /^200 test examples: ELBO -\d+\.\d\d \(reconstruction \d+\.\d\d, KL \d+\.\d\d\), IWAE-20 NLL \d+\.\d\d nats \(\d\.\d{4} bits\/dim\), MSE 0\.\d{4}, active units \d; \d+ s/,
    );
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
    const grey = dlvm(
      'train',
      '--model',
      'cvae',
      '--likelihood',
      'continuous-bernoulli',
      '--binarize',
      'none',
      '--limit',
      '200',
      '--epochs',
      '1',
      '--hidden',
      '16',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--out',
      join(run, 'cvae-grey'),
    );
    expect(grey.status, grey.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'cvae-grey', 'model', 'model.json'), 'utf8')).decoder.type).toBe('ContinuousBernoulliDecoder');
    const binary = dlvm('train', '--binarize', 'none', '--limit', '200', '--out', join(run, 'bad'));
    expect(binary.status).toBe(1);
    expect(binary.stderr).toMatch(/--likelihood bernoulli needs binary data/);
    const wrong = dlvm('plot', 'style-content', '--run', run);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/plot style-content needs a conditional model \(dlvm train --model cvae\)/);
    const gm = join(run, 'gmvae');
    const g = dlvm(
      'train',
      '--model',
      'gmvae',
      '--components',
      '3',
      '--learn-weights',
      '--limit',
      '200',
      '--epochs',
      '1',
      '--hidden',
      '16',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--out',
      gm,
    );
    expect(g.status, g.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(gm, 'run.json'), 'utf8')).modelOptions).toEqual({ components: 3, learnWeights: true });
    expect(JSON.parse(readFileSync(join(gm, 'model', 'model.json'), 'utf8')).prior).toMatchObject({ components: 3, learnWeights: true });
  });

  it('a semi-supervised VAE (--model ssvae --labels 100): split, accuracy in training and eval', () => {
    const ss = join(run, 'ssvae');
    const t = dlvm(
      'train',
      '--model',
      'ssvae',
      '--labels',
      '20',
      '--limit',
      '300',
      '--epochs',
      '1',
      '--hidden',
      '16',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--no-labelled-elbo',
      '--out',
      ss,
    );
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/semi-supervised: 20 labelled and 280 unlabelled examples \(split seed 0\)/);
    expect(t.stdout).toMatch(/validation ELBO -\d+\.\d\d, accuracy 0\.\d{4}\./);
    expect(JSON.parse(readFileSync(join(ss, 'run.json'), 'utf8')).modelOptions).toEqual({
      numClasses: 10,
      labels: 20,
      alpha: 100,
      genWeight: 1,
      labelledElbo: false,
    });
    const e = dlvm('eval', '--run', ss, '--limit', '100');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^100 test examples: accuracy of q\(y\|x\) 0\.\d{4}; ELBO of log p\(x\), y summed out, -\d+\.\d\d/);
    expect(JSON.parse(readFileSync(join(ss, 'eval.json'), 'utf8'))).toMatchObject({ examples: 100 });
    const b = dlvm('eval', '--run', ss, '--limit', '100', '--bayes', '3', '--binarize', 'threshold');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^100 test examples: accuracy of q\(y\|x\) 0\.\d{4}, of p\(y\|x\) by Bayes' rule \(IWAE-3 per class\) 0\.\d{4}; ELBO/);
    expect(b.stderr).toMatch(/Bayes' rule, IWAE-3 per class: 100\/100 examples/);
    expect(JSON.parse(readFileSync(join(ss, 'eval.json'), 'utf8'))).toMatchObject({
      examples: 100,
      binarize: 'threshold',
      bayesSamples: 3,
      bayesAccuracy: expect.any(Number),
    });
    const grey = dlvm('eval', '--run', ss, '--limit', '100', '--binarize', 'none');
    expect(grey.status).toBe(1);
    expect(grey.stderr).toMatch(/--binarize none: the run's Bernoulli likelihood needs binary images \(it was trained with --binarize threshold\)/);
    const bad = dlvm('train', '--model', 'ssvae', '--labels', '15', '--limit', '300', '--out', ss);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--labels must be a multiple of the 10 classes/);
  });

  it('stacked M1+M2 (--m1 RUN): M2 on the z1 of a trained VAE; eval names the bound on log p(z1); pictures refused', () => {
    const st = join(run, 'm1m2');
    const t = dlvm(
      'train',
      '--model',
      'ssvae',
      '--m1',
      run,
      '--labels',
      '20',
      '--labelled-batch-size',
      '5',
      '--limit',
      '300',
      '--epochs',
      '1',
      '--hidden',
      '16',
      '--latent-dim',
      '2',
      '--batch-size',
      '100',
      '--out',
      st,
    );
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/M1\+M2: M2 models z1 ~ q\(z1\|x\) of the VAE in .*: its [12] active units of 2/);
    expect(JSON.parse(readFileSync(join(st, 'run.json'), 'utf8')).modelOptions).toMatchObject({ labels: 20, m1: run, labelledBatchSize: 5 });
    expect(JSON.parse(readFileSync(join(st, 'model', 'model.json'), 'utf8')).extra.nets).toEqual({ classifier: 'classifier', m1: 'm1' });
    const e = dlvm('eval', '--run', st, '--limit', '100');
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(
      /^100 test examples: accuracy of q\(y\|x\) 0\.\d{4}; ELBO of log p\(z1\) \(M1's mean z1, not comparable to log p\(x\)\), y summed out, -?\d+\.\d\d/,
    );
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

  it('--help on every command; bad flags give a message and status 1', () => {
    for (const cmd of ['train', 'sample', 'eval', 'plot']) {
      const h = dlvm(cmd, '--help');
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: dlvm ${cmd}`));
    }
    const bad = dlvm('train', '--model', 'foo', '--out', run);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/option '--model <name>' argument 'foo' is invalid\. Allowed choices are vae, betavae, gmvae, iwae, cvae, ssvae\./);
    // The error and one line pointing to --help, not the whole help (63 lines for train).
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: option '--model <name>'/), '(add --help to see the options)']);
    const unknown = dlvm('bogus');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toEqual(["error: unknown command 'bogus'", '(add --help to see the options)']);
    const zero = dlvm('train', '--epochs', '0', '--out', run);
    expect(zero.status).toBe(1);
    expect(zero.stderr).toMatch(/--epochs must be a positive integer, got "0"/);
    const proc = dlvm('train', '--dataset', 'toy2d', '--epochs', '1', '--out', '/proc/dlvm-cannot-write');
    expect(proc.status).toBe(1);
    expect(proc.stderr).toMatch(/--out \/proc\/dlvm-cannot-write cannot be written \(.*\); choose a writable folder\./);
    // A missing run folder: the same message from every command, before the backend starts.
    for (const args of [['eval'], ['sample'], ['plot', 'latent']]) {
      const missing = dlvm(...args, '--run', join(run, 'nope'));
      expect(missing.status).toBe(1);
      expect(missing.stderr.trim()).toBe(`dlvm: --run ${join(run, 'nope')}: no such folder. Pass a folder written by 'dlvm train --out DIR'.`);
    }
    const empty = mkdtempSync(join(tmpdir(), 'dlvm-not-a-run-'));
    const notRun = dlvm('sample', '--run', empty);
    expect(notRun.stderr.trim()).toBe(
      `dlvm: --run ${empty} is not a run folder (it has no run.json and no model/). Pass a folder written by 'dlvm train --out DIR'.`,
    );
    const kind = dlvm('plot', 'histogram', '--run', run);
    expect(kind.status).toBe(1);
    expect(kind.stderr).toMatch(/must be latent, manifold, reconstructions, curves, toy or style-content, got "histogram"/);
  });
});
