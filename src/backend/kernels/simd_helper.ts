/**
 * Threads for dlvm's SIMD matrix product (and its large elementwise kernels) on the threaded wasm
 * build.
 *
 * dlvm's product (simd/kernels.c, `matmul`) runs on the calling thread, while tfjs-backend-wasm's
 * threads belong to XNNPACK's pool, which nothing outside the backend can hand work to. On the
 * threaded build the backend's memory is a shared `WebAssembly.Memory`, so workers of dlvm's own
 * can instantiate the same SIMD module on it and compute parts of a kernel in place. A product's
 * rows are claimed chunk by chunk by the caller and the helpers (`matmul_chunks`, from a counter
 * next to the workspaces on the backend's heap), so a thread the system holds back (a busy or
 * shared machine) does less of it; the elementwise kernels are cut into one part per thread. The
 * caller hands each helper its request through a small control buffer of dlvm's own (Atomics,
 * never on tfjs's heap) and waits for the parts.
 *
 * initBackend starts `threads - 1` helpers when the backend runs more than one thread; they never
 * keep Node alive (unref). The caller blocks with `Atomics.wait` where it may (Node's main thread,
 * workers) and spins on `Atomics.load` where it may not (a page's main thread). Should a helper not
 * answer within {@link HELPER_TIMEOUT_MS}, the caller computes its part itself and never uses it
 * again.
 */
import type { SimdKernels, SimdModule } from './simd_kernels.js';

/** How long the caller waits for the helper's rows before it computes them itself. */
export const HELPER_TIMEOUT_MS = 5000;

/** Products of fewer multiply-adds than this run on the calling thread alone (the hand-off costs tens of microseconds). */
export const HELPER_MIN_MACS = 1 << 20;

/**
 * How many times the caller and a helper look at the control word before they sleep on it: a
 * wake-up from Atomics.wait took 20-40 microseconds here, as long as a small product, while the
 * requests of a training step follow each other within microseconds. About 50 microseconds of
 * spinning.
 */
export const SPIN_LOADS = 20000;

/**
 * A shared product is cut into this many chunks per thread, of at least {@link CHUNK_MIN_ROWS}
 * rows. One: a thread that has not started when the caller is done with its chunk leaves its chunk
 * to the caller. Finer chunks would also even out a thread slowed mid-product, but each chunk
 * packs B's strips again (kernels.c): two per thread ran the MLP's products at 57 GFLOP/s on two
 * threads against 70 for one (median of five alternating runs, 2026-12-08).
 */
export const CHUNKS_PER_THREAD = 1;
export const CHUNK_MIN_ROWS = 32;

/** Elementwise kernels of fewer elements than twice this run on the calling thread alone. */
export const HELPER_MIN_ELEMENTS = 1 << 16;

// The control buffer (a SharedArrayBuffer of dlvm's own): four Int32 words, then the arguments
// of the request as float64 (pointers, sizes and float attributes are all exact in a double).
// Requests are even numbers; the caller marks REQUEST odd while it writes one, and the helper
// takes the arguments only if REQUEST is even and unchanged after it read them: a helper the
// system held back may still read while the caller, done with a product without it, writes the
// next request.
const REQUEST = 0; // sequence number of the latest request (odd: being written; -1: stop)
const DONE = 1; // sequence number of the latest finished request
const READY = 2; // 1 once the helper has instantiated the module, -1 if it failed
const CALL = 3; // which function: an index into HELPER_FUNCTIONS, times 32, plus the argument count
const ARGS_BYTE = 16;
const MAX_ARGS = 20;
const BYTES = ARGS_BYTE + 8 * MAX_ARGS;

/** The SIMD module's functions a helper runs, by index. */
export const HELPER_FUNCTIONS = [
  'matmul_chunks',
  'bernoulli_log_prob',
  'bernoulli_log_prob_grad_logits',
  'adam_update',
  'relu',
  'reduce_sum',
  'bernoulli_log_prob_sum',
  'im2col',
  'col2im',
  'relu_grad',
] as const;
export type HelperFunction = (typeof HELPER_FUNCTIONS)[number];

/**
 * The helper's code (plain JavaScript, the same for Node's worker_threads and a browser's Worker):
 * it gets the memory, the module's bytes and the control buffer, instantiates the module, says
 * it is ready, then runs each request and reports it done.
 */
const HELPER_SOURCE = `
'use strict';
function start(memory, bytes, buffer) {
  const ctrl = new Int32Array(buffer, 0, 4);
  const args = new Float64Array(buffer, ${ARGS_BYTE}, ${MAX_ARGS});
  WebAssembly.instantiate(bytes, { env: { memory } }).then(({ instance }) => {
    const fns = ${JSON.stringify(HELPER_FUNCTIONS)}.map((name) => instance.exports[name]);
    Atomics.store(ctrl, ${READY}, 1);
    Atomics.notify(ctrl, ${READY});
    let seen = 0;
    for (;;) {
      for (let i = 0; i < ${SPIN_LOADS} && Atomics.load(ctrl, ${REQUEST}) === seen; i++);
      Atomics.wait(ctrl, ${REQUEST}, seen);
      const seq = Atomics.load(ctrl, ${REQUEST});
      if (seq < 0) return;
      if (seq === seen || (seq & 1) === 1) continue;
      const call = Atomics.load(ctrl, ${CALL});
      const request = Array.from(args.subarray(0, call & 31));
      if (Atomics.load(ctrl, ${REQUEST}) !== seq) continue;
      fns[call >> 5].apply(null, request);
      seen = seq;
      Atomics.store(ctrl, ${DONE}, seq);
      Atomics.notify(ctrl, ${DONE});
    }
  }, () => {
    Atomics.store(ctrl, ${READY}, -1);
    Atomics.notify(ctrl, ${READY});
  });
}
if (typeof require === 'function' && typeof self === 'undefined') {
  const { workerData } = require('node:worker_threads');
  start(workerData.memory, workerData.bytes, workerData.buffer);
} else {
  self.onmessage = (e) => start(e.data.memory, e.data.bytes, e.data.buffer);
}
`;

/** A started helper thread on one shared memory. */
export class ProductHelper {
  private readonly ctrl: Int32Array<SharedArrayBuffer>;
  private readonly args: Float64Array<SharedArrayBuffer>;
  private seq = 0;
  private broken = false;
  /** Whether this thread may block in Atomics.wait (not on a page's main thread). */
  readonly canBlock: boolean;

  private constructor(
    buffer: SharedArrayBuffer,
    private readonly stop: () => void,
  ) {
    this.ctrl = new Int32Array(buffer, 0, 4);
    this.args = new Float64Array(buffer, ARGS_BYTE, MAX_ARGS);
    let canBlock = true;
    try {
      Atomics.wait(this.ctrl, CALL, -1, 0); // value differs: returns at once where waiting is allowed
    } catch {
      canBlock = false;
    }
    this.canBlock = canBlock;
  }

  /**
   * Starts a helper on `memory` (shared) running `bytes` (the SIMD module for shared memory), and
   * resolves once it is ready; null where no worker can be started or the module fails there.
   */
  static async start(memory: WebAssembly.Memory, bytes: Uint8Array): Promise<ProductHelper | null> {
    if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
    const buffer = new SharedArrayBuffer(BYTES);
    const ctrl = new Int32Array(buffer, 0, 4);
    let stop: () => void;
    try {
      const isNode = typeof process !== 'undefined' && process.versions?.node != null;
      if (isNode) {
        const { Worker } = await import('node:worker_threads');
        const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { memory, bytes, buffer } });
        worker.unref();
        worker.on('error', () => Atomics.store(ctrl, READY, -1));
        stop = () => void worker.terminate();
      } else if (typeof Worker !== 'undefined' && typeof Blob !== 'undefined') {
        const url = URL.createObjectURL(new Blob([HELPER_SOURCE], { type: 'text/javascript' }));
        const worker = new Worker(url);
        URL.revokeObjectURL(url);
        worker.onerror = () => Atomics.store(ctrl, READY, -1);
        worker.postMessage({ memory, bytes, buffer });
        stop = () => worker.terminate();
      } else {
        return null;
      }
    } catch {
      return null;
    }
    // Wait (asynchronously) for the helper to say it is ready, or give up.
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    while (Atomics.load(ctrl, READY) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (Atomics.load(ctrl, READY) !== 1) {
      stop();
      return null;
    }
    return new ProductHelper(buffer, stop);
  }

  /** Whether this helper answered every request so far. */
  get usable(): boolean {
    return !this.broken;
  }

  /** Hands the helper one call of `fn` with `args`; returns the request's number. */
  post(fn: HelperFunction, args: readonly number[]): number {
    const seq = this.seq + 2;
    Atomics.store(this.ctrl, REQUEST, seq - 1); // being written
    this.args.set(args);
    Atomics.store(this.ctrl, CALL, HELPER_FUNCTIONS.indexOf(fn) * 32 + args.length);
    Atomics.store(this.ctrl, REQUEST, seq);
    Atomics.notify(this.ctrl, REQUEST);
    this.seq = seq;
    return seq;
  }

  /** Stops the helper; it is never used again. */
  drop(): void {
    if (this.broken) return;
    this.broken = true;
    this.stop();
  }

  /**
   * Waits until request `seq` is done; false after HELPER_TIMEOUT_MS, and the helper is then
   * stopped and never used again (the caller computes its part).
   */
  finish(seq: number): boolean {
    for (let i = 0; i < SPIN_LOADS && Atomics.load(this.ctrl, DONE) !== seq; i++);
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done === seq) return true;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.drop();
        return false;
      }
      if (this.canBlock) Atomics.wait(this.ctrl, DONE, done, left);
    }
  }
}

/** The threads that share products on one memory, and what of the heap they work in. */
export interface ProductTeam {
  helpers: readonly ProductHelper[];
  module: SimdModule;
  memory: WebAssembly.Memory;
  /** Byte offset of one workspace per thread (the caller's first), `wsBytes` each. */
  ws: number;
  wsBytes: number;
  /** Byte offset of matmul_chunks' two counters. */
  counter: number;
}

let generation = 0;

/**
 * Waits until the int32 at `view[index]` reaches `target` (spinning, then sleeping where this
 * thread may); false after HELPER_TIMEOUT_MS.
 */
function waitFor(view: Int32Array, index: number, target: number, canBlock: boolean): boolean {
  for (let i = 0; i < SPIN_LOADS; i++) if (Atomics.load(view, index) === target) return true;
  const deadline = Date.now() + HELPER_TIMEOUT_MS;
  for (;;) {
    const now = Atomics.load(view, index);
    if (now === target) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    if (canBlock) Atomics.wait(view, index, now, Math.min(left, 50));
  }
}

/**
 * dlvm's matrix product on the calling thread and its helpers: C's rows in chunks (about
 * {@link CHUNKS_PER_THREAD} per thread, on the kernel's 4-row groups), which every thread claims
 * one at a time (`matmul_chunks`) until none is left; the caller then waits for the chunks the
 * helpers are computing. Each element is computed by one thread in the kernel's order, so the
 * result is the same to the bit as on one thread. Thread t packs its operands into the workspace
 * at `ws + t wsBytes`. Should the helpers not finish within {@link HELPER_TIMEOUT_MS}, they are
 * dropped and the caller computes the whole product again (the same bits where a dropped helper
 * still writes).
 */
export function splitMatMul(team: ProductTeam, a: number, b: number, bias: number, c: number, m: number, k: number, n: number, sai: number, sak: number): void {
  const { module, ws, wsBytes, counter } = team;
  const working = team.helpers.filter((h) => h.usable);
  const rows = Math.max(CHUNK_MIN_ROWS, Math.ceil(m / (working.length + 1) / CHUNKS_PER_THREAD / 4) * 4, Math.ceil(m / 4095 / 4) * 4);
  const chunks = Math.ceil(m / rows);
  if (working.length === 0 || chunks < 2 || m * k * n < HELPER_MIN_MACS) {
    module.matmul(a, b, bias, c, m, k, n, sai, sak, ws);
    return;
  }
  generation = (generation + 1) & 0x7ffff;
  const view = new Int32Array(team.memory.buffer, counter, 2);
  Atomics.store(view, 0, generation * 4096);
  Atomics.store(view, 1, 0);
  const used = working.slice(0, chunks - 1);
  used.forEach((h, t) => h.post('matmul_chunks', [a, b, bias, c, m, k, n, sai, sak, ws + (t + 1) * wsBytes, counter, rows, generation]));
  module.matmul_chunks(a, b, bias, c, m, k, n, sai, sak, ws, counter, rows, generation);
  if (!waitFor(view, 1, chunks, used[0]!.canBlock)) {
    for (const h of used) h.drop();
    module.matmul(a, b, bias, c, m, k, n, sai, sak, ws);
  }
}

/**
 * An elementwise kernel over `n` elements on the calling thread and its helpers: the elements are
 * cut into one run per thread (multiples of four), `argsFor(start, count)` gives the kernel's
 * arguments for one run, `runHere` runs it on this thread. Elementwise, so the same bits.
 */
export function splitRange(
  helpers: readonly ProductHelper[],
  fn: HelperFunction,
  n: number,
  argsFor: (start: number, count: number) => number[],
  runHere: (args: number[]) => void,
): void {
  const working = helpers.filter((h) => h.usable);
  const parts = Math.min(working.length + 1, Math.floor(n / HELPER_MIN_ELEMENTS));
  if (parts < 2) {
    runHere(argsFor(0, n));
    return;
  }
  const block = Math.ceil(n / parts / 4) * 4;
  const posted: Array<{ helper: ProductHelper; seq: number; args: number[] }> = [];
  for (let p = 1; p < parts && p * block < n; p++) {
    const args = argsFor(p * block, Math.min(block, n - p * block));
    posted.push({ helper: working[p - 1]!, seq: working[p - 1]!.post(fn, args), args });
  }
  runHere(argsFor(0, Math.min(block, n)));
  for (const { helper, seq, args } of posted) if (!helper.finish(seq)) runHere(args);
}

/**
 * Runs `post`/`runHere` over parts of a job cut by `cut` (the arguments of each part, the first
 * part's first): the helpers get the later parts, the caller the first, then it waits for them
 * (a helper that does not answer has its part computed here).
 */
function runParts(helpers: readonly ProductHelper[], fn: HelperFunction, parts: number[][], runHere: (args: number[]) => void): void {
  const working = helpers.filter((h) => h.usable);
  const posted: Array<{ helper: ProductHelper; seq: number; args: number[] }> = [];
  for (let p = 1; p < parts.length; p++) posted.push({ helper: working[p - 1]!, seq: working[p - 1]!.post(fn, parts[p]!), args: parts[p]! });
  runHere(parts[0]!);
  for (const { helper, seq, args } of posted) if (!helper.finish(seq)) runHere(args);
}

/** How many parts (threads) a job of `elements` gets: one per HELPER_MIN_ELEMENTS, at most one per thread and `units`. */
function partsFor(helpers: readonly ProductHelper[], elements: number, units: number): number {
  return Math.max(1, Math.min(helpers.filter((h) => h.usable).length + 1, Math.floor(elements / HELPER_MIN_ELEMENTS), units));
}

/**
 * A kernel over `rows` rows of `len` elements each (one output per row), split into runs of
 * rows among the threads: each row is computed by one thread, so the same bits.
 */
export function splitRows(
  helpers: readonly ProductHelper[],
  fn: HelperFunction,
  rows: number,
  len: number,
  argsFor: (start: number, count: number) => number[],
  runHere: (args: number[]) => void,
): void {
  const parts = partsFor(helpers, rows * len, rows);
  const block = Math.ceil(rows / parts);
  const cut: number[][] = [];
  for (let s = 0; s < rows; s += block) cut.push(argsFor(s, Math.min(block, rows - s)));
  if (cut.length < 2) runHere(argsFor(0, rows));
  else runParts(helpers, fn, cut, runHere);
}

/**
 * dlvm's `reduce_sum` over x [outer, r, inner] on the calling thread and its helpers: the
 * outputs' rows (a) are cut among the threads where there are enough of them, else the output's
 * columns, in blocks of 16. Each output is summed by one thread in the kernel's order: the same
 * bits as on one thread.
 */
export function splitReduceSum(
  helpers: readonly ProductHelper[],
  kernels: SimdKernels,
  x: number,
  out: number,
  outer: number,
  r: number,
  inner: number,
  j0: number,
  j1: number,
): void {
  const run = (a: number[]): void => kernels.reduce_sum(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
  const elements = outer * r * (j1 - j0);
  const byRows = partsFor(helpers, elements, outer);
  const byColumns = partsFor(helpers, elements, Math.ceil((j1 - j0) / 16));
  const cut: number[][] = [];
  if (byRows >= byColumns && byRows > 1) {
    const block = Math.ceil(outer / byRows);
    for (let a = 0; a < outer; a += block) cut.push([x + 4 * a * r * inner, out + 4 * a * inner, Math.min(block, outer - a), r, inner, j0, j1]);
  } else if (byColumns > 1) {
    const block = Math.ceil((j1 - j0) / byColumns / 16) * 16;
    for (let j = j0; j < j1; j += block) cut.push([x, out, outer, r, inner, j, Math.min(j + block, j1)]);
  }
  if (cut.length < 2) run([x, out, outer, r, inner, j0, j1]);
  else runParts(helpers, 'reduce_sum', cut, run);
}
