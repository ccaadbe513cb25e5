/**
 * What happens when dlvm is used before a backend is ready. tfjs picks its highest-priority
 * registered backend on first use, and with the wasm backend registered (dlvm registers it) that
 * backend needs an awaited start, so the first tensor would throw "The highest priority backend
 * 'wasm' has not yet been initialized", which used to surface as a wrong argument error. dlvm's
 * entry points call {@link ensureBackend} first: with no backend chosen, it starts cpu, which
 * starts synchronously, and warns once that `await initBackend()` gives the fastest one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DlvmError } from '../errors.js';

let warned = false;

/** The advice every message about a missing backend ends with. */
export const INIT_BACKEND_ADVICE =
  'Call `await initBackend()` (from dlvm) once before using dlvm: it starts the fastest backend available (tfjs-node, WebGPU, wasm with threads, else cpu).';

/**
 * Makes sure tfjs has a backend before `fn` makes its first tensor: when none has been chosen
 * (no `initBackend`, `tf.setBackend` or `tf.ready` yet), starts cpu synchronously and warns once.
 * A backend that is still starting (an `initBackend()` that was not awaited) is left alone; the
 * tensor op then fails, and {@link backendNotReady} says why.
 */
export function ensureBackend(fn: string): void {
  if (tf.getBackend() != null) return;
  void tf.setBackend('cpu'); // the cpu backend starts synchronously: ready when this returns
  // tfjs's cpu backend prints a banner advising tfjs-node on its first write in Node; the warning
  // below gives dlvm's advice instead.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  if (!warned) {
    warned = true;
    console.warn(`dlvm: ${fn} ran before any backend was started, so dlvm started cpu, the slowest. ${INIT_BACKEND_ADVICE}`);
  }
}

/**
 * The error to throw instead of `err` when `err` is tfjs saying that no backend is ready
 * ("has not yet been initialized"), naming `fn`; null for any other error.
 */
export function backendNotReady(fn: string, err: unknown): DlvmError | null {
  const message = err instanceof Error ? err.message : String(err);
  if (!/has not yet been initialized/.test(message)) return null;
  return new DlvmError(`${fn}: no tfjs backend is ready yet (tfjs: ${message}). ${INIT_BACKEND_ADVICE} Await it before the first use.`);
}
