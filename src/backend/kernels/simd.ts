/**
 * dlvm's wasm SIMD kernels (simd/kernels.c, built into simd/module.ts by `npm run build:simd`),
 * instantiated on the wasm backend's own memory: the module imports tfjs-backend-wasm's
 * `WebAssembly.Memory`, so a kernel reads and writes the tensors where they lie, with no copies.
 * One instance per memory; where the module cannot be instantiated (a runtime without wasm SIMD,
 * a memory of another kind) the host kernels run their JavaScript loops instead.
 */
import { argError } from '../../errors.js';
import { ProductHelper, splitMatMul, splitRange, splitReduceSum, splitRows } from './simd_helper.js';
import type { SimdKernels, SimdModule } from './simd_kernels.js';

export type { SimdKernels, SimdModule } from './simd_kernels.js';
import { SIMD_MODULE_PLAIN, SIMD_MODULE_SHARED } from './simd/module.js';

/** What of tfjs-backend-wasm's emscripten module holds its memory (threaded builds: wasmMemory) and allocates on it. */
interface WasmModuleMemory {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
  _malloc?: (bytes: number) => number;
  _free?: (pointer: number) => void;
}

/** The SIMD module on one memory: its exports, and the matmul workspaces it holds on that heap. */
interface Loaded {
  module: SimdModule;
  /** The heap's allocator (the backend's malloc and free). */
  heap: { malloc(bytes: number): number; free(pointer: number): void };
  /** Byte offset of `parts` workspaces of `module.matmul_workspace_bytes()` bytes each. */
  ws: number;
  parts: number;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();
const loaded = new WeakMap<WebAssembly.Memory, Loaded>();
const helpers = new WeakMap<WebAssembly.Memory, ProductHelper[]>();
let disabled = false;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The backend's `WebAssembly.Memory` (a tfjs-backend-wasm instance), or null. */
function memoryOf(backend: object): WebAssembly.Memory | null {
  const module = (backend as { wasm?: WasmModuleMemory }).wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** The backend's allocator on its heap, or null where it exposes none. */
function heapOf(backend: object): Loaded['heap'] | null {
  const module = (backend as { wasm?: WasmModuleMemory }).wasm;
  const malloc = module?._malloc;
  const free = module?._free;
  if (typeof malloc !== 'function' || typeof free !== 'function') return null;
  return { malloc: (bytes) => malloc.call(module, bytes) >>> 0, free: (pointer) => free.call(module, pointer) };
}

/**
 * Takes `exports` (the module instantiated on `memory`) into use: allocates one matmul workspace
 * on the backend's heap and returns the kernels as the backend calls them (matmul with that
 * workspace); null where the heap has no allocator or the allocation fails.
 */
function adopt(memory: WebAssembly.Memory, backend: object, exports: SimdModule): SimdKernels | null {
  const heap = heapOf(backend);
  if (heap == null) return null;
  const ws = heap.malloc(exports.matmul_workspace_bytes());
  if (ws === 0) return null;
  loaded.set(memory, { module: exports, heap, ws, parts: 1 });
  return { ...exports, matmul: (a, b, bias, c, m, k, n, sai, sak) => exports.matmul(a, b, bias, c, m, k, n, sai, sak, ws) };
}

/** The module's bytes for `memory`'s kind. */
function moduleBytes(memory: WebAssembly.Memory): Uint8Array<ArrayBuffer> {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  return decode(shared ? SIMD_MODULE_SHARED : SIMD_MODULE_PLAIN);
}

/**
 * The SIMD kernels on `backend`'s memory (a tfjs-backend-wasm instance), or null where they
 * cannot run there. Instantiated once per memory: by {@link prepareSimdKernels} (initBackend
 * awaits it), else here, synchronously, on first use. The module is about 8 KB: older Chrome
 * versions refuse to compile more than 4 KB synchronously on a page's main thread (current ones
 * allow 8 MB), and there, without initBackend, the kernels fall back to their JavaScript loops
 * and tfjs's products.
 */
export function simdKernelsFor(backend: object): SimdKernels | null {
  if (disabled) return null;
  const memory = memoryOf(backend);
  if (memory == null) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    try {
      const compiled = new WebAssembly.Module(moduleBytes(memory));
      kernels = adopt(memory, backend, new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SimdModule);
    } catch {
      kernels = null;
    }
    instances.set(memory, kernels);
  }
  return kernels;
}

/**
 * Compiles and instantiates the SIMD kernels on `backend`'s memory asynchronously (allowed at any
 * size on a browser's main thread), so that {@link simdKernelsFor} finds them ready. With
 * `threads` above 1, on a shared memory (the threaded build), it also starts `threads - 1` helper
 * threads for the matrix product (simd_helper.ts): `matmul` then splits its rows among them and
 * the calling thread. Does nothing for other backends or where they are ready; a runtime without
 * wasm SIMD leaves them off.
 *
 * @returns the threads dlvm's products run on (1 where no helper could start).
 */
export async function prepareSimdKernels(backend: object, threads = 1): Promise<number> {
  const memory = memoryOf(backend);
  if (memory == null) return 1;
  let kernels = instances.get(memory) ?? null;
  if (kernels == null) {
    try {
      const { instance } = await WebAssembly.instantiate(moduleBytes(memory), { env: { memory } });
      kernels = adopt(memory, backend, instance.exports as unknown as SimdModule);
    } catch {
      kernels = null;
    }
    instances.set(memory, kernels);
  }
  const modules = loaded.get(memory);
  if (kernels == null || modules == null) return 1;
  if (threads > 1 && !helpers.has(memory)) {
    // One workspace per thread, in place of the single one (allocated first: without it, no helpers).
    const wsBytes = modules.module.matmul_workspace_bytes();
    const ws = modules.heap.malloc(wsBytes * threads + 8); // and matmul_chunks' two counters
    if (ws === 0) return 1;
    modules.heap.free(modules.ws);
    Object.assign(modules, { ws, parts: threads });
    const k: SimdKernels = { ...kernels, matmul: (a, b, bias, c, m, kk, n, sai, sak) => modules.module.matmul(a, b, bias, c, m, kk, n, sai, sak, ws) };
    instances.set(memory, k);
    const started = await Promise.all(Array.from({ length: threads - 1 }, () => ProductHelper.start(memory, moduleBytes(memory))));
    const running = started.filter((h): h is ProductHelper => h != null);
    helpers.set(memory, running);
    if (running.length > 0) {
      const team = { helpers: running, module: modules.module, memory, ws, wsBytes, counter: ws + wsBytes * threads };
      // Every argument but the trailing floats is a pointer (advanced by 4 bytes an element) or the count.
      const at = (pointers: number[], start: number): number[] => pointers.map((p) => p + 4 * start);
      instances.set(memory, {
        ...k,
        matmul: (...args) => splitMatMul(team, ...args),
        bernoulli_log_prob: (l, x, out, n) =>
          splitRange(
            running,
            'bernoulli_log_prob',
            n,
            (s, c) => [...at([l, x, out], s), c],
            (a) => k.bernoulli_log_prob(a[0]!, a[1]!, a[2]!, a[3]!),
          ),
        bernoulli_log_prob_grad_logits: (dy, l, x, out, n) =>
          splitRange(
            running,
            'bernoulli_log_prob_grad_logits',
            n,
            (s, c) => [...at([dy, l, x, out], s), c],
            (a) => k.bernoulli_log_prob_grad_logits(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!),
          ),
        relu: (x, out, n) =>
          splitRange(
            running,
            'relu',
            n,
            (s, c) => [...at([x, out], s), c],
            (a) => k.relu(a[0]!, a[1]!, a[2]!),
          ),
        relu_grad: (dy, x, out, n) =>
          splitRange(
            running,
            'relu_grad',
            n,
            (s, c) => [...at([dy, x, out], s), c],
            (a) => k.relu_grad(a[0]!, a[1]!, a[2]!, a[3]!),
          ),
        reduce_sum: (...args) => splitReduceSum(running, k, ...args),
        // Convolution patches image by image: each image's rows of col (and, for col2im, its
        // part of x, zeroed and summed by the one thread) belong to one thread.
        im2col: (x, col, batch, h, w, ch, oh, ow, fh, fw, ...rest) =>
          splitRows(
            running,
            'im2col',
            batch,
            oh * ow * fh * fw * ch,
            (s, c) => [x + 4 * s * h * w * ch, col + 4 * s * oh * ow * fh * fw * ch, c, h, w, ch, oh, ow, fh, fw, ...rest],
            (a) => (k.im2col as (...args: number[]) => void)(...a),
          ),
        col2im: (col, x, batch, h, w, ch, oh, ow, fh, fw, ...rest) =>
          splitRows(
            running,
            'col2im',
            batch,
            oh * ow * fh * fw * ch,
            (s, c) => [col + 4 * s * oh * ow * fh * fw * ch, x + 4 * s * h * w * ch, c, h, w, ch, oh, ow, fh, fw, ...rest],
            (a) => (k.col2im as (...args: number[]) => void)(...a),
          ),
        bernoulli_log_prob_sum: (l, x, out, rows, len) =>
          splitRows(
            running,
            'bernoulli_log_prob_sum',
            rows,
            len,
            (s, c) => [l + 4 * s * len, x + 4 * s * len, out + 4 * s, c, len],
            (a) => k.bernoulli_log_prob_sum(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!),
          ),
        adam_update: (x, g, m, v, x1, m1, v1, n, ...floats) =>
          splitRange(
            running,
            'adam_update',
            n,
            (s, c) => [...at([x, g, m, v, x1, m1, v1], s), c, ...floats],
            (a) => (k.adam_update as (...args: number[]) => void)(...a),
          ),
      });
    }
  }
  return 1 + (helpers.get(memory)?.length ?? 0);
}

/** The threads `backend`'s matrix products run on (1 + dlvm's helper threads; for tests and benchmarks). */
export function simdProductThreads(backend: object): number {
  const memory = memoryOf(backend);
  return 1 + (memory != null ? (helpers.get(memory)?.filter((h) => h.usable).length ?? 0) : 0);
}

/** Whether `backend`'s matrix products are split with helper threads. */
export function simdHelperRunning(backend: object): boolean {
  return simdProductThreads(backend) > 1;
}

/**
 * Turns the SIMD kernels off (true) or back on, so tests and benchmarks can compare them with
 * the JavaScript loops they replace. Returns the previous setting.
 */
export function disableSimdKernels(off: boolean): boolean {
  if (typeof off !== 'boolean') throw argError('disableSimdKernels', 'off', 'a boolean', off);
  const was = disabled;
  disabled = off;
  return was;
}
