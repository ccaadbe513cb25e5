/**
 * dlvm on tfjs's WebGPU backend in headless Chromium: with @tensorflow/tfjs-backend-webgpu
 * imported, initBackend('webgpu') picks webgpu (and 'auto' passes over the software SwiftShader
 * adapter for wasm, as in Node), BackendInfo.adapter names the adapter the page is offered, and a transposed matmul, Log1p of small values,
 * KL(Normal || Normal), an rsample gradient and training steps of a small VAE give the right
 * numbers there: against float64 closed forms, and against the same code (webgpu_cases.ts) run on
 * the cpu backend in this Node process.
 *
 * Chromium offers WebGPU only to a secure context (the page is served from http://127.0.0.1), and
 * on a machine without a GPU only with --enable-unsafe-webgpu; then it gives its SwiftShader
 * adapter (vendor google, architecture swiftshader, a fallback adapter: the GPU API on the CPU).
 * Without the flag requestAdapter() returns null, which initBackend handles (checked below too).
 * --enable-features=Vulkan, --use-angle=swiftshader and --use-webgpu-adapter=swiftshader, alone
 * or together, give no adapter without it and change nothing with it (Chromium 156).
 *
 * Needs Chromium (see harness.ts). Run with `npm run test:browser`.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/index.js';
import type { WebGpuPageResult } from './entry_webgpu.js';
import { launchChromium, runPage, serveSite, type Site } from './harness.js';
import { KL_PARAMS, LOG1P_X, MATMUL, matrix, RSAMPLE, rsampleGradient, trainTinyVae, type RsampleResult, type TrainResult } from './webgpu_cases.js';

/** Chromium exposes its WebGPU adapter (SwiftShader when there is no GPU) only with this flag. */
const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

let site: Site;
let browser: Browser;
/** The same cases on the cpu backend in this process. */
let cpu: { rsample: RsampleResult; train: TrainResult };

beforeAll(async () => {
  site = await serveSite(['entry_webgpu.ts']);
  browser = await launchChromium(WEBGPU_ARGS);
  await initBackend('cpu');
  cpu = { rsample: await rsampleGradient(), train: await trainTinyVae() };
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

/** initBackend(preference) in a fresh page; with `cases`, webgpu_cases.ts's results too. */
function open(b: Browser, preference: string, cases = false): Promise<WebGpuPageResult> {
  return runPage<WebGpuPageResult>(b, `${site.origin}/entry_webgpu.html${cases ? '?cases' : ''}`, preference);
}

/** Largest |a_i - b_i| / max(|b_i|, floor). */
function maxRelErr(a: readonly number[], b: readonly number[], floor = 0): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(Math.abs(b[i]!), floor)));
}

/** A^T B^T of webgpu_cases.ts's inputs in float64: [M, N] row-major. */
function matmulReference(): number[] {
  const { m, k, n } = MATMUL;
  const a = matrix(k, m, 0); // [K, M]
  const b = matrix(n, k, 1); // [N, K]
  const c: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[t * m + i]! * b[j * k + t]!;
      c.push(s);
    }
  }
  return c;
}

/** The adapter BackendInfo should report for what navigator.gpu offers the page. */
function expectAdapter(r: WebGpuPageResult): void {
  const raw = r.rawAdapter!;
  expect(raw).not.toBeNull();
  expect(`${raw.vendor}${raw.architecture}${raw.device}`).not.toBe('');
  expect(r.info!.adapter).toEqual({
    vendor: raw.vendor,
    architecture: raw.architecture,
    device: raw.device,
    description: raw.description,
    // SwiftShader (what a machine without a GPU gets) is a CPU implementation and a fallback adapter.
    software: raw.isFallbackAdapter || raw.architecture === 'swiftshader',
    featureLevel: 'core',
    dawnFlags: [],
  });
  expect(r.description).toContain(`adapter: ${[raw.vendor, raw.architecture, raw.device || raw.description].filter((s) => s).join(' ')}`);
}

describe('dlvm on webgpu in headless Chromium (--enable-unsafe-webgpu)', () => {
  let page: WebGpuPageResult;
  beforeAll(async () => {
    page = await open(browser, 'webgpu', true);
  }, 180_000);

  it("initBackend('webgpu') picks webgpu and names the adapter", () => {
    expect(page.error).toBeUndefined();
    expect(page.registered).toContain('webgpu');
    expect(page.info).toMatchObject({ name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', requested: 'webgpu' });
    expectAdapter(page);
  });

  it('a transposed matmul matches float64', () => {
    // Measured: 1.8e-6 (cpu backend 5.9e-7); K = 129 terms of size <= 1.
    expect(maxRelErr(page.cases!.matmul, matmulReference(), 1)).toBeLessThan(1e-4);
  });

  it('Log1p keeps small values', () => {
    // Measured with dlvm's kernels: <= 6.7e-8 relative. Stock webgpu computes log(1 + x):
    // 0.19 relative at 1e-7, 0.65 at -1e-7, 6.6e-3 at 3e-6, 1.7e-4 at 1e-4.
    expect(maxRelErr(page.cases!.log1p, LOG1P_X.map(Math.log1p))).toBeLessThan(1e-6);
  });

  it('KL(Normal || Normal) matches its closed form', () => {
    const { locP, scaleP, locQ, scaleQ } = KL_PARAMS;
    // log(sq / sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2
    const kl = locP.map((mp, i) => {
      const [sp, mq, sq] = [scaleP[i]!, locQ[i]!, scaleQ[i]!];
      return Math.log(sq / sp) + (sp * sp + (mp - mq) ** 2) / (2 * sq * sq) - 0.5;
    });
    // Measured: 6.6e-8.
    expect(maxRelErr(page.cases!.kl, kl, 1)).toBeLessThan(1e-6);
  });

  it('rsample draws the seeded noise and its gradient matches the closed form', () => {
    const { z, dLoc, dScale } = page.cases!.rsample;
    // The same draws as on the cpu backend: the seeded noise is generated on the host.
    expect(maxRelErr(z.flat(), cpu.rsample.z.flat(), 1)).toBeLessThan(1e-6);
    // Measured: 4.8e-7 (dloc), 8.9e-9 (dscale).
    // f = sum_s z_s^2 with z = loc + scale eps: df/dloc = 2 sum_s z_s, df/dscale = 2 sum_s z_s eps_s.
    const wantLoc = RSAMPLE.loc.map((_, j) => 2 * z.reduce((s, row) => s + row[j]!, 0));
    const wantScale = RSAMPLE.loc.map((loc, j) => 2 * z.reduce((s, row) => s + row[j]! * ((row[j]! - loc) / RSAMPLE.scale[j]!), 0));
    expect(maxRelErr(dLoc, wantLoc, 1)).toBeLessThan(1e-5);
    expect(maxRelErr(dScale, wantScale, 1)).toBeLessThan(1e-5);
  });

  it('a small VAE trains: its loss falls and matches the cpu backend step by step, with flat memory', () => {
    const { losses, tensors } = page.cases!.train;
    // Measured: within 4.8e-7 (1.2e-7 relative) of cpu at each of the 25 steps; 6.19 -> 3.64 (last 5).
    expect(maxRelErr(losses, cpu.train.losses)).toBeLessThan(1e-4);
    const last = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(last).toBeLessThan(0.7 * losses[0]!);
    expect(new Set(tensors).size).toBe(1);
    expect(page.cases!.tensorsAfter).toBe(page.cases!.tensorsBefore);
  });

  it("initBackend('auto') passes over the SwiftShader adapter (software, slower than wasm) for wasm and says why, as in Node", async () => {
    const r = await open(browser, 'auto');
    expect(r.info).toMatchObject({ name: 'wasm', requested: 'auto', source: 'argument' });
    expect(r.info!.notes).toContain("webgpu skipped: google swiftshader (software; core) is a software adapter, slower than wasm (name 'webgpu' to use it)");
  });
});

describe('dlvm with webgpu imported, in Chromium without --enable-unsafe-webgpu', () => {
  let plain: Browser;
  beforeAll(async () => {
    plain = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await plain?.close();
  });

  it("navigator.gpu has no adapter: 'auto' moves on to wasm and says why; 'webgpu' is an error", async () => {
    const auto = await open(plain, 'auto');
    expect(auto.registered).toContain('webgpu');
    expect(auto.rawAdapter).toBeNull();
    expect(auto.info).toMatchObject({ name: 'wasm', requested: 'auto' });
    expect(auto.info!.notes).toContain('webgpu is registered but failed to initialise');
    const named = await open(plain, 'webgpu');
    expect(named.error).toMatch(/^initBackend: backend 'webgpu' is not available \(webgpu is registered but failed to initialise\)/);
  });
});
