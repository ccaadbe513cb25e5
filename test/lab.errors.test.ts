/**
 * dlvm Lab's error kinds (examples/lab/src/errors.ts): the page adds what to do to each error by
 * its kind, so the messages the backends and dlvm really give must land in the right one.
 */
import { describe, expect, it } from 'vitest';
import { kindOf, LabError } from '../examples/lab/src/errors.js';
import { loadModelFiles, initBackend } from '../src/index.js';
import { useBackend } from './helpers/backends.js';

describe("dlvm Lab's error kinds", () => {
  it('out of memory: the messages tfjs gives for allocations too large', () => {
    // tfjs-backend-wasm 4.22's heap running out mid-kernel (measured in Node: a matMul of
    // [60000, 1000] by its transpose), and the other backends' forms.
    for (const m of [
      'table index is out of bounds',
      // wasm's tf.fill of 1.2e9 values in Node (measured).
      'Invalid typed array length: 1200000000',
      'Aborted(OOM). Build with -sASSERTIONS for more info.',
      'Cannot enlarge memory arrays to size 4294967296 bytes',
      'WebGL context lost (CONTEXT_LOST_WEBGL)',
      'Failed to create WebGL texture',
      'GPUOutOfMemoryError: Out of memory',
    ]) {
      expect(kindOf(new Error(m))).toBe('memory');
    }
  });

  it("a model file dlvm refuses, a backend that does not start, the Lab's own, and the rest", async () => {
    await useBackend('cpu');
    const refused = await loadModelFiles(new Map([['model.json', new TextEncoder().encode('{}')]])).catch((e: unknown) => e);
    expect(kindOf(refused)).toBe('model-file');
    const noWebgl = await initBackend('webgl').catch((e: unknown) => e);
    expect(kindOf(noWebgl)).toBe('backend');
    expect(kindOf(new LabError('these files are not a dlvm model', 'model-file'))).toBe('model-file');
    expect(kindOf(new Error('something else'))).toBe('other');
    expect(kindOf('a string')).toBe('other');
  });
});
