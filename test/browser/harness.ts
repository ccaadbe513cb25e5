/**
 * What the browser tests share: page bundles built by esbuild, a localhost server that makes the
 * page a secure (navigator.gpu), cross-origin-isolated (SharedArrayBuffer, for threaded wasm)
 * context, headless Chromium through playwright-core, and running a page's `window.runDlvm`.
 *
 * Needs Chromium: $DLVM_CHROMIUM, or /usr/bin/chromium (Debian: apt-get install chromium).
 */
import { existsSync, copyFileSync, mkdtempSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { expect } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Chromium flags every test launches with: SwiftShader for WebGL (there is no GPU in CI). */
export const BASE_ARGS = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

function chromiumPath(): string {
  const candidates = [process.env['DLVM_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    throw new Error('browser tests need Chromium: set DLVM_CHROMIUM to its executable, or install it (Debian: apt-get install chromium).');
  }
  return found;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
};

/** A folder of test pages served on http://127.0.0.1. */
export interface Site {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Bundles each entry of test/browser (`entry_wasm.ts` becomes `/entry_wasm.html` loading
 * `/entry_wasm.js`), copies tfjs's wasm binaries beside them and serves the folder.
 */
export async function serveSite(entries: string[]): Promise<Site> {
  const site = mkdtempSync(join(tmpdir(), 'dlvm-browser-'));
  for (const entry of entries) {
    const out = entry.replace(/\.ts$/, '.js');
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
  return serveFolder(site);
}

/**
 * Serves a folder on http://127.0.0.1 with the COOP/COEP headers of a cross-origin-isolated page
 * (SharedArrayBuffer, for threaded wasm), or without them (`isolation: false`, as a plain static
 * server); `/` is its index.html.
 */
export async function serveFolder(site: string, { isolation = true }: { isolation?: boolean } = {}): Promise<Site> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    let rel = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (rel.endsWith('/')) rel += 'index.html';
    const path = join(site, rel);
    if (!path.startsWith(site) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolation enables SharedArrayBuffer, which threaded wasm needs.
    res.writeHead(200, {
      'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
      ...(isolation ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
    });
    res.end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Headless Chromium with {@link BASE_ARGS} and `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...BASE_ARGS, ...extraArgs] });
}

/**
 * Opens `page` in a new tab, calls its `window.runDlvm(preference)` and returns what it returned;
 * fails if the page logged an error (console.error or an uncaught exception).
 */
export async function runPage<T>(browser: Browser, url: string, preference?: string): Promise<T> {
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  tab.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  try {
    await tab.goto(url);
    try {
      await tab.waitForFunction(() => typeof window.runDlvm === 'function', undefined, { timeout: 30_000 });
    } catch (e) {
      throw new Error(`the page did not load dlvm: ${errors.join('; ') || String(e)}`);
    }
    const result = (await tab.evaluate((p) => window.runDlvm(p), preference)) as T;
    expect(errors).toEqual([]);
    return result;
  } finally {
    await tab.close();
  }
}
