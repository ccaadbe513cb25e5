/**
 * dlvm in a real browser (headless Chromium through playwright-core): the bundle loads, initBackend
 * picks webgl when its package is imported and wasm otherwise (webgpu > webgl > wasm > cpu, a
 * software renderer passed over for wasm), wasm
 * runs multithreaded in a cross-origin-isolated page, and dlvm's kernels, distributions, KL
 * registry and gradients give the right numbers there.
 *
 * Needs Chromium (see harness.ts). Run with `npm run test:browser` (.ci/run does); webgpu is
 * tested in webgpu.browser.test.ts.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, runPage, serveSite, type Site } from './harness.js';

let site: Site;
let browser: Browser;

beforeAll(async () => {
  site = await serveSite(['entry_wasm.ts', 'entry_webgl.ts']);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

interface PageResult {
  name: string;
  threads: number;
  description: string;
  order: string[];
  crossOriginIsolated: boolean;
  matmulMaxErr: number;
  kl: number;
  grad: number[];
  log1p: number;
  rasterSize: number[];
  pngError: string;
}

function run(page: string, preference?: string): Promise<PageResult> {
  return runPage<PageResult>(browser, `${site.origin}/${page}`, preference);
}

// KL(N([.5, -1], [1, 2]) || N(0, I)) summed over the two dimensions, in float64.
const KL = 0.5 * (0.25 + 1 - 1) + (Math.log(1 / 2) + (4 + 1) / 2 - 0.5);

function expectNumbers(r: PageResult): void {
  expect(r.matmulMaxErr).toBeLessThan(1e-4);
  expect(Math.abs(r.kl - KL)).toBeLessThan(1e-5);
  expect(r.grad).toEqual([4, 4]);
}

describe('dlvm in headless Chromium', () => {
  it('reports the browser order webgpu > webgl > wasm > cpu', async () => {
    const r = await run('entry_wasm.html');
    expect(r.order).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('picks wasm when no GPU backend is imported, multithreaded, with dlvm kernels', async () => {
    const r = await run('entry_wasm.html');
    expect(r.name).toBe('wasm');
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.threads).toBeGreaterThanOrEqual(2);
    expect(r.description).toMatch(/dlvm kernels/);
    // dlvm's SIMD kernels on the threaded build's shared memory, products split with its helper Worker.
    expect(r.description).toMatch(/SIMD products on 2 threads/);
    expectNumbers(r);
    // dlvm's Log1p kernel is in place in the browser too (stock wasm gives 1.19e-7).
    expect(Math.abs(r.log1p - 1e-7)).toBeLessThan(1e-13);
    // Node-only pieces are left out of browser bundles and say so when called.
    expect(r.rasterSize).toEqual([2 * 4 + 2, 2 * 4 + 2]);
    expect(r.pngError).toMatch(/encodePng: PNG files are made in Node \(pngjs\); in a browser, draw imageGrid's raster on a canvas/);
  });

  it('passes over a software WebGL renderer (SwiftShader here) for wasm under auto, as for a software WebGPU adapter', async () => {
    const r = await run('entry_webgl.html');
    expect(r.name).toBe('wasm');
    expect(r.description).toMatch(/webgl skipped: .*SwiftShader.* is a software renderer, slower than wasm \(name 'webgl' to use it\)/);
    expectNumbers(r);
  });

  it('uses webgl when it is named, reports its renderer, and computes the same numbers', async () => {
    const r = await run('entry_webgl.html', 'webgl');
    expect(r.name).toBe('webgl');
    expect(r.description).toMatch(/renderer: .*SwiftShader/);
    expectNumbers(r);
  });

  it('uses a named backend when asked (cpu)', async () => {
    const r = await run('entry_webgl.html', 'cpu');
    expect(r.name).toBe('cpu');
    expectNumbers(r);
  });
});
