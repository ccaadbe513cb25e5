/** The errors dlvm Lab shows, by what a visitor can do about them. */

/** What kind of problem an error is: the page adds what to do for each. */
export type ErrorKind = 'memory' | 'model-file' | 'backend' | 'other';

/** An error the Lab raises itself, with its kind. */
export class LabError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(message);
  }
}

/**
 * Out-of-memory messages of the backends: tfjs-backend-wasm's heap (4.22's matMul of [60000, 1000]
 * by its transpose fails with "table index is out of bounds", measured; Emscripten's "Aborted(OOM)",
 * "Cannot enlarge memory arrays", a Memory.grow past its maximum), a typed array too long for
 * JavaScript ("Invalid typed array length", measured for tf.fill of 1.2e9 values), a failed
 * ArrayBuffer, WebGL's lost context or texture, WebGPU's out-of-memory error or a buffer over the
 * device's limit.
 */
const MEMORY =
  /out of memory|\bOOM\b|Cannot enlarge memory|Maximum memory size exceeded|Array buffer allocation failed|Invalid typed array length|table index is out of bounds|CONTEXT_LOST|Failed to create (a )?(WebGL )?texture|GPUOutOfMemoryError|exceeds the (max )?buffer size/i;

/** The kind of `e`: the Lab's own, out of memory, a model file dlvm refused, a backend that did not start, or other. */
export function kindOf(e: unknown): ErrorKind {
  if (e instanceof LabError) return e.kind;
  const m = String((e as Error)?.message ?? e);
  if (MEMORY.test(m)) return 'memory';
  if (/^loadModelFiles/.test(m)) return 'model-file';
  if (/^initBackend/.test(m)) return 'backend';
  return 'other';
}
