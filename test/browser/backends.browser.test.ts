/**
 * dlvm in a real browser (headless Chromium through playwright-core): the bundle loads, initBackend
 * picks webgl when its package is imported and wasm otherwise (webgpu > webgl > wasm > cpu), wasm
 * runs multithreaded in a cross-origin-isolated page, and dlvm's kernels, distributions, KL
 * registry and gradients give the right numbers there.
 *
 * Needs Chromium: $DLVM_CHROMIUM, or /usr/bin/chromium (Debian: apt-get install chromium).
 * Run with `npm run test:browser` (.ci/run does).
 */
import { existsSync, copyFileSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const site = mkdtempSync(join(tmpdir(), 'dlvm-browser-'));
let server: Server;
let browser: Browser;
let origin = '';

function chromiumPath(): string {
  const candidates = [process.env['DLVM_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    throw new Error(
      'browser tests need Chromium: set DLVM_CHROMIUM to its executable, or install it (Debian: apt-get install chromium).',
    );
  }
  return found;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

beforeAll(async () => {
  for (const [entry, out] of [
    ['entry_wasm.ts', 'dlvm-wasm.js'],
    ['entry_webgl.ts', 'dlvm-webgl.js'],
  ] as const) {
    await build({
      entryPoints: [join(root, 'test/browser', entry)],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(site, out),
      // dlvm reaches Node's modules only through dynamic imports on Node-only paths.
      external: ['node:*'],
      logLevel: 'error',
    });
    writeFileSync(join(site, out.replace('.js', '.html')), `<!doctype html><script type="module" src="/${out}"></script>`);
  }
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(wasmDir, f), join(site, f));
  }
  server = createServer((req, res) => {
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const path = join(site, decodeURIComponent((req.url ?? '/').split('?')[0]!));
    if (!path.startsWith(site) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolation enables SharedArrayBuffer, which threaded wasm needs.
    res.writeHead(200, {
      'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    res.end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
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

async function run(page: string, preference?: string): Promise<PageResult> {
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  tab.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await tab.goto(`${origin}/${page}`);
  try {
    await tab.waitForFunction(() => typeof window.runDlvm === 'function', undefined, { timeout: 30_000 });
  } catch (e) {
    throw new Error(`the page did not load dlvm: ${errors.join('; ') || String(e)}`);
  }
  const result = (await tab.evaluate((p) => window.runDlvm(p), preference)) as PageResult;
  await tab.close();
  expect(errors).toEqual([]);
  return result;
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
    const r = await run('dlvm-wasm.html');
    expect(r.order).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('picks wasm when no GPU backend is imported, multithreaded, with dlvm kernels', async () => {
    const r = await run('dlvm-wasm.html');
    expect(r.name).toBe('wasm');
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.threads).toBeGreaterThanOrEqual(2);
    expect(r.description).toMatch(/dlvm kernels/);
    expectNumbers(r);
    // dlvm's Log1p kernel is in place in the browser too (stock wasm gives 1.19e-7).
    expect(Math.abs(r.log1p - 1e-7)).toBeLessThan(1e-13);
    // Node-only pieces are left out of browser bundles and say so when called.
    expect(r.rasterSize).toEqual([2 * 4 + 2, 2 * 4 + 2]);
    expect(r.pngError).toMatch(/encodePng: PNG files are made in Node \(pngjs\); in a browser, draw imageGrid's raster on a canvas/);
  });

  it('picks webgl when @tensorflow/tfjs-backend-webgl is imported, and computes the same numbers', async () => {
    const r = await run('dlvm-webgl.html');
    expect(r.name).toBe('webgl');
    expectNumbers(r);
  });

  it('uses a named backend when asked (cpu)', async () => {
    const r = await run('dlvm-webgl.html', 'cpu');
    expect(r.name).toBe('cpu');
    expectNumbers(r);
  });
});
