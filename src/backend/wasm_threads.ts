/**
 * Multithreaded wasm backend under Node.
 *
 * tfjs-backend-wasm 4.22 hard-wires `WASM_HAS_MULTITHREAD_SUPPORT` to false in Node (tfjs issue
 * 3830): its pthread worker script and the main script it re-imports are handed out as `blob:`
 * URLs, which Node's `worker_threads` cannot load (ERR_WORKER_PATH). XNNPACK's pool is also sized
 * from half of `os.cpus().length` (so one thread on a 2-core machine) and the pool workers keep
 * the process alive after the program ends.
 *
 * `withNodeWasmThreads` works around all three while the backend initialises, and only then:
 * it writes both scripts to real files (content from the installed tfjs-backend-wasm, so they
 * always match), hands out their paths instead of `blob:` URLs, reports enough cores for the
 * requested thread count, and afterwards marks the pool's workers as not keeping Node alive.
 * Every patch is undone in a `finally`.
 */
import { DlvmError } from '../errors.js';

/** The Emscripten module surface this file touches. */
interface EmscriptenThreadedModule {
  PThread?: { unusedWorkers: Array<{ unref?: () => void }>; runningWorkers: Array<{ unref?: () => void }> };
}

type NodeRequire = (id: string) => unknown;

async function nodeRequire(): Promise<NodeRequire> {
  const { createRequire } = await import('node:module');
  // Resolve tfjs from where dlvm itself is installed (works for both the ESM and CJS builds).
  return createRequire(import.meta.url) as NodeRequire;
}

/** Writes the worker and main scripts once per process; returns the worker script's path. */
async function writeThreadScripts(req: NodeRequire): Promise<string> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const factory = req('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as
    ((...args: unknown[]) => unknown) | { default: (...args: unknown[]) => unknown };
  const factoryFn = typeof factory === 'function' ? factory : factory.default;
  const { wasmWorkerContents } = req('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string };
  if (typeof factoryFn !== 'function' || typeof wasmWorkerContents !== 'string') {
    throw new Error('the installed @tensorflow/tfjs-backend-wasm does not ship the threaded-simd scripts');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlvm-wasm-threads-'));
  const mainScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const workerScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  fs.writeFileSync(mainScript, `var WasmBackendModuleThreadedSimd = ${factoryFn.toString()};\n`);
  // Inside the worker, the main script arrives as a Blob that it would turn into a blob: URL;
  // point that at the file instead. The worker text escapes '\n' as tfjs does for its Blob.
  const prelude = `URL.createObjectURL = function () { return ${JSON.stringify(mainScript)}; };\n` + 'URL.revokeObjectURL = function () {};\n';
  fs.writeFileSync(workerScript, prelude + wasmWorkerContents.replace(/\n/g, '\\n'));
  return workerScript;
}

let workerScriptPromise: Promise<string> | null = null;

/**
 * Runs `init` (which must initialise the wasm backend) with `threads` XNNPACK threads under Node.
 * Throws when the workaround cannot be applied; the caller falls back to one thread.
 */
export async function withNodeWasmThreads<T>(threads: number, init: () => Promise<T>, wasmModule: () => EmscriptenThreadedModule | undefined): Promise<T> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new DlvmError(`withNodeWasmThreads: threads must be a positive integer, got ${threads}.`);
  }
  const req = await nodeRequire();
  workerScriptPromise ??= writeThreadScripts(req);
  const workerScript = await workerScriptPromise;
  const os = req('os') as { cpus: () => unknown[] };
  const originalCpus = os.cpus;
  const originalCreateObjectURL = URL.createObjectURL;
  try {
    // XNNPACK sizes its pool as half the logical cores (capped at 4), read at module start.
    os.cpus = () => {
      const cpus = originalCpus.call(os);
      return Array.from({ length: Math.max(cpus.length, 2 * threads) }, (_, i) => cpus[i % cpus.length]);
    };
    URL.createObjectURL = () => workerScript;
    const result = await init();
    const pthread = wasmModule()?.PThread;
    for (const worker of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) {
      worker.unref?.();
    }
    return result;
  } finally {
    os.cpus = originalCpus;
    URL.createObjectURL = originalCreateObjectURL;
  }
}
