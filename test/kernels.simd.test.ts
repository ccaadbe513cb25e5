/**
 * The committed wasm SIMD modules (src/backend/kernels/simd/module.ts, built by
 * scripts/build-simd.mjs): they are instantiated on tfjs-backend-wasm's own heap, so they may
 * import nothing but that memory and must write nothing at instantiation (no data, no start).
 * The kernels' results are tested against the cpu backend in kernels.bernoulli and optimizer.
 */
import { describe, expect, it } from 'vitest';
import { SIMD_MODULE_PLAIN, SIMD_MODULE_SHARED } from '../src/backend/kernels/simd/module.js';
import { disableSimdKernels, type SimdKernels } from '../src/backend/kernels/simd.js';

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

      // A call writes its outputs and nothing else (no shadow stack, no scratch): arrays of 7
      // floats (four lanes and a tail of 3) at scattered offsets, every other byte checked.
      const k = instance.exports as unknown as SimdKernels;
      const n = 7;
      const at = (i: number): number => 4096 + i * 1024; // byte offset of array i
      const f32 = new Float32Array(memory.buffer);
      for (let i = 0; i < 8; i++)
        f32.set(
          Float32Array.from({ length: n }, (_, j) => 0.1 * (j + 1) + 0.01 * i),
          at(i) / 4,
        );
      const calls: [string, () => void, number[]][] = [
        ['adam_update', () => k.adam_update(at(0), at(1), at(2), at(3), at(4), at(5), at(6), n, 0.9, 0.999, 0.1, 0.001, 0.1, 0.001, 1e-7, -0.01), [4, 5, 6]],
        ['bernoulli_log_prob', () => k.bernoulli_log_prob(at(0), at(1), at(7), n), [7]],
        ['bernoulli_log_prob_grad_logits', () => k.bernoulli_log_prob_grad_logits(at(0), at(1), at(2), at(7), n), [7]],
      ];
      for (const [fn, call, outputs] of calls) {
        const before = new Uint8Array(memory.buffer).slice();
        call();
        const after = new Uint8Array(memory.buffer);
        const written = (byte: number): boolean => outputs.some((o) => byte >= at(o) && byte < at(o) + 4 * n);
        const stray = after.findIndex((b, i) => b !== before[i] && !written(i));
        expect(stray, `${fn} wrote byte ${stray}`).toBe(-1);
        for (const o of outputs) expect(Array.from(f32.subarray(at(o) / 4, at(o) / 4 + n)).every(Number.isFinite), `${fn} output ${o}`).toBe(true);
      }
    });
  }

  it('disableSimdKernels rejects a non-boolean, naming the function and argument', () => {
    expect(() => disableSimdKernels('yes' as unknown as boolean)).toThrow(/disableSimdKernels: argument 'off' must be a boolean, but got .*yes/);
    expect(disableSimdKernels(false)).toBe(false); // unchanged by the refused call
  });
});
