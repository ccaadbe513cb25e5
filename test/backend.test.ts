/**
 * initBackend: picks the fastest available backend, reports it, and never falls back silently
 * when a backend was named.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../src/index.js';
import { candidateOrder } from '../src/backend/init.js';
import { BACKENDS } from './helpers/backends.js';
import { simdKernelsFor } from '../src/backend/kernels/simd.js';

const tensorflowInstalled = BACKENDS.includes('tensorflow');

describe('initBackend', () => {
  const savedEnv = { ...process.env };
  afterEach(() => {
    process.env = { ...savedEnv };
  });

  it('picks the best available backend in Node and says why it skipped others', async () => {
    delete process.env.DLVM_BACKEND;
    const info = await initBackend();
    expect(info.requested).toBe('auto');
    expect(info.source).toBe('default');
    expect(tf.getBackend()).toBe(info.name);
    if (tensorflowInstalled) {
      expect(info.name).toBe('tensorflow');
    } else {
      expect(info.name).toBe('wasm');
      expect(info.package).toBe('@tensorflow/tfjs-backend-wasm');
      expect(info.notes.join(' ')).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
      expect(info.notes.join(' ')).toMatch(/@tensorflow\/tfjs-node is not installed/);
      expect(info.dlvmKernels).toEqual(expect.arrayContaining(['BatchMatMul@wasm', 'Conv2DBackpropFilter@wasm']));
      // Node 20+ has wasm SIMD; on the threaded build dlvm's products run on every thread.
      expect(info.simd).toEqual({ kernels: true, productThreads: info.threads });
      expect(describeBackend(info)).toMatch(/^wasm \(\d+ threads?; dlvm kernels: \d+; SIMD products on [12] threads?\) via @tensorflow\/tfjs-backend-wasm/);
    }
  });

  it('runs wasm with more than one thread in Node when the machine has several cores', async () => {
    const os = await import('node:os');
    const info = await initBackend('wasm');
    const cores = Math.min(4, os.availableParallelism());
    // Threads are fixed when wasm first starts in a process; the default is the core count (max 4).
    expect(info.threads).toBe(cores);
    // And the threaded backend computes correctly.
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const y = tf.matMul(x, x, false, true);
    expect(Array.from(y.dataSync())).toEqual([5, 11, 11, 25]);
    tf.dispose([x, y]);
    // dlvm's SIMD kernels instantiate on the threaded build's shared memory (its own variant).
    const memory = (tf.backend() as unknown as { wasm: { wasmMemory?: WebAssembly.Memory } }).wasm.wasmMemory;
    expect(cores === 1 || memory?.buffer instanceof SharedArrayBuffer).toBe(true);
    expect(simdKernelsFor(tf.backend())).not.toBeNull();
  });

  it('honours DLVM_BACKEND and reports it as the source', async () => {
    process.env.DLVM_BACKEND = 'cpu';
    const info = await initBackend();
    expect(info).toMatchObject({ name: 'cpu', requested: 'cpu', source: 'DLVM_BACKEND' });
    expect(tf.getBackend()).toBe('cpu');
    const explicit = await initBackend('wasm');
    expect(explicit).toMatchObject({ name: 'wasm', source: 'argument' });
  });

  it('a named tensorflow backend is used when installed, else an error with install steps (no fallback)', async () => {
    await initBackend('cpu');
    if (tensorflowInstalled) {
      const info = await initBackend('tensorflow');
      expect(info.name).toBe('tensorflow');
      expect(tf.getBackend()).toBe('tensorflow');
      return;
    }
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow(
      /initBackend: backend 'tensorflow-gpu' is not available.*@tensorflow\/tfjs-node-gpu@4\.22.*CUDA 11\.2 and cuDNN 8\.1/,
    );
    await expect(initBackend('tensorflow')).rejects.toThrow(/tfjs-node-gpu.*or.*npm install @tensorflow\/tfjs-node@4\.22/);
    await expect(initBackend('tensorflow-cpu')).rejects.toThrow(/npm install @tensorflow\/tfjs-node@4\.22/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('browser-only backends named in Node are errors saying what to import', async () => {
    await expect(initBackend('webgl')).rejects.toThrow(/backend 'webgl' is not available.*@tensorflow\/tfjs-backend-webgl/);
  });

  it('tries backends in the documented order, and only the named one when one is named', () => {
    expect(candidateOrder('auto', true)).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'webgpu', 'wasm', 'cpu']);
    expect(candidateOrder('auto', false)).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(candidateOrder('tensorflow', true)).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    expect(candidateOrder('tensorflow-gpu', true)).toEqual(['@tensorflow/tfjs-node-gpu']);
    for (const name of ['wasm', 'cpu', 'webgl', 'webgpu'] as const) expect(candidateOrder(name, false)).toEqual([name]);
  });

  it('rejects bad arguments with the function, argument, expectation and value', async () => {
    await expect(initBackend('gpu' as never)).rejects.toThrow(/initBackend: argument 'preference' must be one of 'auto', 'tensorflow'.*but got "gpu"/);
    process.env.DLVM_BACKEND = 'tpu';
    await expect(initBackend()).rejects.toThrow(/initBackend: argument 'DLVM_BACKEND' must be one of .* but got "tpu"/);
    delete process.env.DLVM_BACKEND;
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(/initBackend: argument 'options.threads' must be a positive integer, but got 0/);
    await expect(initBackend('wasm', { threads: 1.5 })).rejects.toThrow(/options.threads/);
  });
});
