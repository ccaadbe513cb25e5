/**
 * The committed wasm SIMD modules (src/backend/kernels/simd/module.ts, built by
 * scripts/build-simd.mjs): they are instantiated on tfjs-backend-wasm's own heap, so they may
 * import nothing but that memory and must write nothing at instantiation (no data, no start).
 * The kernels' results are tested against the cpu backend in kernels.bernoulli and optimizer.
 */
import { describe, expect, it } from 'vitest';
import { SIMD_MODULE_PLAIN, SIMD_MODULE_SHARED } from '../src/backend/kernels/simd/module.js';

/** Section ids of a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    ids.push(bytes[p++]!);
    let length = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[p++]!;
      length |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    p += length;
  }
  return ids;
}

describe('wasm SIMD modules', () => {
  for (const [name, base64, shared] of [
    ['plain', SIMD_MODULE_PLAIN, false],
    ['shared', SIMD_MODULE_SHARED, true],
  ] as const) {
    it(`${name}: imports only the backend memory, writes nothing at instantiation, exports the kernels`, () => {
      const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
      expect(bytes.length).toBeLessThan(4096); // browsers compile at most 4 KB synchronously on the main thread
      const module = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(WebAssembly.Module.exports(module).map((e) => e.name)).toEqual(['adam_update', 'bernoulli_log_prob', 'bernoulli_log_prob_grad_logits']);
      const ids = sectionIds(bytes);
      for (const forbidden of [8, 11, 12]) expect(ids, `section ${forbidden} (start, data, data count)`).not.toContain(forbidden);
      // It instantiates on a memory of its kind and leaves every byte as it was.
      const memory = new WebAssembly.Memory(shared ? { initial: 4, maximum: 65536, shared: true } : { initial: 4 });
      new Uint8Array(memory.buffer).fill(0xa5);
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      expect(Object.keys(instance.exports)).toHaveLength(3);
      expect(new Uint8Array(memory.buffer).every((b) => b === 0xa5)).toBe(true);
    });
  }
});
