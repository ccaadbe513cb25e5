/**
 * dlvm Lab end to end in headless Chromium: the built site (examples/lab/dist, built here with
 * Vite from the built package) trains 100 steps on the MNIST subset and the ELBO rises; moving over
 * the latent plane changes the decoded digit; a drawn stroke gets a reconstruction; the model is
 * saved (a zip of a run folder that `dlvm eval --run` reads) and loaded back; a model trained by
 * the CLI in this run loads from its run folder; a file that is not a model gets an error a visitor
 * can act on; and the page logs no errors. Screenshots of each state go to .tmp/lab-screenshots/.
 *
 * Needs Chromium (harness.ts) and `npm run build` (dist/). .ci/run runs it with the browser tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveFolder, type Site } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const shots = join(root, '.tmp/lab-screenshots');
const work = mkdtempSync(join(tmpdir(), 'dlvm-lab-'));
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let site: Site;
let browser: Browser;
let page: Page;
const problems: string[] = [];
/** The ELBO after the 100-step run (the 1,000-step run must end higher). */
let first100 = -Infinity;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/index.js'))) throw new Error('dlvm Lab imports the built package: run npm run build first.');
  await build({ configFile: join(root, 'examples/lab/vite.config.ts'), logLevel: 'error' });
  mkdirSync(shots, { recursive: true });
  site = await serveFolder(join(root, 'examples/lab/dist'));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 }, acceptDownloads: true });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

/** The decoded canvas's pixels, summed per row (a fingerprint of the digit shown). */
const decodedPixels = () =>
  page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid=decoded]')!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const rows: number[] = [];
    for (let y = 0; y < c.height; y += 5) {
      let s = 0;
      for (let x = 0; x < c.width; x++) s += d[4 * (y * c.width + x)]!;
      rows.push(s);
    }
    return rows;
  });

/** Waits for the model line to change from `before` (a load finished) and the plane to be redrawn. */
async function loaded(before: string | null): Promise<string> {
  const version = await page.getAttribute('[data-testid=latent-plane]', 'data-version');
  await page
    .waitForFunction((b) => document.querySelector('[data-testid=model-info]')!.textContent !== b, before, { timeout: 60_000 })
    .catch(async (e) => {
      throw new Error(`the model did not load: ${(await page.textContent('[data-testid=error]')) || String(e)}`);
    });
  // The plane of the new model is drawn.
  await page.waitForFunction((v) => document.querySelector('[data-testid=latent-plane]')!.getAttribute('data-version') !== v, version, { timeout: 60_000 });
  return (await page.textContent('[data-testid=model-info]'))!;
}

describe('dlvm Lab in headless Chromium', () => {
  it('opens with the defaults and a backend', async () => {
    await page.goto(`${site.origin}/`);
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('[data-testid=train]')!.disabled, undefined, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=backend]')).toMatch(/^backend: (webgpu|webgl|wasm|cpu)/);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    // Without a hardware GPU backend (CI's Chromium has SwiftShader only), the page says why it trains on the CPU.
    if (/^backend: (wasm|cpu)/.test((await page.textContent('[data-testid=backend]'))!)) {
      expect(await page.textContent('[data-testid=gpu-note]')).toMatch(/^No hardware WebGPU or WebGL here, so training runs on the CPU/);
    }
    await shot('1-start');
  });

  it('trains 100 steps on the subset and the ELBO rises', async () => {
    await page.fill('[data-testid=steps]', '100');
    const t0 = Date.now();
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')!.getAttribute('data-state') === 'done', undefined, { timeout: 300_000 });
    const seconds = (Date.now() - t0) / 1000;
    const first = Number(await page.getAttribute('[data-testid=curve]', 'data-first-elbo'));
    const last = Number(await page.textContent('[data-testid=elbo]'));
    expect(Number.isFinite(first) && Number.isFinite(last)).toBe(true);
    expect(last).toBeGreaterThan(first + 50);
    expect(await page.textContent('[data-testid=step]')).toBe('100');
    // The plane is drawn once training is done.
    await page.waitForFunction(() => /Posterior means of 1000 test digits/.test(document.querySelector('#plane-axes')!.textContent ?? ''), undefined, {
      timeout: 60_000,
    });
    first100 = last;
    expect(seconds).toBeGreaterThan(0);
    await shot('2-trained');
  });

  it('pauses, resumes and stops a longer run, keeping what it learned', async () => {
    await page.fill('[data-testid=steps]', '5000');
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=step]')!.textContent) >= 50, undefined, { timeout: 60_000 });
    await page.click('[data-testid=pause]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')!.getAttribute('data-state') === 'paused', undefined, { timeout: 60_000 });
    const paused = Number(await page.textContent('[data-testid=step]'));
    await page.waitForTimeout(500);
    expect(Number(await page.textContent('[data-testid=step]'))).toBe(paused);
    await page.click('[data-testid=resume]');
    await page.waitForFunction((p) => Number(document.querySelector('[data-testid=step]')!.textContent) >= p + 30, paused, { timeout: 60_000 });
    await page.click('[data-testid=stop]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')!.getAttribute('data-state') === 'stopped', undefined, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=status]')).toMatch(/^stopped at step \d+ of 5000; explore what it learned$/);
    expect(await page.isDisabled('[data-testid=resume]')).toBe(true);
    expect(await page.isEnabled('[data-testid=train]')).toBe(true);
  });

  it('times the first 1,000 steps with the defaults (written to .tmp/lab-screenshots/timing.json)', async () => {
    await page.fill('[data-testid=steps]', '1000');
    const t0 = Date.now();
    await page.click('[data-testid=train]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')!.getAttribute('data-state') === 'done', undefined, { timeout: 600_000 });
    const wall = (Date.now() - t0) / 1000;
    const status = (await page.textContent('[data-testid=status]'))!;
    const m = /^1000 steps in (\d+\.\d) s \((\w+)\)$/.exec(status);
    expect(m).not.toBeNull();
    const timing = {
      steps: 1000,
      trainingSeconds: Number(m![1]),
      wallSeconds: wall,
      backend: await page.textContent('[data-testid=backend]'),
      elbo: Number(await page.textContent('[data-testid=elbo]')),
    };
    writeFileSync(join(shots, 'timing.json'), JSON.stringify(timing, null, 2));
    console.log(
      `dlvm Lab: the first 1,000 steps took ${timing.trainingSeconds} s of training (${wall.toFixed(1)} s wall) on ${timing.backend}; ELBO ${timing.elbo}`,
    );
    expect(timing.elbo).toBeGreaterThan(first100);
  });

  it('decodes the latent point under the pointer, and draws the manifold grid', async () => {
    const plane = (await page.$('[data-testid=latent-plane]'))!;
    const box = (await plane.boundingBox())!;
    const at = async (fx: number, fy: number) => {
      const before = await decodedPixels();
      await page.mouse.move(box.x + fx * box.width, box.y + fy * box.height);
      await page.waitForFunction(
        (b) => {
          const c = document.querySelector<HTMLCanvasElement>('[data-testid=decoded]')!;
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          const rows: number[] = [];
          for (let y = 0; y < c.height; y += 5) {
            let s = 0;
            for (let x = 0; x < c.width; x++) s += d[4 * (y * c.width + x)]!;
            rows.push(s);
          }
          return rows.some((v, i) => v !== b[i]);
        },
        before,
        { timeout: 30_000 },
      );
      return decodedPixels();
    };
    const a = await at(0.2, 0.2);
    const b = await at(0.8, 0.8);
    expect(a).not.toEqual(b);
    expect(b.some((v) => v > 0)).toBe(true);
    // Interpolation between test digits 0 and 1: ten decoded digits, not all black.
    await page.click('[data-testid=interpolate]');
    await page.waitForFunction(
      () => {
        const c = document.querySelector<HTMLCanvasElement>('[data-testid=interpolation]')!;
        return c
          .getContext('2d')!
          .getImageData(0, 0, c.width, c.height)
          .data.some((v, i) => i % 4 === 0 && v > 128);
      },
      undefined,
      { timeout: 30_000 },
    );
    await page.check('[data-testid=grid]');
    await page.waitForTimeout(1500);
    await shot('3-latent-plane');
    await page.uncheck('[data-testid=grid]');
  });

  it('reconstructs a drawn stroke', async () => {
    const pad = (await (await page.$('[data-testid=draw]'))!.boundingBox())!;
    // A "1": one vertical stroke.
    await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.15);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await page.mouse.move(pad.x + pad.width * (0.5 - 0.01 * i), pad.y + pad.height * (0.15 + 0.06 * i));
    await page.mouse.up();
    await page.waitForSelector('[data-testid=reconstruction]:not([hidden])', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=posterior]')).toMatch(/^q\(z\|x\): mean \[-?\d+\.\d\d, -?\d+\.\d\d\], sd \[\d+\.\d\d, \d+\.\d\d\]/);
    await shot('4-drawing');
  });

  it('saves the model as a run folder that dlvm eval reads, and loads it back', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save]')]);
    expect(download.suggestedFilename()).toBe('dlvm-lab-run.zip');
    const zip = join(work, 'dlvm-lab-run.zip');
    await download.saveAs(zip);
    const entries = unzipSync(new Uint8Array(readFileSync(zip)));
    expect(Object.keys(entries)).toEqual(
      expect.arrayContaining(['dlvm-lab-run/run.json', 'dlvm-lab-run/history.json', 'dlvm-lab-run/model/model.json', 'dlvm-lab-run/model/encoder/weights.bin']),
    );
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(join(work, dirname(name)), { recursive: true });
      writeFileSync(join(work, name), bytes);
    }
    // run.json as dlvm train writes it: 1,000 steps of batch 64 on 2,000 digits are 32 epochs begun.
    const info = JSON.parse(new TextDecoder().decode(entries['dlvm-lab-run/run.json'])) as Record<string, unknown>;
    expect(info).toMatchObject({
      model: 'vae',
      arch: 'mlp',
      dataset: 'mnist',
      binarize: 'threshold',
      latentDim: 2,
      hidden: [400],
      steps: 1000,
      epochs: 32,
      batchSize: 64,
      stopReason: 'completed',
    });
    const out = cli('eval', '--run', join(work, 'dlvm-lab-run'), '--limit', '200', '--iw', '10', '--backend', 'wasm');
    expect(out).toMatch(/^200 test examples: ELBO -\d+\.\d\d/);
    const evaluated = JSON.parse(readFileSync(join(work, 'dlvm-lab-run/eval.json'), 'utf8')) as { elbo: number };
    expect(evaluated.elbo).toBeLessThan(0);
    // Back into the page from the zip.
    const before = await page.textContent('[data-testid=model-info]');
    await page.setInputFiles('[data-testid=load-files]', zip);
    expect(await loaded(before)).toMatch(/^VAE, M = 2: dlvm-lab-run\.zip\.$/);
    await shot('5-loaded-back');
  });

  it('loads a GMVAE trained by the CLI from its run folder, and names its mixture component for a drawing', async () => {
    const run = join(work, 'cli-gmvae');
    cli(
      'train',
      '--model',
      'gmvae',
      '--components',
      '5',
      '--latent-dim',
      '2',
      '--hidden',
      '64',
      '--epochs',
      '1',
      '--limit',
      '1000',
      '--batch-size',
      '100',
      '--out',
      run,
      '--backend',
      'wasm',
    );
    expect(existsSync(join(run, 'model/model.json'))).toBe(true);
    const before = await page.textContent('[data-testid=model-info]');
    await page.setInputFiles('[data-testid=load-folder]', run);
    expect(await loaded(before)).toMatch(/^GMVAE, M = 2, 5 components: the folder cli-gmvae\.$/);
    await page.click('[data-testid=clear]');
    const pad = (await (await page.$('[data-testid=draw]'))!.boundingBox())!;
    await page.mouse.move(pad.x + pad.width * 0.3, pad.y + pad.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(pad.x + pad.width * 0.7, pad.y + pad.height * 0.7, { steps: 10 });
    await page.mouse.up();
    await page.waitForFunction(
      () => /mixture component: \d \(p = \d\.\d\d\)/.test(document.querySelector('[data-testid=posterior]')!.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    await shot('6-cli-model');
  });

  it('loads an SSVAE trained by the CLI from a URL, and predicts the digit of a drawing', async () => {
    // The run folder served beside the site: the Lab fetches model/model.json and the files its checksums list.
    const run = join(root, 'examples/lab/dist/test-runs/cli-ssvae');
    cli(
      'train',
      '--model',
      'ssvae',
      '--labels',
      '100',
      '--latent-dim',
      '4',
      '--hidden',
      '64',
      '--steps',
      '30',
      '--limit',
      '1000',
      '--batch-size',
      '100',
      '--out',
      run,
      '--backend',
      'wasm',
    );
    const before = await page.textContent('[data-testid=model-info]');
    await page.fill('#load-url', `${site.origin}/test-runs/cli-ssvae`);
    await page.click('#load-url-go');
    expect(await loaded(before)).toMatch(new RegExp(`^SSVAE, M = 4, 10 labels: ${site.origin.replace(/[.]/g, '\\.')}/test-runs/cli-ssvae/\\.$`));
    // M = 4: the plane is the aggregate posterior's PCA plane.
    expect(await page.textContent('#plane-axes')).toMatch(/on PC1, PC2 of the aggregate posterior \(\d+% of its variance\)/);
    await page.click('[data-testid=clear]');
    const pad = (await (await page.$('[data-testid=draw]'))!.boundingBox())!;
    await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.8, { steps: 10 });
    await page.mouse.up();
    await page.waitForFunction(
      () => /predicted digit: \d \(p = \d\.\d\d\)/.test(document.querySelector('[data-testid=posterior]')!.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    // A conditional model decodes the plane's points as the digit picked.
    expect(await page.isVisible('[data-testid=decode-class]')).toBe(true);
    await page.selectOption('[data-testid=decode-class]', '7');
    await shot('7-ssvae-from-url');
    // A URL with no model behind it says so (the browser logs the two 404s it meets: expected here).
    const logged = problems.length;
    await page.fill('#load-url', `${site.origin}/test-runs/nothing-here`);
    await page.click('#load-url-go');
    await page.waitForFunction(
      () => /has neither model\/model\.json nor model\.json \(HTTP 404\)/.test(document.querySelector('[data-testid=error]')!.textContent ?? ''),
      undefined,
      {
        timeout: 30_000,
      },
    );
    const extra = problems.splice(logged);
    expect(extra.every((p) => /status of 404/.test(p))).toBe(true);
  });

  it('says what to do with a file that is not a dlvm model', async () => {
    const bogus = join(work, 'notes.txt');
    writeFileSync(bogus, 'not a model');
    await page.setInputFiles('[data-testid=load-files]', bogus);
    await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=error]')).toMatch(
      /these files are not a dlvm model: none of 1 \(notes\.txt\) is a model\.json with "format": "dlvm-model"\..*Pick a folder written by dlvm train/,
    );
    await shot('8-not-a-model');
  });

  it('trains each model family on each network: beta-VAE (MLP), GMVAE (conv), IWAE (MLP)', async () => {
    for (const [model, arch, cls, k] of [
      ['betavae', 'mlp', 'BetaVAE', '10'],
      ['gmvae', 'conv', 'GMVAE', '3'],
      ['iwae', 'mlp', 'IWAE', '5'],
    ] as const) {
      await page.selectOption('select[name=model]', model);
      await page.selectOption('select[name=arch]', arch);
      if (model !== 'betavae') await page.fill('input[name=k]', k);
      else expect(await page.isVisible('input[name=k]')).toBe(false);
      await page.fill('[data-testid=steps]', '15');
      await page.click('[data-testid=train]');
      await page.waitForFunction(() => document.querySelector('[data-testid=status]')!.getAttribute('data-state') === 'done', undefined, { timeout: 120_000 });
      expect(await page.textContent('[data-testid=model-info]')).toMatch(
        new RegExp(`^${cls}, M = 2${cls === 'GMVAE' ? ', 3 components' : ''}: trained here \\(${model}, ${arch}\\)\\.$`),
      );
      expect(Number(await page.textContent('[data-testid=elbo]'))).toBeLessThan(0);
    }
    await shot('9-gmvae-conv-iwae');
  });

  it('on a static server without COOP/COEP, becomes isolated through its service worker, and works offline once loaded', async () => {
    const plain = await serveFolder(join(root, 'examples/lab/dist'), { isolation: false });
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('pageerror', (e) => problems.push(`page error (plain server): ${String(e)}`));
    tab.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error (plain server): ${m.text()}`);
      if (m.type() === 'warning' && /service worker/.test(m.text())) problems.push(m.text());
    });
    try {
      await tab.goto(`${plain.origin}/`);
      // The first visit reloads itself once the service worker controls it; then it is isolated.
      await tab
        .waitForFunction(() => self.crossOriginIsolated && !document.querySelector<HTMLButtonElement>('[data-testid=train]')!.disabled, undefined, {
          timeout: 90_000,
        })
        .catch(async (e) => {
          const seen = await tab.evaluate(async () => ({
            isolated: self.crossOriginIsolated,
            controlled: navigator.serviceWorker.controller !== null,
            workers: (await navigator.serviceWorker.getRegistrations()).map((r) => [r.active?.state, r.installing?.state, r.waiting?.state]),
            status: document.querySelector('[data-testid=status]')?.textContent,
          }));
          throw new Error(`not isolated through the service worker: ${JSON.stringify(seen)} (${String(e)})`);
        });
      expect(await tab.textContent('#isolation')).toBe('cross-origin isolated: wasm can use threads');
      // Offline: a reload comes from the cache, and training on the subset works.
      await context.setOffline(true);
      await tab.reload();
      await tab.waitForFunction(() => !document.querySelector<HTMLButtonElement>('[data-testid=train]')!.disabled, undefined, { timeout: 90_000 });
      await tab.fill('[data-testid=steps]', '20');
      await tab.click('[data-testid=train]');
      await tab.waitForFunction(() => document.querySelector('[data-testid=status]')!.getAttribute('data-state') === 'done', undefined, { timeout: 120_000 });
      expect(await tab.textContent('[data-testid=status]')).toMatch(/^20 steps in \d+\.\d s \(wasm\)$/);
    } finally {
      await context.close();
      await plain.close();
    }
  });

  it('logged no errors', () => {
    expect(problems).toEqual([]);
  });
});
